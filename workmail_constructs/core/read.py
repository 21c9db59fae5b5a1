"""Read the actual state of a WorkMail organization with the fewest calls the API allows.

``read_full`` reads every section (drift detection); ``read_scoped`` reads only the named
users, groups and resources and the named sections, which keeps an incremental update
cheap: reading one user costs DescribeUser by name, then ListAliases and
GetMailboxDetails only if the user is ENABLED (a disabled entity has no mailbox and no
addresses in WorkMail, so there is nothing more to read).

The result is an ``ActualState`` in the spec's own types: references are names (ids are
translated: group members, delegates, grantees, rule users, impersonation roles,
override users), maps are keyed by lower-cased names, secrets are never read back
(``password`` is None; an EWS availability provider's password is ``SecretRef("")``
because ListAvailabilityConfigurations returns a redacted provider). Entities in state
DELETED are left out, and so are members, delegates and grants naming them. A rule's
reference to a deleted or unknown user keeps the id, so it never matches a declared
name and the planner sees the stale reference.

Calls run concurrently through ``map_concurrent`` in three rounds: lists (and
lookups by name), then per-item details, then, in scoped reads only, Describe calls
for ids the read didn't meet. An entity that changes while it is read (deleted,
disabled) is reported as its Describe call saw it.

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
  + Σ over Ue [p(ListAliases, a) + 1 + p(ListMailboxPermissions, m)]    (1 = GetMailboxDetails)
  + p(ListGroups, G) + G' + Σ over G' p(ListGroupMembers, k)            (+ DescribeGroup per live group)
  + Σ over Ge [p(ListAliases, a) + p(ListMailboxPermissions, m)]
  + p(ListResources, R) + R' + Σ over R' p(ListResourceDelegates, d)    (+ DescribeResource per live resource)
  + Σ over Re [p(ListAliases, a) + p(ListMailboxPermissions, m)]
  + 1 + 1 + p(ListMobileDeviceAccessOverrides, O)   ListAccessControlRules, ListMobileDeviceAccessRules
  + p(ListImpersonationRoles, I) + I             + GetImpersonationRole per role (the list has no rules)
  + 1 + 1 + 1                                    GetDefaultRetentionPolicy, DescribeInboundDmarcSettings,
                                                 DescribeEmailMonitoringConfiguration
  + p(ListAvailabilityConfigurations, A)

``full_read_calls`` computes this per operation from a read's result. Why each Describe is
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
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import partial
from typing import Any, cast

from botocore.exceptions import ClientError

from . import service_model
from .api import WorkMailApi, error_code, map_concurrent, pages
from .spec import (
    USER_TEXT_ATTRIBUTES,
    AccessControlRuleSpec,
    AvailabilityConfigurationSpec,
    BookingOptionsSpec,
    DomainSpec,
    Effect,
    EmailMonitoringSpec,
    EwsProviderSpec,
    FolderConfigurationSpec,
    FolderName,
    GroupSpec,
    ImpersonationRoleSpec,
    ImpersonationRoleType,
    ImpersonationRuleSpec,
    MailboxPermission,
    MailboxPermissionSpec,
    MobileDeviceAccessOverrideSpec,
    MobileDeviceAccessRuleSpec,
    OrganizationSpec,
    ResourceSpec,
    ResourceType,
    RetentionAction,
    RetentionPolicySpec,
    SecretRef,
    UserRole,
    UserSpec,
    api_member,
)
from .state import (
    SECTIONS,
    ActualDomain,
    ActualGroup,
    ActualOrganization,
    ActualResource,
    ActualRetentionPolicy,
    ActualRule,
    ActualState,
    ActualUser,
)

ENTITY_KINDS = ("users", "groups", "resources")
# Per kind: the Describe operation, its identifier member and output id member, the List
# operation and its result key, the List name filter, and the type the API calls it.
_DESCRIBE = {"users": "DescribeUser", "groups": "DescribeGroup", "resources": "DescribeResource"}
_DESCRIBE_ID = {"users": "UserId", "groups": "GroupId", "resources": "ResourceId"}
_LIST = {
    "users": ("ListUsers", "Users"), "groups": ("ListGroups", "Groups"), "resources": ("ListResources", "Resources"),
}
_NAME_FILTER = {"users": "UsernamePrefix", "groups": "NamePrefix", "resources": "NamePrefix"}
_KIND_OF_TYPE = {"USER": "users", "GROUP": "groups", "RESOURCE": "resources"}
# WorkMail's name for the directory it creates itself; any other type is one the user brought.
WORKMAIL_DIRECTORY = "WorkMailDirectory"
# Errors that mean an item changed between being listed and being read: it is reported
# as the rest of the read saw it rather than failing the whole read.
_GONE = frozenset({
    "EntityNotFoundException", "EntityStateException", "MailDomainNotFoundException", "ResourceNotFoundException",
})


class _Gone:
    """The result of a detail call whose item vanished or changed state during the read."""


GONE = _Gone()

Job = tuple[Callable[[], Any], Callable[[Any], None]]


@dataclass
class ReadScope:
    """What a scoped read covers. Names are case-insensitive.

    ``sections`` are read in full (see ``state.SECTIONS``); ``users``, ``groups`` and
    ``resources`` name single entities to read (with their aliases, quota, members or
    delegates). ``mailbox_permissions`` names entities of this read whose mailbox
    permissions are read without reading the whole section. ``organization`` also reads
    the organization (2 calls).
    """

    users: set[str] = field(default_factory=set)
    groups: set[str] = field(default_factory=set)
    resources: set[str] = field(default_factory=set)
    sections: set[str] = field(default_factory=set)
    mailbox_permissions: set[str] = field(default_factory=set)
    organization: bool = False

    def names(self, kind: str) -> set[str]:
        """The lower-cased names of ``kind`` ("users", "groups" or "resources")."""
        return set(self.spelled(kind))

    def spelled(self, kind: str) -> dict[str, str]:
        """Lower-cased name → the name as written (list filters are case-sensitive)."""
        spelled: dict[str, str] = {}
        for name in sorted(cast(set[str], getattr(self, kind))):
            spelled.setdefault(name.lower(), name)
        return spelled

    def validate(self) -> None:
        unknown = sorted(set(self.sections) - set(SECTIONS))
        if unknown:
            raise ValueError(
                f"ReadScope.sections: unknown section {unknown[0]!r}; expected some of {', '.join(SECTIONS)}"
            )
        if {"users", "groups", "resources", "mailbox_permissions"} & set(self.sections):
            return
        named = self.names("users") | self.names("groups") | self.names("resources")
        for name in sorted(self.mailbox_permissions):
            if name.lower() not in named:
                raise ValueError(
                    f"ReadScope.mailbox_permissions: {name!r} is not a user, group or resource this scope reads"
                )


# Public entry points ------------------------------------------------------------------


def read_organization(api: WorkMailApi, organization_id: str) -> ActualOrganization | None:
    """The organization and its tags, or None if it doesn't exist or is Deleted (1–2 calls)."""
    try:
        org = api.call("DescribeOrganization", OrganizationId=organization_id)
    except ClientError as error:
        if error_code(error) == "OrganizationNotFoundException":
            return None
        raise
    if org.get("State") == "Deleted":
        return None
    try:
        tags = api.call("ListTagsForResource", ResourceARN=org["ARN"]).get("Tags") or []
    except ClientError as error:
        if error_code(error) == "ResourceNotFoundException":
            return None  # deleted between the two calls
        raise
    directory_type = org.get("DirectoryType")
    spec = OrganizationSpec(
        alias=org["Alias"],
        # Only a directory the user brought is declarable; the one WorkMail made is its own.
        directory_id=org.get("DirectoryId") if directory_type not in (None, WORKMAIL_DIRECTORY) else None,
        # The KMS key and the removal policy can't be read back: left at their defaults.
        enable_interoperability=bool(org.get("InteroperabilityEnabled", False)),
        tags={tag["Key"]: tag["Value"] for tag in tags},
        organization_id=org["OrganizationId"],
    )
    return ActualOrganization(
        organization_id=org["OrganizationId"],
        arn=org["ARN"],
        state=org["State"],
        default_mail_domain=org.get("DefaultMailDomain"),
        directory_type=directory_type,
        spec=spec,
    )


def read_full(api: WorkMailApi, organization_id: str, *, max_workers: int = 8) -> ActualState:
    """Every section of the organization, for drift detection (cost: see the module's "API cost").

    A missing organization has nothing in it, so every section is read (and empty); one
    that is not Active can't be read, so no section is.
    """
    scope = ReadScope(sections=set(SECTIONS), organization=True)
    return read_scoped(api, organization_id, scope, max_workers=max_workers)


def read_scoped(api: WorkMailApi, organization_id: str, scope: ReadScope, *, max_workers: int = 8) -> ActualState:
    """Only what ``scope`` names; ``read_sections`` of the result is exactly ``scope.sections``."""
    scope.validate()
    organization: ActualOrganization | None = None
    if scope.organization:
        organization = read_organization(api, organization_id)
        if organization is None:
            return ActualState(organization=None, read_sections=set(SECTIONS))
        if organization.state != "Active":
            return ActualState(organization=organization, read_sections=set())
    state = _Reader(api, organization_id, scope, max_workers).read()
    state.organization = organization
    return state


def full_read_calls(
    state: ActualState, *, deleted_users: int = 0, deleted_groups: int = 0, deleted_resources: int = 0
) -> dict[str, int]:
    """The calls per operation a full read of ``state`` costs at the least (the formula above).

    ``state`` must come from ``read_full``; DELETED entities are not in it, so their counts
    (they still appear in the lists) are passed in.
    """
    calls: Counter[str] = Counter()
    if state.organization is None:
        calls["DescribeOrganization"] += 1
        return dict(calls)
    calls["DescribeOrganization"] += 1
    calls["ListTagsForResource"] += 1
    if state.organization.state != "Active":
        return dict(calls)
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
            calls["GetMailboxDetails"] += 1
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


# The reader ---------------------------------------------------------------------------


class _Reader:
    """One read: raw API answers collected round by round, then turned into an ActualState."""

    def __init__(self, api: WorkMailApi, organization_id: str, scope: ReadScope, max_workers: int) -> None:
        self.api = api
        self.org_id = organization_id
        self.scope = scope
        self.sections = set(scope.sections)
        self.max_workers = max_workers
        # Entities this read met: kind → id → summary (Id, Name, State) from a List or Describe.
        self.listed: dict[str, dict[str, dict[str, Any]]] = {kind: {} for kind in ENTITY_KINDS}
        # The entities that go into the state: kind → ids.
        self.included: dict[str, set[str]] = {kind: set() for kind in ENTITY_KINDS}
        self.described: dict[str, dict[str, dict[str, Any]]] = {kind: {} for kind in ENTITY_KINDS}
        self.aliases: dict[str, list[str]] = {}
        self.quotas: dict[str, int] = {}
        self.members: dict[str, list[dict[str, Any]]] = {}
        self.delegates: dict[str, list[dict[str, Any]]] = {}
        self.permissions: dict[str, list[dict[str, Any]]] = {}
        # Names of live entities by id, and ids known to be deleted.
        self.names: dict[str, str] = {}
        self.deleted: set[str] = set()
        self.unresolved: dict[str, str] = {}  # id → kind, for ids a scoped read must look up
        self.domains: list[dict[str, Any]] = []
        self.domain_details: dict[str, dict[str, Any]] = {}
        self.access_rules: list[dict[str, Any]] = []
        self.mobile_rules: list[dict[str, Any]] = []
        self.overrides: list[dict[str, Any]] = []
        self.roles: list[dict[str, Any]] = []
        self.role_names: dict[str, str] = {}
        self.role_details: dict[str, dict[str, Any]] = {}
        self.retention: dict[str, Any] | None = None
        self.dmarc: bool | None = None
        self.monitoring: dict[str, Any] | None = None
        self.availability: list[dict[str, Any]] = []

    # Plumbing -----------------------------------------------------------------------

    def call(self, operation: str, **params: Any) -> dict[str, Any]:
        return self.api.call(operation, OrganizationId=self.org_id, **params)

    def list_all(self, operation: str, result_key: str, **params: Any) -> list[Any]:
        return self.api.list_all(operation, result_key, OrganizationId=self.org_id, **params)

    def tolerant(self, fetch: Callable[[], Any]) -> Callable[[], Any]:
        """``fetch``, answering GONE instead of raising when its item changed during the read."""

        def run() -> Any:
            try:
                return fetch()
            except ClientError as error:
                if error_code(error) in _GONE:
                    return GONE
                raise

        return run

    def run(self, jobs: list[Job]) -> None:
        """Fetch concurrently, then hand each answer to its sink in this thread (no shared writes)."""
        results = map_concurrent(_fetch, jobs, max_workers=self.max_workers)
        for (_, sink), result in zip(jobs, results, strict=True):
            sink(result)

    def meet(self, kind: str, summary: dict[str, Any]) -> str:
        """Remember an entity from a List or Describe answer; returns its id."""
        entity_id = str(summary["Id"])
        self.listed[kind][entity_id] = summary
        if summary.get("State") == "DELETED":
            self.deleted.add(entity_id)
            self.names.pop(entity_id, None)
        else:
            self.names[entity_id] = str(summary["Name"])
        return entity_id

    # Rounds -------------------------------------------------------------------------

    def read(self) -> ActualState:
        full_kinds = {kind for kind in ENTITY_KINDS if kind in self.sections}
        # Reading every mailbox's permissions needs every entity's id and state, not its details.
        listed_kinds = ENTITY_KINDS if "mailbox_permissions" in self.sections else tuple(sorted(full_kinds))
        self.run(self.section_jobs(listed_kinds) + self.lookup_jobs(full_kinds, listed_kinds))
        self.run(self.fallback_jobs(listed_kinds))
        for kind in full_kinds:
            self.included[kind] = {i for i, s in self.listed[kind].items() if s.get("State") != "DELETED"}
        for kind in ENTITY_KINDS:
            if kind not in full_kinds:
                wanted = self.scope.names(kind)
                self.included[kind] = {
                    i for i, s in self.listed[kind].items()
                    if s.get("State") != "DELETED" and str(s["Name"]).lower() in wanted
                }
        self.run(self.detail_jobs())
        self.note_references()
        self.run(self.resolve_jobs())
        return self.build()

    def section_jobs(self, listed_kinds: Iterable[str]) -> list[Job]:
        jobs: list[Job] = []
        for kind in listed_kinds:
            jobs.append((partial(self.list_all, *_LIST[kind]), partial(self.sink_list, kind)))
        if "domains" in self.sections:
            jobs.append((partial(self.list_all, "ListMailDomains", "MailDomains"), self.sink("domains")))
        if "access_control_rules" in self.sections:
            jobs.append((partial(self.list_all, "ListAccessControlRules", "Rules"), self.sink("access_rules")))
        if "mobile_device_access_rules" in self.sections:
            jobs.append((partial(self.list_all, "ListMobileDeviceAccessRules", "Rules"), self.sink("mobile_rules")))
        if "mobile_device_access_overrides" in self.sections:
            jobs.append((partial(self.list_all, "ListMobileDeviceAccessOverrides", "Overrides"),
                         self.sink("overrides")))
        if "impersonation_roles" in self.sections:
            jobs.append((partial(self.list_all, "ListImpersonationRoles", "Roles"), self.sink_roles))
        if "retention_policy" in self.sections:
            # No policy is EntityNotFoundException (GetDefaultRetentionPolicy's documented error).
            jobs.append((partial(self.optional, "GetDefaultRetentionPolicy", "EntityNotFoundException"),
                         self.sink("retention")))
        if "inbound_dmarc" in self.sections:
            jobs.append((self.dmarc_enforced, self.sink("dmarc")))
        if "email_monitoring" in self.sections:
            jobs.append((partial(self.optional, "DescribeEmailMonitoringConfiguration", "ResourceNotFoundException"),
                         self.sink("monitoring")))
        if "availability_configurations" in self.sections:
            jobs.append((partial(self.list_all, "ListAvailabilityConfigurations", "AvailabilityConfigurations"),
                         self.sink("availability")))
        return jobs

    def lookup_jobs(self, full_kinds: set[str], listed_kinds: Iterable[str]) -> list[Job]:
        """Scoped entities by name: Describe accepts a name as its identifier, so one call finds
        the entity with everything the spec needs. Kinds listed anyway are found in the list."""
        jobs: list[Job] = []
        listed = set(listed_kinds)
        for kind in ENTITY_KINDS:
            if kind in full_kinds or kind in listed:
                continue
            for name in self.scope.spelled(kind).values():
                if _identifier_ok(kind, name):
                    jobs.append((self.tolerant(partial(self.describe, kind, name)),
                                 partial(self.sink_described, kind)))
                else:
                    # Group names may hold spaces, which the identifier pattern refuses: find
                    # the group through the list's (case-sensitive) name prefix filter instead.
                    fetch = partial(self.list_all, *_LIST[kind], Filters={_NAME_FILTER[kind]: name})
                    jobs.append((fetch, partial(self.sink_list, kind)))
        return jobs

    def fallback_jobs(self, listed_kinds: Iterable[str]) -> list[Job]:
        """Names a prefix filter missed (another letter case): one full list of that kind."""
        jobs: list[Job] = []
        listed = set(listed_kinds) | {kind for kind in ENTITY_KINDS if kind in self.sections}
        for kind in ENTITY_KINDS:
            if kind in listed:
                continue
            met = {str(s["Name"]).lower() for s in self.listed[kind].values() if s.get("State") != "DELETED"}
            missing = [n for n in self.scope.names(kind) if not _identifier_ok(kind, n) and n not in met]
            if missing:
                jobs.append((partial(self.list_all, *_LIST[kind]), partial(self.sink_list, kind)))
        return jobs

    def detail_jobs(self) -> list[Job]:
        jobs: list[Job] = []
        all_permissions = "mailbox_permissions" in self.sections
        wanted_permissions = {name.lower() for name in self.scope.mailbox_permissions}
        for kind in ENTITY_KINDS:
            for entity_id in sorted(self.included[kind]):
                summary = self.listed[kind][entity_id]
                enabled = summary.get("State") == "ENABLED"
                if entity_id not in self.described[kind]:
                    jobs.append((self.tolerant(partial(self.describe, kind, entity_id)),
                                 partial(self.sink_detail, self.described[kind], entity_id)))
                jobs += self.entity_detail_jobs(kind, entity_id, enabled)
                if enabled and (all_permissions or str(summary["Name"]).lower() in wanted_permissions):
                    jobs.append(self.permission_job(entity_id))
            if all_permissions:
                # Entities listed only for their permissions (their kind is not read in full).
                for entity_id, summary in sorted(self.listed[kind].items()):
                    if entity_id not in self.included[kind] and summary.get("State") == "ENABLED":
                        jobs.append(self.permission_job(entity_id))
        for domain in self.domains:
            name = str(domain["DomainName"])
            jobs.append((self.tolerant(partial(self.call, "GetMailDomain", DomainName=name)),
                         partial(self.sink_detail, self.domain_details, name)))
        for role in self.roles:
            role_id = str(role["ImpersonationRoleId"])
            jobs.append((self.tolerant(partial(self.call, "GetImpersonationRole", ImpersonationRoleId=role_id)),
                         partial(self.sink_detail, self.role_details, role_id)))
        if "impersonation_roles" not in self.sections and any(
            rule.get("ImpersonationRoleIds") or rule.get("NotImpersonationRoleIds") for rule in self.access_rules
        ):
            # Access rules name roles by id; their names come from the role list (one page, usually).
            jobs.append((partial(self.list_all, "ListImpersonationRoles", "Roles"), self.sink_role_names))
        return jobs

    def entity_detail_jobs(self, kind: str, entity_id: str, enabled: bool) -> list[Job]:
        jobs: list[Job] = []
        if kind == "groups":
            jobs.append((self.tolerant(partial(self.list_all, "ListGroupMembers", "Members", GroupId=entity_id)),
                         partial(self.sink_detail, self.members, entity_id)))
        if kind == "resources":
            fetch = partial(self.list_all, "ListResourceDelegates", "Delegates", ResourceId=entity_id)
            jobs.append((self.tolerant(fetch), partial(self.sink_detail, self.delegates, entity_id)))
        if not enabled:
            # A disabled entity has no mailbox and no addresses in WorkMail: nothing more to read.
            return jobs
        jobs.append((self.tolerant(partial(self.list_all, "ListAliases", "Aliases", EntityId=entity_id)),
                     partial(self.sink_detail, self.aliases, entity_id)))
        if kind == "users":
            jobs.append((self.tolerant(partial(self.call, "GetMailboxDetails", UserId=entity_id)),
                         partial(self.sink_quota, entity_id)))
        return jobs

    def permission_job(self, entity_id: str) -> Job:
        fetch = partial(self.list_all, "ListMailboxPermissions", "Permissions", EntityId=entity_id)
        return (self.tolerant(fetch), partial(self.sink_detail, self.permissions, entity_id))

    def note_references(self) -> None:
        """Ids the read refers to but didn't meet; a full read meets every live entity."""
        def need(entity_id: str, kind: str) -> None:
            if entity_id not in self.names and entity_id not in self.deleted:
                self.unresolved[entity_id] = kind

        for members in self.members.values():
            for member in members:
                if member.get("State") != "DELETED" and member.get("Name"):
                    self.names.setdefault(str(member["Id"]), str(member["Name"]))
        for delegates in self.delegates.values():
            for delegate in delegates:
                need(str(delegate["Id"]), _KIND_OF_TYPE.get(str(delegate.get("Type")), "users"))
        for grants in self.permissions.values():
            for grant in grants:
                need(str(grant["GranteeId"]), _KIND_OF_TYPE.get(str(grant.get("GranteeType")), "users"))
        for rule in self.access_rules:
            for user_id in (rule.get("UserIds") or []) + (rule.get("NotUserIds") or []):
                need(str(user_id), "users")
        for override in self.overrides:
            need(str(override["UserId"]), "users")
        for role in self.role_details.values():
            for rule in role.get("Rules") or []:
                for user_id in (rule.get("TargetUsers") or []) + (rule.get("NotTargetUsers") or []):
                    need(str(user_id), "users")

    def resolve_jobs(self) -> list[Job]:
        return [
            (self.tolerant(partial(self.describe, kind, entity_id)), partial(self.sink_resolved, kind))
            for entity_id, kind in sorted(self.unresolved.items())
        ]

    # Calls and sinks ----------------------------------------------------------------

    def describe(self, kind: str, identifier: str) -> dict[str, Any]:
        """Describe a user, group or resource by id or name, with its id under "Id" like a List."""
        answer = self.call(_DESCRIBE[kind], **{_DESCRIBE_ID[kind]: identifier})
        return {"Id": answer[_DESCRIBE_ID[kind]], **answer}

    def optional(self, operation: str, absent: str) -> dict[str, Any] | None:
        """``operation``'s answer, or None when the service says there is none (``absent``)."""
        try:
            return self.call(operation)
        except ClientError as error:
            if error_code(error) == absent:
                return None
            raise

    def dmarc_enforced(self) -> bool:
        return bool(self.call("DescribeInboundDmarcSettings").get("Enforced"))

    def sink(self, attribute: str) -> Callable[[Any], None]:
        return partial(setattr, self, attribute)

    def sink_list(self, kind: str, items: list[dict[str, Any]]) -> None:
        for item in items:
            self.meet(kind, item)

    def sink_resolved(self, kind: str, answer: Any) -> None:
        if not isinstance(answer, _Gone):
            self.meet(kind, answer)

    def sink_described(self, kind: str, answer: Any) -> None:
        if isinstance(answer, _Gone):
            return  # no entity by that name
        entity_id = self.meet(kind, answer)
        self.described[kind][entity_id] = answer

    @staticmethod
    def sink_detail(target: dict[str, Any], key: str, answer: Any) -> None:
        if not isinstance(answer, _Gone):
            target[key] = answer

    def sink_quota(self, entity_id: str, answer: Any) -> None:
        if not isinstance(answer, _Gone) and answer.get("MailboxQuota") is not None:
            self.quotas[entity_id] = int(answer["MailboxQuota"])

    def sink_roles(self, roles: list[dict[str, Any]]) -> None:
        self.roles = roles
        self.sink_role_names(roles)

    def sink_role_names(self, roles: list[dict[str, Any]]) -> None:
        for role in roles:
            self.role_names[str(role["ImpersonationRoleId"])] = str(role["Name"])

    # The state ----------------------------------------------------------------------

    def name(self, entity_id: str) -> str:
        return self.names.get(entity_id, entity_id)

    def names_of(self, ids: Iterable[str] | None) -> list[str]:
        return [self.name(str(i)) for i in ids or []]

    def build(self) -> ActualState:
        state = ActualState(read_sections=set(self.sections))
        for entity_id in self.included["users"]:
            user = self.build_user(entity_id)
            if user is not None:
                state.users[user.spec.name.lower()] = user
        for entity_id in self.included["groups"]:
            group = self.build_group(entity_id)
            if group is not None:
                state.groups[group.spec.name.lower()] = group
        for entity_id in self.included["resources"]:
            resource = self.build_resource(entity_id)
            if resource is not None:
                state.resources[resource.spec.name.lower()] = resource
        self.build_permissions(state)
        for domain in self.domains:
            actual = self.build_domain(domain)
            if actual is not None:
                state.domains[actual.spec.name.lower()] = actual
        for rule in self.access_rules:
            access = self.build_access_rule(rule)
            state.access_control_rules[access.name.lower()] = access
        for rule in self.mobile_rules:
            mobile = _mobile_rule(rule)
            state.mobile_device_access_rules[mobile.spec.name.lower()] = mobile
        for override in self.overrides:
            spec = MobileDeviceAccessOverrideSpec(
                user=self.name(str(override["UserId"])), device_id=override["DeviceId"],
                effect=cast(Effect, override["Effect"]), description=override.get("Description"),
            )
            state.mobile_device_access_overrides[(spec.user.lower(), spec.device_id.lower())] = spec
        for role in self.roles:
            detail = self.role_details.get(str(role["ImpersonationRoleId"]))
            if detail is not None:
                actual_role = self.build_role(detail)
                state.impersonation_roles[actual_role.spec.name.lower()] = actual_role
        if self.retention is not None:
            state.retention_policy = _retention_policy(self.retention)
        state.inbound_dmarc_enforced = self.dmarc
        if self.monitoring is not None:
            state.email_monitoring = EmailMonitoringSpec(
                log_group_arn=self.monitoring["LogGroupArn"], role_arn=self.monitoring.get("RoleArn"),
            )
        for configuration in self.availability:
            availability = _availability(configuration)
            state.availability_configurations[availability.domain_name.lower()] = availability
        return state

    def live_description(self, kind: str, entity_id: str) -> dict[str, Any] | None:
        described = self.described[kind].get(entity_id)
        if described is None or described.get("State") == "DELETED":
            return None
        return described

    def addresses(self, entity_id: str, described: dict[str, Any]) -> list[str]:
        if described.get("State") != "ENABLED":
            return []
        return _aliases(self.aliases.get(entity_id) or [], described.get("Email"))

    def build_user(self, entity_id: str) -> ActualUser | None:
        d = self.live_description("users", entity_id)
        if d is None:
            return None
        role = str(d.get("UserRole") or "USER")
        enabled = d.get("State") == "ENABLED"
        attributes: dict[str, Any] = {name: d.get(api_member(name)) for name in USER_TEXT_ATTRIBUTES}
        attributes["display_name"] = attributes["display_name"] or ""
        spec = UserSpec(
            name=d["Name"],
            email=d.get("Email"),
            enabled=enabled,
            # SYSTEM_USER and RESOURCE can't be declared; ActualUser.role keeps them.
            role=cast(UserRole, role if role in ("USER", "REMOTE_USER") else "USER"),
            **attributes,
            hidden_from_global_address_list=bool(d.get("HiddenFromGlobalAddressList", False)),
            identity_provider_user_id=d.get("IdentityProviderUserId"),
            aliases=self.addresses(entity_id, d),
            mailbox_quota_mb=self.quotas.get(entity_id) if enabled else None,
            password=None,
        )
        return ActualUser(id=entity_id, state=str(d["State"]), spec=spec, role=role)

    def build_group(self, entity_id: str) -> ActualGroup | None:
        d = self.live_description("groups", entity_id)
        if d is None:
            return None
        members = sorted(
            (str(m["Name"]) for m in self.members.get(entity_id) or [] if m.get("State") != "DELETED"),
            key=str.lower,
        )
        spec = GroupSpec(
            name=d["Name"],
            email=d.get("Email"),
            enabled=d.get("State") == "ENABLED",
            hidden_from_global_address_list=bool(d.get("HiddenFromGlobalAddressList", False)),
            members=members,
            aliases=self.addresses(entity_id, d),
        )
        return ActualGroup(id=entity_id, state=str(d["State"]), spec=spec)

    def build_resource(self, entity_id: str) -> ActualResource | None:
        d = self.live_description("resources", entity_id)
        if d is None:
            return None
        booking = d.get("BookingOptions") or {}
        defaults = BookingOptionsSpec()
        delegates = [
            str(x["Id"]) for x in self.delegates.get(entity_id) or [] if str(x["Id"]) not in self.deleted
        ]
        spec = ResourceSpec(
            name=d["Name"],
            type=cast(ResourceType, d.get("Type") or "ROOM"),
            email=d.get("Email"),
            enabled=d.get("State") == "ENABLED",
            description=d.get("Description"),
            hidden_from_global_address_list=bool(d.get("HiddenFromGlobalAddressList", False)),
            booking_options=BookingOptionsSpec(
                auto_accept_requests=bool(booking.get("AutoAcceptRequests", defaults.auto_accept_requests)),
                auto_decline_recurring_requests=bool(
                    booking.get("AutoDeclineRecurringRequests", defaults.auto_decline_recurring_requests)
                ),
                auto_decline_conflicting_requests=bool(
                    booking.get("AutoDeclineConflictingRequests", defaults.auto_decline_conflicting_requests)
                ),
            ),
            delegates=sorted(self.names_of(delegates), key=str.lower),
            aliases=self.addresses(entity_id, d),
        )
        return ActualResource(id=entity_id, state=str(d["State"]), spec=spec)

    def build_permissions(self, state: ActualState) -> None:
        for owner_id, grants in self.permissions.items():
            if owner_id in self.deleted:
                continue
            owner = self.name(owner_id)
            for grant in grants:
                grantee_id = str(grant["GranteeId"])
                if grantee_id in self.deleted:
                    continue
                grantee = self.name(grantee_id)
                values = sorted(set(grant.get("PermissionValues") or []))
                state.mailbox_permissions[(owner.lower(), grantee.lower())] = MailboxPermissionSpec(
                    mailbox=owner, grantee=grantee, permissions=cast(list[MailboxPermission], values),
                )

    def build_domain(self, listed: dict[str, Any]) -> ActualDomain | None:
        name = str(listed["DomainName"])
        detail = self.domain_details.get(name)
        if detail is None:
            return None  # deregistered while the read ran
        return ActualDomain(
            spec=DomainSpec(name=name, default=bool(detail.get("IsDefault", listed.get("DefaultDomain", False)))),
            ownership_verification_status=str(detail.get("OwnershipVerificationStatus") or ""),
            dkim_verification_status=str(detail.get("DkimVerificationStatus") or ""),
            is_test_domain=bool(detail.get("IsTestDomain", False)),
            records=[{k: str(v) for k, v in record.items()} for record in detail.get("Records") or []],
        )

    def build_access_rule(self, rule: dict[str, Any]) -> AccessControlRuleSpec:
        def roles(ids: list[str] | None) -> list[str]:
            return [self.role_names.get(str(i), str(i)) for i in ids or []]

        return AccessControlRuleSpec(
            name=rule["Name"],
            effect=cast(Effect, rule["Effect"]),
            description=rule.get("Description") or "",
            actions=list(rule.get("Actions") or []),
            not_actions=list(rule.get("NotActions") or []),
            ip_ranges=list(rule.get("IpRanges") or []),
            not_ip_ranges=list(rule.get("NotIpRanges") or []),
            users=self.names_of(rule.get("UserIds")),
            not_users=self.names_of(rule.get("NotUserIds")),
            impersonation_roles=roles(rule.get("ImpersonationRoleIds")),
            not_impersonation_roles=roles(rule.get("NotImpersonationRoleIds")),
        )

    def build_role(self, role: dict[str, Any]) -> ActualRule:
        rules = [
            ImpersonationRuleSpec(
                rule_id=rule["ImpersonationRuleId"],
                effect=cast(Effect, rule["Effect"]),
                name=rule.get("Name"),
                description=rule.get("Description"),
                target_users=self.names_of(rule.get("TargetUsers")),
                not_target_users=self.names_of(rule.get("NotTargetUsers")),
            )
            for rule in role.get("Rules") or []
        ]
        spec = ImpersonationRoleSpec(
            name=role["Name"], type=cast(ImpersonationRoleType, role["Type"]),
            description=role.get("Description"), rules=rules,
        )
        return ActualRule(id=str(role["ImpersonationRoleId"]), spec=spec)


# Helpers ------------------------------------------------------------------------------


def _fetch(job: Job) -> Any:
    return job[0]()


def _identifier_ok(kind: str, name: str) -> bool:
    """Whether ``name`` fits the Describe call's EntityIdentifier (length and pattern)."""
    return not service_model.check(service_model.member_shape(_DESCRIBE[kind], _DESCRIBE_ID[kind]), name)


def _aliases(aliases: list[str], primary: str | None) -> list[str]:
    """An entity's aliases without its primary address (ListAliases may include it), sorted, once each."""
    seen = {primary.lower()} if primary else set()
    result: list[str] = []
    for alias in sorted(aliases, key=str.lower):
        if alias.lower() not in seen:
            seen.add(alias.lower())
            result.append(alias)
    return result


def _mobile_rule(rule: dict[str, Any]) -> ActualRule:
    def values(key: str) -> list[str]:
        return list(rule.get(key) or [])

    spec = MobileDeviceAccessRuleSpec(
        name=rule["Name"],
        effect=cast(Effect, rule["Effect"]),
        description=rule.get("Description"),
        device_types=values("DeviceTypes"),
        not_device_types=values("NotDeviceTypes"),
        device_models=values("DeviceModels"),
        not_device_models=values("NotDeviceModels"),
        device_operating_systems=values("DeviceOperatingSystems"),
        not_device_operating_systems=values("NotDeviceOperatingSystems"),
        device_user_agents=values("DeviceUserAgents"),
        not_device_user_agents=values("NotDeviceUserAgents"),
    )
    return ActualRule(id=str(rule["MobileDeviceAccessRuleId"]), spec=spec)


def _retention_policy(policy: dict[str, Any]) -> ActualRetentionPolicy:
    folders = [
        FolderConfigurationSpec(
            name=cast(FolderName, folder["Name"]),
            action=cast(RetentionAction, folder["Action"]),
            period_days=folder.get("Period"),
        )
        for folder in policy.get("FolderConfigurations") or []
    ]
    spec = RetentionPolicySpec(name=policy["Name"], description=policy.get("Description"), folders=folders)
    return ActualRetentionPolicy(id=str(policy["Id"]), spec=spec)


def _availability(configuration: dict[str, Any]) -> AvailabilityConfigurationSpec:
    ews = configuration.get("EwsProvider")
    lambda_provider = configuration.get("LambdaProvider")
    return AvailabilityConfigurationSpec(
        domain_name=configuration["DomainName"],
        ews=EwsProviderSpec(
            endpoint=ews["EwsEndpoint"], username=ews["EwsUsername"],
            # The list returns a redacted provider: the password can't be read back, so the
            # reference is empty and the planner must not compare it.
            password=SecretRef(secret_id=""),
        ) if ews else None,
        lambda_arn=lambda_provider.get("LambdaArn") if lambda_provider else None,
    )
