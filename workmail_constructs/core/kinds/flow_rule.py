"""Email flow rules: their validation and their evaluation (which rule decides what happens
to a message, per recipient), as the Administrator Guide defines them ("Managing email
flows", "Configuring synchronous Run Lambda rules").

WorkMail's API has no operations for flow rules, so nothing here reads or writes them: the
planner lists declared rules as manual steps, and the evaluator answers "what would happen
to this message", offline, for ``workmail-cdk flow test`` (and, later, a dispatcher Lambda).

What the Guide says, and how it is read here (docs/flow-rules.md lists every choice):
- a pattern is an address, a domain (that domain only), ``*.domain`` (the domain and all
  its subdomains; the wildcard only leads) or ``*``; ``+`` is not allowed. Matching is
  case-insensitive, as addresses' domains are;
- inbound, a rule applies when a recipient matches one of its recipient patterns and the
  ``Sender`` header one of its sender patterns; ``From`` is tried only when there is no
  ``Sender`` or no rule matches it (for that recipient). Outbound, the recipient and the
  sender (``Sender``, else ``From``) must both match;
- each recipient gets its own outcome;
- the most specific rule wins; between rules as specific, the action listed first in the
  Guide's table for the direction.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from .. import service_model
from ..changes import ManualStep
from ..spec import EmailFlowRuleSpec, FlowAction, FlowDirection, WorkMailSpec

# Sender patterns per rule and per organization, hard quotas (Administrator Guide, "Amazon WorkMail quotas").
MAX_SENDER_PATTERNS_PER_RULE = 250
MAX_SENDER_PATTERNS_PER_ORGANIZATION = 1000
# A synchronous Run Lambda rule's timeout, in minutes; 0 means no retry before the fallback
# (Administrator Guide, "Configuring synchronous Run Lambda rules").
MAX_TIMEOUT_MINUTES = 240
# Actions per direction, in the Guide's order, which is their precedence between rules as
# specific (Administrator Guide, "Managing email flows").
FLOW_ACTIONS: dict[str, tuple[FlowAction, ...]] = {
    "inbound": ("DROP", "BOUNCE", "MOVE_TO_JUNK", "DEFAULT", "BYPASS_SPAM_CHECK", "RUN_LAMBDA"),
    "outbound": ("DEFAULT", "DROP", "BOUNCE", "ROUTE_TO_SMTP_GATEWAY", "RUN_LAMBDA"),
}
# The outbound order if "most restrictive first" is read as the Guide's rule for ties: its
# outbound table lists Default first, which contradicts its own example (Drop before Bounce
# because it is more restrictive). A setting, since it changes outcomes.
MOST_RESTRICTIVE_OUTBOUND: tuple[FlowAction, ...] = ("DROP", "BOUNCE", "ROUTE_TO_SMTP_GATEWAY", "DEFAULT",
                                                     "RUN_LAMBDA")
_DNS_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
# A flow-rule domain pattern: a host name of at least two labels.
_PATTERN_DOMAIN = re.compile(rf"{_DNS_LABEL}(?:\.{_DNS_LABEL})+")
_GUIDE = '(Administrator Guide, "Managing email flows")'
_SYNC_GUIDE = '(Administrator Guide, "Configuring synchronous Run Lambda rules")'

PatternForm = Literal["address", "domain", "subdomains", "any"]
# The most specific form first.
_FORM_RANK: dict[PatternForm, int] = {"address": 3, "domain": 2, "subdomains": 1, "any": 0}
OutboundTieBreak = Literal["listed", "most-restrictive"]
SpecificityOrder = Literal["sender-first", "recipient-first"]


@dataclass(frozen=True)
class FlowSettings:
    """The readings of the Guide that change outcomes where it is silent or unclear (docs/flow-rules.md).

    ``outbound_tie_break``: between outbound rules as specific, the Guide's listed order
    (``listed``: DEFAULT, DROP, BOUNCE, ROUTE_TO_SMTP_GATEWAY, RUN_LAMBDA) or the most
    restrictive first (DROP, BOUNCE, ROUTE_TO_SMTP_GATEWAY, DEFAULT, RUN_LAMBDA).
    ``specificity``: which of a rule's two matches counts first when ranking rules: the
    sender's (the Guide's example is about senders) or the recipient's.
    """

    outbound_tie_break: OutboundTieBreak = "listed"
    specificity: SpecificityOrder = "sender-first"

    def precedence(self, direction: FlowDirection) -> tuple[FlowAction, ...]:
        if direction == "outbound" and self.outbound_tie_break == "most-restrictive":
            return MOST_RESTRICTIVE_OUTBOUND
        return FLOW_ACTIONS[direction]


@dataclass(frozen=True)
class Pattern:
    """A parsed pattern: its form, and the address or domain it names (lower-cased)."""

    text: str
    form: PatternForm
    value: str

    @classmethod
    def parse(cls, text: str) -> Pattern:
        """``text`` as a pattern; it must be valid (``pattern_problem`` is None)."""
        lowered = text.strip().lower()
        if lowered == "*":
            return cls(text, "any", "")
        if "@" in lowered:
            return cls(text, "address", lowered)
        if lowered.startswith("*."):
            return cls(text, "subdomains", lowered[2:])
        return cls(text, "domain", lowered)

    def matches(self, address: str) -> bool:
        address = address.strip().lower()
        domain = address.rpartition("@")[2]
        if self.form == "any":
            return True
        if self.form == "address":
            return address == self.value
        if self.form == "domain":
            return domain == self.value
        # The domain and all its subdomains.
        return domain == self.value or domain.endswith("." + self.value)

    @property
    def specificity(self) -> tuple[int, int]:
        """Higher is more specific: the form, then (for ``*.domain``) how many labels it names,
        so ``*.eu.example.com`` is more specific than ``*.example.com``."""
        labels = self.value.count(".") + 1 if self.form == "subdomains" else 0
        return _FORM_RANK[self.form], labels


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
    """Email flow rules have no API: each declared rule is a step to take in the console,
    with every setting it needs, in the order the rules are declared."""
    steps = []
    for rule in declared.email_flow_rules:
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
        steps.append(ManualStep(
            f"email flow rule {rule.name}",
            f"WorkMail's API has no operations for email flow rules, so the {rule.direction} rule "
            f"'{rule.name}' is not applied by this tool. Create it in the WorkMail console under "
            f"Organization settings > {where} rules, with {'; '.join(settings)}.",
        ))
    return steps


# Evaluation -----------------------------------------------------------------------------

MatchedOn = Literal["sender", "from"]


@dataclass(frozen=True)
class Outcome:
    """What happens to one recipient: the deciding rule and its action (None: no rule
    matched, so WorkMail's normal flow), and which header matched."""

    recipient: str
    action: FlowAction | None
    rule: EmailFlowRuleSpec | None
    matched_on: MatchedOn | None


def evaluate(rules: Sequence[EmailFlowRuleSpec], direction: FlowDirection, *, sender: str | None,
             from_address: str | None, recipients: Sequence[str],
             settings: FlowSettings = FlowSettings()) -> list[Outcome]:
    """The outcome for each recipient, in order, of a message in ``direction`` with the
    ``Sender`` header ``sender`` and the ``From`` header ``from_address`` (either may be
    None). ``rules`` must be valid; those of the other direction are ignored."""
    ordered = [(rule, [Pattern.parse(p) for p in rule.senders], [Pattern.parse(p) for p in rule.recipients])
               for rule in rules if rule.direction == direction]
    precedence = {action: i for i, action in enumerate(settings.precedence(direction))}
    headers: tuple[tuple[MatchedOn, str | None], ...] = (("sender", sender), ("from", from_address))
    outcomes = []
    for recipient in recipients:
        outcome = Outcome(recipient, None, None, None)
        for header, address in headers:
            if not address:
                continue
            best = _best(ordered, address, recipient, precedence, settings)
            if best is not None:
                outcome = Outcome(recipient, best.action, best, header)
                break
        outcomes.append(outcome)
    return outcomes


def _best(rules: list[tuple[EmailFlowRuleSpec, list[Pattern], list[Pattern]]], sender: str, recipient: str,
          precedence: dict[FlowAction, int], settings: FlowSettings) -> EmailFlowRuleSpec | None:
    """The deciding rule among those matching both ways: the most specific, then the action
    first in precedence, then the rule listed first."""
    best: tuple[tuple[Any, ...], EmailFlowRuleSpec] | None = None
    for index, (rule, senders, destinations) in enumerate(rules):
        sender_match = max((p.specificity for p in senders if p.matches(sender)), default=None)
        if sender_match is None:
            continue
        recipient_match = max((p.specificity for p in destinations if p.matches(recipient)), default=None)
        if recipient_match is None:
            continue
        specificity = ((sender_match, recipient_match) if settings.specificity == "sender-first"
                       else (recipient_match, sender_match))
        # Larger is better: negate what ranks lower-is-better.
        key = (specificity, -precedence.get(rule.action, len(precedence)), -index)
        if best is None or key > best[0]:
            best = (key, rule)
    return best[1] if best is not None else None
