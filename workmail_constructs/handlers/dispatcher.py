"""The flow rules dispatcher: one synchronous Run Lambda function that applies the declared
email flow rules, since WorkMail's API can't create them.

The console gets two rules once (inbound and outbound, sender ``*``, recipient ``*``,
synchronous Run Lambda pointing at this function); every message then reaches it, and it
answers for each recipient with the action of the rule that decides it
(``core/flow_evaluation.py``), within the Guide's limits (Administrator Guide,
"Configuring synchronous Run Lambda rules"): at most 10 unique actions, 500 recipients
outbound, 256 KB. Its rules come with its deployment (``WORKMAIL_FLOW_RULES``, the rules
file's JSON), so a rule change is an ordinary CloudFormation update, rolled back like one.

- **Headers.** Rules match the ``Sender`` and ``From`` headers. The event carries the
  envelope's sender only, so when a rule names a sender other than ``*`` the headers are
  read with GetRawMessageContent (the Message Flow API); if that fails, the event's
  addresses stand in.
- **Hooks.** A recipient decided by a synchronous RUN_LAMBDA rule is handed to that rule's
  function (the same event, its recipients narrowed to those the rule decided), whose
  answer is merged in; if it fails, times out or answers what WorkMail would refuse, the
  rule's fallback action applies to them. An asynchronous rule's function is invoked
  without waiting, and its recipients are delivered as usual.
- **What a synchronous function can't answer.** ROUTE_TO_SMTP_GATEWAY is not a Run Lambda
  response: such a rule must also be a console rule, more specific than ``*``, so WorkMail
  applies it before the dispatcher. A recipient that still reaches the dispatcher by such a
  rule is delivered as usual, and the answer says so in the log.
- Recipients the event leaves out (a truncated event) and recipients no rule decides get
  DEFAULT, through ``allRecipients``.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from email.parser import BytesHeaderParser
from email.utils import getaddresses
from typing import Any, Literal

from ..core.flow_evaluation import FLOW_ACTIONS, FlowSettings, Outcome, RuleSet
from ..core.flow_rules_file import parse_rules
from ..core.spec import EmailFlowRuleSpec, FlowDirection
from ..hooks.run_lambda import (
    MAX_UNIQUE_ACTIONS,
    RESPONSE_ACTIONS,
    Response,
    ResponseError,
    RunLambdaEvent,
    parse_event,
)

# The rules: inline JSON, or an S3 object (bucket, key, SHA-256) when they are large. A Run
# Lambda rule's function ARN is "$ref:NAME", NAME an environment variable holding it.
RULES_ENV = "WORKMAIL_FLOW_RULES"
RULES_BUCKET_ENV = "WORKMAIL_FLOW_RULES_BUCKET"
RULES_KEY_ENV = "WORKMAIL_FLOW_RULES_KEY"
RULES_SHA256_ENV = "WORKMAIL_FLOW_RULES_SHA256"
HOOK_ENV_PREFIX = "WORKMAIL_FLOW_HOOK_"
_REFERENCE = "$ref:"
# The dispatcher must answer within 15 seconds (Administrator Guide, "Configuring synchronous
# Run Lambda rules"); a hook gets what is left, less this margin for merging and answering.
ANSWER_MARGIN_SECONDS = 1.0
DEFAULT_HOOK_SECONDS = 10.0

# (function ARN, event, synchronous, seconds it may take) → the function's answer (None when
# not waited for). Raises when the function fails or takes too long.
Invoke = Callable[[str, dict[str, Any], bool, float], "dict[str, Any] | None"]
# message id → the raw message's header block (bytes).
FetchHeaders = Callable[[str], bytes]


@dataclass
class HookResult:
    rule: str
    function_arn: str
    synchronous: bool
    recipients: list[str]
    ok: bool
    detail: str = ""


@dataclass
class Dispatched:
    """The answer to WorkMail, and what happened on the way (for the log and for tests)."""

    response: dict[str, Any]
    outcomes: list[Outcome]
    hook_results: list[HookResult] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


class Dispatcher:
    def __init__(self, rules: list[EmailFlowRuleSpec], *, invoke: Invoke, fetch_headers: FetchHeaders | None,
                 settings: FlowSettings | None = None) -> None:
        self.rulesets: dict[str, RuleSet] = {d: RuleSet(rules, d, settings or FlowSettings())
                                             for d in ("inbound", "outbound")}
        # Headers are read only when a rule's sender pattern could tell one sender from another.
        self.needs_headers = {d: any(p.strip() != "*" for rule in ruleset.rules for p in rule.senders)
                              for d, ruleset in self.rulesets.items()}
        self.invoke = invoke
        self.fetch_headers = fetch_headers

    def dispatch(self, raw_event: dict[str, Any], *, seconds_left: float | None = None) -> Dispatched:
        event = parse_event(raw_event)
        direction: FlowDirection = "inbound" if event.flow_direction == "INBOUND" else "outbound"
        notes: list[str] = []
        sender, from_address = self._headers(event, direction, notes)
        outcomes = self.rulesets[direction].decide(sender=sender, from_address=from_address,
                                                   recipients=list(event.recipients))
        # recipient → (action, bounce message)
        decided: dict[str, tuple[str, str | None]] = {}
        by_hook: dict[str, tuple[EmailFlowRuleSpec, list[str]]] = {}
        for outcome in outcomes:
            rule = outcome.rule
            if rule is None or outcome.action is None:
                continue
            if outcome.action == "RUN_LAMBDA":
                by_hook.setdefault(rule.name, (rule, []))[1].append(outcome.recipient)
            elif outcome.action == "ROUTE_TO_SMTP_GATEWAY":
                notes.append(f"{outcome.recipient}: rule {rule.name} routes to an SMTP gateway, which a Run Lambda "
                             "answer can't do; it needs its own console rule (delivered as usual here)")
            elif outcome.action != "DEFAULT":
                decided[outcome.recipient] = (outcome.action, None)
        budget = DEFAULT_HOOK_SECONDS if seconds_left is None else max(0.0, seconds_left - ANSWER_MARGIN_SECONDS)
        results = self._run_hooks(list(by_hook.values()), raw_event, event.flow_direction, decided, budget)
        response = _response(event.flow_direction, decided, {r.lower() for r in event.recipients}, notes)
        return Dispatched(response, outcomes, results, notes)

    def _run_hooks(self, hooks: list[tuple[EmailFlowRuleSpec, list[str]]], raw_event: dict[str, Any],
                   direction: str, decided: dict[str, tuple[str, str | None]], budget: float) -> list[HookResult]:
        """Every hook at once, each with the whole budget: one that hasn't answered by then has
        timed out, and its rule's fallback applies (its thread is left to finish on its own)."""
        if not hooks:
            return []
        pool = ThreadPoolExecutor(max_workers=len(hooks), thread_name_prefix="hook")
        futures = [pool.submit(self._call_hook, rule, recipients, raw_event, direction, budget)
                   for rule, recipients in hooks]
        wait(futures, timeout=budget)
        pool.shutdown(wait=False)
        results = []
        for (rule, recipients), future in zip(hooks, futures, strict=True):
            if future.done():
                result, merged = future.result()
            else:
                result = HookResult(rule.name, rule.lambda_arn or "", rule.synchronous, recipients, ok=False,
                                    detail=f"no answer within {budget:.1f} s")
                merged = None
            if result.ok and merged is not None:
                decided.update(merged)
            elif rule.synchronous and not result.ok:
                fallback = rule.fallback_action or "DEFAULT"
                result.detail += f"; fallback {fallback}"
                for recipient in recipients:
                    decided[recipient] = (fallback, None)
            results.append(result)
        return results

    def _headers(self, event: RunLambdaEvent, direction: str, notes: list[str]) -> tuple[str | None, str | None]:
        """The Sender and From addresses: from the message when a rule needs them, else the event's."""
        if not self.needs_headers[direction] or self.fetch_headers is None:
            return event.sender, event.mail_from
        try:
            headers = BytesHeaderParser().parsebytes(self.fetch_headers(event.message_id))
        except Exception as exc:  # the message is gone, or the API refused: the event's addresses will do
            notes.append(f"the message's headers couldn't be read ({type(exc).__name__}: {exc}); matched the "
                         "event's addresses instead")
            return event.sender, event.mail_from
        return header_address(headers.get_all("Sender")), header_address(headers.get_all("From")) or event.mail_from

    def _call_hook(self, rule: EmailFlowRuleSpec, recipients: list[str], raw_event: dict[str, Any],
                   direction: str, budget: float) -> tuple[HookResult, dict[str, tuple[str, str | None]] | None]:
        """One hook's call: its result, and (synchronous, answered well) its recipients' actions."""
        payload = copy.deepcopy(raw_event)
        payload["envelope"]["recipients"] = [{"address": r} for r in recipients]
        result = HookResult(rule.name, rule.lambda_arn or "", rule.synchronous, recipients, ok=False)
        try:
            answer = self.invoke(result.function_arn, payload, rule.synchronous, budget)
            merged = _hook_actions(answer, direction, recipients) if rule.synchronous else None
        except Exception as exc:  # failed, or answered what WorkMail would refuse: the fallback applies
            result.detail = f"{type(exc).__name__}: {exc}"
            return result, None
        result.ok = True
        return result, merged


def header_address(values: list[str] | None) -> str | None:
    """The first address of a header's values (``Sender``, ``From``), or None."""
    found = [address for _, address in getaddresses(values or []) if address]
    return found[0] if found else None


def _hook_actions(answer: Any, direction: str, recipients: list[str]) -> dict[str, tuple[str, str | None]]:
    """A hook's answer as recipient → action, for its recipients (and any it adds); raises
    ValueError for an answer WorkMail would refuse."""
    if not isinstance(answer, dict) or not isinstance(answer.get("actions"), list):
        raise ValueError("the answer has no actions list")
    allowed = RESPONSE_ACTIONS[direction]
    named: dict[str, tuple[str, str | None]] = {}
    rest: tuple[str, str | None] | None = None
    unique = set()
    for entry in answer["actions"]:
        action = entry.get("action") if isinstance(entry, dict) else None
        if not isinstance(action, dict) or action.get("type") not in allowed:
            raise ValueError(f"{action!r} is not a {direction} response action")
        kind = str(action["type"])
        parameters = action.get("parameters") or {}
        message = parameters.get("bounceMessage", parameters.get("bouncemessage")) if kind == "BOUNCE" else None
        unique.add((kind, message))
        if entry.get("allRecipients"):
            rest = (kind, message)
        for recipient in entry.get("recipients") or []:
            if not isinstance(recipient, str):
                raise ValueError("recipients must be addresses")
            named[recipient] = (kind, message)
    if len(unique) > MAX_UNIQUE_ACTIONS:
        raise ValueError(f"{len(unique)} unique actions; at most {MAX_UNIQUE_ACTIONS}")
    for recipient in recipients:
        if recipient not in named and rest is not None:
            named[recipient] = rest
    return named


def _response(direction: str, decided: dict[str, tuple[str, str | None]], original: set[str],
              notes: list[str]) -> dict[str, Any]:
    """The answer: one action per (type, bounce message) for the recipients it names, DEFAULT
    for every other through ``allRecipients``. Recipients a hook added are named even with
    DEFAULT (that is how they are added). Bounces with more messages than the unique-action
    limit allows share the first message; an answer that would still break a limit (a hook
    adding too many recipients) leaves the additions out."""
    try:
        return _answer(direction, decided, original, notes)
    except ResponseError as exc:
        notes.append(f"the answer would break a limit ({exc}); recipients added by hooks are left out")
        return _answer(direction, {r: key for r, key in decided.items() if r.lower() in original}, original, notes)


def _answer(direction: str, decided: dict[str, tuple[str, str | None]], original: set[str],
            notes: list[str]) -> dict[str, Any]:
    groups: dict[tuple[str, str | None], list[str]] = {}
    for recipient, key in decided.items():
        if key[0] != "DEFAULT" or recipient.lower() not in original:
            groups.setdefault(key, []).append(recipient)
    if len(groups) + 1 > MAX_UNIQUE_ACTIONS:
        bounces = [key for key in groups if key[0] == "BOUNCE"]
        keep = bounces[0]
        for key in bounces[1:]:
            groups[keep].extend(groups.pop(key))
        notes.append(f"{len(bounces)} bounce messages would pass the {MAX_UNIQUE_ACTIONS}-action limit; all "
                     "bounces use the first")
    response = Response(direction)  # type: ignore[arg-type]
    for (kind, message), recipients in groups.items():
        response.add(kind, recipients=recipients, bounce_message=message)
    response.add("DEFAULT", all_recipients=True)
    return response.to_dict()


# The Lambda entry point -------------------------------------------------------------------

_DISPATCHER: Dispatcher | None = None


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """WorkMail's synchronous Run Lambda call: the answer for each recipient."""
    global _DISPATCHER
    if _DISPATCHER is None:
        _DISPATCHER = _from_environment()
    left = context.get_remaining_time_in_millis() / 1000 if hasattr(context, "get_remaining_time_in_millis") else None
    dispatched = _DISPATCHER.dispatch(event, seconds_left=left)
    print(json.dumps({"messageId": event.get("messageId"), "invocationId": event.get("invocationId"),
                      "hooks": [vars(r) for r in dispatched.hook_results], "notes": dispatched.notes}))
    return dispatched.response


def _from_environment() -> Dispatcher:
    clients: dict[str, Any] = {}

    def client(service: Literal["lambda", "workmailmessageflow", "s3"]) -> Any:
        # boto3 on first use: an answer that runs no hook and reads no headers never pays for it.
        if service not in clients:
            import boto3
            from botocore.config import Config

            clients[service] = boto3.client(service, config=Config(retries={"total_max_attempts": 1}))
        return clients[service]

    read = parse_rules(_rules_document(client))
    # The rules were checked in full when the app was synthesized; an action the evaluator
    # doesn't know is what an edit by hand could still bring.
    problems = [str(p) for p in read.problems] + [
        f"{rule.direction}[{rule.name}].action: {rule.action} is not an {rule.direction} action"
        for rule in read.rules if rule.action not in FLOW_ACTIONS[rule.direction]]
    if problems:
        raise ValueError(f"{RULES_ENV}: " + "; ".join(problems))

    def invoke(arn: str, payload: dict[str, Any], synchronous: bool, seconds: float) -> dict[str, Any] | None:
        answer = client("lambda").invoke(FunctionName=arn, Payload=json.dumps(payload).encode(),
                                         InvocationType="RequestResponse" if synchronous else "Event")
        if not synchronous:
            return None
        if answer.get("FunctionError"):
            raise RuntimeError(f"the function failed: {answer['Payload'].read()[:500]!r}")
        result: dict[str, Any] = json.loads(answer["Payload"].read())
        return result

    def fetch_headers(message_id: str) -> bytes:
        stream = client("workmailmessageflow").get_raw_message_content(messageId=message_id)["messageContent"]
        head = b""
        for chunk in iter(lambda: stream.read(8192), b""):
            head += chunk
            if b"\r\n\r\n" in head or b"\n\n" in head:
                break
        stream.close()
        return head

    rules = [dataclasses.replace(rule, lambda_arn=_resolved(rule.lambda_arn)) for rule in read.rules]
    return Dispatcher(rules, invoke=invoke, fetch_headers=fetch_headers)


def _rules_document(client: Callable[[Any], Any]) -> Any:
    """The rules' JSON: from the environment, or from S3, checked against its SHA-256."""
    bucket = os.environ.get(RULES_BUCKET_ENV)
    if not bucket:
        return json.loads(os.environ.get(RULES_ENV) or '{"inbound": [], "outbound": []}')
    body = client("s3").get_object(Bucket=bucket, Key=os.environ[RULES_KEY_ENV])["Body"].read()
    if hashlib.sha256(body).hexdigest() != os.environ.get(RULES_SHA256_ENV, "").lower():
        raise ValueError(f"s3://{bucket}/{os.environ[RULES_KEY_ENV]}: the rules don't match their SHA-256")
    return json.loads(body)


def _resolved(arn: str | None) -> str | None:
    """A function ARN the rules name by reference, from the environment."""
    if arn is None or not arn.startswith(_REFERENCE):
        return arn
    name = arn[len(_REFERENCE):]
    value = os.environ.get(name)
    if not value:
        raise ValueError(f"{name}: the environment has no value for the hook {arn}")
    return value


__all__ = ["Dispatched", "Dispatcher", "HookResult", "handler", "header_address"]
