"""What the custom-resource handlers share: events, properties, clients, secrets, responses.

The handlers run under the CDK Provider framework: ``on_event`` answers
``{"PhysicalResourceId": ..., "Data": {...}}`` and ``is_complete`` answers
``{"IsComplete": bool, "Data": {...}}``. The framework merges the two ``Data`` objects
(``is_complete``'s wins) and refuses ``Data`` on an incomplete answer, so ``incomplete()``
carries none. When a handler raises, the framework reports FAILED with the exception's
message *and its stack trace* as the reason; CloudFormation refuses a response over
4 KB, so ``entry_point`` re-raises every error as a short ``HandlerError`` from the entry
frame (the full traceback goes to the log instead).

Everything outside the process is reached through the module-level factories below
(``workmail_api``, ``secrets_client``, ``s3_client``, ``cloudformation_client`` and
``clock``); tests replace them with ``monkeypatch.setattr(common, "...", ...)``. Clients
are built on first use and cached per endpoint and region, because importing boto3
costs more than the 200 ms a handler module may take to import: nothing here imports
boto3 or the reconcile core at module level.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from workmail_constructs.core.api import WorkMailApi
    from workmail_constructs.core.spec import SecretRef

log = logging.getLogger("workmail_constructs.handlers")
# Lambda's root logger passes INFO through only when asked; one line per change is the point.
log.setLevel(logging.INFO)

# CloudFormation refuses a custom-resource response over 4,096 bytes; the framework's
# envelope (status, stack id, request id, physical id, logical id, reason) takes up to 512.
DATA_LIMIT_BYTES = 3584
# Failure reasons share the response limit with the framework's "Logs: ..." line and trace.
MESSAGE_LIMIT = 1500

ORGANIZATION_ID = re.compile(r"m-[0-9a-f]{32}")
# Secrets Manager version ids are 32–64 characters (usually a UUID); anything else is a staging label.
SECRET_VERSION_ID = re.compile(r"[A-Za-z0-9-]{32,64}")
SHA256_HEX = re.compile(r"[0-9a-fA-F]{64}")
ROLLBACK_STATES = frozenset({"UPDATE_ROLLBACK_IN_PROGRESS"})

T = TypeVar("T")


class HandlerError(Exception):
    """A request that can't be done, said so the reader of the stack's events can act on it."""


# Requests -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Request:
    """The parts of a CloudFormation custom-resource event the handlers use.

    ``data`` is what ``on_event`` returned as Data, which the Provider framework passes to
    ``is_complete`` inside the event.
    """

    request_type: str
    properties: Mapping[str, Any]
    old_properties: Mapping[str, Any]
    physical_id: str | None
    logical_id: str
    stack_id: str
    request_id: str
    resource_type: str
    data: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_event(cls, event: Any) -> Request:
        if not isinstance(event, Mapping):
            raise HandlerError(f"the event must be a CloudFormation custom-resource request (an object), "
                               f"not {type(event).__name__}")
        request_type = str(event.get("RequestType") or "")
        if request_type not in ("Create", "Update", "Delete"):
            raise HandlerError(f"RequestType must be Create, Update or Delete, not {request_type!r}")
        return cls(
            request_type=request_type,
            properties=_mapping(event.get("ResourceProperties"), "ResourceProperties"),
            old_properties=_mapping(event.get("OldResourceProperties"), "OldResourceProperties"),
            physical_id=str(event["PhysicalResourceId"]) if event.get("PhysicalResourceId") else None,
            logical_id=str(event.get("LogicalResourceId") or ""),
            stack_id=str(event.get("StackId") or ""),
            request_id=str(event.get("RequestId") or ""),
            resource_type=str(event.get("ResourceType") or ""),
            data=_mapping(event.get("Data"), "Data"),
        )

    def describe(self) -> str:
        return (f"{self.request_type} {self.resource_type or 'custom resource'} {self.logical_id} "
                f"(physical id {self.physical_id or '-'}, request {self.request_id or '-'})")


def _mapping(value: Any, name: str) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise HandlerError(f"{name} must be an object, not {type(value).__name__}")
    return value


def text(properties: Mapping[str, Any], name: str, *, required: bool = True) -> str | None:
    """A string property; CloudFormation sends every scalar as a string."""
    value = properties.get(name)
    if value is None or value == "":
        if required:
            raise HandlerError(f"the property {name} is required")
        return None
    if not isinstance(value, str):
        raise HandlerError(f"the property {name} must be a string, not {type(value).__name__}")
    return value


def flag(properties: Mapping[str, Any], name: str, *, default: bool = False) -> bool:
    """A "true"/"false" property (CloudFormation turns booleans into these strings)."""
    value = properties.get(name)
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise HandlerError(f'the property {name} must be "true" or "false", not {value!r}')


def organization_id(properties: Mapping[str, Any]) -> str:
    value = text(properties, "OrganizationId")
    assert value is not None
    if not ORGANIZATION_ID.fullmatch(value):
        raise HandlerError(f"OrganizationId must be an organization id (m- and 32 hex digits), not {value!r}")
    return value


def document(properties: Mapping[str, Any], name: str, *, required: bool = True) -> str | Mapping[str, Any] | None:
    """A property holding a JSON document: a structured object (as the constructs write it)
    or its JSON text (as older stacks did)."""
    value = properties.get(name)
    if value is None or value == "" or value == {}:
        if required:
            raise HandlerError(f"the property {name} is required")
        return None
    if not isinstance(value, (str, Mapping)):
        raise HandlerError(f"the property {name} must be an object or its JSON text, not {type(value).__name__}")
    return value


def references(properties: Mapping[str, Any], what: str) -> dict[str, str]:
    """The ``References`` property: NAME → deploy-time value, for the ``$ref:NAME`` placeholders
    of the spec document (an object, or its JSON text)."""
    value = document(properties, "References", required=False)
    if value is None:
        return {}
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as exc:
            raise HandlerError(f"{what}.References is not valid JSON: {exc}") from None
    if not isinstance(value, Mapping):
        raise HandlerError(f"{what}.References must be an object of names and values")
    # CloudFormation passes every scalar as a string; anything else is not a value a spec can hold.
    wrong = sorted(str(k) for k, v in value.items() if not isinstance(v, str))
    if wrong:
        raise HandlerError(f"{what}.References must map names to strings; not so: {', '.join(wrong[:5])}")
    return {str(k): v for k, v in value.items()}


def spec_data(document: str | bytes | Mapping[str, Any], what: str) -> Any:
    """A spec property's document as data: the structured object itself, or its JSON text read."""
    from workmail_constructs.core.spec import SpecError
    from workmail_constructs.core.spec_reading import parse_json

    if isinstance(document, Mapping):
        return document
    try:
        return parse_json(document)
    except SpecError as exc:
        raise HandlerError(f"{what} is {exc.message}") from None


def parse_spec(cls: type[T], document: str | bytes | Mapping[str, Any], what: str,
               references: Mapping[str, str] | None = None) -> T:
    """A spec object from its property, with the path of anything wrong.

    ``document`` is a structured object (custom-resource properties, in which CloudFormation
    turns every number and boolean into a string: they are read back as the declared types)
    or JSON text. ``references`` replace the document's ``$ref:NAME`` placeholders first.
    """
    from workmail_constructs.core.spec import SpecError
    from workmail_constructs.core.spec_reading import from_data

    data = spec_data(document, what)
    try:
        # Coercing "true" and "42" is harmless for JSON text, whose values are typed already.
        return from_data(cls, data, cloudformation=True, references=references)
    except SpecError as exc:
        raise HandlerError(f"{what} is not a valid {cls.__name__}: {exc}") from None


def client_token(*parts: str) -> str:
    """A ClientToken derived from what identifies a request, so a retried request is recognised."""
    return hashlib.sha256("\x1f".join(("workmail-constructs", *parts)).encode()).hexdigest()


# Responses ----------------------------------------------------------------------------


def fit_data(data: Mapping[str, Any], limit: int = DATA_LIMIT_BYTES) -> dict[str, str]:
    """``data`` as strings, within ``limit`` bytes of JSON: the longest values are left out
    first (with a log line naming them) rather than the whole response being refused."""
    result = {str(k): v if isinstance(v, str) else json.dumps(v) for k, v in data.items() if v is not None}
    dropped: list[str] = []
    while _size(result) > limit and result:
        longest = max(result, key=lambda k: len(k) + len(result[k]))
        dropped.append(longest)
        del result[longest]
    if dropped:
        log.warning("response data over %d bytes: left out %s", limit, ", ".join(sorted(dropped)))
    size = _size(result)
    assert size <= limit, f"response data is {size} bytes, over {limit}"
    return result


def _size(data: Mapping[str, str]) -> int:
    return len(json.dumps(data, separators=(",", ":")).encode("utf-8"))


def response(physical_id: str, data: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """``on_event``'s answer."""
    return {"PhysicalResourceId": physical_id, "Data": fit_data(data or {})}


def complete(data: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """``is_complete``'s answer when done; ``data`` should repeat every key on_event returned
    so the merged Data is what was measured here."""
    return {"IsComplete": True, "Data": fit_data(data or {})}


def incomplete() -> dict[str, Any]:
    # The framework fails the resource if an incomplete answer carries any Data.
    return {"IsComplete": False}


CUT_MARK = " … (cut; the log has it all) … "


def short(message: str, limit: int = MESSAGE_LIMIT) -> str:
    """``message`` within ``limit`` characters, cut in the middle: its start says what failed
    and its end is usually the service's own error message, so both are kept."""
    message = message.strip()
    if len(message) <= limit:
        return message
    keep = limit - len(CUT_MARK)
    if keep < 2 * len(CUT_MARK):
        return message[: limit - 1] + "…"
    head = keep // 2
    return message[:head].rstrip() + CUT_MARK + message[len(message) - (keep - head):].lstrip()


def describe_client_error(exc: BaseException) -> str:
    """``Operation failed: Code: message`` for a botocore ClientError, else the exception itself."""
    response_ = getattr(exc, "response", None)
    if isinstance(response_, dict) and "Error" in response_:
        error = response_["Error"]
        operation = getattr(exc, "operation_name", "call")
        return f"{operation} failed: {error.get('Code', 'Error')}: {error.get('Message', '')}".rstrip(": ")
    return f"{type(exc).__name__}: {exc}"


def error_code(exc: BaseException) -> str | None:
    response_ = getattr(exc, "response", None)
    if isinstance(response_, dict):
        code = response_.get("Error", {}).get("Code")
        return str(code) if code else None
    return None


Handler = Callable[[dict[str, Any], Any], dict[str, Any]]


def entry_point(fn: Handler) -> Handler:
    """A Lambda entry point: logs the request in one line and turns every failure into a
    short HandlerError raised from here (the full traceback goes to the log only)."""

    @functools.wraps(fn)
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        try:
            request = Request.from_event(event).describe()
        except HandlerError as exc:
            request = f"malformed request ({exc})"
        log.info("%s: %s", fn.__name__, request)
        try:
            return fn(event, context)
        except HandlerError as exc:
            message = short(str(exc))
            log.error("%s failed: %s", request, message)
        except Exception as exc:
            message = short(describe_client_error(exc))
            log.exception("%s failed: %s", request, message)
        raise HandlerError(message) from None

    return handler


# Time ---------------------------------------------------------------------------------

# Wall-clock seconds: deadlines are kept in Data and read by later invocations, which may
# run in another sandbox, so a monotonic clock would not do.
clock: Callable[[], float] = time.time


class Budget:
    """What is left of this Lambda invocation (15 minutes at most), from its context."""

    def __init__(self, context: Any, margin: float) -> None:
        self._remaining: Callable[[], int] | None = getattr(context, "get_remaining_time_in_millis", None)
        self.margin = margin

    def remaining(self) -> float | None:
        return None if self._remaining is None else self._remaining() / 1000.0

    def running_out(self) -> bool:
        remaining = self.remaining()
        return remaining is not None and remaining < self.margin


# Clients ------------------------------------------------------------------------------

_clients: dict[tuple[str, str | None, str | None], Any] = {}
_clients_lock = threading.Lock()


def region() -> str | None:
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or None


# The service-specific endpoint variables botocore defines (named after each service's id).
ENDPOINT_VARIABLES = {
    "workmail": "AWS_ENDPOINT_URL_WORKMAIL", "secretsmanager": "AWS_ENDPOINT_URL_SECRETS_MANAGER",
    "s3": "AWS_ENDPOINT_URL_S3", "cloudformation": "AWS_ENDPOINT_URL_CLOUDFORMATION",
}


def _cached(service: str, build: Callable[[str | None, str | None], Any]) -> Any:
    """One client per service, endpoint and region for the life of the sandbox."""
    endpoint = os.environ.get(ENDPOINT_VARIABLES[service]) or None
    key = (service, endpoint, region())
    with _clients_lock:
        client = _clients.get(key)
        if client is None:
            client = _clients[key] = build(endpoint, key[2])
        return client


def _boto3_client(service: str) -> Any:
    def build(endpoint: str | None, region_name: str | None) -> Any:
        import boto3

        from workmail_constructs.core.log_safety import keep_secrets_out_of_logs

        keep_secrets_out_of_logs()
        # A session of its own: boto3's default session is not safe to share across threads,
        # and apply resolves secrets from its worker threads.
        session: Any = boto3.session.Session()  # Any: the stubs type client() per literal service name
        return session.client(service, region_name=region_name, endpoint_url=endpoint)

    return _cached(service, build)


def _new_workmail_api() -> WorkMailApi:
    def build(endpoint: str | None, region_name: str | None) -> WorkMailApi:
        from workmail_constructs.core.api import WorkMailApi

        return WorkMailApi.create(endpoint_url=endpoint, region=region_name)

    api: WorkMailApi = _cached("workmail", build)
    return api


def _new_secrets_client() -> Any:
    return _boto3_client("secretsmanager")


def _new_s3_client() -> Any:
    return _boto3_client("s3")


def _new_cloudformation_client() -> Any:
    return _boto3_client("cloudformation")


# The factories handlers call; tests replace them. The endpoint of each comes from
# AWS_ENDPOINT_URL_<SERVICE> when set (the emulator, a local deploy).
workmail_api: Callable[[], WorkMailApi] = _new_workmail_api
secrets_client: Callable[[], Any] = _new_secrets_client
s3_client: Callable[[], Any] = _new_s3_client
cloudformation_client: Callable[[], Any] = _new_cloudformation_client


def is_rollback(request: Request) -> bool:
    """Whether this Update is CloudFormation rolling the stack back.

    A rollback sends the old properties as the new ones; undoing what the failed update
    made can destroy or replace things, which the user's opt-ins (given for the update,
    not for the old properties) would otherwise refuse, leaving the stack in
    UPDATE_ROLLBACK_FAILED. Needs cloudformation:DescribeStacks on the stack; without it
    the answer is no.
    """
    if request.request_type != "Update" or not request.stack_id:
        return False
    try:
        stacks = cloudformation_client().describe_stacks(StackName=request.stack_id).get("Stacks") or []
    except Exception as exc:
        log.warning("can't tell whether the stack is rolling back (%s); taking it that it is not",
                    describe_client_error(exc))
        return False
    status = str(stacks[0].get("StackStatus", "")) if stacks else ""
    return status in ROLLBACK_STATES


# Secrets ------------------------------------------------------------------------------


class SecretUnavailable(Exception):
    """A secret that can't be read; the message names the secret, never its value."""


class SecretResolver:
    """Resolves ``SecretRef``s through Secrets Manager, each secret version fetched once.

    ``version_id`` is sent as VersionId when it looks like one (32–64 characters, a UUID
    as Secrets Manager makes them) and as VersionStage otherwise (AWSCURRENT, or a label
    of the user's such as "v2"); either way a new value there is what makes the reconciler
    set the password again. ``json_key`` picks a key of a JSON secret.
    """

    def __init__(self, client: Callable[[], Any] | None = None) -> None:
        self._client_factory = client
        self._values: dict[tuple[str, str | None], str] = {}
        self._lock = threading.Lock()

    def __call__(self, ref: SecretRef) -> str:
        key = (ref.secret_id, ref.version_id)
        with self._lock:
            if key not in self._values:
                self._values[key] = self._fetch(ref)
            value = self._values[key]
        if ref.json_key is None:
            return value
        try:
            document = json.loads(value)
        except json.JSONDecodeError:
            raise SecretUnavailable(f"{ref.secret_id} is not a JSON object, so its key {ref.json_key!r} can't be "
                                    "read") from None
        if not isinstance(document, dict) or ref.json_key not in document:
            raise SecretUnavailable(f"{ref.secret_id} has no key {ref.json_key!r}")
        picked = document[ref.json_key]
        if not isinstance(picked, str):
            raise SecretUnavailable(f"{ref.secret_id}: the value of {ref.json_key!r} is not a string")
        return picked

    def _fetch(self, ref: SecretRef) -> str:
        params: dict[str, str] = {"SecretId": ref.secret_id}
        if ref.version_id:
            member = "VersionId" if SECRET_VERSION_ID.fullmatch(ref.version_id) else "VersionStage"
            params[member] = ref.version_id
        client = (self._client_factory or secrets_client)()
        try:
            answer = client.get_secret_value(**params)
        except Exception as exc:
            # botocore's message says what went wrong with the request, never the value.
            raise SecretUnavailable(f"{ref.secret_id}: {describe_client_error(exc)}") from None
        value = answer.get("SecretString")
        if not isinstance(value, str):
            raise SecretUnavailable(f"{ref.secret_id} has no SecretString (binary secrets can't be passwords)")
        log.info("read secret %s (%s)", ref.secret_id, " ".join(f"{k}={v}" for k, v in params.items()
                                                                 if k != "SecretId") or "current version")
        return value


# Specs in S3 --------------------------------------------------------------------------


def read_spec_location(document: str | Mapping[str, Any]) -> str:
    """The spec at ``{"Bucket", "Key", "Sha256"}`` (an object, or its JSON text), refused
    unless its SHA-256 matches."""
    if isinstance(document, Mapping):
        location: Any = dict(document)
    else:
        try:
            location = json.loads(document)
        except json.JSONDecodeError as exc:
            raise HandlerError(f"SpecLocation is not valid JSON: {exc}") from None
    if not isinstance(location, dict):
        raise HandlerError("SpecLocation must be an object with Bucket, Key and Sha256")
    missing = [name for name in ("Bucket", "Key", "Sha256") if not isinstance(location.get(name), str)
               or not location[name]]
    if missing:
        raise HandlerError(f"SpecLocation needs {', '.join(missing)}")
    bucket, key, expected = location["Bucket"], location["Key"], location["Sha256"]
    if not SHA256_HEX.fullmatch(expected):
        raise HandlerError(f"SpecLocation.Sha256 must be 64 hex digits, not {expected!r}")
    params = {"Bucket": bucket, "Key": key}
    if isinstance(location.get("VersionId"), str):
        params["VersionId"] = location["VersionId"]
    try:
        body = s3_client().get_object(**params)["Body"].read()
    except Exception as exc:
        raise HandlerError(f"the spec at s3://{bucket}/{key} can't be read: {describe_client_error(exc)}") from None
    digest = hashlib.sha256(body).hexdigest()
    if digest != expected.lower():
        raise HandlerError(
            f"the spec at s3://{bucket}/{key} has SHA-256 {digest}, not {expected.lower()} as the template says: "
            "the object changed after synthesis; synthesize and deploy again"
        )
    log.info("read the spec from s3://%s/%s (%d bytes, SHA-256 checked)", bucket, key, len(body))
    try:
        return bytes(body).decode("utf-8")
    except UnicodeDecodeError:
        raise HandlerError(f"the spec at s3://{bucket}/{key} is not UTF-8 text") from None
