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


# Alarms and the dashboard -------------------------------------------------------------------


def _monitored(tmp_path: Path, *, topic: bool = True, logging: bool = True) -> dict[str, Any]:
    from aws_cdk import aws_sns as sns

    from workmail_constructs import AlarmThresholds

    app = cdk.App(outdir=str(tmp_path / "out"))
    stack = cdk.Stack(app, "Watched")
    org = Organization(stack, "Org", alias="acme")
    events = EmailEventLogging(stack, "EmailEvents", organization=org) if logging else None
    alarms = org.add_recommended_alarms(sns.Topic(stack, "Pager") if topic else None,
                                        thresholds=AlarmThresholds(incoming_bounce_rate_percent=7))
    org.add_dashboard(alarms=alarms, email_event_log_group=events.log_group if events else None)
    return dict(app.synth().get_stack_by_name("Watched").template)


def _alarms(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {k: r["Properties"] for k, r in template["Resources"].items() if r["Type"] == "AWS::CloudWatch::Alarm"}


def test_the_recommended_alarms_watch_bounces_availability_and_received_mail(tmp_path: Path) -> None:
    alarms = _alarms(_monitored(tmp_path))
    assert len(alarms) == 4
    by_name = {next(n for n in ("IncomingBounceRate", "OutgoingBounceRate", "AvailabilityProviderFailures",
                                "ReceivedMailDrop") if n in key): props for key, props in alarms.items()}
    incoming = by_name["IncomingBounceRate"]
    assert incoming["Threshold"] == 7 and incoming["ComparisonOperator"] == "GreaterThanThreshold"
    expressions = [m.get("Expression") for m in incoming["Metrics"]]
    assert "100 * bounced / (bounced + delivered)" in expressions
    assert {m["MetricStat"]["Metric"]["MetricName"] for m in incoming["Metrics"] if "MetricStat" in m} == {
        "IncomingEmailBounced", "MailboxEmailDelivered"}
    outgoing = by_name["OutgoingBounceRate"]
    assert {m["MetricStat"]["Metric"]["MetricName"] for m in outgoing["Metrics"] if "MetricStat" in m} == {
        "OutgoingEmailBounced", "OutgoingEmailSent"}
    availability = by_name["AvailabilityProviderFailures"]
    assert availability["MetricName"] == "AvailabilityProviderFailure" and availability["Statistic"] == "Average"
    assert availability["Threshold"] == 0.2
    drop = by_name["ReceivedMailDrop"]
    assert drop["ComparisonOperator"] == "LessThanLowerThreshold"
    assert any("ANOMALY_DETECTION_BAND" in str(m.get("Expression", "")) for m in drop["Metrics"])
    for props in alarms.values():
        assert "Check" in props["AlarmDescription"]
        assert len(props["AlarmActions"]) == 1 and props["AlarmActions"] == props["OKActions"]
        assert "Pager" in json.dumps(props["AlarmActions"])


def test_without_a_topic_the_alarms_notify_no_one(tmp_path: Path) -> None:
    assert all("AlarmActions" not in props for props in _alarms(_monitored(tmp_path, topic=False)).values())


def _dashboard_body(template: dict[str, Any]) -> str:
    (dashboard,) = [r["Properties"] for r in template["Resources"].values()
                    if r["Type"] == "AWS::CloudWatch::Dashboard"]
    return json.dumps(dashboard["DashboardBody"])


def test_the_dashboard_shows_the_metrics_the_alarms_and_the_email_events(tmp_path: Path) -> None:
    body = _dashboard_body(_monitored(tmp_path))
    for name in METRICS:
        assert name in body, name
    assert '\\"type\\":\\"alarm\\"' in body and body.count("IncomingBounceRate") >= 1
    assert '\\"type\\":\\"log\\"' in body and "SOURCE" in body and "OUTGOING_EMAIL_BOUNCED" in body


def test_without_email_event_logging_the_dashboard_has_no_log_widgets(tmp_path: Path) -> None:
    body = _dashboard_body(_monitored(tmp_path, logging=False))
    assert '\\"type\\":\\"log\\"' not in body and "OrganizationEmailReceived" in body


def test_an_encrypted_topics_key_lets_cloudwatch_publish(tmp_path: Path) -> None:
    from aws_cdk import aws_kms as kms
    from aws_cdk import aws_sns as sns

    app = cdk.App(outdir=str(tmp_path / "out"))
    stack = cdk.Stack(app, "Encrypted")
    org = Organization(stack, "Org", alias="acme")
    org.add_recommended_alarms(sns.Topic(stack, "Pager", master_key=kms.Key(stack, "PagerKey")))
    template = app.synth().get_stack_by_name("Encrypted").template
    (key,) = [r["Properties"] for r in template["Resources"].values() if r["Type"] == "AWS::KMS::Key"]
    statements = key["KeyPolicy"]["Statement"]
    assert any(s.get("Principal") == {"Service": "cloudwatch.amazonaws.com"}
               and {"kms:Decrypt", "kms:GenerateDataKey*"} <= set(s["Action"]) for s in statements)
