"""Acknowledged cdk-nag findings, written in the forms both cdk-nag majors read.

* cdk-nag 3 reads CDK's own acknowledgments, ``Validations.of(scope).acknowledge(...)``,
  on the flagged resource or on any construct above it.
* cdk-nag 2 reads the ``cdk_nag`` CloudFormation metadata of the flagged resource itself:
  ``{"rules_to_suppress": [{"id", "reason", "applies_to"}]}``, where a granular finding
  such as ``AwsSolutions-IAM5[Resource::*]`` is the rule ``AwsSolutions-IAM5`` with
  ``applies_to: ["Resource::*"]``. That is what its
  ``NagSuppressions.addResourceSuppressions(scope, [...], applyToChildren=true)`` writes.

``acknowledge`` records both: the library's acknowledgments hold whichever cdk-nag a user
runs, and an app can use it for its own resources too. Like cdk-nag 2's own function it
writes the metadata on the resources that exist under ``scope`` when it is called, so it
is called once the resources it covers have been made.
"""

from __future__ import annotations

import re
from typing import Any

import aws_cdk as cdk
from constructs import IConstruct

__all__ = ["V2_METADATA_KEY", "acknowledge", "nag_form", "v2_suppression"]

V2_METADATA_KEY = "cdk_nag"
_GRANULAR = re.compile(r"^(?P<rule>[^\[\]]+)\[(?P<finding>.+)\]$")


def v2_suppression(rule: str, reason: str) -> dict[str, Any]:
    """A cdk-nag 2 ``rules_to_suppress`` entry for ``rule`` (``Rule`` or ``Rule[finding]``)."""
    granular = _GRANULAR.match(rule)
    if granular is None:
        return {"id": rule, "reason": reason}
    return {"id": granular["rule"], "reason": reason, "applies_to": [granular["finding"]]}


def acknowledge(scope: IConstruct, rule: str, reason: str) -> None:
    """Acknowledge the cdk-nag finding ``rule`` on ``scope`` and everything under it, for
    cdk-nag 3 (CDK's ``Validations``) and cdk-nag 2 (``cdk_nag`` metadata) alike."""
    cdk.Validations.of(scope).acknowledge(cdk.Acknowledgment(id=rule, reason=reason))
    entry = v2_suppression(rule, reason)
    for child in scope.node.find_all():
        if isinstance(child, cdk.CfnResource):
            _add_v2(child, entry)


def _add_v2(resource: cdk.CfnResource, entry: dict[str, Any]) -> None:
    existing = resource.get_metadata(V2_METADATA_KEY)
    rules: list[dict[str, Any]] = list(existing.get("rules_to_suppress", [])) if isinstance(existing, dict) else []
    for rule in rules:
        if (rule.get("id"), rule.get("reason")) != (entry["id"], entry["reason"]) or (
                "applies_to" in rule) != ("applies_to" in entry):
            continue
        if "applies_to" not in entry:
            return
        # One entry per rule and reason, listing every finding it applies to (cdk-nag 2 reads
        # either form).
        applies = list(rule["applies_to"])
        for finding in entry["applies_to"]:
            if finding not in applies:
                applies.append(finding)
        rule["applies_to"] = applies
        break
    else:
        rules.append(dict(entry))
    metadata = dict(existing) if isinstance(existing, dict) else {}
    metadata["rules_to_suppress"] = rules
    resource.add_metadata(V2_METADATA_KEY, metadata)


def nag_form(stack: cdk.Stack, value: str) -> str:
    """How cdk-nag spells a (possibly tokenized) ARN in a finding id: intrinsics as ``<...>``
    (``<AWS::Region>``, ``<Logical.Arn>``), literal parts as they are, so the same code names
    the finding in an environment-agnostic stack and in one with an explicit ``env``."""
    resolved = stack.resolve(value)
    if isinstance(resolved, str):
        return resolved
    parts: list[str] = []
    items = resolved.get("Fn::Join", ["", [resolved]])[1] if isinstance(resolved, dict) else [resolved]
    for item in items:
        if isinstance(item, str):
            parts.append(item)
        elif "Ref" in item:
            parts.append(f"<{item['Ref']}>")
        elif "Fn::GetAtt" in item:
            parts.append(f"<{'.'.join(item['Fn::GetAtt'])}>")
        else:
            parts.append("<?>")
    return "".join(parts)
