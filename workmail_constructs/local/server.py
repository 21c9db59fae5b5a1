"""HTTP transport for the emulator: WorkMail's JSON 1.1 protocol, the Message Flow REST
protocol and the emulator's own control endpoints, on one loopback port."""

from __future__ import annotations

import base64
import json
import re
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from . import errors
from .engine import Emulator, Settings

_CREDENTIAL_REGION = re.compile(r"Credential=[^/]+/\d{8}/([a-z0-9-]+)/")
_MESSAGE_PATH = re.compile(r"^/messages/([^/?]+)$")
CONTROL_PREFIX = "/_emulator/"


def _json_default(value: Any) -> Any:
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(value).decode()
    raise TypeError(f"cannot serialize {type(value).__name__}")


class _Headers(dict[str, str]):
    """Request headers, looked up without regard to case."""

    def get(self, name: str, default: Any = None) -> Any:
        return super().get(name.lower(), default)

    def __getitem__(self, name: str) -> str:
        return super().__getitem__(name.lower())


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    raw_requestline: bytes
    # Headers and body go out in separate writes; without TCP_NODELAY the second waits
    # for the client's delayed ACK, which caps a kept-alive connection at ~25 calls/s.
    disable_nagle_algorithm = True
    server: _Server

    def parse_request(self) -> bool:
        """A lean HTTP/1.1 request parser.

        The standard one parses headers with the email package, which costs more than
        answering most WorkMail calls; API clients send plain ``Name: value`` lines.
        """
        line = str(self.raw_requestline, "iso-8859-1").rstrip("\r\n")
        self.requestline = line
        parts = line.split()
        if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
            self.send_error(400, f"Bad request line {line!r}")
            return False
        self.command, self.path, self.request_version = parts
        headers = _Headers()
        while True:
            raw = self.rfile.readline(65537)
            if raw in (b"\r\n", b"\n", b""):
                break
            name, _, value = str(raw, "iso-8859-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        self.headers = headers  # type: ignore[assignment]
        connection = headers.get("connection", "").lower()
        self.close_connection = connection == "close" or (
            self.request_version == "HTTP/1.0" and connection != "keep-alive"
        )
        return True

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.verbose:
            super().log_message(format, *args)

    # Routing ------------------------------------------------------------------
    def do_POST(self) -> None:
        body = self._read_body()
        target = self.headers.get("X-Amz-Target")
        if target:
            self._workmail(target, body)
        elif self.path.startswith(CONTROL_PREFIX):
            self._control("POST", body)
        elif match := _MESSAGE_PATH.match(self.path):
            self._messageflow("PutRawMessageContent", match.group(1), body)
        else:
            self._send_error(errors.UnknownOperationException(f"No operation at POST {self.path}"), rest=True)

    def do_GET(self) -> None:
        self._read_body()
        if self.path.startswith(CONTROL_PREFIX):
            self._control("GET", b"")
        elif match := _MESSAGE_PATH.match(self.path):
            self._messageflow("GetRawMessageContent", match.group(1), b"")
        else:
            self._send_error(errors.UnknownOperationException(f"No operation at GET {self.path}"), rest=True)

    def do_DELETE(self) -> None:
        self._read_body()
        self._control("DELETE", b"")

    # Protocols ----------------------------------------------------------------
    def _workmail(self, target: str, body: bytes) -> None:
        prefix, _, operation = target.partition(".")
        if prefix != "WorkMailService" or not operation:
            self._send_error(errors.UnknownOperationException(f"Unknown target {target}"))
            return
        try:
            params = json.loads(body) if body else {}
            if not isinstance(params, dict):
                raise ValueError("request body is not a JSON object")
        except ValueError as exc:
            self._send_error(errors.SerializationException(f"Could not parse the request body: {exc}"))
            return
        try:
            result = self.server.emulator.call(operation, params, self._region())
        except errors.ServiceError as exc:
            self._send_error(exc)
            return
        self._send_json(200, result, "application/x-amz-json-1.1")

    def _messageflow(self, operation: str, message_id: str, body: bytes) -> None:
        try:
            params: dict[str, Any] = json.loads(body) if body else {}
            params["messageId"] = message_id
            result = self.server.emulator.call(operation, params, self._region(), service="workmailmessageflow")
        except ValueError as exc:
            self._send_error(errors.SerializationException(f"Could not parse the request body: {exc}"), rest=True)
            return
        except errors.ServiceError as exc:
            self._send_error(exc, rest=True)
            return
        if operation == "GetRawMessageContent":
            self._send(200, bytes(result["messageContent"]), "message/rfc822")
        else:
            self._send_json(200, result, "application/json")

    def _control(self, method: str, body: bytes) -> None:
        emulator = self.server.emulator
        name = self.path[len(CONTROL_PREFIX) :].split("?", 1)[0]
        try:
            params = json.loads(body) if body else {}
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
                emulator.advance_clock(float(params.get("advance_seconds", 0)))
                result = {"now": emulator.now()}
            elif method == "POST":
                result = emulator.control(name, params)
            else:
                raise errors.InvalidParameterException(f"Unknown emulator endpoint {method} {self.path}")
        except errors.ServiceError as exc:
            self._send_error(exc, rest=True)
            return
        except (ValueError, TypeError) as exc:
            self._send_error(errors.InvalidParameterException(str(exc)), rest=True)
            return
        self._send_json(200, result, "application/json")

    # Plumbing -----------------------------------------------------------------
    def _region(self) -> str:
        match = _CREDENTIAL_REGION.search(self.headers.get("Authorization", ""))
        return match.group(1) if match else self.server.emulator.settings.region

    def _read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _send_error(self, exc: errors.ServiceError, *, rest: bool = False) -> None:
        body = {"__type": exc.code, "message": exc.message}
        self._send_json(exc.status, body, "application/json" if rest else "application/x-amz-json-1.1", exc.code)

    def _send_json(self, status: int, body: dict[str, Any], content_type: str, error_type: str | None = None) -> None:
        payload = json.dumps(body, default=_json_default, separators=(",", ":")).encode()
        self._send(status, payload, content_type, error_type)

    def _send(self, status: int, payload: bytes, content_type: str, error_type: str | None = None) -> None:
        # One write per response: status line, headers and body together.
        lines = [
            f"HTTP/1.1 {status} {self.responses.get(status, ('',))[0]}",
            f"Content-Type: {content_type}",
            f"Content-Length: {len(payload)}",
            f"x-amzn-RequestId: {uuid.uuid4()}",
        ]
        if error_type:
            lines.append(f"x-amzn-ErrorType: {error_type}:")
        if self.close_connection:
            lines.append("Connection: close")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        self.wfile.write(head + payload)
        if self.server.verbose:
            self.log_request(status, len(payload))


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], emulator: Emulator, verbose: bool) -> None:
        super().__init__(address, _Handler)
        self.emulator = emulator
        self.verbose = verbose


class EmulatorServer:
    """An emulator bound to a loopback port, served from a background thread or the foreground."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        state: str | Path | None = None,
        settings: Settings | None = None,
        verbose: bool = False,
    ) -> None:
        self.emulator = Emulator(state, settings)
        self._httpd = _Server((host, port), self.emulator, verbose)
        self._thread: threading.Thread | None = None

    @property
    def endpoint_url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

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


@contextmanager
def running_emulator(
    state: str | Path | None = None, settings: Settings | None = None, host: str = "127.0.0.1", port: int = 0
) -> Iterator[str]:
    """Start an emulator in this process and yield its endpoint URL; stop it on exit.

    >>> with running_emulator() as url:
    ...     client = boto3.client("workmail", endpoint_url=url, region_name="us-east-1")
    """
    server = EmulatorServer(host, port, state, settings).start()
    try:
        yield server.endpoint_url
    finally:
        server.stop()
