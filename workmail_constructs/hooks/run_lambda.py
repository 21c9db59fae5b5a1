"""For your own Run Lambda functions: WorkMail's event, typed, and a response that keeps the
Guide's limits (Administrator Guide, "Configuring AWS Lambda for Amazon WorkMail",
"Configuring synchronous Run Lambda rules"). Standard library only, so a function can
use it with nothing else packaged.

    from workmail_constructs.hooks.run_lambda import Response, parse_event

    def handler(event, context):
        message = parse_event(event)
        response = Response(message.flow_direction)
        if message.subject.startswith("[spam]"):
            response.add("DROP", all_recipients=True)
        else:
            response.add("DEFAULT", all_recipients=True)
        return response.to_dict()
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from typing import Any, Literal

FlowDirection = Literal["INBOUND", "OUTBOUND"]
SUMMARY_VERSION = "2018-10-10"
# What a synchronous function may answer, per direction.
RESPONSE_ACTIONS: dict[str, tuple[str, ...]] = {
    "INBOUND": ("BOUNCE", "DROP", "DEFAULT", "BYPASS_SPAM_CHECK", "MOVE_TO_JUNK"),
    "OUTBOUND": ("BOUNCE", "DROP", "DEFAULT"),
}
# A response above these falls to the rule's fallback action.
MAX_UNIQUE_ACTIONS = 10
MAX_OUTBOUND_RECIPIENTS = 500
MAX_RESPONSE_BYTES = 256 * 1024
# The bounce text's key: the Guide's example spells it so (its prose writes "bouncemessage").
BOUNCE_MESSAGE_KEY = "bounceMessage"


class EventError(ValueError):
    """The event isn't a Run Lambda event; the message names the field."""


class ResponseError(ValueError):
    """The response would break a limit WorkMail enforces (it would apply the fallback action)."""


@dataclass(frozen=True)
class RunLambdaEvent:
    """A Run Lambda event: the message's metadata (its content is read with ``messageId``
    through the Message Flow API)."""

    summary_version: str
    mail_from: str
    recipients: tuple[str, ...]
    # Set only when a message is sent on behalf of another user: who sent it.
    sender: str | None
    # Cut at 256 characters by WorkMail.
    subject: str
    message_id: str
    # The same for retries of one event: use it to avoid doing things twice.
    invocation_id: str
    flow_direction: FlowDirection
    # The payload passed 128 KB, so ``recipients`` was cut short.
    truncated: bool


def parse_event(event: Any) -> RunLambdaEvent:
    """The event WorkMail passes a Run Lambda function, checked field by field."""
    if not isinstance(event, dict):
        raise EventError("the event must be a JSON object")
    envelope = _field(event, "envelope", dict)
    recipients = _field(envelope, "recipients", list, "envelope.")
    addresses = []
    for i, recipient in enumerate(recipients):
        if not isinstance(recipient, dict) or not isinstance(recipient.get("address"), str):
            raise EventError(f"envelope.recipients[{i}] must be an object with an address")
        addresses.append(recipient["address"])
    mail_from = _field(envelope, "mailFrom", dict, "envelope.")
    sender = event.get("sender")
    if sender is not None and not (isinstance(sender, dict) and isinstance(sender.get("address"), str)):
        raise EventError("sender must be an object with an address")
    direction = _field(event, "flowDirection", str)
    if direction not in RESPONSE_ACTIONS:
        raise EventError(f"flowDirection must be INBOUND or OUTBOUND, not {direction!r}")
    truncated = event.get("truncated", False)
    if not isinstance(truncated, bool):
        raise EventError("truncated must be true or false")
    return RunLambdaEvent(
        summary_version=_field(event, "summaryVersion", str),
        mail_from=_field(mail_from, "address", str, "envelope.mailFrom."),
        recipients=tuple(addresses),
        sender=sender["address"] if sender else None,
        subject=str(event.get("subject") or ""),
        message_id=_field(event, "messageId", str),
        invocation_id=_field(event, "invocationId", str),
        flow_direction=direction,
        truncated=truncated,
    )


def _field(data: dict[str, Any], name: str, kind: type, prefix: str = "") -> Any:
    value = data.get(name)
    if not isinstance(value, kind):
        raise EventError(f"{prefix}{name} must be a {kind.__name__}")
    return value


@dataclass
class Response:
    """A synchronous function's answer: actions for recipients, checked as they are added and
    once more, whole, by ``to_dict``."""

    direction: FlowDirection
    actions: list[dict[str, Any]] = field(default_factory=list)

    def add(self, action: str, *, recipients: list[str] | tuple[str, ...] = (), all_recipients: bool = False,
            bounce_message: str | None = None) -> Response:
        """Take ``action`` for ``recipients`` (new addresses add recipients; inbound, only
        addresses of the organization, as BCC), or for every recipient no other action names."""
        allowed = RESPONSE_ACTIONS.get(self.direction)
        if allowed is None:
            raise ResponseError(f"the direction is INBOUND or OUTBOUND, not {self.direction!r}")
        if action not in allowed:
            raise ResponseError(f"{action} is not an {self.direction} response action; one of {', '.join(allowed)}")
        if bounce_message is not None and action != "BOUNCE":
            raise ResponseError("only a BOUNCE takes a bounce message")
        if not recipients and not all_recipients:
            raise ResponseError("an action needs recipients, or all_recipients=True")
        entry: dict[str, Any] = {"action": {"type": action}}
        if bounce_message is not None:
            entry["action"]["parameters"] = {BOUNCE_MESSAGE_KEY: bounce_message}
        if recipients:
            entry["recipients"] = list(recipients)
        if all_recipients:
            entry["allRecipients"] = True
        self.actions.append(entry)
        self._check()
        return self

    def to_dict(self) -> dict[str, Any]:
        self._check()
        return {"actions": copy.deepcopy(self.actions)}

    def _check(self) -> None:
        unique = {json.dumps(entry["action"], sort_keys=True) for entry in self.actions}
        if len(unique) > MAX_UNIQUE_ACTIONS:
            raise ResponseError(f"at most {MAX_UNIQUE_ACTIONS} unique actions in a response; WorkMail would apply "
                                "the rule's fallback action")
        if self.direction == "OUTBOUND":
            named = {r.lower() for entry in self.actions for r in entry.get("recipients", ())}
            if len(named) > MAX_OUTBOUND_RECIPIENTS:
                raise ResponseError(f"at most {MAX_OUTBOUND_RECIPIENTS} recipients in an outbound response")
        size = len(json.dumps({"actions": self.actions}).encode())
        if size > MAX_RESPONSE_BYTES:
            raise ResponseError(f"the response is {size:,} bytes; at most {MAX_RESPONSE_BYTES:,}")
