"""Shared fixtures: one emulator per test session on loopback, boto3 clients whose every
response is checked against botocore's output shapes, and fresh organizations."""

from __future__ import annotations

import os

# Node 20 is on the machines; jsii warns about it on every synth unless told not to.
os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")
# jsii releases after Node 20's end of life warn with this one instead (it lists major versions).
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import boto3
import pytest
from botocore.config import Config

from tests.contract import install_output_checks
from tests.dns_zone import Zone
from workmail_constructs.core.api import WorkMailApi
from workmail_constructs.local import Emulator, EmulatorControl, running_emulator
from workmail_constructs.local.inprocess import InProcessClient

REGION = "us-east-1"
# No retries: tests must see every error the emulator returns, including injected faults.
# (botocore's "max_attempts" counts retries; "total_max_attempts" counts every attempt.)
NO_RETRIES = Config(retries={"total_max_attempts": 1, "mode": "standard"})


@contextmanager
def in_process_api() -> Iterator[WorkMailApi]:
    """A WorkMailApi over an emulator in this process (no HTTP), whose domains verify at once."""
    emulator = Emulator()
    emulator.settings.timing.domain_verification = 0
    try:
        yield WorkMailApi(InProcessClient(emulator))
    finally:
        emulator.close()


def make_client(url: str, service: str = "workmail", region: str = REGION, config: Config = NO_RETRIES) -> Any:
    return boto3.client(
        service, endpoint_url=url, region_name=region, config=config,
        aws_access_key_id="AKIDEMULATOR", aws_secret_access_key="emulator-secret",
    )


@pytest.fixture(scope="session")
def emulator_url() -> Iterator[str]:
    with running_emulator() as url:
        yield url


@pytest.fixture
def control(emulator_url: str) -> EmulatorControl:
    return EmulatorControl(emulator_url)


@pytest.fixture
def shape_failures() -> list[str]:
    return []


@pytest.fixture
def client(emulator_url: str, shape_failures: list[str]) -> Iterator[Any]:
    wm = make_client(emulator_url)
    install_output_checks(wm, shape_failures)
    yield wm
    assert not shape_failures, "responses broke botocore's output shapes:\n" + "\n".join(shape_failures)


@pytest.fixture
def flow_client(emulator_url: str, shape_failures: list[str]) -> Iterator[Any]:
    flow = make_client(emulator_url, "workmailmessageflow")
    install_output_checks(flow, shape_failures)
    yield flow
    assert not shape_failures, "responses broke botocore's output shapes:\n" + "\n".join(shape_failures)


def unique(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:10]}"


@pytest.fixture
def org_id(client: Any) -> Iterator[str]:
    """A fresh Active organization (the emulator's timing is instant in tests), deleted afterwards
    so a long session stays under the quota of 100 organizations per account
    (Administrator Guide, "Amazon WorkMail quotas")."""
    organization = str(client.create_organization(Alias=unique("org"))["OrganizationId"])
    yield organization
    state = client.describe_organization(OrganizationId=organization)["State"]
    if state not in ("Deleting", "Deleted"):
        client.delete_organization(OrganizationId=organization, DeleteDirectory=True, ForceDelete=True)


@pytest.fixture
def domain(client: Any, control: EmulatorControl, org_id: str) -> str:
    """A registered and verified domain of ``org_id``."""
    name = f"{unique('d')}.example.com"
    client.register_mail_domain(OrganizationId=org_id, DomainName=name)
    control.verify_domain(org_id, name)
    return name


def error_code(exc_info: pytest.ExceptionInfo[Any]) -> str:
    return str(exc_info.value.response["Error"]["Code"])


@pytest.fixture
def zone() -> Iterator[Zone]:
    """A loopback DNS server the test publishes records in."""
    made = Zone()
    yield made
    made.close()
