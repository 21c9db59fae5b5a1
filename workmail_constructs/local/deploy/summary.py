"""What an organization holds after a deploy, read back through the WorkMail API."""

from __future__ import annotations

from dataclasses import dataclass

from ...core.api import WorkMailApi
from ...core.read import read_full
from ...core.state import ActualState


@dataclass(frozen=True)
class OrganizationSummary:
    organization_id: str
    alias: str
    state: str
    # (domain, ownership verification, DKIM verification, is the default)
    domains: list[tuple[str, str, str, bool]]
    users: int
    enabled_users: int
    groups: int
    resources: int
    policies: list[tuple[str, str]]


def summarize(api: WorkMailApi, organization_id: str) -> OrganizationSummary | None:
    """The organization as the API reports it (a full read), or None if it is gone."""
    state = read_full(api, organization_id)
    if state.organization is None:
        return None
    default = state.organization.default_mail_domain
    domains = [(domain.spec.name, domain.ownership_verification_status, domain.dkim_verification_status,
                domain.spec.name == default)
               for domain in state.domains.values() if not domain.is_test_domain]
    return OrganizationSummary(
        organization_id=organization_id, alias=state.organization.spec.alias, state=state.organization.state,
        domains=sorted(domains), users=len(state.users),
        enabled_users=sum(1 for user in state.users.values() if user.state == "ENABLED"),
        groups=len(state.groups), resources=len(state.resources), policies=_policies(state),
    )


def _policies(state: ActualState) -> list[tuple[str, str]]:
    retention = state.retention_policy
    monitoring = state.email_monitoring
    return [
        ("access control rules", str(len(state.access_control_rules))),
        ("mobile device access rules", str(len(state.mobile_device_access_rules))),
        ("mobile device access overrides", str(len(state.mobile_device_access_overrides))),
        ("impersonation roles", str(len(state.impersonation_roles))),
        ("mailbox permission grants", str(len(state.mailbox_permissions))),
        ("retention policy", retention.spec.name if retention is not None else "none"),
        ("inbound DMARC", "enforced" if state.inbound_dmarc_enforced else "not enforced"),
        ("email event logging", "on" if monitoring is not None else "off"),
        ("availability configurations", str(len(state.availability_configurations))),
    ]
