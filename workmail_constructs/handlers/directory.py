"""``Custom::WorkMailDirectory``: reconciles an organization's users, groups, resources and policies.

Properties: ``OrganizationId``; the ``WorkMailSpec`` inline as ``Spec`` (a structured
object, or its JSON text) or, when large, as ``SpecLocation`` (``{"Bucket", "Key",
"Sha256"}`` of an S3 asset, refused unless the object's SHA-256 matches; ``SpecSummary``
beside it is for readers of a diff and ignored here); ``References`` (NAME → deploy-time
value for each ``$ref:NAME`` placeholder of the document); ``AllowDestructive``
("true"/"false"). The physical
id is ``<organization id>/directory``. Data: ``Created``, ``Updated`` (replacements
included), ``Deleted`` and ``Complete``.

Create and Update plan the *declared change*: the spec of ``OldResourceProperties``
against the new one, reading only what differs, so an update costs in proportion to the
change. The organization and the domains belong to their own resources: the previous
spec is given the declared organization and domains, and any organization or domain
change the planner still finds (a first deploy reads everything) is left to them.
Before either spec is read, the two documents are compared as they came
(``core.spec_delta``): when the update can be narrowed, only the entries that differ are
read and validated, against the rest, so an update's CPU time also follows its size. The
resource succeeds only when every change was applied; otherwise it fails with the
failed and skipped changes, and CloudFormation's rollback (an Update with the old and
new properties swapped) plans the way back, which converges because every step of
apply is idempotent. Destructive changes need ``AllowDestructive``, except while the
stack is rolling back (undoing the failed update's own work; see ``common.is_rollback``).

Time: a Lambda invocation lasts 15 minutes at most. ``on_event`` stops starting changes
when less than ``STOP_MARGIN_SECONDS`` are left, and answers ``Complete: "false"``; each
``is_complete`` call (the Provider polls it until its total timeout) plans again from
the current state and goes on, until a call finishes the work.

Delete leaves the directory's content in place: the organization's removal policy
decides what happens to the data.

Secrets (passwords) are read from Secrets Manager while applying, through
``common.SecretResolver``; they never reach a log line, Data or an error message.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from workmail_constructs.core.spec import WorkMailSpec

from . import common
from .common import HandlerError, Request, entry_point, log

if TYPE_CHECKING:
    from workmail_constructs.core.apply import ApplyResult, ProgressEvent
    from workmail_constructs.core.changes import AnyChange as Change
    from workmail_constructs.core.spec_delta import UnchangedEntities as Unchanged

# Stop starting changes with this much of the invocation left: a change in flight may wait
# for WorkMail (disabling an entity before deleting it) and must finish before the end.
STOP_MARGIN_SECONDS = 120
# Changes named in a failure message; the rest are counted (the message must stay short).
LISTED_FAILURES = 5
LISTED_SKIPS = 3
OWNED_ELSEWHERE = {"organization": "the Organization resource", "domain": "the Domain resources"}


@dataclass
class Outcome:
    created: int = 0
    updated: int = 0
    deleted: int = 0
    finished: bool = True

    def count(self, change: Change) -> None:
        if change.action == "create":
            self.created += 1
        elif change.action == "delete":
            self.deleted += 1
        else:
            self.updated += 1

    def data(self) -> dict[str, str]:
        return {"Created": str(self.created), "Updated": str(self.updated), "Deleted": str(self.deleted),
                "Complete": "true" if self.finished else "false"}


class _OutOfTime(Exception):
    pass


@entry_point
def on_event(event: dict[str, Any], context: Any) -> dict[str, Any]:
    request = Request.from_event(event)
    if request.request_type == "Delete":
        log.info("leave the directory of %s in place (the organization's removal policy governs its data)",
                 request.physical_id)
        return {"PhysicalResourceId": request.physical_id or ""}
    organization_id = common.organization_id(request.properties)
    outcome = _run(request, organization_id, common.Budget(context, STOP_MARGIN_SECONDS))
    return common.response(f"{organization_id}/directory", outcome.data())


@entry_point
def is_complete(event: dict[str, Any], context: Any) -> dict[str, Any]:
    request = Request.from_event(event)
    if request.request_type == "Delete":
        return common.complete()
    data = request.data
    earlier = Outcome(_count(data.get("Created")), _count(data.get("Updated")), _count(data.get("Deleted")))
    if data.get("Complete") != "false":
        return common.complete(earlier.data())
    organization_id = common.organization_id(request.properties)
    outcome = _run(request, organization_id, common.Budget(context, STOP_MARGIN_SECONDS))
    if not outcome.finished:
        return common.incomplete()
    # Calls in between that ran out of time are not counted: a call that can't finish can't
    # pass anything on (the framework allows no Data on an incomplete answer).
    total = Outcome(earlier.created + outcome.created, earlier.updated + outcome.updated,
                    earlier.deleted + outcome.deleted)
    return common.complete(total.data())


def _run(request: Request, organization_id: str, budget: common.Budget) -> Outcome:
    from workmail_constructs.core.apply import apply
    from workmail_constructs.core.plan import PlanError
    from workmail_constructs.core.reconcile import plan_changes
    from workmail_constructs.core.validate import SpecValidationError

    declared, previous, unchanged = _specs(request, organization_id)
    api = common.workmail_api()
    try:
        planned = plan_changes(api, declared, previous, organization_id=organization_id, incremental=True,
                               unchanged=unchanged)
    except SpecValidationError as exc:
        raise HandlerError(f"the directory spec is not valid: {exc}") from None
    except PlanError as exc:
        raise HandlerError(str(exc)) from None
    plan = planned.plan
    plan.changes = _own_changes(plan.changes, organization_id)
    if plan.empty:
        log.info("the directory of %s is as declared: no changes", organization_id)
        return Outcome()
    allow_destructive = common.flag(request.properties, "AllowDestructive")
    if plan.destructive and not allow_destructive:
        if not common.is_rollback(request):
            raise HandlerError(_refusal(plan.destructive))
        log.info("the stack is rolling back: allowing %d destructive change(s) that undo the failed update",
                 len(plan.destructive))
        allow_destructive = True
    outcome = Outcome(finished=False)

    def progress(event: ProgressEvent) -> None:
        if event.status == "started" and budget.running_out():
            raise _OutOfTime
        if event.status == "done":
            outcome.count(event.change)
            log.info("%s: %s", event.change.title, event.change.reason)
        elif event.status == "failed":
            log.error("%s failed: %s", event.change.title, event.message)
        elif event.status == "skipped":
            log.warning("%s %s", event.change.title, event.message)

    if budget.running_out():
        log.warning("no time left after planning %d changes; the next call goes on", len(plan.changes))
        return outcome
    try:
        result = apply(plan, api, resolve_secret=common.SecretResolver(), allow_destructive=allow_destructive,
                       on_progress=progress)
    except _OutOfTime:
        log.warning("stopping with %.0f s of this invocation left: %d of %d changes done; the next is_complete call "
                    "plans again from the current state and goes on", budget.remaining() or 0,
                    outcome.created + outcome.updated + outcome.deleted, len(plan.changes))
        return outcome
    if not result.ok:
        raise HandlerError(_failure(result))
    outcome.finished = True
    log.info("the directory of %s is as declared: %d created, %d updated, %d deleted", organization_id,
             outcome.created, outcome.updated, outcome.deleted)
    return outcome


def _own_changes(changes: list[Change], organization_id: str) -> list[Change]:
    """The changes that are this resource's: not the organization's, not the domains'."""
    kept = []
    for change in changes:
        owner = OWNED_ELSEWHERE.get(change.kind)
        if owner is None:
            kept.append(change)
            continue
        if change.kind == "organization" and change.action == "replace":
            fields = ", ".join(f"{f.name} {f.old!r} → {f.new!r}" for f in change.fields)
            raise HandlerError(
                f"the directory's spec declares an organization that is not {organization_id} ({fields}): give the "
                "directory the same organization settings as the Organization resource"
            )
        log.info("left to %s: %s (%s)", owner, change.title, change.reason)
    return kept


def _specs(request: Request, organization_id: str) -> tuple[WorkMailSpec, WorkMailSpec | None, Unchanged | None]:
    """The declared spec; the previous one (None: plan without it); and, when the update
    could be narrowed to the objects it changes (``core.spec_delta``), the entities left
    out of both."""
    from workmail_constructs.core.spec_delta import narrow

    data, references = _document(request.properties, "ResourceProperties")
    old = _previous_document(request, organization_id)
    # Other deploy-time values would change entries the two documents agree on.
    narrowed = narrow(old[0], data, references) if old is not None and old[1] == references else None
    declared: WorkMailSpec | None = None
    previous: WorkMailSpec | None = None
    if narrowed is not None:
        try:
            declared = _parse(narrowed.declared, "ResourceProperties", references)
            previous = _parse(narrowed.previous, "OldResourceProperties", references)
            log.info("the update changes %d of the spec's users, groups, resources and mailbox permissions: "
                     "reading and checking those against the rest", narrowed.size())
        except HandlerError:
            narrowed = None  # read whole, the documents' errors name their places in them
    if declared is None or narrowed is None:
        declared = _parse(data, "ResourceProperties", references)
        previous = _previous(old)
    declared.organization.organization_id = organization_id
    if previous is not None:
        # Neither is this resource's to change; equal, they keep the read incremental too.
        previous.organization = copy.deepcopy(declared.organization)
        previous.domains = copy.deepcopy(declared.domains)
    return declared, previous, narrowed.unchanged if narrowed is not None else None


def _previous_document(request: Request, organization_id: str) -> tuple[Any, dict[str, str]] | None:
    if request.request_type != "Update":
        return None
    if request.old_properties.get("OrganizationId") != organization_id:
        log.info("a new organization: planning the whole directory in %s", organization_id)
        return None
    try:
        return _document(request.old_properties, "OldResourceProperties")
    except HandlerError as exc:
        log.warning("the previous spec can't be read (%s): planning without it, so objects removed from the spec "
                    "are not deleted this time", exc)
        return None


def _previous(old: tuple[Any, dict[str, str]] | None) -> WorkMailSpec | None:
    if old is None:
        return None
    try:
        return _parse(old[0], "OldResourceProperties", old[1])
    except HandlerError as exc:
        log.warning("the previous spec can't be read (%s): planning without it, so objects removed from the spec "
                    "are not deleted this time", exc)
        return None


def _document(properties: Any, what: str) -> tuple[Any, dict[str, str]]:
    """The spec document of one set of properties, as data, and its deploy-time references."""
    inline = common.document(properties, "Spec", required=False)
    location = common.document(properties, "SpecLocation", required=False)
    if inline and location:
        raise HandlerError(f"{what} has both Spec and SpecLocation; give one")
    document: str | Mapping[str, Any]
    if location:
        document = common.read_spec_location(location)
    elif inline:
        document = inline
    else:
        raise HandlerError(f"{what} needs Spec or SpecLocation")
    # Deploy-time values travel beside the document; each set of properties has its own.
    return common.spec_data(document, f"{what}.Spec"), common.references(properties, what)


def _parse(data: Any, what: str, references: dict[str, str]) -> WorkMailSpec:
    return common.parse_spec(WorkMailSpec, data, f"{what}.Spec", references)


def _count(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def _refusal(destructive: list[Change]) -> str:
    listed = "; ".join(f"{c.title} ({common.short(c.reason, 120)})" for c in destructive[:LISTED_FAILURES])
    more = f"; and {len(destructive) - LISTED_FAILURES} more" if len(destructive) > LISTED_FAILURES else ""
    return (f"refusing {len(destructive)} destructive change(s) without AllowDestructive; nothing was changed: "
            f"{listed}{more}. Set AllowDestructive to \"true\" (allow_destructive on the construct) to apply them.")


def _failure(result: ApplyResult) -> str:
    lines = [f"{len(result.failed)} change(s) failed and {len(result.skipped)} were skipped "
             f"({len(result.done)} done):"]
    lines += [f"- {c.title}: {common.short(m, 240)}" for c, m in result.failed[:LISTED_FAILURES]]
    if len(result.failed) > LISTED_FAILURES:
        lines.append(f"- and {len(result.failed) - LISTED_FAILURES} more failed")
    lines += [f"- {c.title}: {common.short(m, 160)}" for c, m in result.skipped[:LISTED_SKIPS]]
    if len(result.skipped) > LISTED_SKIPS:
        lines.append(f"- and {len(result.skipped) - LISTED_SKIPS} more skipped")
    return "\n".join(lines)
