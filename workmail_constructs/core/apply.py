"""Apply: execute a plan's changes against WorkMail, in dependency order, idempotently.

Changes run in phases; within a phase they run concurrently (as many at once as the API's
concurrency limit allows, or ``max_workers``):

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

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from botocore.exceptions import ClientError

from .api import WorkMailApi
from .changes import AnyChange, ChangeFailed, Plan
from .errors import error_code
from .kinds import kind_of
from .kinds.base import DEFAULT_TIMEOUTS, ApplyContext, Phase, Ref, Steps, Timeouts
from .spec import SecretRef

Status = Literal["started", "done", "failed", "skipped"]


# Public types -------------------------------------------------------------------------


@dataclass
class ProgressEvent:
    change: AnyChange
    status: Status
    # Changes finished (done, failed or skipped) so far, this one included once it has finished.
    completed: int
    total: int
    message: str


@dataclass
class ApplyResult:
    """What apply did: every change of the plan is in exactly one of the three lists."""

    organization_id: str | None
    done: list[AnyChange] = field(default_factory=list)
    failed: list[tuple[AnyChange, str]] = field(default_factory=list)
    skipped: list[tuple[AnyChange, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failed and not self.skipped


class DestructiveChangeRefused(Exception):
    """The plan destroys something and ``allow_destructive`` was not given; nothing was done."""

    def __init__(self, changes: list[AnyChange]) -> None:
        self.changes = changes
        lines = "\n".join(f"  - {c.title}: {c.reason}" for c in changes)
        super().__init__(
            f"refusing to apply {len(changes)} destructive change(s) without allow_destructive; "
            f"nothing was changed. These would destroy:\n{lines}"
        )


# Errors that two changes of one phase can cause each other: an address or a name that a
# concurrent change is about to release. Such a failure is retried once when the phase's
# other changes are finished.
CONFLICT_CODES = frozenset({"EmailAddressInUseException", "NameAvailabilityException"})


def apply(
    plan: Plan,
    api: WorkMailApi,
    *,
    resolve_secret: Callable[[SecretRef], str],
    allow_destructive: bool = False,
    max_workers: int | None = None,
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
    if max_workers is not None and max_workers < 1:
        raise ValueError(f"max_workers must be at least 1, not {max_workers}")
    knows_organization = plan.organization_id is not None or any(
        c.kind == "organization" and (c.id or c.action in ("create", "replace")) for c in plan.changes
    )
    if plan.changes and not knows_organization:
        raise ValueError("the plan has no organization_id and does not create an organization")
    ctx = ApplyContext(plan, api, resolve_secret, timeouts, sleep, clock)
    return _Scheduler(plan, ctx, max_workers, on_progress).run()


# The scheduler --------------------------------------------------------------------------


@dataclass
class _Task:
    index: int
    change: AnyChange
    path: str
    steps: Steps
    depends: list[int]
    # Why the change can't be applied at all, known before any call.
    error: str | None = None
    status: str = "pending"  # pending, running, done, failed, skipped
    message: str = ""
    blocks_dependents: bool = True


@dataclass
class _Failure:
    task: _Task
    phase: Phase
    message: str
    code: str | None
    blocks_dependents: bool


class _Scheduler:
    def __init__(self, plan: Plan, ctx: ApplyContext, max_workers: int | None,
                 on_progress: Callable[[ProgressEvent], None] | None) -> None:
        self.plan = plan
        self.ctx = ctx
        self.max_workers = max_workers
        self.on_progress = on_progress
        self._completed = 0
        self._progress_lock = threading.Lock()

    def run(self) -> ApplyResult:
        tasks = [self._task(index, change) for index, change in enumerate(self.plan.changes)]
        _link_dependencies(tasks)
        for task in tasks:
            if task.error is not None:
                # Failed before the first phase, so what depends on it is skipped wherever it runs.
                self._emit(task, "started", task.change.title)
                self._finish(task, "failed", task.error)
        for phase in Phase:
            batch: list[tuple[_Task, Phase]] = []
            for task in tasks:
                if phase not in task.steps or task.status in ("failed", "skipped"):
                    continue
                blocker = _blocker(task, tasks)
                if blocker is not None:
                    outcome = "failed" if blocker.status == "failed" else "was skipped"
                    self._finish(task, "skipped", f"skipped: it depends on {blocker.change.title}, which {outcome}")
                    continue
                batch.append((task, phase))
            failures = [f for f in self.ctx.api.map_concurrent(self._run_step, batch, self.max_workers)
                        if f is not None]
            retry = [f for f in failures if f.code in CONFLICT_CODES] if len(batch) > 1 else []
            for failure in failures:
                if failure not in retry:
                    self._fail(failure)
            # An address or name another change of this phase was releasing is free now.
            for failure in retry:
                again = self._run_step((failure.task, failure.phase))
                if again is not None:
                    self._fail(again)
        result = ApplyResult(self.ctx.organization_id)
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

    def _task(self, index: int, change: AnyChange) -> _Task:
        kind = kind_of(change)
        path = kind.path(change)
        try:
            return _Task(index, change, path, kind.steps(change, self.ctx), [])
        except ChangeFailed as exc:
            where = f"{path}.{exc.field}" if exc.field else path
            return _Task(index, change, path, {}, [], error=f"{where}: {exc.message}")

    def _run_step(self, item: tuple[_Task, Phase]) -> _Failure | None:
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


def _blocker(task: _Task, tasks: list[_Task]) -> _Task | None:
    for index in task.depends:
        dependency = tasks[index]
        if dependency.status == "skipped" or (dependency.status == "failed" and dependency.blocks_dependents):
            return dependency
    return None


def _link_dependencies(tasks: list[_Task]) -> None:
    """Which changes each change needs: what its kind says it needs, provided by other changes
    of the plan, and a new organization for everything else."""
    organization = next((t.index for t in tasks if t.change.kind == "organization"
                         and t.change.action in ("create", "replace")), None)
    providers: dict[Ref, list[int]] = {}
    for task in tasks:
        for ref in kind_of(task.change).provides(task.change):
            providers.setdefault(ref, []).append(task.index)
    for task in tasks:
        needs: set[int] = set()
        if organization is not None:
            needs.add(organization)
        for ref in kind_of(task.change).needs(task.change):
            needs.update(providers.get(ref, ()))
        needs.discard(task.index)
        task.depends = sorted(needs)


def _describe(exc: ClientError) -> str:
    error = exc.response.get("Error", {})
    return f"{exc.operation_name} failed: {error.get('Code', 'Error')}: {error.get('Message', '')}".rstrip(": ")


__all__ = [
    "DEFAULT_TIMEOUTS", "ApplyResult", "ChangeFailed", "DestructiveChangeRefused", "ProgressEvent", "Timeouts",
    "apply",
]
