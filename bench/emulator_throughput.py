"""How many read calls per second the emulator sustains for a mixed read workload.

Run: .venv/bin/python -m bench.emulator_throughput [--seconds 10] [--workers 2]

The emulator serves a 1,000-user organization from its own process. Load comes from
worker processes that send pre-signed-free JSON 1.1 requests over kept-alive HTTP
connections (the wire format boto3 sends, without boto3's own client-side cost), in a
fixed mix of Describe/Get/List calls. A second run drives the same mix with boto3, to
show what one boto3 client process reaches.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import random
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from bench.harness import boto3_client, machine, seed_organization, served

USERS = 1000


def workload(seed: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """The mix: one entry per call in a round, chosen to resemble a drift read."""
    org = seed["org_id"]
    rng = random.Random(1)
    calls: list[tuple[str, dict[str, Any]]] = []
    for _ in range(50):
        user = rng.choice(seed["users"])
        group = rng.choice(seed["groups"])
        calls += [
            ("DescribeUser", {"OrganizationId": org, "UserId": user}),
            ("ListAliases", {"OrganizationId": org, "EntityId": user}),
            ("GetMailboxDetails", {"OrganizationId": org, "UserId": user}),
            ("DescribeGroup", {"OrganizationId": org, "GroupId": group}),
            ("ListGroupMembers", {"OrganizationId": org, "GroupId": group}),
            ("DescribeOrganization", {"OrganizationId": org}),
            ("GetMailDomain", {"OrganizationId": org, "DomainName": seed["domain"]}),
            ("ListUsers", {"OrganizationId": org, "MaxResults": 100}),
        ]
    return calls


def _raw_worker(url: str, calls: list[tuple[str, dict[str, Any]]], seconds: float, out: Any) -> None:
    parsed = urlparse(url)
    connection = http.client.HTTPConnection(parsed.hostname or "127.0.0.1", parsed.port)
    bodies = [(op, json.dumps(params).encode()) for op, params in calls]
    done = errors = 0
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        for op, body in bodies:
            connection.request("POST", "/", body, {
                "X-Amz-Target": f"WorkMailService.{op}", "Content-Type": "application/x-amz-json-1.1",
            })
            response = connection.getresponse()
            response.read()
            done += 1
            errors += response.status != 200
    out.put((done, errors))


def raw_throughput(url: str, calls: list[tuple[str, dict[str, Any]]], seconds: float, workers: int) -> dict[str, Any]:
    queue: Any = multiprocessing.Queue()
    processes = [
        multiprocessing.Process(target=_raw_worker, args=(url, calls, seconds, queue)) for _ in range(workers)
    ]
    start = time.perf_counter()
    for process in processes:
        process.start()
    results = [queue.get() for _ in processes]
    for process in processes:
        process.join()
    elapsed = time.perf_counter() - start
    done = sum(r[0] for r in results)
    return {"calls": done, "errors": sum(r[1] for r in results), "seconds": elapsed, "per_second": done / elapsed}


def boto3_throughput(url: str, calls: list[tuple[str, dict[str, Any]]], seconds: float) -> dict[str, Any]:
    client = boto3_client(url)
    methods = {op: getattr(client, _snake(op)) for op, _ in calls}
    done = 0
    start = time.perf_counter()
    deadline = start + seconds
    while time.perf_counter() < deadline:
        for op, params in calls:
            methods[op](**params)
            done += 1
    elapsed = time.perf_counter() - start
    return {"calls": done, "errors": 0, "seconds": elapsed, "per_second": done / elapsed}


def _snake(name: str) -> str:
    return "".join("_" + c.lower() if c.isupper() else c for c in name).lstrip("_")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        state = Path(tmp) / "bench.sqlite"
        seed = seed_organization(state, USERS, groups=100, members_per_group=10)
        calls = workload(seed)
        with served(state) as url:
            raw = raw_throughput(url, calls, args.seconds, args.workers)
            via_boto3 = boto3_throughput(url, calls, args.seconds)
    print(f"machine: {machine()}")
    print(f"mixed read workload, {len({op for op, _ in calls})} operations, organization of {USERS} users")
    print(f"  raw JSON 1.1 over kept-alive HTTP, {args.workers} worker processes: "
          f"{raw['per_second']:.0f} calls/s ({raw['calls']} calls, {raw['errors']} errors, {raw['seconds']:.1f} s)")
    print(f"  one boto3 client, one thread: {via_boto3['per_second']:.0f} calls/s "
          f"({via_boto3['calls']} calls in {via_boto3['seconds']:.1f} s)")
    if raw["errors"]:
        raise SystemExit("the workload got error responses; the figure is not valid")


if __name__ == "__main__":
    main()
