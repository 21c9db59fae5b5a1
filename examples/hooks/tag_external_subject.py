"""A synchronous Run Lambda hook: marks the subject of mail from outside the organization.

Deploy it with ``LambdaHook(..., update_messages=True)`` (its bucket's name is then in
``WORKMAIL_MESSAGE_BUCKET``) and a RUN_LAMBDA rule that runs it synchronously. Try it
offline against the emulator:

    .venv/bin/workmail-cdk flow test --rules examples/hooks/rules.json --direction inbound \\
        --eml examples/hooks/partner.eml --recipient alice@corp.example \\
        --hook arn:aws:lambda:us-east-1:123456789012:function:tag-external=examples/hooks/tag_external_subject.py
"""

from __future__ import annotations

import os
from typing import Any

from workmail_constructs.hooks.messages import MESSAGE_BUCKET_ENV, get_message, put_message
from workmail_constructs.hooks.run_lambda import Response, parse_event

TAG = "[External]"


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    message = parse_event(event)
    mime = get_message(message.message_id)
    subject = str(mime.get("Subject", ""))
    if not subject.startswith(TAG):
        mime.replace_header("Subject", f"{TAG} {subject}")
        put_message(message.message_id, mime, bucket=os.environ[MESSAGE_BUCKET_ENV])
    return Response(message.flow_direction).add("DEFAULT", all_recipients=True).to_dict()
