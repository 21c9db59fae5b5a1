"""Availability configurations: where WorkMail asks for free/busy of another domain's users,
an EWS endpoint or a Lambda function (Administrator Guide, "Configure availability settings
on Amazon WorkMail"). One per domain. The service never returns an EWS password, so a new
secret reference (or version) is the only sign it changed."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from ..changes import Change, ChangeFailed, FieldChange, NamedAddress
from ..errors import error_code
from ..spec import AvailabilityConfigurationSpec, EwsProviderSpec, SecretRef
from ..state import ActualState
from .base import ApplyContext, Kind, KindInfo, Phase, PlanContext, Steps
from .compare import by_name, differs

if TYPE_CHECKING:
    from ..read import Job, Reader
    from ..validate import Validator

AvailabilityChange = Change[NamedAddress, AvailabilityConfigurationSpec]


def _address(spec: AvailabilityConfigurationSpec) -> NamedAddress:
    return NamedAddress("availability_configuration", spec.domain_name)


def _fields(found: AvailabilityConfigurationSpec, spec: AvailabilityConfigurationSpec,
            previous: AvailabilityConfigurationSpec | None) -> list[FieldChange]:
    fields = []
    if differs("lambda_arn", found.lambda_arn, spec.lambda_arn):
        fields.append(FieldChange("lambda_arn", found.lambda_arn, spec.lambda_arn))
    old_ews, new_ews = found.ews, spec.ews
    if (old_ews is None) != (new_ews is None):
        fields.append(FieldChange("provider", "EWS" if old_ews else "LAMBDA", "EWS" if new_ews else "LAMBDA"))
    elif old_ews is not None and new_ews is not None:
        for name in ("endpoint", "username"):
            if differs(name, getattr(old_ews, name), getattr(new_ews, name)):
                fields.append(FieldChange(f"ews.{name}", getattr(old_ews, name), getattr(new_ews, name)))
        old_secret = previous.ews.password if previous is not None and previous.ews is not None else None
        if old_secret is not None and old_secret != new_ews.password:
            fields.append(FieldChange("ews.password", old_secret, new_ews.password))
    return fields


class AvailabilityKind(Kind[NamedAddress, AvailabilityConfigurationSpec]):
    name = "availability_configuration"
    info = KindInfo("Availability configurations", "availability_configurations",
                    {"$ref": "#/$defs/AvailabilityConfigurationSpec"})
    delete_rank = 7

    def plan(self, ctx: PlanContext) -> None:
        if not ctx.read("availability_configurations"):
            return
        declared = by_name(ctx.declared.availability_configurations, lambda a: a.domain_name)
        previous = by_name(ctx.previous.availability_configurations if ctx.previous else [], lambda a: a.domain_name)
        for name, spec in declared.items():
            found = ctx.actual.availability_configurations.get(name)
            if found is None:
                ctx.add(Change("create", _address(spec), "declared", after=spec))
                continue
            fields = _fields(found, spec, previous.get(name))
            if fields:
                ctx.add(Change("update", _address(spec), "changed: " + ", ".join(f.name for f in fields),
                               before=found, after=spec, fields=tuple(fields)))
        for name, found in ctx.actual.availability_configurations.items():
            if name not in declared and (ctx.declared.prune or name in previous):
                ctx.add(Change("delete", _address(found), "no longer declared", before=found))

    def read_jobs(self, reader: Reader) -> list[Job]:
        if "availability_configurations" not in reader.sections:
            return []
        fetch = partial(reader.list_all, "ListAvailabilityConfigurations", "AvailabilityConfigurations")
        return [(fetch, reader.keep(self.name))]

    def build(self, reader: Reader, state: ActualState) -> None:
        for configuration in reader.raw.get(self.name) or []:
            ews = configuration.get("EwsProvider")
            lambda_provider = configuration.get("LambdaProvider")
            spec = AvailabilityConfigurationSpec(
                domain_name=configuration["DomainName"],
                # The list returns a redacted provider: the password can't be read back, so the
                # reference is empty and the planner must not compare it.
                ews=EwsProviderSpec(endpoint=ews["EwsEndpoint"], username=ews["EwsUsername"],
                                    password=SecretRef(secret_id="")) if ews else None,
                lambda_arn=lambda_provider.get("LambdaArn") if lambda_provider else None,
            )
            state.availability_configurations[spec.domain_name.lower()] = spec

    def validate(self, v: Validator) -> None:
        configurations = v.spec.availability_configurations
        v.duplicates("availability_configurations", configurations, lambda c: str(c.domain_name).lower(),
                     "an availability configuration for this domain", field="domain_name")
        own = {d.name.lower() for d in v.spec.domains} | v.existing_domains | {v.test_domain}
        for i, configuration in enumerate(configurations):
            path = v.path("availability_configurations", configurations, i)
            if (configuration.ews is None) == (configuration.lambda_arn is None):
                v.add(path, "give exactly one provider: ews or lambda_arn")
            if isinstance(configuration.domain_name, str) and configuration.domain_name.lower() in own:
                # Availability settings query other systems; WorkMail answers for its own domains
                # from its own calendars (Administrator Guide, "Configure availability settings on
                # Amazon WorkMail").
                v.add(f"{path}.domain_name", "is a mail domain of this organization; availability configurations "
                                             "are for domains served by other systems")

    def steps(self, change: AvailabilityChange, ctx: ApplyContext) -> Steps:
        if change.action == "delete":
            return {Phase.REMOVALS: lambda: self._delete(change.key, ctx)}
        return {Phase.POLICIES: lambda: self._put(change, ctx)}

    @staticmethod
    def _put(change: AvailabilityChange, ctx: ApplyContext) -> None:
        spec = change.declared
        provider: dict[str, Any]
        if spec.ews is not None:
            provider = {"EwsProvider": {
                "EwsEndpoint": spec.ews.endpoint, "EwsUsername": spec.ews.username,
                "EwsPassword": ctx.secret(spec.ews.password, "ews.password"),
            }}
        elif spec.lambda_arn:
            provider = {"LambdaProvider": {"LambdaArn": spec.lambda_arn}}
        else:
            raise ChangeFailed("declares neither an EWS nor a Lambda provider", field="ews")
        if change.action != "update":
            try:
                # No ClientToken: the request holds a password that may rotate between attempts,
                # and a second create is refused by name anyway.
                ctx.call("CreateAvailabilityConfiguration", DomainName=spec.domain_name, **provider)
                return
            except ClientError as exc:
                if error_code(exc) != "NameAvailabilityException":
                    raise
        ctx.call("UpdateAvailabilityConfiguration", DomainName=spec.domain_name, **provider)

    @staticmethod
    def _delete(domain_name: str, ctx: ApplyContext) -> None:
        ctx.call("DeleteAvailabilityConfiguration", DomainName=domain_name)
