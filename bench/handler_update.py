"""What the directory handler's ``on_event`` costs for a one-user change, in a large organization
against a small one.

Run: .venv/bin/python -m bench.handler_update [--users 10000] [--repeat 5]

An organization of ``--users`` users (with groups, rooms, aliases, permissions and every
policy kind) and one of 10 users are each built in-process and served from their own
emulator process. The handler gets CloudFormation Update events, as the Provider framework
passes them (structured Spec properties, every scalar a string): one user's display name
changes, back and forth. Reported: the median time of ``on_event`` in this process and the
API calls it made, for both, and their ratio (targets: ≤ 3× and ≤ 10 calls).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from bench.harness import machine, served
from tests.spec_factory import as_cloudformation_sends, organization_spec, resolve_secret
from workmail_constructs.core.api import WorkMailApi
from workmail_constructs.core.reconcile import reconcile
from workmail_constructs.core.spec import WorkMailSpec, to_data
from workmail_constructs.handlers import common, directory
from workmail_constructs.local import Emulator, EmulatorControl
from workmail_constructs.local.inprocess import InProcessClient


def seed(state: Path, spec: WorkMailSpec) -> str:
    emulator = Emulator(state)
    emulator.settings.timing.domain_verification = 0
    try:
        result = reconcile(WorkMailApi(InProcessClient(emulator)), spec, resolve_secret=resolve_secret)
        assert result.ok and result.organization_id, result.failed[:3]
        return result.organization_id
    finally:
        emulator.close()


def event(organization_id: str, old: WorkMailSpec, new: WorkMailSpec) -> dict[str, Any]:
    def properties(spec: WorkMailSpec) -> dict[str, Any]:
        return {"OrganizationId": organization_id, "Spec": as_cloudformation_sends(to_data(spec)),
                "AllowDestructive": "false"}

    return {
        "RequestType": "Update", "RequestId": str(uuid.uuid4()), "ResourceType": "Custom::WorkMailDirectory",
        "StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/bench/1", "LogicalResourceId": "Directory",
        "PhysicalResourceId": f"{organization_id}/directory",
        "ResourceProperties": properties(new), "OldResourceProperties": properties(old),
    }


def measure(users: int, repeat: int) -> tuple[float, int]:
    spec = organization_spec("handler", users=users, groups=max(2, users // 5), resources=max(1, users // 20),
                             aliases_per_user=2)
    renamed = dataclasses.replace(spec, users=[
        dataclasses.replace(spec.users[0], display_name="Renamed by the benchmark"), *spec.users[1:]])
    with tempfile.TemporaryDirectory() as tmp:
        state = Path(tmp) / "state.sqlite"
        organization_id = seed(state, spec)
        with served(state) as url:
            os.environ["AWS_ENDPOINT_URL_WORKMAIL"] = url
            common._clients.clear()
            control = EmulatorControl(url)
            runs: list[float] = []
            calls: list[int] = []
            for n in range(repeat):
                old, new = (spec, renamed) if n % 2 == 0 else (renamed, spec)
                request = event(organization_id, old, new)
                control.reset_call_counts()
                started = time.perf_counter()
                answer = directory.on_event(request, None)
                runs.append(time.perf_counter() - started)
                calls.append(control.call_counts()["total"])
                assert answer["Data"]["Updated"] == "1", answer
    return statistics.median(runs), max(calls)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    os.environ.update(AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench", AWS_DEFAULT_REGION="us-east-1")
    small = measure(10, args.repeat)
    large = measure(args.users, args.repeat)
    print(f"machine: {machine()}")
    print(f"on_event, one-user change, median of {args.repeat}:")
    print(f"  10 users: {small[0] * 1000:.0f} ms, {small[1]} API calls")
    print(f"  {args.users} users: {large[0] * 1000:.0f} ms, {large[1]} API calls")
    print(f"  ratio: {large[0] / small[0]:.2f}x (target <= 3x, <= 10 calls)")


if __name__ == "__main__":
    main()
