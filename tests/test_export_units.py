"""The export run's parts on their own: the journal's replay, the selection of mailboxes and
the archive check (whole and by ranges)."""

from __future__ import annotations

import dataclasses
import io
import json
import zipfile
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import make_client
from workmail_constructs.core.api import WorkMailApi
from workmail_constructs.core.exports import verify
from workmail_constructs.core.exports.journal import Journal, JournalError, Target
from workmail_constructs.core.exports.mailboxes import Mailbox, SelectionError, select
from workmail_constructs.local import EmulatorControl

TARGET = Target("m-" + "0" * 32, "bucket", "exports", "arn:aws:kms:us-east-1:1:key/k", "arn:aws:iam::1:role/r")


def test_the_journal_replays_what_a_run_wrote_and_ignores_a_torn_last_line(tmp_path: Path) -> None:
    path = tmp_path / "run.jsonl"
    journal = Journal.open(path, TARGET)
    with journal.batch():
        journal.intent("u1", "t1", 1.0)
        journal.intent("u2", "t2", 1.0)
    journal.started("u1", "t1", "job-1")
    journal.ended("u1", "job-1", "FAILED", "disk full")
    journal.intent("u1", "t3", 2.0)
    journal.close()
    with path.open("a") as handle:
        handle.write('{"type": "started", "entity": "u2", "tok')
    again = Journal.open(path, TARGET)
    assert again.entries["u1"].attempts == 2 and again.entries["u1"].token == "t3"
    assert again.entries["u1"].job_id is None and again.entries["u1"].jobs == ["job-1"]
    assert again.entries["u2"].token == "t2" and again.entries["u2"].job_id is None
    again.close()


def test_a_journal_of_another_target_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "run.jsonl"
    Journal.open(path, TARGET).close()
    other = dataclasses.replace(TARGET, bucket="other-bucket")
    with pytest.raises(JournalError, match="bucket='bucket'"):
        Journal.open(path, other)
    (tmp_path / "notes.txt").write_text("shopping list\nmilk\n")
    with pytest.raises(JournalError, match="line 1 is not JSON"):
        Journal.open(tmp_path / "notes.txt", TARGET)


def test_mailboxes_are_chosen_by_id_email_or_name_once_each() -> None:
    boxes = [Mailbox("S-1", "user", "alice", "alice@example.com"), Mailbox("r-2", "resource", "Room", None)]
    assert select(boxes, ["ALICE@example.com", "S-1", "room"]) == boxes
    with pytest.raises(SelectionError, match="'bob', 'carol'"):
        select(boxes, ["bob", "alice", "carol"])


def archive(messages: dict[str, bytes], manifest: dict[str, Any] | None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as made:
        for name, content in messages.items():
            made.writestr(name, content)
        if manifest is not None:
            made.writestr("manifest.json", json.dumps(manifest))
    return buffer.getvalue()


def manifest_of(messages: dict[str, bytes], **changes: Any) -> dict[str, Any]:
    return {"totalMessages": str(len(messages)), "totalBytes": str(sum(map(len, messages.values()))),
            "startTime": "1000", "endTime": "2000", "sha384Hash": "", "totalFolders": "1",
            "totalNonExportableItems": "0", **changes}


@pytest.mark.parametrize("ranged", [False, True])
def test_an_archive_is_checked_against_its_manifest(
    emulator_url: str, control: EmulatorControl, monkeypatch: pytest.MonkeyPatch, ranged: bool,
) -> None:
    if ranged:
        # Every archive read by ranges, as a large one is.
        monkeypatch.setattr(verify, "WHOLE_READ_BYTES", 0)
    client = make_client(emulator_url + "/_s3", "s3")
    s3 = WorkMailApi(client, service="s3")
    bucket = f"check-{'ranged' if ranged else 'whole'}"
    control.command("create-s3-bucket", Bucket=bucket)
    messages = {f"INBOX/{n}.eml": bytes(range(256)) * (n + 1) for n in range(40)}
    cases = {
        "good": (archive(messages, manifest_of(messages)), "verified", ""),
        "count": (archive(messages, manifest_of(messages, totalMessages="41")), "inconsistent", "totalMessages 41"),
        "bytes": (archive(messages, manifest_of(messages, totalBytes="1")), "inconsistent", "totalBytes 1"),
        "times": (archive(messages, manifest_of(messages, endTime="1")), "inconsistent", "endTime is before"),
        "none": (archive(messages, None), "inconsistent", "no manifest.json"),
        "junk": (b"not a zip at all", "inconsistent", "not a readable export archive"),
    }
    for key, (body, _, _) in cases.items():
        client.put_object(Bucket=bucket, Key=key, Body=body)
    for key, (_, status, detail) in cases.items():
        checked = verify.verify_export(s3, bucket, key)
        assert (checked.status, detail in checked.detail) == (status, True), (key, checked)
    good = verify.verify_export(s3, bucket, "good")
    assert (good.items, good.size_bytes) == (40, sum(map(len, messages.values())))
    assert verify.verify_export(s3, bucket, "gone").status == "missing"
    calls = control.call_counts()["calls"]
    # By ranges, the archive's directory and manifest are read, not its 200 KB of mail.
    assert calls.get("s3.GetObject", 0) > (len(cases) if ranged else 0)


def test_a_jobs_s3_path_names_its_bucket_and_key() -> None:
    assert verify.s3_location("bucket/exports/job.zip", "bucket") == ("bucket", "exports/job.zip")
    assert verify.s3_location("s3://bucket/exports/job.zip", "bucket") == ("bucket", "exports/job.zip")
    assert verify.s3_location("exports/job.zip", "bucket") == ("bucket", "exports/job.zip")
