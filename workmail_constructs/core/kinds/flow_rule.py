"""Email flow rules as a kind: their checks (the Guide's patterns, actions per direction,
Run Lambda settings and quotas) and the console steps a plan lists for them (Administrator
Guide, "Managing email flows", "Configuring synchronous Run Lambda rules").

WorkMail's API has no operations for flow rules, so nothing here reads or writes them.
Which rule decides a message's fate is ``core/flow_evaluation.py``, kept free of botocore
for a dispatcher's cold start.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

from .. import service_model
from ..changes import ManualStep
from ..flow_evaluation import FLOW_ACTIONS
from ..spec import EmailFlowRuleSpec, FlowAction, WorkMailSpec

# Sender patterns per rule and per organization, hard quotas (Administrator Guide, "Amazon WorkMail quotas").
MAX_SENDER_PATTERNS_PER_RULE = 250
MAX_SENDER_PATTERNS_PER_ORGANIZATION = 1000
# A synchronous Run Lambda rule's timeout, in minutes; 0 means no retry before the fallback
# (Administrator Guide, "Configuring synchronous Run Lambda rules").
MAX_TIMEOUT_MINUTES = 240
_DNS_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
# A flow-rule domain pattern: a host name of at least two labels.
_PATTERN_DOMAIN = re.compile(rf"{_DNS_LABEL}(?:\.{_DNS_LABEL})+")
_GUIDE = '(Administrator Guide, "Managing email flows")'
_SYNC_GUIDE = '(Administrator Guide, "Configuring synchronous Run Lambda rules")'

def pattern_problem(pattern: Any) -> str | None:
    """Why ``pattern`` is not a flow-rule pattern (an address, a domain, ``*.domain`` or ``*``),
    or None when it is one."""
    if not isinstance(pattern, str):
        return "must be a string"
    if pattern == "*":
        return None
    if "+" in pattern:
        return f"{pattern!r}: '+' is not valid in a pattern {_GUIDE}"
    if "@" in pattern:
        if "*" not in pattern and not service_model.check(service_model.service_model().shape_for("EmailAddress"),
                                                          pattern):
            return None
        return f"{pattern!r} is not an email address"
    domain = pattern[2:] if pattern.startswith("*.") else pattern
    if "*" in domain:
        return f"{pattern!r}: the wildcard can only lead a domain, as in *.example.com {_GUIDE}"
    if not _PATTERN_DOMAIN.fullmatch(domain):
        return f"{pattern!r} is not an address, a domain, *.domain or *"
    return None


def check_rules(rules: Sequence[EmailFlowRuleSpec], add: Callable[[str, str], None],
                path: Callable[[int], str]) -> None:
    """Report (``add(path, message)``) what is wrong with ``rules``; ``path(i)`` names rule ``i``."""
    lambda_arn = service_model.service_model().shape_for("LambdaArn")
    total_senders = 0
    for ri, rule in enumerate(rules):
        at = path(ri)
        allowed = FLOW_ACTIONS.get(rule.direction)
        if allowed is None:
            add(f"{at}.direction", f"must be one of {', '.join(FLOW_ACTIONS)}")
        elif rule.action not in allowed:
            add(f"{at}.action", f"{rule.action} is not an {rule.direction} action; one of {', '.join(allowed)}")
        _check_lambda(rule, allowed or (), lambda_arn, add, at)
        if rule.action == "ROUTE_TO_SMTP_GATEWAY":
            if not rule.smtp_gateway:
                add(f"{at}.smtp_gateway", f"a ROUTE_TO_SMTP_GATEWAY rule needs an SMTP gateway {_GUIDE}")
        elif rule.smtp_gateway is not None:
            add(f"{at}.smtp_gateway", "only ROUTE_TO_SMTP_GATEWAY rules use an SMTP gateway")
        for field in ("senders", "recipients"):
            patterns: list[str] = getattr(rule, field)
            if not patterns:
                # One or more patterns each way (Administrator Guide, "Creating email flow rules").
                add(f"{at}.{field}", f"a rule needs at least one {field[:-1]} pattern")
            for i, pattern in enumerate(patterns):
                problem = pattern_problem(pattern)
                if problem is not None:
                    add(f"{at}.{field}[{i}]", problem)
        if len(rule.senders) > MAX_SENDER_PATTERNS_PER_RULE:
            add(f"{at}.senders", f"at most {MAX_SENDER_PATTERNS_PER_RULE} sender patterns per rule "
                                 f'(Administrator Guide, "Amazon WorkMail quotas"); {len(rule.senders)} declared')
        total_senders += len(rule.senders)
    if total_senders > MAX_SENDER_PATTERNS_PER_ORGANIZATION:
        add("email_flow_rules", f"at most {MAX_SENDER_PATTERNS_PER_ORGANIZATION} sender patterns per organization "
                                f'(Administrator Guide, "Amazon WorkMail quotas"); {total_senders} declared')


def _check_lambda(rule: EmailFlowRuleSpec, allowed: tuple[FlowAction, ...], lambda_arn: Any,
                  add: Callable[[str, str], None], at: str) -> None:
    if rule.action != "RUN_LAMBDA":
        if rule.lambda_arn is not None:
            add(f"{at}.lambda_arn", "only RUN_LAMBDA rules run a Lambda function")
        for field in ("fallback_action", "timeout_minutes"):
            if getattr(rule, field) is not None:
                add(f"{at}.{field}", "only a synchronous RUN_LAMBDA rule has one")
        if rule.synchronous:
            add(f"{at}.synchronous", "only RUN_LAMBDA rules run synchronously")
        return
    if not rule.lambda_arn:
        add(f"{at}.lambda_arn", 'a RUN_LAMBDA rule needs a Lambda function ARN '
                                '(Administrator Guide, "Configuring AWS Lambda for Amazon WorkMail")')
    elif service_model.check(lambda_arn, rule.lambda_arn):
        add(f"{at}.lambda_arn", f"{rule.lambda_arn!r} is not a Lambda function ARN")
    if not rule.synchronous:
        for field in ("fallback_action", "timeout_minutes"):
            if getattr(rule, field) is not None:
                add(f"{at}.{field}", "only a synchronous RUN_LAMBDA rule has one; an asynchronous one doesn't "
                                     "affect delivery")
        return
    if list(rule.recipients) != ["*"]:
        add(f"{at}.recipients", f"a synchronous RUN_LAMBDA rule takes only the recipient pattern * {_SYNC_GUIDE}")
    if rule.fallback_action is None:
        add(f"{at}.fallback_action", f"a synchronous RUN_LAMBDA rule needs a fallback action {_SYNC_GUIDE}")
    elif rule.fallback_action == "RUN_LAMBDA":
        add(f"{at}.fallback_action", f"the fallback action can't be another Lambda action {_SYNC_GUIDE}")
    elif allowed and rule.fallback_action not in allowed:
        add(f"{at}.fallback_action", f"{rule.fallback_action} is not an {rule.direction} action; one of "
                                     f"{', '.join(a for a in allowed if a != 'RUN_LAMBDA')}")
    timeout = rule.timeout_minutes
    if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, int)
                                or not 0 <= timeout <= MAX_TIMEOUT_MINUTES):
        add(f"{at}.timeout_minutes", f"must be 0 to {MAX_TIMEOUT_MINUTES} minutes (0: no retry) {_SYNC_GUIDE}")


def flow_rule_steps(declared: WorkMailSpec) -> list[ManualStep]:
    """Email flow rules have no API: each declared rule is a step to take in the console, with
    every setting it needs, in the order declared. With a dispatcher, the console needs only
    the two rules that send every message to it, and the rules a Run Lambda answer can't
    replace (routing to an SMTP gateway)."""
    rules = declared.email_flow_rules
    dispatcher = declared.flow_dispatcher_arn
    if not rules:
        return []
    if dispatcher is None:
        return [_console_step(rule) for rule in rules]
    steps = [ManualStep(
        f"email flow dispatcher ({direction})",
        f"Once: in the WorkMail console under Organization settings > {direction.title()} rules, create a rule "
        f"with senders *, recipients *, action Run Lambda, Lambda function {dispatcher}, run synchronously, "
        "fallback action DEFAULT. The dispatcher then applies the declared "
        f"{direction} rules; changing them is a deploy.",
    ) for direction in ("inbound", "outbound") if any(rule.direction == direction for rule in rules)]
    return steps + [_console_step(rule) for rule in rules if rule.action == "ROUTE_TO_SMTP_GATEWAY"]


def _console_step(rule: EmailFlowRuleSpec) -> ManualStep:
    settings = [f"action {rule.action}", f"senders {', '.join(rule.senders) or '-'}",
                f"recipients {', '.join(rule.recipients) or '-'}"]
    if rule.action == "RUN_LAMBDA":
        settings.append(f"Lambda function {rule.lambda_arn}")
        if rule.synchronous:
            settings.append(f"run synchronously, fallback action {rule.fallback_action}, rule timeout "
                            f"{rule.timeout_minutes if rule.timeout_minutes is not None else 0} minutes")
    if rule.smtp_gateway:
        settings.append(f"SMTP gateway {rule.smtp_gateway}")
    where = "Inbound" if rule.direction == "inbound" else "Outbound"
    return ManualStep(
        f"email flow rule {rule.name}",
        f"WorkMail's API has no operations for email flow rules, so the {rule.direction} rule "
        f"'{rule.name}' is not applied by this tool. Create it in the WorkMail console under "
        f"Organization settings > {where} rules, with {'; '.join(settings)}.",
    )


