"""The report of an export run: every mailbox with its job, state, items, size and S3 path,
as JSON (for scripts and for ``decommission``'s reader) and Markdown (for a pull request or a
ticket)."""

from __future__ import annotations

import datetime
import json
from collections import Counter
from typing import Any

from .journal import Target
from .scheduler import MailboxExport
from .verify import Verification


def rows(exports: list[MailboxExport], verifications: dict[str, Verification]) -> list[dict[str, Any]]:
    made = []
    for export in sorted(exports, key=lambda e: e.mailbox.label.lower()):
        job = export.job
        check = verifications.get(export.mailbox.entity_id)
        made.append({
            "mailbox": export.mailbox.label,
            "entity_id": export.mailbox.entity_id,
            "kind": export.mailbox.kind,
            "status": export.status,
            "job_id": job.job_id if job else None,
            "job_state": job.state if job else None,
            "taken_on": export.taken_on,
            "started": _time(job.start_time) if job else None,
            "ended": _time(job.end_time) if job else None,
            "s3_path": job.s3_path if job else None,
            "items": check.items if check else None,
            "size_bytes": check.size_bytes if check else None,
            "archive_bytes": check.object_bytes if check else None,
            "verification": check.status if check else "not checked",
            "verification_detail": check.detail if check else "",
            "reason": export.reason if export.status == "failed" else None,
        })
    return made


def summary(table: list[dict[str, Any]]) -> dict[str, int]:
    counts = Counter(row["status"] for row in table)
    return {
        "mailboxes": len(table),
        "completed": counts["completed"],
        "failed": counts["failed"],
        "not finished": counts["pending"] + counts["running"],
        "verified": sum(row["verification"] == "verified" for row in table),
        "taken on": sum(bool(row["taken_on"]) for row in table),
    }


def as_json(target: Target, table: list[dict[str, Any]]) -> str:
    return json.dumps({
        "organization_id": target.organization_id,
        "bucket": target.bucket,
        "prefix": target.prefix,
        "kms_key_arn": target.kms_key_arn,
        "role_arn": target.role_arn,
        "summary": summary(table),
        "mailboxes": table,
    }, indent=2) + "\n"


def as_markdown(target: Target, table: list[dict[str, Any]], note: str = "") -> str:
    totals = summary(table)
    lines = [
        f"# Mailbox exports of {target.organization_id}",
        "",
        f"To `s3://{target.bucket}/{target.prefix}`, encrypted with `{target.kms_key_arn}`.",
        "",
        " · ".join(f"{value} {name}" for name, value in totals.items()),
        "",
    ]
    if note:
        lines += [note, ""]
    lines += ["| Mailbox | Status | Job | Items | Size (bytes) | Verification | S3 path |",
              "|---|---|---|---:|---:|---|---|"]
    for row in table:
        status = row["status"] + (" (taken on)" if row["taken_on"] else "")
        if row["reason"]:
            status += f": {row['reason']}"
        check = row["verification"] + (f": {row['verification_detail']}" if row["verification_detail"] else "")
        lines.append("| " + " | ".join(_cell(v) for v in (
            row["mailbox"], status, row["job_id"] or "", row["items"] if row["items"] is not None else "",
            row["size_bytes"] if row["size_bytes"] is not None else "", check, row["s3_path"] or "",
        )) + " |")
    return "\n".join(lines) + "\n"


def _time(value: datetime.datetime | None) -> str | None:
    return value.isoformat() if value else None


def _cell(value: object) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")
