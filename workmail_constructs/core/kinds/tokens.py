"""ClientTokens derived from what is being created, so a retried create is recognised.

WorkMail's create operations take a ``ClientToken``: the same token again answers with
what the first request made instead of making another. Deriving the token from the
request (and, for a custom resource, from the stack and the resource) makes every retry,
by apply after an interruption or by CloudFormation, find the object the first attempt
made. One derivation serves apply and the handlers.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

from ..changes import ChangeFailed

# ClientTokens an earlier life of an object may have used, tried in turn (see ``chain``).
MAX_STALE_TOKENS = 10


def token(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(("workmail-constructs", *parts)).encode()).hexdigest()


def canonical(params: dict[str, Any]) -> str:
    """A request's parameters as stable text, to derive a token from."""
    return json.dumps(params, sort_keys=True, separators=(",", ":"))


def chain(create: Callable[[str], str | None], *parts: str) -> str:
    """Create with a token derived from ``parts``; ``create`` returns the new id, or None when the
    service answered with an earlier object that no longer exists (the same request made
    before, then deleted). The next token is derived from the stale one, so a rerun after an
    interruption follows the same chain and finds what the interrupted run created."""
    current = token(*parts)
    for _ in range(MAX_STALE_TOKENS):
        created = create(current)
        if created is not None:
            return created
        current = token(current, "stale")
    raise ChangeFailed(f"{MAX_STALE_TOKENS} ClientTokens in a row named objects that no longer exist")
