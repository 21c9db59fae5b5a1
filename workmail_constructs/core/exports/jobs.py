"""Export jobs as the service reports them, and the cheapest way to learn their states.

ListMailboxExportJobs lists the jobs started in the last seven days, newest first, up to
100 a page (API Reference, "ListMailboxExportJobs"); running jobs are among the newest, so
polling them costs one call however many mailboxes a run has done. A job the listing
doesn't show any more is described on its own.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from botocore.exceptions import ClientError

from ..api import WorkMailApi
from ..errors import error_code

JobState = Literal["RUNNING", "COMPLETED", "FAILED", "CANCELLED"]
JOB_STATES: tuple[JobState, ...] = ("RUNNING", "COMPLETED", "FAILED", "CANCELLED")
# A mailbox can be exported once every 24 hours (Administrator Guide, "Exporting mailbox content").
EXPORT_INTERVAL = datetime.timedelta(hours=24)
# The listing covers the jobs started in the last seven days (API Reference, "ListMailboxExportJobs").
LISTING_WINDOW = datetime.timedelta(days=7)


@dataclass(frozen=True)
class ExportJob:
    job_id: str
    entity_id: str
    state: JobState
    start_time: datetime.datetime | None
    end_time: datetime.datetime | None
    s3_bucket: str | None
    s3_path: str | None
    progress: int
    error: str | None = None

    @classmethod
    def from_api(cls, job_id: str, item: dict[str, Any]) -> ExportJob:
        state = item.get("State")
        return cls(
            job_id=job_id,
            entity_id=str(item.get("EntityId") or ""),
            state=state if state in JOB_STATES else "FAILED",
            start_time=item.get("StartTime"),
            end_time=item.get("EndTime"),
            s3_bucket=item.get("S3BucketName"),
            s3_path=item.get("S3Path"),
            progress=int(item.get("EstimatedProgress") or 0),
            error=item.get("ErrorInfo") or (None if state in JOB_STATES else f"unknown job state {state!r}"),
        )

    def blocks_new_export(self, now: datetime.datetime) -> bool:
        """Whether this job keeps the service from starting another for its mailbox now."""
        return (self.state in ("RUNNING", "COMPLETED") and self.start_time is not None
                and now - self.start_time < EXPORT_INTERVAL)


def list_jobs(api: WorkMailApi, organization_id: str) -> list[ExportJob]:
    """Every job the listing shows (started in the last seven days), newest first."""
    return [ExportJob.from_api(item["JobId"], item)
            for item in api.paginate("ListMailboxExportJobs", "Jobs", OrganizationId=organization_id)]


def latest_by_entity(jobs: Iterable[ExportJob]) -> dict[str, ExportJob]:
    """Each mailbox's newest job."""
    latest: dict[str, ExportJob] = {}
    for job in jobs:
        kept = latest.get(job.entity_id)
        if kept is None or _started(job) > _started(kept):
            latest[job.entity_id] = job
    return latest


def latest_completed_by_entity(jobs: Iterable[ExportJob]) -> dict[str, ExportJob]:
    return latest_by_entity(job for job in jobs if job.state == "COMPLETED")


def poll(api: WorkMailApi, organization_id: str, job_ids: set[str]) -> dict[str, ExportJob]:
    """The current state of ``job_ids``: listing pages until all are seen (usually the first),
    then a DescribeMailboxExportJob for any the listing no longer shows."""
    found: dict[str, ExportJob] = {}
    if not job_ids:
        return found
    # The jobs asked about are among the newest, so a page about twice their number usually
    # holds them all and costs far less to send and parse than the largest page.
    page = min(100, max(10, 2 * len(job_ids)))
    for item in api.paginate("ListMailboxExportJobs", "Jobs", page_size=page, OrganizationId=organization_id):
        if item["JobId"] in job_ids:
            found[item["JobId"]] = ExportJob.from_api(item["JobId"], item)
            if len(found) == len(job_ids):
                break
    # The listing has no ErrorInfo (API Reference, "MailboxExportJob"): a failed job is described for its reason.
    missing = (job_ids - found.keys()) | {job_id for job_id, job in found.items() if job.state == "FAILED"
                                           and job.error is None}
    for job_id in missing:
        try:
            described = api.call("DescribeMailboxExportJob", OrganizationId=organization_id, JobId=job_id)
        except ClientError as error:
            if error_code(error) != "EntityNotFoundException":
                raise
            found[job_id] = ExportJob(job_id, "", "FAILED", None, None, None, None, 0,
                                      "the service no longer knows this job")
        else:
            found[job_id] = ExportJob.from_api(job_id, described)
    return found


def _started(job: ExportJob) -> datetime.datetime:
    return job.start_time or datetime.datetime.min.replace(tzinfo=datetime.UTC)
