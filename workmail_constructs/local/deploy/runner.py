"""A stack deployed locally, resource by resource, as CloudFormation deploys it.

Resources are created and updated in dependency order (``DependsOn``, ``Ref``,
``Fn::GetAtt``, ``Fn::Sub``); a resource whose evaluated properties are what it was last
deployed with is left alone; one no longer in the template is deleted after the rest, in
reverse dependency order, unless its ``DeletionPolicy`` is ``Retain``; a custom resource
whose update returns a new physical id is a replacement, and the old one is deleted last
(unless its ``UpdateReplacePolicy`` is ``Retain``). A failure stops the deploy there:
what was done so far is recorded, nothing is rolled back.
"""

from __future__ import annotations

import json
import time
from contextlib import suppress
from dataclasses import dataclass, field
from graphlib import CycleError, TopologicalSorter
from typing import Any, Literal, Protocol

from ..clients import client, emulator_environment, service_endpoint, workmail_api
from ..control import EmulatorControl
from .assembly import StackArtifact
from .declared import DIRECTORY_TYPE, deployed_directory, plan_directory
from .intrinsics import Evaluator, Pseudo, TemplateError, as_sent, references
from .resources import (
    CustomResourceRequest,
    Made,
    generate_secret,
    handling,
    hosted_zone,
    placeholder,
    run_custom_resource,
    verified_domain,
)
from .state import ResourceRecord, StackRecord, StateDirectory

Action = Literal["create", "update", "delete", "replace", "retain"]
# What becomes of a domain whose DNS records the stack doesn't publish (no hosted zone):
# taken as published by whoever runs its DNS, so verified, or left pending.
ExternalDns = Literal["verified", "pending"]


class DeployError(Exception):
    """A resource failed; the message names it, and the deploy stopped there."""


class Progress(Protocol):
    def starting(self, logical_id: str, resource_type: str, action: Action) -> None: ...

    def waiting(self, logical_id: str, seconds: float) -> None: ...

    def finished(self, logical_id: str, resource_type: str, action: Action, seconds: float) -> None: ...


@dataclass
class Outcome:
    """What one deploy did."""

    changes: list[tuple[str, str, Action]] = field(default_factory=list)
    not_emulated: dict[str, int] = field(default_factory=dict)
    organizations: list[str] = field(default_factory=list)
    verified_domains: list[str] = field(default_factory=list)
    # Directories whose objects were changed behind the deploy's back, and put back.
    drift_corrected: list[str] = field(default_factory=list)
    # The stack's outputs as CloudFormation's DescribeStacks has them (OutputKey, OutputValue, Description).
    outputs: list[dict[str, str]] = field(default_factory=list)


class LocalDeploy:
    def __init__(self, stack: StackArtifact, state: StateDirectory, endpoint: str, *, default_region: str,
                 default_account: str, progress: Progress, timeout: float = 1800.0,
                 external_dns: ExternalDns = "verified", correct_drift: bool = True) -> None:
        self.artifact = stack
        self.external_dns = external_dns
        self.correct_drift = correct_drift
        self.drifted: set[str] = set()
        self.state = state
        self.endpoint = endpoint
        self.progress = progress
        self.timeout = timeout
        region, account = stack.region or default_region, stack.account or default_account
        self.record = state.load(stack.name) or StackRecord.new(stack.name, region, account)
        self.pseudo = Pseudo(account=self.record.account, region=self.record.region, stack_name=stack.name,
                             stack_id=self.record.stack_id)
        self.made: dict[str, Made] = {}
        self.evaluator = Evaluator(stack.template, self.pseudo, self._lookup)
        self.outcome = Outcome()

    # The run ------------------------------------------------------------------------------

    def run(self) -> Outcome:
        with emulator_environment(self.endpoint, self.record.region):
            self._publish_assets()
            new_stack = not self.record.resources
            self._stack_status("CREATE_IN_PROGRESS" if new_stack else "UPDATE_IN_PROGRESS")
            replaced: list[tuple[str, ResourceRecord]] = []
            declared = self._declared()
            for logical_id in self._order(declared):
                old = self._deploy(logical_id, declared[logical_id])
                if old is not None:
                    replaced.append((logical_id, old))
            for logical_id, old in replaced:
                self._delete(logical_id, old, "replace")
            for logical_id in self._removal_order(set(self.record.resources) - set(declared)):
                self._delete(logical_id, self.record.resources[logical_id], "delete")
                del self.record.resources[logical_id]
                self.state.save(self.record)
            self.outcome.outputs = self._outputs()
            self._stack_status("CREATE_COMPLETE" if new_stack else "UPDATE_COMPLETE", self.outcome.outputs)
        self.outcome.drift_corrected = sorted(self.drifted)
        self.outcome.organizations = [r.physical_id for r in self.record.resources.values()
                                      if r.type == "Custom::WorkMailOrganization"]
        return self.outcome

    def _declared(self) -> dict[str, dict[str, Any]]:
        resources: dict[str, dict[str, Any]] = self.artifact.template.get("Resources") or {}
        return {logical_id: definition for logical_id, definition in resources.items()
                if "Condition" not in definition or self.evaluator.condition(definition["Condition"], logical_id)}

    def _order(self, declared: dict[str, dict[str, Any]]) -> list[str]:
        graph: dict[str, set[str]] = {}
        for logical_id, definition in declared.items():
            depends = definition.get("DependsOn") or []
            needed = {depends} if isinstance(depends, str) else set(depends)
            needed |= references(definition.get("Properties"))
            unknown = sorted(needed - set(declared) - set(self.evaluator.parameters))
            if unknown:
                raise DeployError(f"{logical_id} depends on {unknown[0]}, which the template doesn't create")
            graph[logical_id] = needed & set(declared)
        try:
            return list(TopologicalSorter(graph).static_order())
        except CycleError as exc:
            raise DeployError(f"the template's resources depend on each other in a cycle: {exc.args[1]}") from None

    def _removal_order(self, removed: set[str]) -> list[str]:
        # What depends on a resource goes before it.
        graph = {logical_id: {other for other in removed
                              if logical_id in self.record.resources[other].depends_on}
                 for logical_id in removed}
        return list(TopologicalSorter(graph).static_order())

    # One resource -------------------------------------------------------------------------

    def _deploy(self, logical_id: str, definition: dict[str, Any]) -> ResourceRecord | None:
        """Create or update one resource; the record it replaced, if it was replaced."""
        resource_type = str(definition.get("Type"))
        how = handling(resource_type)
        try:
            properties = self.evaluator.properties(logical_id, definition.get("Properties"))
        except TemplateError as exc:
            raise DeployError(str(exc)) from None
        if how == "handler":
            properties = as_sent(properties)
        depends = sorted(references(definition.get("Properties")) | set(_as_list(definition.get("DependsOn"))))
        previous = self.record.resources.get(logical_id)
        if previous is not None and previous.type != resource_type:
            raise DeployError(f"{logical_id} changed type from {previous.type} to {resource_type}; "
                              "CloudFormation can't update that either: rename the construct")
        if how == "not emulated":
            self.outcome.not_emulated[resource_type] = self.outcome.not_emulated.get(resource_type, 0) + 1
        if previous is not None and previous.properties == properties and not self._drifted(logical_id, previous):
            self.made[logical_id] = Made(previous.physical_id, previous.attributes)
            return None
        action: Action = "create" if previous is None else "update"
        self.progress.starting(logical_id, resource_type, action)
        started = time.monotonic()
        try:
            made = self._make(logical_id, resource_type, properties, previous)
        except DeployError:
            raise
        except Exception as exc:
            reason = " ".join(str(exc).split()) or type(exc).__name__
            raise DeployError(f"{logical_id} ({resource_type}): {action} failed: {reason}") from None
        self.made[logical_id] = made
        self.record.resources[logical_id] = ResourceRecord(
            type=resource_type, physical_id=made.physical_id, handling=how, properties=properties,
            attributes=made.attributes, depends_on=depends,
            deletion_policy=definition.get("DeletionPolicy"),
        )
        self.state.save(self.record)
        self.outcome.changes.append((logical_id, resource_type, action))
        self.progress.finished(logical_id, resource_type, action, time.monotonic() - started)
        if previous is not None and previous.physical_id != made.physical_id and how == "handler":
            if definition.get("UpdateReplacePolicy") == "Retain":
                return None
            return previous
        return None

    def _drifted(self, logical_id: str, previous: ResourceRecord) -> bool:
        """Whether a directory deployed as declared no longer matches its spec: something
        changed its objects behind the deploy's back. Unlike CloudFormation, which leaves
        drift alone until the template changes, a local deploy puts them back (as
        ``terraform apply`` does)."""
        if previous.type != DIRECTORY_TYPE or not self.correct_drift:
            return False
        directory = deployed_directory(logical_id, previous.properties, self.artifact)
        api = workmail_api(self.endpoint, self.record.region)
        # The organization and its domains are their own resources' to change, not the directory's.
        changes = [c for c in plan_directory(api, directory, refresh=False).changes
                   if c.kind not in ("organization", "domain")]
        if not changes:
            return False
        self.drifted.add(logical_id)
        return True

    def _make(self, logical_id: str, resource_type: str, properties: dict[str, Any],
              previous: ResourceRecord | None) -> Made:
        how = handling(resource_type)
        if how == "handler":
            return self._handler(logical_id, resource_type, properties, previous)
        if resource_type == "AWS::SecretsManager::Secret":
            return self._secret(logical_id, properties, previous)
        if resource_type == "AWS::Route53::HostedZone":
            return hosted_zone(logical_id, properties, self.pseudo)
        if resource_type == "AWS::S3::Bucket":
            return self._bucket(logical_id)
        if resource_type == "AWS::Route53::RecordSet":
            domain = verified_domain(properties)
            if domain is not None:
                self._verify(domain)
            return Made(str(properties.get("Name") or logical_id))
        return placeholder(resource_type, logical_id, self.pseudo)

    def _handler(self, logical_id: str, resource_type: str, properties: dict[str, Any],
                 previous: ResourceRecord | None) -> Made:
        old = previous.properties if previous is not None else None
        if logical_id in self.drifted and old is not None:
            # The same spec as before: the handler would narrow the update to nothing. Without
            # the old spec it plans the whole directory against what is there.
            old = {k: v for k, v in old.items() if k not in ("Spec", "SpecLocation", "SpecSummary")}
        request = CustomResourceRequest(
            request_type="Create" if previous is None else "Update", resource_type=resource_type,
            logical_id=logical_id, stack_id=self.record.stack_id, properties=properties,
            old_properties=old,
            physical_id=previous.physical_id if previous is not None else None,
        )
        spec = properties.get("Spec")
        between = None
        if (resource_type == "Custom::WorkMailDomain" and self.external_dns == "verified" and previous is None
                and isinstance(spec, dict) and not spec.get("hosted_zone_id")):
            # Whoever runs the domain's DNS publishes its records while the deploy waits, so a
            # default domain becomes the default as it would once they are in place.
            def between() -> None:
                self._verify(str(spec.get("name")), organization=str(properties.get("OrganizationId")))
        return run_custom_resource(request, service_token=self._service_token(properties), timeout=self.timeout,
                                   waiting=lambda seconds: self.progress.waiting(logical_id, seconds),
                                   between=between)

    def _delete(self, logical_id: str, record: ResourceRecord, action: Action) -> None:
        if record.deletion_policy == "Retain" and action == "delete":
            # Out of the stack, left in place, as CloudFormation's DELETE_SKIPPED.
            self.outcome.changes.append((logical_id, record.type, "retain"))
            self.progress.finished(logical_id, record.type, "retain", 0.0)
            return
        self.progress.starting(logical_id, record.type, "delete")
        started = time.monotonic()
        try:
            if record.handling == "handler":
                request = CustomResourceRequest(
                    request_type="Delete", resource_type=record.type, logical_id=logical_id,
                    stack_id=self.record.stack_id, properties=record.properties, physical_id=record.physical_id,
                )
                run_custom_resource(request, service_token=self._service_token(record.properties),
                                    timeout=self.timeout)
            elif record.type == "AWS::SecretsManager::Secret":
                self._client("secretsmanager").delete_secret(SecretId=record.physical_id,
                                                             ForceDeleteWithoutRecovery=True)
                self.state.keep_secret(record.physical_id, None)
        except Exception as exc:
            raise DeployError(f"{logical_id} ({record.type}): delete failed: {' '.join(str(exc).split())}") from None
        self.outcome.changes.append((logical_id, record.type, "delete"))
        self.progress.finished(logical_id, record.type, "delete", time.monotonic() - started)

    # Local resources ------------------------------------------------------------------------

    def _bucket(self, logical_id: str) -> Made:
        """A bucket in the emulator's S3 (so mailbox exports and hooks can write to it); its
        policies, encryption and lifecycle are not emulated."""
        made = placeholder("AWS::S3::Bucket", logical_id, self.pseudo)
        name = made.physical_id
        s3 = self._client("s3")
        location = ({} if self.record.region == "us-east-1"
                    else {"CreateBucketConfiguration": {"LocationConstraint": self.record.region}})
        with suppress(s3.exceptions.BucketAlreadyOwnedByYou):
            s3.create_bucket(Bucket=name, **location)
        return made

    def _secret(self, logical_id: str, properties: dict[str, Any], previous: ResourceRecord | None) -> Made:
        client = self._client("secretsmanager")
        value = generate_secret(properties)
        if previous is None:
            name = str(properties.get("Name") or f"{logical_id}-{self.pseudo.stack_name}")
            arn = str(client.create_secret(Name=name, SecretString=value,
                                           Description=str(properties.get("Description", "")))["ARN"])
        else:
            arn = previous.physical_id
            client.put_secret_value(SecretId=arn, SecretString=value)
        self.state.keep_secret(arn, value)
        return Made(arn)

    def _verify(self, domain: str, organization: str | None = None) -> None:
        """Verify ``domain`` in the emulator, as publishing its records does in WorkMail."""
        if organization is None:
            for record in self.record.resources.values():
                spec = record.properties.get("Spec") if isinstance(record.properties, dict) else None
                if record.type == "Custom::WorkMailDomain" and isinstance(spec, dict) and spec.get("name") == domain:
                    organization = str(record.properties.get("OrganizationId"))
                    break
            else:
                return
        EmulatorControl(self.endpoint).verify_domain(organization, domain)
        self.outcome.verified_domains.append(domain)

    def _publish_assets(self) -> None:
        """The stack's file assets (an S3 spec) where the handlers will read them."""
        if not self.artifact.file_assets:
            return
        s3 = self._client("s3")
        for bucket_template, key, path in self.artifact.file_assets:
            bucket = self.evaluator.evaluate({"Fn::Sub": bucket_template}, "assets")
            location = ({} if self.record.region == "us-east-1"
                        else {"CreateBucketConfiguration": {"LocationConstraint": self.record.region}})
            with suppress(s3.exceptions.BucketAlreadyOwnedByYou):
                s3.create_bucket(Bucket=bucket, **location)
            s3.put_object(Bucket=bucket, Key=key, Body=path.read_bytes())

    def _outputs(self) -> list[dict[str, str]]:
        """The template's outputs, evaluated as CloudFormation would after the deploy; one whose
        value is not known locally (an attribute of something not emulated) says so."""
        outputs = []
        for key, output in (self.artifact.template.get("Outputs") or {}).items():
            try:
                value = self.evaluator.evaluate(output.get("Value"), f"Outputs.{key}")
            except TemplateError as exc:
                value = f"(not known locally: {exc})"
            if value is None:
                continue  # its condition is false
            entry = {"OutputKey": key, "OutputValue": value if isinstance(value, str) else json.dumps(value)}
            if output.get("Description"):
                entry["Description"] = str(output["Description"])
            outputs.append(entry)
        return outputs

    def _stack_status(self, status: str, outputs: list[dict[str, str]] | None = None) -> None:
        """Record the stack in the emulator's CloudFormation: its status, and the resources and
        template ListStackResources and GetTemplate answer with (the new template as soon as the
        deploy starts, as CloudFormation's is during an update)."""
        statuses = {"create": "CREATE_COMPLETE", "update": "UPDATE_COMPLETE"}
        changed = {logical_id: statuses[action] for logical_id, _, action in self.outcome.changes
                   if action in statuses}
        resources = [{"LogicalResourceId": logical_id, "PhysicalResourceId": record.physical_id,
                      "ResourceType": record.type, **({"ResourceStatus": changed[logical_id]}
                                                      if logical_id in changed else {})}
                     for logical_id, record in self.record.resources.items()]
        extra = {"Outputs": outputs} if outputs is not None else {}
        EmulatorControl(self.endpoint).put_stack(self.artifact.name, status, self.record.stack_id,
                                                 Resources=resources,
                                                 TemplateBody=json.dumps(self.artifact.template, indent=1), **extra)

    # Helpers ------------------------------------------------------------------------------

    def _lookup(self, logical_id: str, attribute: str | None) -> Any:
        made = self.made.get(logical_id)
        if made is None:
            raise TemplateError(f"{logical_id} is referred to before it is deployed")
        if attribute is None:
            return made.physical_id
        if attribute in made.attributes:
            return made.attributes[attribute]
        resource_type = str((self.artifact.template.get("Resources") or {}).get(logical_id, {}).get("Type"))
        if handling(resource_type) == "not emulated":
            # An attribute of something not emulated: a stable stand-in, never a real value.
            return f"{made.physical_id}.{attribute}"
        raise TemplateError(f"{logical_id} ({resource_type}) has no attribute {attribute!r}")

    def _service_token(self, properties: dict[str, Any]) -> str:
        return str(properties.get("ServiceToken") or "local")

    def _client(self, service: str) -> Any:
        # S3 and CloudFormation are served under their own paths (botocore keeps S3 path-style there).
        return client(service, service_endpoint(self.endpoint, service), self.record.region)


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else [str(v) for v in value]
