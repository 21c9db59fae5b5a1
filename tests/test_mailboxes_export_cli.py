"""``workmail-cdk mailboxes export`` against an emulator process whose export jobs take half a
second, as a real organization's would take minutes: the service's limit of 10 running jobs,
a run killed midway and resumed, throttling, and the report."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bench.harness import EXPORT_BUCKET, EXPORT_KMS_KEY, EXPORT_ROLE, seed_export_organization, served
from tests.cli_runs import ENV
from tests.conftest import make_client
from workmail_constructs.local import EmulatorControl

MAILBOXES = 200
MESSAGES_EVERY = 3
JOB_SECONDS = "0.5"


@pytest.fixture
def exporting(tmp_path: Path) -> Iterator[dict[str, Any]]:
    seeded = seed_export_organization(tmp_path / "state.sqlite", MAILBOXES, MESSAGES_EVERY)
    with served(tmp_path / "state.sqlite", "--export-seconds", JOB_SECONDS) as url:
        yield {**seeded, "url": url, "dir": tmp_path}


def command(exporting: dict[str, Any], *extra: str) -> list[str]:
    return [sys.executable, "-c", "from workmail_constructs.cli import main; main()", "mailboxes", "export",
            "--organization-id", exporting["org_id"], "--bucket", EXPORT_BUCKET, "--kms-key", EXPORT_KMS_KEY,
            "--role", EXPORT_ROLE, "--endpoint-url", exporting["url"], "--region", "us-east-1",
            "--journal", str(exporting["dir"] / "run.jsonl"), *extra]


def environment(exporting: dict[str, Any]) -> dict[str, str]:
    return {**ENV, "AWS_ENDPOINT_URL_S3": exporting["url"] + "/_s3", "AWS_ACCESS_KEY_ID": "local",
            "AWS_SECRET_ACCESS_KEY": "local"}


def export(exporting: dict[str, Any], *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command(exporting, *extra), env=environment(exporting), capture_output=True, text=True,
                          timeout=300, check=False)


def jobs(exporting: dict[str, Any]) -> list[dict[str, Any]]:
    client = make_client(exporting["url"])
    found: list[dict[str, Any]] = []
    token: dict[str, str] = {}
    while True:
        page = client.list_mailbox_export_jobs(OrganizationId=exporting["org_id"], MaxResults=100, **token)
        found += page["Jobs"]
        if not page.get("NextToken"):
            return found
        token = {"NextToken": page["NextToken"]}


def assert_every_mailbox_exported_once(exporting: dict[str, Any]) -> None:
    listed = jobs(exporting)
    per_mailbox = Counter(job["EntityId"] for job in listed)
    assert set(per_mailbox) == set(exporting["users"])
    assert max(per_mailbox.values()) == 1, [e for e, n in per_mailbox.items() if n > 1]
    assert {job["State"] for job in listed} == {"COMPLETED"}
    peak = EmulatorControl(exporting["url"]).call_counts()["peaks"]["mailbox_export_jobs_running"]
    assert peak[exporting["org_id"]] <= 10


def report(exporting: dict[str, Any]) -> dict[str, Any]:
    return json.loads((exporting["dir"] / "run.json").read_text())  # type: ignore[no-any-return]


def test_all_mailboxes_export_with_at_most_ten_running_and_a_checked_report(exporting: dict[str, Any]) -> None:
    done = export(exporting, "--all")
    assert done.returncode == 0, done.stderr
    assert_every_mailbox_exported_once(exporting)
    # Ten at a time, not fewer: the limit is used, not just kept.
    peak = EmulatorControl(exporting["url"]).call_counts()["peaks"]["mailbox_export_jobs_running"]
    assert peak[exporting["org_id"]] == 10
    written = report(exporting)
    assert written["summary"] == {"mailboxes": MAILBOXES, "completed": MAILBOXES, "failed": 0, "not finished": 0,
                                  "verified": MAILBOXES, "taken on": 0}
    rows = {row["entity_id"]: row for row in written["mailboxes"]}
    with_mail = {exporting["users"][n] for n in range(0, MAILBOXES, MESSAGES_EVERY)}
    assert {e for e, row in rows.items() if row["items"] == 1} == with_mail
    assert {e for e, row in rows.items() if row["items"] == 0} == set(exporting["users"]) - with_mail
    assert all(row["s3_path"].startswith(f"{EXPORT_BUCKET}/workmail-export/") for row in rows.values())
    markdown = (exporting["dir"] / "run.md").read_text()
    assert "200 mailboxes · 200 completed · 0 failed" in markdown
    assert markdown.count("| verified |") == MAILBOXES


def test_a_killed_run_resumes_without_a_second_job_for_any_mailbox(exporting: dict[str, Any]) -> None:
    journal = exporting["dir"] / "run.jsonl"
    process = subprocess.Popen(command(exporting, "--all"), env=environment(exporting), stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    # Killed mid-run, without warning, with jobs running and others announced in the journal.
    while time.monotonic() < deadline and (not journal.exists() or journal.read_text().count('"started"') < 60):
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    started_before = len(jobs(exporting))
    assert 0 < started_before < MAILBOXES
    done = export(exporting, "--all")
    assert done.returncode == 0, done.stderr
    assert_every_mailbox_exported_once(exporting)
    assert report(exporting)["summary"]["verified"] == MAILBOXES


def test_a_start_whose_answer_was_lost_is_asked_again_with_its_token(exporting: dict[str, Any]) -> None:
    """The journal announced a start, the service started the job, the process died before
    writing the job id down: the next run gets that job back, not a second one."""
    client = make_client(exporting["url"])
    user = exporting["users"][0]
    token = "a" * 32
    job_id = client.start_mailbox_export_job(
        ClientToken=token, OrganizationId=exporting["org_id"], EntityId=user, RoleArn=EXPORT_ROLE,
        KmsKeyArn=EXPORT_KMS_KEY, S3BucketName=EXPORT_BUCKET, S3Prefix="workmail-export/")["JobId"]
    header = {"journal": "workmail-mailbox-exports", "version": 1, "organization_id": exporting["org_id"],
              "bucket": EXPORT_BUCKET, "prefix": "workmail-export/", "kms_key_arn": EXPORT_KMS_KEY,
              "role_arn": EXPORT_ROLE}
    intent = {"type": "intent", "entity": user, "token": token, "at": time.time() - 3600}
    (exporting["dir"] / "run.jsonl").write_text(json.dumps(header) + "\n" + json.dumps(intent) + "\n")
    done = export(exporting, "--entity", user)
    assert done.returncode == 0, done.stderr
    assert [job["JobId"] for job in jobs(exporting)] == [job_id]
    assert report(exporting)["mailboxes"][0]["job_id"] == job_id


def test_throttling_changes_nothing_but_the_time(exporting: dict[str, Any]) -> None:
    control = EmulatorControl(exporting["url"])
    control.set_faults(throttle_rate=0.2, seed=7)
    done = export(exporting, "--all")
    # The test's own calls below don't retry: the faults are for the command only.
    control.set_faults(throttle_rate=0.0)
    assert done.returncode == 0, done.stderr
    assert sum(control.call_counts()["injected_faults"].values()) > 50
    assert_every_mailbox_exported_once(exporting)
    assert report(exporting)["summary"]["verified"] == MAILBOXES


def test_a_refused_target_stops_the_run_and_says_which_option(exporting: dict[str, Any]) -> None:
    done = export(exporting, "--all", "--kms-key", EXPORT_KMS_KEY.replace("us-east-1", "eu-west-1"))
    assert done.returncode == 1
    assert "InvalidParameterException" in done.stderr and "eu-west-1" in done.stderr
    assert len(jobs(exporting)) == 0
    bad = export(exporting, "--all", "--prefix", "no spaces")
    assert bad.returncode == 2 and "--prefix" in bad.stderr


def test_the_archives_are_checked_against_their_manifests(exporting: dict[str, Any]) -> None:
    done = export(exporting, "--entity", "user00000@bench.example.com", "--entity", "user00003@bench.example.com")
    assert done.returncode == 0, done.stderr
    # One archive replaced by something else, one deleted: the check says so and the run exits 2.
    s3 = make_client(exporting["url"] + "/_s3", "s3")
    rows = report(exporting)["mailboxes"]
    first_key = rows[0]["s3_path"].split("/", 1)[1]
    s3.put_object(Bucket=EXPORT_BUCKET, Key=first_key, Body=b"not a zip")
    os.remove(exporting["dir"] / "run.json")
    again = export(exporting, "--entity", "user00000@bench.example.com", "--entity", "user00003@bench.example.com")
    assert again.returncode == 2
    checked = {row["mailbox"]: row for row in report(exporting)["mailboxes"]}
    assert checked["user00000@bench.example.com"]["verification"] == "inconsistent"
    assert checked["user00003@bench.example.com"]["verification"] == "verified"


def test_failed_jobs_are_retried_and_a_new_run_tries_them_again(exporting: dict[str, Any]) -> None:
    two = ("--entity", "user00001@bench.example.com", "--entity", "user00002@bench.example.com")
    # The bucket doesn't exist: each job ends FAILED when it comes to write its archive.
    failing = export(exporting, *two, "--bucket", "no-such-bucket", "--max-attempts", "2",
                     "--journal", str(exporting["dir"] / "failing.jsonl"), "--report", str(exporting["dir"] / "run"))
    assert failing.returncode == 2, failing.stderr
    assert "does not exist" in failing.stderr
    listed = jobs(exporting)
    assert len(listed) == 4 and {job["State"] for job in listed} == {"FAILED"}
    rows = report(exporting)["mailboxes"]
    assert [row["status"] for row in rows] == ["failed", "failed"]
    assert all("FAILED" in row["reason"] and "no-such-bucket" in row["reason"] for row in rows)
    # The same journal, the bucket made: the next run starts the failed ones again.
    EmulatorControl(exporting["url"]).command("create-s3-bucket", Bucket="no-such-bucket")
    retried = export(exporting, *two, "--bucket", "no-such-bucket",
                     "--journal", str(exporting["dir"] / "failing.jsonl"), "--report", str(exporting["dir"] / "run"))
    assert retried.returncode == 0, retried.stderr
    assert report(exporting)["summary"]["verified"] == 2
    assert sorted(job["State"] for job in jobs(exporting)) == ["COMPLETED"] * 2 + ["FAILED"] * 4
