"""The flow rules dispatcher: the Guide's event and responses, headers read from the message
through the emulator's Message Flow API, hooks that answer, fail or time out, and the
limits of a synchronous answer (Administrator Guide, "Configuring synchronous Run Lambda rules")."""

from __future__ import annotations

import copy
import time
import uuid
from email.message import EmailMessage
from typing import Any

import pytest

from tests.conftest import make_client
from tests.run_lambda_events import GUIDE_EVENT
from workmail_constructs.core.spec import EmailFlowRuleSpec
from workmail_constructs.handlers.dispatcher import Dispatcher
from workmail_constructs.local import EmulatorControl

ARN = "arn:aws:lambda:us-east-1:123456789012:function:hook"


def rule(name: str, action: str, senders: list[str], recipients: list[str] | None = None,
         direction: str = "inbound", **extra: Any) -> EmailFlowRuleSpec:
    return EmailFlowRuleSpec(name, direction, action, senders, recipients or ["*"], **extra)  # type: ignore[arg-type]


def event(recipients: list[str], *, direction: str = "INBOUND", mail_from: str = "from@example.com",
          sender: str | None = None, message_id: str = "00000000-0000-0000-0000-000000000000") -> dict[str, Any]:
    data = copy.deepcopy(GUIDE_EVENT)
    data["envelope"] = {"mailFrom": {"address": mail_from}, "recipients": [{"address": r} for r in recipients]}
    data["flowDirection"] = direction
    data["messageId"] = message_id
    if sender is None:
        data.pop("sender")
    else:
        data["sender"] = {"address": sender}
    return data


class Hooks:
    """Stand-in Lambda functions: what each answers (or raises), and what each was sent."""

    def __init__(self, answers: dict[str, Any] | None = None, delay: float = 0.0) -> None:
        self.answers = answers or {}
        self.delay = delay
        self.calls: list[tuple[str, dict[str, Any], bool]] = []

    def __call__(self, arn: str, payload: dict[str, Any], synchronous: bool, seconds: float) -> dict[str, Any] | None:
        self.calls.append((arn, payload, synchronous))
        if self.delay:
            time.sleep(self.delay)
        answer = self.answers.get(arn)
        if isinstance(answer, Exception):
            raise answer
        return answer if synchronous else None


def no_headers(message_id: str) -> bytes:
    raise AssertionError("the headers were read though no rule needs them")


def test_the_guides_event_with_a_domain_rule() -> None:
    dispatcher = Dispatcher([rule("block", "DROP", ["example.com"], ["recipient1@example.com"])], invoke=Hooks(),
                            fetch_headers=lambda _: b"Sender: sender@example.com\r\nFrom: from@example.com\r\n\r\n")
    dispatched = dispatcher.dispatch(GUIDE_EVENT)
    assert dispatched.response == {"actions": [
        {"action": {"type": "DROP"}, "recipients": ["recipient1@example.com"]},
        {"action": {"type": "DEFAULT"}, "allRecipients": True}]}


def test_headers_come_from_the_message_through_the_message_flow_api(emulator_url: str, control: EmulatorControl,
                                                                     org_id: str, domain: str) -> None:
    wm = make_client(emulator_url)
    user = wm.create_user(OrganizationId=org_id, Name="alice", DisplayName="Alice", Password="Passw0rd!Passw0rd")
    wm.register_to_work_mail(OrganizationId=org_id, EntityId=user["UserId"], Email=f"alice@{domain}")
    message = EmailMessage()
    # The envelope says one thing, the headers another: rules match the headers.
    message["From"] = "Newsletter <news@bulk.example>"
    message["Sender"] = "bounces@mailer.example"
    message["To"] = f"alice@{domain}"
    message["Subject"] = "Deals"
    message["Message-ID"] = f"<{uuid.uuid4().hex}@bulk.example>"
    message.set_content("Buy now.\n")
    delivered = control.command("deliver-message", OrganizationId=org_id, Raw=message.as_string(), Hold=True)
    flow = make_client(emulator_url, "workmailmessageflow")

    def fetch(message_id: str) -> bytes:
        return bytes(flow.get_raw_message_content(messageId=message_id)["messageContent"].read())

    rules = [rule("mailer", "MOVE_TO_JUNK", ["mailer.example"]), rule("bulk", "DROP", ["bulk.example"])]
    dispatched = Dispatcher(rules, invoke=Hooks(), fetch_headers=fetch).dispatch(
        event([f"alice@{domain}"], mail_from="envelope@elsewhere.example", message_id=delivered["messageId"]))
    assert [(o.rule.name if o.rule else None, o.matched_on) for o in dispatched.outcomes] == [("mailer", "sender")]
    assert dispatched.response["actions"][0] == {"action": {"type": "MOVE_TO_JUNK"}, "recipients": [f"alice@{domain}"]}


def test_headers_are_not_read_when_every_sender_pattern_is_a_star() -> None:
    dispatcher = Dispatcher([rule("all", "MOVE_TO_JUNK", ["*"], ["recipient2@example.com"])], invoke=Hooks(),
                            fetch_headers=no_headers)
    assert dispatcher.dispatch(GUIDE_EVENT).response["actions"][0] == {
        "action": {"type": "MOVE_TO_JUNK"}, "recipients": ["recipient2@example.com"]}


def test_unreadable_headers_fall_back_to_the_event() -> None:
    def gone(message_id: str) -> bytes:
        raise RuntimeError("ResourceNotFoundException")

    dispatched = Dispatcher([rule("b", "BOUNCE", ["sender@example.com"])], invoke=Hooks(),
                            fetch_headers=gone).dispatch(GUIDE_EVENT)
    assert dispatched.response["actions"][0]["action"] == {"type": "BOUNCE"}
    assert "couldn't be read" in dispatched.notes[0]


def test_a_synchronous_hook_answer_is_merged() -> None:
    # The hook answers as the Guide's examples do: bounce one recipient with a message, the rest as usual.
    answer = {"actions": [{"action": {"type": "BOUNCE", "parameters": {"bounceMessage": "Policy."}},
                           "recipients": ["recipient1@example.com"]},
                          {"action": {"type": "DEFAULT"}, "allRecipients": True}]}
    hooks = Hooks({ARN: answer})
    rules = [rule("scan", "RUN_LAMBDA", ["*"], lambda_arn=ARN, synchronous=True, fallback_action="MOVE_TO_JUNK")]
    dispatched = Dispatcher(rules, invoke=hooks, fetch_headers=no_headers).dispatch(GUIDE_EVENT)
    assert dispatched.response == {"actions": [
        {"action": {"type": "BOUNCE", "parameters": {"bounceMessage": "Policy."}},
         "recipients": ["recipient1@example.com"]},
        {"action": {"type": "DEFAULT"}, "allRecipients": True}]}
    assert [r.ok for r in dispatched.hook_results] == [True]
    # The hook is sent the event with the recipients its rule decided.
    assert hooks.calls[0][1]["envelope"]["recipients"] == GUIDE_EVENT["envelope"]["recipients"]


@pytest.mark.parametrize(("answer", "delay"), [
    (RuntimeError("Unhandled: boom"), 0.0),
    ({"actions": [{"action": {"type": "ROUTE_TO_SMTP_GATEWAY"}, "allRecipients": True}]}, 0.0),
    ({"no": "actions"}, 0.0),
    ({"actions": [{"action": {"type": "BOUNCE", "parameters": {"bounceMessage": str(n)}}, "recipients": [f"{n}@x"]}
                  for n in range(11)]}, 0.0),
    ({"actions": [{"action": {"type": "DROP"}, "allRecipients": True}]}, 1.0),
])
def test_a_hook_that_fails_or_times_out_gets_its_rules_fallback(answer: Any, delay: float) -> None:
    rules = [rule("scan", "RUN_LAMBDA", ["*"], lambda_arn=ARN, synchronous=True, fallback_action="MOVE_TO_JUNK")]
    dispatcher = Dispatcher(rules, invoke=Hooks({ARN: answer}, delay=delay), fetch_headers=no_headers)
    # 1.3 s left, less the 1 s margin: a hook taking a second is too slow.
    dispatched = dispatcher.dispatch(GUIDE_EVENT, seconds_left=1.3)
    assert dispatched.response["actions"][0] == {
        "action": {"type": "MOVE_TO_JUNK"}, "recipients": ["recipient1@example.com", "recipient2@example.com"]}
    (result,) = dispatched.hook_results
    assert not result.ok and result.detail.endswith("fallback MOVE_TO_JUNK")


def test_an_asynchronous_hook_is_fired_and_delivery_goes_on() -> None:
    hooks = Hooks({ARN: RuntimeError("its failure changes nothing")})
    rules = [rule("metrics", "RUN_LAMBDA", ["*"], lambda_arn=ARN)]
    dispatched = Dispatcher(rules, invoke=hooks, fetch_headers=no_headers).dispatch(GUIDE_EVENT)
    assert dispatched.response == {"actions": [{"action": {"type": "DEFAULT"}, "allRecipients": True}]}
    assert hooks.calls[0][2] is False and dispatched.hook_results[0].ok is False


def test_an_smtp_gateway_rule_is_never_dropped_silently() -> None:
    rules = [rule("relay", "ROUTE_TO_SMTP_GATEWAY", ["*"], direction="outbound", smtp_gateway="gw")]
    dispatched = Dispatcher(rules, invoke=Hooks(), fetch_headers=no_headers).dispatch(
        event(["x@partner.example"], direction="OUTBOUND", mail_from="alice@corp.example"))
    assert dispatched.response == {"actions": [{"action": {"type": "DEFAULT"}, "allRecipients": True}]}
    assert "needs its own console rule" in dispatched.notes[0]


def test_twelve_bounce_messages_stay_within_ten_actions() -> None:
    recipients = [f"r{n}@corp.example" for n in range(12)]
    answer = {"actions": [{"action": {"type": "BOUNCE", "parameters": {"bounceMessage": f"reason {n}"}},
                           "recipients": [r]} for n, r in enumerate(recipients[:9])]}
    other = "arn:aws:lambda:us-east-1:123456789012:function:other"
    more = {"actions": [{"action": {"type": "BOUNCE", "parameters": {"bounceMessage": f"other {n}"}},
                         "recipients": [r]} for n, r in enumerate(recipients[9:])]}
    # Each hook answers within the limit; together they would pass it.
    rules = [rule("one", "RUN_LAMBDA", ["*"], recipients[:9], lambda_arn=ARN),
             rule("two", "RUN_LAMBDA", ["*"], recipients[9:], lambda_arn=other)]
    for one in rules:
        one.synchronous, one.fallback_action = True, "DEFAULT"
    dispatched = Dispatcher(rules, invoke=Hooks({ARN: answer, other: more}), fetch_headers=no_headers).dispatch(
        event(recipients))
    actions = dispatched.response["actions"]
    assert len(actions) == 2
    assert actions[0]["action"] == {"type": "BOUNCE", "parameters": {"bounceMessage": "reason 0"}}
    assert sorted(actions[0]["recipients"]) == sorted(recipients)
    assert any("bounce messages" in note for note in dispatched.notes)


def test_500_outbound_recipients_get_one_answer_within_the_limits() -> None:
    recipients = [f"r{n}@partner.example" for n in range(500)]
    rules = [rule("partner", "BOUNCE", ["corp.example"], ["partner.example"], "outbound")]
    headers = b"From: alice@corp.example\r\n\r\n"
    dispatched = Dispatcher(rules, invoke=Hooks(), fetch_headers=lambda _: headers).dispatch(
        event(recipients, direction="OUTBOUND", mail_from="alice@corp.example"))
    assert dispatched.response["actions"][0] == {"action": {"type": "BOUNCE"}, "recipients": recipients}


def test_a_truncated_event_leaves_the_rest_to_allrecipients() -> None:
    truncated = event(["a@corp.example"])
    truncated["truncated"] = True
    dispatched = Dispatcher([rule("a", "DROP", ["*"], ["a@corp.example"])], invoke=Hooks(),
                            fetch_headers=no_headers).dispatch(truncated)
    assert dispatched.response["actions"][-1] == {"action": {"type": "DEFAULT"}, "allRecipients": True}


def test_the_lambda_entry_point_reads_its_rules_from_its_deployment(monkeypatch: pytest.MonkeyPatch,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    import json

    from workmail_constructs.handlers import dispatcher

    monkeypatch.setenv(dispatcher.RULES_ENV, json.dumps({"inbound": [
        {"name": "all", "action": "MOVE_TO_JUNK", "senders": ["*"], "recipients": ["recipient2@example.com"]}]}))
    monkeypatch.setattr(dispatcher, "_DISPATCHER", None)
    answer = dispatcher.handler(GUIDE_EVENT, None)
    assert answer["actions"][0] == {"action": {"type": "MOVE_TO_JUNK"}, "recipients": ["recipient2@example.com"]}
    logged = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert logged["invocationId"] == GUIDE_EVENT["invocationId"] and logged["hooks"] == []
    monkeypatch.setenv(dispatcher.RULES_ENV, json.dumps({"inbound": [{"name": "x", "action": "FLY"}]}))
    monkeypatch.setattr(dispatcher, "_DISPATCHER", None)
    with pytest.raises(ValueError, match=r"inbound\[x\].action: FLY"):
        dispatcher.handler(GUIDE_EVENT, None)


def test_a_recipient_a_hook_adds_is_named_even_with_default() -> None:
    # The Guide's "add a recipient" answer.
    answer = {"actions": [{"action": {"type": "DEFAULT"}, "recipients": ["new-recipient@example.com"]},
                          {"action": {"type": "DEFAULT"}, "allRecipients": True}]}
    rules = [rule("add", "RUN_LAMBDA", ["*"], lambda_arn=ARN, synchronous=True, fallback_action="DEFAULT")]
    dispatched = Dispatcher(rules, invoke=Hooks({ARN: answer}), fetch_headers=no_headers).dispatch(GUIDE_EVENT)
    assert dispatched.response == {"actions": [
        {"action": {"type": "DEFAULT"}, "recipients": ["new-recipient@example.com"]},
        {"action": {"type": "DEFAULT"}, "allRecipients": True}]}


def test_additions_past_the_outbound_limit_are_left_out_and_the_rest_still_answered() -> None:
    answer = {"actions": [{"action": {"type": "DEFAULT"}, "recipients": [f"extra{n}@partner.example"
                                                                         for n in range(600)]},
                          {"action": {"type": "DROP"}, "allRecipients": True}]}
    rules = [rule("add", "RUN_LAMBDA", ["*"], direction="outbound", lambda_arn=ARN, synchronous=True,
                  fallback_action="DEFAULT")]
    dispatched = Dispatcher(rules, invoke=Hooks({ARN: answer}), fetch_headers=no_headers).dispatch(
        event(["x@partner.example"], direction="OUTBOUND", mail_from="alice@corp.example"))
    assert dispatched.response == {"actions": [
        {"action": {"type": "DROP"}, "recipients": ["x@partner.example"]},
        {"action": {"type": "DEFAULT"}, "allRecipients": True}]}
    assert any("recipients added by hooks are left out" in note for note in dispatched.notes)


def test_an_answer_past_256_kb_leaves_the_hooks_additions_out() -> None:
    added = [f"{'x' * 200}{n}@partner.example" for n in range(1500)]
    answer = {"actions": [{"action": {"type": "DEFAULT"}, "recipients": added},
                          {"action": {"type": "MOVE_TO_JUNK"}, "allRecipients": True}]}
    rules = [rule("add", "RUN_LAMBDA", ["*"], lambda_arn=ARN, synchronous=True, fallback_action="DEFAULT")]
    dispatched = Dispatcher(rules, invoke=Hooks({ARN: answer}), fetch_headers=no_headers).dispatch(GUIDE_EVENT)
    assert dispatched.response == {"actions": [
        {"action": {"type": "MOVE_TO_JUNK"}, "recipients": ["recipient1@example.com", "recipient2@example.com"]},
        {"action": {"type": "DEFAULT"}, "allRecipients": True}]}
    assert any("262,144" in note for note in dispatched.notes)
