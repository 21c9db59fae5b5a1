"""The custom availability provider helpers, against the Guide's request example and the
response schema's rules (Administrator Guide, "Building a Custom Availability Provider
Lambda function")."""

from __future__ import annotations

from typing import Any

import pytest

from workmail_constructs.hooks.availability import (
    AvailabilityError,
    AvailabilityResponse,
    Event,
    TimeZone,
    Transition,
    WorkingHours,
    WorkingPeriod,
    parse_request,
)

# The Guide's request example.
REQUEST: dict[str, Any] = {
    "requester": {"email": "user1@internal.example.com", "userName": "user1",
                  "organization": "m-0123456789abcdef0123456789abcdef", "userId": "S-1-5-18", "origin": "127.0.0.1"},
    "mailboxes": ["user2@external.example.com", "unknown@internal.example.com"],
    "window": {"startDate": "2021-05-04T00:00:00.000Z", "endDate": "2021-05-06T00:00:00.000Z"},
}
EUROPE = TimeZone("W. Europe Standard Time", 60,
                  standard_time=Transition(60, "02:00:00", "OCT", "LAST", "SUN"),
                  daylight_time=Transition(0, "03:00:00", "MAR", "LAST", "SUN"))


def test_the_guides_request_parses() -> None:
    request = parse_request(REQUEST)
    assert request.requester.user_name == "user1" and request.requester.origin == "127.0.0.1"
    assert request.mailboxes == ("user2@external.example.com", "unknown@internal.example.com")
    assert (request.end - request.start).days == 2


def test_the_guides_response_is_built_as_the_schema_wants_it() -> None:
    response = AvailabilityResponse(parse_request(REQUEST))
    response.add_mailbox("user2@external.example.com", events=[
        Event("2021-05-03T23:00:00.000Z", "2021-05-04T03:00:00.000Z", "BUSY", subject="Late meeting",
              location="Chime", is_meeting=True, is_reminder_set=True)],
        working_hours=WorkingHours(EUROPE, [WorkingPeriod(480, 1040, ["MON", "TUE", "WED", "THU", "FRI"])]))
    response.add_error("unknown@internal.example.com", "MailboxNotFound")
    assert response.to_dict() == {"mailboxes": [
        {"mailbox": "user2@external.example.com",
         "events": [{"startTime": "2021-05-03T23:00:00.000Z", "endTime": "2021-05-04T03:00:00.000Z",
                     "busyType": "BUSY", "details": {"subject": "Late meeting", "location": "Chime",
                                                     "instanceType": "SINGLE_INSTANCE", "isMeeting": True,
                                                     "isReminderSet": True, "isPrivate": False}}],
         "workingHours": {"timezone": {
             "name": "W. Europe Standard Time", "bias": 60,
             "standardTime": {"offset": 60, "time": "02:00:00", "month": "OCT", "week": "LAST", "dayOfWeek": "SUN"},
             "daylightTime": {"offset": 0, "time": "03:00:00", "month": "MAR", "week": "LAST", "dayOfWeek": "SUN"}},
             "workingPeriods": [{"startMinutes": 480, "endMinutes": 1040,
                                 "days": ["MON", "TUE", "WED", "THU", "FRI"]}]}},
        {"mailbox": "unknown@internal.example.com", "error": "MailboxNotFound"}]}


@pytest.mark.parametrize(("change", "field"), [
    ({"requester": {"email": "a@b"}}, "requester.userName"),
    ({"mailboxes": "a@b"}, "mailboxes"),
    ({"window": {"startDate": "yesterday", "endDate": "2021-05-06T00:00:00Z"}}, "window.startDate"),
    ({"window": {"startDate": "2021-05-04T00:00:00", "endDate": "2021-05-06T00:00:00Z"}}, "no time zone"),
])
def test_a_malformed_request_names_the_field(change: dict[str, Any], field: str) -> None:
    with pytest.raises(AvailabilityError, match=field):
        parse_request({**REQUEST, **change})


HOURS = WorkingHours(TimeZone("UTC", 0), [WorkingPeriod(540, 1020, ["MON"])])


@pytest.mark.parametrize(("add", "message"), [
    (lambda r: r.add_mailbox("stranger@x.example", events=[], working_hours=HOURS), "not a mailbox the request"),
    (lambda r: r.add_mailbox("user2@external.example.com", events=[Event("2021-05-04T10:00:00Z",
                                                                         "2021-05-04T09:00:00Z", "BUSY")],
                             working_hours=HOURS), "ends before it starts"),
    (lambda r: r.add_mailbox("user2@external.example.com", events=[Event("2021-05-04T10:00:00Z",
                                                                         "2021-05-04T11:00:00Z", "AWAY")],
                             working_hours=HOURS), "busyType"),
    (lambda r: r.add_mailbox("user2@external.example.com", events=[], working_hours=WorkingHours(
        TimeZone("X", 60, standard_time=EUROPE.standard_time), HOURS.periods)), "both standardTime and daylightTime"),
    (lambda r: r.add_mailbox("user2@external.example.com", events=[], working_hours=WorkingHours(
        TimeZone("X", 0), [WorkingPeriod(600, 500, ["MON"])])), "start before end"),
    (lambda r: r.add_mailbox("user2@external.example.com", events=[], working_hours=WorkingHours(
        TimeZone("X", 0), [WorkingPeriod(0, 60, ["MONDAY"])])), "days must be"),
    (lambda r: r.add_mailbox("user2@external.example.com", events=[], working_hours=WorkingHours(
        TimeZone("X", 60, Transition(60, "2am", "OCT", "LAST", "SUN"), Transition(0, "03:00:00", "MAR", "LAST",
                                                                                  "SUN")), HOURS.periods)),
     "hh:mm:ss"),
])
def test_what_the_schema_refuses_is_refused_here(add: Any, message: str) -> None:
    with pytest.raises(AvailabilityError, match=message):
        add(AvailabilityResponse(parse_request(REQUEST)))


def test_a_may_transition_is_accepted_and_a_mailbox_answered_once() -> None:
    # The Guide's month list leaves out MAY, surely by mistake.
    response = AvailabilityResponse(parse_request(REQUEST))
    zone = TimeZone("Somewhere", 0, Transition(60, "02:00:00", "MAY", "FIRST", "SUN"),
                    Transition(0, "02:00:00", "SEP", "FIRST", "SUN"))
    response.add_mailbox("user2@external.example.com", events=[], working_hours=WorkingHours(zone, HOURS.periods))
    with pytest.raises(AvailabilityError, match="answered twice"):
        response.add_error("user2@external.example.com", "ErrorServerBusy")


def test_the_documented_provider_runs_as_written() -> None:
    import subprocess
    import sys
    from pathlib import Path

    doc = (Path(__file__).resolve().parent.parent / "docs" / "hooks.md").read_text()
    code = doc.split("(this runs as written):\n\n```python\n", 1)[1].split("```", 1)[0]
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "'workingPeriods': [{'startMinutes': 540, 'endMinutes': 1020" in result.stdout


def test_the_example_apps_inline_provider_answers_every_mailbox_within_the_schema() -> None:
    from app import AVAILABILITY_PROVIDER

    namespace: dict[str, Any] = {}
    exec(AVAILABILITY_PROVIDER, namespace)  # the function's code, as Lambda runs it
    answer = namespace["handler"](REQUEST, None)
    assert [m["mailbox"] for m in answer["mailboxes"]] == REQUEST["mailboxes"]
    # Rebuilt through the schema-checking builder, the answer is unchanged.
    rebuilt = AvailabilityResponse(parse_request(REQUEST))
    for mailbox in answer["mailboxes"]:
        hours = mailbox["workingHours"]
        rebuilt.add_mailbox(mailbox["mailbox"], events=[], working_hours=WorkingHours(
            TimeZone(hours["timezone"]["name"], hours["timezone"]["bias"]),
            [WorkingPeriod(p["startMinutes"], p["endMinutes"], p["days"]) for p in hours["workingPeriods"]]))
    assert rebuilt.to_dict() == answer
