"""The journal that makes an export run resumable: one JSON object per line, appended and
flushed to disk before the step it records is taken or right after the service answered.

Before each StartMailboxExportJob the journal gets the request's ClientToken. WorkMail
answers a repeated token with the job it already started (API Reference,
"StartMailboxExportJob": the token makes the request idempotent), so a run killed between
the call and writing down its job id asks again with the same token on the next run and
gets that job back instead of a second one. The journal names its organization and
export target; a journal of other ones is refused rather than mixed in.

A torn last line (the process died while writing it) is ignored: the record it would have
held is written again by the run that resumes.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Any, Literal

JOURNAL_VERSION = 1

RecordType = Literal["intent", "started", "ended"]


class JournalError(ValueError):
    """The journal can't be used for this run (another organization or target, or not a journal)."""


@dataclass(frozen=True)
class Target:
    """Where the exports go: StartMailboxExportJob's members other than the mailbox."""

    organization_id: str
    bucket: str
    prefix: str
    kms_key_arn: str
    role_arn: str


@dataclass
class Entry:
    """What the journal knows of one mailbox: the last token asked with, the job it got, how it ended."""

    entity_id: str
    attempts: int = 0
    token: str | None = None
    intent_time: float | None = None
    job_id: str | None = None
    ended_state: str | None = None
    reason: str | None = None
    jobs: list[str] = field(default_factory=list)


class Journal:
    def __init__(self, path: Path, target: Target, entries: dict[str, Entry], handle: IO[str]) -> None:
        self.path = path
        self.target = target
        self.entries = entries
        self._handle = handle
        self._batched = False

    @classmethod
    def open(cls, path: Path, target: Target) -> Journal:
        """Open ``path`` for ``target``, reading what an earlier run wrote (made when missing)."""
        entries: dict[str, Entry] = {}
        lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
        header: dict[str, Any] | None = None
        for number, line in enumerate(lines, 1):
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                if number == len(lines):
                    break  # the torn last line of a run that died writing it
                raise JournalError(f"{path}: line {number} is not JSON; is this an export journal?") from None
            if header is None:
                header = record
                _check_header(path, record, target)
                continue
            _replay(entries, record)
        handle = path.open("a", encoding="utf-8")
        journal = cls(path, target, entries, handle)
        if header is None:
            if lines:
                # Only a torn header was written: start the file over.
                handle.truncate(0)
            journal._write({"journal": "workmail-mailbox-exports", "version": JOURNAL_VERSION, **asdict(target)})
        return journal

    def entry(self, entity_id: str) -> Entry:
        return self.entries.setdefault(entity_id, Entry(entity_id))

    def intent(self, entity_id: str, token: str, at: float) -> None:
        self._record({"type": "intent", "entity": entity_id, "token": token, "at": at})

    def started(self, entity_id: str, token: str | None, job_id: str) -> None:
        """``token`` None: a job found on the service (started earlier, elsewhere), taken on."""
        self._record({"type": "started", "entity": entity_id, "token": token, "job": job_id})

    def ended(self, entity_id: str, job_id: str, state: str, reason: str | None) -> None:
        self._record({"type": "ended", "entity": entity_id, "job": job_id, "state": state, "reason": reason})

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Records written in the block reach the disk together, with one fsync at its end."""
        self._batched = True
        try:
            yield
        finally:
            self._batched = False
            self._sync()

    def close(self) -> None:
        self._handle.close()

    def _record(self, record: dict[str, Any]) -> None:
        _replay(self.entries, record)
        self._write(record)

    def _write(self, record: dict[str, Any]) -> None:
        self._handle.write(json.dumps(record, separators=(",", ":")) + "\n")
        if not self._batched:
            self._sync()

    def _sync(self) -> None:
        self._handle.flush()
        # On disk before the calls it announces: a power cut must not lose a started job's token.
        os.fsync(self._handle.fileno())


def _check_header(path: Path, header: dict[str, Any], target: Target) -> None:
    if header.get("journal") != "workmail-mailbox-exports":
        raise JournalError(f"{path} is not a mailbox export journal")
    if header.get("version") != JOURNAL_VERSION:
        raise JournalError(f"{path} is a version {header.get('version')} journal; this tool writes version "
                           f"{JOURNAL_VERSION}")
    differing = [name for name, value in asdict(target).items() if header.get(name) != value]
    if differing:
        was = ", ".join(f"{name}={header.get(name)!r}" for name in differing)
        raise JournalError(f"{path} records exports with {was}; use another --journal for a different "
                           "organization or export target")


def _replay(entries: dict[str, Entry], record: dict[str, Any]) -> None:
    entry = entries.setdefault(record["entity"], Entry(record["entity"]))
    kind = record.get("type")
    if kind == "intent":
        if record["token"] != entry.token:
            entry.attempts += 1
        entry.token, entry.intent_time = record["token"], record.get("at")
        entry.job_id = entry.ended_state = entry.reason = None
    elif kind == "started":
        entry.job_id = record["job"]
        if record["job"] not in entry.jobs:
            entry.jobs.append(record["job"])
    elif kind == "ended" and record["job"] == entry.job_id:
        entry.ended_state, entry.reason = record["state"], record.get("reason")
