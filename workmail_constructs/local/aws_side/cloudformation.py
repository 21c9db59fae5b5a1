"""AWS CloudFormation, as much of it as the custom-resource handlers and ``plan`` call:
DescribeStacks, which tells a handler whether its stack is rolling back
(``handlers.common.is_rollback``), and ListStackResources and GetTemplate, from which
``plan`` learns what a stack last deployed (``deployed_stack.read_deployed_stack``).

There is no CloudFormation here to run stacks: a local deploy records what its stacks are with
the ``put-stack`` command (their status, resources and template), and these operations answer
from those records, as the service answers from its own (API Reference, "DescribeStacks",
"ListStackResources", "GetTemplate"): a stack is named by its name while it exists and by its
stack id for ever, and a stack that is not there is the query protocol's ``ValidationError``
"Stack with id X does not exist".
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import uuid
from typing import Any

from botocore.model import StructureShape

from ...core import service_model
from .. import errors
from ..engine import Context
from ..registry import control, operation
from ..store import Record

SERVICE = "cloudformation"
STACKS = "cloudformation_stacks"
DELETED = "DELETE_COMPLETE"
# "A stack name can contain only alphanumeric characters (case-sensitive) and hyphens. It must start
# with an alphabetic character and can't be longer than 128 characters." (CloudFormation User Guide).
_STACK_NAME = re.compile(r"[A-Za-z][A-Za-z0-9-]{0,127}")
_STACK_ID = re.compile(r"arn:aws:cloudformation:([a-z0-9-]+):(\d{12}):stack/([A-Za-z][A-Za-z0-9-]{0,127})/[\w-]+")
# What put-stack records, besides the name and id: members of the model's Stack, checked against it.
_RECORDED = ("StackStatus", "StackStatusReason", "Description", "Parameters", "Outputs", "Tags")
# Recorded too, but no member of a described Stack: ListStackResources and GetTemplate answer them.
_RESOURCES, _TEMPLATE = "Resources", "TemplateBody"
# What put-stack takes of each resource: members of the model's StackResourceSummary (the
# timestamp and drift status are the emulator's to set).
_RESOURCE_MEMBERS = ("LogicalResourceId", "PhysicalResourceId", "ResourceType", "ResourceStatus",
                     "ResourceStatusReason")
# "The logical ID must be alphanumeric (A-Za-z0-9) and unique within the template." (User Guide,
# "CloudFormation template Resources syntax").
_LOGICAL_ID = re.compile(r"[A-Za-z0-9]{1,255}")
# ListStackResources: "If the output exceeds 1 MB, a string that identifies the next page of stack
# resources." (API Reference, "ListStackResources").
_PAGE_BYTES = 1024 * 1024
_BAD_TOKEN = "The NextToken is not valid."


def _not_found(stack_name: str) -> errors.ServiceError:
    return errors.ServiceError(f"Stack with id {stack_name} does not exist", code="ValidationError")


def _region(stack: Record) -> str:
    return str(stack["StackId"]).split(":")[3]


def _live(ctx: Context, name: str, region: str) -> Record | None:
    """The stack of this name that exists in ``region`` (names are reused after a delete)."""
    for stack in ctx.global_table(STACKS).values():
        if stack["StackName"] == name and stack["StackStatus"] != DELETED and _region(stack) == region:
            return stack
    return None


def _named(ctx: Context, name: str) -> Record:
    """The stack ``name`` names in the caller's Region: by its id (deleted or not) or by its
    name while it exists."""
    if name.startswith("arn:"):
        stack = ctx.global_table(STACKS).get(name)
        if stack is None or _region(stack) != ctx.region:
            raise _not_found(name)
        return stack
    found = _live(ctx, name, ctx.region)
    if found is None:
        raise _not_found(name)
    return found


def _described(stack: Record) -> dict[str, Any]:
    described = {name: value for name, value in stack.items()
                 if value is not None and name not in (_RESOURCES, _TEMPLATE)}
    described.setdefault("DisableRollback", False)
    described.setdefault("EnableTerminationProtection", False)
    described.setdefault("DriftInformation", {"StackDriftStatus": "NOT_CHECKED"})
    return described


@operation("DescribeStacks", service=SERVICE)
def describe_stacks(ctx: Context, req: dict[str, Any]) -> dict[str, Any]:
    if req.get("NextToken") is not None:
        # Every answer is one page, so no token came from here.
        raise errors.ServiceError(_BAD_TOKEN, code="ValidationError")
    name = req.get("StackName")
    if name is None:
        stacks = [s for s in ctx.global_table(STACKS).values() if s["StackStatus"] != DELETED
                  and _region(s) == ctx.region]
        return {"Stacks": [_described(s) for s in sorted(stacks, key=lambda s: -float(s["CreationTime"]))]}
    return {"Stacks": [_described(_named(ctx, name))]}


@operation("ListStackResources", service=SERVICE)
def list_stack_resources(ctx: Context, req: dict[str, Any]) -> dict[str, Any]:
    """The stack's resources as put-stack last recorded them, in that order, 1 MB a page."""
    stack = _named(ctx, req["StackName"])
    resources: list[Record] = stack.get(_RESOURCES) or []
    start = _page_start(req.get("NextToken"), stack, len(resources))
    page: list[dict[str, Any]] = []
    size = 0
    for resource in resources[start:]:
        summary = {**resource, "DriftInformation": {"StackResourceDriftStatus": "NOT_CHECKED"}}
        cost = len(json.dumps(summary))
        if page and size + cost > _PAGE_BYTES:
            break
        page.append(summary)
        size += cost
    answer: dict[str, Any] = {"StackResourceSummaries": page}
    if start + len(page) < len(resources):
        answer["NextToken"] = _token(stack["StackId"], start + len(page))
    return answer


def _token(stack_id: str, offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps([stack_id, offset]).encode()).decode()


def _page_start(token: str | None, stack: Record, count: int) -> int:
    """Where the page a token names starts; a token is good for the stack that gave it only."""
    if token is None:
        return 0
    try:
        stack_id, offset = json.loads(base64.urlsafe_b64decode(token.encode()))
    except (ValueError, TypeError, binascii.Error):
        raise errors.ServiceError(_BAD_TOKEN, code="ValidationError") from None
    if stack_id != stack["StackId"] or type(offset) is not int or not 0 < offset <= count:
        raise errors.ServiceError(_BAD_TOKEN, code="ValidationError")
    return offset


@operation("GetTemplate", service=SERVICE)
def get_template(ctx: Context, req: dict[str, Any]) -> dict[str, Any]:
    """The template put-stack last recorded, as it was given: both stages are that text, since
    nothing here runs a template's transforms."""
    change_set = req.get("ChangeSetName")
    if change_set is not None:
        # put-stack records no change sets.
        raise errors.ServiceError(f"ChangeSet [{change_set}] does not exist", code="ChangeSetNotFound", status=404)
    name = req.get("StackName")
    if name is None:
        raise errors.ServiceError("Either StackName or ChangeSetName must be specified.", code="ValidationError")
    stack = _named(ctx, name)
    body = stack.get(_TEMPLATE)
    if body is None:
        # "If the template doesn't exist, a ValidationError is returned." (API Reference, "GetTemplate").
        raise errors.ServiceError(f"The template of stack {name} does not exist: the stack was recorded without "
                                  "one", code="ValidationError")
    return {"TemplateBody": body, "StagesAvailable": ["Original", "Processed"]}


# put-stack ------------------------------------------------------------------------------


def _checked(params: dict[str, Any]) -> dict[str, Any]:
    """The command's members, each checked against its shape in the model's Stack."""
    known = ("StackName", "StackId", *_RECORDED, _RESOURCES, _TEMPLATE)
    unknown = sorted(set(params) - set(known))
    if unknown:
        raise errors.InvalidParameterException(f"Unknown member {unknown[0]!r}; put-stack takes {', '.join(known)}.")
    name = params.get("StackName")
    if not isinstance(name, str) or not _STACK_NAME.fullmatch(name):
        raise errors.InvalidParameterException(
            "StackName must start with a letter and hold only letters, digits and hyphens, at most 128 characters."
        )
    if params.get("StackStatus") is None:
        raise errors.InvalidParameterException("StackStatus is required.")
    shape = service_model.service_model(SERVICE).shape_for("Stack")
    assert isinstance(shape, StructureShape)
    violations = [violation for member in _RECORDED for violation in
                  service_model.check(shape.members[member], params.get(member), member[:1].lower() + member[1:])]
    if violations:
        raise errors.InvalidParameterException(service_model.validation_messages(violations))
    template = params.get(_TEMPLATE)
    if template is not None and (not isinstance(template, str) or not template):
        raise errors.InvalidParameterException("TemplateBody must be the template's text (JSON or YAML), not empty.")
    if params.get(_RESOURCES) is not None:
        _check_resources(params[_RESOURCES])
    return params


def _check_resources(resources: Any) -> None:
    if not isinstance(resources, list):
        raise errors.InvalidParameterException("Resources must be a list of objects with LogicalResourceId, "
                                               "ResourceType and PhysicalResourceId.")
    shape = service_model.service_model(SERVICE).shape_for("StackResourceSummary")
    assert isinstance(shape, StructureShape)
    seen: set[str] = set()
    for index, resource in enumerate(resources, start=1):
        where = f"Resources.{index}"
        if not isinstance(resource, dict):
            raise errors.InvalidParameterException(f"{where} must be an object.")
        unknown = sorted(set(resource) - set(_RESOURCE_MEMBERS))
        if unknown:
            raise errors.InvalidParameterException(f"{where}: unknown member {unknown[0]!r}; a resource has "
                                                   f"{', '.join(_RESOURCE_MEMBERS)}.")
        logical_id = resource.get("LogicalResourceId")
        if not isinstance(logical_id, str) or not _LOGICAL_ID.fullmatch(logical_id):
            raise errors.InvalidParameterException(f"{where}.LogicalResourceId must be alphanumeric (A-Za-z0-9).")
        if logical_id in seen:
            raise errors.InvalidParameterException(f"{where}: the logical id {logical_id} is given twice.")
        seen.add(logical_id)
        if resource.get("ResourceType") is None:
            raise errors.InvalidParameterException(f"{where}.ResourceType is required.")
        violations = [violation for member in _RESOURCE_MEMBERS for violation in
                      service_model.check(shape.members[member], resource.get(member),
                                          f"resources.{index}.member.{member[:1].lower() + member[1:]}")]
        if violations:
            raise errors.InvalidParameterException(service_model.validation_messages(violations))


def _recorded_resources(given: list[dict[str, Any]], before: list[Record], now: float) -> list[Record]:
    """The resources as given, each with its status and the time it last changed. Without a
    status, a resource new to the stack is CREATE_COMPLETE, one with a new physical id
    UPDATE_COMPLETE, and one as it was keeps its status."""
    previous = {r["LogicalResourceId"]: r for r in before}
    recorded = []
    for resource in given:
        old = previous.get(resource["LogicalResourceId"])
        same = (old is not None and old.get("PhysicalResourceId") == resource.get("PhysicalResourceId")
                and old["ResourceType"] == resource["ResourceType"])
        status = resource.get("ResourceStatus") or (
            "CREATE_COMPLETE" if old is None else old["ResourceStatus"] if same else "UPDATE_COMPLETE")
        entry = {member: resource[member] for member in _RESOURCE_MEMBERS if resource.get(member) is not None}
        entry["ResourceStatus"] = status
        unchanged = old is not None and all(old.get(m) == entry.get(m) for m in _RESOURCE_MEMBERS)
        entry["LastUpdatedTimestamp"] = old["LastUpdatedTimestamp"] if old is not None and unchanged else now
        recorded.append(entry)
    return recorded


@control("put-stack")
def put_stack(ctx: Context, req: dict[str, Any]) -> dict[str, Any]:
    """Record a stack, or what has happened to it: its status, outputs and parameters, and
    (for ListStackResources and GetTemplate) its resources and template.

    A stack is in the Region its ``StackId`` names. Without one, a stack of that name that
    exists in the command's Region is updated, or a new one gets an id in CloudFormation's form
    there; a stack named again, by id or by its name while it exists, is updated. ``Resources``
    (each LogicalResourceId, ResourceType, PhysicalResourceId and optionally ResourceStatus and
    ResourceStatusReason) replaces the stack's list of resources, and ``TemplateBody`` its
    template; left out, they stay as they were, except that a stack deleted has its resources
    deleted too.
    """
    params = _checked(dict(req))
    name = params["StackName"]
    stacks = ctx.global_table(STACKS)
    stack_id = params.get("StackId")
    if stack_id is None:
        live = _live(ctx, name, ctx.region)
        stack_id = live["StackId"] if live is not None else (
            f"arn:aws:cloudformation:{ctx.region}:{ctx.account}:stack/{name}/{uuid.uuid4()}"
        )
    match = _STACK_ID.fullmatch(stack_id) if isinstance(stack_id, str) else None
    if match is None or match.group(3) != name:
        raise errors.InvalidParameterException(
            f"StackId must be arn:aws:cloudformation:<region>:<account>:stack/{name}/<id>, naming the stack's "
            "Region, account and name."
        )
    live = _live(ctx, name, match.group(1))
    if live is not None and live["StackId"] != stack_id:
        raise errors.InvalidParameterException(f"The stack {name} already exists, with the id {live['StackId']}.")
    stack = stacks.get(stack_id)
    if stack is None:
        stack = {"StackId": stack_id, "StackName": name, "CreationTime": ctx.now}
    elif stack["StackStatus"] == DELETED:
        raise errors.InvalidParameterException(f"The stack {stack_id} was deleted; a deleted stack does not change.")
    else:
        stack["LastUpdatedTime"] = ctx.now
    for member in _RECORDED:
        if member in params:
            stack[member] = params[member]
    if params.get(_TEMPLATE) is not None:
        stack[_TEMPLATE] = params[_TEMPLATE]
    if params.get(_RESOURCES) is not None:
        stack[_RESOURCES] = _recorded_resources(params[_RESOURCES], stack.get(_RESOURCES) or [], ctx.now)
    elif stack["StackStatus"] == DELETED:
        # Deleting a stack deletes its resources (ListStackResources shows a deleted stack's for 90 days).
        stack[_RESOURCES] = [r if r["ResourceStatus"] in (DELETED, "DELETE_SKIPPED")
                             else {**r, "ResourceStatus": DELETED, "LastUpdatedTimestamp": ctx.now}
                             for r in stack.get(_RESOURCES) or []]
    if str(stack["StackStatus"]).startswith("DELETE_") and "DeletionTime" not in stack:
        stack["DeletionTime"] = ctx.now
    stacks.put(stack_id, stack)
    return _described(stack)
