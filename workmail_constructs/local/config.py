"""The emulator's settings: the Region and account it answers as, how long the service's
asynchronous work takes, and the faults it injects.

Every change is checked whole before any of it is applied, so a bad value (NaN, a negative
duration, an unknown setting, a string where a list goes) changes nothing.
"""

from __future__ import annotations

import math
import random
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from ..core import service_model

# The services the emulator answers for, whose operations faults can be limited to.
SERVICES = ("workmail", "workmailmessageflow")

DEFAULT_REGION = "us-east-1"
DEFAULT_ACCOUNT = "123456789012"


# The longest duration a setting or a clock step may take: beyond it, times leave the range
# that timestamps and dates can hold.
MAX_SECONDS = 100 * 365 * 24 * 3600.0


def finite_number(name: str, value: Any, *, low: float = 0.0, high: float = math.inf) -> float:
    """A finite number within [low, high]; settings are checked whole before any is changed."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{name} must be a number, got {value!r}")
    number = float(value)
    if not math.isfinite(number) or not low <= number <= high:
        bounds = f"between {low:g} and {high:g}" if math.isfinite(high) else f"at least {low:g}"
        raise ValueError(f"{name} must be a finite number {bounds}, got {value!r}")
    return number


def _unknown(kind: str, key: str, names: list[str]) -> ValueError:
    return ValueError(f"unknown {kind} setting {key!r}; expected one of {', '.join(sorted(names))}")


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

    def __post_init__(self) -> None:
        self.update(dict(vars(self)))

    def update(self, values: dict[str, Any]) -> None:
        """Change some settings; if any value is wrong, none is changed."""
        names = [f.name for f in fields(self)]
        checked: dict[str, float | None] = {}
        for key, value in values.items():
            if key not in names:
                raise _unknown("timing", key, names)
            if value is None and key == "domain_verification":
                checked[key] = None
            else:
                checked[key] = finite_number(key, value, high=MAX_SECONDS)
        for key, number in checked.items():
            setattr(self, key, number)


@dataclass
class Faults:
    """Injected unreliability, to test callers' retries and timeouts."""

    throttle_rate: float = 0.0
    error_rate: float = 0.0
    latency_ms: float = 0.0
    operations: list[str] | None = None
    seed: int | None = None
    _rng: random.Random = field(default_factory=random.Random, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.update(self.as_dict())

    def update(self, values: dict[str, Any]) -> None:
        """Change some settings; if any value is wrong, none is changed."""
        checked: dict[str, Any] = {}
        for key, value in values.items():
            if key in ("throttle_rate", "error_rate"):
                checked[key] = finite_number(key, value, high=1.0)
            elif key == "latency_ms":
                checked[key] = finite_number(key, value, high=MAX_LATENCY_MS)
            elif key == "operations":
                checked[key] = None if value is None else _operation_names(value)
            elif key == "seed":
                if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
                    raise ValueError(f"seed must be an integer or null, got {value!r}")
                checked[key] = value
            else:
                raise _unknown("fault", key, [f.name for f in fields(self) if not f.name.startswith("_")])
        for key, value in checked.items():
            setattr(self, key, value)
        if "seed" in checked:
            self._rng = random.Random(self.seed)

    def applies_to(self, operation: str) -> bool:
        return self.operations is None or operation in self.operations

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if not k.startswith("_")}


# A minute: longer than any client's timeout, so more only ties up the emulator's threads.
MAX_LATENCY_MS = 60_000.0


def _operation_names(value: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(name, str) for name in value):
        raise ValueError(f"operations must be a list of operation names or null, got {value!r}")
    known = {name for service in SERVICES for name in service_model.service_model(service).operation_names}
    unknown = sorted(set(value) - known)
    if unknown:
        raise ValueError(f"operations names unknown operations: {', '.join(unknown)}")
    return list(value)


@dataclass
class Settings:
    region: str = DEFAULT_REGION
    account: str = DEFAULT_ACCOUNT
    timing: Timing = field(default_factory=Timing)
    faults: Faults = field(default_factory=Faults)
