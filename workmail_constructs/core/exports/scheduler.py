"""The export run: every chosen mailbox exported once, with at most N jobs running.

It keeps the service's rules (Administrator Guide, "Exporting mailbox content"): no more
than 10 jobs run at once in an organization (jobs someone else started count too), and a
mailbox exported in the last 24 hours isn't exported again: its job is taken on instead.
The next job starts as soon as one ends. Throttling and server errors are retried by the
API client; a FAILED job is started again, up to ``max_attempts`` jobs per mailbox in a run
(a new run of the same journal tries the failed ones again).

Polling follows the jobs' own progress: the next look is when the soonest running job is
expected to end (from its EstimatedProgress, or from how long this run's jobs took),
never sooner than ``min_poll`` and, for a job past its expected end, after a tenth of its
age, so a minutes-long real export is looked at rarely and a short one is noticed at once.

Every step goes through the journal first (``journal.py``), which makes a killed run
resumable without a second job for any mailbox.
"""

from __future__ import annotations

import datetime
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from botocore.exceptions import ClientError

from ..api import WorkMailApi
from ..errors import error_code
from .jobs import ExportJob, latest_by_entity, list_jobs, poll
from .journal import Journal
from .mailboxes import Mailbox

# At most 10 export jobs run at once in an organization (Administrator Guide, "Exporting mailbox content").
SERVICE_MAX_RUNNING = 10
# A job the journal announced counts as the one the service started if it began no earlier
# than this before the announcement (clock skew between this machine and the service).
CLOCK_SKEW = datetime.timedelta(minutes=5)
# Errors that say the mailbox itself can't be exported; anything else is about the target
# (bucket, key, role, permissions) and would fail every mailbox alike, so the run stops.
MAILBOX_ERRORS = frozenset({"EntityNotFoundException", "EntityStateException"})
# A mailbox the service keeps refusing with LimitExceeded for no reason the listing shows
# (a quota this tool doesn't know) is given up after this many tries, not asked forever.
MAX_UNEXPLAINED_REFUSALS = 20

MailboxStatus = Literal["pending", "running", "completed", "failed"]
STATUSES: tuple[MailboxStatus, ...] = ("pending", "running", "completed", "failed")


class ExportAborted(RuntimeError):
    """The service refused the export target itself; no further job would start."""


@dataclass(frozen=True)
class Settings:
    concurrency: int = SERVICE_MAX_RUNNING
    max_attempts: int = 3
    min_poll: float = 0.02
    max_poll: float = 30.0
    description: str = "workmail-cdk mailboxes export"

    def __post_init__(self) -> None:
        if not 1 <= self.concurrency <= SERVICE_MAX_RUNNING:
            raise ValueError(f"concurrency must be 1 to {SERVICE_MAX_RUNNING}, not {self.concurrency}")
        if self.max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, not {self.max_attempts}")


@dataclass
class MailboxExport:
    """One mailbox's export as the run knows it."""

    mailbox: Mailbox
    status: MailboxStatus = "pending"
    job: ExportJob | None = None
    # A job started before this run (by an earlier run, the console or anyone), taken on.
    taken_on: bool = False
    # Jobs this run started or picked up for the mailbox.
    attempts: int = 0
    reason: str | None = None
    # The token to start with again: a start the journal announced whose answer was lost.
    resume_token: str | None = None
    # time.monotonic() when this run started or took on the job.
    since: float = 0.0
    # LimitExceeded answers that neither running jobs nor the 24-hour rule explained.
    unexplained_refusals: int = 0


@dataclass(frozen=True)
class Progress:
    counts: dict[MailboxStatus, int]
    total: int
    eta_seconds: float | None
    failed: tuple[MailboxExport, ...] = ()


@dataclass
class _Durations:
    total: float = 0.0
    count: int = 0

    def add(self, seconds: float) -> None:
        self.total += seconds
        self.count += 1

    @property
    def mean(self) -> float | None:
        return self.total / self.count if self.count else None


@dataclass
class ExportRun:
    api: WorkMailApi
    journal: Journal
    mailboxes: list[Mailbox]
    settings: Settings = field(default_factory=Settings)
    on_progress: Callable[[Progress], None] | None = None
    # Called for each export as it completes (to check its archive while others run).
    on_completed: Callable[[MailboxExport], None] | None = None
    sleep: Callable[[float], None] = time.sleep
    monotonic: Callable[[], float] = time.monotonic
    now: Callable[[], datetime.datetime] = lambda: datetime.datetime.now(datetime.UTC)

    def __post_init__(self) -> None:
        self.exports = {m.entity_id: MailboxExport(m) for m in self.mailboxes}
        self.pending: deque[MailboxExport] = deque()
        self.running: dict[str, MailboxExport] = {}
        # Jobs of this organization that this run didn't start, still running: they hold slots.
        self.others: set[str] = set()
        self.durations = _Durations()

    @property
    def organization_id(self) -> str:
        return self.journal.target.organization_id

    def run(self) -> list[MailboxExport]:
        self._take_stock()
        self._report()
        while self.pending or self.running:
            self._fill()
            if not self.pending and not self.running:
                break
            self.sleep(self._next_look())
            self._look()
        return list(self.exports.values())

    # Before the first job: what the journal and the service already know ------------------

    def _take_stock(self) -> None:
        listed = list_jobs(self.api, self.organization_id)
        by_id = {job.job_id: job for job in listed}
        latest = latest_by_entity(listed)
        now, clock = self.now(), self.monotonic()
        self.others = {job.job_id for job in listed if job.state == "RUNNING"}
        unknown: dict[str, MailboxExport] = {}
        with self.journal.batch():
            for export in self.exports.values():
                entry = self.journal.entries.get(export.mailbox.entity_id)
                # A job the journal knows (or asked for) is this run's first attempt.
                export.attempts = 1 if entry and (entry.job_id or entry.token) else 0
                if entry and entry.job_id:
                    job = by_id.get(entry.job_id)
                    if job is None:
                        unknown[entry.job_id] = export
                    else:
                        self._settle(export, job, clock, taken_on=False)
                    continue
                newest = latest.get(export.mailbox.entity_id)
                if entry and entry.token and entry.intent_time is not None:
                    announced = datetime.datetime.fromtimestamp(entry.intent_time, datetime.UTC) - CLOCK_SKEW
                    if newest and newest.start_time and newest.start_time >= announced:
                        # The start went through; only its answer was lost.
                        self.journal.started(export.mailbox.entity_id, entry.token, newest.job_id)
                        self._settle(export, newest, clock, taken_on=False)
                    else:
                        export.resume_token = entry.token
                        self.pending.append(export)
                    continue
                if newest and newest.blocks_new_export(now):
                    self.journal.started(export.mailbox.entity_id, None, newest.job_id)
                    self._settle(export, newest, clock, taken_on=True)
                else:
                    self.pending.append(export)
            if unknown:
                for job_id, job in poll(self.api, self.organization_id, set(unknown)).items():
                    self._settle(unknown[job_id], job, clock, taken_on=False)
        self.others -= self.running.keys()

    def _settle(self, export: MailboxExport, job: ExportJob, clock: float, *, taken_on: bool) -> None:
        """Put a mailbox where its job says: running, done, or to be tried again."""
        export.job, export.taken_on, export.since = job, taken_on, clock
        if job.state == "RUNNING":
            export.status = "running"
            self.running[job.job_id] = export
        elif job.state == "COMPLETED":
            export.status = "completed"
            if self.on_completed is not None:
                self.on_completed(export)
        else:
            self._retry_or_fail(export, job)

    def _retry_or_fail(self, export: MailboxExport, job: ExportJob) -> None:
        why = f"job {job.job_id} {job.state}" + (f": {job.error}" if job.error else "")
        if export.attempts < self.settings.max_attempts:
            export.status, export.reason = "pending", why
            self.pending.append(export)
        else:
            export.status, export.reason = "failed", why

    # Starting jobs ------------------------------------------------------------------------------

    def _free_slots(self) -> int:
        ours = len(self.running)
        return max(0, min(self.settings.concurrency - ours, SERVICE_MAX_RUNNING - ours - len(self.others)))

    def _fill(self) -> int:
        """Start as many jobs as there are free slots; how many started."""
        batch = [self.pending.popleft() for _ in range(min(self._free_slots(), len(self.pending)))]
        if not batch:
            return 0
        tokens = {e.mailbox.entity_id: e.resume_token or uuid.uuid4().hex for e in batch}
        for export in batch:
            if export.resume_token is None:
                export.attempts += 1
        at = time.time()
        with self.journal.batch():
            for export in batch:
                self.journal.intent(export.mailbox.entity_id, tokens[export.mailbox.entity_id], at)
        answers = self.api.map_concurrent(lambda e: self._start(e, tokens[e.mailbox.entity_id]), batch,
                                          max_workers=len(batch))
        started = 0
        refused: list[tuple[MailboxExport, str]] = []
        clock = self.monotonic()
        with self.journal.batch():
            for export, answer in zip(batch, answers, strict=True):
                export.resume_token = None
                if isinstance(answer, str):
                    started += 1
                    token = tokens[export.mailbox.entity_id]
                    self.journal.started(export.mailbox.entity_id, token, answer)
                    job = ExportJob(answer, export.mailbox.entity_id, "RUNNING", self.now(), None, None, None, 0)
                    self._settle(export, job, clock, taken_on=False)
                elif error_code(answer) == "LimitExceededException":
                    refused.append((export, _message(answer)))
                elif error_code(answer) in MAILBOX_ERRORS:
                    export.status, export.reason = "failed", _message(answer)
                else:
                    raise ExportAborted(f"StartMailboxExportJob for {export.mailbox.label}: {_message(answer)}")
        if refused:
            self._refused(refused)
        self._report()
        return started

    def _start(self, export: MailboxExport, token: str) -> str | ClientError:
        target = self.journal.target
        try:
            answer = self.api.call(
                "StartMailboxExportJob", ClientToken=token, OrganizationId=target.organization_id,
                EntityId=export.mailbox.entity_id, Description=self.settings.description,
                RoleArn=target.role_arn, KmsKeyArn=target.kms_key_arn, S3BucketName=target.bucket,
                S3Prefix=target.prefix,
            )
        except ClientError as error:
            return error
        return str(answer["JobId"])

    def _refused(self, refused: list[tuple[MailboxExport, str]]) -> None:
        """LimitExceeded means the organization runs 10 jobs (others started some) or the
        mailbox was exported in the last 24 hours; the listing tells which."""
        listed = list_jobs(self.api, self.organization_id)
        latest = latest_by_entity(listed)
        now, clock = self.now(), self.monotonic()
        self.others = {job.job_id for job in listed if job.state == "RUNNING"} - self.running.keys()
        with self.journal.batch():
            for export, message in reversed(refused):
                newest = latest.get(export.mailbox.entity_id)
                if newest and newest.blocks_new_export(now):
                    self.journal.started(export.mailbox.entity_id, None, newest.job_id)
                    self._settle(export, newest, clock, taken_on=True)
                    continue
                if not self.others:
                    export.unexplained_refusals += 1
                if export.unexplained_refusals >= MAX_UNEXPLAINED_REFUSALS:
                    export.status, export.reason = "failed", f"refused {export.unexplained_refusals} times: {message}"
                else:
                    # Asked again at the next free slot.
                    self.pending.appendleft(export)

    # Watching jobs ------------------------------------------------------------------------------

    def _next_look(self) -> float:
        clock = self.monotonic()
        soonest = self.settings.max_poll
        for export in self.running.values():
            age = clock - export.since
            progress = export.job.progress if export.job else 0
            expected = age * 100 / progress if 0 < progress < 100 else (self.durations.mean or 2 * age)
            left = expected - age
            soonest = min(soonest, left if left > 0 else age / 10)
        if not self.running:
            soonest = self.settings.min_poll * 10
        return max(self.settings.min_poll, min(self.settings.max_poll, soonest))

    def _look(self) -> None:
        states = poll(self.api, self.organization_id, set(self.running) | self.others)
        clock = self.monotonic()
        ended: list[tuple[MailboxExport, ExportJob]] = []
        for job_id, job in states.items():
            if job_id in self.others:
                if job.state != "RUNNING":
                    self.others.discard(job_id)
                continue
            export = self.running[job_id]
            export.job = job
            if job.state != "RUNNING":
                ended.append((export, job))
        if not ended:
            return
        with self.journal.batch():
            for export, job in ended:
                del self.running[job.job_id]
                self.journal.ended(export.mailbox.entity_id, job.job_id, job.state, job.error)
                if not export.taken_on:
                    self.durations.add(_duration(job) or clock - export.since)
                self._settle(export, job, clock, taken_on=export.taken_on)
        self._report(failed=tuple(e for e, _ in ended if e.status == "failed"))

    # Progress -------------------------------------------------------------------------------------

    def _report(self, failed: tuple[MailboxExport, ...] = ()) -> None:
        if self.on_progress is None:
            return
        counts: dict[MailboxStatus, int] = dict.fromkeys(STATUSES, 0)
        for export in self.exports.values():
            counts[export.status] += 1
        self.on_progress(Progress(counts, len(self.exports), self._eta(counts), failed))

    def _eta(self, counts: dict[MailboxStatus, int]) -> float | None:
        mean = self.durations.mean
        if mean is None:
            return None
        waves = -(-counts["pending"] // self.settings.concurrency)
        clock = self.monotonic()
        running_left = max((max(0.0, mean - (clock - e.since)) for e in self.running.values()), default=0.0)
        return running_left + waves * mean


def _duration(job: ExportJob) -> float | None:
    """How long the job ran, as the service timed it: what this run sees also holds the lag
    of its own polling, which would make each expected end later than the last."""
    if job.start_time is None or job.end_time is None:
        return None
    return max(0.0, (job.end_time - job.start_time).total_seconds())


def _message(error: ClientError) -> str:
    details = error.response.get("Error", {})
    return f"{details.get('Code', 'Error')}: {details.get('Message', '')}".rstrip(": ")
