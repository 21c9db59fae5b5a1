"""Hypothesis strategies for specs: small random organizations, and updates of them."""

from __future__ import annotations

import copy

from hypothesis import strategies as st

from workmail_constructs.core.spec import (
    AccessControlRuleSpec,
    DomainSpec,
    GroupSpec,
    MailboxPermissionSpec,
    OrganizationSpec,
    ResourceSpec,
    UserSpec,
    WorkMailSpec,
)

NAMES = st.sampled_from([f"n{i}" for i in range(8)])


@st.composite
def grants(draw: st.DrawFn, enabled: list[str]) -> list[MailboxPermissionSpec]:
    """Up to four grants between enabled users, some on the same mailbox."""
    pairs = draw(st.lists(st.tuples(st.sampled_from(enabled), st.sampled_from(enabled)).filter(
        lambda p: p[0] != p[1]), unique=True, max_size=4))
    return [MailboxPermissionSpec(m, g, draw(st.lists(st.sampled_from(["FULL_ACCESS", "SEND_AS"]), unique=True,
                                                      min_size=1)))
            for m, g in pairs]


@st.composite
def specs(draw: st.DrawFn, alias: str) -> WorkMailSpec:
    domain = f"{alias}.example.com"
    names = draw(st.lists(NAMES, unique=True, max_size=8))
    cut1 = draw(st.integers(0, len(names)))
    cut2 = draw(st.integers(cut1, len(names)))
    user_names, group_names, resource_names = names[:cut1], names[cut1:cut2], names[cut2:]
    users = [
        UserSpec(name=n, display_name=draw(st.sampled_from(["A", "B", f"User {n}"])),
                 enabled=(enabled := draw(st.booleans())),
                 email=f"{n}@{domain}" if enabled else None,
                 aliases=[f"{n}.{a}@{domain}" for a in range(draw(st.integers(0, 2)))] if enabled else [],
                 city=draw(st.sampled_from([None, "Oslo", "Lima"])),
                 hidden_from_global_address_list=draw(st.booleans()),
                 role=draw(st.sampled_from(["USER", "REMOTE_USER"])),
                 mailbox_quota_mb=draw(st.sampled_from([None, 1024, 2048])) if enabled else None)
        for n in user_names
    ]
    members = [u.name for u in users]
    groups = []
    for n in group_names:
        enabled = draw(st.booleans())
        # Groups nest: a group may contain the groups before it (never a cycle).
        candidates = members + [g.name for g in groups]
        groups.append(GroupSpec(name=n, enabled=enabled, email=f"{n}@{domain}" if enabled else None,
                                members=draw(st.lists(st.sampled_from(candidates), unique=True)) if candidates else [],
                                hidden_from_global_address_list=draw(st.booleans())))
    resources = [
        ResourceSpec(name=n, type=draw(st.sampled_from(["ROOM", "EQUIPMENT"])), enabled=(en := draw(st.booleans())),
                     email=f"{n}@{domain}" if en else None, description=draw(st.sampled_from([None, "d"])),
                     delegates=draw(st.lists(st.sampled_from(members), unique=True, max_size=2)) if members else [])
        for n in resource_names
    ]
    enabled_users = [u.name for u in users if u.enabled]
    permissions = draw(grants(enabled_users)) if len(enabled_users) >= 2 else []
    rules = draw(st.sampled_from([None, [AccessControlRuleSpec("allow", "ALLOW", "all")]]))
    return WorkMailSpec(
        organization=OrganizationSpec(alias=alias, tags=draw(st.sampled_from([{}, {"a": "1"}]))),
        domains=[DomainSpec(domain, default=draw(st.booleans()))],
        users=users, groups=groups, resources=resources, mailbox_permissions=permissions,
        access_control_rules=rules, inbound_dmarc_enforced=draw(st.sampled_from([None, True, False])),
        prune=True,
    )



# Names an update may add: never one of ``NAMES``, so an addition is never a rename.
NEW_NAMES = st.sampled_from([f"m{i}" for i in range(4)])
# What an update may do beyond changing objects in place and adding users; the last three
# are what ``spec_delta.narrow`` refuses to narrow.
EXTRAS = ("none", "none", "none", "none", "remove", "toggle", "group-in-group")


@st.composite
def updates(draw: st.DrawFn, start: WorkMailSpec) -> WorkMailSpec:
    """``start`` with some of its users, groups, resources, permissions and rules changed in
    place and users added: the updates a directory handler gets."""
    target = copy.deepcopy(start)
    domain = start.domains[0].name
    for user in target.users:
        if draw(st.booleans()):
            user.display_name = draw(st.sampled_from(["A", "B", "C"]))
        if user.enabled and draw(st.booleans()):
            user.aliases = [f"{user.name}.{a}@{domain}" for a in range(draw(st.integers(0, 2)))]
        if user.enabled and draw(st.integers(0, 4)) == 0:
            user.mailbox_quota_mb = draw(st.sampled_from([None, 1024, 4096]))
    for n in draw(st.lists(NEW_NAMES, unique=True, max_size=2)):
        target.users.append(UserSpec(name=n, display_name=n, email=f"{n}@{domain}",
                                     aliases=[f"{n}.0@{domain}"] if draw(st.booleans()) else []))
    users = [u.name for u in target.users]
    for group in target.groups:
        if users and draw(st.booleans()):
            group.members = draw(st.lists(st.sampled_from(users), unique=True))
    for resource in target.resources:
        if draw(st.booleans()):
            resource.description = draw(st.sampled_from([None, "d", "e"]))
        if users and draw(st.booleans()):
            resource.delegates = draw(st.lists(st.sampled_from(users), unique=True, max_size=2))
    enabled = [u.name for u in target.users if u.enabled]
    if len(enabled) >= 2 and draw(st.booleans()):
        # Some grants kept, others changed or added beside them (often on the same mailbox).
        kept = [p for p in target.mailbox_permissions if draw(st.booleans())]
        taken = {(p.mailbox, p.grantee) for p in kept}
        target.mailbox_permissions = kept + [p for p in draw(grants(enabled)) if (p.mailbox, p.grantee) not in taken]
    if draw(st.booleans()):
        target.access_control_rules = draw(st.sampled_from(
            [None, [AccessControlRuleSpec("allow", "ALLOW", "all")],
             [AccessControlRuleSpec("deny", "DENY", "first", users=users[:1])]]))
    extra = draw(st.sampled_from(EXTRAS))
    entities = [*target.users, *target.groups, *target.resources]
    if extra == "remove" and start.users:
        gone = start.users[0].name
        target.users = [u for u in target.users if u.name != gone]
        for group in target.groups:
            group.members = [m for m in group.members if m != gone]
        for resource in target.resources:
            resource.delegates = [d for d in resource.delegates if d != gone]
        target.mailbox_permissions = [p for p in target.mailbox_permissions if gone not in (p.mailbox, p.grantee)]
        if target.access_control_rules:
            target.access_control_rules = [r for r in target.access_control_rules if gone not in r.users]
    elif extra == "toggle" and entities:
        granted = {n for p in target.mailbox_permissions for n in (p.mailbox, p.grantee)}
        entity = next((e for e in entities if e.name in granted), entities[0])
        if entity.enabled:
            # Permissions on or for it stay: that makes the update invalid, which a narrowed
            # validation must find as the whole one does.
            entity.enabled, entity.email, entity.aliases = False, None, []
            if isinstance(entity, UserSpec):
                entity.mailbox_quota_mb = None
    elif extra == "group-in-group" and target.groups:
        # A group takes in a group that contains it: a cycle that the whole validation finds
        # through a group a narrowed update would leave out. Without nesting, the first
        # group takes in the last.
        names = {g.name: g for g in target.groups}
        nested = [(g, names[m]) for g in target.groups for m in g.members if m in names]
        outer, inner = nested[0] if nested else (target.groups[-1], target.groups[0])
        if outer.name not in inner.members:
            inner.members = [*inner.members, outer.name]
    return target
