"""Manage Amazon WorkMail as code with the AWS CDK.

The constructs are importable from here (``from workmail_constructs import Organization``)
but load only when first used: the handlers import this package inside Lambda, where
``aws_cdk`` is neither present nor wanted, and the core must import fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# Names re-exported from workmail_constructs.constructs (kept in step by a test).
__all__ = [
    "DEFAULT_INLINE_SPEC_LIMIT", "AccessControlRule", "AlarmThresholds", "Alias", "AuditLogDelivery",
    "AuditLogDestination", "AuditLogType", "AvailabilityConfiguration", "Directory", "Domain", "EmailEventLogging",
    "EmailEventQueries", "EmailFlowDispatcher", "EmailFlowRule", "Group", "GroupMember", "IOrganization",
    "ImpersonationRole", "ImpersonationRule", "LambdaHook", "MailResource", "MailboxAccess", "MailboxExportTarget",
    "MobileDeviceAccessOverride", "MobileDeviceAccessRule", "Organization", "OrganizationBase", "RecommendedAlarms",
    "ResourceDelegate", "RetentionFolder", "RetentionPolicy", "User", "WorkMailDashboard", "WorkMailHandlers",
]
_CONSTRUCTS = frozenset(__all__)

if TYPE_CHECKING:
    from .constructs import (
        DEFAULT_INLINE_SPEC_LIMIT,
        AccessControlRule,
        AlarmThresholds,
        Alias,
        AuditLogDelivery,
        AuditLogDestination,
        AuditLogType,
        AvailabilityConfiguration,
        Directory,
        Domain,
        EmailEventLogging,
        EmailEventQueries,
        EmailFlowDispatcher,
        EmailFlowRule,
        Group,
        GroupMember,
        ImpersonationRole,
        ImpersonationRule,
        IOrganization,
        LambdaHook,
        MailboxAccess,
        MailboxExportTarget,
        MailResource,
        MobileDeviceAccessOverride,
        MobileDeviceAccessRule,
        Organization,
        OrganizationBase,
        RecommendedAlarms,
        ResourceDelegate,
        RetentionFolder,
        RetentionPolicy,
        User,
        WorkMailDashboard,
        WorkMailHandlers,
    )


def __getattr__(name: str) -> Any:
    if name in _CONSTRUCTS:
        return getattr(importlib.import_module(".constructs", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | _CONSTRUCTS)
