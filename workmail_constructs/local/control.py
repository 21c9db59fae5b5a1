"""A client for the emulator's control endpoints: faults, timing, call counts and the
commands that stand in for events outside WorkMail's API (DNS published, mail arriving, a stack's status)."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any


class EmulatorCommandError(RuntimeError):
    """A command the emulator refused, or an endpoint that is not a reachable emulator.

    ``code`` is the emulator's error code, or one of ``InvalidEndpoint``,
    ``EndpointUnreachable`` and ``NotAnEmulator``.
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class EmulatorControl:
    """Drive a running emulator, in this process or another, through its endpoint URL."""

    def __init__(self, endpoint_url: str, timeout: float = 30.0) -> None:
        parts = urllib.parse.urlsplit(endpoint_url.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise EmulatorCommandError(
                "InvalidEndpoint", f"{endpoint_url!r} is not an emulator URL such as http://127.0.0.1:8089"
            )
        self.endpoint_url = endpoint_url.strip().rstrip("/")
        self.timeout = timeout

    def _request(self, method: str, name: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            f"{self.endpoint_url}/_emulator/{name}", data=data, method=method,
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return self._answer(response.read(), response.status)
        except urllib.error.HTTPError as exc:
            error = self._answer(exc.read(), exc.code)
            if not isinstance(error.get("__type"), str):
                raise self._not_emulator(exc.code) from None
            raise EmulatorCommandError(error["__type"], str(error.get("message", ""))) from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise EmulatorCommandError(
                "EndpointUnreachable", f"can't reach the emulator at {self.endpoint_url}: {reason}"
            ) from None

    def _answer(self, payload: bytes, status: int) -> dict[str, Any]:
        """An emulator answers every control call with a JSON object; anything else is another server."""
        try:
            result = json.loads(payload or b"{}")
        except ValueError:
            raise self._not_emulator(status) from None
        if not isinstance(result, dict):
            raise self._not_emulator(status)
        return result

    def _not_emulator(self, status: int) -> EmulatorCommandError:
        return EmulatorCommandError(
            "NotAnEmulator", f"{self.endpoint_url} answered HTTP {status} but is not a WorkMail emulator"
        )

    def health(self) -> bool:
        return bool(self._request("GET", "health").get("ok"))

    def call_counts(self) -> dict[str, Any]:
        return self._request("GET", "calls")

    def reset_call_counts(self) -> dict[str, Any]:
        return self._request("DELETE", "calls")

    def set_faults(self, **settings: Any) -> dict[str, Any]:
        """throttle_rate, error_rate (0..1), latency_ms, operations (list or None), seed."""
        return self._request("POST", "faults", settings)

    def set_timing(self, **settings: Any) -> dict[str, Any]:
        """org_requested, org_creating, org_deleting, domain_verification (None = manual), export_job."""
        return self._request("POST", "timing", settings)

    def advance_clock(self, seconds: float) -> float:
        return float(self._request("POST", "clock", {"advance_seconds": seconds})["now"])

    def command(self, name: str, **params: Any) -> dict[str, Any]:
        return self._request("POST", name, params)

    def verify_domain(self, organization_id: str, domain_name: str, status: str = "VERIFIED") -> dict[str, Any]:
        """Act as if the domain's DNS records were published and checked (or failed to be)."""
        return self.command(
            "verify-domain", OrganizationId=organization_id, DomainName=domain_name, Status=status
        )

    def put_stack(
        self, stack_name: str, stack_status: str, stack_id: str | None = None, **members: Any
    ) -> dict[str, Any]:
        """Record a stack, or its new status, for CloudFormation's DescribeStacks, ListStackResources
        and GetTemplate to answer with.

        ``members`` are other members of the Stack shape (StackStatusReason, Description, Outputs,
        Parameters, Tags), ``Resources`` (StackResourceSummary-shaped entries), ``TemplateBody``
        and ``Region``; without ``stack_id``, a new stack gets one.
        """
        params: dict[str, Any] = {"StackName": stack_name, "StackStatus": stack_status, **members}
        if stack_id is not None:
            params["StackId"] = stack_id
        return self.command("put-stack", **params)
