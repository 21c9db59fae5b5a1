"""Monitoring WorkMail: its CloudWatch metrics, and the Administrator Guide's CloudWatch Logs
Insights queries as saved query definitions.

Metrics ("Monitoring Amazon WorkMail with Amazon CloudWatch metrics") are in the
``AWS/WorkMail`` namespace. The Guide names no dimension; WorkMail publishes them per
organization, so the library uses ``OrganizationId`` (the organization's id), and every
method takes ``dimensions_map`` to use another. Count metrics default to Sum; the 0/1
metrics (a failure or denial is 1) to Average, which is their failure ratio.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_logs as logs
from constructs import Construct

NAMESPACE = "AWS/WorkMail"
DIMENSION = "OrganizationId"
DEFAULT_PERIOD = cdk.Duration.minutes(5)
# Metric → its default statistic: counts are summed; a 0/1 metric's average is its failure ratio.
METRICS: dict[str, str] = {
    "OrganizationEmailReceived": "Sum",
    "MailboxEmailDelivered": "Sum",
    "IncomingEmailBounced": "Sum",
    "OutgoingEmailBounced": "Sum",
    "OutgoingEmailSent": "Sum",
    "AuthenticationFailure": "Average",
    "AccessDenied": "Average",
    "ActionDenied": "Average",
    "AvailabilityProviderFailure": "Average",
}


class OrganizationMetrics:
    """``metric`` and one method per documented metric, for anything with an ``organization_id``."""

    organization_id: str

    def metric(self, metric_name: str, *, statistic: str | None = None, period: cdk.Duration = DEFAULT_PERIOD,
               dimensions_map: dict[str, str] | None = None, **props: Any) -> cloudwatch.Metric:
        """The ``AWS/WorkMail`` metric ``metric_name`` of this organization."""
        if metric_name not in METRICS:
            raise ValueError(f"{metric_name!r} is not a WorkMail metric; one of {', '.join(METRICS)}")
        return cloudwatch.Metric(
            namespace=NAMESPACE, metric_name=metric_name, statistic=statistic or METRICS[metric_name], period=period,
            dimensions_map=dimensions_map if dimensions_map is not None else {DIMENSION: self.organization_id},
            **props,
        )

    def metric_organization_email_received(self, **props: Any) -> cloudwatch.Metric:
        """Messages the organization received, once per message (Sum)."""
        return self.metric("OrganizationEmailReceived", **props)

    def metric_mailbox_email_delivered(self, **props: Any) -> cloudwatch.Metric:
        """Messages delivered, once per mailbox (Sum)."""
        return self.metric("MailboxEmailDelivered", **props)

    def metric_incoming_email_bounced(self, **props: Any) -> cloudwatch.Metric:
        """Incoming messages bounced, per intended recipient (Sum)."""
        return self.metric("IncomingEmailBounced", **props)

    def metric_outgoing_email_bounced(self, **props: Any) -> cloudwatch.Metric:
        """Outgoing messages not delivered, per intended recipient (Sum)."""
        return self.metric("OutgoingEmailBounced", **props)

    def metric_outgoing_email_sent(self, **props: Any) -> cloudwatch.Metric:
        """Outgoing messages delivered, per recipient (Sum)."""
        return self.metric("OutgoingEmailSent", **props)

    def metric_authentication_failure(self, **props: Any) -> cloudwatch.Metric:
        """Authentication attempts that failed: 1 per failure, 0 per success (Average: the failure ratio)."""
        return self.metric("AuthenticationFailure", **props)

    def metric_access_denied(self, **props: Any) -> cloudwatch.Metric:
        """Access control evaluations that denied access (Average: the denial ratio)."""
        return self.metric("AccessDenied", **props)

    def metric_action_denied(self, **props: Any) -> cloudwatch.Metric:
        """Actions on mailbox data that were denied (Average: the denial ratio)."""
        return self.metric("ActionDenied", **props)

    def metric_availability_provider_failure(self, **props: Any) -> cloudwatch.Metric:
        """Availability provider requests that failed (Average: the failure ratio)."""
        return self.metric("AvailabilityProviderFailure", **props)


@dataclass(frozen=True)
class SampleQuery:
    """One of the Guide's Logs Insights sample queries ("Using CloudWatch Logs Insights with
    Amazon WorkMail email event logs")."""

    name: str
    text: str


# The Guide's sample queries, as its English edition prints them (``(?i)`` for a
# case-insensitive match). Two changes, both to make a query do what its title says: a
# ``filter`` that the Guide places after ``stats`` comes before it (after ``stats`` only the
# aggregated fields are left, so the filter would match nothing), and the DMARC query's
# ``==`` is Insights' ``=``. Placeholders such as ``$TRACEID`` are yours to fill in.
SAMPLE_QUERIES: tuple[SampleQuery, ...] = (
    SampleQuery("Outgoing mail from user A to user B",
                "fields @timestamp, traceId\n| sort @timestamp asc\n"
                "| filter (event.from like /(?i)userA@example.com/ and event.eventName = \"OUTGOING_EMAIL_SUBMITTED\""
                " and event.recipients.0 like /(?i)userB@example.com/)"),
    SampleQuery("Events of a trace", "fields @timestamp, event.eventName\n| sort @timestamp asc\n"
                                     "| filter traceId = \"$TRACEID\""),
    SampleQuery("Events of a message id", "fields @timestamp, event.eventName\n| sort @timestamp asc\n"
                                          "| filter event.messageId like \"$MESSAGEID\""),
    SampleQuery("Mail received from a user",
                "fields @timestamp, event.eventName\n| sort @timestamp asc\n"
                "| filter (event.from like /(?i)user@example.com/ and "
                "event.eventName = \"ORGANIZATION_EMAIL_RECEIVED\")"),
    SampleQuery("Mail received from a domain",
                "fields @timestamp, event.eventName\n| sort @timestamp asc\n"
                "| filter (event.from like \"example.com\" and event.eventName = \"ORGANIZATION_EMAIL_RECEIVED\")"),
    SampleQuery("Outgoing bounces and their reasons",
                "fields @timestamp, event.destination, event.reason\n| sort @timestamp desc\n"
                "| filter event.eventName = \"OUTGOING_EMAIL_BOUNCED\""),
    SampleQuery("Incoming bounces",
                "fields @timestamp, event.bouncedRecipient.emailAddress, event.bouncedRecipient.reason, "
                "event.bouncedRecipient.status\n| sort @timestamp desc\n"
                "| filter event.eventName = \"INCOMING_EMAIL_BOUNCED\""),
    SampleQuery("Recipients receiving spam",
                "filter (event.eventName = \"ORGANIZATION_EMAIL_RECEIVED\" and event.spamVerdict = \"FAIL\")\n"
                "| stats count(*) as c by event.recipients.0\n| sort c desc"),
    SampleQuery("Senders of spam", "fields @timestamp, event.recipients.0, event.sender, event.from\n"
                                   "| sort @timestamp asc\n| filter (event.spamVerdict = \"FAIL\")"),
    SampleQuery("Why a message went to spam, by subject",
                "fields @timestamp, event.recipients.0, event.spamVerdict, event.spfVerdict, event.dkimVerdict, "
                "event.dmarcVerdict\n| sort @timestamp asc\n"
                "| filter event.subject like /(?i)$SUBJECT/ and event.eventName = \"ORGANIZATION_EMAIL_RECEIVED\""),
    SampleQuery("Outbound flow rules applied", "fields @timestamp, event.ruleName, event.ruleActions.0.action\n"
                                               "| sort @timestamp desc\n| filter event.ruleType = \"OUTBOUND_RULE\""),
    SampleQuery("Inbound flow rules applied",
                "fields @timestamp, event.ruleName, event.ruleActions.0.action, event.ruleActions.0.recipients.0\n"
                "| sort @timestamp desc\n| filter event.ruleType = \"INBOUND_RULE\""),
    SampleQuery("Mail received per recipient", "filter event.eventName = \"MAILBOX_EMAIL_DELIVERED\"\n"
                                               "| stats count(*) as c by event.recipient\n| sort c desc"),
    SampleQuery("Mail sent per sender", "filter event.eventName = \"OUTGOING_EMAIL_SUBMITTED\"\n"
                                        "| stats count(*) as c by event.from\n| sort c desc"),
    # Administrator Guide, "Enforcing DMARC policies on inbound email".
    SampleQuery("DMARC failures by policy",
                "filter event.dmarcVerdict = \"FAIL\"\n| stats count() by event.dmarcPolicy"),
)


class EmailEventQueries(Construct):
    """The Guide's Logs Insights sample queries, saved and bound to an email event log group,
    in the folder ``WorkMail/<alias>`` of the Logs Insights console."""

    def __init__(self, scope: Construct, id: str, *, log_group: logs.ILogGroup, alias: str) -> None:
        super().__init__(scope, id)
        self.log_group = log_group
        self.definitions: dict[str, logs.CfnQueryDefinition] = {}
        for index, query in enumerate(SAMPLE_QUERIES):
            self.definitions[query.name] = logs.CfnQueryDefinition(
                self, f"Query{index + 1:02d}", name=f"WorkMail/{alias}/{query.name}", query_string=query.text,
                log_group_names=[log_group.log_group_name],
            )
