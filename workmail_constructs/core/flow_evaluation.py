"""Which email flow rule decides what happens to a message, per recipient, as the
Administrator Guide defines it ("Managing email flows"). Standard library and the spec's
types only: a dispatcher imports this on every cold start.

- a pattern is an address, a domain (that domain only), ``*.domain`` (the domain and all
  its subdomains) or ``*``; matching is case-insensitive, as addresses' domains are;
- inbound, a rule applies when a recipient matches one of its recipient patterns and the
  ``Sender`` header one of its sender patterns; ``From`` is tried only when there is no
  ``Sender`` or no rule matches it (for that recipient). Outbound, the recipient and the
  sender (``Sender``, else ``From``) must both match;
- each recipient gets its own outcome;
- the most specific rule wins; between rules as specific, the action listed first in the
  Guide's table for the direction.

Where the Guide is silent, ``FlowSettings`` names the readings that change outcomes
(docs/flow-rules.md). The rules' checks are in ``kinds/flow_rule.py``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from .spec import EmailFlowRuleSpec, FlowAction, FlowDirection

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
    return RuleSet(rules, direction, settings).decide(sender=sender, from_address=from_address,
                                                      recipients=recipients)


Specificity = tuple[int, int]


class _PatternIndex:
    """Patterns by what they name, so an address finds the ones matching it with a lookup per
    form (and per label of its domain) instead of a test of every pattern."""

    def __init__(self) -> None:
        self.addresses: dict[str, list[int]] = {}
        self.domains: dict[str, list[int]] = {}
        self.subdomains: dict[str, list[int]] = {}
        self.any: list[int] = []

    def add(self, pattern: Pattern, item: int) -> None:
        if pattern.form == "any":
            self.any.append(item)
        else:
            table = {"address": self.addresses, "domain": self.domains, "subdomains": self.subdomains}[pattern.form]
            table.setdefault(pattern.value, []).append(item)

    def matches(self, address: str) -> dict[int, Specificity]:
        """Each item with a pattern matching ``address``, with its most specific such pattern's specificity."""
        address = address.strip().lower()
        domain = address.rpartition("@")[2]
        found: dict[int, Specificity] = {}

        def meet(items: list[int], specificity: Specificity) -> None:
            for item in items:
                if found.get(item, (-1, -1)) < specificity:
                    found[item] = specificity

        meet(self.addresses.get(address, []), (_FORM_RANK["address"], 0))
        meet(self.domains.get(domain, []), (_FORM_RANK["domain"], 0))
        labels = domain.split(".")
        for start in range(len(labels)):
            meet(self.subdomains.get(".".join(labels[start:]), []), (_FORM_RANK["subdomains"], len(labels) - start))
        meet(self.any, (_FORM_RANK["any"], 0))
        return found


class RuleSet:
    """The rules of one direction, indexed once, to decide message after message (a
    dispatcher keeps one for its life). A message costs a lookup per header in the sender
    index, then, per recipient, lookups among the rules its sender matched."""

    def __init__(self, rules: Sequence[EmailFlowRuleSpec], direction: FlowDirection,
                 settings: FlowSettings = FlowSettings()) -> None:
        self.rules = [rule for rule in rules if rule.direction == direction]
        self.settings = settings
        precedence = {action: i for i, action in enumerate(settings.precedence(direction))}
        # Larger is better: the action first in precedence, then the rule listed first.
        self._order = [(-precedence.get(rule.action, len(precedence)), -index)
                       for index, rule in enumerate(self.rules)]
        self._recipient_patterns = [[Pattern.parse(p) for p in rule.recipients] for rule in self.rules]
        self._senders = _PatternIndex()
        for index, rule in enumerate(self.rules):
            for pattern in rule.senders:
                self._senders.add(Pattern.parse(pattern), index)

    def decide(self, *, sender: str | None, from_address: str | None, recipients: Sequence[str]) -> list[Outcome]:
        """The outcome for each recipient, in order (see ``evaluate``)."""
        headers: tuple[tuple[MatchedOn, str | None], ...] = (("sender", sender), ("from", from_address))
        # Per header: the rules its address matches, and their recipients' index.
        matched = []
        for header, address in headers:
            if address:
                by_sender = self._senders.matches(address)
                matched.append((header, by_sender, self._recipient_index(by_sender)))
        outcomes = []
        for recipient in recipients:
            outcome = Outcome(recipient, None, None, None)
            for header, by_sender, index in matched:
                best = self._best(by_sender, index.matches(recipient))
                if best is not None:
                    rule = self.rules[best]
                    outcome = Outcome(recipient, rule.action, rule, header)
                    break
            outcomes.append(outcome)
        return outcomes

    def _recipient_index(self, candidates: dict[int, Specificity]) -> _PatternIndex:
        index = _PatternIndex()
        for item in candidates:
            for pattern in self._recipient_patterns[item]:
                index.add(pattern, item)
        return index

    def _best(self, by_sender: dict[int, Specificity], by_recipient: dict[int, Specificity]) -> int | None:
        """The deciding rule among those matching both ways: the most specific, then the action
        first in precedence, then the rule listed first."""
        sender_first = self.settings.specificity == "sender-first"
        best: tuple[Any, ...] | None = None
        chosen: int | None = None
        for item, recipient_match in by_recipient.items():
            sender_match = by_sender[item]
            specificity = (sender_match, recipient_match) if sender_first else (recipient_match, sender_match)
            key = (specificity, self._order[item])
            if best is None or key > best:
                best, chosen = key, item
        return chosen
