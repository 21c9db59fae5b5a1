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

The ``Reader`` here is the engine: the rounds, the concurrency, and the index of users,
groups and resources (listing, lookups by name, ids translated to names) that every
kind's references go through. What each kind reads of its own and how it builds its
part of the state is in its module (``core/kinds``: ``read_jobs``, ``detail_jobs``,
``references``, ``build``).

The API cost of a full read, call by call, is in ``read_cost``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Protocol, cast

from botocore.exceptions import ClientError

from . import service_model
from .api import WorkMailApi
from .errors import error_code
from .spec import OrganizationSpec
from .state import SECTIONS, ActualOrganization, ActualState

ENTITY_KINDS = ("users", "groups", "resources")
# Per section: the Describe operation, its identifier member and output id member, the List
# operation and its result key, the List name filter, and the type the API calls it.
_DESCRIBE = {"users": "DescribeUser", "groups": "DescribeGroup", "resources": "DescribeResource"}
_DESCRIBE_ID = {"users": "UserId", "groups": "GroupId", "resources": "ResourceId"}
_LIST = {
    "users": ("ListUsers", "Users"), "groups": ("ListGroups", "Groups"), "resources": ("ListResources", "Resources"),
}
_NAME_FILTER = {"users": "UsernamePrefix", "groups": "NamePrefix", "resources": "NamePrefix"}
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


class ReadProgress(Protocol):
    """Told how a read goes, for a progress display: the requests of each round as it
    starts (the total grows round by round, since a list's length decides the next round),
    then each one as it finishes, from whichever thread ran it."""

    def planned(self, requests: int) -> None: ...

    def finished(self) -> None: ...


@dataclass
class ReadScope:
    """What a scoped read covers. Names are case-insensitive.

    ``sections`` are read in full (see ``state.SECTIONS``); ``users``, ``groups`` and
    ``resources`` name single entities to read (with their aliases, quota, members or
    delegates). ``mailbox_permissions`` names entities of this read whose mailbox
    permissions are read without reading the whole section. ``organization`` also reads
    the organization (2 calls). ``quotas`` names the users whose mailbox quota is read
    (a plan compares only declared quotas); None reads every enabled user's.
    """

    users: set[str] = field(default_factory=set)
    groups: set[str] = field(default_factory=set)
    resources: set[str] = field(default_factory=set)
    sections: set[str] = field(default_factory=set)
    mailbox_permissions: set[str] = field(default_factory=set)
    organization: bool = False
    quotas: set[str] | None = None

    def names(self, kind: str) -> set[str]:
        """The lower-cased names of ``kind`` ("users", "groups" or "resources")."""
        return set(self.spelled(kind))

    def spelled(self, kind: str) -> dict[str, str]:
        """Lower-cased name → the name as written (list filters are case-sensitive)."""
        spelled: dict[str, str] = {}
        for name in sorted(cast(set[str], getattr(self, kind))):
            spelled.setdefault(name.lower(), name)
        return spelled

    def reads_quota(self, name: str) -> bool:
        return self.quotas is None or name.lower() in {q.lower() for q in self.quotas}

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


def read_full(api: WorkMailApi, organization_id: str, *, max_workers: int | None = None,
              quotas: set[str] | None = None, progress: ReadProgress | None = None) -> ActualState:
    """Every section of the organization, for drift detection (cost: see the module's "API cost").

    ``quotas``: the users whose mailbox quota to read (None: every enabled user's).
    ``max_workers`` caps the calls in flight; without it the API's concurrency limit decides,
    rising with the endpoint's latency.
    A missing organization has nothing in it, so every section is read (and empty); one
    that is not Active can't be read, so no section is.
    """
    scope = ReadScope(sections=set(SECTIONS), organization=True, quotas=quotas)
    return read_scoped(api, organization_id, scope, max_workers=max_workers, progress=progress)


def read_scoped(api: WorkMailApi, organization_id: str, scope: ReadScope, *,
                max_workers: int | None = None, progress: ReadProgress | None = None) -> ActualState:
    """Only what ``scope`` names; ``read_sections`` of the result is exactly ``scope.sections``."""
    scope.validate()
    organization: ActualOrganization | None = None
    if scope.organization:
        organization = read_organization(api, organization_id)
        if organization is None:
            return ActualState(organization=None, read_sections=set(SECTIONS))
        if organization.state != "Active":
            return ActualState(organization=organization, read_sections=set())
    state = Reader(api, organization_id, scope, max_workers, progress).read()
    state.organization = organization
    return state


# The reader ---------------------------------------------------------------------------


class Reader:
    """One read: raw API answers collected round by round, then turned into an ActualState.

    It keeps the index of users, groups and resources every kind's references go through;
    each kind keeps the raw answers of its own reads in ``raw[kind name]``.
    """

    def __init__(self, api: WorkMailApi, organization_id: str, scope: ReadScope, max_workers: int | None,
                 progress: ReadProgress | None = None) -> None:
        self.api = api
        self.progress = progress
        self.org_id = organization_id
        self.scope = scope
        self.sections = set(scope.sections)
        self.max_workers = max_workers
        # Entities this read met: section → id → summary (Id, Name, State) from a List or Describe.
        self.listed: dict[str, dict[str, dict[str, Any]]] = {kind: {} for kind in ENTITY_KINDS}
        # The entities that go into the state: section → ids.
        self.included: dict[str, set[str]] = {kind: set() for kind in ENTITY_KINDS}
        self.described: dict[str, dict[str, dict[str, Any]]] = {kind: {} for kind in ENTITY_KINDS}
        # Per-entity details the entity kinds read: "aliases", "quotas", "members", "delegates", "permissions".
        self.details: dict[str, dict[str, Any]] = {}
        # Names of live entities by id, and ids known to be deleted.
        self.names: dict[str, str] = {}
        self.deleted: set[str] = set()
        self.unresolved: dict[str, str] = {}  # id → section, for ids a scoped read must look up
        # What each kind read of its own, by kind name.
        self.raw: dict[str, Any] = {}

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

    def optional(self, operation: str, absent: str) -> dict[str, Any] | None:
        """``operation``'s answer, or None when the service says there is none (``absent``)."""
        try:
            return self.call(operation)
        except ClientError as error:
            if error_code(error) == absent:
                return None
            raise

    def keep(self, kind: str) -> Callable[[Any], None]:
        """A sink that keeps an answer as ``raw[kind]``."""
        return partial(self.raw.__setitem__, kind)

    def keep_detail(self, target: dict[str, Any], key: str) -> Callable[[Any], None]:
        """A sink that keeps a detail answer unless its item vanished during the read."""
        return partial(_keep_detail, target, key)

    def detail(self, name: str) -> dict[str, Any]:
        """Per-entity details of one kind ("aliases", "members", ...), by entity id."""
        return self.details.setdefault(name, {})

    def run(self, jobs: list[Job]) -> None:
        """Fetch concurrently, then hand each answer to its sink in this thread (no shared writes)."""
        fetch: Callable[[Job], Any] = _fetch
        if self.progress is not None:
            self.progress.planned(len(jobs))
            fetch = partial(_fetch_reporting, self.progress)
        results = self.api.map_concurrent(fetch, jobs, max_workers=self.max_workers)
        for (_, sink), result in zip(jobs, results, strict=True):
            sink(result)

    def meet(self, section: str, summary: dict[str, Any]) -> str:
        """Remember an entity from a List or Describe answer; returns its id."""
        entity_id = str(summary["Id"])
        self.listed[section][entity_id] = summary
        if summary.get("State") == "DELETED":
            self.deleted.add(entity_id)
            self.names.pop(entity_id, None)
        else:
            self.names[entity_id] = str(summary["Name"])
        return entity_id

    def need(self, entity_id: str, section: str) -> None:
        """An id the read refers to: a scoped read that didn't meet it looks it up."""
        if entity_id not in self.names and entity_id not in self.deleted:
            self.unresolved[entity_id] = section

    def name(self, entity_id: str) -> str:
        return self.names.get(entity_id, entity_id)

    def names_of(self, ids: Iterable[str] | None) -> list[str]:
        return [self.name(str(i)) for i in ids or []]

    # Rounds -------------------------------------------------------------------------

    def read(self) -> ActualState:
        from .kinds import KINDS

        full_kinds = {kind for kind in ENTITY_KINDS if kind in self.sections}
        # Reading every mailbox's permissions needs every entity's id and state, not its details.
        listed_kinds = ENTITY_KINDS if "mailbox_permissions" in self.sections else tuple(sorted(full_kinds))
        jobs: list[Job] = [(partial(self.list_all, *_LIST[kind]), partial(self.sink_list, kind))
                           for kind in listed_kinds]
        for kind in KINDS.values():
            jobs += kind.read_jobs(self)
        self.run(jobs + self.lookup_jobs(full_kinds, listed_kinds))
        self.run(self.fallback_jobs(listed_kinds))
        for section in full_kinds:
            self.included[section] = {i for i, s in self.listed[section].items() if s.get("State") != "DELETED"}
        for section in ENTITY_KINDS:
            if section not in full_kinds:
                wanted = self.scope.names(section)
                self.included[section] = {
                    i for i, s in self.listed[section].items()
                    if s.get("State") != "DELETED" and str(s["Name"]).lower() in wanted
                }
        detail_jobs = self.entity_jobs()
        for kind in KINDS.values():
            detail_jobs += kind.detail_jobs(self)
        self.run(detail_jobs)
        for kind in KINDS.values():
            kind.references(self)
        self.run(self.resolve_jobs())
        state = ActualState(read_sections=set(self.sections))
        for kind in KINDS.values():
            kind.build(self, state)
        return state

    def lookup_jobs(self, full_kinds: set[str], listed_kinds: Iterable[str]) -> list[Job]:
        """Scoped entities by name: Describe accepts a name as its identifier, so one call finds
        the entity with everything the spec needs. Kinds listed anyway are found in the list."""
        jobs: list[Job] = []
        listed = set(listed_kinds)
        for section in ENTITY_KINDS:
            if section in full_kinds or section in listed:
                continue
            for name in self.scope.spelled(section).values():
                if _identifier_ok(section, name):
                    jobs.append((self.tolerant(partial(self.describe, section, name)),
                                 partial(self.sink_described, section)))
                else:
                    # Group names may hold spaces, which the identifier pattern refuses: find
                    # the group through the list's (case-sensitive) name prefix filter instead.
                    fetch = partial(self.list_all, *_LIST[section], Filters={_NAME_FILTER[section]: name})
                    jobs.append((fetch, partial(self.sink_list, section)))
        return jobs

    def fallback_jobs(self, listed_kinds: Iterable[str]) -> list[Job]:
        """Names a prefix filter missed (another letter case): one full list of that kind."""
        jobs: list[Job] = []
        listed = set(listed_kinds) | {section for section in ENTITY_KINDS if section in self.sections}
        for section in ENTITY_KINDS:
            if section in listed:
                continue
            met = {str(s["Name"]).lower() for s in self.listed[section].values() if s.get("State") != "DELETED"}
            missing = [n for n in self.scope.names(section) if not _identifier_ok(section, n) and n not in met]
            if missing:
                jobs.append((partial(self.list_all, *_LIST[section]), partial(self.sink_list, section)))
        return jobs

    def entity_jobs(self) -> list[Job]:
        """Per entity: its Describe (unless a lookup got it), what its kind reads of it, its permissions."""
        from .kinds.entities import entity_kind

        jobs: list[Job] = []
        all_permissions = "mailbox_permissions" in self.sections
        wanted_permissions = {name.lower() for name in self.scope.mailbox_permissions}
        for section in ENTITY_KINDS:
            kind = entity_kind(section)
            for entity_id in sorted(self.included[section]):
                summary = self.listed[section][entity_id]
                enabled = summary.get("State") == "ENABLED"
                if entity_id not in self.described[section]:
                    jobs.append((self.tolerant(partial(self.describe, section, entity_id)),
                                 self.keep_detail(self.described[section], entity_id)))
                jobs += kind.entity_jobs(self, entity_id, str(summary["Name"]), enabled)
                if enabled and (all_permissions or str(summary["Name"]).lower() in wanted_permissions):
                    jobs.append(self.permission_job(entity_id))
            if all_permissions:
                # Entities listed only for their permissions (their kind is not read in full).
                for entity_id, summary in sorted(self.listed[section].items()):
                    if entity_id not in self.included[section] and summary.get("State") == "ENABLED":
                        jobs.append(self.permission_job(entity_id))
        return jobs

    def permission_job(self, entity_id: str) -> Job:
        fetch = partial(self.list_all, "ListMailboxPermissions", "Permissions", EntityId=entity_id)
        return (self.tolerant(fetch), self.keep_detail(self.detail("permissions"), entity_id))

    def resolve_jobs(self) -> list[Job]:
        return [
            (self.tolerant(partial(self.describe, section, entity_id)), partial(self.sink_resolved, section))
            for entity_id, section in sorted(self.unresolved.items())
        ]

    # Calls and sinks ----------------------------------------------------------------

    def describe(self, section: str, identifier: str) -> dict[str, Any]:
        """Describe a user, group or resource by id or name, with its id under "Id" like a List."""
        answer = self.call(_DESCRIBE[section], **{_DESCRIBE_ID[section]: identifier})
        return {"Id": answer[_DESCRIBE_ID[section]], **answer}

    def sink_list(self, section: str, items: list[dict[str, Any]]) -> None:
        for item in items:
            self.meet(section, item)

    def sink_resolved(self, section: str, answer: Any) -> None:
        if not isinstance(answer, _Gone):
            self.meet(section, answer)

    def sink_described(self, section: str, answer: Any) -> None:
        if isinstance(answer, _Gone):
            return  # no entity by that name
        entity_id = self.meet(section, answer)
        self.described[section][entity_id] = answer

    # The state ----------------------------------------------------------------------

    def live_description(self, section: str, entity_id: str) -> dict[str, Any] | None:
        described = self.described[section].get(entity_id)
        if described is None or described.get("State") == "DELETED":
            return None
        return described


# Helpers ------------------------------------------------------------------------------


def _fetch(job: Job) -> Any:
    return job[0]()


def _fetch_reporting(progress: ReadProgress, job: Job) -> Any:
    try:
        return job[0]()
    finally:
        progress.finished()


def _keep_detail(target: dict[str, Any], key: str, answer: Any) -> None:
    if not isinstance(answer, _Gone):
        target[key] = answer


def _identifier_ok(section: str, name: str) -> bool:
    """Whether ``name`` fits the Describe call's EntityIdentifier (length and pattern)."""
    return not service_model.check(service_model.member_shape(_DESCRIBE[section], _DESCRIBE_ID[section]), name)
