"""The README's boto3 walkthrough passes against an emulator started with the CLI."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parent.parent


def test_walkthrough_against_cli_emulator(tmp_path: Path) -> None:
    server = subprocess.Popen(
        [sys.executable, "-m", "workmail_constructs.cli", "emulator", "serve", "--port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    try:
        assert server.stdout is not None
        url = server.stdout.readline().strip()
        result = subprocess.run(
            [sys.executable, str(ROOT / "examples" / "boto3_walkthrough.py"), "--endpoint", url],
            capture_output=True, text=True, timeout=300, cwd=ROOT,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        assert "OK: organization m-" in result.stdout
        for code in ("NameAvailabilityException", "InvalidPasswordException", "EmailAddressInUseException",
                     "MailDomainNotFoundException", "EntityStateException", "MailDomainInUseException",
                     "OrganizationNotFoundException", "ValidationException", "LimitExceededException"):
            assert code in result.stdout
    finally:
        server.terminate()
        server.wait(timeout=10)
