"""Importing a large organization: ``workmail-cdk import`` of the reconcile benchmark's organization.

Run: .venv/bin/python -m bench.import_scale [--users 10000 --groups 2000 --members 10 --resources 500 --aliases 2]

The organization is seeded as ``bench.reconcile_scale`` seeds it (in-process, persisted) and
served from a separate emulator process. Measured against that server:

(a) the import, run as users run it (``workmail-cdk import --endpoint-url``, its own process):
    API calls counted by the emulator, next to the minimum a full read of this organization
    costs with every enabled user's quota (``core.read_cost.full_read_calls``), its wall time,
    and its peak memory (max RSS of the import process);
(b) a bare full read of the same organization in this process (``read_full``, quotas too),
    for the time the import adds to the read (writing the app and the inventory);
(c) with ``--plan``: planning the generated app against the same organization
    (``workmail-cdk plan --app "python app.py" --detailed-exitcode``), which must exit 0,
    and its wall time.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.harness import machine, served
from bench.reconcile_scale import add_organization_arguments, scale_spec, seed
from workmail_constructs.core.api import WorkMailApi
from workmail_constructs.core.read import read_full
from workmail_constructs.core.read_cost import full_read_calls
from workmail_constructs.local import EmulatorControl
from workmail_constructs.local.clients import LOCAL_CREDENTIAL_VARIABLES

CLI = [sys.executable, "-c", "from workmail_constructs.cli import main; main()"]
ENV = {**os.environ, **LOCAL_CREDENTIAL_VARIABLES, "JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION": "1",
       "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20"}


def timed(command: list[str], cwd: Path | None = None) -> tuple[float, subprocess.CompletedProcess[str]]:
    started = time.perf_counter()
    result = subprocess.run(command, cwd=cwd, env=ENV, capture_output=True, text=True, check=False)
    return time.perf_counter() - started, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_organization_arguments(parser)
    parser.add_argument("--plan", action="store_true", help="also plan the generated app (c)")
    args = parser.parse_args()
    spec = scale_spec(args)
    with tempfile.TemporaryDirectory() as tmp:
        state = Path(tmp) / "scale.sqlite"
        org_id, seeded = seed(state, spec)
        out = Path(tmp) / "imported"
        with served(state) as url:
            control = EmulatorControl(url)
            control.reset_call_counts()
            import_seconds, result = timed([*CLI, "import", "--organization-id", org_id, "--endpoint-url", url,
                                            "--region", "us-east-1", "--out", str(out)])
            if result.returncode != 0:
                raise SystemExit(f"the import failed: {result.stderr}")
            # The import is the only child waited for so far: this is its peak.
            import_peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
            counts = control.call_counts()
            api = WorkMailApi.create(endpoint_url=url, region="us-east-1", aws_access_key_id="bench",
                                     aws_secret_access_key="bench")
            started = time.perf_counter()
            actual = read_full(api, org_id, quotas=None)
            read_seconds = time.perf_counter() - started
            minimum = sum(full_read_calls(actual, quotas=None).values())
            plan_seconds: float | None = None
            if args.plan:
                plan_seconds, planned = timed([*CLI, "plan", "--app", f"{sys.executable} {out / 'app.py'}",
                                               "--endpoint-url", url, "--region", "us-east-1",
                                               "--detailed-exitcode"], cwd=Path(tmp))
                if planned.returncode != 0:
                    raise SystemExit(f"the plan of the imported app exited {planned.returncode}: "
                                     f"{planned.stdout[-2000:]}{planned.stderr[-2000:]}")
        sizes = {path.name: path.stat().st_size for path in sorted(out.iterdir())}
    print(f"machine: {machine()}")
    print(f"organization: {args.users} users, {args.groups} groups x {args.members} members, "
          f"{args.resources} resources, {args.users * args.aliases} aliases; seeded in-process in {seeded:.0f} s")
    print(f"(a) import: {counts['total']} API calls (full-read minimum {minimum}, ratio "
          f"{counts['total'] / minimum:.3f}), {import_seconds:.1f} s wall, peak memory {import_peak_mb:.0f} MB")
    print(f"    calls by operation: {json.dumps(dict(sorted(counts['calls'].items())))}")
    print(f"    files: {json.dumps(sizes)}")
    print(f"(b) bare full read in-process: {read_seconds:.1f} s (the import's process start, writing and exit: "
          f"{import_seconds - read_seconds:+.1f} s)")
    if plan_seconds is not None:
        print(f"(c) plan of the imported app (synth + full read): exit 0 in {plan_seconds:.1f} s")


if __name__ == "__main__":
    main()
