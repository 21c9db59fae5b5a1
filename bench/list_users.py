"""How long listing a 10,000-user organization page by page takes, with boto3's paginator.

Run: .venv/bin/python -m bench.list_users [--users 10000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from bench.harness import boto3_client, machine, seed_organization, served
from workmail_constructs.local import EmulatorControl


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        state = Path(tmp) / "bench.sqlite"
        started = time.perf_counter()
        seed = seed_organization(state, args.users)
        seeded = time.perf_counter() - started
        with served(state) as url:
            client = boto3_client(url)
            control = EmulatorControl(url)
            timings = []
            for _ in range(args.repeat):
                control.reset_call_counts()
                started = time.perf_counter()
                listed = 0
                paginator = client.get_paginator("list_users")
                for page in paginator.paginate(OrganizationId=seed["org_id"], PaginationConfig={"PageSize": 100}):
                    listed += len(page["Users"])
                timings.append(time.perf_counter() - started)
                calls = control.call_counts()["calls"].get("ListUsers", 0)
                if listed != args.users:
                    raise SystemExit(f"listed {listed} users, expected {args.users}")
    print(f"machine: {machine()}")
    print(f"seeded {args.users} enabled users in-process in {seeded:.1f} s")
    print(f"ListUsers, 100 per page: {calls} calls, median {statistics.median(timings):.2f} s "
          f"(runs: {', '.join(f'{t:.2f}' for t in timings)} s), "
          f"{statistics.median(timings) / calls * 1000:.1f} ms per page")


if __name__ == "__main__":
    main()
