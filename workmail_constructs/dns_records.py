"""Whether a domain's DNS holds the records WorkMail asks for (``GetMailDomain``'s ``Records``).

Each record is resolved with dnspython and reported as present, missing (no record of
that name and type) or different (records there, none with the expected value), with
what was found. Values are compared as DNS compares them: names without case and with or
without the final dot, TXT values as the joined strings of a record.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import dns.exception
import dns.name
import dns.resolver

Status = Literal["present", "missing", "different"]


class DnsUnavailable(Exception):
    """No answer could be had from DNS (timeout, no name server); not a verdict on the records."""


@dataclass(frozen=True)
class RecordCheck:
    type: str
    name: str
    expected: str
    status: Status
    found: tuple[str, ...] = ()


def resolver(nameserver: str | None, timeout: float = 5.0) -> dns.resolver.Resolver:
    """The system's resolver, or one asking only ``HOST[:PORT]`` (an authoritative server, say)."""
    if nameserver is None:
        made = dns.resolver.Resolver()
    else:
        host, _, port = nameserver.rpartition(":") if nameserver.count(":") == 1 else (nameserver, "", "")
        made = dns.resolver.Resolver(configure=False)
        made.nameservers = [host]
        made.port = int(port) if port else 53
    made.lifetime = timeout
    return made


def check_records(records: list[dict[str, Any]], using: dns.resolver.Resolver) -> list[RecordCheck]:
    return [_check(str(r.get("Type", "")).upper(), str(r.get("Hostname", "")), str(r.get("Value", "")), using)
            for r in records]


def _check(record_type: str, name: str, expected: str, using: dns.resolver.Resolver) -> RecordCheck:
    try:
        answer = using.resolve(name, record_type, raise_on_no_answer=False)
    except dns.resolver.NXDOMAIN:
        return RecordCheck(record_type, name, expected, "missing")
    except (dns.exception.Timeout, dns.resolver.NoNameservers) as exc:
        raise DnsUnavailable(f"no answer for {record_type} {name}: {exc}") from None
    found = tuple(_text(record_type, rdata) for rdata in answer) if answer.rrset is not None else ()
    if not found:
        return RecordCheck(record_type, name, expected, "missing")
    wanted = _normalized(record_type, expected)
    if any(_normalized(record_type, value) == wanted for value in found):
        return RecordCheck(record_type, name, expected, "present", found)
    if record_type == "TXT":
        # The apex holds other TXT records too (other services' verifications): only one of the
        # same kind (an SPF or DMARC policy, an ownership token) with another value differs.
        kind = _txt_kind(expected)
        same_kind = tuple(value for value in found if _txt_kind(value) == kind)
        if not same_kind:
            return RecordCheck(record_type, name, expected, "missing", found)
        found = same_kind
    return RecordCheck(record_type, name, expected, "different", found)


def _text(record_type: str, rdata: Any) -> str:
    if record_type == "TXT":
        return b"".join(rdata.strings).decode("utf-8", "replace")
    return str(rdata.to_text())


def _normalized(record_type: str, value: str) -> str:
    if record_type == "TXT":
        return value.strip().strip('"')
    # MX "10 host." and CNAME "host.": names compare without case or the root's dot.
    return " ".join(part.rstrip(".").lower() for part in value.split())


def _txt_kind(value: str) -> str:
    lowered = value.strip().strip('"').lower()
    for prefix in ("v=spf1", "v=dmarc1"):
        if lowered.startswith(prefix):
            return prefix
    return "token"


def all_present(checks: list[RecordCheck]) -> bool:
    return all(check.status == "present" for check in checks)


def name_of(domain: str) -> str:
    """The domain as DNS writes it (checked: a name dnspython can parse)."""
    try:
        return dns.name.from_text(domain).to_text(omit_final_dot=True)
    except dns.exception.DNSException as exc:
        raise ValueError(f"{domain!r} is not a domain name: {exc}") from None
