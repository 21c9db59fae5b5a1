"""Every bad input of the hardening review, one row each.

Each emulator row sends one bad request and asserts: the exact error (status, code and a
fragment of the message), that the emulator still answers a normal call, and that a full
read of its state (every record in memory, every record committed to SQLite, its fault and
timing settings) is what it was before. The core, handler, construct and CLI rows assert
their own error and that nothing was called or written.
"""

from __future__ import annotations

import dataclasses
import json
import socket
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import make_client, unique
from tests.spec_factory import organization_spec, resolve_secret
from workmail_constructs.core.api import WorkMailApi
from workmail_constructs.core.reconcile import reconcile
from workmail_constructs.core.spec import SpecError, WorkMailSpec
from workmail_constructs.handlers import directory as directory_handler
from workmail_constructs.handlers import domain as domain_handler
from workmail_constructs.handlers import organization as organization_handler
from workmail_constructs.handlers.common import MESSAGE_LIMIT, HandlerError, short
from workmail_constructs.local import EmulatorControl, EmulatorServer, Limits, errors
from workmail_constructs.local.ops import mailboxes
from workmail_constructs.local.registry import CONTROLS, OPERATIONS, TIMER_ACTIONS

# A connection that goes quiet mid-request is answered after this long in these tests.
IDLE_TIMEOUT = 0.5
BUILT_IN_ROUTES = ("health", "calls", "faults", "timing", "clock")


# The emulator under test ---------------------------------------------------------------


@dataclasses.dataclass
class Emu:
    server: EmulatorServer
    url: str
    client: Any
    control: EmulatorControl
    org_id: str
    domain: str
    user_id: str

    def state(self) -> dict[str, Any]:
        """A full read of what the emulator holds, in memory and on disk, and its settings."""
        emulator = self.server.emulator
        with emulator.lock:
            return {
                "memory": emulator.store.dump(),
                "committed": emulator.store.dump_committed(),
                "faults": emulator.settings.faults.as_dict(),
                "timing": dict(vars(emulator.settings.timing)),
                "clock": emulator.clock_offset,
            }

    def settle(self) -> None:
        """Let the service's own background work that is due finish, so only the request can change state."""
        self.server.emulator.advance_clock(0)

    def assert_still_serves(self) -> None:
        assert self.client.describe_organization(OrganizationId=self.org_id)["State"] == "Active"


@pytest.fixture(scope="module")
def emu(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emu]:
    state = tmp_path_factory.mktemp("bad-input") / "state.sqlite"
    server = EmulatorServer(state=state, limits=Limits(idle_timeout=IDLE_TIMEOUT)).start()
    try:
        client = make_client(server.endpoint_url)
        control = EmulatorControl(server.endpoint_url)
        org_id = client.create_organization(Alias=unique("bad"))["OrganizationId"]
        domain = f"{unique('d')}.example.com"
        client.register_mail_domain(OrganizationId=org_id, DomainName=domain)
        control.verify_domain(org_id, domain)
        user_id = client.create_user(OrganizationId=org_id, Name="alice", DisplayName="Alice",
                                     Password="Corr3ct-Horse!")["UserId"]
        client.register_to_work_mail(OrganizationId=org_id, EntityId=user_id, Email=f"alice@{domain}")
        yield Emu(server, server.endpoint_url, client, control, org_id, domain, user_id)
    finally:
        server.stop()


def refused_without_change(emu: Emu, send: Callable[[], Any]) -> Any:
    """Run ``send`` (which must fail), check nothing changed and the emulator still serves; return what it raised."""
    emu.settle()
    before = emu.state()
    outcome = send()
    assert emu.state() == before, "a refused request changed the emulator's state"
    emu.assert_still_serves()
    return outcome


# The HTTP front: every request it can't read gets a 4xx answer ---------------------------


def exchange(url: str, request: bytes, timeout: float = 10.0) -> tuple[int, dict[str, Any]]:
    """Send raw bytes and read the whole answer; a dropped connection fails the test."""
    host, port = url.removeprefix("http://").rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=timeout) as sock:
        sock.sendall(request)
        received = b""
        while b"\r\n\r\n" not in received or len(received) < _expected_length(received):
            chunk = sock.recv(65536)
            assert chunk, f"the connection was dropped without an answer (got {received!r})"
            received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    return status, json.loads(body)


def _expected_length(received: bytes) -> int:
    head, _, _ = received.partition(b"\r\n\r\n")
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return len(head) + 4 + int(value)
    return len(received) + 1


TARGET = b"X-Amz-Target: WorkMailService.ListOrganizations\r\n"


def post(body: bytes, *, headers: bytes = b"", path: bytes = b"/", target: bytes = TARGET) -> bytes:
    return (b"POST " + path + b" HTTP/1.1\r\nHost: emulator\r\n" + target + headers
            + b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)


@dataclasses.dataclass(frozen=True)
class Wire:
    request: bytes
    status: int
    code: str
    fragment: str


DEEP = b'{"a":' * 40 + b"1" + b"}" * 40
WIRE_ROWS: dict[str, Wire] = {
    "missing Content-Length": Wire(b"POST / HTTP/1.1\r\n" + TARGET + b"\r\n{}", 400, "BadRequest",
                                   "needs a Content-Length"),
    "negative Content-Length": Wire(b"POST / HTTP/1.1\r\n" + TARGET + b"Content-Length: -1\r\n\r\n{}", 400,
                                    "BadRequest", "non-negative integer, not '-1'"),
    "non-numeric Content-Length": Wire(b"POST / HTTP/1.1\r\n" + TARGET + b"Content-Length: 2x\r\n\r\n{}", 400,
                                       "BadRequest", "non-negative integer, not '2x'"),
    "duplicated Content-Length": Wire(
        b"POST / HTTP/1.1\r\n" + TARGET + b"Content-Length: 2\r\nContent-Length: 2\r\n\r\n{}", 400, "BadRequest",
        "more than one content-length"),
    "Content-Length and Transfer-Encoding": Wire(
        b"POST / HTTP/1.1\r\n" + TARGET + b"Content-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n{}", 400,
        "BadRequest", "both Content-Length and Transfer-Encoding"),
    "unreadable chunked body": Wire(
        b"POST / HTTP/1.1\r\n" + TARGET + b"Transfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n", 400,
        "BadRequest", "chunk size line is not hexadecimal"),
    "chunk without its CRLF": Wire(
        b"POST / HTTP/1.1\r\n" + TARGET + b"Transfer-Encoding: chunked\r\n\r\n2\r\n{}XX0\r\n\r\n", 400,
        "BadRequest", "does not end with CRLF"),
    "unsupported Transfer-Encoding": Wire(
        b"POST / HTTP/1.1\r\n" + TARGET + b"Transfer-Encoding: gzip\r\n\r\n", 400, "BadRequest", "'gzip'"),
    "request line GARBAGE": Wire(b"GARBAGE\r\n\r\n", 400, "BadRequest", "Malformed request line 'GARBAGE'"),
    "request line without a version": Wire(b"GET /x\r\n\r\n", 400, "BadRequest", "Malformed request line 'GET /x'"),
    "request line too long": Wire(b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\n\r\n", 414, "RequestLineTooLong",
                                  "over 8192 bytes"),
    "header line too long": Wire(b"GET /_emulator/health HTTP/1.1\r\nX-Big: " + b"a" * 9000 + b"\r\n\r\n", 431,
                                 "RequestHeaderFieldsTooLarge", "over 8192 bytes"),
    "too many headers": Wire(b"GET /_emulator/health HTTP/1.1\r\n" + b"".join(
        b"X-H%d: 1\r\n" % i for i in range(101)) + b"\r\n", 431, "RequestHeaderFieldsTooLarge", "More than 100"),
    "header line without a colon": Wire(b"GET /_emulator/health HTTP/1.1\r\nNoColon\r\n\r\n", 400, "BadRequest",
                                        "Malformed header line"),
    "body over the cap": Wire(b"POST / HTTP/1.1\r\n" + TARGET + b"Content-Length: 10485761\r\n\r\n{}", 413,
                              "RequestEntityTooLarge", "over 10485760 bytes"),
    "body shorter than announced, then silence": Wire(
        b"POST / HTTP/1.1\r\n" + TARGET + b"Content-Length: 100\r\n\r\n{}", 408, "RequestTimeout",
        f"within {IDLE_TIMEOUT:g} seconds"),
    "JSON nested too deeply": Wire(post(DEEP), 400, "SerializationException", "nests deeper than 32 levels"),
    "JSON nested past the parser's recursion": Wire(post(b"[" * 100_000 + b"]" * 100_000), 400,
                                                    "SerializationException", "nests deeper than 32 levels"),
    "body that is not JSON": Wire(post(b"{not json"), 400, "SerializationException", "not valid JSON"),
    "body that is not UTF-8": Wire(post(b"\xff\xfe\xfd"), 400, "SerializationException", "not UTF-8"),
    "WorkMail API: a list for the body": Wire(post(b"[]"), 400, "SerializationException",
                                              "must be a JSON object, not a list"),
    "WorkMail API: a string for the body": Wire(post(b'"x"'), 400, "SerializationException",
                                                "must be a JSON object, not a string"),
    "WorkMail API: unknown target": Wire(post(b"{}", target=b"X-Amz-Target: Nope.Nothing\r\n"), 400,
                                         "UnknownOperationException", "Unknown target Nope.Nothing"),
    "unsupported method": Wire(b"PUT / HTTP/1.1\r\nContent-Length: 0\r\n\r\n", 405, "UnknownOperationException",
                               "PUT is not supported"),
    "Message Flow: a list for the body": Wire(post(b"[]", path=b"/messages/abc", target=b""), 400,
                                              "SerializationException", "must be a JSON object, not a list"),
    "Message Flow: a number for the body": Wire(post(b"7", path=b"/messages/abc", target=b""), 400,
                                                "SerializationException", "must be a JSON object, not a number"),
    **{
        f"control {route}: a list for the body": Wire(
            post(b"[1]", path=f"/_emulator/{route}".encode(), target=b""), 400, "SerializationException",
            "must be a JSON object, not a list")
        for route in (*BUILT_IN_ROUTES, *sorted(CONTROLS))
    },
}


@pytest.mark.parametrize("row", WIRE_ROWS.values(), ids=WIRE_ROWS.keys())
def test_the_http_front_answers_what_it_cannot_read(emu: Emu, row: Wire) -> None:
    status, body = refused_without_change(emu, lambda: exchange(emu.url, row.request))
    assert (status, body["__type"]) == (row.status, row.code), body
    assert row.fragment in body["message"]


def test_an_idle_connection_is_closed_not_kept_forever(emu: Emu) -> None:
    host, port = emu.url.removeprefix("http://").rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        assert sock.recv(1) == b""  # closed by the emulator after IDLE_TIMEOUT, without a request


def test_a_well_formed_chunked_body_is_read(emu: Emu) -> None:
    request = (b"POST / HTTP/1.1\r\n" + TARGET + b"Transfer-Encoding: chunked\r\n\r\n"
               b"1\r\n{\r\n1;ext=1\r\n}\r\n0\r\nTrailer: x\r\n\r\n")
    status, body = exchange(emu.url, request)
    assert status == 200 and "OrganizationSummaries" in body


@pytest.mark.parametrize(("host", "fragment"), [
    ("", "is empty"),
    ("   ", "is empty"),
    ("0.0.0.0", "not a loopback address"),
    ("192.0.2.1", "not a loopback address"),
])
def test_the_server_listens_on_loopback_only_unless_told(host: str, fragment: str) -> None:
    with pytest.raises(ValueError, match=fragment):
        EmulatorServer(host=host)


# The control API validates the whole body before it changes anything --------------------


@dataclasses.dataclass(frozen=True)
class Control:
    route: str
    body: bytes
    fragment: str
    status: int = 400
    code: str = "InvalidParameterException"


CONTROL_ROWS: dict[str, Control] = {
    "clock: NaN": Control("clock", b'{"advance_seconds": NaN}', "finite number"),
    "clock: Infinity": Control("clock", b'{"advance_seconds": Infinity}', "finite number"),
    "clock: negative": Control("clock", b'{"advance_seconds": -5}', "finite number between 0"),
    "clock: a string": Control("clock", b'{"advance_seconds": "5"}', "must be a number"),
    "clock: unknown setting": Control("clock", b'{"advance_seconds": 1, "seconds": 1}', "unknown setting 'seconds'"),
    "clock: beyond a century": Control("clock", b'{"advance_seconds": 1e300}', "finite number between 0"),
    "timing: NaN": Control("timing", b'{"export_job": NaN}', "export_job must be a finite number"),
    "timing: Infinity": Control("timing", b'{"org_creating": Infinity}', "org_creating must be a finite number"),
    "timing: negative duration": Control("timing", b'{"org_deleting": -1}', "org_deleting must be a finite number"),
    "timing: one bad value among good ones": Control(
        "timing", b'{"org_requested": 5, "export_job": -1}', "export_job must be a finite number"),
    "timing: unknown setting": Control("timing", b'{"org_requested": 5, "bogus": 1}', "unknown timing setting 'bogus'"),
    "timing: null where only domain_verification may be": Control("timing", b'{"export_job": null}',
                                                                   "export_job must be a number"),
    "faults: an unknown setting beside a good one": Control(
        "faults", b'{"throttle_rate": 1, "bogus": 1}', "unknown fault setting 'bogus'"),
    "faults: operations as a string": Control("faults", b'{"operations": "CreateUser"}',
                                              "operations must be a list of operation names"),
    "faults: an unknown operation": Control("faults", b'{"operations": ["CreateUsr"]}',
                                            "unknown operations: CreateUsr"),
    "faults: a rate over 1": Control("faults", b'{"error_rate": 1.5}', "error_rate must be a finite number between 0"),
    "faults: NaN latency": Control("faults", b'{"latency_ms": NaN}', "latency_ms must be a finite number"),
    "faults: latency over a minute": Control("faults", b'{"latency_ms": 600000}', "between 0 and 60000"),
    "faults: a boolean seed": Control("faults", b'{"seed": true}', "seed must be an integer"),
    "faults: a fractional seed": Control("faults", b'{"seed": 1.5}', "seed must be an integer"),
    "command: a Region that is not one": Control("verify-domain", b'{"Region": ["us-east-1"]}',
                                                 "Region must be a Region name"),
    "command: unknown": Control("no-such-command", b"{}", "Unknown emulator command 'no-such-command'"),
    # The bucket the command would create is not left behind either.
    "local S3: a key longer than S3 allows": Control(
        "put-s3-object", json.dumps({"Bucket": "new-bucket", "Key": "k" * 1025, "Body": "x"}).encode(),
        "An S3 key must be 1 to 1024 bytes of UTF-8; this one is 1025 bytes"),
    "local S3: a bucket name S3 refuses": Control(
        "put-s3-object", b'{"Bucket": "Bad_Bucket", "Key": "k", "Body": "x"}', "breaks S3's naming rules"),
    "local S3: a body both as text and base64": Control(
        "put-s3-object", b'{"Bucket": "b-1", "Key": "k", "Body": "x", "BodyBase64": "eA=="}',
        "Give exactly one of Body and BodyBase64"),
}


@pytest.mark.parametrize("row", CONTROL_ROWS.values(), ids=CONTROL_ROWS.keys())
def test_control_commands_check_everything_before_changing_anything(emu: Emu, row: Control) -> None:
    request = post(row.body, path=f"/_emulator/{row.route}".encode(), target=b"")
    status, body = refused_without_change(emu, lambda: exchange(emu.url, request))
    assert (status, body["__type"]) == (row.status, row.code), body
    assert row.fragment in body["message"]


# A failed request changes nothing --------------------------------------------------------


def _then_fail(handler: Any, error: Exception) -> Any:
    """``handler`` doing all its work, then failing: everything it wrote must be undone."""

    def failing(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
        handler(ctx, params)
        raise error

    return failing


@pytest.mark.parametrize(("error", "status", "code"), [
    (errors.EntityStateException("refused late"), 400, "EntityStateException"),
    (RuntimeError("a bug in the emulator"), 500, "InternalFailure"),
], ids=["service error", "bug"])
def test_an_operation_that_fails_after_writing_leaves_no_trace(
    emu: Emu, monkeypatch: pytest.MonkeyPatch, error: Exception, status: int, code: str,
) -> None:
    handlers = OPERATIONS["workmail"]
    name = unique("late")
    monkeypatch.setitem(handlers, "CreateGroup", _then_fail(handlers["CreateGroup"], error))
    with pytest.raises(ClientError) as raised:
        refused_without_change(emu, lambda: emu.client.create_group(OrganizationId=emu.org_id, Name=name))
    assert raised.value.response["Error"]["Code"] == code
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == status
    monkeypatch.undo()
    emu.client.create_group(OrganizationId=emu.org_id, Name=name)  # the name was never taken


def test_a_control_command_that_fails_after_writing_leaves_no_trace(
    emu: Emu, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(CONTROLS, "put-s3-object", _then_fail(CONTROLS["put-s3-object"], ValueError("late")))
    request = post(b'{"Bucket": "late-bucket", "Key": "a", "Body": "x"}', path=b"/_emulator/put-s3-object", target=b"")
    status, body = refused_without_change(emu, lambda: exchange(emu.url, request))
    assert (status, body["__type"]) == (500, "InternalFailure")


def test_a_client_token_replays_only_a_success(emu: Emu, monkeypatch: pytest.MonkeyPatch) -> None:
    handlers = OPERATIONS["workmail"]
    alias = unique("token")
    monkeypatch.setitem(handlers, "CreateOrganization", _then_fail(
        handlers["CreateOrganization"], errors.LimitExceededException("refused late")))
    with pytest.raises(ClientError, match="refused late"):
        refused_without_change(emu, lambda: emu.client.create_organization(Alias=alias, ClientToken="t-1"))
    monkeypatch.undo()
    # The retry is a new request: it creates the organization rather than replaying a failure's id.
    created = emu.client.create_organization(Alias=alias, ClientToken="t-1")["OrganizationId"]
    assert emu.client.describe_organization(OrganizationId=created)["Alias"] == alias
    assert emu.client.create_organization(Alias=alias, ClientToken="t-1")["OrganizationId"] == created
    emu.client.delete_organization(OrganizationId=created, DeleteDirectory=True, ForceDelete=True)


def test_a_failed_request_is_undone_in_the_state_file_too(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    state = tmp_path / "undo.sqlite"
    handlers = OPERATIONS["workmail"]
    with EmulatorServer(state=state).start() as server:
        client = make_client(server.endpoint_url)
        org = client.create_organization(Alias=unique("undo"))["OrganizationId"]
        monkeypatch.setitem(handlers, "CreateGroup", _then_fail(handlers["CreateGroup"], RuntimeError("bug")))
        with pytest.raises(ClientError):
            client.create_group(OrganizationId=org, Name="ghost")
    monkeypatch.undo()
    with EmulatorServer(state=state).start() as server:
        groups = make_client(server.endpoint_url).list_groups(OrganizationId=org)["Groups"]
        assert [g["Name"] for g in groups] == []


def test_a_failing_timer_is_recorded_not_lost(emu: Emu, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(ctx: Any, timer: Any) -> None:
        ctx.global_table("organizations").put("junk", {"State": "Active"})
        raise OSError("disk full")

    monkeypatch.setitem(TIMER_ACTIONS, "test.broken", broken)
    emulator = emu.server.emulator
    with emulator.lock:
        from workmail_constructs.local.engine import Context

        timer_id = Context(emulator, "us-east-1").schedule(0, "test.broken", emu.org_id, "k")
        emulator.store.commit()
    emu.settle()
    failed = emulator.store.table("", "failed_timers").get(timer_id)
    assert failed is not None and "test.broken" in failed["reason"]
    assert emulator.store.table("", "organizations").get("junk") is None
    assert timer_id not in emulator.store.table("", "timers")


# The core, the handlers and the constructs ----------------------------------------------


def _spec_with(change: Callable[[WorkMailSpec], None]) -> WorkMailSpec:
    spec = organization_spec(unique("core"), users=2, groups=1, resources=0)
    change(spec)
    return spec


def _plain_password(spec: WorkMailSpec) -> None:
    spec.users[0].password = "hunter2"  # type: ignore[assignment]


def _dict_among_users(spec: WorkMailSpec) -> None:
    spec.users.append({"name": "bob", "display_name": "Bob"})  # type: ignore[arg-type]


@dataclasses.dataclass(frozen=True)
class SpecRow:
    make: Callable[[], WorkMailSpec]
    path: str
    fragment: str


SPEC_ROWS: dict[str, SpecRow] = {
    "a plain-text password on a UserSpec": SpecRow(lambda: _spec_with(_plain_password), "users[0].password",
                                                   "must be a SecretRef, not str"),
    "a dict inside users": SpecRow(lambda: _spec_with(_dict_among_users), "users[2]", "must be a UserSpec, not dict"),
    "a string for the organization": SpecRow(
        lambda: dataclasses.replace(_spec_with(lambda s: None), organization="acme"),  # type: ignore[arg-type]
        "organization", "must be a OrganizationSpec, not str"),
    "a string for a group's members": SpecRow(
        lambda: _spec_with(lambda s: setattr(s.groups[0], "members", "alice")), "groups[0].members",
        "must be a list, not str"),
}


@pytest.mark.parametrize("row", SPEC_ROWS.values(), ids=SPEC_ROWS.keys())
def test_reconcile_refuses_a_spec_of_the_wrong_types_before_any_call(emu: Emu, row: SpecRow) -> None:
    spec = row.make()

    def run() -> SpecError:
        emu.control.reset_call_counts()
        with pytest.raises(SpecError) as raised:
            reconcile(WorkMailApi(make_client(emu.url)), spec, resolve_secret=resolve_secret)
        assert emu.control.call_counts()["total"] == 0
        return raised.value

    error = refused_without_change(emu, run)
    assert error.path == row.path
    assert f"{row.path}: {row.fragment}" in str(error)
    assert "hunter2" not in str(error)


@pytest.mark.parametrize(("document", "fragment"), [
    ("[" * 100_000 + "]" * 100_000, "nested too deeply to be a spec document"),
    ('{"organization": ' * 2000 + "1" + "}" * 2000, "nested too deeply to be a spec document"),
    ('{"version": 1, "organization": {"alias": "a"}, "users": [[{"name": "x"}]]}', "users[0]: must be an object"),
    ('{"version": 1, "organization": {"alias": "a"}, "users": {"name": "x"}}', "users: must be a list, not dict"),
    ("{", "not valid JSON"),
], ids=["deep lists", "deep objects", "a list inside users", "an object for users", "not JSON"])
def test_a_spec_document_that_cannot_be_read_gets_a_spec_error(document: str, fragment: str) -> None:
    with pytest.raises(SpecError) as raised:
        WorkMailSpec.from_json(document)
    assert fragment in str(raised.value)


@pytest.mark.parametrize("event", [["Create"], "Create", None, 42], ids=["list", "string", "null", "number"])
@pytest.mark.parametrize("entry", [
    organization_handler.on_event, organization_handler.is_complete, domain_handler.on_event,
    domain_handler.is_complete, directory_handler.on_event, directory_handler.is_complete,
], ids=lambda f: f"{f.__module__.rsplit('.', 1)[-1]}.{f.__name__}")
def test_a_handler_given_an_event_that_is_not_an_object_fails_clearly(entry: Any, event: Any) -> None:
    with pytest.raises(HandlerError, match="the event must be a CloudFormation custom-resource request"):
        entry(event, None)


def test_a_cut_reason_keeps_the_service_message_at_its_end() -> None:
    service_says = "CreateUser failed: InvalidPasswordException: The password does not meet the policy."
    reason = short("While applying users[alice]: " + "x" * 3000 + " " + service_says)
    assert len(reason) <= MESSAGE_LIMIT
    assert reason.startswith("While applying users[alice]:")
    assert reason.endswith(service_says)
    assert "(cut; the log has it all)" in reason


def test_a_domain_declared_twice_names_the_construct_path() -> None:
    import aws_cdk as cdk

    from workmail_constructs import Organization

    org = Organization(cdk.Stack(cdk.App(), "Stack"), "Org", alias="acme")
    org.add_domain("acme.example")
    with pytest.raises(ValueError, match=r"^Stack/Org/Acme\.example: the domain Acme\.example is already declared, "
                                         r"as Stack/Org/acme\.example"):
        org.add_domain("Acme.example")
    with pytest.raises(ValueError, match=r"^Stack/Org/acme\.example: the id 'acme\.example' is already taken"):
        org.add_domain("other.example", id="acme.example")


# The command line: one line on stderr, a non-zero exit, never a traceback ----------------


class _NotAnEmulator(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        page = b"<html>not here</html>"
        self.send_response(404)
        self.send_header("Content-Length", str(len(page)))
        self.end_headers()
        self.wfile.write(page)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def other_server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _NotAnEmulator)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()


def _not_a_database(folder: Path) -> Path:
    path = folder / "state.sqlite"
    path.write_bytes(b"these are not the records you are looking for\n" * 20)
    return path


def _another_programs_database(folder: Path) -> Path:
    path = folder / "state.sqlite"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL)")
    db.execute("INSERT INTO invoices (total) VALUES (12.5)")
    db.commit()
    db.close()
    return path


@dataclasses.dataclass(frozen=True)
class Cli:
    args: Callable[[Path, str], list[str]]
    fragment: str
    # A file the command must leave as it was.
    keep: Callable[[Path], Path] | None = None


CLI_ROWS: dict[str, Cli] = {
    "a state file that is not a database": Cli(
        lambda d, _: ["emulator", "serve", "--port", "0", "--state", str(d / "state.sqlite")],
        "--state: ", keep=_not_a_database),
    "another program's SQLite database": Cli(
        lambda d, _: ["emulator", "serve", "--port", "0", "--state", str(d / "state.sqlite")],
        "is another program's SQLite database (it holds the tables invoices)", keep=_another_programs_database),
    "a state path whose folder does not exist": Cli(
        lambda d, _: ["emulator", "serve", "--port", "0", "--state", str(d / "missing" / "state.sqlite")],
        "the folder"),
    "an empty --host": Cli(lambda d, _: ["emulator", "serve", "--host", ""], "--host: the address is empty"),
    "a --host that is not loopback": Cli(lambda d, _: ["emulator", "serve", "--host", "0.0.0.0"],
                                         "needs --allow-remote"),
    "a latency that is not a number": Cli(lambda d, _: ["emulator", "serve", "--latency-ms", "nan"],
                                          "'nan' is not a finite number"),
    "an endpoint that is not a URL": Cli(lambda d, _: ["emulator", "calls", "--endpoint", "localhost8089"],
                                         "--endpoint: 'localhost8089' is not an emulator URL"),
    "an endpoint nobody listens on": Cli(lambda d, _: ["emulator", "calls", "--endpoint", "http://127.0.0.1:1"],
                                         "EndpointUnreachable: can't reach the emulator at http://127.0.0.1:1"),
    "an endpoint that is not the emulator": Cli(lambda d, other: ["emulator", "faults", "--endpoint", other],
                                                "NotAnEmulator: "),
    "an unknown option": Cli(lambda d, _: ["emulator", "calls", "--bogus"], "No such option '--bogus'"),
}


@pytest.mark.parametrize("row", CLI_ROWS.values(), ids=CLI_ROWS.keys())
def test_every_cli_error_is_one_line(row: Cli, tmp_path: Path, other_server: str) -> None:
    kept = row.keep(tmp_path) if row.keep else None
    before = kept.read_bytes() if kept else None
    result = subprocess.run([sys.executable, "-m", "workmail_constructs.cli", *row.args(tmp_path, other_server)],
                            capture_output=True, text=True, timeout=60)
    lines = result.stderr.strip().splitlines()
    assert result.returncode != 0
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    assert row.fragment in lines[0]
    assert result.stdout == ""
    if kept is not None:
        assert kept.read_bytes() == before, "the command changed a file it refused"
        assert not Path(str(kept) + ".files").exists()


def test_an_export_whose_work_fails_ends_failed_with_the_reason(emu: Emu, monkeypatch: pytest.MonkeyPatch) -> None:
    def disk_full(*args: Any) -> dict[str, Any]:
        raise OSError(28, "No space left on device")

    emu.control.command("create-s3-bucket", Bucket="export-fails")
    monkeypatch.setattr(mailboxes, "write_object", disk_full)
    job_id = emu.client.start_mailbox_export_job(
        OrganizationId=emu.org_id, EntityId=emu.user_id, S3BucketName="export-fails", S3Prefix="exports",
        RoleArn="arn:aws:iam::123456789012:role/export", KmsKeyArn="arn:aws:kms:us-east-1:123456789012:key/k",
    )["JobId"]
    job = emu.client.describe_mailbox_export_job(OrganizationId=emu.org_id, JobId=job_id)
    assert job["State"] == "FAILED"
    assert job["ErrorInfo"] == (
        "The export failed: The emulator failed while handling timer mailboxes.export_complete: "
        "OSError: [Errno 28] No space left on device"
    )
    assert emu.control.command("list-s3-objects", Bucket="export-fails")["Objects"] == []


# WorkMail operations: the service's own rules, and members of the wrong JSON type ------


@dataclasses.dataclass(frozen=True)
class Api:
    send: Callable[[Emu, Any], Any]
    code: str
    fragment: str
    # Sets up what the row needs (a deleted user, a directory), before the state is read.
    prepare: Callable[[Emu], Any] = lambda emu: None


def _raw(operation: str, body: dict[str, Any]) -> Callable[[Emu, Any], Any]:
    """A request boto3 would refuse to send (it checks types), straight onto the wire."""
    target = f"X-Amz-Target: WorkMailService.{operation}\r\n".encode()
    return lambda emu, _: exchange(emu.url, post(json.dumps(body).encode(), target=target))


def _deleted_user(emu: Emu) -> str:
    user = emu.client.create_user(OrganizationId=emu.org_id, Name=unique("gone"), DisplayName="Gone")["UserId"]
    emu.client.delete_user(OrganizationId=emu.org_id, UserId=user)
    return str(user)


def _directory(region: str, *, taken: bool = False) -> Callable[[Emu], dict[str, str]]:
    """CreateOrganization's parameters for a new directory in ``region``, used by an organization if ``taken``."""

    def prepare(emu: Emu) -> dict[str, str]:
        alias = unique("dir")
        directory = emu.control.command("create-directory", Alias=alias, Type="SimpleAD", Region=region)
        params = {"Alias": alias, "DirectoryId": str(directory["DirectoryId"])}
        if taken:
            emu.client.create_organization(**params)
        return params

    return prepare


def _export(emu: Emu, **changes: Any) -> Any:
    params = {"OrganizationId": emu.org_id, "EntityId": emu.user_id, "S3BucketName": "exports-here",
              "S3Prefix": "exports", "RoleArn": "arn:aws:iam::123456789012:role/export",
              "KmsKeyArn": "arn:aws:kms:us-east-1:123456789012:key/k", **changes}
    return emu.client.start_mailbox_export_job(**params)


def _bucket(emu: Emu) -> None:
    emu.control.command("create-s3-bucket", Bucket="exports-here")


ZERO_ORG = "m-" + "0" * 32
API_ROWS: dict[str, Api] = {
    **{
        f"{operation} with two filters": Api(
            lambda emu, _, operation=operation, filters=filters: getattr(emu.client, operation)(
                OrganizationId=emu.org_id, Filters=filters),
            "InvalidParameterException", "2: ")
        for operation, filters in (
            ("list_users", {"State": "ENABLED", "UsernamePrefix": "a"}),
            ("list_groups", {"NamePrefix": "a", "PrimaryEmailPrefix": "a"}),
            ("list_resources", {"NamePrefix": "a", "State": "ENABLED"}),
        )
    },
    "DeleteMailboxPermissions for a deleted mailbox": Api(
        lambda emu, gone: emu.client.delete_mailbox_permissions(OrganizationId=emu.org_id, EntityId=gone,
                                                                GranteeId=emu.user_id),
        "EntityStateException", "deleted", prepare=_deleted_user),
    "DeleteMailboxPermissions for a deleted grantee": Api(
        lambda emu, gone: emu.client.delete_mailbox_permissions(OrganizationId=emu.org_id, EntityId=emu.user_id,
                                                                GranteeId=gone),
        "EntityStateException", "deleted", prepare=_deleted_user),
    "a number where a string goes": Api(
        _raw("CreateUser", {"OrganizationId": ZERO_ORG, "Name": 5, "DisplayName": "Five"}),
        "SerializationException", "Value at 'name' is a number: Member must be a string"),
    "a string where a list goes": Api(
        _raw("CreateOrganization", {"Alias": "typed", "Domains": "typed.example.com"}),
        "SerializationException", "Value at 'domains' is a string: Member must be a list"),
    "a string where a boolean goes": Api(
        _raw("DeleteOrganization", {"OrganizationId": ZERO_ORG, "DeleteDirectory": "true"}),
        "SerializationException", "Value at 'deleteDirectory' is a string: Member must be a boolean"),
    "an object where an integer goes": Api(
        _raw("ListUsers", {"OrganizationId": ZERO_ORG, "MaxResults": {"n": 5}}),
        "SerializationException", "Value at 'maxResults' is an object: Member must be an integer"),
    "a list where a structure goes, deep inside": Api(
        _raw("CreateOrganization", {"Alias": "typed", "Domains": [["typed.example.com"]]}),
        "SerializationException", "Value at 'domains.1.member' is a list: Member must be a structure"),
    "a directory from another Region": Api(
        lambda emu, params: emu.client.create_organization(**params),
        "DirectoryUnavailableException", "might be located in another Region", prepare=_directory("eu-west-1")),
    "a directory another organization uses": Api(
        lambda emu, params: emu.client.create_organization(**params),
        "DirectoryInUseException", "already in use by another WorkMail organization",
        prepare=_directory("us-east-1", taken=True)),
    "an export prefix too long for the export's key": Api(
        lambda emu, _: _export(emu, S3Prefix="p" * 1000), "InvalidParameterException",
        "too long to hold the export file's key", prepare=_bucket),
    "an export of a deleted mailbox": Api(
        lambda emu, gone: _export(emu, EntityId=gone), "EntityStateException", "deleted",
        prepare=lambda emu: (_bucket(emu), _deleted_user(emu))[1]),
}


@pytest.mark.parametrize("row", API_ROWS.values(), ids=API_ROWS.keys())
def test_operations_refuse_what_the_service_refuses(emu: Emu, row: Api) -> None:
    prepared = row.prepare(emu)

    def send() -> tuple[str, str]:
        try:
            answer = row.send(emu, prepared)
        except ClientError as exc:
            return exc.response["Error"]["Code"], exc.response["Error"]["Message"]
        assert isinstance(answer, tuple), f"the request succeeded: {answer}"
        status, body = answer  # a raw exchange
        assert status == 400
        return body["__type"], body["message"]

    code, message = refused_without_change(emu, send)
    assert code == row.code, message
    assert row.fragment in message
