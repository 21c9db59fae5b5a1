"""How long reading and validating a large spec takes, against ``json.loads`` of the same document.

Run: .venv/bin/python -m bench.spec_parse [--users 10000] [--repeat 7]

The constructs validate the whole spec at synth time, and the directory handler reads
both specs whole for the updates it can't narrow to their changes (and for every Create),
so this cost is paid on every deploy. The spec
is the 10,000-user organization of the reconcile benchmark (users with aliases, groups,
resources, permissions, every policy kind). Reported: ``repeat`` pairs of runs, each
pair ``json.loads`` then the work, in one process; the medians, and the median of the
pairs' ratios (target ≤ 5×).
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import time
from collections.abc import Callable

from bench.harness import machine
from tests.spec_factory import organization_spec
from workmail_constructs.core.spec import WorkMailSpec
from workmail_constructs.core.spec_reading import from_data
from workmail_constructs.core.validate import check


def seconds(work: Callable[[], object]) -> float:
    # Each run starts with nothing for the collector to catch up on, so none pays for the
    # garbage of the one before (reading pauses the collector, which would leave its debt to
    # the next run's json.loads).
    gc.collect()
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


def paired(baseline: Callable[[], object], work: Callable[[], object], repeat: int) -> tuple[float, float, float]:
    """The medians of ``baseline`` and ``work``, run in turn ``repeat`` times, and the median of
    their ratio pair by pair (a shared machine's load changes between runs far more than
    within one pair)."""
    pairs = [(seconds(baseline), seconds(work)) for _ in range(repeat)]
    return (statistics.median(b for b, _ in pairs), statistics.median(w for _, w in pairs),
            statistics.median(w / b for b, w in pairs))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    spec = organization_spec("parse", users=args.users, groups=args.users // 5, resources=args.users // 20,
                             aliases_per_user=2)
    document = spec.to_json()
    def loads() -> object:
        return json.loads(document)

    def parse() -> object:
        return from_data(WorkMailSpec, json.loads(document))

    def parse_and_check() -> None:
        check(from_data(WorkMailSpec, json.loads(document)))

    loads_only, parsed, parsed_ratio = paired(loads, parse, args.repeat)
    _, validated, validated_ratio = paired(loads, parse_and_check, args.repeat)
    print(f"machine: {machine()}")
    print(f"spec: {args.users} users, {len(spec.groups)} groups, {len(spec.resources)} resources, "
          f"{len(document) / 1e6:.1f} MB of JSON; {args.repeat} pairs, medians")
    print(f"json.loads: {loads_only * 1000:.0f} ms")
    print(f"json.loads + from_data: {parsed * 1000:.0f} ms ({parsed_ratio:.1f}x)")
    print(f"json.loads + from_data + check: {validated * 1000:.0f} ms ({validated_ratio:.1f}x, target <= 5x)")

if __name__ == "__main__":
    main()
