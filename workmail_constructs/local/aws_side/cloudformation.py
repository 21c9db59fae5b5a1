"""AWS CloudFormation, as much of it as the custom-resource handlers call: DescribeStacks, which
tells a handler whether its stack is rolling back (``handlers.common.is_rollback``).

There is no CloudFormation here to run stacks: a local deploy records what its stacks are with
the ``put-stack`` command, and DescribeStacks answers from those records, as the service
answers from its own (API Reference, "DescribeStacks"): a stack is named by its name while it
exists and by its stack id for ever, and a stack that is not there is the query protocol's
``ValidationError`` "Stack with id X does not exist".
"""

from __future__ import annotations

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


def _described(stack: Record) -> dict[str, Any]:
    described = {name: value for name, value in stack.items() if value is not None}
    described.setdefault("DisableRollback", False)
    described.setdefault("EnableTerminationProtection", False)
    described.setdefault("DriftInformation", {"StackDriftStatus": "NOT_CHECKED"})
    return described


@operation("DescribeStacks", service=SERVICE)
def describe_stacks(ctx: Context, req: dict[str, Any]) -> dict[str, Any]:
    if req.get("NextToken") is not None:
        # Every answer is one page, so no token came from here.
        raise errors.ServiceError("The NextToken is not valid.", code="ValidationError")
    name = req.get("StackName")
    if name is None:
        stacks = [s for s in ctx.global_table(STACKS).values() if s["StackStatus"] != DELETED
                  and _region(s) == ctx.region]
        return {"Stacks": [_described(s) for s in sorted(stacks, key=lambda s: -float(s["CreationTime"]))]}
    if name.startswith("arn:"):
        stack = ctx.global_table(STACKS).get(name)
        if stack is None or _region(stack) != ctx.region:
            raise _not_found(name)
    else:
        found = _live(ctx, name, ctx.region)
        if found is None:
            raise _not_found(name)
        stack = found
    return {"Stacks": [_described(stack)]}


# put-stack ------------------------------------------------------------------------------


def _checked(params: dict[str, Any]) -> dict[str, Any]:
    """The command's members, each checked against its shape in the model's Stack."""
    known = ("StackName", "StackId", *_RECORDED)
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
    return params


@control("put-stack")
def put_stack(ctx: Context, req: dict[str, Any]) -> dict[str, Any]:
    """Record a stack, or what has happened to it: its status, outputs and parameters.

    A stack is in the Region its ``StackId`` names. Without one, a stack of that name that
    exists in the command's Region is updated, or a new one gets an id in CloudFormation's form
    there; a stack named again, by id or by its name while it exists, is updated.
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
    if str(stack["StackStatus"]).startswith("DELETE_") and "DeletionTime" not in stack:
        stack["DeletionTime"] = ctx.now
    stacks.put(stack_id, stack)
    return _described(stack)
