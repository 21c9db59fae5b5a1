"""A stack deployed by CloudFormation, read back as the record a local deploy keeps, so
``plan`` can evaluate the app's deploy-time references and scope its read to what the
stack last deployed, whether the stack was deployed in an AWS account or by ``deploy --local``
(whose emulator answers the same operations).

What CloudFormation tells (API Reference, "DescribeStacks", "ListStackResources" and
"GetTemplate"): the stack's id (and so its partition, Region and account), each resource's
logical id, physical id and type, and the template it was last deployed with. It does not
tell ``Fn::GetAtt`` values; those derived here are the ones certain from a physical id, per
the resource type's "Return values" in the CloudFormation Template Reference. Any other
attribute is left out, and ``declared_directories`` reads it as known only after a deploy.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from .local.deploy.assembly import StackArtifact
from .local.deploy.declared import (
    DIRECTORY_TYPE,
    ORGANIZATION_ID_PREFIX,
    CloudFormationRecord,
    DeclaredError,
    deployed_directory,
)
from .local.deploy.intrinsics import Evaluator, Pseudo, TemplateError, as_sent, references
from .local.deploy.resources import handling
from .local.deploy.state import ResourceRecord, StackRecord

ORGANIZATION_TYPE = "Custom::WorkMailOrganization"
# A stack made by a change set that was never executed: nothing of it is deployed
# (User Guide, "Stack status codes").
NEVER_DEPLOYED = "REVIEW_IN_PROGRESS"
# Statuses in which the template is the one the stack's resources were last deployed with:
# an operation that finished, perhaps still cleaning up after itself. In the others (an
# operation under way, failed, or a rollback that failed) the template may be ahead of or
# behind its resources, so a directory's last deployed spec isn't known.
SETTLED = frozenset({
    "CREATE_COMPLETE", "UPDATE_COMPLETE", "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS", "UPDATE_ROLLBACK_COMPLETE",
    "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS", "IMPORT_COMPLETE", "IMPORT_ROLLBACK_COMPLETE",
})
# Resources listed that are not (or no longer) there.
_GONE = frozenset({"CREATE_FAILED", "DELETE_COMPLETE", "DELETE_SKIPPED"})


class DeployedStackError(Exception):
    """A deployed stack that can't be read back; the message names the stack."""


def read_deployed_stack(cloudformation: Any, stack_name: str, *, s3: Any | None = None) -> StackRecord | None:
    """The stack ``stack_name`` as CloudFormation has it deployed, or None when it doesn't
    exist or was never deployed. ``cloudformation`` is a boto3 CloudFormation client; ``s3``
    one of S3, to read a directory spec deployed as an S3 asset (without it, such a spec is
    not known). CloudFormation's errors (botocore's ClientError, BotoCoreError) reach the caller."""
    from botocore.exceptions import ClientError

    try:
        stack = cloudformation.describe_stacks(StackName=stack_name)["Stacks"][0]
    except ClientError as exc:
        error = exc.response.get("Error", {})
        if error.get("Code") == "ValidationError" and "does not exist" in str(error.get("Message", "")):
            return None
        raise
    if stack["StackStatus"] == NEVER_DEPLOYED:
        return None
    stack_id = str(stack["StackId"])
    partition, region, account = _stack_arn(stack_id, stack_name)
    # By id from here on: the name could be given to a new stack meanwhile.
    summaries = [summary for page in cloudformation.get_paginator("list_stack_resources").paginate(StackName=stack_id)
                 for summary in page["StackResourceSummaries"]]
    body = cloudformation.get_template(StackName=stack_id, TemplateStage="Original")["TemplateBody"]
    template = _template(body, stack_name)
    definitions: dict[str, Any] = template.get("Resources") or {}
    record = CloudFormationRecord(stack_name, stack_id, region, account)
    for summary in summaries:
        physical_id = summary.get("PhysicalResourceId")
        if not physical_id or summary.get("ResourceStatus") in _GONE:
            continue
        logical_id, resource_type = str(summary["LogicalResourceId"]), str(summary["ResourceType"])
        definition = definitions.get(logical_id) or {}
        depends = definition.get("DependsOn") or []
        record.resources[logical_id] = ResourceRecord(
            type=resource_type, physical_id=str(physical_id), handling=handling(resource_type), properties=None,
            attributes=derived_attributes(resource_type, str(physical_id), definition.get("Properties"),
                                          partition=partition, region=region, account=account),
            depends_on=sorted(references(definition.get("Properties")) | set(
                [depends] if isinstance(depends, str) else depends)),
            deletion_policy=definition.get("DeletionPolicy"),
        )
    if stack["StackStatus"] in SETTLED:
        _directory_properties(record, template, stack.get("Parameters") or [], s3)
    return record


def derived_attributes(resource_type: str, physical_id: str, properties: Any, *, partition: str, region: str,
                       account: str) -> dict[str, str]:
    """The ``Fn::GetAtt`` values of a resource that its physical id (its ``Ref``) determines,
    as each type's "Return values" describe them; the empty dict when none is certain."""
    if resource_type == ORGANIZATION_TYPE:
        # The handler makes the organization id the physical id.
        if not physical_id.startswith(ORGANIZATION_ID_PREFIX):
            return {}
        return {"OrganizationId": physical_id,
                "Arn": f"arn:{partition}:workmail:{region}:{account}:organization/{physical_id}"}
    if resource_type == "AWS::KMS::Key":
        return {"KeyId": physical_id, "Arn": f"arn:{partition}:kms:{region}:{account}:key/{physical_id}"}
    if resource_type == "AWS::Lambda::Function":
        return {"Arn": f"arn:{partition}:lambda:{region}:{account}:function:{physical_id}"}
    if resource_type == "AWS::Logs::LogGroup":
        return {"Arn": f"arn:{partition}:logs:{region}:{account}:log-group:{physical_id}:*"}
    if resource_type == "AWS::IAM::Role":
        path = properties.get("Path", "/") if isinstance(properties, Mapping) else "/"
        # A path made by an intrinsic function isn't known here, nor then is the ARN.
        if not isinstance(path, str):
            return {}
        return {"Arn": f"arn:{partition}:iam::{account}:role{path}{physical_id}"}
    if resource_type == "AWS::SecretsManager::Secret":
        # Ref is already the secret's ARN, and so is Id.
        return {"Id": physical_id}
    if resource_type == "AWS::Route53::HostedZone":
        return {"Id": physical_id}
    return {}


def _stack_arn(stack_id: str, stack_name: str) -> tuple[str, str, str]:
    """The partition, Region and account of ``arn:<partition>:cloudformation:<region>:<account>:stack/...``."""
    parts = stack_id.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn" or parts[2] != "cloudformation" or not parts[5].startswith("stack/"):
        raise DeployedStackError(f"the stack {stack_name} has the id {stack_id!r}, which is not a stack ARN")
    return parts[1], parts[3], parts[4]


def _template(body: Any, stack_name: str) -> dict[str, Any]:
    # boto3 hands a JSON template back already decoded; a YAML one stays text.
    if isinstance(body, str):
        try:
            body = json.loads(body)
        except ValueError:
            raise DeployedStackError(f"the deployed template of the stack {stack_name} is not JSON (YAML?); "
                                     "plan reads JSON templates, as the CDK writes them") from None
    if not isinstance(body, dict):
        raise DeployedStackError(f"the deployed template of the stack {stack_name} is not a JSON object")
    plain: dict[str, Any] = json.loads(json.dumps(body))  # plain dicts, not botocore's OrderedDicts
    return plain


def _directory_properties(record: StackRecord, template: dict[str, Any], parameters: list[dict[str, Any]],
                          s3: Any | None) -> None:
    """Each deployed directory's properties as CloudFormation last sent them, evaluated as a
    local deploy evaluates them; left None where a value they use can't be known."""
    unknown: list[str] = []

    def lookup(logical_id: str, attribute: str | None) -> Any:
        resource = record.resources.get(logical_id)
        if resource is None or (attribute is not None and attribute not in resource.attributes):
            unknown.append(f"{logical_id}.{attribute}" if attribute else logical_id)
            return f"(unknown: {unknown[-1]})"
        return resource.physical_id if attribute is None else resource.attributes[attribute]

    pseudo = Pseudo(account=record.account, region=record.region, stack_name=record.name, stack_id=record.stack_id)
    evaluator = Evaluator(template, pseudo, lookup)
    hidden = {name for name, definition in (template.get("Parameters") or {}).items()
              if isinstance(definition, dict) and str(definition.get("NoEcho", "")).lower() == "true"}
    for parameter in parameters:
        # An SSM parameter's value is the name of the SSM parameter; ResolvedValue is its value.
        evaluator.parameters[str(parameter.get("ParameterKey"))] = parameter.get(
            "ResolvedValue", parameter.get("ParameterValue"))
    artifact = StackArtifact(name=record.name, template=template, file_assets=(), region=record.region,
                             account=record.account)
    definitions: dict[str, Any] = template.get("Resources") or {}
    for logical_id, resource in record.resources.items():
        definition = definitions.get(logical_id)
        if resource.type != DIRECTORY_TYPE or not isinstance(definition, dict):
            continue
        if references(definition.get("Properties")) & hidden:
            continue  # a NoEcho parameter's value reads as ****
        unknown.clear()
        try:
            properties = as_sent(evaluator.properties(logical_id, definition.get("Properties")))
        except TemplateError:
            continue
        if unknown:
            continue
        if properties.get("Spec") is None:
            spec = _s3_spec(s3, properties.get("SpecLocation"))
            if spec is None:
                continue
            properties = {**{k: v for k, v in properties.items() if k != "SpecLocation"}, "Spec": spec}
        try:
            # A spec this version of the library can't read (written by another) is as good as unknown.
            deployed_directory(logical_id, properties, artifact)
        except DeclaredError:
            continue
        resource.properties = properties


def _s3_spec(s3: Any | None, location: Any) -> str | None:
    """The spec a directory deployed from S3, its SHA-256 checked as the handler checks it;
    None when it can't be read."""
    from botocore.exceptions import BotoCoreError, ClientError

    if s3 is None or not isinstance(location, dict):
        return None
    bucket, key, expected = location.get("Bucket"), location.get("Key"), location.get("Sha256")
    if not (isinstance(bucket, str) and isinstance(key, str) and isinstance(expected, str)):
        return None
    params = {"Bucket": bucket, "Key": key}
    if isinstance(location.get("VersionId"), str):
        params["VersionId"] = location["VersionId"]
    try:
        body = s3.get_object(**params)["Body"].read()
    except (BotoCoreError, ClientError):
        return None
    if hashlib.sha256(body).hexdigest() != expected.lower():
        return None  # the object changed after that deploy: not what was deployed
    try:
        return bytes(body).decode("utf-8")
    except UnicodeDecodeError:
        return None
