"""``Custom::WorkMailOrganization``: creates, adopts, re-tags, replaces and deletes an organization.

Properties: ``Spec`` (JSON of an ``OrganizationSpec``) and ``AllowReplacement``
("true"/"false"). The physical id is the organization id; Data holds ``OrganizationId``,
``Arn``, ``DefaultMailDomain``, ``DirectoryId``, ``WebUrl`` and ``State``.

- Create adopts ``organization_id`` when given, else calls CreateOrganization with a
  ClientToken derived from the stack, the logical id and the request, so a retried Create
  gets the organization the first attempt made. ``is_complete`` waits for Active (the
  Provider polls it) and then tags.
- Update re-tags. A new alias, directory, KMS key, interoperability setting or adopted
  id can't be applied to an organization: it needs ``AllowReplacement`` and then makes
  (or adopts) a new organization, a new physical id, after which CloudFormation deletes
  the old one according to the *old* removal policy. A rollback of such an update goes
  back the same way, to the organization the original request's ClientToken names.
- Delete leaves the organization unless ``removal_policy`` is "destroy". A physical id
  that is no organization id (a Create that failed) and an organization already gone
  are nothing to delete.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from workmail_constructs.core.spec import OrganizationSpec, create_organization_request

from . import common
from .common import HandlerError, Request, entry_point, error_code, log

if TYPE_CHECKING:
    from workmail_constructs.core.api import WorkMailApi

# Settings fixed when an organization is created (WorkMail has no UpdateOrganization).
IMMUTABLE = ("alias", "directory_id", "kms_key_arn", "enable_interoperability")
PENDING_STATES = ("Requested", "Creating")
GONE_STATES = ("Deleting", "Deleted")
WORKMAIL_DIRECTORY = "WorkMailDirectory"
# ClientTokens in a row that may name organizations deleted since (see _create).
MAX_STALE_TOKENS = 10


@entry_point
def on_event(event: dict[str, Any], context: Any) -> dict[str, Any]:
    request = Request.from_event(event)
    if request.request_type == "Delete":
        return _delete(request)
    spec = _spec(request.properties, "Spec")
    if request.request_type == "Create":
        organization_id = _adopt(spec) if spec.organization_id else _create(request, spec, replacing=None)
        return common.response(organization_id, {"OrganizationId": organization_id})
    return _update(request, spec)


@entry_point
def is_complete(event: dict[str, Any], context: Any) -> dict[str, Any]:
    request = Request.from_event(event)
    organization_id = request.physical_id or ""
    if request.request_type == "Delete":
        if not common.ORGANIZATION_ID.fullmatch(organization_id) or not _destroy(request):
            return common.complete()
        return common.complete() if _delete_step(organization_id) else common.incomplete()
    spec = _spec(request.properties, "Spec")
    api = common.workmail_api()
    described = _describe(api, organization_id)
    if described is None:
        raise HandlerError(f"the organization {organization_id} does not exist (or was deleted)")
    state = described.get("State")
    if state in PENDING_STATES:
        log.info("organization %s is %s; waiting for Active", organization_id, state)
        return common.incomplete()
    if state != "Active":
        detail = f": {described['ErrorMessage']}" if described.get("ErrorMessage") else ""
        raise HandlerError(f"the organization {organization_id} is {state}{detail}")
    if spec.tags:
        # Every declared tag, every time: cheap, and it repairs tags changed outside the stack.
        api.call("TagResource", ResourceARN=described["ARN"], Tags=_tags(spec.tags))
        log.info("tagged organization %s: %s", organization_id, ", ".join(sorted(spec.tags)))
    return common.complete(_data(described))


# Create and adopt ---------------------------------------------------------------------


def _create(request: Request, spec: OrganizationSpec, *, replacing: str | None) -> str:
    params = create_organization_request(spec)
    api = common.workmail_api()
    # The same stack, resource and request always give the same token: a Create the
    # framework or CloudFormation retries, and the rollback of a replacement, find the
    # organization the first request made instead of making another.
    token = common.client_token("CreateOrganization", request.stack_id, request.logical_id,
                                json.dumps(params, sort_keys=True, separators=(",", ":")))
    for _ in range(MAX_STALE_TOKENS):
        try:
            organization_id = str(api.call("CreateOrganization", ClientToken=token, **params)["OrganizationId"])
        except Exception as exc:
            if error_code(exc) == "NameAvailabilityException":
                hint = (
                    f" The old organization {replacing} still holds it: CloudFormation makes the replacement before "
                    "it deletes the old one, so a replacement needs a new alias too."
                    if replacing else " Choose another alias, or adopt that organization with organization_id."
                )
                raise HandlerError(f"the organization alias {spec.alias} is taken.{hint}") from None
            if error_code(exc) is not None:
                raise HandlerError(f"creating organization {spec.alias}: {common.describe_client_error(exc)}") from None
            raise
        described = _describe(api, organization_id)
        if described is not None and described.get("State") not in GONE_STATES:
            log.info("create organization %s: %s (%s)", spec.alias, organization_id, described.get("State"))
            return organization_id
        # The token was used before by an organization since deleted (the same request made
        # earlier, then destroyed): derive the next one, as a retry of this request will.
        token = common.client_token(token, "stale")
    raise HandlerError(f"{MAX_STALE_TOKENS} ClientTokens in a row named deleted organizations; "
                       f"can't create organization {spec.alias}")


def _adopt(spec: OrganizationSpec) -> str:
    organization_id = spec.organization_id or ""
    if not common.ORGANIZATION_ID.fullmatch(organization_id):
        raise HandlerError(
            f"organization_id must be an organization id (m- and 32 hex digits), not {organization_id!r}"
        )
    described = _describe(common.workmail_api(), organization_id)
    if described is None:
        where = common.region() or "this region"
        raise HandlerError(f"the organization {organization_id} to adopt does not exist in {where}")
    state = str(described.get("State"))
    if state in GONE_STATES or state == "Failed":
        raise HandlerError(f"the organization {organization_id} to adopt is {state}; only a live organization can be "
                           "adopted")
    alias = str(described.get("Alias", ""))
    if alias.lower() != spec.alias.lower():
        raise HandlerError(f"the organization {organization_id} has the alias {alias}, but the spec says "
                           f"{spec.alias}: an alias can't change, so declare alias={alias!r}")
    log.info("adopt organization %s (alias %s, %s)", organization_id, alias, state)
    return organization_id


# Update -------------------------------------------------------------------------------


def _update(request: Request, spec: OrganizationSpec) -> dict[str, Any]:
    current = request.physical_id or ""
    if not common.ORGANIZATION_ID.fullmatch(current):
        # No organization behind this resource (its Create failed): make one now.
        created = _adopt(spec) if spec.organization_id else _create(request, spec, replacing=None)
        return common.response(created, {"OrganizationId": created})
    old = _spec(request.old_properties, "OldResourceProperties.Spec")
    changed = [name for name in IMMUTABLE if _fixed_value(old, name) != _fixed_value(spec, name)]
    adopting = spec.organization_id and spec.organization_id != current
    if changed or adopting:
        what = ", ".join(changed + (["organization_id"] if adopting else []))
        if not common.flag(request.properties, "AllowReplacement"):
            if not common.is_rollback(request):
                fate = ("deleted with all its mailboxes" if old.removal_policy == "destroy"
                        else "kept (removal policy retain), no longer managed by the stack")
                raise HandlerError(
                    f"{what} can't change on an existing WorkMail organization: it needs a new organization, and "
                    f"{current} would be {fate}. To replace it, set AllowReplacement to \"true\" (allow_replacement on "
                    f"the construct) and deploy again; otherwise restore the old {what}."
                )
            log.info("the stack is rolling back: going back to the earlier organization (%s differs)", what)
        new = _adopt(spec) if spec.organization_id else _create(request, spec, replacing=current)
        log.info("replace organization %s with %s (%s changed); CloudFormation deletes the old one next if its "
                 "removal policy is destroy", current, new, what)
        return common.response(new, {"OrganizationId": new})
    if old.tags != spec.tags:
        _retag(common.workmail_api(), current, old.tags, spec.tags)
    return common.response(current, {"OrganizationId": current})


def _retag(api: WorkMailApi, organization_id: str, old: dict[str, str], new: dict[str, str]) -> None:
    described = _describe(api, organization_id)
    if described is None:
        raise HandlerError(f"the organization {organization_id} does not exist (or was deleted)")
    removed = sorted(k for k in old if k not in new)
    if removed:
        api.call("UntagResource", ResourceARN=described["ARN"], TagKeys=removed)
        log.info("untag organization %s: %s", organization_id, ", ".join(removed))
    changed = {k: v for k, v in new.items() if old.get(k) != v}
    if changed:
        api.call("TagResource", ResourceARN=described["ARN"], Tags=_tags(changed))
        log.info("tag organization %s: %s", organization_id, ", ".join(sorted(changed)))


# Delete -------------------------------------------------------------------------------


def _delete(request: Request) -> dict[str, Any]:
    organization_id = request.physical_id or ""
    if not common.ORGANIZATION_ID.fullmatch(organization_id):
        log.info("nothing to delete: %r is not an organization id (its Create failed)", organization_id)
    elif not _destroy(request):
        log.info("retain organization %s (removal policy retain)", organization_id)
    elif not _delete_step(organization_id):
        log.info("organization %s is still being created; deleting it once it is Active", organization_id)
    return {"PhysicalResourceId": organization_id}


def _destroy(request: Request) -> bool:
    try:
        return _spec(request.properties, "Spec").removal_policy == "destroy"
    except HandlerError as exc:
        # A spec that can't be read can't have asked for its mail to be destroyed.
        log.warning("retaining the organization: %s", exc)
        return False


def _delete_step(organization_id: str) -> bool:
    """Delete the organization; False while it can't be deleted yet (still being created)."""
    api = common.workmail_api()
    described = _describe(api, organization_id)
    if described is None or described.get("State") in GONE_STATES:
        return True
    if described.get("State") in PENDING_STATES:
        return False
    try:
        api.call(
            "DeleteOrganization", OrganizationId=organization_id,
            # A directory the user brought may serve other applications; only WorkMail's own goes.
            DeleteDirectory=described.get("DirectoryType") == WORKMAIL_DIRECTORY, ForceDelete=True,
        )
    except Exception as exc:
        if error_code(exc) == "OrganizationNotFoundException":
            return True
        if error_code(exc) != "OrganizationStateException":
            raise
        again = _describe(api, organization_id)
        if again is not None and again.get("State") not in GONE_STATES:
            raise
        return True
    log.info("delete organization %s (%s, with its directory: %s)", organization_id, described.get("Alias"),
             described.get("DirectoryType") == WORKMAIL_DIRECTORY)
    return True


# Helpers ------------------------------------------------------------------------------


def _spec(properties: Any, what: str) -> OrganizationSpec:
    document = common.text(properties, "Spec")
    assert document is not None
    return common.parse_spec(OrganizationSpec, document, what)


def _fixed_value(spec: OrganizationSpec, name: str) -> Any:
    value = getattr(spec, name)
    # Aliases are case-insensitive in WorkMail: "Acme" to "acme" is no change.
    return value.lower() if name == "alias" else value


def _describe(api: WorkMailApi, organization_id: str) -> dict[str, Any] | None:
    try:
        return api.call("DescribeOrganization", OrganizationId=organization_id)
    except Exception as exc:
        if error_code(exc) == "OrganizationNotFoundException":
            return None
        raise


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


def _tags(tags: dict[str, str]) -> list[dict[str, str]]:
    return [{"Key": key, "Value": value} for key, value in sorted(tags.items())]
