"""``Custom::WorkMailOrganization``: an adapter from CloudFormation events to ``core.kinds.organization``.

Properties: ``Spec`` (an ``OrganizationSpec``) and ``AllowReplacement`` ("true"/"false").
The physical id is the organization id; Data holds ``OrganizationId``, ``Arn``,
``DefaultMailDomain``, ``DirectoryId``, ``WebUrl`` and ``State``.

- Create adopts ``organization_id`` when given, else creates with a ClientToken derived
  from the stack, the logical id and the request, so a retried Create gets the
  organization the first attempt made; ``is_complete`` waits for Active, then tags.
- Update re-tags. What can't change on an organization (alias, directory, KMS key,
  interoperability, an adopted id) needs ``AllowReplacement`` and makes (or adopts) a new
  one, a new physical id; CloudFormation then deletes the old one by the *old* removal
  policy. A rollback goes back the same way, to the organization the original ClientToken names.
- Delete leaves the organization unless ``removal_policy`` is "destroy". (A Delete after a
  failed Create never reaches here: the Provider framework answers it.)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from workmail_constructs.core.changes import ChangeFailed
from workmail_constructs.core.kinds import organization as kind
from workmail_constructs.core.spec import OrganizationSpec

from . import common
from .common import HandlerError, Request, entry_point, log

T = TypeVar("T")


@entry_point
def on_event(event: dict[str, Any], context: Any) -> dict[str, Any]:
    request = Request.from_event(event)
    organization_id = request.physical_id or ""
    if request.request_type == "Delete":
        if _destroy(request) and not kind.delete_step(common.workmail_api(), organization_id):
            log.info("organization %s is still being created; deleting it once it is Active", organization_id)
        return {"PhysicalResourceId": organization_id}
    spec = _spec(request.properties, "Spec")
    if request.request_type == "Create":
        created = _create_or_adopt(request, spec, replacing=None)
        return common.response(created, {"OrganizationId": created})
    old = _spec(request.old_properties, "OldResourceProperties.Spec")
    changed = [f.name for f in kind.immutable_changes(old, spec)]
    if spec.organization_id and spec.organization_id != organization_id:
        changed.append("organization_id")
    if changed:
        _allow_replacement(request, old, organization_id, ", ".join(changed))
        new = _create_or_adopt(request, spec, replacing=organization_id)
        log.info("replace organization %s with %s (%s changed)", organization_id, new, ", ".join(changed))
        return common.response(new, {"OrganizationId": new})
    if old.tags != spec.tags:
        for done in _api(lambda: kind.retag(common.workmail_api(), organization_id, old.tags, spec.tags)):
            log.info("organization %s: %s", organization_id, done)
    return common.response(organization_id, {"OrganizationId": organization_id})


@entry_point
def is_complete(event: dict[str, Any], context: Any) -> dict[str, Any]:
    request = Request.from_event(event)
    organization_id = request.physical_id or ""
    api = common.workmail_api()
    if request.request_type == "Delete":
        done = not _destroy(request) or kind.delete_step(api, organization_id)
        return common.complete() if done else common.incomplete()
    spec = _spec(request.properties, "Spec")
    described = kind.describe(api, organization_id)
    if described is None:
        raise HandlerError(f"the organization {organization_id} does not exist (or was deleted)")
    state = described.get("State")
    if state in kind.PENDING_STATES:
        log.info("organization %s is %s; waiting for Active", organization_id, state)
        return common.incomplete()
    if state != "Active":
        detail = f": {described['ErrorMessage']}" if described.get("ErrorMessage") else ""
        raise HandlerError(f"the organization {organization_id} is {state}{detail}")
    if spec.tags:
        # Every declared tag, every time: cheap, and it repairs tags changed outside the stack.
        api.call("TagResource", ResourceARN=described["ARN"], Tags=kind.tag_list(spec.tags))
    return common.complete(_data(described))


def _create_or_adopt(request: Request, spec: OrganizationSpec, *, replacing: str | None) -> str:
    if spec.organization_id:
        adopted = _api(lambda: kind.adopt(common.workmail_api(), spec))
        log.info("adopt organization %s (alias %s, %s)", spec.organization_id, adopted["Alias"], adopted["State"])
        return str(spec.organization_id)
    try:
        # The same stack, resource and request give the same token: a retried Create, and the
        # rollback of a replacement, find the organization the first request made.
        described = kind.create(common.workmail_api(), spec, scope=(request.stack_id, request.logical_id))
    except ChangeFailed as exc:
        if exc.code != "NameAvailabilityException":
            raise HandlerError(f"creating organization {spec.alias}: {exc.message}") from None
        hint = (f" The old organization {replacing} still holds it: CloudFormation makes the replacement before it "
                "deletes the old one, so a replacement needs a new alias too." if replacing
                else " Choose another alias, or adopt that organization with organization_id.")
        raise HandlerError(f"the organization alias {spec.alias} is taken.{hint}") from None
    log.info("create organization %s: %s (%s)", spec.alias, described["OrganizationId"], described.get("State"))
    return str(described["OrganizationId"])


def _allow_replacement(request: Request, old: OrganizationSpec, current: str, what: str) -> None:
    if common.flag(request.properties, "AllowReplacement"):
        return
    if common.is_rollback(request):
        log.info("the stack is rolling back: going back to the earlier organization (%s differs)", what)
        return
    fate = ("deleted with all its mailboxes" if old.removal_policy == "destroy"
            else "kept (removal policy retain), no longer managed by the stack")
    raise HandlerError(
        f"{what} can't change on an existing WorkMail organization: it needs a new organization, and {current} would "
        f"be {fate}. To replace it, set AllowReplacement to \"true\" (allow_replacement on the construct) and deploy "
        f"again; otherwise restore the old {what}."
    )


def _destroy(request: Request) -> bool:
    try:
        return _spec(request.properties, "Spec").removal_policy == "destroy"
    except HandlerError as exc:
        # A spec that can't be read can't have asked for its mail to be destroyed.
        log.warning("retaining the organization: %s", exc)
        return False


def _api(work: Callable[[], T]) -> T:
    """``work()``, with a failure of the kind's API said as the handler's error."""
    try:
        return work()
    except ChangeFailed as exc:
        raise HandlerError(exc.message) from None


def _spec(properties: Any, what: str) -> OrganizationSpec:
    document = common.document(properties, "Spec")
    assert document is not None
    return common.parse_spec(OrganizationSpec, document, what)


def _data(described: dict[str, Any]) -> dict[str, Any]:
    alias = str(described.get("Alias", "")).lower()
    return {
        "OrganizationId": described.get("OrganizationId"),
        "Arn": described.get("ARN"),
        "DefaultMailDomain": described.get("DefaultMailDomain"),
        "DirectoryId": described.get("DirectoryId"),
        "WebUrl": f"https://{alias}.awsapps.com/mail",
        "State": described.get("State"),
    }
