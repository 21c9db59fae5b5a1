"""A message run through the flow rules dispatcher and its hooks, locally: the message is held
in transit in an emulator (as WorkMail holds it while a synchronous Run Lambda rule runs),
the real dispatcher answers, each hook is your own Python function called as Lambda would
call it (its boto3 clients reach the emulator's Message Flow API and S3 through the
standard ``AWS_ENDPOINT_URL_<SERVICE>`` variables), and the message is then delivered with
whatever the hooks changed, so the mailbox shows it (``workmail-cdk flow test --eml``).
"""

from __future__ import annotations

import importlib.util
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from email import message_from_bytes
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

from ..core.spec import EmailFlowRuleSpec, FlowDirection
from ..handlers.dispatcher import Dispatched, Dispatcher, header_address
from ..hooks.messages import MESSAGE_BUCKET_ENV
from .clients import client, emulator_environment, service_endpoint
from .config import DEFAULT_REGION
from .control import EmulatorControl
from .server import EmulatorServer

HookFunction = Callable[[dict[str, Any], Any], Any]
# The bucket hooks put changed messages in (what LambdaHook makes in AWS).
MESSAGE_BUCKET = "workmail-flow-test-messages"
TEST_PASSWORD = "Flow-Test-Passw0rd!"
UNDELIVERED = frozenset({"DROP", "BOUNCE"})


class FlowRunError(Exception):
    """The message or a hook can't be run; the message says which and why."""


@dataclass
class RecipientResult:
    recipient: str
    action: str | None
    rule: str | None
    # What the recipient's mailbox holds afterwards (inbound, organization recipients only).
    delivered_subject: str | None


@dataclass
class FlowRun:
    dispatched: Dispatched
    recipients: list[RecipientResult]


def load_hook(spec: str) -> tuple[str, HookFunction]:
    """``ARN=FILE.py:FUNCTION`` (FUNCTION defaults to ``handler``) as the ARN and the function."""
    arn, separator, location = spec.partition("=")
    if not separator or not arn or not location:
        raise FlowRunError(f"--hook {spec!r}: give ARN=FILE.py[:FUNCTION]")
    path_text, _, name = location.partition(":")
    path = Path(path_text)
    if not path.is_file():
        raise FlowRunError(f"--hook {spec!r}: no file {path}")
    module_spec = importlib.util.spec_from_file_location(f"workmail_flow_hook_{uuid.uuid4().hex}", path)
    if module_spec is None or module_spec.loader is None:
        raise FlowRunError(f"--hook {spec!r}: {path} is not a Python module")
    module = importlib.util.module_from_spec(module_spec)
    try:
        module_spec.loader.exec_module(module)
    except Exception as exc:  # the user's file: whatever it raises is the message
        raise FlowRunError(f"--hook {spec!r}: importing {path} failed: {type(exc).__name__}: {exc}") from None
    function = getattr(module, name or "handler", None)
    if not callable(function):
        raise FlowRunError(f"--hook {spec!r}: {path} has no function {name or 'handler'}")
    return arn, function


def run_message(rules: list[EmailFlowRuleSpec], direction: FlowDirection, raw: bytes, recipients: list[str],
                hooks: dict[str, HookFunction], *, sender: str | None = None,
                from_address: str | None = None) -> FlowRun:
    """Hold ``raw`` for ``recipients`` in a fresh emulator, dispatch it, deliver it. ``sender``
    and ``from_address``, when given, replace the message's Sender and From headers."""
    message = message_from_bytes(raw, policy=default_policy)
    for name, value in (("Sender", sender), ("From", from_address)):
        if value:
            del message[name]
            message[name] = value
    if sender or from_address:
        raw = message.as_bytes()
    sender = header_address(message.get_all("Sender"))
    from_address = header_address(message.get_all("From"))
    if not from_address:
        raise FlowRunError("the message has no From header")
    server = EmulatorServer().start()
    try:
        url = server.endpoint_url
        control = EmulatorControl(url)
        workmail = client("workmail", url, DEFAULT_REGION)
        organization = workmail.create_organization(Alias=f"flow-test-{uuid.uuid4().hex[:8]}")["OrganizationId"]
        # Inbound mail reaches the organization's mailboxes; outbound mail leaves it.
        mailboxes = _mailboxes(workmail, control, organization, recipients if direction == "inbound" else [])
        held = control.command("deliver-message", OrganizationId=organization, Raw=raw.decode("utf-8", "replace"),
                               Recipients=recipients, Hold=True)
        message_id = str(held["messageId"])
        client("s3", service_endpoint(url, "s3"), DEFAULT_REGION).create_bucket(Bucket=MESSAGE_BUCKET)
        flow = client("workmailmessageflow", url, DEFAULT_REGION)
        event = {
            "summaryVersion": "2018-10-10",
            "envelope": {"mailFrom": {"address": from_address}, "recipients": [{"address": r} for r in recipients]},
            **({"sender": {"address": sender}} if sender else {}),
            "subject": str(message.get("Subject", ""))[:256], "messageId": message_id,
            "invocationId": uuid.uuid4().hex, "flowDirection": direction.upper(), "truncated": False,
        }

        def fetch(identifier: str) -> bytes:
            return bytes(flow.get_raw_message_content(messageId=identifier)["messageContent"].read())

        # What a hook's boto3 clients see: the emulator, local credentials, the message bucket.
        with emulator_environment(url, DEFAULT_REGION, **{MESSAGE_BUCKET_ENV: MESSAGE_BUCKET}):
            dispatcher = Dispatcher(rules, invoke=_invoker(hooks), fetch_headers=fetch)
            dispatched = dispatcher.dispatch(event)
        answered = _actions(dispatched.response)
        # WorkMail delivers to the recipients the answer doesn't drop or bounce.
        control.command("finish-message", messageId=message_id, Recipients=[
            r for r in recipients if answered.get(r, "DEFAULT") not in UNDELIVERED])
        results = []
        for outcome in dispatched.outcomes:
            entity = mailboxes.get(outcome.recipient.lower())
            subject = None
            if entity is not None:
                stored = control.command("list-mailbox-messages", OrganizationId=organization, EntityId=entity)
                subject = stored["Messages"][-1]["Subject"] if stored["Messages"] else None
            results.append(RecipientResult(outcome.recipient, answered.get(outcome.recipient, "DEFAULT"),
                                           outcome.rule.name if outcome.rule else None, subject))
        return FlowRun(dispatched, results)
    finally:
        server.stop()


def _mailboxes(workmail: Any, control: EmulatorControl, organization: str, addresses: list[str]) -> dict[str, str]:
    """A user with a mailbox for each address, in verified domains: address → user id."""
    made: dict[str, str] = {}
    for domain in dict.fromkeys(a.rpartition("@")[2].lower() for a in addresses):
        workmail.register_mail_domain(OrganizationId=organization, DomainName=domain)
        control.verify_domain(organization, domain)
    for index, address in enumerate(dict.fromkeys(a.lower() for a in addresses)):
        user = workmail.create_user(OrganizationId=organization, Name=f"recipient{index}",
                                    DisplayName=address, Password=TEST_PASSWORD)["UserId"]
        workmail.register_to_work_mail(OrganizationId=organization, EntityId=user, Email=address)
        made[address] = user
    return made


def _invoker(hooks: dict[str, HookFunction]) -> Callable[[str, dict[str, Any], bool, float], dict[str, Any] | None]:
    def invoke(arn: str, payload: dict[str, Any], synchronous: bool, seconds: float) -> dict[str, Any] | None:
        function = hooks.get(arn)
        if function is None:
            raise FlowRunError(f"no local code for the hook {arn} (give --hook {arn}=FILE.py:FUNCTION)")
        answer = function(payload, None)
        return answer if synchronous and isinstance(answer, dict) else None

    return invoke


def _actions(response: dict[str, Any]) -> dict[str, str]:
    """recipient → the action the response names for it (the rest: DEFAULT)."""
    named: dict[str, str] = {}
    for entry in response.get("actions", []):
        for recipient in entry.get("recipients", []):
            named.setdefault(recipient, entry["action"]["type"])
    return named
