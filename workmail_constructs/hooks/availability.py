"""For your own custom availability provider (a Lambda function WorkMail asks for free/busy
times of another system's users): the request, typed, and a response that keeps to the
protocol's schema (Administrator Guide, "Building a Custom Availability Provider Lambda
function"). Standard library only.

    from workmail_constructs.hooks.availability import (
        AvailabilityResponse, Event, TimeZone, WorkingHours, WorkingPeriod, parse_request)

    def handler(event, context):
        request = parse_request(event)
        response = AvailabilityResponse(request)
        for mailbox in request.mailboxes:
            response.add_mailbox(mailbox, events=[], working_hours=WorkingHours(
                TimeZone("UTC", 0), [WorkingPeriod(540, 1020, ["MON", "TUE", "WED", "THU", "FRI"])]))
        return response.to_dict()

WorkMail waits 25 seconds for an answer; after that the mailboxes asked for get a failure
(the rest of the free/busy request doesn't fail).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

BusyType = Literal["BUSY", "FREE", "TENTATIVE"]
InstanceType = Literal["SINGLE_INSTANCE", "RECURRING_INSTANCE", "EXCEPTION"]
DAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
# The Guide's list leaves out MAY, surely by mistake: a transition in May is accepted.
MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
WEEKS = ("FIRST", "SECOND", "THIRD", "FOURTH", "LAST")
# Errors WorkMail maps to EWS codes; any other text becomes ERROR_FREE_BUSY_GENERATION_FAILED.
KNOWN_ERRORS = ("MailboxNotFound", "ErrorAvailabilityConfigNotFound", "ErrorServerBusy", "ErrorTimeoutExpired",
                "ErrorFreeBusyGenerationFailed", "ErrorResponseSchemaValidation")
MINUTES_PER_DAY = 24 * 60
_TIME = re.compile(r"([01]\d|2[0-3]):[0-5]\d:[0-5]\d")


class AvailabilityError(ValueError):
    """A request or response that breaks the protocol; the message names the field."""


@dataclass(frozen=True)
class Requester:
    email: str
    user_name: str
    organization: str
    user_id: str
    origin: str | None = None


@dataclass(frozen=True)
class AvailabilityRequest:
    requester: Requester
    mailboxes: tuple[str, ...]
    start: datetime
    end: datetime


def parse_request(event: Any) -> AvailabilityRequest:
    """WorkMail's request, checked field by field."""
    if not isinstance(event, dict):
        raise AvailabilityError("the request must be a JSON object")
    requester = event.get("requester")
    if not isinstance(requester, dict):
        raise AvailabilityError("requester must be an object")
    values = {}
    for key, name in (("email", "email"), ("userName", "user_name"), ("organization", "organization"),
                      ("userId", "user_id")):
        if not isinstance(requester.get(key), str):
            raise AvailabilityError(f"requester.{key} must be a string")
        values[name] = requester[key]
    mailboxes = event.get("mailboxes")
    if not isinstance(mailboxes, list) or not all(isinstance(m, str) for m in mailboxes):
        raise AvailabilityError("mailboxes must be a list of email addresses")
    window = event.get("window")
    if not isinstance(window, dict):
        raise AvailabilityError("window must be an object with startDate and endDate")
    return AvailabilityRequest(
        requester=Requester(**values, origin=requester.get("origin")), mailboxes=tuple(mailboxes),
        start=_instant(window.get("startDate"), "window.startDate"),
        end=_instant(window.get("endDate"), "window.endDate"),
    )


def _instant(value: Any, where: str) -> datetime:
    """An RFC 3339 time in UTC."""
    if not isinstance(value, str):
        raise AvailabilityError(f"{where} must be an RFC 3339 time")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise AvailabilityError(f"{where}: {value!r} is not an RFC 3339 time") from None
    if parsed.tzinfo is None:
        raise AvailabilityError(f"{where}: {value!r} has no time zone (UTC is expected)")
    return parsed


@dataclass(frozen=True)
class Event:
    start: str
    end: str
    busy_type: BusyType
    # The details, when the provider may show them.
    subject: str | None = None
    location: str = ""
    instance_type: InstanceType = "SINGLE_INSTANCE"
    is_meeting: bool = False
    is_reminder_set: bool = False
    is_private: bool = False


@dataclass(frozen=True)
class Transition:
    """When standard or daylight time starts: ``offset`` minutes from the bias."""

    offset: int
    time: str
    month: str
    week: str
    day_of_week: str


@dataclass(frozen=True)
class TimeZone:
    name: str
    bias: int
    standard_time: Transition | None = None
    daylight_time: Transition | None = None


@dataclass(frozen=True)
class WorkingPeriod:
    start_minutes: int
    end_minutes: int
    days: Sequence[str]


@dataclass(frozen=True)
class WorkingHours:
    timezone: TimeZone
    periods: Sequence[WorkingPeriod]


@dataclass
class AvailabilityResponse:
    """The answer: each mailbox asked for with its events and working hours, or an error."""

    request: AvailabilityRequest | None = None
    mailboxes: list[dict[str, Any]] = field(default_factory=list)

    def add_mailbox(self, mailbox: str, *, events: Sequence[Event], working_hours: WorkingHours) -> None:
        at = f"mailboxes[{mailbox}]"
        self._asked(mailbox, at)
        self.mailboxes.append({"mailbox": mailbox, "events": [_event(e, f"{at}.events[{i}]")
                                                              for i, e in enumerate(events)],
                               "workingHours": _working_hours(working_hours, f"{at}.workingHours")})

    def add_error(self, mailbox: str, error: str) -> None:
        """``error``: one of ``KNOWN_ERRORS`` for its EWS code, or any text."""
        self._asked(mailbox, f"mailboxes[{mailbox}]")
        self.mailboxes.append({"mailbox": mailbox, "error": error})

    def to_dict(self) -> dict[str, Any]:
        return {"mailboxes": [dict(m) for m in self.mailboxes]}

    def _asked(self, mailbox: str, at: str) -> None:
        if self.request is not None and mailbox not in self.request.mailboxes:
            raise AvailabilityError(f"{at}: not a mailbox the request asked for (the answer echoes them)")
        if any(m["mailbox"] == mailbox for m in self.mailboxes):
            raise AvailabilityError(f"{at}: answered twice")


def _event(event: Event, at: str) -> dict[str, Any]:
    if event.busy_type not in ("BUSY", "FREE", "TENTATIVE"):
        raise AvailabilityError(f"{at}.busyType must be BUSY, FREE or TENTATIVE")
    start, end = _instant(event.start, f"{at}.startTime"), _instant(event.end, f"{at}.endTime")
    if end < start:
        raise AvailabilityError(f"{at}: it ends before it starts")
    data: dict[str, Any] = {"startTime": event.start, "endTime": event.end, "busyType": event.busy_type}
    if event.subject is not None:
        if event.instance_type not in ("SINGLE_INSTANCE", "RECURRING_INSTANCE", "EXCEPTION"):
            raise AvailabilityError(f"{at}.details.instanceType must be SINGLE_INSTANCE, RECURRING_INSTANCE or "
                                    "EXCEPTION")
        data["details"] = {"subject": event.subject, "location": event.location,
                           "instanceType": event.instance_type, "isMeeting": event.is_meeting,
                           "isReminderSet": event.is_reminder_set, "isPrivate": event.is_private}
    return data


def _working_hours(hours: WorkingHours, at: str) -> dict[str, Any]:
    zone = hours.timezone
    if (zone.standard_time is None) != (zone.daylight_time is None):
        raise AvailabilityError(f"{at}.timezone: give both standardTime and daylightTime, or neither")
    timezone: dict[str, Any] = {"name": zone.name, "bias": zone.bias}
    for key, transition in (("standardTime", zone.standard_time), ("daylightTime", zone.daylight_time)):
        if transition is not None:
            timezone[key] = _transition(transition, f"{at}.timezone.{key}")
    if not hours.periods:
        raise AvailabilityError(f"{at}.workingPeriods: at least one period")
    periods = []
    for i, period in enumerate(hours.periods):
        where = f"{at}.workingPeriods[{i}]"
        if not 0 <= period.start_minutes <= period.end_minutes <= MINUTES_PER_DAY:
            raise AvailabilityError(f"{where}: minutes after midnight, 0 to {MINUTES_PER_DAY}, start before end")
        bad = [d for d in period.days if d not in DAYS]
        if bad or not period.days:
            raise AvailabilityError(f"{where}.days must be some of {', '.join(DAYS)}")
        periods.append({"startMinutes": period.start_minutes, "endMinutes": period.end_minutes,
                        "days": list(period.days)})
    return {"timezone": timezone, "workingPeriods": periods}


def _transition(transition: Transition, at: str) -> dict[str, Any]:
    for key, value, allowed in (("month", transition.month, MONTHS), ("week", transition.week, WEEKS),
                                ("dayOfWeek", transition.day_of_week, DAYS)):
        if value not in allowed:
            raise AvailabilityError(f"{at}.{key} must be one of {', '.join(allowed)}")
    if not _TIME.fullmatch(transition.time):
        raise AvailabilityError(f"{at}.time must be hh:mm:ss")
    return {"offset": transition.offset, "time": transition.time, "month": transition.month,
            "week": transition.week, "dayOfWeek": transition.day_of_week}
