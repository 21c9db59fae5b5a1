"""What every resource kind module implements, and what planning and applying offer it.

A kind module (``core/kinds/<kind>.py``) holds everything about one kind of WorkMail
object: how to diff what is declared against what exists (``plan``), the API calls that
create, update and delete it (``steps``), what it needs done before it (``needs``) and
what it provides to others (``provides``), how a plan names it (``path``, ``title``).
Planning and applying are generic: ``plan.py`` asks each registered kind for its changes,
``apply.py`` schedules the steps kinds return, in dependency phases.
"""

from __future__ import annotations

import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import IntEnum
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Literal, TypeVar

from botocore.exceptions import ClientError

from ..changes import A, AnyChange, Change, ChangeFailed, EntityAddress, EntityKind, KindName, Plan, S
from ..errors import error_code
from ..spec import GroupSpec, ResourceSpec, SecretRef, UserSpec, WorkMailSpec
from ..state import ActualState

if TYPE_CHECKING:
    from ..api import WorkMailApi
    from ..read import Job, Reader, ReadScope
    from ..validate import Validator

T = TypeVar("T")


class Phase(IntEnum):
    """When a step runs. Within a phase steps run concurrently; phases run in this order."""

    ORGANIZATION = 0
    DOMAINS = 1
    # Deletes of users, groups and resources whose name or address a create in the same
    # plan takes (a group replaced by a room of the same name).
    RELEASES = 2
    ENTITIES = 3
    # Group members no longer declared go before members are added: a group can take in a
    # group that contained it until now, and WorkMail refuses a membership that would make a
    # group contain itself, even for a moment.
    MEMBER_REMOVALS = 4
    LINKS = 5
    POLICIES = 6
    REMOVALS = 7
    ENTITY_DELETES = 8
    DOMAIN_DELETES = 9
    ORGANIZATION_DELETE = 10


Steps = dict[Phase, Callable[[], None]]
# What one change needs done first, and what it does for others: a user by name, a domain,
# an impersonation role, or a domain no longer used by an address (its deregistration waits).
RefKind = Literal["entity", "domain", "role", "domain-released"]
Ref = tuple[RefKind, str]


@dataclass(frozen=True)
class Timeouts:
    """How long to wait for WorkMail's asynchronous transitions, in seconds."""

    organization_active: float = 3600
    domain_verification: float = 3300
    entity_state: float = 300
    poll_interval: float = 2.0


DEFAULT_TIMEOUTS = Timeouts()


@dataclass(frozen=True)
class _EntityOps:
    create: str
    describe: str
    delete: str
    id_member: str  # the request member naming the entity, also the id member of Create/Describe results


def kind_word(entity: object) -> str:
    """What a user, group or resource spec is called in messages."""
    return {UserSpec: "user", GroupSpec: "group", ResourceSpec: "resource"}[type(entity)]


# How the API names a user's, group's or resource's kind in a member, delegate or grant, and
# the state section it is in.
SECTION_OF_TYPE = {"USER": "users", "GROUP": "groups", "RESOURCE": "resources"}

ENTITY_OPS: dict[EntityKind, _EntityOps] = {
    "user": _EntityOps("CreateUser", "DescribeUser", "DeleteUser", "UserId"),
    "group": _EntityOps("CreateGroup", "DescribeGroup", "DeleteGroup", "GroupId"),
    "resource": _EntityOps("CreateResource", "DescribeResource", "DeleteResource", "ResourceId"),
}


class ApplyContext:
    """What apply offers the kinds' steps: the organization, calls, secrets, waits and ids.

    Steps of one phase run concurrently; everything shared here is behind a lock.
    """

    def __init__(
        self, plan: Plan, api: WorkMailApi, resolve_secret: Callable[[SecretRef], str], timeouts: Timeouts,
        sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.plan = plan
        self.api = api
        self.resolve_secret = resolve_secret
        self.timeouts = timeouts
        self.sleep = sleep
        self.clock = clock
        self.organization_id = plan.organization_id or next(
            (c.id for c in plan.changes if c.kind == "organization" and c.id), None
        )
        self.lock = threading.Lock()
        # (kind, lower-cased name) → WorkMail id, for members that take ids only.
        self._ids: dict[tuple[EntityKind, str], str] = {}
        self._role_ids: dict[str, str] = {}
        self._roles_listed = False
        # What a kind works out once from the whole plan (names a plan's creates take, ...).
        self.memo: dict[str, Any] = {}

    # Calls --------------------------------------------------------------------------

    @property
    def org(self) -> str:
        if self.organization_id is None:
            raise ChangeFailed("there is no organization to apply this change to")
        return self.organization_id

    def set_organization(self, organization_id: str) -> None:
        with self.lock:
            self.organization_id = organization_id

    def call(self, operation: str, **params: Any) -> dict[str, Any]:
        """A call on the organization's data (every operation but the organization's own)."""
        answer: dict[str, Any] = self.api.call(operation, OrganizationId=self.org, **params)
        return answer

    def list_all(self, operation: str, result_key: str, **params: Any) -> list[Any]:
        items: list[Any] = self.api.list_all(operation, result_key, OrganizationId=self.org, **params)
        return items

    def secret(self, ref: SecretRef, field_name: str) -> str:
        try:
            return self.resolve_secret(ref)
        except Exception as exc:
            # The resolver's own message only: the value is never part of it.
            raise ChangeFailed(f"the secret {ref.secret_id} can't be read: {type(exc).__name__}: {exc}",
                               field=field_name) from None

    def wait(self, what: str, timeout: float, probe: Callable[[], T | None]) -> T:
        """Poll ``probe`` every poll_interval until it returns something, or fail after ``timeout``."""
        deadline = self.clock() + timeout
        while True:
            found = probe()
            if found is not None:
                return found
            remaining = deadline - self.clock()
            if remaining <= 0:
                raise ChangeFailed(
                    f"timed out after {timeout:g} s waiting for {what}; apply the plan again to keep waiting"
                )
            self.sleep(min(self.timeouts.poll_interval, remaining))

    def once(self, name: str, compute: Callable[[], T]) -> T:
        """``compute()``, worked out once per apply (for facts about the whole plan)."""
        with self.lock:
            if name not in self.memo:
                self.memo[name] = compute()
            value: T = self.memo[name]
            return value

    # Ids ------------------------------------------------------------------------------

    def describe_entity(self, kind: EntityKind, identifier: str) -> dict[str, Any] | None:
        """Describe a live user, group or resource by name or id; None if there is none."""
        ops = ENTITY_OPS[kind]
        try:
            return self.call(ops.describe, **{ops.id_member: identifier})
        except ClientError as exc:
            if error_code(exc) == "EntityNotFoundException":
                return None
            raise

    def remember(self, kind: EntityKind, name: str, entity_id: str) -> None:
        with self.lock:
            self._ids[(kind, name.lower())] = entity_id

    def forget(self, kind: EntityKind, name: str, *entity_ids: str | None) -> None:
        with self.lock:
            if self._ids.get((kind, name.lower())) in entity_ids:
                self._ids.pop((kind, name.lower()), None)

    def entity_id(self, kind: EntityKind, name: str, field_name: str | None = None) -> str:
        """The id of a user, group or resource by name, for members that take ids only."""
        with self.lock:
            known = self._ids.get((kind, name.lower()))
        if known is not None:
            return known
        described = self.describe_entity(kind, name)
        if described is None or described.get("State") == "DELETED":
            raise ChangeFailed(f"there is no {kind} named {name}", field=field_name)
        entity_id = str(described[ENTITY_OPS[kind].id_member])
        self.remember(kind, name, entity_id)
        return entity_id

    def user_ids(self, names: Iterable[str], field_name: str) -> list[str]:
        return [self.entity_id("user", name, field_name) for name in names]

    def remember_role(self, name: str, role_id: str) -> None:
        with self.lock:
            self._role_ids[name.lower()] = role_id

    def list_roles(self) -> None:
        roles = self.list_all("ListImpersonationRoles", "Roles")
        with self.lock:
            for role in roles:
                self._role_ids.setdefault(str(role["Name"]).lower(), str(role["ImpersonationRoleId"]))
            self._roles_listed = True

    def role_exists(self, name: str) -> bool:
        """Whether an impersonation role of this name exists (lists the roles afresh)."""
        roles = self.list_all("ListImpersonationRoles", "Roles")
        with self.lock:
            for role in roles:
                self._role_ids[str(role["Name"]).lower()] = str(role["ImpersonationRoleId"])
            self._roles_listed = True
            return name.lower() in self._role_ids

    def role_id(self, name: str, field_name: str) -> str:
        with self.lock:
            known = self._role_ids.get(name.lower())
            listed = self._roles_listed
        if known is None and not listed:
            self.list_roles()
            with self.lock:
                known = self._role_ids.get(name.lower())
        if known is None:
            raise ChangeFailed(f"there is no impersonation role named {name}", field=field_name)
        return known

    def test_domain(self) -> str:
        # Every organization has <alias>.awsapps.com, verified (Administrator Guide, "Creating an organization").
        alias = self.api.call("DescribeOrganization", OrganizationId=self.org)["Alias"]
        return f"{str(alias).lower()}.awsapps.com"


class PlanError(ValueError):
    """The inputs can't be planned (for example, an adopted organization that doesn't exist)."""


class PlanContext:
    """One planning pass: what is declared, what exists, what was declared before, and the changes so far."""

    def __init__(self, declared: WorkMailSpec, actual: ActualState, previous: WorkMailSpec | None,
                 scope: ReadScope | None, plan: Plan) -> None:
        self.declared = declared
        self.actual = actual
        self.previous = previous
        self.scope = scope
        self.plan = plan
        self.creates: list[AnyChange] = []
        self.deletes: list[AnyChange] = []

    def read(self, section: str) -> bool:
        """Whether ``section`` was read in full."""
        return self.scope is None or section in self.actual.read_sections

    def known(self, section: str, name: str) -> bool:
        """Whether the actual state of the named entity is known (read)."""
        if self.read(section):
            return True
        assert self.scope is not None
        return name.lower() in self.scope.names(section)

    def owned(self, previous_names: set[str], name: str) -> bool:
        """Whether an existing object that is not declared now should be deleted."""
        return self.declared.prune or name.lower() in previous_names

    def add(self, change: AnyChange) -> None:
        (self.deletes if change.action == "delete" else self.creates).append(change)

    def deleted_entities(self) -> set[str]:
        """The users, groups and resources (lower-cased names) this plan deletes so far. Their
        memberships, delegations and permissions go with them, so one declared again under
        the same name (a user replaced by a group called alike) needs its links made anew."""
        return {c.address.name.lower() for c in self.deletes if isinstance(c.address, EntityAddress)}

    def start_empty(self) -> None:
        """Plan against a new, empty organization: everything declared is created."""
        self.actual = ActualState()
        self.scope = None


@dataclass
class KindInfo:
    """How plans show a kind: its title, the spec section its objects are in, and the JSON
    Schema of its before/after values in a plan document."""

    title: str
    section: str | None
    value_schema: dict[str, Any] = field(default_factory=dict)


class Kind(ABC, Generic[A, S]):
    """One kind of WorkMail object (see the module's docstring)."""

    name: ClassVar[KindName]
    info: ClassVar[KindInfo]
    # Deletes run in this order, lowest first: links before the objects they link, objects
    # before the domains their addresses use.
    delete_rank: ClassVar[int]

    @abstractmethod
    def plan(self, ctx: PlanContext) -> None:
        """Add to ``ctx`` the changes that make what exists of this kind match what is declared."""

    @abstractmethod
    def steps(self, change: Change[A, S], ctx: ApplyContext) -> Steps:
        """The calls that carry out ``change``, by phase. Raise ChangeFailed for what can't be done
        at all (known before any call)."""

    def needs(self, change: Change[A, S]) -> set[Ref]:
        """What must be done before ``change``: objects its declaration names."""
        return set()

    def provides(self, change: Change[A, S]) -> set[Ref]:
        """What ``change`` does that others may need."""
        return set()

    def path(self, change: Change[A, S]) -> str:
        """Where the object is in the spec, for messages: ``users[alice]``."""
        return f"{self.info.section}[{change.key}]" if self.info.section else self.name

    # Reading (``read.Reader`` runs these in its rounds) --------------------------------

    def read_jobs(self, reader: Reader) -> list[Job]:
        """First round: the lists and settings this kind reads, if its section is read."""
        return []

    def detail_jobs(self, reader: Reader) -> list[Job]:
        """Second round: details of what the first round listed."""
        return []

    def references(self, reader: Reader) -> None:
        """The user, group and resource ids this kind's answers name (``reader.need``)."""

    def build(self, reader: Reader, state: ActualState) -> None:
        """This kind's part of the actual state, from what it read."""

    # Validation -------------------------------------------------------------------------

    def validate(self, v: Validator) -> None:
        """This kind's rules beyond the service model's constraints (which ``validate`` checks
        for every field): the Guide's rules, references that must resolve, uniqueness."""
