"""The cost of a full read in API calls: the formula, and the count it gives for a read's result.

API cost
--------
Let ``p(op, n)`` be the calls to list ``n`` items: ``max(1, ceil(n / page(op)))``, where
``page(op)`` is the largest page the service model allows (``MaxResults``' maximum,
bounded by the output list's maximum): 100 for every list here except
ListImpersonationRoles (20). Operations without ``MaxResults`` return everything in one
call. ``U, G, R`` are the users, groups and resources listed (every state), ``U', G', R'``
those not DELETED, ``Ue, Ge, Re`` the ENABLED ones; ``a(e)`` is an entity's alias count,
``m(e)`` the grants on its mailbox, ``k(g)`` a group's member count, ``d(r)`` a resource's
delegate count; ``D`` domains, ``O`` mobile device overrides, ``I`` impersonation roles,
``A`` availability configurations. A full read of an Active organization costs::

    2                                            DescribeOrganization, ListTagsForResource
  + p(ListMailDomains, D) + D                    + GetMailDomain per domain
  + p(ListUsers, U) + U'                         + DescribeUser per live user
  + Σ over Ue [p(ListAliases, a) + q + p(ListMailboxPermissions, m)]    (q = GetMailboxDetails, see below)
  + p(ListGroups, G) + G' + Σ over G' p(ListGroupMembers, k)            (+ DescribeGroup per live group)
  + Σ over Ge [p(ListAliases, a) + p(ListMailboxPermissions, m)]
  + p(ListResources, R) + R' + Σ over R' p(ListResourceDelegates, d)    (+ DescribeResource per live resource)
  + Σ over Re [p(ListAliases, a) + p(ListMailboxPermissions, m)]
  + 1 + 1 + p(ListMobileDeviceAccessOverrides, O)   ListAccessControlRules, ListMobileDeviceAccessRules
  + p(ListImpersonationRoles, I) + I             + GetImpersonationRole per role (the list has no rules)
  + 1 + 1 + 1                                    GetDefaultRetentionPolicy, DescribeInboundDmarcSettings,
                                                 DescribeEmailMonitoringConfiguration
  + p(ListAvailabilityConfigurations, A)

``q`` is 1 for a user whose mailbox quota is read: every enabled user for an inventory,
only those with a declared quota when a plan is what the read is for (``ReadScope.quotas``),
since a quota that isn't declared isn't compared. ``full_read_calls`` computes this per
operation from a read's result. Why each Describe is
needed: ListUsers lacks the name parts, address fields, job and hidden flag; ListGroups
lacks the hidden flag; ListResources lacks booking options and the hidden flag.
ListGroupMembers carries member names, so members cost no lookups; delegates, grantees
and rule users are ids, translated from the lists already read. A non-Active organization
costs the first 2 calls only; a missing one 1. The counts assume no NextToken after a last
page that is exactly full (the emulator sends none; a service that did would cost one
more call per such list). Retries of throttled calls come on top: they are attempts,
counted apart in ``WorkMailApi.call_counts()``.
"""

from __future__ import annotations

from collections import Counter

from .api import pages
from .read import ReadScope
from .state import ActualState


def full_read_calls(
    state: ActualState, *, deleted_users: int = 0, deleted_groups: int = 0, deleted_resources: int = 0,
    quotas: set[str] | None = None,
) -> dict[str, int]:
    """The calls per operation a full read of ``state`` costs at the least (the formula above).

    ``state`` must come from ``read_full`` (with the same ``quotas``); DELETED entities are
    not in it, so their counts (they still appear in the lists) are passed in.
    """
    calls: Counter[str] = Counter()
    if state.organization is None:
        calls["DescribeOrganization"] += 1
        return dict(calls)
    calls["DescribeOrganization"] += 1
    calls["ListTagsForResource"] += 1
    if state.organization.state != "Active":
        return dict(calls)
    quota_scope = ReadScope(quotas=quotas)
    grants: Counter[str] = Counter(mailbox for mailbox, _ in state.mailbox_permissions)
    calls["ListMailDomains"] += pages("ListMailDomains", "MailDomains", len(state.domains))
    calls["GetMailDomain"] += len(state.domains)
    calls["ListUsers"] += pages("ListUsers", "Users", len(state.users) + deleted_users)
    calls["ListGroups"] += pages("ListGroups", "Groups", len(state.groups) + deleted_groups)
    calls["ListResources"] += pages("ListResources", "Resources", len(state.resources) + deleted_resources)
    calls["DescribeUser"] += len(state.users)
    calls["DescribeGroup"] += len(state.groups)
    calls["DescribeResource"] += len(state.resources)
    enabled: list[tuple[str, list[str]]] = []
    for key, user in state.users.items():
        if user.state == "ENABLED":
            calls["GetMailboxDetails"] += quota_scope.reads_quota(key)
            enabled.append((key, user.spec.aliases))
    for key, group in state.groups.items():
        calls["ListGroupMembers"] += pages("ListGroupMembers", "Members", len(group.spec.members))
        if group.state == "ENABLED":
            enabled.append((key, group.spec.aliases))
    for key, resource in state.resources.items():
        calls["ListResourceDelegates"] += pages("ListResourceDelegates", "Delegates", len(resource.spec.delegates))
        if resource.state == "ENABLED":
            enabled.append((key, resource.spec.aliases))
    for key, aliases in enabled:
        calls["ListAliases"] += pages("ListAliases", "Aliases", len(aliases))
        calls["ListMailboxPermissions"] += pages("ListMailboxPermissions", "Permissions", grants[key])
    calls["ListAccessControlRules"] += 1
    calls["ListMobileDeviceAccessRules"] += 1
    calls["ListMobileDeviceAccessOverrides"] += pages(
        "ListMobileDeviceAccessOverrides", "Overrides", len(state.mobile_device_access_overrides)
    )
    calls["ListImpersonationRoles"] += pages("ListImpersonationRoles", "Roles", len(state.impersonation_roles))
    calls["GetImpersonationRole"] += len(state.impersonation_roles)
    calls["GetDefaultRetentionPolicy"] += 1
    calls["DescribeInboundDmarcSettings"] += 1
    calls["DescribeEmailMonitoringConfiguration"] += 1
    calls["ListAvailabilityConfigurations"] += pages(
        "ListAvailabilityConfigurations", "AvailabilityConfigurations", len(state.availability_configurations)
    )
    return {op: count for op, count in calls.items() if count}
