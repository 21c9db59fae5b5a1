"""The code compiled for each spec class (the fast reader of documents, the fast model check,
the writer of the constructs' documents) answers exactly as the generic walks it stands in
for, on specs and documents with one field set to something right or wrong."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.spec_factory import organization_spec
from tests.spec_strategies import specs
from workmail_constructs.constructs.directory import spec_data
from workmail_constructs.core.model_checks import WrongType, model_problems, spec_clean
from workmail_constructs.core.spec import SPEC_VERSION, SecretRef, SpecError, UserSpec, WorkMailSpec, to_data
from workmail_constructs.core.spec_reading import (
    _convert,
    _reader,
    _Unreadable,
    from_data,
    resolve_references,
    type_errors,
)

# Right and wrong values of every type a spec field has.
VALUES: list[Any] = [
    None, "", "x", "x" * 300, "Display Name", "user@fast.example.com", "not an address", "$ref:nope", "USER",
    "REMOTE_USER", "true", "42", 0, 1, -1, 10**7, 1.5, True, False, [], ["user@fast.example.com"], ["x" * 300], [1],
    {}, {"k": "v"}, {"secret_id": "s"}, SecretRef("s", json_key="k"), UserSpec("u", "U"),
]


def _objects(value: Any) -> list[Any]:
    """Every spec object in ``value``, itself included."""
    if dataclasses.is_dataclass(value):
        return [value, *(o for f in dataclasses.fields(value) for o in _objects(getattr(value, f.name)))]
    if isinstance(value, list):
        return [o for item in value for o in _objects(item)]
    return []


def _dicts(value: Any) -> list[dict[str, Any]]:
    """Every JSON object in a document, itself included."""
    if isinstance(value, dict):
        return [value, *(d for item in value.values() for d in _dicts(item))]
    if isinstance(value, list):
        return [d for item in value for d in _dicts(item)]
    return []


def test_the_compiled_check_agrees_with_the_walk() -> None:
    """Every field of every kind of spec object, set to each of the values in turn."""
    spec = organization_spec("fast", users=2, groups=1, resources=1, aliases_per_user=1)
    assert spec_clean(spec)
    for target in _objects(spec):
        for field in dataclasses.fields(target):
            kept = getattr(target, field.name)
            for value in VALUES:
                object.__setattr__(target, field.name, value)  # SecretRef is frozen
                try:
                    expected = not type_errors(spec, WorkMailSpec) and not list(model_problems(spec, lambda: ""))
                except WrongType:
                    expected = False
                assert spec_clean(spec) is expected, (type(target).__name__, field.name, value)
            object.__setattr__(target, field.name, kept)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), spec=specs("fast"), cloudformation=st.booleans())
def test_the_compiled_reader_agrees_with_the_reporting_reader(
    data: st.DataObject, spec: WorkMailSpec, cloudformation: bool,
) -> None:
    document = to_data(spec)
    target = data.draw(st.sampled_from(_dicts(document)))
    key = data.draw(st.sampled_from([*target, "unknown_field"]))
    if data.draw(st.booleans()) and key in target:
        del target[key]
    else:
        target[key] = data.draw(st.sampled_from([v for v in VALUES if not dataclasses.is_dataclass(v)]))
    try:
        slow: Any = _convert(WorkMailSpec, resolve_references(document, {}), "", cloudformation)
    except SpecError:
        slow = SpecError
    try:
        fast: Any = _reader(WorkMailSpec, cloudformation)(document)
    except _Unreadable:
        fast = SpecError
    if slow is SpecError:
        assert fast is SpecError
    else:
        # The fast reader may leave a doubtful document to the reporting one, never read it otherwise.
        assert fast in (slow, SpecError)
        if slow.version == SPEC_VERSION:
            assert from_data(WorkMailSpec, document, cloudformation=cloudformation) == slow


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(spec=specs("fast"))
def test_the_compiled_writer_leaves_out_defaults_and_reads_back(spec: WorkMailSpec) -> None:
    data = spec_data(spec)
    assert from_data(WorkMailSpec, json.loads(json.dumps(data))) == spec
    assert data["version"] == SPEC_VERSION

    def defaults_left(value: Any, written: Any) -> None:
        for f in dataclasses.fields(value):
            item = getattr(value, f.name)
            default = f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default
            if f.name == "version":
                continue
            assert (f.name in written) == (item is not None and item != default), (type(value).__name__, f.name)
            items, written_items = ([item], [written.get(f.name)]) if not isinstance(item, list) else (
                item, written.get(f.name) or [])
            for inner, inner_written in zip(items, written_items, strict=True):
                if dataclasses.is_dataclass(inner):
                    defaults_left(inner, inner_written or {})

    defaults_left(spec, data)
