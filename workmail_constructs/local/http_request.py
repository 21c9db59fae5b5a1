"""Reading an HTTP/1.1 request off a connection, under caps, for the emulator's server.

Everything that can't be read is a ``Rejected`` with the status and message to answer,
never a hang or a half-read request: a malformed request line or header, framing that
could be read two ways (request smuggling), a body over the cap, a chunked body that
breaks the format. The caps are in ``Limits`` (documented in docs/emulator.md).

``http.server``'s own parser reads headers with the ``email`` package, which costs more
than answering most WorkMail calls, and accepts what an API server should not; API
clients send plain ``Name: value`` lines, which is all this reads.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from io import BufferedIOBase
from typing import Any

from ..core.service_model import json_type
from . import errors

_DIGITS = re.compile(r"[0-9]{1,19}")
_CHUNK_SIZE = re.compile(r"[0-9A-Fa-f]{1,16}")
_METHOD = re.compile(r"[A-Z]{1,16}")
_VERSIONS = ("HTTP/1.1", "HTTP/1.0")


@dataclass(frozen=True)
class Limits:
    """Caps on what one request may take; past each, the request gets a clear error."""

    # The largest request body (JSON, or a raw message for the Message Flow API).
    max_body_bytes: int = 10 * 1024 * 1024
    # The request line and each header line.
    max_line_bytes: int = 8 * 1024
    # All header lines together, and how many there may be.
    max_header_bytes: int = 64 * 1024
    max_headers: int = 100
    # How deeply a JSON body may nest; WorkMail's deepest request nests 4 levels.
    max_json_depth: int = 32
    # Seconds a connection may sit idle (between requests, or in the middle of one).
    idle_timeout: float = 60.0


class Rejected(Exception):
    """A request that can't be read; it is answered with ``error`` and the connection closed."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.error = errors.ServiceError(message, code=code, status=status)


def _bad(message: str) -> Rejected:
    return Rejected(400, "BadRequest", message)


def _too_large(limit: int) -> Rejected:
    return Rejected(413, "RequestEntityTooLarge", f"The request body is over {limit} bytes.")


class Headers(dict[str, str]):
    """Request headers, looked up without regard to case."""

    def get(self, name: str, default: Any = None) -> Any:
        return super().get(name.lower(), default)

    def __getitem__(self, name: str) -> str:
        return super().__getitem__(name.lower())


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    version: str
    headers: Headers
    body: bytes

    @property
    def keep_alive(self) -> bool:
        connection = str(self.headers.get("connection", "")).lower()
        if self.version == "HTTP/1.0":
            return connection == "keep-alive"
        return connection != "close"


class RequestReader:
    """Reads requests off one connection; ``line`` is the request line once it has been read.

    ``send_continue`` writes the interim ``100 Continue`` answer. A client that sends
    ``Expect: 100-continue`` (botocore does on every S3 PutObject) holds its body back until it
    gets one, for up to a second; it is sent once the announced body is known to fit the caps,
    so a body over them is refused before it is sent.
    """

    def __init__(
        self, rfile: BufferedIOBase, limits: Limits, send_continue: Callable[[], None] | None = None
    ) -> None:
        self._rfile = rfile
        self._limits = limits
        self._send_continue = send_continue
        self._expects_continue = False
        self.line = ""

    def read(self) -> Request | None:
        """The next request, or None when the client closed the connection between requests."""
        limits = self._limits
        raw = self._rfile.readline(limits.max_line_bytes + 1)
        if not raw:
            return None
        self.line = str(raw, "iso-8859-1").rstrip("\r\n")
        if len(raw) > limits.max_line_bytes or not raw.endswith(b"\n"):
            raise Rejected(414, "RequestLineTooLong", f"The request line is over {limits.max_line_bytes} bytes.")
        parts = self.line.split(" ")
        if len(parts) != 3 or not _METHOD.fullmatch(parts[0]) or parts[2] not in _VERSIONS:
            raise _bad(f"Malformed request line {self.line[:200]!r}; expected 'METHOD /path HTTP/1.1'.")
        method, path, version = parts
        headers = self._headers()
        self._expects_continue = (
            version == "HTTP/1.1" and str(headers.get("expect", "")).lower() == "100-continue"
        )
        return Request(method, path, version, headers, self._body(method, headers))

    def _headers(self) -> Headers:
        limits = self._limits
        headers = Headers()
        seen: dict[str, int] = {}
        count = total = 0
        while True:
            raw = self._rfile.readline(limits.max_line_bytes + 1)
            if raw in (b"\r\n", b"\n"):
                break
            if not raw:
                raise _bad("The connection ended before the headers did.")
            count += 1
            total += len(raw)
            if len(raw) > limits.max_line_bytes or total > limits.max_header_bytes:
                raise Rejected(431, "RequestHeaderFieldsTooLarge",
                               f"A header line is over {limits.max_line_bytes} bytes or all headers are over "
                               f"{limits.max_header_bytes} bytes.")
            if count > limits.max_headers:
                raise Rejected(431, "RequestHeaderFieldsTooLarge", f"More than {limits.max_headers} headers.")
            text = str(raw, "iso-8859-1").rstrip("\r\n")
            name, colon, value = text.partition(":")
            if not colon or not name or name != name.strip():
                raise _bad(f"Malformed header line {text[:100]!r}.")
            key = name.lower()
            seen[key] = seen.get(key, 0) + 1
            headers[key] = value.strip()
        for framing in ("content-length", "transfer-encoding"):
            if seen.get(framing, 0) > 1:
                raise _bad(f"The request has more than one {framing} header.")
        return headers

    def _body(self, method: str, headers: Headers) -> bytes:
        length = headers.get("content-length")
        encoding = headers.get("transfer-encoding")
        if length is not None and encoding is not None:
            raise _bad("The request has both Content-Length and Transfer-Encoding.")
        if encoding is not None:
            if encoding.lower() != "chunked":
                raise _bad(f"Transfer-Encoding {encoding!r} is not supported; use chunked.")
            return self._chunked()
        if length is None:
            if method == "POST":
                raise _bad("A POST request needs a Content-Length header.")
            return b""
        if not _DIGITS.fullmatch(length):
            raise _bad(f"Content-Length must be a non-negative integer, not {length[:40]!r}.")
        return self._exactly(int(length))

    def _exactly(self, size: int) -> bytes:
        limit = self._limits.max_body_bytes
        if size > limit:
            raise _too_large(limit)
        if size:
            self._continue()
        data = self._rfile.read(size) if size else b""
        if len(data) != size:
            raise _bad(f"The body ended after {len(data)} of {size} bytes.")
        return data

    def _continue(self) -> None:
        if self._expects_continue and self._send_continue is not None:
            self._expects_continue = False
            self._send_continue()

    def _chunked(self) -> bytes:
        limits = self._limits
        body = bytearray()
        self._continue()
        while True:
            line = self._rfile.readline(limits.max_line_bytes + 1)
            size_text = str(line, "iso-8859-1").rstrip("\r\n").partition(";")[0].strip()
            if not line.endswith(b"\n") or not _CHUNK_SIZE.fullmatch(size_text):
                raise _bad("The chunked body is malformed: a chunk size line is not hexadecimal.")
            size = int(size_text, 16)
            if size == 0:
                break
            if len(body) + size > limits.max_body_bytes:
                raise _too_large(limits.max_body_bytes)
            body += self._exactly(size)
            if self._rfile.readline(3) not in (b"\r\n", b"\n"):
                raise _bad("The chunked body is malformed: a chunk does not end with CRLF.")
        self._headers()  # trailers, discarded
        return bytes(body)


def decode_object(body: bytes, max_depth: int) -> dict[str, Any]:
    """A request body as a JSON object, or SerializationException saying why it isn't one."""
    if not body.strip():
        return {}
    too_deep = errors.SerializationException(f"The request body nests deeper than {max_depth} levels.")
    try:
        value = json.loads(body)
    except RecursionError:
        raise too_deep from None
    except UnicodeDecodeError:
        raise errors.SerializationException("The request body is not UTF-8 text.") from None
    except ValueError as exc:
        raise errors.SerializationException(f"The request body is not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise errors.SerializationException(f"The request body must be a JSON object, not {json_type(value)}.")
    if _depth(value) > max_depth:
        raise too_deep
    return value


def _depth(value: Any) -> int:
    """How deeply lists and objects nest in ``value``, without recursion."""
    deepest = 0
    stack = [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, level)
        stack.extend((child, level + 1) for child in children)
    return deepest
