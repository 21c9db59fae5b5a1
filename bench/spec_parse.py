"""How long reading and validating a large spec takes, against ``json.loads`` of the same document.

Run: .venv/bin/python -m bench.spec_parse [--users 10000] [--repeat 7]

The constructs validate the whole spec at synth time, and the directory handler reads
both specs whole for the updates it can't narrow to their changes (and for every Create),
so this cost is paid on every deploy. The spec
is the 10,000-user organization of the reconcile benchmark (users with aliases, groups,
resources, permissions, every policy kind). Reported: the median of ``repeat`` runs of
each, measured in one process, and their ratio (target ≤ 5×).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable

from bench.harness import machine
from tests.spec_factory import organization_spec
from workmail_constructs.core.spec import WorkMailSpec
from workmail_constructs.core.spec_reading import from_data
from workmail_constructs.core.validate import check


def median_seconds(work: Callable[[], object], repeat: int) -> float:
    runs = []
    for _ in range(repeat):
        started = time.perf_counter()
        work()
        runs.append(time.perf_counter() - started)
    return statistics.median(runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    spec = organization_spec("parse", users=args.users, groups=args.users // 5, resources=args.users // 20,
                             aliases_per_user=2)
    document = spec.to_json()
    baseline = median_seconds(lambda: json.loads(document), args.repeat)
    parsed = median_seconds(lambda: from_data(WorkMailSpec, json.loads(document)), args.repeat)
    validated = median_seconds(lambda: check(from_data(WorkMailSpec, json.loads(document))), args.repeat)
    print(f"machine: {machine()}")
    print(f"spec: {args.users} users, {len(spec.groups)} groups, {len(spec.resources)} resources, "
          f"{len(document) / 1e6:.1f} MB of JSON; median of {args.repeat}")
    print(f"json.loads: {baseline * 1000:.0f} ms")
    print(f"json.loads + from_data: {parsed * 1000:.0f} ms ({parsed / baseline:.1f}x)")
    print(f"json.loads + from_data + check: {validated * 1000:.0f} ms ({validated / baseline:.1f}x, target <= 5x)")


if __name__ == "__main__":
    main()
