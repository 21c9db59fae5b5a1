"""What a local deploy does with each resource type of a stack.

- ``Custom::WorkMail*``: the real custom-resource handlers (``handlers.provider``) with
  CloudFormation-shaped events, ``is_complete`` polled as the Provider framework does.
- ``AWS::SecretsManager::Secret``: a value generated as Secrets Manager would
  (``GenerateSecretString``), stored in the emulator's Secrets Manager, where the
  handlers read it.
- ``AWS::Route53::HostedZone`` and ``AWS::Route53::RecordSet``: recorded; the record that
  proves a WorkMail domain's ownership verifies the domain in the emulator.
- Everything else (Lambda functions, roles, log groups, keys) is not emulated: it gets a
  physical id and ARN of the right shape, so what refers to it reads as it would in AWS.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import string
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from .intrinsics import Pseudo

Handling = Literal["handler", "local", "not emulated"]

HANDLER_TYPES = frozenset({
    "Custom::WorkMailOrganization", "Custom::WorkMailDomain", "Custom::WorkMailDirectory",
    "Custom::WorkMailEmailMonitoring",
})
LOCAL_TYPES = frozenset({"AWS::SecretsManager::Secret", "AWS::Route53::HostedZone", "AWS::Route53::RecordSet",
                         "AWS::S3::Bucket"})
# The Provider framework's own resources: in a local deploy the handlers are called directly.
_VERIFICATION_PREFIX = "_amazonses."


def handling(resource_type: str) -> Handling:
    if resource_type in HANDLER_TYPES:
        return "handler"
    if resource_type in LOCAL_TYPES:
        return "local"
    return "not emulated"


@dataclass
class Made:
    """What a resource became: its physical id (its Ref) and attributes (its Fn::GetAtt)."""

    physical_id: str
    attributes: dict[str, Any] = field(default_factory=dict)


# Resource identities ------------------------------------------------------------------


def placeholder(resource_type: str, logical_id: str, pseudo: Pseudo) -> Made:
    """A physical id and attributes of the shape AWS gives ``resource_type``, for a resource
    that is not emulated (stable across deploys: derived from the stack and logical id)."""
    digest = hashlib.sha256(f"{pseudo.stack_name}/{logical_id}".encode()).hexdigest()
    name = f"{pseudo.stack_name}-{logical_id}"[:52] + f"-{digest[:10]}"
    region, account = pseudo.region, pseudo.account
    service = resource_type.split("::")[1].lower() if resource_type.count("::") == 2 else "cloudformation"
    arn = f"arn:aws:{service}:{region}:{account}:{resource_type.split('::')[-1].lower()}/{name}"
    physical = name
    attributes: dict[str, Any] = {}
    if resource_type == "AWS::Lambda::Function":
        arn = f"arn:aws:lambda:{region}:{account}:function:{name}"
    elif resource_type == "AWS::IAM::Role":
        arn = f"arn:aws:iam::{account}:role/{name}"
        attributes["RoleId"] = "AROA" + digest[:17].upper()
    elif resource_type == "AWS::KMS::Key":
        physical = str(uuid.UUID(digest[:32]))
        arn = f"arn:aws:kms:{region}:{account}:key/{physical}"
        attributes["KeyId"] = physical
    elif resource_type == "AWS::Logs::LogGroup":
        arn = f"arn:aws:logs:{region}:{account}:log-group:{name}:*"
    elif resource_type == "AWS::StepFunctions::StateMachine":
        physical = arn = f"arn:aws:states:{region}:{account}:stateMachine:{name}"
        attributes["Name"] = name
    elif resource_type == "AWS::S3::Bucket":
        physical = name.lower()
        arn = f"arn:aws:s3:::{physical}"
        attributes["DomainName"] = f"{physical}.s3.amazonaws.com"
    elif resource_type.startswith("AWS::Logs::Delivery"):
        kind = {"AWS::Logs::DeliverySource": "delivery-source", "AWS::Logs::DeliveryDestination":
                "delivery-destination", "AWS::Logs::Delivery": "delivery"}.get(resource_type, "delivery")
        arn = f"arn:aws:logs:{region}:{account}:{kind}:{name}"
    attributes.setdefault("Arn", arn)
    return Made(physical, attributes)


def hosted_zone(logical_id: str, properties: dict[str, Any], pseudo: Pseudo) -> Made:
    digest = hashlib.sha256(f"{pseudo.stack_name}/{logical_id}".encode()).hexdigest()
    zone_id = "Z" + "".join(c for c in digest.upper() if c.isalnum())[:13]
    servers = [f"ns-{int(digest[i:i + 3], 16) % 2048}.awsdns-{i:02d}.{tld}"
               for i, tld in zip((0, 3, 6, 9), ("com", "net", "org", "co.uk"), strict=True)]
    return Made(zone_id, {"Id": zone_id, "NameServers": servers})


def verified_domain(record: dict[str, Any]) -> str | None:
    """The WorkMail domain whose ownership this record proves (``_amazonses.<domain>`` TXT), if any."""
    name = str(record.get("Name") or "").rstrip(".").lower()
    if str(record.get("Type")) == "TXT" and name.startswith(_VERIFICATION_PREFIX):
        return name[len(_VERIFICATION_PREFIX):]
    return None


# Secrets ------------------------------------------------------------------------------

_PUNCTUATION = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"


def generate_secret(properties: dict[str, Any]) -> str:
    """A secret's value as CloudFormation makes it: ``SecretString`` as given, or a password
    from ``GenerateSecretString`` (its length, exclusions and "each included type" rule),
    put under ``GenerateStringKey`` of ``SecretStringTemplate`` when both are set."""
    given = properties.get("SecretString")
    if isinstance(given, str):
        return given
    options: dict[str, Any] = properties.get("GenerateSecretString") or {}
    length = int(options.get("PasswordLength", 32))
    excluded = set(str(options.get("ExcludeCharacters", "")))
    classes = []
    for flag, characters in (("ExcludeLowercase", string.ascii_lowercase), ("ExcludeUppercase", string.ascii_uppercase),
                             ("ExcludeNumbers", string.digits), ("ExcludePunctuation", _PUNCTUATION)):
        if not _flag(options.get(flag)):
            kept = "".join(c for c in characters if c not in excluded)
            if kept:
                classes.append(kept)
    if _flag(options.get("IncludeSpace")):
        classes.append(" ")
    if not classes:
        raise ValueError("GenerateSecretString excludes every character")
    alphabet = "".join(classes)
    each = _flag(options.get("RequireEachIncludedType", True))
    while True:
        password = "".join(secrets.choice(alphabet) for _ in range(length))
        if not each or length < len(classes) or all(any(c in group for c in password) for group in classes):
            break
    template, key = options.get("SecretStringTemplate"), options.get("GenerateStringKey")
    if isinstance(template, str) and isinstance(key, str):
        document = json.loads(template)
        document[key] = password
        return json.dumps(document)
    return password


def _flag(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.lower() == "true")


# The custom-resource handlers -----------------------------------------------------------


class LambdaContext:
    """The part of a Lambda context the handlers use: how long they may still run."""

    def __init__(self, seconds: float = 14 * 60) -> None:
        self._deadline = time.monotonic() + seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


@dataclass(frozen=True)
class CustomResourceRequest:
    request_type: Literal["Create", "Update", "Delete"]
    resource_type: str
    logical_id: str
    stack_id: str
    properties: dict[str, Any]
    old_properties: dict[str, Any] | None = None
    physical_id: str | None = None

    def event(self, service_token: str) -> dict[str, Any]:
        event: dict[str, Any] = {
            "RequestType": self.request_type, "ServiceToken": service_token,
            "ResponseURL": "http://127.0.0.1/local-deploy", "StackId": self.stack_id,
            "RequestId": str(uuid.uuid4()), "LogicalResourceId": self.logical_id,
            "ResourceType": self.resource_type, "ResourceProperties": self.properties,
        }
        if self.physical_id is not None:
            event["PhysicalResourceId"] = self.physical_id
        if self.old_properties is not None:
            event["OldResourceProperties"] = self.old_properties
        return event


class HandlerTimeout(Exception):
    """A custom resource did not complete within the deploy's time limit."""


def run_custom_resource(request: CustomResourceRequest, *, service_token: str, timeout: float,
                        waiting: Callable[[float], None] | None = None,
                        between: Callable[[], None] | None = None) -> Made:
    """``on_event``, then ``is_complete`` until it says so, as the Provider framework runs them:
    the physical id from ``on_event``, the attributes of both merged. ``between`` runs
    after ``on_event``: what happens in the world while the framework waits."""
    from ...handlers import provider

    event = request.event(service_token)
    answer = provider.on_event(event, LambdaContext())
    if between is not None:
        between()
    physical = str(answer.get("PhysicalResourceId") or request.physical_id or request.logical_id)
    data = dict(answer.get("Data") or {})
    started = time.monotonic()
    interval = 0.05
    while True:
        status = provider.is_complete({**event, **answer, "PhysicalResourceId": physical}, LambdaContext())
        data.update(status.get("Data") or {})
        if status.get("IsComplete"):
            return Made(physical, data)
        elapsed = time.monotonic() - started
        if elapsed > timeout:
            raise HandlerTimeout(f"{request.logical_id} ({request.resource_type}) did not complete its "
                                 f"{request.request_type} within {timeout:.0f} s")
        if waiting is not None:
            waiting(elapsed)
        time.sleep(interval)
        interval = min(interval * 2, 1.0)
