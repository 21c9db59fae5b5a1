"""The flow rules read literally: every rule tested against every recipient, the plain way.
The indexed evaluator must decide as this does (tests/test_flow_rules.py, bench/flow_rules.py)."""

from __future__ import annotations

from typing import Any

from workmail_constructs.core.flow_evaluation import FlowSettings, Pattern
from workmail_constructs.core.spec import EmailFlowRuleSpec


def literal_reading(rules: list[EmailFlowRuleSpec], direction: str, sender: str | None, from_address: str | None,
                    recipients: list[str], options: FlowSettings) -> list[str | None]:
    """Every rule tested against every recipient: the Guide's rules, written the plain way."""
    order = options.precedence(direction)  # type: ignore[arg-type]
    decided: list[str | None] = []
    for recipient in recipients:
        found = None
        for address in (sender, from_address):
            if not address:
                continue
            best: tuple[Any, ...] | None = None
            for index, one_rule in enumerate(rules):
                if one_rule.direction != direction:
                    continue
                by_sender = [Pattern.parse(p).specificity for p in one_rule.senders
                             if Pattern.parse(p).matches(address)]
                by_recipient = [Pattern.parse(p).specificity for p in one_rule.recipients
                                if Pattern.parse(p).matches(recipient)]
                if not by_sender or not by_recipient:
                    continue
                pair = ((max(by_sender), max(by_recipient)) if options.specificity == "sender-first"
                        else (max(by_recipient), max(by_sender)))
                key = (pair, -order.index(one_rule.action), -index)
                if best is None or key > best:
                    best, found = key, one_rule.name
            if best is not None:
                break
        decided.append(found)
    return decided
