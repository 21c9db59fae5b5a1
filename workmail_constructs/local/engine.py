"""The emulator's engine: request validation, dispatch, faults, call counts and timers.

The engine knows nothing about HTTP; the server decodes a request into an operation
name and parameters, and the engine answers with a response body or a ServiceError.
"""

from __future__ import annotations

import logging
import random
import shutil
import tempfile
import threading
import time
import uuid
from collections import Counter
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from ..core import service_model
from . import errors
from .registry import CONTROLS, OPERATIONS, TIMER_ACTIONS
from .store import GLOBAL, Record, Store, Table

_log = logging.getLogger(__name__)

DEFAULT_REGION = "us-east-1"
DEFAULT_ACCOUNT = "123456789012"


@dataclass
class Timing:
    """How long the service's asynchronous work takes, in seconds (0 = at once)."""

    org_requested: float = 0.0
    org_creating: float = 0.0
    org_deleting: float = 0.0
    # None: a domain verifies only when told to (the emulator's verify command), as
    # real verification waits on DNS records that do not exist here.
    domain_verification: float | None = None
    export_job: float = 0.0

    def update(self, values: dict[str, Any]) -> None:
        names = {f.name for f in fields(self)}
        for key, value in values.items():
            if key not in names:
                raise ValueError(f"unknown timing setting {key!r}; expected one of {sorted(names)}")
            setattr(self, key, None if value is None else float(value))


@dataclass
class Faults:
    """Injected unreliability, to test callers' retries and timeouts."""

    throttle_rate: float = 0.0
    error_rate: float = 0.0
    latency_ms: float = 0.0
    operations: list[str] | None = None
    seed: int | None = None
    _rng: random.Random = field(default_factory=random.Random, repr=False, compare=False)

    def update(self, values: dict[str, Any]) -> None:
        for key, value in values.items():
            if key in ("throttle_rate", "error_rate"):
                rate = float(value)
                if not 0.0 <= rate <= 1.0:
                    raise ValueError(f"{key} must be between 0 and 1, got {value!r}")
                setattr(self, key, rate)
            elif key == "latency_ms":
                if float(value) < 0:
                    raise ValueError(f"latency_ms must not be negative, got {value!r}")
                self.latency_ms = float(value)
            elif key == "operations":
                self.operations = None if value is None else [str(v) for v in value]
            elif key == "seed":
                self.seed = None if value is None else int(value)
                self._rng = random.Random(self.seed)
            else:
                raise ValueError(
                    f"unknown fault setting {key!r}; expected throttle_rate, error_rate, latency_ms, operations, seed"
                )

    def applies_to(self, operation: str) -> bool:
        return self.operations is None or operation in self.operations

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if not k.startswith("_")}


@dataclass
class Settings:
    region: str = DEFAULT_REGION
    account: str = DEFAULT_ACCOUNT
    timing: Timing = field(default_factory=Timing)
    faults: Faults = field(default_factory=Faults)


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

    def __init__(self, state: str | Path | None = None, settings: Settings | None = None) -> None:
        self.settings = settings or Settings()
        self.store = Store(state)
        self._own_files = state is None
        if state is None:
            self.files_dir = Path(tempfile.mkdtemp(prefix="workmail-emulator-"))
        else:
            self.files_dir = Path(str(state) + ".files")
            self.files_dir.mkdir(parents=True, exist_ok=True)
        self.lock = threading.RLock()
        self.calls: Counter[str] = Counter()
        self.injected: Counter[str] = Counter()
        self.clock_offset = 0.0
        self._load_operations()

    @staticmethod
    def _load_operations() -> None:
        from . import ops  # noqa: F401  (registers every operation handler)

    def now(self) -> float:
        return time.time() + self.clock_offset

    def close(self) -> None:
        with self.lock:
            self.store.close()
        if self._own_files:
            shutil.rmtree(self.files_dir, ignore_errors=True)

    # Dispatch ---------------------------------------------------------------
    def call(
        self, operation: str, params: dict[str, Any], region: str | None = None, service: str = "workmail"
    ) -> dict[str, Any]:
        """Answer one request, or raise the ServiceError the service would return."""
        self.calls[f"{service}.{operation}" if service != "workmail" else operation] += 1
        handler = OPERATIONS[service].get(operation)
        if handler is None:
            raise errors.UnknownOperationException(f"Unknown operation {operation}")
        self._inject_faults(operation)
        violations = service_model.check_request(operation, params, service)
        if violations:
            raise errors.ValidationException(service_model.validation_messages(violations))
        with self.lock:
            ctx = Context(self, region or self.settings.region)
            try:
                self.run_due_timers(ctx)
                result = handler(ctx, params)
                self.run_due_timers(ctx)
                return result
            except errors.ServiceError:
                raise
            except Exception:
                # A bug in the emulator must reach the caller as the service's 500, not a dropped connection.
                _log.exception("unhandled error in %s", operation)
                raise errors.InternalFailure(f"The emulator failed while handling {operation}.") from None
            finally:
                self.store.flush()

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
        timers = self.store.table(GLOBAL, "timers")
        if not len(timers):
            return
        for timer_id, timer in sorted(timers.items(), key=lambda item: item[1]["due"]):
            if timer["due"] > ctx.now:
                break
            timers.delete(timer_id)
            TIMER_ACTIONS[timer["action"]](ctx, timer)

    # Control ----------------------------------------------------------------
    def control(self, name: str, params: dict[str, Any]) -> dict[str, Any]:
        """Run an emulator-only command, such as marking a domain's DNS records as published."""
        handler = CONTROLS.get(name)
        if handler is None:
            raise errors.InvalidParameterException(
                f"Unknown emulator command {name!r}; known commands: {', '.join(sorted(CONTROLS))}"
            )
        with self.lock:
            ctx = Context(self, str(params.pop("Region", None) or self.settings.region))
            try:
                self.run_due_timers(ctx)
                result = handler(ctx, params)
                self.run_due_timers(ctx)
                return result
            finally:
                self.store.flush()

    def advance_clock(self, seconds: float) -> None:
        with self.lock:
            self.clock_offset += seconds
            ctx = Context(self, self.settings.region)
            try:
                self.run_due_timers(ctx)
            finally:
                self.store.flush()

    def call_counts(self) -> dict[str, Any]:
        with self.lock:
            return {
                "calls": dict(self.calls),
                "total": sum(self.calls.values()),
                "injected_faults": dict(self.injected),
            }

    def reset_call_counts(self) -> None:
        with self.lock:
            self.calls.clear()
            self.injected.clear()
