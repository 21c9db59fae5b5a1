"""Exporting every mailbox of an organization: ``workmail-cdk mailboxes export --all`` against
an emulator process whose export jobs each take ``--job-seconds``.

Run: .venv/bin/python -m bench.mailbox_export [--mailboxes 200 --job-seconds 0.5 --runs 3]

With at most 10 jobs running, no export of N mailboxes can take less than
ceil(N / 10) × the job time: that lower bound is the yardstick (issue 12 target: ≤ 1.15×).
Each run seeds a fresh organization (every third mailbox holds a message) and measures:

- the command's wall time, as users run it (its own process: start-up, listing the
  mailboxes, the exports, checking every archive, writing the report);
- the export phase alone: from the first job's start to the last job's end, as the
  service recorded them in the report;
- the peak of running jobs (the emulator's gauge) and the calls the command made.

The runs are in one session on one machine; the ratio is what is compared.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

from bench.harness import EXPORT_BUCKET, EXPORT_KMS_KEY, EXPORT_ROLE, machine, seed_export_organization, served
from workmail_constructs.local import EmulatorControl
from workmail_constructs.local.clients import LOCAL_CREDENTIAL_VARIABLES

CLI = [sys.executable, "-c", "from workmail_constructs.cli import main; main()"]


def one_run(mailboxes: int, job_seconds: float) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        state = Path(tmp) / "export.sqlite"
        seeded = seed_export_organization(state, mailboxes)
        with served(state, "--export-seconds", str(job_seconds)) as url:
            env = {**os.environ, **LOCAL_CREDENTIAL_VARIABLES, "AWS_ENDPOINT_URL_S3": url + "/_s3"}
            command = [*CLI, "mailboxes", "export", "--organization-id", seeded["org_id"], "--all",
                       "--bucket", EXPORT_BUCKET, "--kms-key", EXPORT_KMS_KEY, "--role", EXPORT_ROLE,
                       "--endpoint-url", url, "--region", "us-east-1", "--journal", f"{tmp}/run.jsonl"]
            EmulatorControl(url).reset_call_counts()
            started = time.perf_counter()
            done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
            wall = time.perf_counter() - started
            if done.returncode != 0:
                raise SystemExit(f"the export failed:\n{done.stderr}")
            counts = EmulatorControl(url).call_counts()
        rows = json.loads(Path(f"{tmp}/run.json").read_text())["mailboxes"]
        first = min(datetime.fromisoformat(r["started"]) for r in rows)
        last = max(datetime.fromisoformat(r["ended"]) for r in rows)
        return {"wall": wall, "phase": (last - first).total_seconds(),
                "peak": counts["peaks"]["mailbox_export_jobs_running"][seeded["org_id"]],
                "calls": counts["total"], "verified": sum(r["verification"] == "verified" for r in rows)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mailboxes", type=int, default=200)
    parser.add_argument("--job-seconds", type=float, default=0.5)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    bound = math.ceil(args.mailboxes / 10) * args.job_seconds
    runs = [one_run(args.mailboxes, args.job_seconds) for _ in range(args.runs)]
    print(f"machine: {machine()}")
    print(f"{args.mailboxes} mailboxes, jobs of {args.job_seconds} s: lower bound ceil({args.mailboxes}/10) × "
          f"{args.job_seconds} s = {bound:.2f} s")
    for n, run in enumerate(runs, 1):
        print(f"run {n}: command {run['wall']:.2f} s ({run['wall'] / bound:.3f}×), export phase {run['phase']:.2f} s "
              f"({run['phase'] / bound:.3f}×), peak running {run['peak']:.0f}, {run['calls']:.0f} calls, "
              f"{run['verified']:.0f} verified")
    wall = statistics.median(r["wall"] for r in runs)
    phase = statistics.median(r["phase"] for r in runs)
    print(f"median: command {wall:.2f} s = {wall / bound:.3f}× the bound; export phase {phase:.2f} s = "
          f"{phase / bound:.3f}×")


if __name__ == "__main__":
    main()
