"""CDK constructs for Amazon WorkMail (the only package that imports ``aws_cdk``).

``Organization`` is the entry point: domains, users, groups, resources and policies are
declared on it, and the stack's one WorkMail provider reconciles them.
"""

from .directory import (
    DEFAULT_INLINE_SPEC_LIMIT,
    AccessControlRule,
    Alias,
    AvailabilityConfiguration,
    Directory,
    Group,
    GroupMember,
    ImpersonationRole,
    ImpersonationRule,
    MailboxAccess,
    MailResource,
    MobileDeviceAccessOverride,
    MobileDeviceAccessRule,
    ResourceDelegate,
    RetentionFolder,
    RetentionPolicy,
    User,
)
from .domain import Domain
from .flow_dispatcher import EmailFlowDispatcher
from .flow_rules import EmailFlowRule
from .lambda_hook import LambdaHook
from .logging import AuditLogDelivery, AuditLogDestination, AuditLogType, EmailEventLogging
from .mailbox_export import MailboxExportTarget
from .monitoring import AlarmThresholds, EmailEventQueries, RecommendedAlarms, WorkMailDashboard
from .organization import IOrganization, Organization, OrganizationBase
from .providers import WorkMailHandlers

__all__ = [
    "DEFAULT_INLINE_SPEC_LIMIT",
    "AccessControlRule",
    "AlarmThresholds",
    "Alias",
    "AuditLogDelivery",
    "AuditLogDestination",
    "AuditLogType",
    "AvailabilityConfiguration",
    "Directory",
    "Domain",
    "EmailEventLogging",
    "EmailEventQueries",
    "EmailFlowDispatcher",
    "EmailFlowRule",
    "Group",
    "GroupMember",
    "IOrganization",
    "ImpersonationRole",
    "ImpersonationRule",
    "LambdaHook",
    "MailResource",
    "MailboxAccess",
    "MailboxExportTarget",
    "MobileDeviceAccessOverride",
    "MobileDeviceAccessRule",
    "Organization",
    "OrganizationBase",
    "RecommendedAlarms",
    "ResourceDelegate",
    "RetentionFolder",
    "RetentionPolicy",
    "User",
    "WorkMailDashboard",
    "WorkMailHandlers",
]
