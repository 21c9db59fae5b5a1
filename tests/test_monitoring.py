"""WorkMail's metrics on the organization, and the Guide's Logs Insights sample queries as saved
query definitions: their template, the log group they are bound to, and their text checked
against the query language's grammar offline."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_logs as logs

from workmail_constructs import EmailEventLogging, EmailEventQueries, Organization
from workmail_constructs.constructs.monitoring import METRICS, SAMPLE_QUERIES

# The fields of an email event (Administrator Guide, "Email event logs"), and the query's own.
EVENT_FIELDS = {
    "event.eventName", "event.from", "event.sender", "event.subject", "event.messageId", "event.recipient",
    "event.spamVerdict", "event.spfVerdict", "event.dkimVerdict", "event.dmarcVerdict", "event.dmarcPolicy",
    "event.destination", "event.reason", "event.bouncedRecipient.emailAddress", "event.bouncedRecipient.reason",
    "event.bouncedRecipient.status", "event.ruleName", "event.ruleType", "traceId", "@timestamp",
}
EVENT_FIELD_PATTERNS = (re.compile(r"event\.recipients\.\d+"), re.compile(r"event\.ruleActions\.\d+\.action"),
                        re.compile(r"event\.ruleActions\.\d+\.recipients\.\d+"))
COMMANDS = {"fields", "filter", "stats", "sort", "limit", "display", "parse", "dedup"}


def test_every_documented_metric_has_its_method_namespace_and_statistic() -> None:
    app = cdk.App()
    stack = cdk.Stack(app, "Metrics")
    org = Organization(stack, "Org", alias="acme")
    methods = {name: getattr(org, "metric_" + re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()) for name in METRICS}
    for name, method in methods.items():
        metric = method()
        assert (metric.namespace, metric.metric_name, metric.statistic) == ("AWS/WorkMail", name, METRICS[name])
        assert list(metric.dimensions or {}) == ["OrganizationId"]
        assert "Fn::GetAtt" in json.dumps(stack.resolve(metric.dimensions["OrganizationId"]))
    assert METRICS["IncomingEmailBounced"] == "Sum" and METRICS["AuthenticationFailure"] == "Average"
    overridden = org.metric_access_denied(dimensions_map={"Organization": "m-1"}, statistic="Sum",
                                          period=cdk.Duration.hours(1))
    assert overridden.dimensions == {"Organization": "m-1"} and overridden.statistic == "Sum"
    with pytest.raises(ValueError, match="not a WorkMail metric"):
        org.metric("EmailsEaten")
    imported = Organization.from_organization_id(stack, "Other", "m-0123456789abcdef0123456789abcdef")
    assert imported.metric_outgoing_email_sent().dimensions == {"OrganizationId": "m-0123456789abcdef0123456789abcdef"}


def _queries_template(tmp_path: Path, imported: bool = False) -> dict[str, Any]:
    app = cdk.App(outdir=str(tmp_path / "out"))
    stack = cdk.Stack(app, "Queries")
    org = Organization(stack, "Org", alias="acme")
    if imported:
        group = logs.LogGroup.from_log_group_name(stack, "Events", "/aws/workmail/emailevents/acme")
    else:
        group = EmailEventLogging(stack, "EmailEvents", organization=org).log_group
    EmailEventQueries(stack, "EventQueries", log_group=group, alias="acme")
    return dict(app.synth().get_stack_by_name("Queries").template)


def test_every_sample_query_is_saved_in_the_organizations_folder_bound_to_the_stacks_log_group(
        tmp_path: Path) -> None:
    template = _queries_template(tmp_path)
    definitions = [r["Properties"] for r in template["Resources"].values() if r["Type"] == "AWS::Logs::QueryDefinition"]
    assert sorted(d["Name"] for d in definitions) == sorted(f"WorkMail/acme/{q.name}" for q in SAMPLE_QUERIES)
    (group_id,) = [k for k, r in template["Resources"].items() if r["Type"] == "AWS::Logs::LogGroup"
                   and "emailevents" in json.dumps(r["Properties"])]
    for definition in definitions:
        assert definition["LogGroupNames"] == [{"Ref": group_id}]


def test_queries_bind_an_imported_log_group_by_name(tmp_path: Path) -> None:
    template = _queries_template(tmp_path, imported=True)
    definitions = [r["Properties"] for r in template["Resources"].values() if r["Type"] == "AWS::Logs::QueryDefinition"]
    assert definitions and all(d["LogGroupNames"] == ["/aws/workmail/emailevents/acme"] for d in definitions)


def _commands(text: str) -> list[str]:
    """The query's commands: split at pipes outside quotes, regexes and parentheses."""
    commands, current, depth, quote = [], "", 0, None
    for char in text:
        if quote:
            current += char
            if char == quote:
                quote = None
            continue
        if char in "\"'/":
            quote = char
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            assert depth >= 0, text
        elif char == "|" and depth == 0:
            commands.append(current.strip())
            current = ""
            continue
        current += char
    assert quote is None and depth == 0, f"unbalanced quotes or parentheses: {text}"
    commands.append(current.strip())
    return commands


@pytest.mark.parametrize("query", SAMPLE_QUERIES, ids=[q.name for q in SAMPLE_QUERIES])
def test_each_query_parses(query: Any) -> None:
    commands = _commands(query.text)
    assert all(command.split()[0] in COMMANDS for command in commands), commands
    # A filter after stats would see only the aggregated fields.
    kinds = [command.split()[0] for command in commands]
    if "stats" in kinds:
        assert "filter" not in kinds[kinds.index("stats"):], commands
    without_literals = re.sub(r'"[^"]*"|/[^/]*/', "", query.text)
    for field in re.findall(r"@?[A-Za-z][\w.]*\.[\w.]+|@timestamp|traceId", without_literals):
        assert field in EVENT_FIELDS or any(p.fullmatch(field) for p in EVENT_FIELD_PATTERNS), (query.name, field)
    # The case-insensitive flag as the English Guide prints it, not the translation's corruptions.
    assert "(?!i)" not in query.text and "(?(i)" not in query.text


def test_the_grammar_check_can_fail() -> None:
    with pytest.raises(AssertionError):
        _commands('fields @timestamp | filter (event.from like "x')
    with pytest.raises(AssertionError):
        test_each_query_parses(type("Q", (), {"name": "bad", "text": "stats count(*) as c by event.from\n"
                                                                       "| filter event.eventName = \"X\""})())
