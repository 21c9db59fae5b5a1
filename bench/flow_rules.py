"""Evaluating email flow rules at the organization's maximum: 1,000 rules, a 500-recipient message.

Run: .venv/bin/python -m bench.flow_rules [--rules 1000 --recipients 500 --messages 200]

The rules use 1,000 sender patterns (the organization's quota, Administrator Guide,
"Amazon WorkMail quotas") in every form: addresses, domains, ``*.domain`` and ``*``, with
recipient patterns of every form too. Each message has a Sender and a From header and 500
recipients in the organization's domains. Measured in this process (medians):

(a) indexing the rules once (``RuleSet``, what a dispatcher does at its cold start);
(b) deciding one message with the index (``RuleSet.decide``), in ms per message;
(c) the whole answer of the dispatcher Lambda (``Dispatcher.dispatch``: the event parsed, the
    headers taken from the message, the rules decided, the response built within the Guide's
    limits), in ms per message;
(d) the same message decided by testing every rule against every recipient (the rules read
    literally), for the ratio;
(e) importing the dispatcher Lambda's module in a fresh interpreter, as its cold start does
    (target: 200 ms); boto3 is imported only when a hook runs or headers are read.
"""

from __future__ import annotations

import argparse
import random
import statistics
import subprocess
import sys
import time
from functools import partial
from typing import Any

from bench.harness import machine
from tests.flow_reference import literal_reading
from workmail_constructs.core.flow_evaluation import FLOW_ACTIONS, FlowSettings, RuleSet
from workmail_constructs.core.spec import EmailFlowRuleSpec
from workmail_constructs.handlers.dispatcher import Dispatcher

ORG_DOMAINS = ("corp.example", "eu.corp.example", "sales.corp.example")


def make_rules(count: int, rng: random.Random) -> list[EmailFlowRuleSpec]:
    rules = []
    actions = [a for a in FLOW_ACTIONS["inbound"] if a != "RUN_LAMBDA"]
    for n in range(count):
        form = n % 10
        sender = (f"user{n}@sender{n % 97}.example" if form < 3 else f"sender{n % 97}.example" if form < 7
                  else f"*.sender{n % 97}.example" if form < 9 else "*")
        recipient = rng.choice(["*", "corp.example", "*.corp.example", f"user{n % 500}@corp.example"])
        rules.append(EmailFlowRuleSpec(f"rule{n}", "inbound", rng.choice(actions), [sender], [recipient]))
    return rules


def no_hooks(arn: str, payload: dict[str, Any], synchronous: bool, seconds: float) -> dict[str, Any] | None:
    raise AssertionError("the benchmark's rules run no hook")


def message_headers(headers: bytes, message_id: str) -> bytes:
    return headers


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rules", type=int, default=1000)
    parser.add_argument("--recipients", type=int, default=500)
    parser.add_argument("--messages", type=int, default=200)
    args = parser.parse_args()
    rng = random.Random(7)
    rules = make_rules(args.rules, rng)
    messages = [(f"user{rng.randrange(args.rules)}@sender{rng.randrange(97)}.example",
                 f"x@{'mail.' if rng.random() < 0.5 else ''}sender{rng.randrange(97)}.example",
                 [f"user{(m + k) % 700}@{ORG_DOMAINS[k % 3]}" for k in range(args.recipients)])
                for m in range(args.messages)]
    builds = []
    for _ in range(20):
        started = time.perf_counter()
        ruleset = RuleSet(rules, "inbound")
        builds.append(time.perf_counter() - started)
    decides = []
    for sender, from_address, recipients in messages:
        started = time.perf_counter()
        outcomes = ruleset.decide(sender=sender, from_address=from_address, recipients=recipients)
        decides.append(time.perf_counter() - started)
    answers = []
    for sender, from_address, recipients in messages:
        envelope = {"mailFrom": {"address": from_address}, "recipients": [{"address": r} for r in recipients]}
        event = {"summaryVersion": "2018-10-10", "flowDirection": "INBOUND", "truncated": False, "envelope": envelope,
                 "subject": "benchmark", "messageId": "00000000-0000-0000-0000-000000000000",
                 "invocationId": "00000000000000000000000000000000"}
        headers = f"Sender: {sender}\r\nFrom: {from_address}\r\n\r\n".encode()
        dispatcher = Dispatcher(rules, invoke=no_hooks, fetch_headers=partial(message_headers, headers))
        started = time.perf_counter()
        dispatcher.dispatch(event)
        answers.append(time.perf_counter() - started)
    literal_times = []
    for sender, from_address, recipients in messages[:3]:
        started = time.perf_counter()
        expected = literal_reading(rules, "inbound", sender, from_address, recipients, FlowSettings())
        literal_times.append(time.perf_counter() - started)
        got = [o.rule.name if o.rule else None for o in ruleset.decide(sender=sender, from_address=from_address,
                                                                      recipients=recipients)]
        assert got == expected, "the index decided differently from the literal reading"
    imports = []
    for _ in range(5):
        out = subprocess.run([sys.executable, "-c", "import time; t = time.perf_counter(); "
                              "import workmail_constructs.handlers.dispatcher; print(time.perf_counter() - t)"],
                             capture_output=True, text=True, check=True).stdout
        imports.append(float(out))
    decided = sum(o.rule is not None for o in outcomes)
    print(f"machine: {machine()}")
    print(f"{args.rules} rules ({sum(len(r.senders) for r in rules)} sender patterns), messages of "
          f"{args.recipients} recipients ({decided} decided by a rule in the last message)")
    print(f"(a) indexing the rules: {statistics.median(builds) * 1000:.1f} ms (median of 20)")
    print(f"(b) deciding a message: {statistics.median(decides) * 1000:.2f} ms (median of {len(decides)}; "
          f"max {max(decides) * 1000:.2f} ms)")
    print(f"(c) the dispatcher's whole answer: {statistics.median(answers) * 1000:.2f} ms per message (median of "
          f"{len(answers)}; max {max(answers) * 1000:.2f} ms)")
    print(f"(d) every rule against every recipient: {statistics.median(literal_times) * 1000:.0f} ms "
          f"(median of 3): the index is {statistics.median(literal_times) / statistics.median(decides):.0f}x faster, "
          "same decisions")
    print(f"(e) importing the dispatcher in a fresh interpreter: {statistics.median(imports) * 1000:.0f} ms "
          "(median of 5; target 200 ms)")


if __name__ == "__main__":
    main()
