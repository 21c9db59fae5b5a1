"""Rendering a plan: the terminal table, the pull-request comment and the JSON document."""

from __future__ import annotations

import io
import json
import re
import sys
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from jsonschema import Draft202012Validator  # type: ignore[import-untyped]
from jsonschema.exceptions import ValidationError  # type: ignore[import-untyped]

from tests.change_factory import change
from workmail_constructs.core.changes import FieldChange, ManualStep, Plan
from workmail_constructs.core.render import (
    COMMENT_LIMIT,
    FORMAT_VERSION,
    HIDDEN,
    NO_CHANGES,
    PLAN_JSON_SCHEMA,
    plan_to_data,
    render_json,
    render_markdown,
    render_text,
)
from workmail_constructs.core.spec import (
    AvailabilityConfigurationSpec,
    BookingOptionsSpec,
    DomainSpec,
    EwsProviderSpec,
    GroupSpec,
    OrganizationSpec,
    ResourceSpec,
    SecretRef,
    UserSpec,
    to_data,
)

ORG_ID = "m-0123456789abcdef0123456789abcdef"
PW = "arn:aws:secretsmanager:us-east-1:111122223333:secret:bob-pw"
ANSI = re.compile(r"\x1b\[[0-9;]*m")
FLOW_RULES = ManualStep("email flow rule block-spam",
                        "WorkMail's API has no operations for email flow rules.\nCreate it in the console.")


def sample_plan() -> Plan:
    bob_old = UserSpec("bob", "Bob", email="bob@acme.example", aliases=["bob@acme.example", "b@acme.example"],
                       password=SecretRef(PW, "v1"))
    bob_new = UserSpec("bob", "Robert Smith", email="bob@acme.example", aliases=["robert@acme.example"],
                       password=SecretRef(PW, "v2"))
    return Plan(organization_id=ORG_ID, manual=[FLOW_RULES], changes=[
        change("update", "organization", "acme", "tags differ",
               before=OrganizationSpec("acme", tags={"env": "dev", "old": "x"}),
               after=OrganizationSpec("acme", tags={"env": "prod", "team": "mail"}),
               fields=(FieldChange("tags", {"env": "dev", "old": "x"}, {"env": "prod", "team": "mail"}),)),
        change("create", "domain", "acme.example", "declared, not registered",
               after=DomainSpec("acme.example", default=True)),
        change("create", "user", "alice", "declared, does not exist",
               after=UserSpec("alice", "Alice", email="alice@acme.example")),
        change("update", "user", "bob", "display_name, aliases, password differ", before=bob_old, after=bob_new,
               id="u-1", fields=(FieldChange("display_name", "Bob", "Robert Smith"),
                                 FieldChange("aliases", bob_old.aliases, bob_new.aliases),
                                 FieldChange("password", bob_old.password, bob_new.password))),
        change("update", "resource", "room-1", "booking_options differ", id="r-1",
               before=ResourceSpec("room-1", "ROOM"),
               after=ResourceSpec("room-1", "ROOM", booking_options=BookingOptionsSpec(auto_accept_requests=False)),
               fields=(FieldChange("booking_options", BookingOptionsSpec(),
                                   BookingOptionsSpec(auto_accept_requests=False)),)),
        change("replace", "user", "carol2", "renamed from carol: WorkMail can't rename a user", destructive=True,
               before=UserSpec("carol", "Carol"), after=UserSpec("carol2", "Carol"), id="u-2",
               fields=(FieldChange("name", "carol", "carol2"),)),
        change("create", "group_member", "eng/alice", "declared", after="alice"),
        change("delete", "user", "dave", "no longer declared: its mailbox and all its mail are deleted",
               destructive=True, before=UserSpec("dave", "Dave"), id="u-3"),
        change("delete", "group", "old-team", "no longer declared", before=GroupSpec("old-team"), id="g-1"),
        change("update", "inbound_dmarc", "inbound-dmarc", "enforcement differs", before=False, after=True,
               fields=(FieldChange("enforced", False, True),)),
    ])


def change_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if re.match(r"^[! ] (-/\+|  [+~-]) ", line)]


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


class AsciiStream(io.StringIO):
    @property
    def encoding(self) -> str:  # type: ignore[override]
        return "ascii"


# Text ---------------------------------------------------------------------------------


def test_text_has_one_line_per_change_in_apply_order() -> None:
    plan = sample_plan()
    text = render_text(plan, color=False)
    lines = change_lines(text)
    assert len(lines) == len(plan.changes)
    for line, planned in zip(lines, plan.changes, strict=True):
        symbol = {"create": "+", "update": "~", "delete": "-", "replace": "-/+"}[planned.action]
        assert line[2:5] == symbol.rjust(3)
        assert line.split()[1 if not planned.destructive else 2] == planned.kind
        assert f" {planned.key} " in line
        assert line.endswith(planned.reason)
    assert text.startswith(f"Changes to organization {ORG_ID}, in the order they apply:\n")


def test_text_shows_updated_fields_compactly() -> None:
    text = render_text(sample_plan(), color=False)
    assert '        display_name: Bob → "Robert Smith"\n' in text
    assert "        aliases: +robert@acme.example -bob@acme.example -b@acme.example\n" in text
    assert "        tags: +team=mail ~env=dev→prod -old=x\n" in text
    # Nested objects show only what differs in them.
    assert "        booking_options.auto_accept_requests: true → false\n" in text
    assert "        enforced: false → true\n" in text
    assert f"        password: secret({PW}, version v1) → secret({PW}, version v2)\n" in text


def test_text_marks_destructive_changes() -> None:
    plan = sample_plan()
    for line, planned in zip(change_lines(render_text(plan, color=False)), plan.changes, strict=True):
        assert line.startswith("!") == planned.destructive
        assert ("DESTRUCTIVE" in line) == planned.destructive


def test_text_summary_line() -> None:
    text = render_text(sample_plan(), color=False)
    assert "\nPlan: 3 to create, 4 to update, 1 to replace, 2 to delete (2 destructive).\n" in text


def test_text_empty_plan() -> None:
    assert render_text(Plan(organization_id=ORG_ID), color=False) == "No changes. The organization matches the spec.\n"


def test_text_manual_steps_are_shown_even_without_changes() -> None:
    text = render_text(Plan(manual=[FLOW_RULES]), color=False)
    assert text.startswith("No changes. The organization matches the spec.\n\nManual steps")
    assert "  * email flow rule block-spam: WorkMail's API has no operations for email flow rules.\n" in text
    assert "    Create it in the console.\n" in text
    assert "Manual steps" in render_text(sample_plan(), color=False)


def test_text_colour_only_when_asked_or_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    plan = sample_plan()
    monkeypatch.delenv("NO_COLOR", raising=False)
    plain = render_text(plan, color=False)
    assert "\x1b" not in plain
    coloured = render_text(plan, color=True)
    assert "\x1b[" in coloured
    assert ANSI.sub("", coloured) == plain, "colour adds escape codes and nothing else"
    assert "\x1b" not in render_text(plan, stream=io.StringIO()), "not a terminal"
    assert "\x1b[" in render_text(plan, stream=Tty())
    monkeypatch.setattr(sys, "stdout", Tty())
    assert "\x1b[" in render_text(plan), "the default stream is standard output"


def test_no_color_turns_colour_off_unless_forced(monkeypatch: pytest.MonkeyPatch) -> None:
    plan = sample_plan()
    monkeypatch.setenv("NO_COLOR", "1")
    assert "\x1b" not in render_text(plan, stream=Tty())
    assert "\x1b[" in render_text(plan, color=True, stream=Tty()), "an explicit choice wins"
    # no-color.org: an empty NO_COLOR doesn't count.
    monkeypatch.setenv("NO_COLOR", "")
    assert "\x1b[" in render_text(plan, stream=Tty())


def test_text_escapes_control_characters_in_user_values() -> None:
    plan = Plan(changes=[
        change("update", "user", "evil\x1b[2J", "display name differs\x07",
               fields=(FieldChange("display_name", "A\u202eB", "line\nbreak"),)),
    ])
    text = render_text(plan, color=False)
    assert "\x1b" not in text and "\x07" not in text and "\u202e" not in text
    assert "evil\\x1b[2J" in text
    assert 'display_name: "A\\u202eB" → "line\\nbreak"' in text
    assert text.count("\n") == len(text.splitlines())


def test_text_ascii_stream_gets_an_ascii_arrow() -> None:
    text = render_text(sample_plan(), color=False, stream=AsciiStream())
    assert "display_name: Bob -> " in text
    assert "→" not in text


def test_text_quotes_values_that_would_be_ambiguous() -> None:
    plan = Plan(changes=[change("update", "user", "x", "differ", fields=(
        FieldChange("first_name", "", "null"),
        FieldChange("telephone", None, "12345"),
        FieldChange("mailbox_quota_mb", None, 1024),
        FieldChange("aliases", ["-dash@x.com"], []),
    ))])
    text = render_text(plan, color=False)
    assert 'first_name: "" → "null"' in text
    assert 'telephone: null → "12345"' in text
    assert "mailbox_quota_mb: null → 1024" in text
    assert 'aliases: -"-dash@x.com"' in text


# Markdown -----------------------------------------------------------------------------


def test_markdown_lists_destructive_changes_first() -> None:
    md = render_markdown(sample_plan())
    destructive_at = md.index("### ⚠️ Destructive changes (2)")
    others_at = md.index("### Other changes (8)")
    assert md.index("**Plan: 3 to create, 4 to update, 1 to replace, 2 to delete (2 destructive).**") < destructive_at
    assert destructive_at < others_at
    section = md[destructive_at:others_at]
    assert "<code>carol2</code>" in section and "<code>dave</code>" in section
    assert "<code>bob</code>" not in section
    # Destructive changes aren't repeated below.
    assert "<code>dave</code>" not in md[others_at:]
    assert "> [!WARNING]" in section


def test_markdown_groups_the_rest_by_kind_in_apply_order_of_kinds() -> None:
    md = render_markdown(sample_plan())
    headings = re.findall(r"^#### (.+)$", md, re.MULTILINE)
    assert headings == ["Organization (1)", "Domains (1)", "Users (2)", "Groups (1)", "Resources (1)",
                        "Group members (1)", "Inbound DMARC (1)"]
    users = md[md.index("#### Users"):md.index("#### Groups")]
    assert users.index("<code>alice</code>") < users.index("<code>bob</code>")


def test_markdown_summary_table_counts() -> None:
    md = render_markdown(sample_plan())
    assert ("| Create | Update | Replace | Delete | Destructive |\n|---:|---:|---:|---:|---:|\n"
            "| 3 | 4 | 1 | 2 | **2** |") in md


def test_markdown_field_details_are_collapsible() -> None:
    plan = sample_plan()
    md = render_markdown(plan)
    with_fields = [c for c in plan.changes if c.fields]
    assert md.count("<details>") == md.count("</details>") == len(with_fields)
    assert "<details><summary>update user <code>bob</code>: 3 fields</summary>\n\n| Field | Current | Declared |" in md
    assert ("| <code>aliases</code> | removed <code>bob&#64;acme.example</code>, <code>b&#64;acme.example</code> "
            "| added <code>robert&#64;acme.example</code> |") in md
    # The resource's details sit in the destructive-free part, the replacement's in the destructive part.
    assert md.index("replace user <code>carol2</code>: 1 field") < md.index("### Other changes")


def test_markdown_empty_plan_and_manual_steps() -> None:
    md = render_markdown(Plan(organization_id=ORG_ID, manual=[FLOW_RULES]))
    assert md.startswith(f"## WorkMail plan for <code>{ORG_ID}</code>\n\n{NO_CHANGES}")
    assert "### Manual steps" in md
    assert "- **email flow rule block-spam**: WorkMail's API has no operations for email flow rules." in md
    assert "email flow rules.<br>Create it in the console." in md
    assert "### Manual steps" not in render_markdown(Plan())


def table_lines(md: str) -> list[str]:
    return [line for line in md.splitlines() if line.startswith("|")]


def test_markdown_escapes_user_values() -> None:
    nasty = "a|b`c`<script>alert(1)</script>*x*_y_ [l](http://e.example) @team ~~s~~ $m$ &amp;"
    plan = Plan(changes=[
        change("update", "user", nasty, f"reason with {nasty}", fields=(FieldChange("display_name", nasty, "ok\nno"),)),
        change("delete", "user", nasty + "2", nasty, destructive=True, before=UserSpec(nasty, "x")),
    ], manual=[ManualStep(nasty, nasty)])
    md = render_markdown(plan)
    for raw in ("<script>", "`c`", "*x*", "_y_", "[l]", "http://", "@team", "~~s~~", "$m$", "a|b"):
        assert raw not in md, raw
    assert "&lt;script&gt;" in md
    assert "&amp;amp;" in md, "an entity in a user value is shown, not decoded"
    # Every table row keeps its columns: no pipe from a user value splits a cell.
    for line in table_lines(md):
        header = line.count("|")
        assert header in (4 + 1, 3 + 1, 5 + 1), line
    assert "&quot;ok&#92;nno&quot;" in md, "a newline in a value is shown as \\n and can't end a table row"


@given(st.text())
def test_markdown_value_never_breaks_out(value: str) -> None:
    plan = Plan(changes=[change("update", "group", value, value, fields=(FieldChange(value, value, [value]),))])
    md = render_markdown(plan)
    rows = table_lines(md)
    assert [r.count("|") for r in rows] == [6, 6, 6, 4, 4, 4, 4, 4, 4]
    body = md.split("### Other changes (1)", 1)[1]
    assert "<" not in re.sub(r"</?(code|details|summary|br)>", "", body)
    assert "`" not in body.replace("`~` update", "")


def test_markdown_stays_under_the_comment_limit_and_keeps_destructive_changes() -> None:
    changes = [
        change("update", "user", f"user{n:05d}", "display_name, aliases differ",
               fields=(FieldChange("display_name", f"User {n}", f"User Number {n}"),
                       FieldChange("aliases", [f"u{n}@acme.example"], [f"user{n}@acme.example"])))
        for n in range(5000)
    ]
    changes += [change("delete", "user", f"gone{n:03d}", "no longer declared: its mailbox is deleted",
                       destructive=True, before=UserSpec(f"gone{n:03d}", "Gone")) for n in range(40)]
    plan = Plan(organization_id=ORG_ID, changes=changes, manual=[FLOW_RULES])
    md = render_markdown(plan)
    assert len(md) < COMMENT_LIMIT
    assert "**Plan: 0 to create, 5000 to update, 0 to replace, 40 to delete (40 destructive).**" in md
    assert "| 0 | 5000 | 0 | 40 | **40** |" in md
    for n in range(40):
        assert f"| `-` delete | user | <code>gone{n:03d}</code> |" in md
    shown = len(re.findall(r"^\| `~` update \| <code>user\d{5}</code>", md, re.MULTILINE))
    assert 0 < shown < 5000
    left_out = 5000 - shown
    assert f"{left_out} of 5000 other changes" in md
    assert f"_… and {left_out} more changes, left out" in md
    assert "### Manual steps" in md
    assert md.count("<details>") == md.count("</details>")


def test_markdown_leaves_out_details_before_changes() -> None:
    changes = [
        change("update", "group", f"g{n:03d}", "aliases differ",
               fields=(FieldChange("aliases", [], [f"alias{a}.g{n}@acme.example" for a in range(40)]),))
        for n in range(120)
    ]
    md = render_markdown(Plan(changes=changes))
    assert len(md) < COMMENT_LIMIT
    for n in range(120):
        assert f"| `~` update | <code>g{n:03d}</code> |" in md
    details = md.count("<details>")
    assert 0 < details < 120
    assert f"he field details of {120 - details} changes are left out" in md


def test_markdown_with_thousands_of_destructive_changes() -> None:
    changes = [change("delete", "user", f"departed-user-{n:05d}", "no longer declared: its mailbox is deleted",
                      destructive=True, before=UserSpec(f"departed-user-{n:05d}", "x")) for n in range(6000)]
    changes.append(change("create", "user", "newbie", "declared, does not exist"))
    md = render_markdown(Plan(changes=changes))
    assert len(md) < COMMENT_LIMIT
    assert "**Plan: 1 to create, 0 to update, 0 to replace, 6000 to delete (6000 destructive).**" in md
    assert "### ⚠️ Destructive changes (6000)" in md
    named = len(re.findall(r"<code>departed-user-\d{5}</code>", md))
    assert 0 < named < 6000
    assert f"the names of {6000 - named} destructive changes" in md
    assert f"and {6000 - named} more" in md


def test_markdown_limit_is_adjustable() -> None:
    plan = Plan(changes=[change("create", "user", f"u{n}", "declared") for n in range(500)])
    assert len(render_markdown(plan)) > 10_000
    small = render_markdown(plan, limit=4000)
    assert len(small) < 4000
    assert "to stay under GitHub's 4,000-character comment limit" in small


def test_markdown_without_truncation_has_no_note() -> None:
    md = render_markdown(sample_plan())
    assert "[!NOTE]" not in md and "left out" not in md


# JSON ---------------------------------------------------------------------------------

VALIDATOR = Draft202012Validator(PLAN_JSON_SCHEMA)


def test_schema_is_a_valid_json_schema() -> None:
    Draft202012Validator.check_schema(PLAN_JSON_SCHEMA)


@pytest.mark.parametrize("plan", [sample_plan(), Plan(), Plan(manual=[FLOW_RULES])], ids=["sample", "empty", "manual"])
def test_json_validates_against_its_schema(plan: Plan) -> None:
    document = json.loads(render_json(plan))
    VALIDATOR.validate(document)
    assert document == plan_to_data(plan)
    assert document["format_version"] == FORMAT_VERSION == 1


def test_json_summary_round_trips_the_counts() -> None:
    plan = sample_plan()
    document = json.loads(render_json(plan))
    summary = document["summary"]
    assert summary == {**plan.counts(), "destructive": 2}
    for action in ("create", "update", "replace", "delete"):
        assert summary[action] == sum(1 for c in document["changes"] if c["action"] == action)
    assert summary["destructive"] == sum(1 for c in document["changes"] if c["destructive"])
    assert [c["key"] for c in document["changes"]] == [c.key for c in plan.changes], "apply order"


def test_json_change_shape() -> None:
    plan = sample_plan()
    document = plan_to_data(plan)
    alice = document["changes"][2]
    assert alice == {
        "action": "create", "kind": "user", "key": "alice", "reason": "declared, does not exist",
        "destructive": False, "id": None, "fields": [], "before": None, "after": to_data(plan.changes[2].after),
    }
    assert document["changes"][6]["after"] == "alice"
    assert document["changes"][9]["fields"] == [{"name": "enforced", "old": False, "new": True}]
    assert document["manual"] == [{"topic": FLOW_RULES.topic, "text": FLOW_RULES.text}]
    assert document["organization_id"] == ORG_ID


def test_schema_rejects_what_it_should() -> None:
    good = plan_to_data(sample_plan())
    bad_documents = []
    mutations: list[Callable[[dict[str, Any]], object]] = [
        lambda d: d.pop("summary"),
        lambda d: d.update(format_version=2),
        lambda d: d["changes"][0].update(action="rename"),
        lambda d: d["changes"][2].update(after="alice"),  # a user is an object, not a name
        lambda d: d["changes"][3]["fields"][2]["new"].update(json_key="password"),
        lambda d: d["changes"][3]["fields"][0].update(name="password", new="hunter2"),
        lambda d: d["changes"][3]["after"]["password"].update(value="hunter2"),
        lambda d: d["summary"].update(create=-1),
    ]
    for mutate in mutations:
        document = json.loads(json.dumps(good))
        mutate(document)
        bad_documents.append(document)
    for document in bad_documents:
        with pytest.raises(ValidationError):
            VALIDATOR.validate(document)


def test_json_of_a_real_plan_validates() -> None:
    from tests.test_spec import full_spec
    from workmail_constructs.core.plan import plan as make_plan
    from workmail_constructs.core.state import ActualState

    plan = make_plan(full_spec(), ActualState())
    VALIDATOR.validate(json.loads(render_json(plan)))
    assert plan.manual, "the spec's flow rule is a manual step"


def test_big_plan_json_validates_and_counts() -> None:
    changes = [change("create", "user", f"u{n}", "declared", after=UserSpec(f"u{n}", f"U {n}")) for n in range(1000)]
    changes += [change("delete", "group", f"g{n}", "no longer declared", before=GroupSpec(f"g{n}")) for n in range(50)]
    document = json.loads(render_json(Plan(changes=changes)))
    VALIDATOR.validate(document)
    assert document["summary"] == {"create": 1000, "update": 0, "replace": 0, "delete": 50, "destructive": 0}


# Secrets ------------------------------------------------------------------------------

SECRET_ID = "arn:aws:secretsmanager:us-east-1:111122223333:secret:alice-pw"
EWS_SECRET_ID = "arn:aws:secretsmanager:us-east-1:111122223333:secret:ews"
NEVER = ("hunter2", "correct horse", "JSON-KEY-NOT-SHOWN", "EWS-KEY-NOT-SHOWN", "plaintext-in-a-tag")


def secret_plan() -> Plan:
    old = UserSpec("alice", "Alice", password=SecretRef(SECRET_ID, "v1", "JSON-KEY-NOT-SHOWN"))
    new = UserSpec("alice", "Alice", password=SecretRef(SECRET_ID, "v2", "JSON-KEY-NOT-SHOWN"))
    ews_old = AvailabilityConfigurationSpec("partner.example", ews=EwsProviderSpec(
        "https://ews.partner.example/ews", "svc", SecretRef(EWS_SECRET_ID, "e1", "EWS-KEY-NOT-SHOWN")))
    ews_new = AvailabilityConfigurationSpec("partner.example", ews=EwsProviderSpec(
        "https://ews.partner.example/ews", "svc", SecretRef(EWS_SECRET_ID, "e2", "EWS-KEY-NOT-SHOWN")))
    return Plan(changes=[
        change("create", "user", "carol", "declared", after=UserSpec("carol", "Carol", password=SecretRef(
            SECRET_ID, None, "JSON-KEY-NOT-SHOWN"))),
        change("update", "user", "alice", "password differs", before=old, after=new,
               fields=(FieldChange("password", old.password, new.password),)),
        # A planner bug handing over a literal value must not leak it.
        change("update", "user", "bob", "password differs", destructive=True,
               fields=(FieldChange("password", "hunter2", "correct horse"),)),
        change("update", "availability_configuration", "partner.example", "ews differs",
               before=ews_old, after=ews_new, fields=(
                   FieldChange("ews", ews_old.ews, ews_new.ews),
                   FieldChange("ews.password", ews_old.ews.password if ews_old.ews else None,
                               ews_new.ews.password if ews_new.ews else None),
               )),
        change("update", "organization", "acme", "tags differ",
               fields=(FieldChange("tags", {}, {"password": "plaintext-in-a-tag"}),)),
    ])


def test_secrets_render_only_as_id_and_version() -> None:
    plan = secret_plan()
    outputs = {
        "text": render_text(plan, color=False),
        "markdown": render_markdown(plan),
        "json": render_json(plan),
    }
    for name, output in outputs.items():
        for secret in NEVER:
            assert secret not in output, f"{secret!r} shown in {name}"
        assert HIDDEN in output, name
    text = outputs["text"]
    assert f"password: secret({SECRET_ID}, version v1) → secret({SECRET_ID}, version v2)" in text
    assert f"ews.password: secret({EWS_SECRET_ID}, version e1) → secret({EWS_SECRET_ID}, version e2)" in text
    assert f"password: {HIDDEN} → {HIDDEN}" in text
    assert f"tags: +password={HIDDEN}" in text


def test_secrets_in_json_are_only_id_and_version() -> None:
    document = json.loads(render_json(secret_plan()))
    VALIDATOR.validate(document)

    def secret_objects(value: object) -> list[dict[str, object]]:
        if isinstance(value, dict):
            found = [value] if "secret_id" in value else []
            return found + [s for v in value.values() for s in secret_objects(v)]
        if isinstance(value, list):
            return [s for v in value for s in secret_objects(v)]
        return []

    secrets = secret_objects(document)
    assert len(secrets) >= 8
    for secret in secrets:
        assert set(secret) <= {"secret_id", "version_id"}
    assert document["changes"][0]["after"]["password"] == {"secret_id": SECRET_ID}
    assert document["changes"][1]["fields"][0] == {
        "name": "password", "old": {"secret_id": SECRET_ID, "version_id": "v1"},
        "new": {"secret_id": SECRET_ID, "version_id": "v2"},
    }
    assert document["changes"][2]["fields"][0] == {"name": "password", "old": HIDDEN, "new": HIDDEN}


def test_rendering_does_not_change_the_plan() -> None:
    plan = secret_plan()
    before = repr(plan)
    render_text(plan)
    render_markdown(plan)
    render_json(plan)
    assert repr(plan) == before
