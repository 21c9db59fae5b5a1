"""Specs of realistic organizations for reconcile tests and benchmarks."""

from __future__ import annotations

from typing import Any

from workmail_constructs.core.spec import (
    AccessControlRuleSpec,
    AvailabilityConfigurationSpec,
    BookingOptionsSpec,
    DomainSpec,
    EmailFlowRuleSpec,
    EmailMonitoringSpec,
    EwsProviderSpec,
    FolderConfigurationSpec,
    GroupSpec,
    ImpersonationRoleSpec,
    ImpersonationRuleSpec,
    MailboxPermissionSpec,
    MobileDeviceAccessOverrideSpec,
    MobileDeviceAccessRuleSpec,
    OrganizationSpec,
    ResourceSpec,
    RetentionPolicySpec,
    SecretRef,
    UserSpec,
    WorkMailSpec,
)

SECRETS = {"user-password": "Corr3ct-Horse!", "ews-password": "Ews-Secret-1"}


def resolve_secret(ref: SecretRef) -> str:
    return SECRETS[ref.secret_id]


def organization_spec(
    alias: str, *, users: int = 200, groups: int = 40, members_per_group: int = 5, resources: int = 20,
    aliases_per_user: int = 1, policies: bool = True,
) -> WorkMailSpec:
    """An organization with two domains, enabled users with aliases, groups (some nested),
    rooms with delegates, mailbox permissions and, with ``policies``, every policy kind."""
    primary = f"{alias}.example.com"
    secondary = f"{alias}.example.net"
    user_specs = [
        UserSpec(
            name=f"user{n:05d}", display_name=f"User {n}", email=f"user{n:05d}@{primary}",
            aliases=[f"u{n:05d}.{a}@{secondary if a % 2 else primary}" for a in range(aliases_per_user)],
            first_name="User", last_name=str(n), department=f"dept{n % 7}",
            password=SecretRef("user-password", "v1"),
        )
        for n in range(users)
    ]
    group_specs = [
        GroupSpec(
            name=f"group{g:04d}", email=f"group{g:04d}@{primary}",
            members=[f"user{(g * members_per_group + m) % max(users, 1):05d}" for m in range(members_per_group)]
            if users else [],
        )
        for g in range(groups)
    ]
    if groups > 2:
        # Nested groups: the first group contains the second and the third.
        group_specs[0].members += [group_specs[1].name, group_specs[2].name]
    resource_specs = [
        ResourceSpec(
            name=f"room{r:04d}", type="ROOM" if r % 3 else "EQUIPMENT", email=f"room{r:04d}@{primary}",
            description=f"Room {r}", delegates=[f"user{r % max(users, 1):05d}"] if users else [],
            booking_options=BookingOptionsSpec(auto_accept_requests=r % 2 == 0 or not users),
        )
        for r in range(resources)
    ]
    permissions = [
        MailboxPermissionSpec(mailbox=f"user{n:05d}", grantee=f"user{(n + 1) % users:05d}", permissions=["FULL_ACCESS"])
        for n in range(0, min(users, 20), 2)
    ] + [
        MailboxPermissionSpec(mailbox=f"room{r:04d}", grantee="group0000", permissions=["SEND_AS"])
        for r in range(min(resources, 3)) if groups
    ]
    spec = WorkMailSpec(
        organization=OrganizationSpec(alias=alias, tags={"team": "mail", "env": "test"}),
        domains=[DomainSpec(primary, default=True), DomainSpec(secondary)],
        users=user_specs, groups=group_specs, resources=resource_specs, mailbox_permissions=permissions,
    )
    if policies:
        add_policies(spec)
    return spec


def add_policies(spec: WorkMailSpec) -> None:
    users = [u.name for u in spec.users]
    spec.impersonation_roles = [ImpersonationRoleSpec(
        name="auditor", type="READ_ONLY", description="Read-only access for audits",
        rules=[ImpersonationRuleSpec(rule_id="audit-all", effect="ALLOW", name="all"),
               ImpersonationRuleSpec(rule_id="not-first", effect="DENY", target_users=users[:1])],
    )]
    spec.access_control_rules = [
        AccessControlRuleSpec(name="allow-all", effect="ALLOW", description="Default allow"),
        AccessControlRuleSpec(name="deny-imap", effect="DENY", description="No IMAP from outside",
                              actions=["IMAP"], not_ip_ranges=["10.0.0.0/8"], users=users[:2]),
        AccessControlRuleSpec(name="auditor-ews", effect="ALLOW", description="Auditor over EWS",
                              actions=["EWS"], impersonation_roles=["auditor"]),
    ]
    spec.retention_policy = RetentionPolicySpec(name="standard", description="Keep a year", folders=[
        FolderConfigurationSpec("DELETED_ITEMS", "PERMANENTLY_DELETE", 30),
        FolderConfigurationSpec("JUNK_EMAIL", "DELETE", 14),
    ])
    spec.mobile_device_access_rules = [
        MobileDeviceAccessRuleSpec(name="allow-all", effect="ALLOW", description="Default"),
        MobileDeviceAccessRuleSpec(name="deny-old-android", effect="DENY", device_operating_systems=["Android 8"]),
    ]
    if users:
        spec.mobile_device_access_overrides = [
            MobileDeviceAccessOverrideSpec(user=users[0], device_id="DEVICE0001", effect="DENY", description="Lost"),
        ]
    spec.inbound_dmarc_enforced = True
    spec.email_monitoring = EmailMonitoringSpec(
        log_group_arn="arn:aws:logs:us-east-1:123456789012:log-group:/aws/workmail/events:*",
    )
    spec.availability_configurations = [
        AvailabilityConfigurationSpec(domain_name="partner.example.org", lambda_arn=(
            "arn:aws:lambda:us-east-1:123456789012:function:availability")),
        AvailabilityConfigurationSpec(domain_name="legacy.example.org", ews=EwsProviderSpec(
            "https://127.0.0.1:9/ews", "svc", SecretRef("ews-password", "v1"))),
    ]
    spec.email_flow_rules = [EmailFlowRuleSpec(name="block-spam", direction="inbound", action="DROP",
                                               senders=["spam.example"], recipients=["*"])]


def as_cloudformation_sends(value: Any) -> Any:
    """A property value as CloudFormation passes it to a custom resource: every number and
    boolean as a string; empty lists and objects left out (the handler must not need them)."""
    if isinstance(value, dict):
        kept = {k: as_cloudformation_sends(v) for k, v in value.items()}
        return {k: v for k, v in kept.items() if v not in ([], {})}
    if isinstance(value, list):
        return [as_cloudformation_sends(v) for v in value]
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
