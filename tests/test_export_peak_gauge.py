"""The emulator's gauge of running mailbox export jobs: the most an organization ran at once since
the last reset, reported with the call counts (``GET /_emulator/calls``, ``workmail-cdk emulator
calls``)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError
from click.testing import CliRunner

from tests.conftest import error_code, unique
from workmail_constructs.cli import cli
from workmail_constructs.local import Emulator, EmulatorControl, Settings, Timing, running_emulator
from workmail_constructs.local import errors as emulator_errors
from workmail_constructs.local.ops.mailboxes import MAX_RUNNING_EXPORTS, RUNNING_EXPORTS_PEAK

PASSWORD = "Corr3ct-Horse!"
KMS_KEY = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
ROLE = "arn:aws:iam::123456789012:role/WorkmailMailboxExportRole"
EXPORT_SECONDS = 30.0


@pytest.fixture(scope="module")
def emulator_url() -> Iterator[str]:
    """An emulator of this module's own (it overrides conftest's), whose export jobs take 30 s, so
    jobs stay RUNNING while a test starts more; the gauge is emulator-wide, so no other test's
    jobs reach it either."""
    with running_emulator(settings=Settings(timing=Timing(export_job=EXPORT_SECONDS))) as url:
        yield url


@pytest.fixture
def bucket(control: EmulatorControl) -> str:
    name = unique("exports-")
    control.command("create-s3-bucket", Bucket=name)
    return name


def _users(client: Any, org_id: str, domain: str, count: int) -> list[str]:
    users = []
    for _ in range(count):
        name = unique("u")
        user_id = str(client.create_user(OrganizationId=org_id, Name=name, DisplayName=name,
                                         Password=PASSWORD)["UserId"])
        client.register_to_work_mail(OrganizationId=org_id, EntityId=user_id, Email=f"{name}@{domain}")
        users.append(user_id)
    return users


def _start(client: Any, org_id: str, entity: str, bucket: str) -> str:
    return str(client.start_mailbox_export_job(
        OrganizationId=org_id, EntityId=entity, RoleArn=ROLE, KmsKeyArn=KMS_KEY, S3BucketName=bucket,
        S3Prefix="exports/")["JobId"])


def _peaks(control: EmulatorControl) -> dict[str, Any]:
    return dict(control.call_counts()["peaks"])


def test_the_peak_of_three_running_jobs_until_reset(client: Any, control: EmulatorControl, org_id: str,
                                                    domain: str, bucket: str) -> None:
    users = _users(client, org_id, domain, 5)
    control.reset_call_counts()
    assert _peaks(control) == {}
    jobs = [_start(client, org_id, user, bucket) for user in users[:3]]
    assert _peaks(control) == {RUNNING_EXPORTS_PEAK: {org_id: 3}}
    # A peak is a peak: it stays when a job stops running.
    client.cancel_mailbox_export_job(OrganizationId=org_id, JobId=jobs[0])
    assert _peaks(control) == {RUNNING_EXPORTS_PEAK: {org_id: 3}}

    assert control.reset_call_counts()["peaks"] == {}
    assert _peaks(control) == {}
    # After a reset the gauge measures afresh: the cancelled job does not run, so three again, not four.
    _start(client, org_id, users[3], bucket)
    assert _peaks(control) == {RUNNING_EXPORTS_PEAK: {org_id: 3}}
    # Once the jobs have ended, a new one runs alone; the peak since the reset stays.
    control.advance_clock(EXPORT_SECONDS + 1)
    assert {job["State"] for job in client.list_mailbox_export_jobs(OrganizationId=org_id)["Jobs"]} \
        == {"CANCELLED", "COMPLETED"}
    _start(client, org_id, users[4], bucket)
    assert _peaks(control) == {RUNNING_EXPORTS_PEAK: {org_id: 3}}
    control.reset_call_counts()
    assert _peaks(control) == {}


def test_the_eleventh_start_is_refused_and_the_peak_stays_ten(client: Any, control: EmulatorControl, org_id: str,
                                                             domain: str, bucket: str) -> None:
    users = _users(client, org_id, domain, MAX_RUNNING_EXPORTS + 1)
    control.reset_call_counts()
    for count, user in enumerate(users[:MAX_RUNNING_EXPORTS], start=1):
        _start(client, org_id, user, bucket)
        assert _peaks(control) == {RUNNING_EXPORTS_PEAK: {org_id: count}}
    with pytest.raises(ClientError) as refused:
        _start(client, org_id, users[MAX_RUNNING_EXPORTS], bucket)
    assert error_code(refused) == "LimitExceededException"
    counts = control.call_counts()
    assert counts["peaks"] == {RUNNING_EXPORTS_PEAK: {org_id: MAX_RUNNING_EXPORTS}}
    assert counts["calls"]["StartMailboxExportJob"] == MAX_RUNNING_EXPORTS + 1


def test_each_organization_has_its_own_peak(client: Any, control: EmulatorControl, org_id: str, domain: str,
                                            bucket: str) -> None:
    other = str(client.create_organization(Alias=unique("org"))["OrganizationId"])
    try:
        other_domain = f"{unique('d')}.example.com"
        client.register_mail_domain(OrganizationId=other, DomainName=other_domain)
        control.verify_domain(other, other_domain)
        mine, theirs = _users(client, org_id, domain, 2), _users(client, other, other_domain, 1)
        control.reset_call_counts()
        for user in mine:
            _start(client, org_id, user, bucket)
        _start(client, other, theirs[0], bucket)
        assert _peaks(control) == {RUNNING_EXPORTS_PEAK: {org_id: 2, other: 1}}
    finally:
        client.delete_organization(OrganizationId=other, DeleteDirectory=True, ForceDelete=True)


def test_workmail_cdk_emulator_calls_prints_the_peaks(client: Any, control: EmulatorControl, emulator_url: str,
                                                      org_id: str, domain: str, bucket: str) -> None:
    users = _users(client, org_id, domain, 2)
    control.reset_call_counts()
    for user in users:
        _start(client, org_id, user, bucket)
    shown = CliRunner().invoke(cli, ["emulator", "calls", "--endpoint", emulator_url])
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.output)["peaks"] == {RUNNING_EXPORTS_PEAK: {org_id: 2}}
    reset = CliRunner().invoke(cli, ["emulator", "calls", "--endpoint", emulator_url, "--reset"])
    assert reset.exit_code == 0, reset.output
    assert json.loads(reset.output)["peaks"] == {}


# The engine's gauges, without HTTP ---------------------------------------------------------


def test_a_gauge_keeps_the_highest_value_per_key() -> None:
    emulator = Emulator()
    try:
        assert emulator.call_counts()["peaks"] == {}
        for key, value in (("a", 2), ("a", 5), ("a", 1), ("b", 0)):
            emulator.observe_peak("gauge", key, value)
        emulator.observe_peak("other", "a", 7)
        assert emulator.call_counts()["peaks"] == {"gauge": {"a": 5, "b": 0}, "other": {"a": 7}}
        emulator.reset_call_counts()
        assert emulator.call_counts()["peaks"] == {}
    finally:
        emulator.close()


def test_a_request_that_fails_leaves_no_peak() -> None:
    """What a transaction observed counts only once it commits, as its changes do."""
    emulator = Emulator()

    def observe_then_fail() -> None:
        emulator.observe_peak("gauge", "org", 9)
        raise emulator_errors.LimitExceededException("refused after all")

    try:
        with emulator.lock, pytest.raises(emulator_errors.LimitExceededException):
            emulator._atomic("test", observe_then_fail)
        assert emulator.call_counts()["peaks"] == {}
        with emulator.lock:
            emulator._atomic("test", lambda: emulator.observe_peak("gauge", "org", 4))
        assert emulator.call_counts()["peaks"] == {"gauge": {"org": 4}}
    finally:
        emulator.close()


def test_gauges_are_thread_safe() -> None:
    emulator = Emulator()
    values = list(range(2000))

    def observe(offset: int) -> None:
        for value in values[offset::8]:
            emulator.observe_peak("gauge", f"k{value % 3}", value)

    try:
        threads = [threading.Thread(target=observe, args=(offset,)) for offset in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        expected = {f"k{k}": max(v for v in values if v % 3 == k) for k in range(3)}
        assert emulator.call_counts()["peaks"] == {"gauge": expected}
    finally:
        emulator.close()
