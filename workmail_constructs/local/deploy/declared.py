"""The WorkMail state a synthesized stack declares, as the handlers would read it.

Each ``Custom::WorkMailDirectory`` of the template carries the whole declared state of one
organization (its organization and domains too): the spec inline (``Spec``) or in an S3
asset (``SpecLocation``), with deploy-time values as ``$ref:NAME`` placeholders and their
expressions in ``References``. Here they are evaluated against what the local deploy
made; a value of a resource not deployed yet is marked as known only after the deploy.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from ...core.api import WorkMailApi
from ...core.changes import Plan
from ...core.plan import declared_scope, plan
from ...core.read import read_scoped
from ...core.reconcile import plan_changes
from ...core.spec import SpecError, WorkMailSpec
from ...core.spec_reading import from_data, parse_json
from .assembly import StackArtifact
from .intrinsics import Evaluator, Pseudo, TemplateError, as_sent
from .resources import Made, hosted_zone, placeholder
from .state import StackRecord

DIRECTORY_TYPE = "Custom::WorkMailDirectory"
ORGANIZATION_ID_PREFIX = "m-"


class DeclaredError(Exception):
    """A directory's declared state can't be read; the message names the resource."""


class CloudFormationRecord(StackRecord):
    """A stack's record read back from CloudFormation rather than kept by a local deploy. The
    API returns no ``Fn::GetAtt`` values, so its resources hold only the attributes certain
    from their physical ids; any other is known only after a deploy. A directory's
    ``properties`` is None when the spec it was last deployed with can't be known."""


@dataclass(frozen=True)
class DeclaredDirectory:
    logical_id: str
    spec: WorkMailSpec
    # The organization it manages, when it exists (deployed before); None for a new one.
    organization_id: str | None
    # The spec it was last deployed with, if it was.
    deployed: WorkMailSpec | None


def declared_directories(artifact: StackArtifact, record: StackRecord | None, *, default_region: str,
                         default_account: str, stand_ins: bool = False,
                         deployed_artifact: StackArtifact | None = None) -> list[DeclaredDirectory]:
    """The directories ``artifact`` declares, their references evaluated against what the
    local deploy recorded (``record``). A resource it didn't make is "known after deploy";
    with ``stand_ins``, every resource is the stand-in a local deploy would make of it
    (values of the right shape, the same for the same stack and logical id), for comparing
    two assemblies with no deploy at all. ``deployed_artifact`` is the assembly last deployed,
    which holds the S3 spec assets that ``record`` names and the new assembly may not."""
    region = record.region if record else artifact.region or default_region
    account = record.account if record else artifact.account or default_account
    pseudo = Pseudo(account=account, region=region, stack_name=artifact.name,
                    stack_id=record.stack_id if record else f"arn:aws:cloudformation:{region}:{account}:stack/"
                                                            f"{artifact.name}/(known after deploy)")
    resources = artifact.template.get("Resources") or {}

    def lookup(logical_id: str, attribute: str | None) -> Any:
        deployed = record.resources.get(logical_id) if record else None
        if deployed is None and stand_ins:
            made = stand_in(str(resources.get(logical_id, {}).get("Type")), logical_id, pseudo)
            return made.physical_id if attribute is None else made.attributes.get(attribute,
                                                                                 f"{made.physical_id}.{attribute}")
        if deployed is None:
            return f"(known after deploy: {logical_id}{'.' + attribute if attribute else ''})"
        if attribute is None:
            return deployed.physical_id
        if isinstance(record, CloudFormationRecord) and attribute not in deployed.attributes:
            return f"(known after deploy: {logical_id}.{attribute})"
        return deployed.attributes.get(attribute, f"{deployed.physical_id}.{attribute}")

    evaluator = Evaluator(artifact.template, pseudo, lookup)
    found = []
    for logical_id, definition in (artifact.template.get("Resources") or {}).items():
        if definition.get("Type") != DIRECTORY_TYPE:
            continue
        try:
            properties = as_sent(evaluator.properties(logical_id, definition.get("Properties")))
        except TemplateError as exc:
            raise DeclaredError(str(exc)) from None
        organization = str(properties.get("OrganizationId") or "")
        deployed = record.resources.get(logical_id) if record else None
        found.append(DeclaredDirectory(
            logical_id=logical_id,
            spec=_spec(logical_id, properties, artifact),
            organization_id=organization if organization.startswith(ORGANIZATION_ID_PREFIX) else None,
            deployed=(_spec(logical_id, deployed.properties, artifact, deployed_artifact)
                      if deployed is not None and deployed.properties is not None else None),
        ))
    return found


def stand_in(resource_type: str, logical_id: str, pseudo: Pseudo) -> Made:
    """What a resource would be, by its type, without deploying anything."""
    if resource_type == "AWS::Route53::HostedZone":
        return hosted_zone(logical_id, {}, pseudo)
    made = placeholder(resource_type, logical_id, pseudo)
    if resource_type == "AWS::SecretsManager::Secret":
        # Ref of a secret is its ARN.
        made.physical_id = (f"arn:aws:secretsmanager:{pseudo.region}:{pseudo.account}:secret:"
                            f"{made.physical_id[:40]}-AbCdEf")
    return made


def plan_directory(api: WorkMailApi, declared: DeclaredDirectory, *, refresh: bool) -> Plan:
    """The changes that make the organization match ``declared``: with ``refresh`` (or for an
    organization not made yet, or one whose last deployed spec isn't known) against a full
    read, else against what the specs name."""
    # Without the last deployed spec, what the app no longer declares can only be found by
    # reading everything: a scoped read would miss the objects it should delete.
    if declared.organization_id is None or declared.deployed is None or refresh:
        return plan_changes(api, declared.spec, organization_id=declared.organization_id).plan
    scope = declared_scope(declared.deployed, declared.spec)
    actual = read_scoped(api, declared.organization_id, scope)
    return plan(declared.spec, actual, declared.deployed, scope=scope)


def deployed_directory(logical_id: str, properties: dict[str, Any], artifact: StackArtifact) -> DeclaredDirectory:
    """A directory as it was last deployed: its evaluated properties, already sent once."""
    spec = _spec(logical_id, properties, artifact)
    organization = str(properties.get("OrganizationId") or "")
    return DeclaredDirectory(logical_id, spec, organization if organization.startswith(ORGANIZATION_ID_PREFIX)
                             else None, spec)


def _spec(logical_id: str, properties: dict[str, Any], artifact: StackArtifact,
          earlier: StackArtifact | None = None) -> WorkMailSpec:
    data: Any = properties.get("Spec")
    if data is None:
        data = _asset_document(logical_id, properties.get("SpecLocation"),
                               [artifact, *([earlier] if earlier is not None else [])])
    references = properties.get("References") or {}
    try:
        if isinstance(data, str):
            data = parse_json(data)
        return from_data(WorkMailSpec, data, cloudformation=True, references=references)
    except SpecError as exc:
        raise DeclaredError(f"{logical_id}: the declared spec can't be read: {exc}") from None


def _asset_document(logical_id: str, location: Any, artifacts: list[StackArtifact]) -> Any:
    """An S3 spec, read from the assembly's copy of the asset (checked by its SHA-256)."""
    if not isinstance(location, dict) or not isinstance(location.get("Key"), str):
        raise DeclaredError(f"{logical_id} has neither Spec nor a SpecLocation with a Key")
    for _, key, path in (asset for artifact in artifacts for asset in artifact.file_assets):
        if key == location["Key"]:
            body = path.read_bytes()
            if hashlib.sha256(body).hexdigest() != str(location.get("Sha256", "")).lower():
                raise DeclaredError(f"{logical_id}: the spec asset {path.name} doesn't match the template's Sha256")
            return parse_json(body)
    raise DeclaredError(f"{logical_id}: the assembly has no asset for the spec {location['Key']}")
