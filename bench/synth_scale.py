"""Synth time of a 10,000-user organization against an empty one, and the handler asset.

Run: .venv/bin/python -m bench.synth_scale [--repeats 10 --users 10000 --groups 2000 --aliases 2]

Each synth runs in a fresh Python process, the way ``cdk synth`` runs ``python app.py``:
interpreter and jsii start-up, declaring the organization, and ``app.synth()`` writing a
cloud assembly. The two apps differ only in the directory: the same organization with
two domains (the primary one in a Route 53 hosted zone of the same stack) and a Secrets
Manager secret of the same stack, empty or with ``users`` users (each with ``aliases``
aliases and its initial password in that secret) and ``groups`` groups of five members.
The secret's ARN and the zone's id are deploy-time values: the directory's spec refers
to them by name and they travel beside it, whatever its size. The runs alternate between
the two apps (paired runs) so that drift in the machine's load affects both alike; the
medians and their ratio are reported with the median of each pair's own ratio (target: both
within 1.10), and the CPU time of each process with its jsii kernel (Node), which other
work on a shared machine disturbs less than the wall clock.

Also measured: the handler asset (the staged ``workmail_constructs`` source the Lambda
functions run: its size against the 1 MB target, and that it holds no ``aws_cdk``
import), and the time to import each handler module in a fresh interpreter (target:
200 ms), which every cold start of a handler pays.
"""

from __future__ import annotations

import argparse
import json
import os
import resource

# Node 20 is on the machines; jsii warns about it unless told not to.
os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_route53 as route53
from aws_cdk import aws_secretsmanager as secretsmanager

from workmail_constructs.constructs import Organization
from workmail_constructs.constructs.providers import handler_code_directory

ROOT = Path(__file__).resolve().parent.parent
HANDLER_MODULES = ("provider", "organization", "domain", "directory", "email_monitoring")
SYNTH_RATIO_TARGET = 1.10
IMPORT_TARGET_SECONDS = 0.2
ASSET_TARGET_BYTES = 1_000_000


def build_stack(app: cdk.App, *, users: int = 10_000, groups: int = 2_000, aliases_per_user: int = 2,
                members_per_group: int = 5) -> tuple[cdk.Stack, Organization]:
    """A stack with one organization: two domains (the primary one in a hosted zone of the
    stack), ``users`` users (each with ``aliases_per_user`` aliases alternating between the
    domains and its password in one secret of the stack) and ``groups`` groups."""
    stack = cdk.Stack(app, "WorkMailScale")
    org = Organization(stack, "Organization", alias="scale-org")
    primary, secondary = "scale.example.com", "scale.example.net"
    zone = route53.PublicHostedZone(stack, "Zone", zone_name=primary)
    org.add_domain(primary, default=True, hosted_zone=zone)
    org.add_domain(secondary)
    passwords = secretsmanager.Secret(stack, "InitialPasswords", description="Initial passwords of the users")
    declared = []
    for n in range(users):
        declared.append(org.add_user(
            f"user{n:05d}", display_name=f"User {n}", email=f"user{n:05d}@{primary}",
            first_name="User", last_name=str(n), department=f"dept{n % 7}",
            aliases=[f"u{n:05d}.{a}@{secondary if a % 2 else primary}" for a in range(aliases_per_user)],
            password=passwords, password_json_key="initial",
        ))
    for g in range(groups):
        members = [declared[(g * members_per_group + m) % users] for m in range(members_per_group)] if users else []
        org.add_group(f"group{g:04d}", email=f"group{g:04d}@{primary}", members=members)
    return stack, org


def _child(kind: str, outdir: str, users: int, groups: int, aliases: int) -> None:
    """One synth in this (fresh) process; prints its phases as JSON."""
    started = time.perf_counter()
    app = cdk.App(outdir=outdir)
    if kind == "scale":
        build_stack(app, users=users, groups=groups, aliases_per_user=aliases)
    else:
        build_stack(app, users=0, groups=0, aliases_per_user=0)
    declared = time.perf_counter()
    assembly = app.synth()
    done = time.perf_counter()
    template = assembly.get_stack_by_name("WorkMailScale").template
    size = (Path(outdir) / "WorkMailScale.template.json").stat().st_size
    print(json.dumps({"declare": declared - started, "synth": done - declared,
                      "resources": len(template["Resources"]), "template_bytes": size}))


def _run_child(kind: str, users: int, groups: int, aliases: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="synth-scale-") as outdir:
        env = {**os.environ, "JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION": "1",
               "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20"}
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        result = subprocess.run(
            [sys.executable, "-m", "bench.synth_scale", "--child", kind, "--outdir", outdir,
             "--users", str(users), "--groups", str(groups), "--aliases", str(aliases)],
            cwd=ROOT, env=env, capture_output=True, text=True, check=True,
        )
        wall = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    phases: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    phases["wall"] = wall
    # CPU time of the process and its jsii kernel (Node): less sensitive than the wall
    # clock to other work on a shared machine.
    phases["cpu"] = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return phases


def handler_asset() -> dict[str, Any]:
    directory = handler_code_directory()
    files = [p for p in directory.rglob("*") if p.is_file()]
    cdk_imports = [str(p.relative_to(directory)) for p in files
                   if p.suffix == ".py" and ("import aws_cdk" in p.read_text() or "from aws_cdk" in p.read_text())]
    return {"bytes": sum(p.stat().st_size for p in files), "files": len(files), "aws_cdk_imports": cdk_imports}


def handler_import_seconds(module: str, repeats: int) -> float:
    """Median time to import a handler module in a fresh interpreter (aws_cdk blocked)."""
    directory = handler_code_directory()
    code = (f"import sys, time; sys.modules['aws_cdk'] = None; t = time.perf_counter(); "
            f"import workmail_constructs.handlers.{module}; print(time.perf_counter() - t)")
    times = []
    for _ in range(repeats):
        result = subprocess.run([sys.executable, "-c", code], cwd=directory, capture_output=True, text=True,
                                check=True, env={**os.environ, "PYTHONPATH": str(directory)})
        times.append(float(result.stdout.strip()))
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--groups", type=int, default=2_000)
    parser.add_argument("--aliases", type=int, default=2, help="aliases per user")
    parser.add_argument("--child", choices=("scale", "empty"), help=argparse.SUPPRESS)
    parser.add_argument("--outdir", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(args.child, args.outdir, args.users, args.groups, args.aliases)
        return

    from bench.harness import machine

    print(f"$ {Path(sys.executable).name} -m bench.synth_scale --repeats {args.repeats} --users {args.users} "
          f"--groups {args.groups} --aliases {args.aliases}")
    print(f"machine: {machine()}")
    runs: dict[str, list[dict[str, Any]]] = {"empty": [], "scale": []}
    for _ in range(args.repeats):
        for kind in ("empty", "scale"):
            runs[kind].append(_run_child(kind, args.users, args.groups, args.aliases))
    medians = {kind: {key: statistics.median(r[key] for r in results) for key in ("wall", "cpu", "declare", "synth")}
               for kind, results in runs.items()}
    pairs = [scale["wall"] / empty["wall"] for empty, scale in zip(runs["empty"], runs["scale"], strict=True)]
    scale = runs["scale"][-1]
    print(f"\nsynth in a fresh process, median of {args.repeats} (wall = interpreter start to assembly written):")
    print(f"  {'app':<28} {'wall s':>8} {'cpu s':>8} {'declare s':>10} {'synth s':>8}")
    label = f"{args.users} users/{args.groups} groups"
    for kind, name in (("empty", "empty organization"), ("scale", label)):
        m = medians[kind]
        print(f"  {name:<28} {m['wall']:>8.2f} {m['cpu']:>8.2f} {m['declare']:>10.2f} {m['synth']:>8.2f}")
    ratio = medians["scale"]["wall"] / medians["empty"]["wall"]
    per_pair = statistics.median(pairs)
    # Both readings of "the median of paired runs" must be within the target.
    verdict = "meets" if max(ratio, per_pair) <= SYNTH_RATIO_TARGET else "misses"
    print(f"  ratio of medians {ratio:.2f}x, median of the pairs' ratios {per_pair:.2f}x ({verdict} the "
          f"{SYNTH_RATIO_TARGET}x target); pairs' range {min(pairs):.2f}-{max(pairs):.2f}x; "
          f"cpu ratio {medians['scale']['cpu'] / medians['empty']['cpu']:.2f}x")
    print(f"  large app: {scale['resources']} resources (limit 500), template {scale['template_bytes']:,} bytes "
          "(limit 1,000,000)")

    asset = handler_asset()
    print(f"\nhandler asset: {asset['bytes']:,} bytes in {asset['files']} files (target <= {ASSET_TARGET_BYTES:,}); "
          f"aws_cdk imports: {asset['aws_cdk_imports'] or 'none'}")
    print("handler import in a fresh interpreter, median of 5:")
    for module in HANDLER_MODULES:
        seconds = handler_import_seconds(module, 5)
        mark = "ok" if seconds <= IMPORT_TARGET_SECONDS else "over target"
        print(f"  workmail_constructs.handlers.{module:<13} {seconds * 1000:6.0f} ms ({mark})")


if __name__ == "__main__":
    main()
