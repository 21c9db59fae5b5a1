"""Reconcile at scale: a full drift read and a one-user incremental change of a large organization.

Run: .venv/bin/python -m bench.reconcile_scale [--users 10000 --groups 2000 --members 10 --resources 500 --aliases 2]

The organization is built by the reconciler itself against an in-process emulator
(no HTTP, so seeding takes seconds), persisted, and then served from a separate
emulator process. Measured against that server:

(a) a full drift read (``read_full``): API calls counted by the emulator, next to the
    minimum the API allows for this organization (formula below), and the time it takes;
(b) an incremental plan and apply of a one-user change (``reconcile(incremental=True)``):
    API calls, against the target of at most 10;
(c) peak memory (max RSS) of the process doing the full read and plan.

The minimum for a full read: the API has no bulk read of aliases, quotas, permissions,
members or delegates, so besides the list pages (at the largest page size the model
allows) it takes one call per entity for each of them, plus one Describe per entity for
attributes the list operations don't return.
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.harness import machine, served
from tests.spec_factory import organization_spec, resolve_secret
from workmail_constructs.core.api import WorkMailApi
from workmail_constructs.core.reconcile import plan_changes, reconcile
from workmail_constructs.core.spec import WorkMailSpec
from workmail_constructs.local import Emulator, EmulatorControl
from workmail_constructs.local.inprocess import InProcessClient

PAGE = 100  # the largest MaxResults the WorkMail model allows for every list operation


def pages(items: int) -> int:
    """List calls for ``items`` at the largest page size; an empty list still takes one call."""
    return max(1, math.ceil(items / PAGE))


def minimum_full_read(spec: WorkMailSpec) -> int:
    """The fewest calls that read everything the plan compares, for an organization matching the spec.

    A mailbox quota is compared only where one is declared (GetMailboxDetails is the only
    way to read it: one call per user).
    """
    users = spec.users
    enabled_users = [u for u in users if u.enabled]
    groups = spec.groups
    enabled_groups = [g for g in groups if g.enabled]
    resources = spec.resources
    enabled_resources = [r for r in resources if r.enabled]
    calls = 2  # DescribeOrganization, ListTagsForResource
    calls += pages(len(spec.domains) + 1) + len(spec.domains) + 1  # ListMailDomains, GetMailDomain (+ test domain)
    calls += pages(len(users)) + len(users)  # ListUsers, DescribeUser
    calls += sum(pages(len(u.aliases)) for u in enabled_users)  # ListAliases
    calls += sum(1 for u in enabled_users if u.mailbox_quota_mb is not None)  # GetMailboxDetails
    calls += pages(len(groups)) + len(groups)  # ListGroups, DescribeGroup
    calls += sum(pages(len(g.members)) for g in groups)  # ListGroupMembers
    calls += sum(pages(len(g.aliases)) for g in enabled_groups)
    calls += pages(len(resources)) + len(resources)  # ListResources, DescribeResource
    calls += sum(pages(len(r.delegates)) for r in resources)  # ListResourceDelegates
    calls += sum(pages(len(r.aliases)) for r in enabled_resources)
    calls += len(enabled_users) + len(enabled_groups) + len(enabled_resources)  # ListMailboxPermissions
    # Access control rules, mobile rules, overrides, impersonation roles (+ one Get each),
    # retention policy, DMARC, email monitoring, availability configurations.
    calls += 1 + 1 + 1 + 1 + len(spec.impersonation_roles) + 1 + 1 + 1 + 1
    return calls


def seed(state: Path, spec: WorkMailSpec) -> tuple[str, float]:
    emulator = Emulator(state)
    emulator.settings.timing.domain_verification = 0
    try:
        started = time.perf_counter()
        result = reconcile(WorkMailApi(InProcessClient(emulator)), spec, resolve_secret=resolve_secret,
                           max_workers=4)
        if not result.ok:
            raise SystemExit(f"seeding failed: {result.failed[:3]} {result.skipped[:3]}")
        assert result.organization_id is not None
        return result.organization_id, time.perf_counter() - started
    finally:
        emulator.close()


def measure_full_read(url: str, spec_file: Path, org_id: str) -> dict[str, Any]:
    """Run the full read and plan in a fresh process, so its peak memory is its own."""
    output = subprocess.run(
        [sys.executable, "-m", "bench.reconcile_scale", "--read-only", url, str(spec_file), org_id],
        capture_output=True, text=True, check=True,
    ).stdout
    result: dict[str, Any] = json.loads(output.strip().splitlines()[-1])
    return result


def _read_only(url: str, spec_file: str, org_id: str) -> None:
    spec = WorkMailSpec.from_json(Path(spec_file).read_text())
    api = WorkMailApi.create(endpoint_url=url, region="us-east-1", aws_access_key_id="b", aws_secret_access_key="b")
    started = time.perf_counter()
    planned = plan_changes(api, spec, spec, organization_id=org_id)
    elapsed = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": elapsed, "changes": len(planned.plan.changes), "peak_mb": peak_mb,
                      "concurrency": api.concurrency.limit}))


def add_organization_arguments(parser: argparse.ArgumentParser) -> None:
    """The size of the benchmark's organization (the defaults: the 10,000-user organization)."""
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--groups", type=int, default=2_000)
    parser.add_argument("--members", type=int, default=10)
    parser.add_argument("--resources", type=int, default=500)
    parser.add_argument("--aliases", type=int, default=2)


def scale_spec(args: argparse.Namespace) -> WorkMailSpec:
    return organization_spec("scale", users=args.users, groups=args.groups, members_per_group=args.members,
                             resources=args.resources, aliases_per_user=args.aliases)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_organization_arguments(parser)
    parser.add_argument("--latency-ms", type=float, default=25.0,
                        help="latency injected for the second full read (d); 0 skips it")
    parser.add_argument("--read-only", nargs=3, metavar=("URL", "SPEC", "ORG"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.read_only:
        _read_only(*args.read_only)
        return
    spec = scale_spec(args)
    with tempfile.TemporaryDirectory() as tmp:
        state = Path(tmp) / "scale.sqlite"
        spec_file = Path(tmp) / "spec.json"
        spec_file.write_text(spec.to_json())
        org_id, seeded = seed(state, spec)
        with served(state) as url:
            control = EmulatorControl(url)
            control.reset_call_counts()
            full = measure_full_read(url, spec_file, org_id)
            counts = control.call_counts()
            read_calls = counts["total"]
            slow: dict[str, Any] | None = None
            if args.latency_ms:
                control.set_faults(latency_ms=args.latency_ms)
                slow = measure_full_read(url, spec_file, org_id)
                control.set_faults(latency_ms=0)

            changed = copy.deepcopy(spec)
            changed.users[0].display_name = "Changed by the benchmark"
            control.reset_call_counts()
            api = WorkMailApi.create(endpoint_url=url, region="us-east-1", aws_access_key_id="bench",
                                     aws_secret_access_key="bench")
            started = time.perf_counter()
            result = reconcile(api, changed, spec, resolve_secret=resolve_secret, organization_id=org_id,
                               incremental=True)
            incremental_seconds = time.perf_counter() - started
            incremental = control.call_counts()
            assert result.ok and [c.title for c in result.done] == ["update user user00000"], result
    minimum = minimum_full_read(spec)
    print(f"machine: {machine()}")
    print(f"organization: {args.users} users, {args.groups} groups x {args.members} members, "
          f"{args.resources} resources, {args.users * args.aliases} aliases; seeded in-process in {seeded:.0f} s")
    print(f"(a) full drift read + plan: {read_calls} API calls (minimum {minimum}, "
          f"ratio {read_calls / minimum:.3f}), {full['seconds']:.1f} s, plan had {full['changes']} changes")
    print(f"    calls by operation: {json.dumps(dict(sorted(counts['calls'].items())))}")
    print(f"(b) one-user change, incremental plan + apply: {incremental['total']} API calls "
          f"({json.dumps(dict(sorted(incremental['calls'].items())))}), {incremental_seconds * 1000:.0f} ms")
    print(f"(c) peak memory of the full read + plan process: {full['peak_mb']:.0f} MB")
    if slow is not None:
        print(f"(d) the same full read with {args.latency_ms:g} ms of latency per call: {slow['seconds']:.1f} s, "
              f"{slow['seconds'] / full['seconds']:.2f}x the time without (calls in flight at the end: "
              f"{slow['concurrency']}, without latency: {full['concurrency']})")


if __name__ == "__main__":
    main()
