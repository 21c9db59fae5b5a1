#!/usr/bin/env python3
"""The example WorkMail organization app: one stack that uses every construct.

Parameters come from the CDK context (``cdk.json`` or ``-c key=value``):
``workmail:alias`` (organization alias), ``workmail:domain`` (mail domain) and
``workmail:hostedZoneId`` (the domain's Route 53 hosted zone; without it the stack
outputs the DNS records to create at your DNS provider).

    cdk synth                                   # with cdk.json's context
    cdk synth -c workmail:hostedZoneId=Z0123    # records in Route 53
"""

from __future__ import annotations

import os

# Node 20 is on the machines; jsii warns about it on every synth unless told not to.
os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")
# jsii releases after Node 20's end of life warn with this one instead (it lists major versions).
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_route53 as route53
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_sns as sns

from workmail_constructs import (
    AuditLogDelivery,
    AuditLogType,
    EmailEventLogging,
    EmailEventQueries,
    EmailFlowDispatcher,
    ImpersonationRule,
    MailboxExportTarget,
    Organization,
    RetentionFolder,
)
from workmail_constructs.constructs.nag import acknowledge

# A custom availability provider (Administrator Guide, "Building a Custom Availability Provider
# Lambda function"): answers every mailbox asked for with "no busy times" and office hours, a
# placeholder for a real calendar lookup (workmail_constructs.hooks.availability builds richer answers).
AVAILABILITY_PROVIDER = """
OFFICE_HOURS = {"timezone": {"name": "UTC", "bias": 0},
                "workingPeriods": [{"startMinutes": 540, "endMinutes": 1020,
                                    "days": ["MON", "TUE", "WED", "THU", "FRI"]}]}

def handler(event, context):
    return {"mailboxes": [{"mailbox": m, "events": [], "workingHours": OFFICE_HOURS}
                          for m in event.get("mailboxes", [])]}
"""


class WorkMailExampleStack(cdk.Stack):
    """An organization with a domain, people, groups, a room and every policy kind."""

    def __init__(self, scope: cdk.App, id: str, *, alias: str, domain: str, hosted_zone_id: str | None,
                 env: cdk.Environment | None = None) -> None:
        super().__init__(scope, id, description=f"Amazon WorkMail organization {alias} ({domain})", env=env)

        # Mailboxes are encrypted with a key of our own, kept if the stack goes: an organization's
        # key can never change, and revoking it makes mail unreadable (Administrator Guide,
        # "How Amazon WorkMail uses AWS KMS").
        key = kms.Key(self, "MailboxKey", description=f"WorkMail mailboxes of {alias}", enable_key_rotation=True,
                      removal_policy=cdk.RemovalPolicy.RETAIN)
        org = Organization(self, "Organization", alias=alias, kms_key=key)
        self.organization = org
        cdk.Tags.of(self).add("project", "workmail-example")

        zone = (route53.HostedZone.from_hosted_zone_attributes(self, "Zone", hosted_zone_id=hosted_zone_id,
                                                                zone_name=domain)
                if hosted_zone_id else None)
        org.add_domain(domain, hosted_zone=zone, default=True)

        # Initial passwords live in Secrets Manager and are read only by the handler.
        initial_password = secretsmanager.Secret(
            self, "InitialPassword", description="Initial WorkMail password of new users",
            generate_secret_string=secretsmanager.SecretStringGenerator(
                password_length=24, require_each_included_type=True, exclude_characters="\"'\\"),
        )
        for secret in (initial_password,):
            _no_rotation(secret)

        alice = org.add_user("alice", display_name="Alice Example", first_name="Alice", last_name="Example",
                             email=f"alice@{domain}", aliases=[f"a.example@{domain}"], job_title="Administrator",
                             password=initial_password)
        bob = org.add_user("bob", display_name="Bob Example", email=f"bob@{domain}", mailbox_quota_mb=10240,
                           password=initial_password)
        carol = org.add_user("carol", display_name="Carol Example", email=f"carol@{domain}",
                             password=initial_password)
        carol.add_alias(f"c.example@{domain}")
        auditor = org.add_user("auditor", display_name="Mail Auditor", email=f"auditor@{domain}",
                               hidden_from_global_address_list=True)

        engineering = org.add_group("engineering", email=f"engineering@{domain}", members=[alice, bob])
        everyone = org.add_group("everyone", email=f"everyone@{domain}", members=[engineering, carol])
        everyone.add_alias(f"all@{domain}")
        room = org.add_resource("boardroom", type="ROOM", email=f"boardroom@{domain}",
                                description="Board room, 12 seats", auto_accept_requests=False, delegates=[carol])
        org.add_resource("projector", type="EQUIPMENT", email=f"projector@{domain}")
        org.grant_mailbox_access(room, alice, ["FULL_ACCESS"])
        org.grant_mailbox_access(everyone, carol, ["SEND_AS"])

        audit_role = org.add_impersonation_role(
            "auditor-read-only", type="READ_ONLY", description="Read-only access for audits",
            rules=[ImpersonationRule(rule_id="all-but-admins", effect="ALLOW", name="everyone-but-alice",
                                     target_users=[bob, carol]),
                   ImpersonationRule(rule_id="not-alice", effect="DENY", target_users=[alice])],
        )
        org.add_access_control_rule("allow-everything", effect="ALLOW", description="Default: allow all access")
        org.add_access_control_rule("no-imap-outside", effect="DENY", description="No IMAP from the internet",
                                    actions=["IMAP"], not_ip_ranges=["10.0.0.0/8"])
        org.add_access_control_rule("auditor-over-ews", effect="ALLOW", description="The auditor role uses EWS",
                                    actions=["EWS"], impersonation_roles=[audit_role])
        org.set_retention_policy("standard", description="Empty junk and deleted items", folders=[
            RetentionFolder("JUNK_EMAIL", "PERMANENTLY_DELETE", 30),
            RetentionFolder("DELETED_ITEMS", "DELETE", 90),
        ])
        org.add_mobile_device_access_rule("allow-all-devices", effect="ALLOW", description="Default")
        org.add_mobile_device_access_rule("deny-old-android", effect="DENY", description="Unsupported systems",
                                          device_operating_systems=["Android 8"])
        org.add_mobile_device_access_override(auditor, "LOSTPHONE0001", effect="DENY", description="Reported lost")
        org.set_inbound_dmarc(True)

        # Email flow rules have no API: the plan lists them as console steps. Try them offline:
        #   workmail-cdk flow test --app "python3 app.py" --direction inbound \
        #       --sender invoices@bulk-mail.example --recipient alice@example.com
        org.add_email_flow_rule("block-bulk-mailer", direction="inbound", action="DROP",
                                senders=["bulk-mail.example"])
        org.add_email_flow_rule("allow-its-invoices", direction="inbound", action="DEFAULT",
                                senders=["invoices@bulk-mail.example"])
        org.add_email_flow_rule("nothing-to-competitors", direction="outbound", action="BOUNCE",
                                senders=[domain], recipients=["competitor.example"])
        # The dispatcher applies them (a deploy changes them); the console needs two rules once.
        EmailFlowDispatcher(self, "FlowDispatcher", organization=org)

        # Free/busy lookups for two partner domains: one over EWS, one through a Lambda function.
        ews_password = secretsmanager.Secret(self, "PartnerEwsPassword",
                                             description="Password of the EWS service account at the partner")
        _no_rotation(ews_password)
        org.add_availability_configuration(
            f"partner.{domain}", ews_endpoint="https://ews.partner.example/EWS/Exchange.asmx",
            ews_username="PARTNER\\workmail-availability", ews_password=ews_password,
        )
        provider_logs = logs.LogGroup(self, "AvailabilityProviderLogs", retention=logs.RetentionDays.ONE_MONTH)
        provider_role = iam.Role(self, "AvailabilityProviderRole",
                                 assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
        provider_logs.grant_write(provider_role)
        provider = lambda_.Function(
            self, "AvailabilityProvider", runtime=lambda_.Runtime.PYTHON_3_14, handler="index.handler",
            code=lambda_.Code.from_inline(AVAILABILITY_PROVIDER), role=provider_role, log_group=provider_logs,
            description="Custom availability provider for WorkMail",
        )
        org.add_availability_configuration(f"calendar.{domain}", lambda_function=provider)

        # Email event logs, and the mailbox access audit log into its own log group.
        email_events = EmailEventLogging(self, "EmailEvents", organization=org)
        # The Guide's Logs Insights sample queries, saved in the folder WorkMail/<alias>.
        EmailEventQueries(self, "EmailEventQueries", log_group=email_events.log_group, alias=alias)
        # Alarms that say what to check, to a topic of the administrators, and a dashboard.
        alarm_key = kms.Key(self, "MailAlarmsKey", description=f"WorkMail alarm notifications of {alias}",
                            enable_key_rotation=True)
        alarm_topic = sns.Topic(self, "MailAlarms", display_name=f"WorkMail alarms of {alias}", enforce_ssl=True,
                                master_key=alarm_key)
        alarms = org.add_recommended_alarms(alarm_topic)
        org.add_dashboard(alarms=alarms, email_event_log_group=email_events.log_group)
        audit_logs = logs.LogGroup(self, "MailboxAccessLogs", retention=logs.RetentionDays.ONE_YEAR)
        AuditLogDelivery(self, "MailboxAccessAudit", organization=org,
                         log_type=AuditLogType.WORKMAIL_MAILBOX_ACCESS_LOGS, destination=audit_logs)

        # People who administer users from outside CloudFormation get exactly that.
        helpdesk = iam.Role(self, "HelpdeskRole", assumed_by=iam.AccountRootPrincipal(),
                            description="Help desk: manages WorkMail users of this organization")
        org.grant_manage_users(helpdesk)

        # Where mailboxes are exported before leaving WorkMail (docs/leaving-workmail.md):
        # `workmail-cdk mailboxes export --target-stack WorkMailExample` reads its outputs.
        MailboxExportTarget(self, "MailboxExports", organization=org, expiration=cdk.Duration.days(365))

        cdk.CfnOutput(self, "OrganizationId", value=org.organization_id, description="WorkMail organization id")
        cdk.CfnOutput(self, "WebUrl", value=org.web_url, description="WorkMail web application")
        cdk.CfnOutput(self, "OrganizationAlias", value=alias, description="Alias of the WorkMail organization")
        cdk.CfnOutput(self, "MailDomain", value=domain, description="Mail domain of the organization")


def _no_rotation(secret: secretsmanager.Secret) -> None:
    # The app's own finding, acknowledged for cdk-nag 3 (CDK's Validations) and cdk-nag 2
    # (its cdk_nag metadata) alike; the library acknowledges what it creates itself.
    acknowledge(secret, "AwsSolutions-SMG4",
                "A WorkMail password is set through ResetPassword when its declared version changes; rotating "
                "the secret on a schedule would not change the mailbox password.")


def build(app: cdk.App) -> WorkMailExampleStack:
    alias = app.node.try_get_context("workmail:alias") or "example-org"
    domain = app.node.try_get_context("workmail:domain") or "example.com"
    hosted_zone_id = app.node.try_get_context("workmail:hostedZoneId") or None
    return WorkMailExampleStack(app, "WorkMailExample", alias=alias, domain=domain, hosted_zone_id=hosted_zone_id)


if __name__ == "__main__":
    application = cdk.App()
    build(application)
    application.synth()
