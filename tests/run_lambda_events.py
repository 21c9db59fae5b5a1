"""The Administrator Guide's Run Lambda event example ("Configuring AWS Lambda for Amazon
WorkMail"), its two fragments joined, for the tests of the hook library and the dispatcher."""

from __future__ import annotations

from typing import Any

GUIDE_EVENT: dict[str, Any] = {
    "summaryVersion": "2018-10-10",
    "envelope": {"mailFrom": {"address": "from@example.com"},
                 "recipients": [{"address": "recipient1@example.com"}, {"address": "recipient2@example.com"}]},
    "sender": {"address": "sender@example.com"},
    "subject": "Hello From Amazon WorkMail!",
    "messageId": "00000000-0000-0000-0000-000000000000",
    "invocationId": "00000000000000000000000000000000",
    "flowDirection": "INBOUND",
    "truncated": False,
}
