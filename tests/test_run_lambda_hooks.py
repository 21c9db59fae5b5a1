"""The hook library's Run Lambda event and response, against the Guide's own examples and limits
(Administrator Guide, "Configuring AWS Lambda for Amazon WorkMail", "Configuring synchronous Run
Lambda rules")."""

from __future__ import annotations

from typing import Any

import pytest

from tests.run_lambda_events import GUIDE_EVENT
from workmail_constructs.hooks.run_lambda import EventError, Response, ResponseError, parse_event


def test_the_guides_event_parses() -> None:
    event = parse_event(GUIDE_EVENT)
    assert event.mail_from == "from@example.com"
    assert event.recipients == ("recipient1@example.com", "recipient2@example.com")
    assert event.sender == "sender@example.com" and event.flow_direction == "INBOUND" and not event.truncated
    without_sender = parse_event({k: v for k, v in GUIDE_EVENT.items() if k != "sender"})
    assert without_sender.sender is None


@pytest.mark.parametrize(("change", "field"), [
    ({"envelope": None}, "envelope"),
    ({"envelope": {"mailFrom": {"address": "a@b"}, "recipients": [{}]}}, "envelope.recipients[0]"),
    ({"flowDirection": "SIDEWAYS"}, "flowDirection"),
    ({"messageId": 7}, "messageId"),
    ({"truncated": "no"}, "truncated"),
])
def test_a_malformed_event_names_the_field(change: dict[str, Any], field: str) -> None:
    with pytest.raises(EventError, match=field.replace("[", r"\[").replace("]", r"\]")):
        parse_event({**GUIDE_EVENT, **change})


def test_the_guides_responses_are_built_as_written() -> None:
    removed = Response("INBOUND").add("DEFAULT", all_recipients=True).add(
        "DROP", recipients=["drop-recipient@example.com"])
    assert removed.to_dict() == {"actions": [
        {"action": {"type": "DEFAULT"}, "allRecipients": True},
        {"action": {"type": "DROP"}, "recipients": ["drop-recipient@example.com"]}]}
    bounced = Response("INBOUND").add("BOUNCE", all_recipients=True,
                                      bounce_message="Email in breach of company policy.")
    assert bounced.to_dict() == {"actions": [{"action": {"type": "BOUNCE", "parameters": {
        "bounceMessage": "Email in breach of company policy."}}, "allRecipients": True}]}
    added = Response("INBOUND").add("DEFAULT", recipients=["new-recipient@example.com"]).add(
        "DEFAULT", all_recipients=True)
    assert added.to_dict() == {"actions": [
        {"action": {"type": "DEFAULT"}, "recipients": ["new-recipient@example.com"]},
        {"action": {"type": "DEFAULT"}, "allRecipients": True}]}


def test_ten_unique_actions_and_not_eleven() -> None:
    response = Response("INBOUND")
    for n in range(10):
        response.add("BOUNCE", recipients=[f"r{n}@example.com"], bounce_message=f"reason {n}")
    with pytest.raises(ResponseError, match="at most 10 unique actions"):
        response.add("BOUNCE", recipients=["r10@example.com"], bounce_message="reason 10")


def test_500_outbound_recipients_and_not_501() -> None:
    response = Response("OUTBOUND").add("DEFAULT", recipients=[f"r{n}@example.com" for n in range(500)])
    with pytest.raises(ResponseError, match="at most 500 recipients"):
        response.add("DROP", recipients=["one-more@example.com"])
    # Inbound has no such limit.
    Response("INBOUND").add("DEFAULT", recipients=[f"r{n}@example.com" for n in range(501)])


def test_a_response_over_256_kb_is_refused() -> None:
    with pytest.raises(ResponseError, match="bytes; at most 262,144"):
        Response("INBOUND").add("BOUNCE", all_recipients=True, bounce_message="x" * 262_144)


@pytest.mark.parametrize(("direction", "action", "kwargs", "message"), [
    ("OUTBOUND", "MOVE_TO_JUNK", {"all_recipients": True}, "not an OUTBOUND response action"),
    ("INBOUND", "RUN_LAMBDA", {"all_recipients": True}, "not an INBOUND response action"),
    ("INBOUND", "DROP", {"all_recipients": True, "bounce_message": "no"}, "only a BOUNCE"),
    ("INBOUND", "DROP", {}, "needs recipients"),
])
def test_what_workmail_would_refuse_is_refused_here(direction: str, action: str, kwargs: dict[str, Any],
                                                    message: str) -> None:
    with pytest.raises(ResponseError, match=message):
        Response(direction).add(action, **kwargs)  # type: ignore[arg-type]


def test_the_library_needs_nothing_but_the_standard_library() -> None:
    import subprocess
    import sys

    # What a function packages: this module alone, with boto3 and the CDK absent.
    code = ("import sys; sys.modules.update({'boto3': None, 'botocore': None, 'aws_cdk': None}); "
            "import workmail_constructs.hooks.run_lambda")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_the_documented_function_runs_as_written() -> None:
    import subprocess
    import sys
    from pathlib import Path

    doc = (Path(__file__).resolve().parent.parent / "docs" / "flow-rules.md").read_text()
    code = doc.split("This runs as written:\n\n```python\n", 1)[1].split("```", 1)[0]
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "{'actions': [{'action': {'type': 'MOVE_TO_JUNK'}, 'allRecipients': True}]}"
