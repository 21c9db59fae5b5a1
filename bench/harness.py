"""Shared pieces of the benchmarks: seeding an organization fast and serving it from another process.

The emulator under test runs in its own process so that the load generator does not
share its interpreter lock: on a 2-core machine, one core serves and one core loads.
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from workmail_constructs.local import Emulator, EmulatorControl


def machine() -> str:
    return f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"


def seed_organization(
    state: Path, users: int, groups: int = 0, members_per_group: int = 0, resources: int = 0,
    aliases_per_user: int = 0,
) -> dict[str, Any]:
    """Create an Active organization with a verified domain and the given directory, in-process."""
    emulator = Emulator(state)
    try:
        org_id = emulator.call("CreateOrganization", {"Alias": "bench"})["OrganizationId"]
        domain = "bench.example.com"
        emulator.call("RegisterMailDomain", {"OrganizationId": org_id, "DomainName": domain})
        emulator.control("verify-domain", {"OrganizationId": org_id, "DomainName": domain})
        user_ids = []
        for n in range(users):
            user_id = emulator.call("CreateUser", {
                "OrganizationId": org_id, "Name": f"user{n:05d}", "DisplayName": f"User {n}",
            })["UserId"]
            emulator.call("RegisterToWorkMail", {
                "OrganizationId": org_id, "EntityId": user_id, "Email": f"user{n:05d}@{domain}",
            })
            for a in range(aliases_per_user):
                emulator.call("CreateAlias", {
                    "OrganizationId": org_id, "EntityId": user_id, "Alias": f"user{n:05d}.{a}@{domain}",
                })
            user_ids.append(user_id)
        group_ids = []
        for g in range(groups):
            group_id = emulator.call("CreateGroup", {"OrganizationId": org_id, "Name": f"group{g:04d}"})["GroupId"]
            for m in range(members_per_group):
                emulator.call("AssociateMemberToGroup", {
                    "OrganizationId": org_id, "GroupId": group_id,
                    "MemberId": user_ids[(g * members_per_group + m) % len(user_ids)],
                })
            group_ids.append(group_id)
        resource_ids = [
            emulator.call("CreateResource", {"OrganizationId": org_id, "Name": f"room{r:04d}", "Type": "ROOM"})[
                "ResourceId"
            ]
            for r in range(resources)
        ]
        return {"org_id": org_id, "domain": domain, "users": user_ids, "groups": group_ids,
                "resources": resource_ids}
    finally:
        emulator.close()


@contextmanager
def served(state: Path, *options: str) -> Iterator[str]:
    """Serve ``state`` from a separate emulator process (with ``emulator serve``'s ``options``,
    such as ``--export-seconds 0.5``); yield its endpoint URL."""
    process = subprocess.Popen(
        [sys.executable, "-m", "workmail_constructs.cli", "emulator", "serve", "--port", "0", "--state", str(state),
         *options],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        if not url.startswith("http://127.0.0.1:"):
            raise RuntimeError(f"the emulator did not start: {url!r}")
        control = EmulatorControl(url)
        deadline = time.monotonic() + 30
        while not control.health():
            if time.monotonic() > deadline:
                raise RuntimeError("the emulator did not answer")
            time.sleep(0.05)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


EXPORT_BUCKET = "workmail-exports"
EXPORT_KMS_KEY = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
EXPORT_ROLE = "arn:aws:iam::123456789012:role/WorkMailMailboxExport"


def seed_export_organization(state: Path, mailboxes: int, messages_every: int = 3) -> dict[str, Any]:
    """An organization of ``mailboxes`` users, every ``messages_every``-th with a message in its
    inbox, and the export bucket, in-process."""
    seeded = seed_organization(state, users=mailboxes)
    emulator = Emulator(state)
    try:
        emulator.control("create-s3-bucket", {"Bucket": EXPORT_BUCKET})
        for n in range(0, mailboxes, messages_every):
            raw = (f"From: partner@example.net\r\nTo: user{n:05d}@{seeded['domain']}\r\n"
                   f"Subject: Message {n}\r\n\r\nBody of message {n}.\r\n")
            emulator.control("deliver-message", {"OrganizationId": seeded["org_id"], "Raw": raw})
    finally:
        emulator.close()
    return seeded


def boto3_client(url: str) -> Any:
    import boto3
    from botocore.config import Config

    return boto3.client(
        "workmail", endpoint_url=url, region_name="us-east-1",
        aws_access_key_id="bench", aws_secret_access_key="bench",
        config=Config(retries={"max_attempts": 1}, max_pool_connections=16),
    )
