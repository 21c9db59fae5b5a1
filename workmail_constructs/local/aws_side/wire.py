"""What the server hands the protocols of the other services a local deploy calls, and what they
hand back: a request already read under the HTTP front's caps, and an answer to write.

WorkMail's JSON protocol (and Secrets Manager's, the same awsJson 1.1) is answered by the server
itself; S3's REST-XML and CloudFormation's query protocol answer through these.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..http_request import Headers


@dataclass(frozen=True)
class HttpCall:
    method: str
    # The path after the service's prefix, still percent-encoded ("/bucket/a%20key"), and the query.
    path: str
    query: str
    headers: Headers
    body: bytes
    # From the request's SigV4 credential scope, as AWS reads it.
    region: str


@dataclass(frozen=True)
class Reply:
    status: int
    body: bytes = b""
    content_type: str | None = None
    headers: tuple[tuple[str, str], ...] = ()
    # The Content-Length to announce when it is not the body's: a HEAD answer announces the
    # length of the object it leaves out.
    length: int | None = None
