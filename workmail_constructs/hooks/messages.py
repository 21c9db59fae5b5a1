"""For your own synchronous Run Lambda functions: read the message WorkMail is processing, and
put back a changed one (Administrator Guide, "Retrieving message content with AWS Lambda",
"Updating message content with AWS Lambda").

Updating is three steps the Guide lays out: upload the new MIME content to an S3 bucket of
the organization's account and Region whose policy lets WorkMail read it, then
PutRawMessageContent naming it. ``put_message`` does the three with a key the API accepts
(letters, digits, hyphens and slashes only).

    from workmail_constructs.hooks.messages import get_message, put_message

    def handler(event, context):
        message = get_message(event["messageId"])
        message.replace_header("Subject", "[External] " + message["Subject"])
        put_message(event["messageId"], message, bucket=os.environ["WORKMAIL_MESSAGE_BUCKET"])
        return {"actions": [{"action": {"type": "DEFAULT"}, "allRecipients": True}]}

Only boto3 besides the standard library: the Lambda Python runtime has it.
"""

from __future__ import annotations

import email
import email.policy
import uuid
from email.message import EmailMessage
from typing import Any

# Where a function built with ``LambdaHook(update_messages=True)`` finds its bucket.
MESSAGE_BUCKET_ENV = "WORKMAIL_MESSAGE_BUCKET"


def get_message(message_id: str, *, client: Any | None = None) -> EmailMessage:
    """The in-transit message ``message_id`` (the event's ``messageId``), parsed. WorkMail keeps
    it readable for 24 hours after it was sent or received."""
    flow = client or _client("workmailmessageflow")
    stream = flow.get_raw_message_content(messageId=message_id)["messageContent"]
    try:
        raw = stream.read()
    finally:
        stream.close()
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


def put_message(message_id: str, message: EmailMessage | bytes, *, bucket: str, prefix: str = "workmail/",
                client: Any | None = None, s3_client: Any | None = None) -> str:
    """Replace the in-transit message ``message_id`` with ``message``: upload it to ``bucket``
    under ``prefix`` and a new id, then PutRawMessageContent. Returns the object's key.

    WorkMail checks the content (well-formed MIME, lines of at most 1,000 characters, the
    required headers, unchanged immutable ones) and answers MessageRejected if it fails.
    """
    if any(not (c.isalnum() or c in "-/") for c in prefix):
        raise ValueError(f"prefix {prefix!r}: an S3 key here may hold only letters, digits, '-' and '/'")
    body = message if isinstance(message, bytes) else message.as_bytes(policy=email.policy.SMTP)
    key = f"{prefix}{uuid.uuid4()}"
    (s3_client or _client("s3")).put_object(Bucket=bucket, Key=key, Body=body)
    (client or _client("workmailmessageflow")).put_raw_message_content(
        messageId=message_id, content={"s3Reference": {"bucket": bucket, "key": key}})
    return key


def _client(service: str) -> Any:
    import boto3

    return boto3.client(service)  # type: ignore[call-overload]
