"""The emulator's engine: request validation, dispatch, faults, call counts, gauges and timers.

The engine knows nothing about HTTP; the server decodes a request into an operation
name and parameters, and the engine answers with a response body or a ServiceError.
"""

from __future__ import annotations

import logging
import re
import shutil
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from ..core import service_model
from . import errors
from .config import MAX_SECONDS, Settings, finite_number
from .registry import CONTROLS, OPERATIONS, TIMER_ACTIONS, TIMER_FAILURES
from .store import GLOBAL, Record, Store, Table

_log = logging.getLogger(__name__)

T = TypeVar("T")
_REGION = re.compile(r"[a-z]{2}(-[a-z]+)+-\d")

# Rounds of due timers one request runs at most; more means timers that keep rescheduling themselves.
MAX_TIMER_ROUNDS = 20
# Injected faults are for testing callers of WorkMail; the other services a local deploy calls
# (aws_side/) stand in for infrastructure and answer without them.
FAULTED_SERVICES = ("workmail", "workmailmessageflow")


class Context:
    """What an operation handler sees: the store, the clock, the caller's region and helpers."""

    def __init__(self, emulator: Emulator, region: str) -> None:
        self.emulator = emulator
        self.store = emulator.store
        self.region = region
        self.account = emulator.settings.account
        self.timing = emulator.settings.timing
        self.now = emulator.now()

    # Tables -----------------------------------------------------------------
    def table(self, org_id: str, name: str) -> Table:
        return self.store.table(org_id, name)

    def global_table(self, name: str) -> Table:
        return self.store.table(GLOBAL, name)

    @property
    def files(self) -> Path:
        """Directory for files the emulator writes (its local S3 buckets)."""
        return self.emulator.files_dir

    # Organizations ----------------------------------------------------------
    def organization(self, org_id: str, *, require_active: bool = True) -> Record:
        org = self.global_table("organizations").get(org_id)
        if org is None or org["State"] == "Deleted":
            raise errors.OrganizationNotFoundException(f"The organization {org_id} does not exist.")
        if require_active and org["State"] != "Active":
            raise errors.OrganizationStateException(
                f"The organization {org_id} is in state {org['State']}; this operation needs it to be Active."
            )
        return org

    def organization_arn(self, org_id: str) -> str:
        return f"arn:aws:workmail:{self.region}:{self.account}:organization/{org_id}"

    # Timers -----------------------------------------------------------------
    def schedule(self, delay: float | None, action: str, org: str = GLOBAL, key: str = "", **data: Any) -> str:
        """Run ``action`` once ``delay`` seconds have passed (on the next request at the latest)."""
        if action not in TIMER_ACTIONS:
            raise RuntimeError(f"unknown timer action {action}")
        timer_id = uuid.uuid4().hex
        due = self.now + (delay or 0.0)
        self.global_table("timers").put(timer_id, {"due": due, "action": action, "org": org, "key": key, "data": data})
        return timer_id

    def cancel_timers(self, action: str, org: str, key: str = "") -> None:
        timers = self.global_table("timers")
        for timer_id, timer in timers.items():
            if timer["action"] == action and timer["org"] == org and timer["key"] == key:
                timers.delete(timer_id)


    def cancel_org_timers(self, org: str) -> None:
        timers = self.global_table("timers")
        for timer_id, timer in timers.items():
            if timer["org"] == org:
                timers.delete(timer_id)


class Emulator:
    """A WorkMail service: state, settings and the dispatcher, with no transport."""

    def __init__(
        self, state: str | Path | None = None, settings: Settings | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings or Settings()
        self.store = Store(state)
        self._own_files = state is None
        try:
            if state is None:
                self.files_dir = Path(tempfile.mkdtemp(prefix="workmail-emulator-"))
            else:
                self.files_dir = Path(str(state) + ".files")
                self.files_dir.mkdir(parents=True, exist_ok=True)
        except BaseException:
            self.store.close()
            raise
        self.lock = threading.RLock()
        self.calls: Counter[str] = Counter()
        self.injected: Counter[str] = Counter()
        # Gauges: the highest value each one reached per key (an organization, say) since the
        # last reset. Like the call counts they are about the emulator's use, not its state, so
        # they are neither persisted nor part of any transaction.
        self.peaks: dict[str, dict[str, int]] = {}
        # What the running transaction observed; it reaches ``peaks`` only when the transaction
        # commits, as a request that fails changed nothing there was to observe.
        self._pending_peaks: list[tuple[str, str, int]] | None = None
        self.clock_offset = 0.0
        # Wall-clock seconds; a test may pass a frozen clock so only advance_clock moves time.
        self._clock = clock
        self._load_operations()

    @staticmethod
    def _load_operations() -> None:
        from . import aws_side, ops  # noqa: F401  (registers every operation handler)

    def now(self) -> float:
        return self._clock() + self.clock_offset

    def close(self) -> None:
        with self.lock:
            self.store.close()
        if self._own_files:
            shutil.rmtree(self.files_dir, ignore_errors=True)

    # Dispatch ---------------------------------------------------------------
    def call(
        self, operation: str, params: dict[str, Any], region: str | None = None, service: str = "workmail"
    ) -> dict[str, Any]:
        """Answer one request, or raise the ServiceError the service would return.

        The request is all or nothing: when it raises, none of its changes stay.
        """
        self.calls[f"{service}.{operation}" if service != "workmail" else operation] += 1
        handler = OPERATIONS[service].get(operation)
        if handler is None:
            raise errors.UnknownOperationException(f"Unknown operation {operation}")
        if service in FAULTED_SERVICES:
            self._inject_faults(operation)
        violations = service_model.check_request(operation, params, service)
        if violations:
            raise _rejection(violations)
        with self.lock:
            ctx = Context(self, region or self.settings.region)
            self.run_due_timers(ctx)
            result = self._atomic(operation, lambda: handler(ctx, params))
            self.run_due_timers(ctx)
            return result

    def _atomic(self, what: str, work: Callable[[], T]) -> T:
        """Run ``work`` as one transaction: commit what it changed, or roll all of it back."""
        outer, self._pending_peaks = self._pending_peaks, []
        try:
            result = work()
            self.store.commit()
            for name, key, value in self._pending_peaks:
                self._raise_peak(name, key, value)
        except errors.ServiceError:
            self.store.rollback()
            raise
        except Exception as exc:
            self.store.rollback()
            # A bug in the emulator (or a full disk) must reach the caller as the service's 500, not
            # a dropped connection; the traceback goes to the log.
            _log.exception("unhandled error in %s", what)
            raise errors.InternalFailure(
                f"The emulator failed while handling {what}: {type(exc).__name__}: {exc}"
            ) from None
        except BaseException:
            self.store.rollback()
            raise
        finally:
            self._pending_peaks = outer
        return result

    def _inject_faults(self, operation: str) -> None:
        faults = self.settings.faults
        if not faults.applies_to(operation):
            return
        if faults.latency_ms:
            time.sleep(faults.latency_ms / 1000.0)
        if faults.throttle_rate or faults.error_rate:
            with self.lock:
                roll = faults._rng.random()
            if roll < faults.throttle_rate:
                self.injected[operation] += 1
                raise errors.ThrottlingException("Rate exceeded")
            if roll < faults.throttle_rate + faults.error_rate:
                self.injected[operation] += 1
                raise errors.InternalFailure("We encountered an internal error. Please try again.")

    def run_due_timers(self, ctx: Context) -> None:
        """Run the timers that are due, oldest first, each as a transaction of its own.

        A timer is the service's own background work, not part of the request that
        happens to come next: its failure never fails that request. Its changes are
        rolled back and the failure is recorded where the caller will look (a job ends
        FAILED with the reason), or in ``failed_timers`` when its kind has no such place.
        """
        timers = self.store.table(GLOBAL, "timers")
        # A timer may schedule another that is due at once (an organization's Creating then
        # Active with no delay): run rounds until nothing is due, within a bound.
        for _ in range(MAX_TIMER_ROUNDS):
            if not len(timers):
                return
            due = [(timer_id, timer) for timer_id, timer in timers.items() if timer["due"] <= ctx.now]
            if not due:
                return
            for timer_id, timer in sorted(due, key=lambda item: item[1]["due"]):
                self._run_timer(ctx, timer_id, timer)

    def _run_timer(self, ctx: Context, timer_id: str, timer: Record) -> None:
        try:
            self._atomic(f"timer {timer['action']}", partial(self._fire_timer, ctx, timer_id, timer))
        except errors.ServiceError as exc:
            record = partial(self._record_timer_failure, ctx, timer_id, timer, exc.message)
            try:
                self._atomic("timer failure", record)
            except errors.ServiceError as again:
                reason = f"{exc.message} (recording that failed too: {again.message})"
                self._atomic("timer failure", partial(self._park_failed_timer, ctx, timer_id, timer, reason))

    def _fire_timer(self, ctx: Context, timer_id: str, timer: Record) -> None:
        self.store.table(GLOBAL, "timers").delete(timer_id)
        TIMER_ACTIONS[timer["action"]](ctx, timer)

    def _record_timer_failure(self, ctx: Context, timer_id: str, timer: Record, reason: str) -> None:
        on_failure = TIMER_FAILURES.get(timer["action"])
        if on_failure is None:
            self._park_failed_timer(ctx, timer_id, timer, reason)
            return
        self.store.table(GLOBAL, "timers").delete(timer_id)
        on_failure(ctx, timer, reason)

    def _park_failed_timer(self, ctx: Context, timer_id: str, timer: Record, reason: str) -> None:
        """Keep a failed timer where ``failed_timers`` shows it, instead of retrying it forever."""
        self.store.table(GLOBAL, "timers").delete(timer_id)
        _log.error("the emulator's timer %s for %s/%s failed: %s", timer["action"], timer["org"], timer["key"], reason)
        self.store.table(GLOBAL, "failed_timers").put(timer_id, {**timer, "reason": reason, "failed": ctx.now})

    # Control ----------------------------------------------------------------
    def control(self, name: str, params: dict[str, Any]) -> dict[str, Any]:
        """Run an emulator-only command, such as marking a domain's DNS records as published."""
        handler = CONTROLS.get(name)
        if handler is None:
            raise errors.InvalidParameterException(
                f"Unknown emulator command {name!r}; known commands: {', '.join(sorted(CONTROLS))}"
            )
        region = params.pop("Region", None)
        if region is not None and (not isinstance(region, str) or not _REGION.fullmatch(region)):
            raise errors.InvalidParameterException(f"Region must be a Region name such as us-east-1, not {region!r}.")
        with self.lock:
            ctx = Context(self, region or self.settings.region)
            self.run_due_timers(ctx)
            result = self._atomic(f"emulator command {name}", lambda: handler(ctx, params))
            self.run_due_timers(ctx)
            return result

    def advance_clock(self, seconds: float) -> None:
        seconds = finite_number("advance_seconds", seconds, high=MAX_SECONDS)
        with self.lock:
            self.clock_offset += seconds
            self.run_due_timers(Context(self, self.settings.region))

    def observe_peak(self, name: str, key: str, value: int) -> None:
        """Record that gauge ``name`` of ``key`` is now ``value``; ``call_counts`` reports the highest.

        Inside a request the value counts once the request commits, so a request that fails and is
        rolled back leaves no peak behind.
        """
        with self.lock:
            if self._pending_peaks is not None:
                self._pending_peaks.append((name, key, value))
            else:
                self._raise_peak(name, key, value)

    def _raise_peak(self, name: str, key: str, value: int) -> None:
        gauge = self.peaks.setdefault(name, {})
        gauge[key] = max(gauge.get(key, value), value)

    def call_counts(self) -> dict[str, Any]:
        with self.lock:
            return {
                "calls": dict(self.calls),
                "total": sum(self.calls.values()),
                "injected_faults": dict(self.injected),
                "peaks": {name: dict(gauge) for name, gauge in self.peaks.items()},
            }

    def reset_call_counts(self) -> None:
        with self.lock:
            self.calls.clear()
            self.injected.clear()
            self.peaks.clear()


def _rejection(violations: list[service_model.Violation]) -> errors.ServiceError:
    """A member of the wrong JSON type can't be read at all (SerializationException, as AWS JSON
    services answer); otherwise the request breaks the model's constraints (ValidationException)."""
    if any(v.malformed for v in violations):
        return errors.SerializationException(service_model.serialization_message(violations))
    return errors.ValidationException(service_model.validation_messages(violations))
