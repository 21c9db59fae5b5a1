"""Operation and timer registries the emulator dispatches through.

Each operation module registers its handlers with ``@operation("Name")``; a handler
takes the request context and the decoded request and returns the response body.
Work that finishes later (an organization becoming Active, a domain verifying, an
export completing) is a timer whose action is registered with ``@timer_action``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .engine import Context
    from .store import Record

Handler = Callable[["Context", dict[str, Any]], dict[str, Any]]
TimerAction = Callable[["Context", "Record"], None]
# Records why a timer's action failed on the object it was working on (a job ends FAILED).
TimerFailure = Callable[["Context", "Record", str], None]

# By botocore's service name. Besides WorkMail's two APIs, the few operations of other services a
# local deploy calls (aws_side/): their handlers are registered the same way.
OPERATIONS: dict[str, dict[str, Handler]] = {
    "workmail": {}, "workmailmessageflow": {}, "secretsmanager": {}, "s3": {}, "cloudformation": {},
}
TIMER_ACTIONS: dict[str, TimerAction] = {}
TIMER_FAILURES: dict[str, TimerFailure] = {}
# Emulator-only commands that stand in for what happens outside WorkMail's API
# (DNS records appearing, AWS Directory Service, mail arriving).
CONTROLS: dict[str, Handler] = {}


def operation(name: str, service: str = "workmail") -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        if name in OPERATIONS[service]:
            raise RuntimeError(f"operation {service}.{name} registered twice")
        OPERATIONS[service][name] = handler
        return handler

    return register


def timer_action(name: str, on_failure: TimerFailure | None = None) -> Callable[[TimerAction], TimerAction]:
    """Register a timer action; ``on_failure`` records a failure of it on the object it works on.

    A failed action's changes are rolled back; then ``on_failure`` runs with the reason.
    Without one, the engine keeps the failure in its ``failed_timers`` table and logs it.
    """

    def register(action: TimerAction) -> TimerAction:
        TIMER_ACTIONS[name] = action
        if on_failure is not None:
            TIMER_FAILURES[name] = on_failure
        return action

    return register


def control(name: str) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        CONTROLS[name] = handler
        return handler

    return register
