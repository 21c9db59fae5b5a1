"""The email flow rule evaluator and the rules' limits, case by case from the Administrator Guide.

Each case cites the Guide's section ("Managing email flows" for patterns, matching and
precedence; "Configuring synchronous Run Lambda rules" for the Run Lambda settings;
"Amazon WorkMail quotas" for the pattern quotas), or docs/flow-rules.md where the Guide is
silent and the evaluator makes a documented choice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.flow_reference import literal_reading
from workmail_constructs.core.flow_evaluation import FLOW_ACTIONS, FlowSettings, evaluate
from workmail_constructs.core.flow_rules_file import read_rules, rules_data
from workmail_constructs.core.spec import EmailFlowRuleSpec

PATTERNS = 'Guide, "Managing email flows": sender and recipient patterns'
MATCHING = 'Guide, "Managing email flows": how rules match (Sender, then From; per recipient)'
SPECIFIC = 'Guide, "Managing email flows": the most specific rule applies'
TIES = 'Guide, "Managing email flows": equally specific rules, the action listed first'
LAMBDA = 'Guide, "Configuring synchronous Run Lambda rules"'
QUOTAS = 'Guide, "Amazon WorkMail quotas": sender patterns'
CHOICE = "docs/flow-rules.md: a reading where the Guide is silent"
ARN = "arn:aws:lambda:us-east-1:123456789012:function:hook"


def rule(name: str, action: str, senders: list[str], recipients: list[str] | None = None,
         direction: str = "inbound", **extra: Any) -> EmailFlowRuleSpec:
    return EmailFlowRuleSpec(name, direction, action, senders, recipients or ["*"], **extra)  # type: ignore[arg-type]


@dataclass
class Case:
    id: str
    cites: str
    rules: list[EmailFlowRuleSpec]
    # (recipient, expected rule name or None)
    expected: list[tuple[str, str | None]]
    sender: str | None = "someone@sender.example"
    from_address: str | None = None
    direction: str = "inbound"
    settings: FlowSettings = field(default_factory=FlowSettings)
    matched_on: str | None = None


ALICE = "alice@corp.example"
BOB = "bob@corp.example"

CASES = [
    # Pattern forms.
    Case("address matches itself", PATTERNS, [rule("r", "DROP", ["x@a.example"])], [(ALICE, "r")],
         sender="x@a.example"),
    Case("address doesn't match another address of its domain", PATTERNS, [rule("r", "DROP", ["x@a.example"])],
         [(ALICE, None)], sender="y@a.example"),
    Case("address matching ignores case", PATTERNS, [rule("r", "DROP", ["X@A.Example"])], [(ALICE, "r")],
         sender="x@a.EXAMPLE"),
    Case("domain matches its addresses", PATTERNS, [rule("r", "DROP", ["a.example"])], [(ALICE, "r")],
         sender="anyone@a.example"),
    Case("domain doesn't match a subdomain", PATTERNS, [rule("r", "DROP", ["a.example"])], [(ALICE, None)],
         sender="x@eu.a.example"),
    Case("*.domain matches the domain itself", PATTERNS, [rule("r", "DROP", ["*.a.example"])], [(ALICE, "r")],
         sender="x@a.example"),
    Case("*.domain matches a subdomain", PATTERNS, [rule("r", "DROP", ["*.a.example"])], [(ALICE, "r")],
         sender="x@eu.a.example"),
    Case("*.domain matches a deep subdomain", PATTERNS, [rule("r", "DROP", ["*.a.example"])], [(ALICE, "r")],
         sender="x@mail.eu.a.example"),
    Case("*.domain doesn't match a longer name ending alike", PATTERNS, [rule("r", "DROP", ["*.a.example"])],
         [(ALICE, None)], sender="x@data.example"),
    Case("* matches any address", PATTERNS, [rule("r", "DROP", ["*"])], [(ALICE, "r")], sender="x@any.example"),
    Case("a domain doesn't match another domain", PATTERNS, [rule("r", "DROP", ["a.example"])], [(ALICE, None)],
         sender="x@b.example"),
    Case("a recipient domain pattern matches the recipient", PATTERNS,
         [rule("r", "DROP", ["*"], ["corp.example"])], [(ALICE, "r")]),
    Case("a recipient pattern that doesn't match: no rule", PATTERNS,
         [rule("r", "DROP", ["*"], ["other.example"])], [(ALICE, None)]),
    Case("several patterns in one rule: any may match", PATTERNS,
         [rule("r", "DROP", ["a.example", "b.example"])], [(ALICE, "r")], sender="x@b.example"),
    # The most specific rule.
    Case("an address rule beats a domain rule (the Guide's example)", SPECIFIC,
         [rule("domain", "DROP", ["a.example"]), rule("address", "DEFAULT", ["ok@a.example"])],
         [(ALICE, "address")], sender="ok@a.example"),
    Case("an address rule beats a *.domain rule", SPECIFIC,
         [rule("wild", "DROP", ["*.a.example"]), rule("address", "DEFAULT", ["ok@a.example"])],
         [(ALICE, "address")], sender="ok@a.example"),
    Case("an address rule beats *", SPECIFIC,
         [rule("all", "DROP", ["*"]), rule("address", "DEFAULT", ["ok@a.example"])], [(ALICE, "address")],
         sender="ok@a.example"),
    Case("a domain rule beats a *.domain rule", CHOICE,
         [rule("wild", "DROP", ["*.a.example"]), rule("domain", "DEFAULT", ["a.example"])], [(ALICE, "domain")],
         sender="x@a.example"),
    Case("a domain rule beats *", SPECIFIC,
         [rule("all", "DROP", ["*"]), rule("domain", "DEFAULT", ["a.example"])], [(ALICE, "domain")],
         sender="x@a.example"),
    Case("a *.domain rule beats *", SPECIFIC,
         [rule("all", "DROP", ["*"]), rule("wild", "DEFAULT", ["*.a.example"])], [(ALICE, "wild")],
         sender="x@eu.a.example"),
    Case("a deeper *.domain beats a shallower one", CHOICE,
         [rule("outer", "DROP", ["*.a.example"]), rule("inner", "DEFAULT", ["*.eu.a.example"])],
         [(ALICE, "inner")], sender="x@mail.eu.a.example"),
    Case("an exact subdomain beats *.subdomain", CHOICE,
         [rule("wild", "DROP", ["*.eu.a.example"]), rule("exact", "DEFAULT", ["eu.a.example"])],
         [(ALICE, "exact")], sender="x@eu.a.example"),
    Case("a rule counts its most specific matching pattern", SPECIFIC,
         [rule("mixed", "BOUNCE", ["*", "x@a.example"]), rule("domain", "DROP", ["a.example"])],
         [(ALICE, "mixed")], sender="x@a.example"),
    Case("the more specific recipient pattern decides between equal senders", CHOICE,
         [rule("corp", "DROP", ["*"], ["corp.example"]), rule("alice", "BOUNCE", ["*"], [ALICE])],
         [(ALICE, "alice"), (BOB, "corp")]),
    Case("sender specificity counts before recipient specificity", CHOICE,
         [rule("sender", "DEFAULT", ["x@a.example"], ["*"]), rule("recipient", "DROP", ["a.example"], [ALICE])],
         [(ALICE, "sender")], sender="x@a.example"),
    Case("with specificity=recipient-first, the recipient counts first", CHOICE,
         [rule("sender", "DEFAULT", ["x@a.example"], ["*"]), rule("recipient", "DROP", ["a.example"], [ALICE])],
         [(ALICE, "recipient")], sender="x@a.example", settings=FlowSettings(specificity="recipient-first")),
    Case("a DEFAULT exception to a domain DROP (the Guide's advice)", SPECIFIC,
         [rule("block", "DROP", ["a.example"]), rule("except", "DEFAULT", ["boss@a.example"])],
         [(ALICE, "block")], sender="other@a.example"),
    # Ties between actions.
    Case("inbound: DROP before BOUNCE (the Guide's example)", TIES,
         [rule("b", "BOUNCE", ["a.example"]), rule("d", "DROP", ["a.example"])], [(ALICE, "d")],
         sender="x@a.example"),
    Case("inbound: BOUNCE before MOVE_TO_JUNK", TIES,
         [rule("j", "MOVE_TO_JUNK", ["a.example"]), rule("b", "BOUNCE", ["a.example"])], [(ALICE, "b")],
         sender="x@a.example"),
    Case("inbound: MOVE_TO_JUNK before DEFAULT", TIES,
         [rule("d", "DEFAULT", ["a.example"]), rule("j", "MOVE_TO_JUNK", ["a.example"])], [(ALICE, "j")],
         sender="x@a.example"),
    Case("inbound: DEFAULT before BYPASS_SPAM_CHECK", TIES,
         [rule("y", "BYPASS_SPAM_CHECK", ["a.example"]), rule("d", "DEFAULT", ["a.example"])], [(ALICE, "d")],
         sender="x@a.example"),
    Case("inbound: BYPASS_SPAM_CHECK before RUN_LAMBDA", TIES,
         [rule("l", "RUN_LAMBDA", ["a.example"], lambda_arn=ARN), rule("y", "BYPASS_SPAM_CHECK", ["a.example"])],
         [(ALICE, "y")], sender="x@a.example"),
    Case("inbound: DROP before RUN_LAMBDA", TIES,
         [rule("l", "RUN_LAMBDA", ["a.example"], lambda_arn=ARN), rule("d", "DROP", ["a.example"])],
         [(ALICE, "d")], sender="x@a.example"),
    Case("a tie doesn't depend on the rules' order", TIES,
         [rule("d", "DROP", ["a.example"]), rule("b", "BOUNCE", ["a.example"])], [(ALICE, "d")],
         sender="x@a.example"),
    Case("outbound, as listed: DEFAULT before DROP", TIES,
         [rule("d", "DROP", ["corp.example"], ["*"], "outbound"),
          rule("ok", "DEFAULT", ["corp.example"], ["*"], "outbound")],
         [("x@out.example", "ok")], sender=ALICE, direction="outbound"),
    Case("outbound, most restrictive first: DROP before DEFAULT", CHOICE,
         [rule("d", "DROP", ["corp.example"], ["*"], "outbound"),
          rule("ok", "DEFAULT", ["corp.example"], ["*"], "outbound")],
         [("x@out.example", "d")], sender=ALICE, direction="outbound",
         settings=FlowSettings(outbound_tie_break="most-restrictive")),
    Case("outbound: DROP before BOUNCE", TIES,
         [rule("b", "BOUNCE", ["corp.example"], ["*"], "outbound"), rule("d", "DROP", ["corp.example"], ["*"],
                                                                          "outbound")],
         [("x@out.example", "d")], sender=ALICE, direction="outbound"),
    Case("outbound: BOUNCE before ROUTE_TO_SMTP_GATEWAY", TIES,
         [rule("g", "ROUTE_TO_SMTP_GATEWAY", ["corp.example"], ["*"], "outbound", smtp_gateway="gw"),
          rule("b", "BOUNCE", ["corp.example"], ["*"], "outbound")],
         [("x@out.example", "b")], sender=ALICE, direction="outbound"),
    Case("outbound: ROUTE_TO_SMTP_GATEWAY before RUN_LAMBDA", TIES,
         [rule("l", "RUN_LAMBDA", ["corp.example"], ["*"], "outbound", lambda_arn=ARN),
          rule("g", "ROUTE_TO_SMTP_GATEWAY", ["corp.example"], ["*"], "outbound", smtp_gateway="gw")],
         [("x@out.example", "g")], sender=ALICE, direction="outbound"),
    Case("outbound, most restrictive first: ROUTE_TO_SMTP_GATEWAY before DEFAULT", CHOICE,
         [rule("ok", "DEFAULT", ["corp.example"], ["*"], "outbound"),
          rule("g", "ROUTE_TO_SMTP_GATEWAY", ["corp.example"], ["*"], "outbound", smtp_gateway="gw")],
         [("x@out.example", "g")], sender=ALICE, direction="outbound",
         settings=FlowSettings(outbound_tie_break="most-restrictive")),
    Case("the same action and specificity: the rule listed first", CHOICE,
         [rule("first", "DROP", ["a.example"]), rule("second", "DROP", ["a.example"])], [(ALICE, "first")],
         sender="x@a.example"),
    # Sender, then From.
    Case("Sender is matched first, even when From would match a more specific rule", MATCHING,
         [rule("by-sender", "DROP", ["s.example"]), rule("by-from", "DEFAULT", ["boss@f.example"])],
         [(ALICE, "by-sender")], sender="x@s.example", from_address="boss@f.example", matched_on="sender"),
    Case("a Sender no rule matches: From is matched", MATCHING,
         [rule("by-from", "DROP", ["f.example"])], [(ALICE, "by-from")], sender="x@s.example",
         from_address="y@f.example", matched_on="from"),
    Case("no Sender header: From is matched", MATCHING,
         [rule("by-from", "DROP", ["f.example"])], [(ALICE, "by-from")], sender=None, from_address="y@f.example",
         matched_on="from"),
    Case("neither header matches: no rule", MATCHING,
         [rule("r", "DROP", ["z.example"])], [(ALICE, None)], sender="x@s.example", from_address="y@f.example"),
    Case("only a Sender header", MATCHING, [rule("r", "BOUNCE", ["s.example"])], [(ALICE, "r")],
         sender="x@s.example", matched_on="sender"),
    Case("From is tried per recipient: where Sender matches nothing for that recipient", CHOICE,
         [rule("sender-bob", "DROP", ["s.example"], [BOB]), rule("from-all", "BOUNCE", ["f.example"])],
         [(ALICE, "from-all"), (BOB, "sender-bob")], sender="x@s.example", from_address="y@f.example"),
    # Outbound.
    Case("outbound: a matching sender but not recipient: no rule", MATCHING,
         [rule("r", "DROP", ["corp.example"], ["partner.example"], "outbound")], [("x@other.example", None)],
         sender=ALICE, direction="outbound"),
    Case("outbound: a matching recipient but not sender: no rule", MATCHING,
         [rule("r", "DROP", ["sales.example"], ["partner.example"], "outbound")], [("x@partner.example", None)],
         sender=ALICE, direction="outbound"),
    Case("outbound: sender and recipient both match", MATCHING,
         [rule("r", "BOUNCE", ["corp.example"], ["partner.example"], "outbound")], [("x@partner.example", "r")],
         sender=ALICE, direction="outbound"),
    Case("outbound: From when there is no Sender", MATCHING,
         [rule("r", "DROP", ["corp.example"], ["*"], "outbound")], [("x@out.example", "r")], sender=None,
         from_address=ALICE, direction="outbound", matched_on="from"),
    Case("inbound rules don't apply to outbound mail", MATCHING,
         [rule("in", "DROP", ["*"])], [("x@out.example", None)], sender=ALICE, direction="outbound"),
    Case("outbound rules don't apply to inbound mail", MATCHING,
         [rule("out", "DROP", ["*"], ["*"], "outbound")], [(ALICE, None)]),
    # Several recipients.
    Case("each recipient gets the rule that matches it", MATCHING,
         [rule("a", "DROP", ["*"], [ALICE]), rule("b", "BOUNCE", ["*"], [BOB])], [(ALICE, "a"), (BOB, "b")]),
    Case("a recipient no rule matches keeps the normal flow", MATCHING,
         [rule("a", "DROP", ["*"], [ALICE])], [(ALICE, "a"), (BOB, None)]),
    Case("outcomes come in the recipients' order", MATCHING,
         [rule("a", "DROP", ["*"], [ALICE]), rule("b", "BOUNCE", ["*"], [BOB])], [(BOB, "b"), (ALICE, "a")]),
    Case("a recipient named twice gets its outcome twice", MATCHING,
         [rule("a", "DROP", ["*"], [ALICE])], [(ALICE, "a"), (ALICE, "a")]),
    Case("a domain-wide rule and a recipient rule split a message", MATCHING,
         [rule("all", "MOVE_TO_JUNK", ["s.example"]), rule("bob", "BYPASS_SPAM_CHECK", ["s.example"], [BOB])],
         [(ALICE, "all"), (BOB, "bob")], sender="x@s.example"),
    Case("500 recipients, each its own outcome", MATCHING,
         [rule("corp", "DROP", ["*"], ["corp.example"])],
         [(f"u{n}@{'corp' if n % 2 else 'other'}.example", "corp" if n % 2 else None) for n in range(500)]),
    # Run Lambda rules among the others.
    Case("a synchronous Run Lambda rule on * applies where nothing more specific does", LAMBDA,
         [rule("hook", "RUN_LAMBDA", ["*"], lambda_arn=ARN, synchronous=True, fallback_action="DEFAULT")],
         [(ALICE, "hook")]),
    Case("a more specific DROP beats the Run Lambda rule on *", SPECIFIC,
         [rule("hook", "RUN_LAMBDA", ["*"], lambda_arn=ARN, synchronous=True, fallback_action="DEFAULT"),
          rule("block", "DROP", ["spam.example"])], [(ALICE, "block")], sender="x@spam.example"),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_the_deciding_rule(case: Case) -> None:
    outcomes = evaluate(case.rules, case.direction, sender=case.sender,  # type: ignore[arg-type]
                        from_address=case.from_address, recipients=[r for r, _ in case.expected],
                        settings=case.settings)
    got = [(o.recipient, o.rule.name if o.rule else None) for o in outcomes]
    assert got == case.expected, case.cites
    for outcome in outcomes:
        assert outcome.action == (outcome.rule.action if outcome.rule else None)
    if case.matched_on is not None:
        assert outcomes[0].matched_on == case.matched_on


@dataclass
class Limit:
    id: str
    cites: str
    data: dict[str, Any]
    # The problem paths expected; [] for a valid file.
    problems: list[str]


def one(direction: str = "inbound", **fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"name": "r", "action": "DROP", "senders": ["a.example"], "recipients": ["*"],
                            "lambda": None, "smtp_gateway": None}
    return {direction: [{**base, **fields}]}


def hook(**settings: Any) -> dict[str, Any]:
    return {"function_arn": ARN, "synchronous": True, "fallback_action": "DEFAULT", "timeout_minutes": 30,
            **settings}


LIMITS = [
    Limit("250 sender patterns in a rule", QUOTAS, one(senders=[f"s{n}.example" for n in range(250)]), []),
    Limit("251 sender patterns in a rule", QUOTAS, one(senders=[f"s{n}.example" for n in range(251)]),
          ["inbound[r].senders"]),
    Limit("1,000 sender patterns in the organization", QUOTAS, {"inbound": [
        {"name": f"r{k}", "action": "DROP", "senders": [f"s{k}-{n}.example" for n in range(250)],
         "recipients": ["*"]} for k in range(4)]}, []),
    Limit("1,001 sender patterns in the organization", QUOTAS, {"inbound": [
        {"name": f"r{k}", "action": "DROP", "senders": [f"s{k}-{n}.example" for n in range(250)],
         "recipients": ["*"]} for k in range(4)], "outbound": [
        {"name": "x", "action": "DROP", "senders": ["one.example"], "recipients": ["*"]}]}, ["email_flow_rules"]),
    Limit("a synchronous Run Lambda rule with recipient *", LAMBDA, one(action="RUN_LAMBDA", **{"lambda": hook()}), []),
    Limit("a synchronous Run Lambda rule with another recipient pattern", LAMBDA,
          one(action="RUN_LAMBDA", recipients=["corp.example"], **{"lambda": hook()}), ["inbound[r].recipients"]),
    Limit("an asynchronous Run Lambda rule may have any recipient", LAMBDA,
          one(action="RUN_LAMBDA", recipients=["corp.example"],
              **{"lambda": {"function_arn": ARN, "synchronous": False}}), []),
    Limit("a Lambda fallback action", LAMBDA,
          one(action="RUN_LAMBDA", **{"lambda": hook(fallback_action="RUN_LAMBDA")}),
          ["inbound[r].lambda.fallback_action"]),
    Limit("a fallback action of the other direction", LAMBDA,
          one("outbound", action="RUN_LAMBDA", **{"lambda": hook(fallback_action="MOVE_TO_JUNK")}),
          ["outbound[r].lambda.fallback_action"]),
    Limit("no fallback action", LAMBDA, one(action="RUN_LAMBDA", **{"lambda": hook(fallback_action=None)}),
          ["inbound[r].lambda.fallback_action"]),
    Limit("a timeout of 0 minutes (no retry)", LAMBDA, one(action="RUN_LAMBDA", **{"lambda": hook(timeout_minutes=0)}),
          []),
    Limit("a timeout of 240 minutes", LAMBDA, one(action="RUN_LAMBDA", **{"lambda": hook(timeout_minutes=240)}), []),
    Limit("a timeout of 241 minutes", LAMBDA, one(action="RUN_LAMBDA", **{"lambda": hook(timeout_minutes=241)}),
          ["inbound[r].lambda.timeout_minutes"]),
    Limit("a negative timeout", LAMBDA, one(action="RUN_LAMBDA", **{"lambda": hook(timeout_minutes=-1)}),
          ["inbound[r].lambda.timeout_minutes"]),
    Limit("a fallback on an asynchronous rule", LAMBDA,
          one(action="RUN_LAMBDA", **{"lambda": hook(synchronous=False)}),
          ["inbound[r].lambda.fallback_action", "inbound[r].lambda.timeout_minutes"]),
    Limit("an outbound action in an inbound rule", TIES, one(action="ROUTE_TO_SMTP_GATEWAY", smtp_gateway="gw"),
          ["inbound[r].action"]),
    Limit("an inbound action in an outbound rule", TIES, one("outbound", action="MOVE_TO_JUNK"),
          ["outbound[r].action"]),
    Limit("+ in a pattern", PATTERNS, one(senders=["a+b@a.example"]), ["inbound[r].senders[0]"]),
    Limit("a wildcard that doesn't lead", PATTERNS, one(recipients=["mail.*.example"]), ["inbound[r].recipients[0]"]),
    Limit("a rule without sender patterns", PATTERNS, one(senders=[]), ["inbound[r].senders"]),
    Limit("a Lambda setting on a rule that isn't RUN_LAMBDA", LAMBDA, one(**{"lambda": hook()}),
          ["inbound[r].lambda.function_arn", "inbound[r].lambda.fallback_action",
           "inbound[r].lambda.timeout_minutes", "inbound[r].lambda.synchronous"]),
    Limit("a rule name twice in one direction", PATTERNS, {"inbound": [
        {"name": "same", "action": "DROP", "senders": ["a.example"], "recipients": ["*"]},
        {"name": "SAME", "action": "BOUNCE", "senders": ["b.example"], "recipients": ["*"]}]}, ["inbound[SAME].name"]),
]


@pytest.mark.parametrize("limit", LIMITS, ids=[c.id for c in LIMITS])
def test_the_limits(limit: Limit) -> None:
    read = read_rules(limit.data)
    assert sorted(p.path for p in read.problems) == sorted(limit.problems), limit.cites


def test_there_are_at_least_60_cases() -> None:
    assert len(CASES) + len(LIMITS) >= 60


def test_the_file_format_round_trips() -> None:
    data = {"inbound": [{"name": "scan", "action": "RUN_LAMBDA", "senders": ["*"], "recipients": ["*"],
                         "lambda": hook(), "smtp_gateway": None}],
            "outbound": [{"name": "relay", "action": "ROUTE_TO_SMTP_GATEWAY", "senders": ["corp.example"],
                          "recipients": ["*"], "lambda": None, "smtp_gateway": "gateway"}]}
    read = read_rules(data)
    assert read.problems == []
    assert rules_data(read.rules) == data


@pytest.mark.parametrize(("data", "path"), [
    ([], "(file)"),
    ({"sideways": []}, "sideways"),
    ({"inbound": {}}, "inbound"),
    ({"inbound": ["r"]}, "inbound[0]"),
    ({"inbound": [{"action": "DROP"}]}, "inbound[0].name"),
    ({"inbound": [{"name": "r", "action": "DROP", "senders": "a.example", "recipients": ["*"]}]}, "inbound[r].senders"),
    ({"inbound": [{"name": "r", "action": "DROP", "senders": ["*"], "recipients": ["*"], "colour": 1}]},
     "inbound[r].colour"),
    ({"inbound": [{"name": "r", "action": "RUN_LAMBDA", "senders": ["*"], "recipients": ["*"],
                   "lambda": {"function_arn": ARN, "synchronous": "yes"}}]}, "inbound[r].lambda.synchronous"),
])
def test_a_malformed_file_names_the_place(data: Any, path: str) -> None:
    assert path in [p.path for p in read_rules(data).problems]


# The indexed evaluator against the rules read literally --------------------------------


DOMAINS = ["a.example", "eu.a.example", "mail.eu.a.example", "b.example", "data.example"]
addresses = st.builds(lambda user, domain: f"{user}@{domain}", st.sampled_from(["x", "y", "ok"]),
                      st.sampled_from(DOMAINS))
patterns = st.one_of(st.just("*"), addresses, st.sampled_from(DOMAINS),
                     st.sampled_from(DOMAINS).map(lambda d: f"*.{d}"))


@st.composite
def rule_sets(draw: Any) -> list[EmailFlowRuleSpec]:
    count = draw(st.integers(1, 8))
    return [EmailFlowRuleSpec(f"r{n}", direction, draw(st.sampled_from(FLOW_ACTIONS[direction])),
                              draw(st.lists(patterns, min_size=1, max_size=3)),
                              draw(st.lists(patterns, min_size=1, max_size=3)))
            for n in range(count) for direction in [draw(st.sampled_from(["inbound", "outbound"]))]]


@settings(max_examples=300, deadline=None)
@given(rule_sets(), st.sampled_from(["inbound", "outbound"]), st.none() | addresses, st.none() | addresses,
       st.lists(addresses, min_size=1, max_size=4), st.sampled_from(["listed", "most-restrictive"]),
       st.sampled_from(["sender-first", "recipient-first"]))
def test_the_indexed_evaluator_decides_as_the_literal_reading(
        rules: list[EmailFlowRuleSpec], direction: str, sender: str | None, from_address: str | None,
        recipients: list[str], tie_break: str, specificity: str) -> None:
    options = FlowSettings(outbound_tie_break=tie_break, specificity=specificity)  # type: ignore[arg-type]
    outcomes = evaluate(rules, direction, sender=sender, from_address=from_address,  # type: ignore[arg-type]
                        recipients=recipients, settings=options)
    assert [o.rule.name if o.rule else None for o in outcomes] == literal_reading(
        rules, direction, sender, from_address, recipients, options)
