"""Clients of the emulator with the credentials every local run uses: never real ones, so a
local deploy, plan or check can't reach AWS even where credentials are configured."""

from __future__ import annotations

from typing import Any

import boto3

from ..core.api import WorkMailApi

LOCAL_KEY, LOCAL_SECRET = "local", "local"
# The same, as the variables boto3 reads (for the handlers, which build their own clients).
LOCAL_CREDENTIAL_VARIABLES = {"AWS_ACCESS_KEY_ID": LOCAL_KEY, "AWS_SECRET_ACCESS_KEY": LOCAL_SECRET}


def workmail_api(endpoint_url: str, region: str) -> WorkMailApi:
    return WorkMailApi.create(endpoint_url=endpoint_url, region=region, aws_access_key_id=LOCAL_KEY,
                              aws_secret_access_key=LOCAL_SECRET)


def client(service: str, endpoint_url: str, region: str, **options: Any) -> Any:
    session = boto3.session.Session(aws_access_key_id=LOCAL_KEY, aws_secret_access_key=LOCAL_SECRET,
                                    region_name=region)
    return session.client(service, endpoint_url=endpoint_url, **options)  # type: ignore[call-overload]
