"""No secret reaches a log record, even with every logger at DEBUG (Lambda's AWS_LAMBDA_LOG_LEVEL=DEBUG).

A whole apply runs through the clients the custom-resource handlers build: WorkMail
through the emulator, Secrets Manager through a stand-in that speaks its wire protocol,
so botocore really logs (or would log) both the requests carrying passwords and the
responses carrying secret values.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tests.conftest import unique
from tests.spec_factory import SECRETS, organization_spec
from workmail_constructs.core.reconcile import reconcile
from workmail_constructs.core.spec import SecretRef
from workmail_constructs.handlers import common
from workmail_constructs.local import EmulatorServer, Settings, Timing


class _SecretsManager(BaseHTTPRequestHandler):
    """GetSecretValue over Secrets Manager's JSON protocol, answering from SECRETS."""

    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        assert self.headers["X-Amz-Target"] == "secretsmanager.GetSecretValue"
        name = request["SecretId"]
        body = json.dumps({
            "ARN": f"arn:aws:secretsmanager:us-east-1:123456789012:secret:{name}-AbCdEf", "Name": name,
            "VersionId": str(uuid.uuid4()), "SecretString": SECRETS[name],
            "VersionStages": [request.get("VersionStage", "AWSCURRENT")], "CreatedDate": 1700000000,
        }).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/x-amz-json-1.1")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def workmail(monkeypatch: pytest.MonkeyPatch) -> Iterator[EmulatorServer]:
    secrets = ThreadingHTTPServer(("127.0.0.1", 0), _SecretsManager)
    secrets.daemon_threads = True
    threading.Thread(target=secrets.serve_forever, daemon=True).start()
    settings = Settings(timing=Timing(domain_verification=0))
    with EmulatorServer(settings=settings).start() as workmail:
        monkeypatch.setenv("AWS_ENDPOINT_URL_WORKMAIL", workmail.endpoint_url)
        monkeypatch.setenv("AWS_ENDPOINT_URL_SECRETS_MANAGER", f"http://127.0.0.1:{secrets.server_address[1]}")
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDLOGTEST")
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "log-test-secret")
        monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
        monkeypatch.setenv("AWS_LAMBDA_LOG_LEVEL", "DEBUG")
        # Clients built for other endpoints by earlier tests must not be reused.
        monkeypatch.setattr(common, "_clients", {})
        yield workmail
    secrets.shutdown()


def _everything_in(record: logging.LogRecord) -> str:
    parts = [record.getMessage(), repr(record.args), str(record.msg)]
    if record.exc_info:
        parts.append(logging.Formatter().formatException(record.exc_info))
    return "\n".join(parts)


def test_a_whole_apply_at_debug_logs_no_secret(workmail: EmulatorServer, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)  # the root logger, as AWS_LAMBDA_LOG_LEVEL=DEBUG sets it
    spec = organization_spec(unique("logs"), users=3, groups=1, resources=1)
    first = reconcile(common.workmail_api(), spec, resolve_secret=common.SecretResolver())
    assert first.ok, first.failed
    # A new password version: every user's password is set again (ResetPassword).
    changed = dataclasses.replace(spec, users=[
        dataclasses.replace(user, password=SecretRef("user-password", "v2")) for user in spec.users])
    second = reconcile(common.workmail_api(), changed, spec, resolve_secret=common.SecretResolver(),
                       organization_id=first.organization_id)
    assert second.ok, second.failed
    calls = workmail.emulator.call_counts()["calls"]
    assert calls["CreateUser"] == calls["ResetPassword"] == len(spec.users)
    assert calls["CreateAvailabilityConfiguration"] == 2

    records = caplog.records
    # The capture really ran at DEBUG, with botocore talking to both services...
    assert any(r.levelno == logging.DEBUG and r.name.startswith("botocore") for r in records)
    assert any("secretsmanager" in r.getMessage().lower() for r in records)
    # ...and no record carries a secret, whoever logged it.
    secrets = [*SECRETS.values(), "log-test-secret"]
    leaks = [f"{r.name}: {_everything_in(r)[:200]}" for r in records if any(s in _everything_in(r) for s in secrets)]
    assert not leaks, "secrets reached the logs:\n" + "\n".join(leaks)
