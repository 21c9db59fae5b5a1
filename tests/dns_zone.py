"""A small authoritative DNS server on loopback for tests: the records a test publishes, and
NXDOMAIN for names it doesn't know."""

from __future__ import annotations

import socket
import threading
from typing import Any

import dns.flags
import dns.message
import dns.rcode
import dns.rdatatype
import dns.rrset


class Zone:
    """An authoritative server for one zone on a loopback UDP port: (name, type) → values."""

    def __init__(self) -> None:
        self.records: dict[tuple[str, str], list[str]] = {}
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.socket.bind(("127.0.0.1", 0))
        self.port = self.socket.getsockname()[1]
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                wire, client = self.socket.recvfrom(4096)
            except OSError:
                return
            query = dns.message.from_wire(wire)
            response = dns.message.make_response(query)
            response.flags |= dns.flags.AA
            question = query.question[0]
            name = question.name.to_text(omit_final_dot=True).lower()
            kind = dns.rdatatype.to_text(question.rdtype)
            values = self.records.get((name, kind))
            if values:
                response.answer.append(dns.rrset.from_text(question.name, 300, "IN", kind, *values))
            elif not any(known == name for known, _ in self.records):
                response.set_rcode(dns.rcode.NXDOMAIN)
            self.socket.sendto(response.to_wire(), client)

    def close(self) -> None:
        self.socket.close()


def publish(zone: Zone, records: list[dict[str, Any]]) -> None:
    for record in records:
        value = record["Value"]
        if record["Type"] == "TXT":
            value = f'"{value}"'
        zone.records.setdefault((record["Hostname"].lower(), record["Type"]), []).append(value)
