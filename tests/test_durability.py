"""An emulator killed with SIGKILL in the middle of a burst of writes loses none it acknowledged."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from tests.conftest import make_client
from workmail_constructs.local import EmulatorControl

WRITERS = 4
# Acknowledged writes to wait for before the kill; writers keep going while it lands.
BEFORE_KILL = 300


@contextmanager
def serving(state: Path) -> Iterator[tuple[subprocess.Popen[str], str]]:
    process = subprocess.Popen(
        [sys.executable, "-m", "workmail_constructs.cli", "emulator", "serve", "--port", "0", "--state", str(state)],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    try:
        assert process.stdout is not None
        yield process, process.stdout.readline().strip()
    finally:
        if process.poll() is None:
            process.terminate()
        process.wait(timeout=30)


def _all(client: Any, operation: str, key: str, **params: Any) -> list[dict[str, Any]]:
    return [item for page in client.get_paginator(operation).paginate(**params) for item in page[key]]


def test_every_acknowledged_write_survives_sigkill(tmp_path: Path) -> None:
    state = tmp_path / "burst.sqlite"
    acknowledged: list[tuple[str, str]] = []
    lock = threading.Lock()
    stop = threading.Event()

    with serving(state) as (process, url):
        client = make_client(url)
        org = client.create_organization(Alias="burst")["OrganizationId"]
        client.register_mail_domain(OrganizationId=org, DomainName="burst.example.com")
        EmulatorControl(url).verify_domain(org, "burst.example.com")

        def write(worker: int) -> None:
            mine = make_client(url)
            n = 0
            while not stop.is_set():
                n += 1
                name = f"w{worker}n{n}"
                try:
                    if n % 3 == 0:
                        mine.create_group(OrganizationId=org, Name=f"g-{name}")
                        done = ("group", f"g-{name}")
                    else:
                        user = mine.create_user(OrganizationId=org, Name=name, DisplayName=name)["UserId"]
                        with lock:
                            acknowledged.append(("user", name))
                        mine.register_to_work_mail(OrganizationId=org, EntityId=user,
                                                   Email=f"{name}@burst.example.com")
                        done = ("mailbox", f"{name}@burst.example.com")
                except (ClientError, BotoCoreError):
                    return  # the emulator is gone
                with lock:
                    acknowledged.append(done)

        writers = [threading.Thread(target=write, args=(w,)) for w in range(WRITERS)]
        for thread in writers:
            thread.start()
        deadline = time.monotonic() + 120
        while len(acknowledged) < BEFORE_KILL and time.monotonic() < deadline:
            time.sleep(0.01)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
        stop.set()
        for thread in writers:
            thread.join(timeout=60)
    assert len(acknowledged) >= BEFORE_KILL

    with serving(state) as (_, url):
        client = make_client(url)
        users = {u["Name"]: u for u in _all(client, "list_users", "Users", OrganizationId=org)}
        groups = {g["Name"] for g in _all(client, "list_groups", "Groups", OrganizationId=org)}
        emails = {u.get("Email") for u in users.values()}
        lost = [
            (kind, name) for kind, name in acknowledged
            if (kind == "user" and name not in users) or (kind == "group" and name not in groups)
            or (kind == "mailbox" and name not in emails)
        ]
        assert not lost, f"{len(lost)} acknowledged writes were lost: {lost[:10]}"
