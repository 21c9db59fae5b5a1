"""Contract tests: mail domains, their DNS records, verification and the default domain."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import error_code, make_client, unique
from workmail_constructs.local import EmulatorControl


def test_register_returns_the_full_record_set(client: Any, org_id: str) -> None:
    name = f"{unique('rec')}.example.com"
    client.register_mail_domain(OrganizationId=org_id, DomainName=name)
    domain = client.get_mail_domain(OrganizationId=org_id, DomainName=name)
    assert domain["OwnershipVerificationStatus"] == "PENDING"
    assert domain["DkimVerificationStatus"] == "PENDING"
    assert domain["IsDefault"] is False and domain["IsTestDomain"] is False
    records = {(r["Type"], r["Hostname"]): r["Value"] for r in domain["Records"]}
    assert ("TXT", f"_amazonses.{name}") in records
    assert records[("MX", name)] == "10 inbound-smtp.us-east-1.amazonaws.com."
    assert records[("CNAME", f"autodiscover.{name}")] == "autodiscover.mail.us-east-1.awsapps.com."
    assert records[("TXT", name)].startswith("v=spf1 include:amazonses.com")
    assert records[("TXT", f"_dmarc.{name}")].startswith("v=DMARC1;")
    dkim = [(h, v) for (t, h), v in records.items() if t == "CNAME" and "._domainkey." in h]
    assert len(dkim) == 3
    assert all(v.endswith(".dkim.amazonses.com.") and h.split(".")[0] == v.split(".")[0] for h, v in dkim)


def test_records_are_region_specific(emulator_url: str) -> None:
    client = make_client(emulator_url, region="eu-west-1")
    org_id = client.create_organization(Alias=unique("eu"))["OrganizationId"]
    name = f"{unique('eu')}.example.com"
    client.register_mail_domain(OrganizationId=org_id, DomainName=name)
    values = {r["Value"] for r in client.get_mail_domain(OrganizationId=org_id, DomainName=name)["Records"]}
    assert "10 inbound-smtp.eu-west-1.amazonaws.com." in values
    assert "autodiscover.mail.eu-west-1.awsapps.com." in values


def test_verification_by_command_and_failure(client: Any, control: EmulatorControl, org_id: str) -> None:
    name = f"{unique('v')}.example.com"
    client.register_mail_domain(OrganizationId=org_id, DomainName=name)
    control.verify_domain(org_id, name, "FAILED")
    assert client.get_mail_domain(OrganizationId=org_id, DomainName=name)["OwnershipVerificationStatus"] == "FAILED"
    control.verify_domain(org_id, name)
    domain = client.get_mail_domain(OrganizationId=org_id, DomainName=name)
    assert domain["OwnershipVerificationStatus"] == "VERIFIED" and domain["DkimVerificationStatus"] == "VERIFIED"


def test_verification_after_configured_delay(client: Any, control: EmulatorControl, org_id: str) -> None:
    control.set_timing(domain_verification=600)
    try:
        name = f"{unique('delay')}.example.com"
        client.register_mail_domain(OrganizationId=org_id, DomainName=name)
        control.advance_clock(599)
        assert client.get_mail_domain(OrganizationId=org_id, DomainName=name)["OwnershipVerificationStatus"] == (
            "PENDING"
        )
        control.advance_clock(2)
        assert client.get_mail_domain(OrganizationId=org_id, DomainName=name)["OwnershipVerificationStatus"] == (
            "VERIFIED"
        )
    finally:
        control.set_timing(domain_verification=None)


def test_domain_in_use_elsewhere_and_test_domains(client: Any, org_id: str, domain: str) -> None:
    with pytest.raises(ClientError) as exc:
        client.register_mail_domain(OrganizationId=org_id, DomainName=domain.upper())
    assert error_code(exc) == "MailDomainInUseException"
    other = client.create_organization(Alias=unique("other"))["OrganizationId"]
    with pytest.raises(ClientError) as exc:
        client.register_mail_domain(OrganizationId=other, DomainName=domain)
    assert error_code(exc) == "MailDomainInUseException"
    with pytest.raises(ClientError) as exc:
        client.register_mail_domain(OrganizationId=org_id, DomainName="someone.awsapps.com")
    assert error_code(exc) == "InvalidParameterException"
    with pytest.raises(ClientError) as exc:
        client.register_mail_domain(OrganizationId=org_id, DomainName="bad_domain.com")
    assert error_code(exc) == "ValidationException"


def test_register_with_client_token_is_idempotent(client: Any, org_id: str) -> None:
    name = f"{unique('tok')}.example.com"
    client.register_mail_domain(OrganizationId=org_id, DomainName=name, ClientToken="t-1")
    client.register_mail_domain(OrganizationId=org_id, DomainName=name, ClientToken="t-1")
    with pytest.raises(ClientError) as exc:
        client.register_mail_domain(OrganizationId=org_id, DomainName=name)
    assert error_code(exc) == "MailDomainInUseException"


def test_default_domain_rules(client: Any, org_id: str, domain: str) -> None:
    pending = f"{unique('pend')}.example.com"
    client.register_mail_domain(OrganizationId=org_id, DomainName=pending)
    with pytest.raises(ClientError) as exc:
        client.update_default_mail_domain(OrganizationId=org_id, DomainName=pending)
    assert error_code(exc) == "MailDomainStateException"
    with pytest.raises(ClientError) as exc:
        client.update_default_mail_domain(OrganizationId=org_id, DomainName="missing.example.com")
    assert error_code(exc) == "MailDomainNotFoundException"
    client.update_default_mail_domain(OrganizationId=org_id, DomainName=domain)
    assert client.describe_organization(OrganizationId=org_id)["DefaultMailDomain"] == domain
    defaults = [d for d in client.list_mail_domains(OrganizationId=org_id)["MailDomains"] if d["DefaultDomain"]]
    assert [d["DomainName"] for d in defaults] == [domain]
    with pytest.raises(ClientError) as exc:
        client.deregister_mail_domain(OrganizationId=org_id, DomainName=domain)
    assert error_code(exc) == "MailDomainInUseException"


def test_deregister_fails_while_an_address_uses_the_domain(client: Any, org_id: str, domain: str) -> None:
    group = client.create_group(OrganizationId=org_id, Name="team")["GroupId"]
    client.register_to_work_mail(OrganizationId=org_id, EntityId=group, Email=f"team@{domain}")
    with pytest.raises(ClientError) as exc:
        client.deregister_mail_domain(OrganizationId=org_id, DomainName=domain)
    assert error_code(exc) == "MailDomainInUseException"
    client.deregister_from_work_mail(OrganizationId=org_id, EntityId=group)
    client.deregister_mail_domain(OrganizationId=org_id, DomainName=domain)
    with pytest.raises(ClientError) as exc:
        client.get_mail_domain(OrganizationId=org_id, DomainName=domain)
    assert error_code(exc) == "MailDomainNotFoundException"
    test_domain = client.describe_organization(OrganizationId=org_id)["DefaultMailDomain"]
    with pytest.raises(ClientError) as exc:
        client.deregister_mail_domain(OrganizationId=org_id, DomainName=test_domain)
    assert error_code(exc) in ("InvalidParameterException", "MailDomainInUseException")


def test_list_mail_domains_paginates(client: Any, org_id: str) -> None:
    names = {f"{unique('l')}.example.com" for _ in range(5)}
    for name in names:
        client.register_mail_domain(OrganizationId=org_id, DomainName=name)
    listed: list[str] = []
    token: dict[str, str] = {}
    while True:
        page = client.list_mail_domains(OrganizationId=org_id, MaxResults=2, **token)
        assert len(page["MailDomains"]) <= 2
        listed += [d["DomainName"] for d in page["MailDomains"]]
        if "NextToken" not in page:
            break
        token = {"NextToken": page["NextToken"]}
    assert names <= set(listed) and len(listed) == len(set(listed)) == 6
