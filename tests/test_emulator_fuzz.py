"""Fuzzing the emulator's HTTP front: random bodies, headers and targets for every operation and
control route. Whatever arrives, the emulator answers (no dropped connection), never with a 500,
and an error answer leaves its state exactly as it was."""

from __future__ import annotations

import json
import os
import socket
import string
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.model import Shape, StructureShape
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import make_client, unique
from workmail_constructs.core import service_model
from workmail_constructs.local import EmulatorControl, EmulatorServer, Faults, Limits, Timing
from workmail_constructs.local.registry import CONTROLS
from workmail_constructs.local.server import CONTROL_PREFIX

# Examples per operation and route; raise it for a longer hunt (FUZZ_EXAMPLES=500).
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "12"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
OPERATIONS = sorted(service_model.service_model().operation_names)
ROUTES = sorted({"health", "calls", "faults", "timing", "clock", *CONTROLS})


class Target:
    """One emulator with a little of everything in it, and the values that reach past validation."""

    def __init__(self, server: EmulatorServer) -> None:
        self.server = server
        host, port = server.endpoint_url.removeprefix("http://").rsplit(":", 1)
        self.address = (host, int(port))
        client = make_client(server.endpoint_url)
        control = EmulatorControl(server.endpoint_url)
        self.org_id = client.create_organization(Alias=unique("fuzz"))["OrganizationId"]
        self.domain = f"{unique('f')}.example.com"
        client.register_mail_domain(OrganizationId=self.org_id, DomainName=self.domain)
        control.verify_domain(self.org_id, self.domain)
        self.user_id = client.create_user(OrganizationId=self.org_id, Name="fuzzer", DisplayName="Fuzzer")["UserId"]
        self.group_id = client.create_group(OrganizationId=self.org_id, Name="fuzzers")["GroupId"]
        control.command("put-s3-object", Bucket="fuzz-bucket", Key="seed/object", Body="x")

    def known_strings(self) -> list[str]:
        return [self.org_id, self.domain, self.user_id, self.group_id, f"fuzzer@{self.domain}", "fuzzer",
                "fuzz-bucket", "seed/object", "us-east-1"]

    def state(self) -> Any:
        emulator = self.server.emulator
        with emulator.lock:
            return (emulator.store.dump(), emulator.store.dump_committed(), emulator.settings.faults.as_dict(),
                    dict(vars(emulator.settings.timing)), emulator.clock_offset)

    def reset(self) -> None:
        """Undo what a successful fuzzed control call may set, and let due timers finish."""
        emulator = self.server.emulator
        with emulator.lock:
            emulator.settings.faults = Faults()
            emulator.settings.timing = Timing()
        emulator.advance_clock(0)

    def exchange(self, request: bytes) -> int:
        """Send one raw request and read the answer's status; a dropped connection fails."""
        with socket.create_connection(self.address, timeout=30) as sock:
            sock.sendall(request)
            sock.shutdown(socket.SHUT_WR)
            received = b""
            while chunk := sock.recv(65536):
                received += chunk
        assert received.startswith(b"HTTP/1.1 "), f"no answer to {request[:300]!r}"
        return int(received.split(b" ", 2)[1])

    def check(self, request: bytes) -> None:
        self.reset()
        before = self.state()
        status = self.exchange(request)
        assert status != 500, f"500 for {request[:500]!r}"
        if status >= 400:
            assert self.state() == before, f"an error answer ({status}) changed the state: {request[:500]!r}"


@pytest.fixture(scope="module")
def target() -> Iterator[Target]:
    with EmulatorServer(limits=Limits(idle_timeout=5)).start() as server:
        yield Target(server)


# Strategies -----------------------------------------------------------------------------

_header_text = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=40)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-2**40, 2**40) | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=12,
)


def shaped(shape: Shape, known: list[str], depth: int = 0) -> st.SearchStrategy[Any]:
    """Values of ``shape``'s type, often valid, sometimes not, now and then of another type."""
    kind = shape.type_name
    if kind == "structure" and depth < 4:
        assert isinstance(shape, StructureShape)
        members = {name: shaped(member, known, depth + 1) for name, member in shape.members.items()}
        required = {name: members[name] for name in shape.required_members}
        optional = {name: s for name, s in members.items() if name not in required}
        typed = st.fixed_dictionaries(required, optional=optional)
    elif kind == "list" and depth < 4:
        typed = st.lists(shaped(shape.member, known, depth + 1), max_size=3)  # type: ignore[attr-defined]
    elif kind == "map" and depth < 4:
        typed = st.dictionaries(st.text(max_size=10), shaped(shape.value, known, depth + 1),  # type: ignore[attr-defined]
                                max_size=3)
    elif kind == "string":
        enum = getattr(shape, "enum", None) or []
        typed = st.sampled_from(enum) if enum else st.sampled_from(known) | st.text(max_size=70)
    elif kind in ("integer", "long"):
        typed = st.integers(-10, 300_000)
    elif kind in ("double", "float"):
        typed = st.floats(allow_nan=False, allow_infinity=False)
    elif kind == "boolean":
        typed = st.booleans()
    elif kind == "timestamp":
        typed = st.integers(0, 4_000_000_000)
    else:
        typed = st.text(max_size=20)
    return st.one_of(typed, typed, typed, json_values)


def request_bytes(method: str, path: str, headers: list[tuple[str, str]], body: bytes) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", *(f"{k}: {v}" for k, v in headers), f"Content-Length: {len(body)}",
             "Connection: close"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


extra_headers = st.lists(st.tuples(st.sampled_from(["Authorization", "Content-Type", "X-Amz-Date", "X-Custom",
                                                    "Accept-Encoding"]), _header_text), max_size=3)
regions = st.sampled_from(["us-east-1", "eu-west-1", "zz-nowhere-9", ""])


def _encode(value: Any) -> bytes:
    return json.dumps(value).encode()


# Tests ----------------------------------------------------------------------------------


@pytest.mark.parametrize("operation", OPERATIONS)
def test_fuzzed_operation_requests(target: Target, operation: str) -> None:
    shape = service_model.operation(operation).input_shape

    @FUZZ
    @given(body=st.one_of(shaped(shape, target.known_strings()), json_values.map(_encode), st.binary(max_size=60))
           if shape is not None else json_values, headers=extra_headers, region=regions)
    def run(body: Any, headers: list[tuple[str, str]], region: str) -> None:
        payload = body if isinstance(body, bytes) else _encode(body)
        auth = [("Authorization", f"AWS4-HMAC-SHA256 Credential=AKID/20260101/{region}/workmail/aws4_request")]
        target.check(request_bytes("POST", "/", [("X-Amz-Target", f"WorkMailService.{operation}"), *auth,
                                                 *headers], payload))

    run()


@pytest.mark.parametrize("route", ROUTES)
def test_fuzzed_control_requests(target: Target, route: str) -> None:
    keys = st.sampled_from(["OrganizationId", "DomainName", "Status", "Bucket", "Key", "Body", "BodyBase64",
                            "Region", "MessageId", "throttle_rate", "latency_ms", "operations", "seed",
                            "export_job", "advance_seconds", "DirectoryId", "EntityId"]) | st.text(max_size=12)
    values = st.sampled_from(target.known_strings()) | json_values

    @FUZZ
    @given(method=st.sampled_from(["GET", "POST", "DELETE"]), body=st.dictionaries(keys, values, max_size=5)
           .map(_encode) | json_values.map(_encode) | st.binary(max_size=40), headers=extra_headers)
    def run(method: str, body: bytes, headers: list[tuple[str, str]]) -> None:
        target.check(request_bytes(method, f"{CONTROL_PREFIX}{route}", headers, body))

    run()


@settings(FUZZ, max_examples=25 * EXAMPLES)
@given(
    method=st.sampled_from(["GET", "POST", "DELETE", "PUT", "get", "POST /"]),
    path=st.sampled_from(["/", "/messages/abc", "/messages/", CONTROL_PREFIX, "/_emulator/clock?x=1"]) | _header_text,
    target_header=st.sampled_from(OPERATIONS).map(lambda op: f"WorkMailService.{op}") | _header_text,
    body=st.binary(max_size=80) | json_values.map(_encode),
    headers=extra_headers,
)
def test_fuzzed_requests_of_any_shape(target: Target, method: str, path: str, target_header: str, body: bytes,
                                      headers: list[tuple[str, str]]) -> None:
    target.check(request_bytes(method, path or "/", [("X-Amz-Target", target_header), *headers], body))


@settings(FUZZ, max_examples=16 * EXAMPLES)
@given(raw=st.binary(min_size=1, max_size=200) | st.text(alphabet=string.printable, min_size=1, max_size=200)
       .map(lambda t: t.encode()))
def test_fuzzed_bytes_on_the_wire(target: Target, raw: bytes) -> None:
    target.check(raw)
