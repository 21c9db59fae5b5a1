"""Changes for tests, written the short way: ``change("create", "user", "alice", reason, after=...)``.

The key of a two-part address is written "owner/member" here: test data chooses its own
names, so the split is never a guess.
"""

from __future__ import annotations

from typing import Any, cast

from workmail_constructs.core.changes import (
    Action,
    Address,
    AnyChange,
    Change,
    EntityAddress,
    EntityKind,
    LinkAddress,
    LinkKind,
    NamedAddress,
    NamedKind,
    OrganizationAddress,
    OverrideAddress,
    PermissionAddress,
    SettingAddress,
    SettingKind,
)


def address(kind: str, key: str) -> Address:
    if kind == "organization":
        return OrganizationAddress(key)
    if kind in ("user", "group", "resource"):
        return EntityAddress(cast(EntityKind, kind), key)
    if kind in ("group_member", "resource_delegate"):
        owner, member = key.split("/", 1)
        return LinkAddress(cast(LinkKind, kind), owner, member)
    if kind == "mailbox_permission":
        mailbox, grantee = key.split("/", 1)
        return PermissionAddress(mailbox, grantee)
    if kind == "mobile_device_access_override":
        user, device = key.split("/", 1)
        return OverrideAddress(user, device)
    if kind in ("inbound_dmarc", "email_monitoring"):
        return SettingAddress(cast(SettingKind, kind))
    return NamedAddress(cast(NamedKind, kind), key)


def change(action: Action, kind: str, key: str, reason: str, **options: Any) -> AnyChange:
    return Change(action, address(kind, key), reason, **options)
