"""A plan as a versioned JSON document described by ``PLAN_JSON_SCHEMA``."""

from __future__ import annotations

import json
from typing import Any

from ..changes import Plan
from ..kinds import KINDS
from ..spec_schema import json_schema as spec_json_schema
from .common import ACTIONS, FORMAT_VERSION, HIDDEN, is_secret_name, plain_data


def plan_to_data(plan: Plan) -> dict[str, Any]:
    """The plan as JSON-ready data in the shape of ``PLAN_JSON_SCHEMA`` (apply order)."""
    counts = plan.counts()
    return {
        "format_version": FORMAT_VERSION,
        "organization_id": plan.organization_id,
        "summary": {**{a: counts[a] for a in ACTIONS}, "destructive": len(plan.destructive)},
        "changes": [
            {
                "action": c.action,
                "kind": c.kind,
                "key": c.key,
                "reason": c.reason,
                "destructive": c.destructive,
                "id": c.id,
                "fields": [
                    {"name": f.name, "old": plain_data(f.old, is_secret_name(f.name)),
                     "new": plain_data(f.new, is_secret_name(f.name))}
                    for f in c.fields
                ],
                "before": plain_data(c.before),
                "after": plain_data(c.after),
            }
            for c in plan.changes
        ],
        "manual": [{"topic": m.topic, "text": m.text} for m in plan.manual],
    }


def render_json(plan: Plan) -> str:
    """The plan as a JSON document (two-space indent, UTF-8 text, no trailing newline)."""
    return json.dumps(plan_to_data(plan), indent=2, ensure_ascii=False)




def _plan_json_schema() -> dict[str, Any]:
    definitions: dict[str, Any] = dict(spec_json_schema()["$defs"])
    # In a plan a secret reference is only its id and version.
    definitions["SecretRef"] = {
        "type": "object",
        "description": "A Secrets Manager reference as a plan shows it: which secret and version, nothing else.",
        "properties": {"secret_id": {"type": "string"}, "version_id": {"type": "string"}},
        "required": ["secret_id"],
        "additionalProperties": False,
    }
    definitions["FieldChange"] = {
        "type": "object",
        "description": "One attribute of a change: its value now (old) and as declared (new), as JSON data.",
        "properties": {
            "name": {"type": "string", "description": "Attribute name; nested attributes are dotted (ews.password)."},
            "old": {"description": "The value WorkMail has (or the previous spec's, for passwords)."},
            "new": {"description": "The declared value."},
        },
        "required": ["name", "old", "new"],
        "additionalProperties": False,
        "if": {"properties": {"name": {"pattern": "(^|\\.)[Pp][Aa][Ss][Ss][Ww][Oo][Rr][Dd]$"}}},
        "then": {"properties": {
            "old": {"$ref": "#/$defs/ShownSecret"},
            "new": {"$ref": "#/$defs/ShownSecret"},
        }},
    }
    definitions["ShownSecret"] = {
        "description": f"A password field: a secret reference, null, or {HIDDEN!r} for anything else.",
        "anyOf": [{"$ref": "#/$defs/SecretRef"}, {"type": "null"}, {"const": HIDDEN}],
    }
    definitions["Change"] = {
        "type": "object",
        "description": "One change, in the order apply makes them.",
        "properties": {
            "action": {"enum": list(ACTIONS)},
            "kind": {"enum": list(KINDS), "description": "What the change is about; fixes the type of before/after."},
            "key": {"type": "string", "description": "The object's name (or 'owner/member' for links)."},
            "reason": {"type": "string", "description": "Why the change is planned, in words."},
            "destructive": {"type": "boolean", "description": "Deletes objects or mail; needs an explicit opt-in."},
            "id": {"type": ["string", "null"], "description": "WorkMail id of the existing object, if known."},
            "fields": {"type": "array", "items": {"$ref": "#/$defs/FieldChange"}},
            "before": {"description": "The object as it exists (spec types as JSON); null for create."},
            "after": {"description": "The object as declared (spec types as JSON); null for delete."},
        },
        "required": ["action", "kind", "key", "reason", "destructive", "id", "fields", "before", "after"],
        "additionalProperties": False,
        "allOf": [
            {
                "if": {"properties": {"kind": {"const": kind}}, "required": ["kind"]},
                "then": {"properties": {
                    "before": {"anyOf": [value, {"type": "null"}]},
                    "after": {"anyOf": [value, {"type": "null"}]},
                }},
            }
            for kind, value in ((name, k.info.value_schema) for name, k in KINDS.items())
        ],
    }
    count = {"type": "integer", "minimum": 0}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"https://workmail-constructs/plan/v{FORMAT_VERSION}.json",
        "title": "WorkMail plan",
        "type": "object",
        "properties": {
            "format_version": {"const": FORMAT_VERSION},
            "organization_id": {"type": ["string", "null"]},
            "summary": {
                "type": "object",
                "properties": {"create": count, "update": count, "replace": count, "delete": count,
                               "destructive": count},
                "required": ["create", "update", "replace", "delete", "destructive"],
                "additionalProperties": False,
            },
            "changes": {"type": "array", "items": {"$ref": "#/$defs/Change"}},
            "manual": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {"topic": {"type": "string"}, "text": {"type": "string"}},
                    "required": ["topic", "text"],
                    "additionalProperties": False,
                },
            },
        },
        "required": ["format_version", "organization_id", "summary", "changes", "manual"],
        "additionalProperties": False,
        "$defs": definitions,
    }


PLAN_JSON_SCHEMA: dict[str, Any] = _plan_json_schema()
