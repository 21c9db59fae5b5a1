"""Clients of the emulator with the credentials every local run uses: never real ones, so a
local deploy, plan or check can't reach AWS even where credentials are configured."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import boto3

from ..core.api import WorkMailApi

LOCAL_KEY, LOCAL_SECRET = "local", "local"
# The same, as the variables boto3 reads (for the handlers, which build their own clients).
LOCAL_CREDENTIAL_VARIABLES = {"AWS_ACCESS_KEY_ID": LOCAL_KEY, "AWS_SECRET_ACCESS_KEY": LOCAL_SECRET}


# Where the emulator serves the AWS services beside WorkMail (see server.py).
SERVICE_PATHS = {"s3": "/_s3", "cloudformation": "/_cloudformation"}


def service_endpoint(endpoint: str, service: str) -> str:
    """The URL at which the emulator at ``endpoint`` answers ``service``."""
    return endpoint + SERVICE_PATHS.get(service, "")


def workmail_api(endpoint_url: str, region: str) -> WorkMailApi:
    return WorkMailApi.create(endpoint_url=endpoint_url, region=region, aws_access_key_id=LOCAL_KEY,
                              aws_secret_access_key=LOCAL_SECRET)


def client(service: str, endpoint_url: str, region: str, **options: Any) -> Any:
    session = boto3.session.Session(aws_access_key_id=LOCAL_KEY, aws_secret_access_key=LOCAL_SECRET,
                                    region_name=region)
    return session.client(service, endpoint_url=endpoint_url, **options)  # type: ignore[call-overload]


@contextmanager
def emulator_environment(endpoint: str, region: str, **extra: str) -> Iterator[None]:
    """For the block: every client built from the standard variables (as the handlers and users'
    hooks build theirs, the way boto3 users point any client at another endpoint) reaches the
    emulator at ``endpoint``, with local credentials only, so nothing can reach AWS; ``extra``
    variables beside them. The environment is put back afterwards."""
    variables = {
        "AWS_ENDPOINT_URL_WORKMAIL": endpoint, "AWS_ENDPOINT_URL_WORKMAILMESSAGEFLOW": endpoint,
        "AWS_ENDPOINT_URL_SECRETS_MANAGER": endpoint, "AWS_ENDPOINT_URL_S3": service_endpoint(endpoint, "s3"),
        "AWS_ENDPOINT_URL_CLOUDFORMATION": service_endpoint(endpoint, "cloudformation"),
        "AWS_DEFAULT_REGION": region, "AWS_REGION": region, **LOCAL_CREDENTIAL_VARIABLES, **extra,
    }
    kept = {name: os.environ.get(name) for name in (*variables, "AWS_PROFILE", "AWS_SESSION_TOKEN")}
    os.environ.update(variables)
    os.environ.pop("AWS_PROFILE", None)
    os.environ.pop("AWS_SESSION_TOKEN", None)
    try:
        yield
    finally:
        for name, value in kept.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
