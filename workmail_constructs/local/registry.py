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

OPERATIONS: dict[str, dict[str, Handler]] = {"workmail": {}, "workmailmessageflow": {}}
TIMER_ACTIONS: dict[str, TimerAction] = {}
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


def timer_action(name: str) -> Callable[[TimerAction], TimerAction]:
    def register(action: TimerAction) -> TimerAction:
        TIMER_ACTIONS[name] = action
        return action

    return register


def control(name: str) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        CONTROLS[name] = handler
        return handler

    return register
