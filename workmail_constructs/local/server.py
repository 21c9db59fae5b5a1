"""HTTP transport for the emulator: WorkMail's JSON 1.1 protocol, the Message Flow REST
protocol and the emulator's own control endpoints, on one loopback port; and the few calls of
Secrets Manager (JSON 1.1), S3 (REST-XML under ``/_s3``) and CloudFormation (query, under
``/_cloudformation``) a local deploy makes, whose protocols live in ``aws_side/``. This module
only routes.

The front is defensive: every request it can't read gets an answer (an error with a 4xx
status, in the protocol of the route it was sent to) instead of a dropped connection, a hang
or a traceback. The caps on its size and time are in ``Limits`` and documented in
docs/emulator.md.
"""

from __future__ import annotations

import base64
import ipaddress
import json
import logging
import re
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from . import errors
from .aws_side import query_protocol, s3_rest
from .aws_side.wire import HttpCall, Reply
from .config import Settings
from .engine import Emulator
from .http_request import Headers, Limits, Rejected, RequestReader, decode_object

_log = logging.getLogger(__name__)

_CREDENTIAL_REGION = re.compile(r"Credential=[^/]+/\d{8}/([a-z0-9-]+)/")
_MESSAGE_PATH = re.compile(r"^/messages/([^/?]+)$")
CONTROL_PREFIX = "/_emulator/"
CLOUDFORMATION_PREFIX = "/_cloudformation"
# The awsJson 1.1 services: X-Amz-Target's prefix, and the service it names.
_JSON_TARGETS = {"WorkMailService": "workmail", "secretsmanager": "secretsmanager"}
# How long an answered but unreadable request's remaining input is read before hanging up.
LINGER_SECONDS = 2.0


def _json_default(value: Any) -> Any:
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(value).decode()
    raise TypeError(f"cannot serialize {type(value).__name__}")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes; without TCP_NODELAY the second waits
    # for the client's delayed ACK, which caps a kept-alive connection at ~25 calls/s.
    disable_nagle_algorithm = True
    server: _Server
    body: bytes = b""

    def setup(self) -> None:
        super().setup()
        self.connection.settimeout(self.server.limits.idle_timeout)

    def handle_one_request(self) -> None:
        """Read one request and answer it; any request it can't read gets a 4xx and a closed connection."""
        self.close_connection = True
        # Nothing of the previous request on this connection may shape this one's error answer.
        self.command, self.headers = "", Headers()  # type: ignore[assignment]
        reader = RequestReader(self.rfile, self.server.limits, self._send_continue)
        try:
            request = reader.read()
            if request is None:
                return
            self.requestline = reader.line
            self.command, self.path, self.request_version = request.method, request.path, request.version
            self.headers = request.headers  # type: ignore[assignment]
            self.body = request.body
            self.close_connection = not request.keep_alive
            handler = getattr(self, f"do_{self.command}", None)
            if handler is None:
                raise Rejected(405, "UnknownOperationException", f"The method {self.command} is not supported.")
            handler()
            self.wfile.flush()
        except Rejected as rejected:
            self.close_connection = True
            self._answer_error(rejected.error, reader.line)
        except TimeoutError:
            # The client went quiet in the middle of a request: tell it, then hang up. Quiet
            # between requests is an idle connection, closed without a word.
            self.close_connection = True
            if reader.line:
                self._answer_error(errors.ServiceError(
                    f"The request was not received within {self.server.limits.idle_timeout:g} seconds.",
                    code="RequestTimeout", status=408,
                ), reader.line)
        except OSError:
            self.close_connection = True
        except Exception:
            # A bug in the front itself: the caller still gets an answer, as the service's 500.
            _log.exception("the emulator's HTTP front failed on %r", reader.line[:200])
            self.close_connection = True
            self._answer_error(errors.InternalFailure("The emulator failed while reading the request."), reader.line)

    def _send_continue(self) -> None:
        self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        self.wfile.flush()

    def _answer_error(self, error: errors.ServiceError, request_line: str) -> None:
        """The front's own error, in the protocol of the service the request line names."""
        headers = getattr(self, "headers", None)
        json_api = isinstance(headers, Headers) and headers.get("X-Amz-Target")
        parts = request_line.split(" ")
        path = parts[1] if len(parts) == 3 else ""
        try:
            if not json_api and s3_rest.is_s3_path(path):
                self._send_reply(s3_rest.error_reply(error, head=parts[0] == "HEAD"))
            elif not json_api and _is_cloudformation_path(path):
                self._send_reply(query_protocol.error_reply(error, "cloudformation"))
            else:
                self._send_error(error, rest=not json_api)
            self.wfile.flush()
            self._linger()
        except OSError:
            pass

    def _linger(self) -> None:
        """Read what the client still sends before closing, so it gets the answer, not a reset.

        Closing a socket with unread input makes the kernel send RST, and a client still
        writing its body would see a dropped connection instead of the error.
        """
        self.connection.shutdown(socket.SHUT_WR)
        self.connection.settimeout(LINGER_SECONDS)
        drained = 0
        while drained < self.server.limits.max_body_bytes:
            chunk = self.connection.recv(65536)
            if not chunk:
                break
            drained += len(chunk)

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.verbose:
            super().log_message(format, *args)

    # Routing ------------------------------------------------------------------
    # The prefixes of S3, CloudFormation and the control API can't be a WorkMail or Message Flow
    # path (those are "/" and "/messages/{id}"), and a JSON API call is told by its X-Amz-Target.
    def do_POST(self) -> None:
        target = self.headers.get("X-Amz-Target")
        if target:
            self._json_api(target)
        elif s3_rest.is_s3_path(self.path):
            self._s3()
        elif _is_cloudformation_path(self.path):
            self._cloudformation()
        elif self.path.startswith(CONTROL_PREFIX):
            self._control("POST")
        elif match := _MESSAGE_PATH.match(self.path):
            self._messageflow("PutRawMessageContent", match.group(1))
        else:
            self._send_error(errors.UnknownOperationException(f"No operation at POST {self.path}"), rest=True)

    def do_GET(self) -> None:
        if s3_rest.is_s3_path(self.path):
            self._s3()
        elif _is_cloudformation_path(self.path):
            self._cloudformation()
        elif self.path.startswith(CONTROL_PREFIX):
            self._control("GET")
        elif match := _MESSAGE_PATH.match(self.path):
            self._messageflow("GetRawMessageContent", match.group(1))
        else:
            self._send_error(errors.UnknownOperationException(f"No operation at GET {self.path}"), rest=True)

    def do_DELETE(self) -> None:
        if s3_rest.is_s3_path(self.path):
            self._s3()
        elif self.path.startswith(CONTROL_PREFIX):
            self._control("DELETE")
        else:
            self._send_error(errors.UnknownOperationException(f"No operation at DELETE {self.path}"), rest=True)

    def do_PUT(self) -> None:
        self._s3_only()

    def do_HEAD(self) -> None:
        self._s3_only()

    def _s3_only(self) -> None:
        """PUT and HEAD are S3's methods; elsewhere they are refused as before S3 was served."""
        if not s3_rest.is_s3_path(self.path):
            raise Rejected(405, "UnknownOperationException", f"The method {self.command} is not supported.")
        self._s3()

    # Protocols ----------------------------------------------------------------
    def _decode(self) -> dict[str, Any]:
        """The body as a JSON object (any route's body must be one)."""
        return decode_object(self.body, self.server.limits.max_json_depth)

    def _json_api(self, target: str) -> None:
        prefix, _, operation = target.partition(".")
        try:
            service = _JSON_TARGETS.get(prefix)
            if service is None or not operation:
                raise errors.UnknownOperationException(f"Unknown target {target[:200]}")
            params = self._decode()
            result = self.server.emulator.call(operation, params, self._region(), service=service)
        except errors.ServiceError as exc:
            self._send_error(exc)
            return
        self._send_json(200, result, "application/x-amz-json-1.1")

    def _http_call(self, prefix: str) -> HttpCall:
        path, _, query = self.path.partition("?")
        return HttpCall(self.command, path[len(prefix):], query, self.headers, self.body,  # type: ignore[arg-type]
                        self._region())

    def _s3(self) -> None:
        self._send_reply(s3_rest.answer(self.server.emulator, self._http_call(s3_rest.PREFIX)))

    def _cloudformation(self) -> None:
        call = self._http_call(CLOUDFORMATION_PREFIX)
        if call.method not in ("GET", "POST") or call.path not in ("", "/"):
            reply = query_protocol.error_reply(errors.ServiceError(
                f"No operation at {call.method} {self.path[:200]}; CloudFormation's query API is POST "
                f"{CLOUDFORMATION_PREFIX}/.", code="InvalidAction"), "cloudformation")
        else:
            reply = query_protocol.answer(self.server.emulator, "cloudformation", call)
        self._send_reply(reply)

    def _messageflow(self, operation: str, message_id: str) -> None:
        try:
            params = self._decode()
            params["messageId"] = message_id
            result = self.server.emulator.call(operation, params, self._region(), service="workmailmessageflow")
        except errors.ServiceError as exc:
            self._send_error(exc, rest=True)
            return
        if operation == "GetRawMessageContent":
            self._send(200, bytes(result["messageContent"]), "message/rfc822")
        else:
            self._send_json(200, result, "application/json")

    def _control(self, method: str) -> None:
        emulator = self.server.emulator
        name = self.path[len(CONTROL_PREFIX) :].split("?", 1)[0]
        try:
            params = self._decode()
            if name == "health":
                result: dict[str, Any] = {"ok": True}
            elif name == "calls":
                if method == "DELETE":
                    emulator.reset_call_counts()
                result = emulator.call_counts()
            elif name == "faults":
                if method == "POST":
                    with emulator.lock:
                        emulator.settings.faults.update(params)
                result = emulator.settings.faults.as_dict()
            elif name == "timing":
                if method == "POST":
                    with emulator.lock:
                        emulator.settings.timing.update(params)
                result = dict(vars(emulator.settings.timing))
            elif name == "clock":
                if method == "POST":
                    _only(params, "advance_seconds")
                    emulator.advance_clock(params.get("advance_seconds", 0))
                result = {"now": emulator.now()}
            elif method == "POST":
                result = emulator.control(name, params)
            else:
                raise errors.InvalidParameterException(f"Unknown emulator endpoint {method} {self.path[:200]}")
        except errors.ServiceError as exc:
            self._send_error(exc, rest=True)
            return
        except ValueError as exc:
            self._send_error(errors.InvalidParameterException(str(exc)), rest=True)
            return
        self._send_json(200, result, "application/json")

    # Plumbing -----------------------------------------------------------------
    def _region(self) -> str:
        match = _CREDENTIAL_REGION.search(self.headers.get("Authorization", ""))
        return match.group(1) if match else self.server.emulator.settings.region

    def _send_error(self, exc: errors.ServiceError, *, rest: bool = False) -> None:
        body = {"__type": exc.code, "message": exc.message}
        self._send_json(exc.status, body, "application/json" if rest else "application/x-amz-json-1.1", exc.code)

    def _send_json(self, status: int, body: dict[str, Any], content_type: str, error_type: str | None = None) -> None:
        payload = json.dumps(body, default=_json_default, separators=(",", ":")).encode()
        self._send(status, payload, content_type, error_type)

    def _send(self, status: int, payload: bytes, content_type: str, error_type: str | None = None) -> None:
        headers = [("x-amzn-RequestId", str(uuid.uuid4()))]
        if error_type:
            headers.append(("x-amzn-ErrorType", f"{error_type}:"))
        self._send_reply(Reply(status, payload, content_type, tuple(headers)))

    def _send_reply(self, reply: Reply) -> None:
        # One write per response: status line, headers and body together. A HEAD answer has the
        # headers of the GET it stands for, and no body.
        length = len(reply.body) if reply.length is None else reply.length
        lines = [f"HTTP/1.1 {reply.status} {self.responses.get(reply.status, ('',))[0]}"]
        if reply.content_type is not None:
            lines.append(f"Content-Type: {reply.content_type}")
        lines.append(f"Content-Length: {length}")
        lines += [f"{name}: {value}" for name, value in reply.headers]
        if self.close_connection:
            lines.append("Connection: close")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        payload = b"" if getattr(self, "command", None) == "HEAD" else reply.body
        self.wfile.write(head + payload)
        if self.server.verbose:
            self.log_request(reply.status, len(payload))


def _is_cloudformation_path(path: str) -> bool:
    bare = path.split("?", 1)[0]
    return bare == CLOUDFORMATION_PREFIX or bare.startswith(CLOUDFORMATION_PREFIX + "/")


def _only(params: dict[str, Any], *names: str) -> None:
    unknown = sorted(set(params) - set(names))
    if unknown:
        raise ValueError(f"unknown setting {unknown[0]!r}; expected {', '.join(names)}")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], emulator: Emulator, verbose: bool, limits: Limits) -> None:
        self.emulator = emulator
        self.verbose = verbose
        self.limits = limits
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # The handler answers every request it can read; what reaches here is a bug in the front.
        _log.exception("the emulator's HTTP front failed on a request from %s", client_address)


def is_loopback(host: str) -> bool:
    """Whether every address ``host`` names is a loopback address."""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None)
    except OSError:
        return False
    return bool(infos) and all(ipaddress.ip_address(info[4][0]).is_loopback for info in infos)


class EmulatorServer:
    """An emulator bound to a loopback port, served from a background thread or the foreground.

    The control API has no authentication and writes files, so listening anywhere but on
    loopback takes ``allow_remote=True``.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        state: str | Path | None = None,
        settings: Settings | None = None,
        verbose: bool = False,
        *,
        limits: Limits | None = None,
        allow_remote: bool = False,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not host.strip():
            raise ValueError("the host to listen on is empty; give an address such as 127.0.0.1")
        if not allow_remote and not is_loopback(host):
            raise ValueError(
                f"{host} is not a loopback address; the emulator's control API has no authentication, "
                "so listening on other addresses needs allow_remote"
            )
        self.emulator = Emulator(state, settings, clock)
        try:
            self._httpd = _Server((host, port), self.emulator, verbose, limits or Limits())
        except BaseException:
            self.emulator.close()
            raise
        self._thread: threading.Thread | None = None

    @property
    def endpoint_url(self) -> str:
        host, port = self._httpd.server_address[:2]
        host = str(host)
        return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"

    def serve_forever(self) -> None:
        try:
            self._httpd.serve_forever()
        finally:
            self.close()

    def start(self) -> EmulatorServer:
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="workmail-emulator", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join()
            self._thread = None
        self.close()

    def close(self) -> None:
        self._httpd.server_close()
        self.emulator.close()

    def __enter__(self) -> EmulatorServer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


@contextmanager
def running_emulator(
    state: str | Path | None = None,
    settings: Settings | None = None,
    host: str = "127.0.0.1",
    port: int = 0,
    limits: Limits | None = None,
) -> Iterator[str]:
    """Start an emulator in this process and yield its endpoint URL; stop it on exit.

    >>> with running_emulator() as url:
    ...     client = boto3.client("workmail", endpoint_url=url, region_name="us-east-1")
    """
    server = EmulatorServer(host, port, state, settings, limits=limits).start()
    try:
        yield server.endpoint_url
    finally:
        server.stop()
