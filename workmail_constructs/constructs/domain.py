"""A mail domain of an organization: the ``Custom::WorkMailDomain`` resource and its DNS.

The resource registers the domain and returns the DNS records WorkMail asks for. With a
Route 53 hosted zone the records are created natively from the resource's attributes;
without one, a stack output lists them for whoever runs the domain's DNS.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import aws_cdk as cdk
from aws_cdk import aws_route53 as route53
from constructs import Construct

from ..core.spec import DomainSpec
from .directory import spec_data
from .providers import DOMAIN_RESOURCE_TYPE, WorkMailHandlers

if TYPE_CHECKING:
    from .organization import Organization

DEFAULT_RECORD_TTL = cdk.Duration.hours(1)


class Domain(Construct):
    """A mail domain registered with a WorkMail organization (use ``Organization.add_domain``).

    :param organization: the organization the domain belongs to.
    :param domain_name: the domain, e.g. ``example.com``.
    :param hosted_zone: the domain's Route 53 public hosted zone; its records are created
        from the resource's attributes. Without it, an output lists the records to create.
    :param default: make this the organization's default mail domain (once verified).
    :param wait_for_verification: keep the deployment waiting until WorkMail has verified
        the domain (the handler gives up after about 50 minutes and reports the status).
    :param spf_record: create the SPF TXT record at the domain's apex (turn off when the
        zone already has one: Route 53 holds one TXT record set per name).
    :param dmarc_record: create the DMARC TXT record.
    :param record_ttl: TTL of the created records.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        organization: Organization,
        domain_name: str,
        hosted_zone: route53.IHostedZone | None = None,
        default: bool = False,
        wait_for_verification: bool = False,
        spf_record: bool = True,
        dmarc_record: bool = True,
        record_ttl: cdk.Duration = DEFAULT_RECORD_TTL,
    ) -> None:
        super().__init__(scope, id)
        self.organization = organization
        self.domain_name = domain_name
        self.hosted_zone = hosted_zone
        self.spec = DomainSpec(
            name=domain_name, default=default, wait_for_verification=wait_for_verification,
            hosted_zone_id=hosted_zone.hosted_zone_id if hosted_zone is not None else None,
        )
        handlers = WorkMailHandlers.of(self)
        self.resource = cdk.CustomResource(
            self, "Resource", service_token=handlers.service_token, resource_type=DOMAIN_RESOURCE_TYPE,
            # A structured object; a hosted zone's id made in the stack sits in it directly.
            properties={"OrganizationId": organization.organization_id, "Spec": spec_data(self.spec)},
            # A retained organization keeps its domains: deregistering one stops its mail.
            removal_policy=organization.removal_policy,
        )
        handlers.allow_organization(organization.organization_arn)
        handlers.depend_on_permissions(self.resource)

        attribute = self.resource.get_att_string
        self.ownership_verification_status = attribute("OwnershipVerificationStatus")
        self.dkim_verification_status = attribute("DkimVerificationStatus")
        self.ownership_txt_name = attribute("OwnershipTxtName")
        self.ownership_txt_value = attribute("OwnershipTxtValue")
        self.mx_name = attribute("MxName")
        self.mx_value = attribute("MxValue")
        self.mx_priority = attribute("MxPriority")
        self.autodiscover_name = attribute("AutodiscoverName")
        self.autodiscover_value = attribute("AutodiscoverValue")
        self.spf_name = attribute("SpfName")
        self.spf_value = attribute("SpfValue")
        self.dmarc_name = attribute("DmarcName")
        self.dmarc_value = attribute("DmarcValue")
        self.dkim_records: list[tuple[str, str]] = [
            (attribute(f"Dkim{n}Name"), attribute(f"Dkim{n}Value")) for n in (1, 2, 3)
        ]

        # (id, type, name, value as the record holds it)
        records: list[tuple[str, str, str, str]] = [
            ("OwnershipTxt", "TXT", self.ownership_txt_name, _quoted(self.ownership_txt_value)),
            ("Mx", "MX", self.mx_name, f"{self.mx_priority} {self.mx_value}"),
            ("Autodiscover", "CNAME", self.autodiscover_name, self.autodiscover_value),
        ]
        if spf_record:
            records.append(("Spf", "TXT", self.spf_name, _quoted(self.spf_value)))
        if dmarc_record:
            records.append(("Dmarc", "TXT", self.dmarc_name, _quoted(self.dmarc_value)))
        records += [(f"Dkim{n}", "CNAME", name, value) for n, (name, value) in enumerate(self.dkim_records, 1)]

        self.records: list[route53.CfnRecordSet] = []
        if hosted_zone is not None:
            if wait_for_verification:
                cdk.Annotations.of(self).add_warning_v2(
                    "workmail-constructs:domain-wait-with-zone",
                    f"{domain_name}: its records are created after the domain resource (they come from its "
                    "attributes), so waiting for verification in the same deployment can only time out; the "
                    "domain verifies shortly after the records exist.",
                )
            for record_id, record_type, name, value in records:
                # L1 records: the names are tokens, and the L2 records would append the zone's name.
                self.records.append(route53.CfnRecordSet(
                    self, record_id, hosted_zone_id=hosted_zone.hosted_zone_id, name=name, type=record_type,
                    ttl=str(int(record_ttl.to_seconds())), resource_records=[value],
                ))
        else:
            listing = "; ".join(f"{record_type} {name} {value}" for _, record_type, name, value in records)
            self.dns_output = cdk.CfnOutput(
                self, "DnsRecords", value=listing,
                description=f"DNS records to create for the WorkMail domain {domain_name}: type, name, value",
            )

    @property
    def default(self) -> bool:
        return self.spec.default


def _quoted(value: str) -> str:
    """A TXT record's value as Route 53 takes it: in double quotes."""
    return f'"{value}"'
