"""The resource kinds, one module each, in the order plans are made and shown.

Adding a kind is one module: a subclass of ``base.Kind`` with its plan, steps and
dependencies, added to ``KINDS`` below (see docs/architecture.md, "Adding a resource kind").
"""

from __future__ import annotations

from typing import Any

from ..changes import AnyChange, KindName
from .access_rule import AccessRuleKind
from .availability import AvailabilityKind
from .base import Kind
from .delegate import DelegateKind
from .dmarc import DmarcKind
from .domain import DomainKind
from .email_monitoring import EmailMonitoringKind
from .group import GroupKind
from .impersonation_role import ImpersonationRoleKind
from .mailbox_permission import MailboxPermissionKind
from .membership import MembershipKind
from .mobile_override import MobileOverrideKind
from .mobile_rule import MobileRuleKind
from .organization import OrganizationKind
from .resource import ResourceKind
from .retention import RetentionKind
from .user import UserKind

KINDS: dict[KindName, Kind[Any, Any]] = {
    kind.name: kind
    for kind in (
        OrganizationKind(), DomainKind(), UserKind(), GroupKind(), ResourceKind(), MembershipKind(), DelegateKind(),
        MailboxPermissionKind(), AccessRuleKind(), MobileRuleKind(), MobileOverrideKind(), ImpersonationRoleKind(),
        AvailabilityKind(), RetentionKind(), DmarcKind(), EmailMonitoringKind(),
    )
}


def kind_of(change: AnyChange) -> Kind[Any, Any]:
    return KINDS[change.kind]


__all__ = ["KINDS", "Kind", "kind_of"]
