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
from typing import Any, cast

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
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

    def add_recommended_alarms(self, topic: sns.ITopic | None = None, *,
                               thresholds: AlarmThresholds | None = None) -> RecommendedAlarms:
        """Bounce rates in and out, availability provider failures and a sudden drop in received
        mail, each with what to check, notifying ``topic`` when given (see ``AlarmThresholds``)."""
        return RecommendedAlarms(cast(Construct, self), "RecommendedAlarms", organization=self, topic=topic,
                                 thresholds=thresholds or AlarmThresholds())

    def add_dashboard(self, *, alarms: RecommendedAlarms | None = None,
                      email_event_log_group: logs.ILogGroup | None = None,
                      dashboard_name: str | None = None) -> WorkMailDashboard:
        """A dashboard of this organization (see ``WorkMailDashboard``)."""
        return WorkMailDashboard(cast(Construct, self), "Dashboard", organization=self,
                                 alias=str(getattr(self, "alias", self.organization_id)), alarms=alarms,
                                 email_event_log_group=email_event_log_group, dashboard_name=dashboard_name)


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


# Alarms ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class AlarmThresholds:
    """When the recommended alarms go off. Rates are percentages over ``period_minutes``, for
    ``evaluation_periods`` periods in a row; ``received_drop_std_devs`` is how far below its
    learned band the hourly received mail must fall."""

    incoming_bounce_rate_percent: float = 5.0
    outgoing_bounce_rate_percent: float = 5.0
    availability_failure_percent: float = 20.0
    received_drop_std_devs: float = 3.0
    period_minutes: int = 15
    evaluation_periods: int = 3


class RecommendedAlarms(Construct):
    """The organization's recommended alarms (``add_recommended_alarms``): bounce rates in and
    out, availability provider failures, and a sudden drop in received mail. Each says what
    to check; with ``topic``, each notifies it on alarm and on recovery."""

    def __init__(self, scope: Construct, id: str, *, organization: OrganizationMetrics,
                 topic: sns.ITopic | None = None, thresholds: AlarmThresholds | None = None) -> None:
        super().__init__(scope, id)
        t = thresholds or AlarmThresholds()
        period = cdk.Duration.minutes(t.period_minutes)
        self.incoming_bounce_rate = cloudwatch.Alarm(
            self, "IncomingBounceRate", metric=cloudwatch.MathExpression(
                expression="100 * bounced / (bounced + delivered)", label="Incoming bounce rate (%)", period=period,
                using_metrics={"bounced": organization.metric_incoming_email_bounced(period=period),
                               "delivered": organization.metric_mailbox_email_delivered(period=period)}),
            threshold=t.incoming_bounce_rate_percent, evaluation_periods=t.evaluation_periods,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            alarm_description=(
                f"More than {t.incoming_bounce_rate_percent:g}% of incoming mail bounced. Check for full or deleted "
                "mailboxes (IncomingEmailBounced counts them per recipient) and the INCOMING_EMAIL_BOUNCED events "
                "(saved query 'Incoming bounces')."),
        )
        self.outgoing_bounce_rate = cloudwatch.Alarm(
            self, "OutgoingBounceRate", metric=cloudwatch.MathExpression(
                expression="100 * bounced / (bounced + sent)", label="Outgoing bounce rate (%)", period=period,
                using_metrics={"bounced": organization.metric_outgoing_email_bounced(period=period),
                               "sent": organization.metric_outgoing_email_sent(period=period)}),
            threshold=t.outgoing_bounce_rate_percent, evaluation_periods=t.evaluation_periods,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            alarm_description=(
                f"More than {t.outgoing_bounce_rate_percent:g}% of outgoing mail bounced. Check the OUTGOING_EMAIL_"
                "BOUNCED events and their reasons (saved query 'Outgoing bounces and their reasons'), the domain's "
                "SPF, DKIM and DMARC records (workmail-cdk dns check), and whether a sender is blocklisted."),
        )
        self.availability_failures = cloudwatch.Alarm(
            self, "AvailabilityProviderFailures",
            metric=organization.metric_availability_provider_failure(period=period).with_(statistic="Average"),
            threshold=t.availability_failure_percent / 100, evaluation_periods=t.evaluation_periods,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            alarm_description=(
                f"More than {t.availability_failure_percent:g}% of free/busy requests to an availability provider "
                "failed. Check the provider: an EWS endpoint and its credentials, or a Lambda provider's errors and "
                "its 25-second limit (the availability provider logs of the audit logs say which)."),
        )
        self.received_drop = cloudwatch.AnomalyDetectionAlarm(
            self, "ReceivedMailDrop", metric=organization.metric_organization_email_received(
                period=cdk.Duration.hours(1)), evaluation_periods=2, std_devs=t.received_drop_std_devs,
            comparison_operator=cloudwatch.ComparisonOperator.LESS_THAN_LOWER_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.BREACHING,
            alarm_description=(
                "The organization received far less mail than usual for two hours. Check the domains' MX records "
                "(workmail-cdk dns check), their verification, inbound flow rules that drop mail, and the AWS "
                "Health Dashboard for WorkMail."),
        )
        self.alarms: list[cloudwatch.AlarmBase] = [self.incoming_bounce_rate, self.outgoing_bounce_rate,
                                                   self.availability_failures, self.received_drop]
        if topic is not None:
            key = getattr(topic, "master_key", None)
            if key is not None:
                # CloudWatch can publish to an encrypted topic only if the key lets it: without
                # this, the alarms would fire and notify no one.
                key.grant(iam.ServicePrincipal("cloudwatch.amazonaws.com"), "kms:Decrypt", "kms:GenerateDataKey*")
            action = cloudwatch_actions.SnsAction(topic)
            for alarm in self.alarms:
                alarm.add_alarm_action(action)
                alarm.add_ok_action(action)


# The dashboard -------------------------------------------------------------------------------

# What the dashboard's log widgets ask of the email event logs.
_BOUNCES_BY_REASON = ('filter event.eventName = "OUTGOING_EMAIL_BOUNCED"\n| stats count(*) as c by event.reason\n'
                      "| sort c desc\n| limit 10")
_EVENTS_BY_NAME = "stats count(*) as c by event.eventName\n| sort c desc"


class WorkMailDashboard(Construct):
    """A CloudWatch dashboard of one organization: mail flow, failure ratios, the recommended
    alarms' states when given, and the email event log when it is on."""

    def __init__(self, scope: Construct, id: str, *, organization: OrganizationMetrics, alias: str,
                 alarms: RecommendedAlarms | None = None, email_event_log_group: logs.ILogGroup | None = None,
                 dashboard_name: str | None = None) -> None:
        super().__init__(scope, id)
        hour = cdk.Duration.hours(1)
        self.dashboard = cloudwatch.Dashboard(self, "Dashboard", dashboard_name=dashboard_name)
        self.dashboard.add_widgets(cloudwatch.TextWidget(
            markdown=f"# WorkMail organization {alias}\nMetrics of `AWS/WorkMail`; see docs/monitoring.md.",
            width=24, height=2))
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(title="Mail in", width=12, left=[
                organization.metric_organization_email_received(period=hour),
                organization.metric_mailbox_email_delivered(period=hour),
                organization.metric_incoming_email_bounced(period=hour)]),
            cloudwatch.GraphWidget(title="Mail out", width=12, left=[
                organization.metric_outgoing_email_sent(period=hour),
                organization.metric_outgoing_email_bounced(period=hour)]),
        )
        self.dashboard.add_widgets(cloudwatch.GraphWidget(
            title="Failure ratios", width=24, left_y_axis=cloudwatch.YAxisProps(min=0, max=1), left=[
                organization.metric_authentication_failure(period=hour), organization.metric_access_denied(period=hour),
                organization.metric_action_denied(period=hour),
                organization.metric_availability_provider_failure(period=hour)]))
        if alarms is not None:
            self.dashboard.add_widgets(cloudwatch.AlarmStatusWidget(title="Alarms", alarms=alarms.alarms, width=24))
        if email_event_log_group is not None:
            names = [email_event_log_group.log_group_name]
            self.dashboard.add_widgets(
                cloudwatch.LogQueryWidget(title="Email events by kind", log_group_names=names,
                                          query_string=_EVENTS_BY_NAME, width=12,
                                          view=cloudwatch.LogQueryVisualizationType.BAR),
                cloudwatch.LogQueryWidget(title="Outgoing bounces by reason", log_group_names=names,
                                          query_string=_BOUNCES_BY_REASON, width=12,
                                          view=cloudwatch.LogQueryVisualizationType.TABLE),
            )
