"""Apply: execute a plan's changes against WorkMail, in dependency order, idempotently.

Changes run in phases; within a phase they run concurrently (bounded by ``max_workers``):

1. organization create / replace / update (tags)
2. domain registrations, verification waits, the default domain
   then: deletes of users, groups and resources whose name or address a create or
   update in the same plan takes (a group replaced by a room of the same name)
3. users, groups and resources: create, update, replace (rename)
4. group members and resource delegates added; impersonation roles (their rules name
   target users by id, so they come after the users they name)
5. resource booking options, mailbox permissions, access control rules, mobile device
   rules and overrides, retention, DMARC, monitoring, availability configurations
6. removals: members, delegates, permissions, rules, overrides, settings
7. users, groups, resources and impersonation roles deleted
8. domains deregistered
9. organization deleted

Booking options run after delegates are added, since turning auto-accept off needs a
delegate (Administrator Guide, "Editing resource details"), and before delegates are
removed (the last delegate can't go while auto-accept is off). A change that touches several phases (a resource and its
booking options) is done only when all of its parts are.

A change that fails makes the changes that depend on it *skipped*, with the reason;
independent changes go on. Every step is idempotent, so rerunning the same plan after an
interruption at any point converges: creates adopt what an earlier run created (by name,
or by a ClientToken derived from the request), deletes treat "already gone" as done.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

from botocore.exceptions import ClientError

from .api import WorkMailApi, error_code
from .changes import Change, Plan
from .spec import (
    USER_TEXT_ATTRIBUTES,
    AccessControlRuleSpec,
    AvailabilityConfigurationSpec,
    BookingOptionsSpec,
    DomainSpec,
    EmailMonitoringSpec,
    GroupSpec,
    ImpersonationRoleSpec,
    MailboxPermissionSpec,
    MobileDeviceAccessOverrideSpec,
    MobileDeviceAccessRuleSpec,
    OrganizationSpec,
    ResourceSpec,
    RetentionPolicySpec,
    SecretRef,
    UserSpec,
    api_member,
    create_organization_request,
)

T = TypeVar("T")
Status = Literal["started", "done", "failed", "skipped"]


# Public types -------------------------------------------------------------------------


@dataclass
class ProgressEvent:
    change: Change
    status: Status
    # Changes finished (done, failed or skipped) so far, this one included once it has finished.
    completed: int
    total: int
    message: str


@dataclass
class ApplyResult:
    """What apply did: every change of the plan is in exactly one of the three lists."""

    organization_id: str | None
    done: list[Change] = field(default_factory=list)
    failed: list[tuple[Change, str]] = field(default_factory=list)
    skipped: list[tuple[Change, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failed and not self.skipped


@dataclass(frozen=True)
class Timeouts:
    """How long to wait for WorkMail's asynchronous transitions, in seconds."""

    organization_active: float = 3600
    domain_verification: float = 3300
    entity_state: float = 300
    poll_interval: float = 2.0


DEFAULT_TIMEOUTS = Timeouts()


class DestructiveChangeRefused(Exception):
    """The plan destroys something and ``allow_destructive`` was not given; nothing was done."""

    def __init__(self, changes: list[Change]) -> None:
        self.changes = changes
        lines = "\n".join(f"  - {c.title}: {c.reason}" for c in changes)
        super().__init__(
            f"refusing to apply {len(changes)} destructive change(s) without allow_destructive; "
            f"nothing was changed. These would destroy:\n{lines}"
        )


# Phases ---------------------------------------------------------------------------------

(
    ORGANIZATION, DOMAINS, RELEASES, ENTITIES, LINKS, POLICIES, REMOVALS, ENTITY_DELETES, DOMAIN_DELETES,
    ORGANIZATION_DELETE,
) = range(10)
PHASES = range(10)

ENTITY_KINDS = ("user", "group", "resource")
# Setting kinds written by one put-style call for create, update and replace alike.
PUT_KINDS = (
    "mailbox_permission", "access_control_rule", "mobile_device_access_override", "retention_policy",
    "inbound_dmarc", "email_monitoring", "availability_configuration",
)

# Errors that two changes of one phase can cause each other: an address or a name that a
# concurrent change is about to release. Such a failure is retried once when the phase's
# other changes are finished.
CONFLICT_CODES = frozenset({"EmailAddressInUseException", "NameAvailabilityException"})

# ClientTokens an earlier life of an object may have used, tried in turn (see _token_chain).
MAX_STALE_TOKENS = 10

USER_ATTRIBUTE_MEMBERS = {name: api_member(name) for name in USER_TEXT_ATTRIBUTES}
# Attributes CreateUser doesn't take: set by an UpdateUser right after.
USER_LATER_ATTRIBUTES = (
    "initials", "telephone", "street", "job_title", "city", "company", "zip_code", "department", "country", "office",
)
USER_UPDATE_FIELDS = frozenset(
    {*USER_ATTRIBUTE_MEMBERS, "role", "hidden_from_global_address_list", "identity_provider_user_id"}
)
RESOURCE_ATTRIBUTE_FIELDS = frozenset({"name", "type", "description", "hidden_from_global_address_list"})
ADDRESS_FIELDS = frozenset({"enabled", "email", "aliases"})
# Links are changes of their own (group_member, resource_delegate); a plan may still show them.
LINK_FIELDS = frozenset({"members", "delegates"})
KNOWN_FIELDS = {
    "user": USER_UPDATE_FIELDS | ADDRESS_FIELDS | {"mailbox_quota_mb", "password"},
    "group": ADDRESS_FIELDS | LINK_FIELDS | {"hidden_from_global_address_list"},
    "resource": ADDRESS_FIELDS | LINK_FIELDS | {
        "name", "type", "description", "hidden_from_global_address_list", "booking_options",
    },
}

# Where each kind lives in the spec, to name objects in messages.
SPEC_PATHS = {
    "domain": "domains", "user": "users", "group": "groups", "resource": "resources",
    "mailbox_permission": "mailbox_permissions", "access_control_rule": "access_control_rules",
    "mobile_device_access_rule": "mobile_device_access_rules",
    "mobile_device_access_override": "mobile_device_access_overrides", "impersonation_role": "impersonation_roles",
    "availability_configuration": "availability_configurations",
}


@dataclass(frozen=True)
class _EntityOps:
    create: str
    describe: str
    delete: str
    id_member: str  # the request member naming the entity, also the id member of Create/Describe results


ENTITY_OPS = {
    "user": _EntityOps("CreateUser", "DescribeUser", "DeleteUser", "UserId"),
    "group": _EntityOps("CreateGroup", "DescribeGroup", "DeleteGroup", "GroupId"),
    "resource": _EntityOps("CreateResource", "DescribeResource", "DeleteResource", "ResourceId"),
}


class ChangeFailed(Exception):
    """A change can't be completed, said in terms of the spec.

    ``blocks_dependents`` is False when the object itself exists and is usable, so what
    depends on it can go on (a domain registered but not yet verified to be the default).
    ``code`` carries the service error code behind it, if any.
    """

    def __init__(self, message: str, *, field: str | None = None, blocks_dependents: bool = True,
                 code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.blocks_dependents = blocks_dependents
        self.code = code


def apply(
    plan: Plan,
    api: WorkMailApi,
    *,
    resolve_secret: Callable[[SecretRef], str],
    allow_destructive: bool = False,
    max_workers: int = 8,
    on_progress: Callable[[ProgressEvent], None] | None = None,
    timeouts: Timeouts = DEFAULT_TIMEOUTS,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> ApplyResult:
    """Execute ``plan`` and say exactly what was done, what failed and what was skipped.

    Raises DestructiveChangeRefused before any call when the plan destroys something and
    ``allow_destructive`` is False. ``sleep`` and ``clock`` drive the waits (for tests).
    An exception raised by ``on_progress`` (or a BaseException such as KeyboardInterrupt)
    stops the apply where it is; rerunning the plan continues from there.
    """
    destructive = plan.destructive
    if destructive and not allow_destructive:
        raise DestructiveChangeRefused(destructive)
    if max_workers < 1:
        raise ValueError(f"max_workers must be at least 1, not {max_workers}")
    knows_organization = plan.organization_id is not None or any(
        c.kind == "organization" and (c.id or c.action in ("create", "replace")) for c in plan.changes
    )
    if plan.changes and not knows_organization:
        raise ValueError("the plan has no organization_id and does not create an organization")
    return _Applier(plan, api, resolve_secret, max_workers, on_progress, timeouts, sleep, clock).run()


# The applier ----------------------------------------------------------------------------


@dataclass
class _Task:
    index: int
    change: Change
    path: str
    steps: dict[int, Callable[[], None]]
    depends: list[int]
    # Why the change can't be applied at all, known before any call.
    error: str | None = None
    status: str = "pending"  # pending, running, done, failed, skipped
    message: str = ""
    blocks_dependents: bool = True


@dataclass
class _Failure:
    task: _Task
    phase: int
    message: str
    code: str | None
    blocks_dependents: bool


class _Applier:
    def __init__(
        self, plan: Plan, api: WorkMailApi, resolve_secret: Callable[[SecretRef], str], max_workers: int,
        on_progress: Callable[[ProgressEvent], None] | None, timeouts: Timeouts,
        sleep: Callable[[float], None], clock: Callable[[], float],
    ) -> None:
        self.plan = plan
        self.api = api
        self.resolve_secret = resolve_secret
        self.max_workers = max_workers
        self.on_progress = on_progress
        self.timeouts = timeouts
        self.sleep = sleep
        self.clock = clock
        self.organization_id = plan.organization_id or next(
            (c.id for c in plan.changes if c.kind == "organization" and c.id), None
        )
        self._lock = threading.Lock()
        self._progress_lock = threading.Lock()
        self._completed = 0
        # (kind, lower-cased name) → WorkMail id, for members that take ids only.
        self._ids: dict[tuple[str, str], str] = {}
        self._role_ids: dict[str, str] = {}
        self._roles_listed = False
        # Names and addresses that entity creates and updates of this plan take: an entity
        # deleted by the same plan that holds one of them must go first.
        self._claimed: set[str] = set()
        for change in plan.changes:
            if change.kind in ENTITY_KINDS and change.action != "delete" and change.after is not None:
                self._claimed |= {change.after.name.lower(), *(a.lower() for a in _addresses(change.after))}
        self._default_declared = any(
            c.kind == "domain" and c.action != "delete" and isinstance(c.after, DomainSpec) and c.after.default
            for c in plan.changes
        )

    # Running ----------------------------------------------------------------------------

    def run(self) -> ApplyResult:
        tasks = [self._task(index, change) for index, change in enumerate(self.plan.changes)]
        self._link_dependencies(tasks)
        for task in tasks:
            if task.error is not None:
                # Failed before the first phase, so what depends on it is skipped wherever it runs.
                self._emit(task, "started", task.change.title)
                self._finish(task, "failed", task.error)
        for phase in PHASES:
            batch: list[tuple[_Task, int]] = []
            for task in tasks:
                if phase not in task.steps or task.status in ("failed", "skipped"):
                    continue
                blocker = self._blocker(task, tasks)
                if blocker is not None:
                    outcome = "failed" if blocker.status == "failed" else "was skipped"
                    self._finish(task, "skipped", f"skipped: it depends on {blocker.change.title}, which {outcome}")
                    continue
                batch.append((task, phase))
            failures = [f for f in self.api.map_concurrent(self._run_step, batch, self.max_workers) if f is not None]
            retry = [f for f in failures if f.code in CONFLICT_CODES] if len(batch) > 1 else []
            for failure in failures:
                if failure not in retry:
                    self._fail(failure)
            # An address or name another change of this phase was releasing is free now.
            for failure in retry:
                again = self._run_step((failure.task, failure.phase))
                if again is not None:
                    self._fail(again)
        result = ApplyResult(self.organization_id)
        for task in tasks:
            if task.status == "done":
                result.done.append(task.change)
            elif task.status == "failed":
                result.failed.append((task.change, task.message))
            elif task.status == "skipped":
                result.skipped.append((task.change, task.message))
            else:  # pragma: no cover - every task ends in one of the three
                raise AssertionError(f"{task.change.title} ended {task.status}")
        return result

    def _run_step(self, item: tuple[_Task, int]) -> _Failure | None:
        task, phase = item
        if task.status == "pending":
            task.status = "running"
            self._emit(task, "started", task.change.title)
        try:
            task.steps[phase]()
        except ChangeFailed as exc:
            where = f"{task.path}.{exc.field}" if exc.field else task.path
            return _Failure(task, phase, f"{where}: {exc.message}", exc.code, exc.blocks_dependents)
        except ClientError as exc:
            return _Failure(task, phase, f"{task.path}: {_describe(exc)}", error_code(exc), True)
        except Exception as exc:
            return _Failure(task, phase, f"{task.path}: {type(exc).__name__}: {exc}", None, True)
        if phase == max(task.steps):
            self._finish(task, "done", task.change.title)
        return None

    def _fail(self, failure: _Failure) -> None:
        failure.task.blocks_dependents = failure.blocks_dependents
        self._finish(failure.task, "failed", failure.message)

    def _finish(self, task: _Task, status: Status, message: str) -> None:
        task.status = status
        task.message = message
        self._emit(task, status, message, finished=True)

    def _emit(self, task: _Task, status: Status, message: str, *, finished: bool = False) -> None:
        # One lock around counting and reporting, so events arrive with counts in order.
        with self._progress_lock:
            if finished:
                self._completed += 1
            if self.on_progress is not None:
                self.on_progress(ProgressEvent(task.change, status, self._completed, len(self.plan.changes), message))

    @staticmethod
    def _blocker(task: _Task, tasks: list[_Task]) -> _Task | None:
        for index in task.depends:
            dependency = tasks[index]
            if dependency.status == "skipped" or (dependency.status == "failed" and dependency.blocks_dependents):
                return dependency
        return None

    # Dependencies -------------------------------------------------------------------------

    def _link_dependencies(self, tasks: list[_Task]) -> None:
        """Which changes each change needs: only ones in earlier phases, so a phase never waits on itself."""
        organization = next((t.index for t in tasks if t.change.kind == "organization"
                             and t.change.action in ("create", "replace")), None)
        entities: dict[str, int] = {}
        domains: dict[str, int] = {}
        roles: dict[str, int] = {}
        by_old_domain: dict[str, list[int]] = {}
        for task in tasks:
            change = task.change
            if change.kind in ENTITY_KINDS:
                if change.action != "delete":
                    entities[change.key.lower()] = task.index
                for address in _addresses(change.before):
                    by_old_domain.setdefault(_domain_of(address), []).append(task.index)
            elif change.kind == "domain" and change.action != "delete":
                domains[change.key.lower()] = task.index
            elif change.kind == "impersonation_role" and change.action != "delete":
                roles[change.key.lower()] = task.index
        for task in tasks:
            change = task.change
            needs: list[int] = []
            if organization is not None and task.index != organization:
                needs.append(organization)
            if change.action != "delete":
                names: list[str] = []
                role_names: list[str] = []
                if change.kind in ENTITY_KINDS:
                    needs += [domains[d] for d in {_domain_of(a) for a in _addresses(change.after)} if d in domains]
                elif change.kind in ("group_member", "resource_delegate") and isinstance(change.after, str):
                    names = list(_split_link(change.key, change.after))
                elif isinstance(change.after, MailboxPermissionSpec):
                    names = [change.after.mailbox, change.after.grantee]
                elif isinstance(change.after, AccessControlRuleSpec):
                    names = change.after.users + change.after.not_users
                    role_names = change.after.impersonation_roles + change.after.not_impersonation_roles
                elif isinstance(change.after, ImpersonationRoleSpec):
                    names = [u for rule in change.after.rules for u in rule.target_users + rule.not_target_users]
                elif isinstance(change.after, MobileDeviceAccessOverrideSpec):
                    names = [change.after.user]
                needs += [entities[n.lower()] for n in names if n.lower() in entities]
                needs += [roles[n.lower()] for n in role_names if n.lower() in roles]
            elif change.kind == "domain":
                # Addresses in the domain must be gone first, or the domain is still in use.
                needs += by_old_domain.get(change.key.lower(), [])
            task.depends = sorted({n for n in needs if n != task.index})

    # Steps per change ---------------------------------------------------------------------

    def _task(self, index: int, change: Change) -> _Task:
        path = _spec_path(change)
        try:
            return _Task(index, change, path, self._steps(change), [])
        except ChangeFailed as exc:
            where = f"{path}.{exc.field}" if exc.field else path
            return _Task(index, change, path, {}, [], error=f"{where}: {exc.message}")

    def _steps(self, change: Change) -> dict[int, Callable[[], None]]:
        kind, action = change.kind, change.action
        if kind == "organization":
            return self._organization_steps(change)
        if kind == "domain":
            return self._domain_steps(change)
        if kind in ENTITY_KINDS:
            return self._entity_steps(change)
        if kind in ("group_member", "resource_delegate"):
            link = self._link_create if action != "delete" else self._link_delete
            return {LINKS if action != "delete" else REMOVALS: lambda: link(change)}
        if kind == "impersonation_role":
            if action == "delete":
                return {ENTITY_DELETES: lambda: self._role_delete(change)}
            return {LINKS: lambda: self._role_put(change)}
        if kind == "mobile_device_access_rule":
            if action == "delete":
                return {REMOVALS: lambda: self._mobile_rule_delete(change)}
            return {POLICIES: lambda: self._mobile_rule_put(change)}
        if kind in PUT_KINDS:
            handlers: dict[str, tuple[Callable[[Change], None], Callable[[Change], None]]] = {
                "mailbox_permission": (self._permission_put, self._permission_delete),
                "access_control_rule": (self._access_rule_put, self._access_rule_delete),
                "mobile_device_access_override": (self._override_put, self._override_delete),
                "retention_policy": (self._retention_put, self._retention_delete),
                "inbound_dmarc": (self._dmarc_put, self._dmarc_delete),
                "email_monitoring": (self._monitoring_put, self._monitoring_delete),
                "availability_configuration": (self._availability_put, self._availability_delete),
            }
            put, delete = handlers[kind]
            if action == "delete":
                return {REMOVALS: lambda: delete(change)}
            return {POLICIES: lambda: put(change)}
        raise ChangeFailed(f"apply does not know how to {action} a {kind}")

    # Calls --------------------------------------------------------------------------------

    @property
    def org(self) -> str:
        if self.organization_id is None:
            raise ChangeFailed("there is no organization to apply this change to")
        return self.organization_id

    def _call(self, operation: str, **params: Any) -> dict[str, Any]:
        """A call on the organization's data (every operation but the organization's own)."""
        return self.api.call(operation, OrganizationId=self.org, **params)

    def _secret(self, ref: SecretRef, field_name: str) -> str:
        try:
            return self.resolve_secret(ref)
        except Exception as exc:
            # The resolver's own message only: the value is never part of it.
            raise ChangeFailed(f"the secret {ref.secret_id} can't be read: {type(exc).__name__}: {exc}",
                               field=field_name) from None

    def _wait(self, what: str, timeout: float, probe: Callable[[], T | None]) -> T:
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

    # Organization -------------------------------------------------------------------------

    def _organization_steps(self, change: Change) -> dict[int, Callable[[], None]]:
        if change.action == "create":
            return {ORGANIZATION: lambda: self._organization_create(_spec(change.after, OrganizationSpec, change))}
        if change.action == "update":
            return {ORGANIZATION: lambda: self._organization_tags(change)}
        if change.action == "replace":
            def replace() -> None:
                self._organization_delete(change, wait=True)
                self._organization_create(_spec(change.after, OrganizationSpec, change))
            return {ORGANIZATION: replace}
        return {ORGANIZATION_DELETE: lambda: self._organization_delete(change, wait=False)}

    def _organization_create(self, spec: OrganizationSpec) -> None:
        params = create_organization_request(spec)
        answers: list[dict[str, Any]] = []

        def create(token: str) -> str | None:
            try:
                created = self.api.call("CreateOrganization", ClientToken=token, **params)
                organization_id = str(created["OrganizationId"])
            except ClientError as exc:
                if error_code(exc) == "NameAvailabilityException":
                    raise ChangeFailed(
                        f"the alias {spec.alias} is taken by another organization; choose another alias, or "
                        "adopt that organization with organization.organization_id",
                        field="alias", code="NameAvailabilityException",
                    ) from exc
                raise
            described = self.api.call("DescribeOrganization", OrganizationId=organization_id)
            # A token an earlier organization of this alias used answers with that organization.
            if described.get("State") in ("Deleting", "Deleted"):
                return None
            answers.append(described)
            return organization_id

        organization_id = _token_chain(create, "CreateOrganization", _canonical(params))
        with self._lock:
            self.organization_id = organization_id

        def active() -> dict[str, Any] | None:
            described = answers.pop() if answers else self.api.call(
                "DescribeOrganization", OrganizationId=organization_id)
            state = described.get("State")
            if state == "Active":
                return described
            if state not in ("Requested", "Creating"):
                detail = f": {described['ErrorMessage']}" if described.get("ErrorMessage") else ""
                raise ChangeFailed(f"the new organization {organization_id} is {state}{detail}")
            return None

        described = self._wait(f"organization {organization_id} to become Active",
                               self.timeouts.organization_active, active)
        if spec.tags:
            self.api.call("TagResource", ResourceARN=described["ARN"], Tags=_tags(spec.tags))

    def _organization_tags(self, change: Change) -> None:
        after = _spec(change.after, OrganizationSpec, change)
        old: dict[str, str] = dict(change.before.tags) if isinstance(change.before, OrganizationSpec) else {}
        for f in change.fields:
            if f.name == "tags" and isinstance(f.old, dict):
                old = dict(f.old)
        organization_id = change.id or self.org
        arn = self.api.call("DescribeOrganization", OrganizationId=organization_id)["ARN"]
        removed = sorted(k for k in old if k not in after.tags)
        if removed:
            self.api.call("UntagResource", ResourceARN=arn, TagKeys=removed)
        changed = {k: v for k, v in after.tags.items() if old.get(k) != v}
        if changed:
            self.api.call("TagResource", ResourceARN=arn, Tags=_tags(changed))

    def _organization_delete(self, change: Change, *, wait: bool) -> None:
        organization_id = change.id or self.plan.organization_id
        if organization_id is None:
            raise ChangeFailed("the organization to delete has no id")
        try:
            described = self.api.call("DescribeOrganization", OrganizationId=organization_id)
        except ClientError as exc:
            if error_code(exc) == "OrganizationNotFoundException":
                return
            raise
        if described.get("State") not in ("Deleting", "Deleted"):
            try:
                self.api.call(
                    "DeleteOrganization", OrganizationId=organization_id,
                    # Only a directory WorkMail made for the organization goes with it: a
                    # directory the user brought (DirectoryId) may serve other applications.
                    DeleteDirectory=described.get("DirectoryType") == "WorkMailDirectory",
                    ForceDelete=True,
                )
            except ClientError as exc:
                if error_code(exc) == "OrganizationNotFoundException":
                    return
                # A delete that an interrupted run (or someone else) started meanwhile is fine;
                # an organization still being created is not: say so.
                if error_code(exc) != "OrganizationStateException":
                    raise
                state = self.api.call("DescribeOrganization", OrganizationId=organization_id).get("State")
                if state not in ("Deleting", "Deleted"):
                    raise
        if not wait:
            return

        def deleted() -> bool | None:
            try:
                state = self.api.call("DescribeOrganization", OrganizationId=organization_id).get("State")
            except ClientError as exc:
                if error_code(exc) == "OrganizationNotFoundException":
                    return True
                raise
            return True if state == "Deleted" else None

        # The alias is free for the replacement only once the old organization is Deleted.
        self._wait(f"organization {organization_id} to be deleted", self.timeouts.organization_active, deleted)

    # Domains ------------------------------------------------------------------------------

    def _domain_steps(self, change: Change) -> dict[int, Callable[[], None]]:
        if change.action == "create":
            return {DOMAINS: lambda: self._domain_create(_spec(change.after, DomainSpec, change))}
        if change.action == "update":
            return {DOMAINS: lambda: self._domain_update(change)}
        if change.action == "replace":
            def replace() -> None:
                self._domain_delete(_spec(change.before, DomainSpec, change).name)
                self._domain_create(_spec(change.after, DomainSpec, change))
            return {DOMAINS: replace}
        return {DOMAIN_DELETES: lambda: self._domain_delete(change.key)}

    def _domain_create(self, spec: DomainSpec) -> None:
        try:
            self._call("RegisterMailDomain", DomainName=spec.name, ClientToken=_token("RegisterMailDomain", self.org,
                                                                                      spec.name.lower()))
        except ClientError as exc:
            if error_code(exc) != "MailDomainInUseException" or self._domain_status(spec.name) is None:
                raise
            # Registered in this organization already (by an interrupted run): carry on.
        status = None
        if spec.wait_for_verification:
            status = self._wait_verified(spec.name)
        if spec.default:
            self._make_default(spec.name, status)

    def _domain_update(self, change: Change) -> None:
        after = _spec(change.after, DomainSpec, change)
        names = {f.name for f in change.fields}
        status = None
        if after.wait_for_verification:
            status = self._wait_verified(after.name)
        if after.default:
            self._make_default(after.name, status)
        elif "default" in names and not self._default_declared:
            # No longer the default and no other domain declared as one: the test domain is again.
            self._call("UpdateDefaultMailDomain", DomainName=self._test_domain())

    def _domain_status(self, name: str) -> str | None:
        try:
            return str(self._call("GetMailDomain", DomainName=name)["OwnershipVerificationStatus"])
        except ClientError as exc:
            if error_code(exc) == "MailDomainNotFoundException":
                return None
            raise

    def _wait_verified(self, name: str) -> str:
        def verified() -> str | None:
            status = self._domain_status(name)
            if status is None:
                raise ChangeFailed(f"the domain {name} is not registered in the organization")
            if status == "FAILED":
                raise ChangeFailed(
                    f"ownership verification of {name} FAILED: publish the TXT record GetMailDomain lists "
                    "(_amazonses.<domain>) and apply again"
                )
            return status if status == "VERIFIED" else None

        return self._wait(f"ownership verification of domain {name}", self.timeouts.domain_verification, verified)

    def _make_default(self, name: str, status: str | None) -> None:
        status = status or self._domain_status(name)
        if status != "VERIFIED":
            # The domain exists and addresses can wait for it: nothing else has to stop.
            raise ChangeFailed(
                f"the domain {name} is registered but its ownership is {status}, and only a verified domain can "
                "be the default: publish its DNS records and verify the domain first (or set wait_for_verification), "
                "then apply again",
                field="default", blocks_dependents=False,
            )
        self._call("UpdateDefaultMailDomain", DomainName=name)

    def _test_domain(self) -> str:
        # Every organization has <alias>.awsapps.com, verified (Administrator Guide, "Creating an organization").
        alias = self.api.call("DescribeOrganization", OrganizationId=self.org)["Alias"]
        return f"{str(alias).lower()}.awsapps.com"

    def _domain_delete(self, name: str) -> None:
        try:
            self._call("DeregisterMailDomain", DomainName=name)
            return
        except ClientError as exc:
            if error_code(exc) == "MailDomainNotFoundException":
                return
            if error_code(exc) != "MailDomainInUseException" or self._default_declared or not self._is_default(name):
                raise
        # The default domain can't go and no other domain is declared the default: the
        # organization falls back to its test domain, which can't be removed.
        self._call("UpdateDefaultMailDomain", DomainName=self._test_domain())
        self._call("DeregisterMailDomain", DomainName=name)

    def _is_default(self, name: str) -> bool:
        try:
            return bool(self._call("GetMailDomain", DomainName=name).get("IsDefault"))
        except ClientError:
            return False

    # Users, groups, resources -------------------------------------------------------------

    def _entity_steps(self, change: Change) -> dict[int, Callable[[], None]]:
        kind, action = change.kind, change.action
        spec_type: type[Any] = {"user": UserSpec, "group": GroupSpec, "resource": ResourceSpec}[kind]
        if action == "delete":
            before = _spec(change.before, spec_type, change)
            held = {before.name.lower(), *(a.lower() for a in _addresses(before))}
            phase = RELEASES if held & self._claimed else ENTITY_DELETES
            return {phase: lambda: self._entity_delete(kind, before.name, change.id, before.enabled)}
        after = _spec(change.after, spec_type, change)
        _check_addresses(after)
        shared: dict[str, Any] = {}
        steps: dict[int, Callable[[], None]] = {}
        secret: SecretRef | None = None
        if action in ("create", "replace"):
            if isinstance(after, UserSpec):
                secret = after.password

            def create() -> None:
                password = self._secret(secret, "password") if secret is not None else None
                if action == "replace":
                    before = _spec(change.before, spec_type, change)
                    self._entity_delete(kind, before.name, change.id, before.enabled)
                shared["id"], shared["adopted"] = self._entity_create(kind, after, password)

            steps[ENTITIES] = create
        else:
            unknown = sorted({f.name for f in change.fields} - KNOWN_FIELDS[kind])
            if unknown:
                raise ChangeFailed(f"apply can't change {', '.join(unknown)} of a {kind}", field=unknown[0])
            steps[ENTITIES] = lambda: self._entity_update(change, after, shared)
        if isinstance(after, ResourceSpec):
            changed = {f.name for f in change.fields}
            if action != "update" or "booking_options" in changed:
                steps[POLICIES] = lambda: self._resource_booking(after, shared, action == "update")
        return steps

    def _entity_create(self, kind: str, spec: Any, password: str | None) -> tuple[str, bool]:
        """Create the entity with everything it declares; return its id and whether it already existed."""
        ops = ENTITY_OPS[kind]
        hidden = spec.hidden_from_global_address_list
        params: dict[str, Any] = {"Name": spec.name, "HiddenFromGlobalAddressList": hidden}
        if isinstance(spec, UserSpec):
            params.update(DisplayName=spec.display_name, Role=spec.role)
            for name in ("first_name", "last_name", "identity_provider_user_id"):
                if getattr(spec, name):
                    params[api_member(name)] = getattr(spec, name)
            if password is not None:
                params["Password"] = password
        elif isinstance(spec, ResourceSpec):
            params["Type"] = spec.type
            if spec.description:
                params["Description"] = spec.description
        adopted = False
        try:
            entity_id = str(self._call(ops.create, **params)[ops.id_member])
        except ClientError as exc:
            if error_code(exc) != "NameAvailabilityException":
                raise
            # An interrupted run created it: adopt it and bring it to the declared state.
            existing = self._describe(kind, spec.name)
            if existing is None:
                raise ChangeFailed(
                    f"the name {spec.name} is taken by another user, group or resource", field="name",
                    code="NameAvailabilityException",
                ) from exc
            entity_id, adopted = str(existing[ops.id_member]), True
        self._remember(kind, spec.name, entity_id)
        enabled = spec.enabled and spec.email
        if enabled:
            self._register(kind, entity_id, spec.email)
        if isinstance(spec, UserSpec):
            later = [n for n in USER_LATER_ATTRIBUTES if getattr(spec, n)]
            if adopted:
                self._update_user(entity_id, spec, identity_provider=False)
                if password is not None:
                    self._call("ResetPassword", UserId=entity_id, Password=password)
            elif later:
                self._call("UpdateUser", UserId=entity_id, **{api_member(n): getattr(spec, n) for n in later})
        elif adopted and isinstance(spec, GroupSpec):
            self._call("UpdateGroup", GroupId=entity_id, HiddenFromGlobalAddressList=hidden)
        elif adopted and isinstance(spec, ResourceSpec):
            self._call("UpdateResource", ResourceId=entity_id, Type=spec.type, Description=spec.description or "",
                       HiddenFromGlobalAddressList=hidden)
        if enabled:
            self._add_aliases(entity_id, spec.aliases)
            if isinstance(spec, UserSpec) and spec.mailbox_quota_mb is not None:
                self._call("UpdateMailboxQuota", UserId=entity_id, MailboxQuota=spec.mailbox_quota_mb)
        return entity_id, adopted

    def _entity_update(self, change: Change, after: Any, shared: dict[str, Any]) -> None:
        kind = change.kind
        before = change.before if change.before is not None else after
        names = {f.name for f in change.fields}
        old_name = before.name if "name" in names else after.name
        entity_id = change.id or self._entity_id(kind, old_name)
        shared["id"] = entity_id
        self._remember(kind, after.name, entity_id)
        password = None
        if "password" in names and isinstance(after, UserSpec) and after.password is not None:
            password = self._secret(after.password, "password")
        enabled_field = next((f for f in change.fields if f.name == "enabled"), None)
        was_enabled = bool(enabled_field.old) if enabled_field is not None else bool(before.enabled and before.email)
        now_enabled = bool(after.enabled and after.email)
        if now_enabled and not was_enabled:
            self._register(kind, entity_id, after.email)
            self._add_aliases(entity_id, after.aliases)
        elif now_enabled and names & {"email", "aliases"}:
            self._readdress(entity_id, before, after)
        if isinstance(after, UserSpec):
            if names & USER_UPDATE_FIELDS:
                self._update_user(entity_id, after, identity_provider="identity_provider_user_id" in names)
            quota = after.mailbox_quota_mb
            if now_enabled and quota is not None and ("mailbox_quota_mb" in names or not was_enabled):
                self._call("UpdateMailboxQuota", UserId=entity_id, MailboxQuota=quota)
            if password is not None:
                self._call("ResetPassword", UserId=entity_id, Password=password)
        elif isinstance(after, GroupSpec) and "hidden_from_global_address_list" in names:
            self._call("UpdateGroup", GroupId=entity_id,
                       HiddenFromGlobalAddressList=after.hidden_from_global_address_list)
        elif isinstance(after, ResourceSpec) and names & RESOURCE_ATTRIBUTE_FIELDS:
            params: dict[str, Any] = {
                "Type": after.type, "Description": after.description or "",
                "HiddenFromGlobalAddressList": after.hidden_from_global_address_list,
            }
            if "name" in names:
                params["Name"] = after.name
            self._call("UpdateResource", ResourceId=entity_id, **params)
        if was_enabled and not now_enabled:
            self._disable(kind, entity_id)

    def _update_user(self, user_id: str, spec: UserSpec, identity_provider: bool) -> None:
        """UpdateUser states the whole user: an attribute the spec no longer sets is cleared with ""."""
        params: dict[str, Any] = {
            member: getattr(spec, name) or "" for name, member in USER_ATTRIBUTE_MEMBERS.items()
        }
        params["DisplayName"] = spec.display_name
        params["Role"] = spec.role
        params["HiddenFromGlobalAddressList"] = spec.hidden_from_global_address_list
        if identity_provider or spec.identity_provider_user_id:
            params["IdentityProviderUserId"] = spec.identity_provider_user_id or ""
        self._call("UpdateUser", UserId=user_id, **params)

    def _readdress(self, entity_id: str, before: Any, after: Any) -> None:
        """Primary address and aliases of an entity that stays enabled."""
        current = {a.lower(): a for a in (before.aliases if before.enabled and before.email else [])}
        old_primary = before.email if before.enabled else None
        if old_primary and after.email and old_primary.lower() != after.email.lower():
            self._call("UpdatePrimaryEmailAddress", EntityId=entity_id, Email=after.email)
            # The old primary becomes an alias, or swaps places with the alias that is the new primary.
            current.pop(after.email.lower(), None)
            current[old_primary.lower()] = old_primary
        wanted = {a.lower(): a for a in after.aliases}
        for key in sorted(set(current) - set(wanted)):
            self._call("DeleteAlias", EntityId=entity_id, Alias=current[key])
        self._add_aliases(entity_id, [wanted[k] for k in sorted(set(wanted) - set(current))])

    def _register(self, kind: str, entity_id: str, email: str) -> None:
        try:
            self._call("RegisterToWorkMail", EntityId=entity_id, Email=email)
        except ClientError as exc:
            if error_code(exc) != "EntityAlreadyRegisteredException":
                raise
            current = self._describe(kind, entity_id) or {}
            if str(current.get("Email", "")).lower() != email.lower():
                raise ChangeFailed(
                    f"it is already enabled with the address {current.get('Email')}, not {email}", field="email",
                ) from exc

    def _add_aliases(self, entity_id: str, aliases: list[str]) -> None:
        for alias in aliases:
            try:
                self._call("CreateAlias", EntityId=entity_id, Alias=alias)
            except ClientError as exc:
                if error_code(exc) != "EmailAddressInUseException":
                    raise
                try:
                    owner = self._call("DescribeEntity", Email=alias).get("EntityId")
                except ClientError:
                    raise exc from None
                if owner != entity_id:
                    raise

    def _disable(self, kind: str, identifier: str) -> None:
        """Deregister from WorkMail and wait until DISABLED; an entity already gone counts as disabled."""
        try:
            self._call("DeregisterFromWorkMail", EntityId=identifier)
        except ClientError as exc:
            if error_code(exc) == "EntityNotFoundException":
                return
            described = self._describe(kind, identifier) if error_code(exc) == "EntityStateException" else None
            if described is None or described.get("State") != "DELETED":
                raise

        def disabled() -> bool | None:
            described = self._describe(kind, identifier)
            return True if described is None or described.get("State") in ("DISABLED", "DELETED") else None

        self._wait(f"{kind} {identifier} to be disabled", self.timeouts.entity_state, disabled)

    def _entity_delete(self, kind: str, name: str, entity_id: str | None, was_enabled: bool) -> None:
        ops = ENTITY_OPS[kind]
        identifier = entity_id or name
        if was_enabled:
            self._disable(kind, identifier)
        try:
            self._call(ops.delete, **{ops.id_member: identifier})
        except ClientError as exc:
            if error_code(exc) == "EntityNotFoundException":
                return
            if error_code(exc) != "EntityStateException":
                raise
            # Enabled after all (the plan's view was older): disable, then delete.
            self._disable(kind, identifier)
            self._call(ops.delete, **{ops.id_member: identifier})
        with self._lock:
            if self._ids.get((kind, name.lower())) in (entity_id, identifier):
                self._ids.pop((kind, name.lower()), None)

    def _resource_booking(self, spec: ResourceSpec, shared: dict[str, Any], update: bool) -> None:
        # A new resource starts with the default options; set them only if they differ.
        if not update and not shared.get("adopted") and spec.booking_options == BookingOptionsSpec():
            return
        options = spec.booking_options
        self._call("UpdateResource", ResourceId=shared["id"], BookingOptions={
            "AutoAcceptRequests": options.auto_accept_requests,
            "AutoDeclineRecurringRequests": options.auto_decline_recurring_requests,
            "AutoDeclineConflictingRequests": options.auto_decline_conflicting_requests,
        })

    # Ids ----------------------------------------------------------------------------------

    def _describe(self, kind: str, identifier: str) -> dict[str, Any] | None:
        """Describe a live entity by name or id; None if there is none."""
        ops = ENTITY_OPS[kind]
        try:
            described = self._call(ops.describe, **{ops.id_member: identifier})
        except ClientError as exc:
            if error_code(exc) == "EntityNotFoundException":
                return None
            raise
        return described

    def _remember(self, kind: str, name: str, entity_id: str) -> None:
        with self._lock:
            self._ids[(kind, name.lower())] = entity_id

    def _entity_id(self, kind: str, name: str, field_name: str | None = None) -> str:
        """The id of a user, group or resource by name, for members that take ids only."""
        with self._lock:
            known = self._ids.get((kind, name.lower()))
        if known is not None:
            return known
        described = self._describe(kind, name)
        if described is None or described.get("State") == "DELETED":
            raise ChangeFailed(f"there is no {kind} named {name}", field=field_name)
        entity_id = str(described[ENTITY_OPS[kind].id_member])
        self._remember(kind, name, entity_id)
        return entity_id

    def _user_ids(self, names: list[str], field_name: str) -> list[str]:
        return [self._entity_id("user", name, field_name) for name in names]

    def _role_id(self, name: str, field_name: str) -> str:
        with self._lock:
            known = self._role_ids.get(name.lower())
            listed = self._roles_listed
        if known is None and not listed:
            roles = self.api.list_all("ListImpersonationRoles", "Roles", OrganizationId=self.org)
            with self._lock:
                for role in roles:
                    self._role_ids.setdefault(str(role["Name"]).lower(), str(role["ImpersonationRoleId"]))
                self._roles_listed = True
                known = self._role_ids.get(name.lower())
        if known is None:
            raise ChangeFailed(f"there is no impersonation role named {name}", field=field_name)
        return known

    # Members and delegates ----------------------------------------------------------------

    def _link_create(self, change: Change) -> None:
        owner, member = _split_link(change.key, str(change.after))
        if change.kind == "group_member":
            self._call("AssociateMemberToGroup", GroupId=owner, MemberId=member)
        else:
            self._call("AssociateDelegateToResource", ResourceId=owner, EntityId=member)

    def _link_delete(self, change: Change) -> None:
        owner, member = _split_link(change.key, str(change.before))
        try:
            if change.kind == "group_member":
                self._call("DisassociateMemberFromGroup", GroupId=owner, MemberId=member)
            else:
                self._call("DisassociateDelegateFromResource", ResourceId=owner, EntityId=member)
        except ClientError as exc:
            # The link, or one of its ends, is already gone.
            if error_code(exc) != "EntityNotFoundException":
                raise

    # Mailbox permissions ------------------------------------------------------------------

    def _permission_put(self, change: Change) -> None:
        spec = _spec(change.after, MailboxPermissionSpec, change)
        self._call("PutMailboxPermissions", EntityId=spec.mailbox, GranteeId=spec.grantee,
                   PermissionValues=list(spec.permissions))

    def _permission_delete(self, change: Change) -> None:
        spec = _spec(change.before, MailboxPermissionSpec, change)
        try:
            self._call("DeleteMailboxPermissions", EntityId=spec.mailbox, GranteeId=spec.grantee)
        except ClientError as exc:
            if error_code(exc) != "EntityNotFoundException":
                raise

    # Access control rules -----------------------------------------------------------------

    def _access_rule_put(self, change: Change) -> None:
        spec = _spec(change.after, AccessControlRuleSpec, change)
        self._call(
            "PutAccessControlRule", Name=spec.name, Effect=spec.effect, Description=spec.description,
            Actions=list(spec.actions), NotActions=list(spec.not_actions), IpRanges=list(spec.ip_ranges),
            NotIpRanges=list(spec.not_ip_ranges),
            UserIds=self._user_ids(spec.users, "users"), NotUserIds=self._user_ids(spec.not_users, "not_users"),
            ImpersonationRoleIds=[self._role_id(n, "impersonation_roles") for n in spec.impersonation_roles],
            NotImpersonationRoleIds=[self._role_id(n, "not_impersonation_roles")
                                     for n in spec.not_impersonation_roles],
        )

    def _access_rule_delete(self, change: Change) -> None:
        self._call("DeleteAccessControlRule", Name=change.key)

    # Mobile device access -----------------------------------------------------------------

    def _mobile_rule_put(self, change: Change) -> None:
        spec = _spec(change.after, MobileDeviceAccessRuleSpec, change)
        params: dict[str, Any] = {"Name": spec.name, "Effect": spec.effect}
        if spec.description:
            params["Description"] = spec.description
        for name in ("device_types", "not_device_types", "device_models", "not_device_models",
                     "device_operating_systems", "not_device_operating_systems", "device_user_agents",
                     "not_device_user_agents"):
            if getattr(spec, name):
                params[api_member(name)] = list(getattr(spec, name))
        if change.action == "update":
            rule_id = change.id or self._mobile_rule_id(spec.name)
            if rule_id is None:
                raise ChangeFailed(f"there is no mobile device access rule named {spec.name} to update")
            self._call("UpdateMobileDeviceAccessRule", MobileDeviceAccessRuleId=rule_id, **params)
            return
        if change.action == "replace" and change.id:
            self._call("DeleteMobileDeviceAccessRule", MobileDeviceAccessRuleId=change.id)

        def create(token: str) -> str | None:
            rule_id = str(self._call("CreateMobileDeviceAccessRule", ClientToken=token, **params)
                          ["MobileDeviceAccessRuleId"])
            rules = self._call("ListMobileDeviceAccessRules").get("Rules") or []
            return rule_id if any(r.get("MobileDeviceAccessRuleId") == rule_id for r in rules) else None

        _token_chain(create, "CreateMobileDeviceAccessRule", self.org, _canonical(params))

    def _mobile_rule_id(self, name: str) -> str | None:
        for rule in self._call("ListMobileDeviceAccessRules").get("Rules") or []:
            if str(rule.get("Name", "")).lower() == name.lower():
                return str(rule["MobileDeviceAccessRuleId"])
        return None

    def _mobile_rule_delete(self, change: Change) -> None:
        rule_id = change.id or self._mobile_rule_id(change.key)
        if rule_id is not None:
            self._call("DeleteMobileDeviceAccessRule", MobileDeviceAccessRuleId=rule_id)

    def _override_put(self, change: Change) -> None:
        spec = _spec(change.after, MobileDeviceAccessOverrideSpec, change)
        params: dict[str, Any] = {"UserId": spec.user, "DeviceId": spec.device_id, "Effect": spec.effect}
        if spec.description:
            params["Description"] = spec.description
        self._call("PutMobileDeviceAccessOverride", **params)

    def _override_delete(self, change: Change) -> None:
        spec = _spec(change.before, MobileDeviceAccessOverrideSpec, change)
        try:
            self._call("DeleteMobileDeviceAccessOverride", UserId=spec.user, DeviceId=spec.device_id)
        except ClientError as exc:
            if error_code(exc) != "EntityNotFoundException":
                raise

    # Impersonation roles ------------------------------------------------------------------

    def _role_put(self, change: Change) -> None:
        spec = _spec(change.after, ImpersonationRoleSpec, change)
        rules: list[dict[str, Any]] = []
        for index, rule in enumerate(spec.rules):
            item: dict[str, Any] = {"ImpersonationRuleId": rule.rule_id, "Effect": rule.effect}
            if rule.name:
                item["Name"] = rule.name
            if rule.description:
                item["Description"] = rule.description
            # The API documents TargetUsers as user ids.
            if rule.target_users:
                item["TargetUsers"] = self._user_ids(rule.target_users, f"rules[{index}].target_users")
            if rule.not_target_users:
                item["NotTargetUsers"] = self._user_ids(rule.not_target_users, f"rules[{index}].not_target_users")
            rules.append(item)
        params: dict[str, Any] = {"Name": spec.name, "Type": spec.type, "Rules": rules}
        if spec.description:
            params["Description"] = spec.description
        role_id: str | None = None
        if change.action == "update":
            role_id = change.id or self._role_id(spec.name, "name")
            self._call("UpdateImpersonationRole", ImpersonationRoleId=role_id, **params)
        else:
            if change.action == "replace" and change.id:
                self._call("DeleteImpersonationRole", ImpersonationRoleId=change.id)

            def create(token: str) -> str | None:
                created = str(self._call("CreateImpersonationRole", ClientToken=token, **params)
                              ["ImpersonationRoleId"])
                try:
                    self._call("GetImpersonationRole", ImpersonationRoleId=created)
                except ClientError as exc:
                    if error_code(exc) == "ResourceNotFoundException":
                        return None
                    raise
                return created

            try:
                role_id = _token_chain(create, "CreateImpersonationRole", self.org, _canonical(params))
            except ClientError as exc:
                # Role names are unique (Administrator Guide, "Managing impersonation roles"): one
                # named so exists, made by an earlier run with other target ids, or planned before it
                # was made. Make it the declared role.
                if error_code(exc) != "InvalidParameterException" or not self._role_exists(spec.name):
                    raise
                role_id = self._role_id(spec.name, "name")
                self._call("UpdateImpersonationRole", ImpersonationRoleId=role_id, **params)
        with self._lock:
            self._role_ids[spec.name.lower()] = role_id

    def _role_exists(self, name: str) -> bool:
        roles = self.api.list_all("ListImpersonationRoles", "Roles", OrganizationId=self.org)
        with self._lock:
            for role in roles:
                self._role_ids[str(role["Name"]).lower()] = str(role["ImpersonationRoleId"])
            self._roles_listed = True
            return name.lower() in self._role_ids

    def _role_delete(self, change: Change) -> None:
        role_id = change.id
        if role_id is None:
            if not self._role_exists(change.key):
                return
            role_id = self._role_id(change.key, "name")
        self._call("DeleteImpersonationRole", ImpersonationRoleId=role_id)

    # Organization settings ----------------------------------------------------------------

    def _retention_put(self, change: Change) -> None:
        spec = _spec(change.after, RetentionPolicySpec, change)
        params: dict[str, Any] = {
            "Name": spec.name,
            "FolderConfigurations": [
                {"Name": f.name, "Action": f.action, **({"Period": f.period_days} if f.period_days is not None else {})}
                for f in spec.folders
            ],
        }
        if spec.description:
            params["Description"] = spec.description
        policy_id = (change.id or self._retention_id()) if change.action == "update" else None
        if policy_id is not None:
            params["Id"] = policy_id
        self._call("PutRetentionPolicy", **params)

    def _retention_id(self) -> str | None:
        try:
            return str(self._call("GetDefaultRetentionPolicy")["Id"])
        except ClientError as exc:
            if error_code(exc) in ("EntityNotFoundException", "ResourceNotFoundException"):
                return None
            raise

    def _retention_delete(self, change: Change) -> None:
        policy_id = change.id or self._retention_id()
        if policy_id is not None:
            self._call("DeleteRetentionPolicy", Id=policy_id)

    def _dmarc_put(self, change: Change) -> None:
        self._call("PutInboundDmarcSettings", Enforced=bool(change.after))

    def _dmarc_delete(self, change: Change) -> None:
        # There is no "unset": no longer declared means the service's default, enforced
        # (Administrator Guide, "Enforcing DMARC policies on incoming email").
        self._call("PutInboundDmarcSettings", Enforced=True)

    def _monitoring_put(self, change: Change) -> None:
        spec = _spec(change.after, EmailMonitoringSpec, change)
        params: dict[str, Any] = {"LogGroupArn": spec.log_group_arn}
        if spec.role_arn:
            params["RoleArn"] = spec.role_arn
        self._call("PutEmailMonitoringConfiguration", **params)

    def _monitoring_delete(self, change: Change) -> None:
        self._call("DeleteEmailMonitoringConfiguration")

    def _availability_put(self, change: Change) -> None:
        spec = _spec(change.after, AvailabilityConfigurationSpec, change)
        provider: dict[str, Any]
        if spec.ews is not None:
            provider = {"EwsProvider": {
                "EwsEndpoint": spec.ews.endpoint, "EwsUsername": spec.ews.username,
                "EwsPassword": self._secret(spec.ews.password, "ews.password"),
            }}
        elif spec.lambda_arn:
            provider = {"LambdaProvider": {"LambdaArn": spec.lambda_arn}}
        else:
            raise ChangeFailed("declares neither an EWS nor a Lambda provider", field="ews")
        if change.action != "update":
            try:
                # No ClientToken: the request holds a password that may rotate between attempts,
                # and a second create is refused by name anyway.
                self._call("CreateAvailabilityConfiguration", DomainName=spec.domain_name, **provider)
                return
            except ClientError as exc:
                if error_code(exc) != "NameAvailabilityException":
                    raise
        self._call("UpdateAvailabilityConfiguration", DomainName=spec.domain_name, **provider)

    def _availability_delete(self, change: Change) -> None:
        self._call("DeleteAvailabilityConfiguration", DomainName=change.key)


# Helpers --------------------------------------------------------------------------------


def _spec(value: Any, expected: type[T], change: Change) -> T:
    if not isinstance(value, expected):
        side = "before" if value is change.before else "after"
        raise ChangeFailed(
            f"the plan's {change.title} holds {type(value).__name__} as {side}, not {expected.__name__}"
        )
    return value


def _check_addresses(spec: Any) -> None:
    """Fail before any call on what WorkMail can't do with the declared addresses."""
    if spec.enabled and not spec.email:
        raise ChangeFailed(f"{spec.name} is declared enabled but has no email address", field="email")


def _addresses(spec: Any) -> list[str]:
    # Aliases and quotas exist only for enabled entities; the planner ignores them otherwise.
    if spec is None or not getattr(spec, "enabled", False) or not getattr(spec, "email", None):
        return []
    return [spec.email, *spec.aliases]


def _domain_of(address: str) -> str:
    return address.rsplit("@", 1)[-1].lower()


def _split_link(key: str, member: str) -> tuple[str, str]:
    """("group", "member") of a "group/member" key; the member is known from the change itself."""
    suffix = "/" + member
    if key.lower().endswith(suffix.lower()):
        return key[: -len(suffix)], key[-len(member):]
    owner, _, rest = key.partition("/")
    return owner, rest or member


def _tags(tags: dict[str, str]) -> list[dict[str, str]]:
    return [{"Key": key, "Value": value} for key, value in sorted(tags.items())]


def _canonical(params: dict[str, Any]) -> str:
    return json.dumps(params, sort_keys=True, separators=(",", ":"))


def _token(*parts: str) -> str:
    """A ClientToken derived from what is being created, so a retried create is recognised."""
    return hashlib.sha256("\x1f".join(("workmail-constructs", *parts)).encode()).hexdigest()


def _token_chain(create: Callable[[str], str | None], *parts: str) -> str:
    """Create with a deterministic ClientToken; ``create`` returns the new id, or None when the
    service answered with an earlier object that no longer exists (the same request made
    before, then deleted). The next token is derived from the stale answer, so a rerun after
    an interruption follows the same chain and finds what the interrupted run created."""
    token = _token(*parts)
    for _ in range(MAX_STALE_TOKENS):
        created = create(token)
        if created is not None:
            return created
        token = _token(token, "stale")
    raise ChangeFailed(f"{MAX_STALE_TOKENS} ClientTokens in a row returned objects that no longer exist")


def _spec_path(change: Change) -> str:
    kind, key = change.kind, change.key
    if kind == "organization":
        return "organization"
    if kind in ("inbound_dmarc",):
        return "inbound_dmarc_enforced"
    if kind in ("email_monitoring", "retention_policy"):
        return kind
    if kind == "group_member":
        owner, member = _split_link(key, str(change.after if change.after is not None else change.before))
        return f"groups[{owner}].members[{member}]"
    if kind == "resource_delegate":
        owner, member = _split_link(key, str(change.after if change.after is not None else change.before))
        return f"resources[{owner}].delegates[{member}]"
    return f"{SPEC_PATHS.get(kind, kind)}[{key}]"


def _describe(exc: ClientError) -> str:
    error = exc.response.get("Error", {})
    return f"{exc.operation_name} failed: {error.get('Code', 'Error')}: {error.get('Message', '')}".rstrip(": ")


__all__ = [
    "DEFAULT_TIMEOUTS", "ApplyResult", "ChangeFailed", "DestructiveChangeRefused", "ProgressEvent", "Timeouts",
    "apply",
]
