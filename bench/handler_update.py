"""What the directory handler's ``on_event`` costs for a one-user change, in a large organization
against a small one.

Run: .venv/bin/python -m bench.handler_update [--users 10000] [--repeat 15]

An organization of ``--users`` users (with groups, rooms, aliases, permissions and every
policy kind) and one of 10 users are each built in-process and served from their own
emulator process. The handler gets CloudFormation Update events, as the Provider framework
passes them (structured Spec properties, every scalar a string): one user's display name
changes, back and forth, the two organizations alternating. Reported: the median time of
``on_event`` in this process and the API calls it made, for both, and their ratio, also
per pair (targets: ≤ 3× and ≤ 10 calls).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import statistics
import tempfile
import time
import uuid
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.harness import machine, served
from tests.spec_factory import as_cloudformation_sends, organization_spec, resolve_secret
from workmail_constructs.core.api import WorkMailApi
from workmail_constructs.core.reconcile import reconcile
from workmail_constructs.core.spec import WorkMailSpec, to_data
from workmail_constructs.handlers import directory
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


@dataclass
class Organization:
    """One organization served from its own emulator process, and the two specs its events swap."""

    users: int
    spec: WorkMailSpec
    renamed: WorkMailSpec
    organization_id: str
    url: str
    runs: list[float] = dataclasses.field(default_factory=list)
    calls: list[int] = dataclasses.field(default_factory=list)

    def update(self, n: int) -> None:
        """One Update event, timed: the first user's display name changes, back and forth."""
        old, new = (self.spec, self.renamed) if n % 2 == 0 else (self.renamed, self.spec)
        request = event(self.organization_id, old, new)
        # The handler keeps one client per endpoint: switching organizations costs nothing.
        os.environ["AWS_ENDPOINT_URL_WORKMAIL"] = self.url
        control = EmulatorControl(self.url)
        control.reset_call_counts()
        started = time.perf_counter()
        answer = directory.on_event(request, None)
        self.runs.append(time.perf_counter() - started)
        self.calls.append(control.call_counts()["total"])
        assert answer["Data"]["Updated"] == "1", answer


def specs(users: int) -> tuple[WorkMailSpec, WorkMailSpec]:
    spec = organization_spec("handler", users=users, groups=max(2, users // 5), resources=max(1, users // 20),
                             aliases_per_user=2)
    renamed = dataclasses.replace(spec, users=[
        dataclasses.replace(spec.users[0], display_name="Renamed by the benchmark"), *spec.users[1:]])
    return spec, renamed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    os.environ.update(AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench", AWS_DEFAULT_REGION="us-east-1")
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        organizations = []
        for users in (10, args.users):
            state = Path(tmp) / f"state-{users}.sqlite"
            spec, renamed = specs(users)
            organization_id = seed(state, spec)
            url = stack.enter_context(served(state))
            organizations.append(Organization(users, spec, renamed, organization_id, url))
        small, large = organizations
        # A first event each warms the clients and the compiled readers; then the two
        # alternate, so a change in the machine's load hits both alike.
        small.update(0)
        large.update(0)
        small.runs.clear()
        large.runs.clear()
        for n in range(1, args.repeat + 1):
            small.update(n)
            large.update(n)
    pairs = [b / a for a, b in zip(small.runs, large.runs, strict=True)]
    print(f"machine: {machine()}")
    print(f"on_event, one-user change, {args.repeat} alternating pairs (medians):")
    for organization in organizations:
        print(f"  {organization.users} users: {statistics.median(organization.runs) * 1000:.1f} ms, "
              f"{max(organization.calls)} API calls")
    ratio = statistics.median(large.runs) / statistics.median(small.runs)
    print(f"  ratio: {ratio:.2f}x (per pair: median {statistics.median(pairs):.2f}x, {min(pairs):.2f}-"
          f"{max(pairs):.2f}x; target <= 3x, <= 10 calls)")


if __name__ == "__main__":
    main()
