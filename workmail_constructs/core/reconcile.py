"""The reconcile cycle in one call: validate → read → plan → apply.

Handlers, the CLI and the local deploy all go through here, so they validate, read and
plan the same way. ``plan_changes`` stops before apply, for previews and drift checks.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .api import WorkMailApi
from .apply import ApplyResult, ProgressEvent, Timeouts, apply
from .changes import Plan
from .plan import PlanError, compared_quotas, incremental_scope, plan
from .read import WORKMAIL_DIRECTORY, read_full, read_organization, read_scoped
from .spec import SecretRef, WorkMailSpec
from .spec_delta import UnchangedEntities
from .state import ActualState
from .validate import check


@dataclass
class Planned:
    plan: Plan
    actual: ActualState


def plan_changes(
    api: WorkMailApi,
    declared: WorkMailSpec | None,
    previous: WorkMailSpec | None = None,
    *,
    organization_id: str | None = None,
    incremental: bool = False,
    max_workers: int | None = None,
    unchanged: UnchangedEntities | None = None,
) -> Planned:
    """Read what the plan needs and plan.

    ``incremental`` reads only what differs between ``previous`` and ``declared`` (the
    custom-resource handler's case, where cost must follow the size of the change);
    otherwise the whole organization is read, which also finds drift. ``unchanged``: the
    two specs are narrowed to the change (``spec_delta.narrow``), and these entities, left
    out of both, are declared too.
    """
    if declared is not None:
        # Read with care: the spec is not checked yet, and may not even be of its types.
        organization_id = organization_id or getattr(declared.organization, "organization_id", None)
    actual = ActualState()
    scope = incremental_scope(previous, declared) if incremental and declared is not None else None
    # An organization that exists (one adopted, say) has domains and users the spec may use
    # without declaring them; a full read finds them all, so the spec is checked against
    # them after it. Otherwise the spec is checked before anything is read.
    check_after_read = declared is not None and isinstance(organization_id, str) and scope is None
    if declared is not None and not check_after_read:
        check(declared, unchanged=unchanged)
    if unchanged is not None and scope is None:
        # Planned whole, a narrowed spec would read as the removal of everything it leaves out.
        raise PlanError("a spec narrowed to its changes can only be planned incrementally, against its previous spec")
    if organization_id:
        if scope is not None:
            actual = read_scoped(api, organization_id, scope, max_workers=max_workers)
        elif declared is None:
            # Removing the spec touches at most the organization itself.
            actual = ActualState(organization=read_organization(api, organization_id))
        else:
            actual = read_full(api, organization_id, max_workers=max_workers, quotas=compared_quotas(declared))
    if check_after_read and declared is not None:
        check(declared, unchanged=unchanged, existing_domains=actual.domains,
              existing_entities=[*actual.users, *actual.groups, *actual.resources],
              directory_type=(actual.organization.directory_type or WORKMAIL_DIRECTORY) if actual.organization
              else WORKMAIL_DIRECTORY)
    return Planned(plan(declared, actual, previous, scope=scope), actual)


def reconcile(
    api: WorkMailApi,
    declared: WorkMailSpec | None,
    previous: WorkMailSpec | None = None,
    *,
    resolve_secret: Callable[[SecretRef], str],
    organization_id: str | None = None,
    allow_destructive: bool = False,
    incremental: bool = False,
    max_workers: int | None = None,
    on_progress: Callable[[ProgressEvent], None] | None = None,
    timeouts: Timeouts | None = None,
) -> ApplyResult:
    """Make the organization match ``declared`` and say exactly what was done.

    A new organization comes with things WorkMail makes itself (default access and
    device rules, the test domain as default, DMARC enforcement) that no plan made
    before it existed could see; so after creating one, the new organization is read
    and planned once more, and the result covers both passes.
    """
    planned = plan_changes(api, declared, previous, organization_id=organization_id, incremental=incremental,
                           max_workers=max_workers)

    def run(changes: Plan) -> ApplyResult:
        return apply(changes, api, resolve_secret=resolve_secret, allow_destructive=allow_destructive,
                     max_workers=max_workers, on_progress=on_progress, timeouts=timeouts or Timeouts())

    result = run(planned.plan)
    created = any(c.kind == "organization" and c.action in ("create", "replace") for c in planned.plan.changes)
    if not (created and result.ok and declared is not None and result.organization_id):
        return result
    follow_up = plan_changes(api, declared, declared, organization_id=result.organization_id,
                             max_workers=max_workers).plan
    second = run(follow_up)
    return ApplyResult(result.organization_id, result.done + second.done, result.failed + second.failed,
                       result.skipped + second.skipped)
