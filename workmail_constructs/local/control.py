"""A client for the emulator's control endpoints: faults, timing, call counts and the
commands that stand in for events outside WorkMail's API (DNS published, mail arriving)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any


class EmulatorCommandError(RuntimeError):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class EmulatorControl:
    """Drive a running emulator, in this process or another, through its endpoint URL."""

    def __init__(self, endpoint_url: str, timeout: float = 30.0) -> None:
        self.endpoint_url = endpoint_url.rstrip("/")
        self.timeout = timeout

    def _request(self, method: str, name: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            f"{self.endpoint_url}/_emulator/{name}", data=data, method=method,
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                result: dict[str, Any] = json.loads(response.read() or b"{}")
                return result
        except urllib.error.HTTPError as exc:
            error = json.loads(exc.read() or b"{}")
            raise EmulatorCommandError(error.get("__type", str(exc.code)), error.get("message", "")) from None

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
