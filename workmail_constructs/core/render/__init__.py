"""Render a plan three ways: a terminal table, a pull-request comment, a JSON document.

* ``render_text``: one line per change in apply order, in the spirit of ``terraform plan``.
* ``render_markdown``: a GitHub comment with the destructive changes first, the rest
  grouped by kind, and a size budget that keeps it under GitHub's comment limit.
* ``render_json`` / ``plan_to_data``: a versioned document described by ``PLAN_JSON_SCHEMA``.

Secrets: a field named ``password`` (or ending in ``.password``) and every ``SecretRef``
anywhere in a value render as the secret's id and version only. Anything else found in a
password field renders as ``(hidden)``: a plan is printed in CI logs and PR comments, so
the renderer doesn't trust its input to be free of secrets.

User values (names, addresses, display names) are untrusted text: in the terminal their
control characters are escaped (no ANSI or bidi tricks), in Markdown they are HTML-escaped
inside ``<code>`` so they can't break a table, open a tag or mention anyone.
"""

from __future__ import annotations

from .common import COMMENT_LIMIT, FORMAT_VERSION, HIDDEN, NO_CHANGES, summary_line
from .json_document import PLAN_JSON_SCHEMA, plan_to_data, render_json
from .markdown import render_markdown
from .text import render_text, use_color

__all__ = [
    "COMMENT_LIMIT",
    "FORMAT_VERSION",
    "HIDDEN",
    "NO_CHANGES",
    "PLAN_JSON_SCHEMA",
    "plan_to_data",
    "render_json",
    "render_markdown",
    "render_text",
    "summary_line",
    "use_color",
]
