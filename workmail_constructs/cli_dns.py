"""``workmail-cdk dns check``: are a domain's DNS records the ones WorkMail asks for?"""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING

import click

from .cli_target import Target, target_options, workmail_api

if TYPE_CHECKING:
    from .dns_records import RecordCheck

# terraform plan -detailed-exitcode's convention: 2 means "not as it should be".
NOT_ALL_PRESENT_EXIT = 2


@click.group()
def dns() -> None:
    """The DNS records of WorkMail domains."""


@dns.command("check")
@click.argument("domain")
@click.option("--organization-id", required=True, help="The organization the domain is registered with.")
@target_options(local_help="Ask the embedded emulator, with the state of `deploy --local`.")
@click.option("--nameserver", help="Ask only this name server, HOST[:PORT] (default: the system's resolver).")
@click.option("--format", "output_format", type=click.Choice(["text", "markdown", "json"]), default="text",
              show_default=True)
def check(domain: str, organization_id: str, target: Target, nameserver: str | None, output_format: str) -> None:
    """Resolve each record WorkMail expects for DOMAIN and say whether it is there.

    The expected records come from GetMailDomain; each is resolved with dnspython and
    reported as present, missing or different (with what was found). Exit 0 when all are
    present, 2 otherwise, 1 on an error.

    \b
    Example:
      workmail-cdk dns check example.com --organization-id m-0123... --region eu-west-1
      workmail-cdk dns check example.com --organization-id m-0123... --local --nameserver 127.0.0.1:5353
    """
    from botocore.exceptions import BotoCoreError, ClientError

    from .core.errors import error_code
    from .dns_records import DnsUnavailable, all_present, check_records, name_of, resolver

    try:
        name = name_of(domain)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="DOMAIN") from None
    try:
        with workmail_api(target) as api:
            records = api.call("GetMailDomain", OrganizationId=organization_id, DomainName=name).get("Records") or []
        checks = check_records(records, resolver(nameserver))
    except ClientError as exc:
        raise click.ClickException(f"GetMailDomain {name} in {organization_id}: {error_code(exc)}: "
                                   f"{exc.response.get('Error', {}).get('Message', '')}") from None
    except (BotoCoreError, DnsUnavailable) as exc:
        raise click.ClickException(str(exc)) from None
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--nameserver") from None
    click.echo(_render(name, checks, output_format), nl=output_format != "text")
    if not all_present(checks):
        sys.exit(NOT_ALL_PRESENT_EXIT)


def _render(domain: str, checks: list[RecordCheck], output_format: str) -> str:
    if output_format == "json":
        return json.dumps({"domain": domain, "records": [
            {"type": c.type, "name": c.name, "expected": c.expected, "status": c.status, "found": list(c.found)}
            for c in checks]}, indent=2)
    present = sum(c.status == "present" for c in checks)
    if output_format == "markdown":
        rows = [f"| {c.status} | {c.type} | `{c.name}` | `{c.expected}` | {', '.join(f'`{f}`' for f in c.found)} |"
                for c in checks]
        return "\n".join([f"## DNS records of {domain}: {present} of {len(checks)} present", "",
                          "| Status | Type | Name | Expected | Found |", "|---|---|---|---|---|", *rows])
    lines = [f"{domain}: {present} of {len(checks)} records present"]
    for c in checks:
        lines.append(f"  {c.status:<9} {c.type:<5} {c.name}  {c.expected}")
        if c.status != "present" and c.found:
            lines.append(f"            found: {'; '.join(c.found)}")
    return "\n".join(lines) + "\n"
