"""The package as users install it: a wheel with its license and its types (PEP 561)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

USES_THE_TYPES = """\
import aws_cdk as cdk

from workmail_constructs import Organization

app = cdk.App()
org = Organization(cdk.Stack(app, "Stack"), "Org", alias="acme")
domain = org.add_domain("acme.example")
user = org.add_user("alice", display_name="Alice", email="alice@acme.example")
"""

# Wrong only if mypy sees the real types: with Any, both lines would pass.
MISUSES_THE_TYPES = USES_THE_TYPES + """\
count: int = org.add_domain("other.example")
org.add_user(42, display_name="Bob")
"""


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A wheel built offline from a copy of the sources (an in-tree build/ could hold stale modules)."""
    source = tmp_path_factory.mktemp("source")
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, source / name)
    shutil.copytree(ROOT / "workmail_constructs", source / "workmail_constructs",
                    ignore=shutil.ignore_patterns("__pycache__"))
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation", "-w", str(out),
         str(source)],
        check=True, capture_output=True,
    )
    (built,) = out.glob("workmail_constructs-*.whl")
    return built


def test_the_wheel_carries_the_license_and_the_type_marker(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        metadata = archive.read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
    assert "workmail_constructs/py.typed" in names
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    assert "License-Expression: Apache-2.0" in metadata


def _installed(wheel: Path, where: Path) -> Path:
    """A virtual environment with the wheel installed, reaching the dependencies through a .pth file."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(where)], check=True)
    python = where / "bin" / "python"
    site = Path(subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        check=True, capture_output=True, text=True,
    ).stdout.strip())
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(site)
    # The test environment's own packages (aws_cdk, constructs), as a path only: the .pth files
    # there, among them the editable install of these sources, are not processed.
    (site / "dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")
    return python


def _mypy(python: Path, script: Path) -> subprocess.CompletedProcess[str]:
    # The repository's mypy cache already holds aws_cdk's analysis after `make typecheck`.
    return subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--python-executable", str(python),
         "--cache-dir", str(ROOT / ".mypy_cache"), "--no-error-summary", str(script)],
        capture_output=True, text=True, cwd=script.parent,
    )


def test_mypy_strict_sees_the_installed_package_types(wheel: Path, tmp_path: Path) -> None:
    python = _installed(wheel, tmp_path / "venv")
    good = tmp_path / "good.py"
    good.write_text(USES_THE_TYPES)
    result = _mypy(python, good)
    assert result.returncode == 0, result.stdout + result.stderr

    bad = tmp_path / "bad.py"
    bad.write_text(MISUSES_THE_TYPES)
    result = _mypy(python, bad)
    assert result.returncode == 1, result.stdout + result.stderr
    assert 'expression has type "Domain", variable has type "int"' in result.stdout
    assert 'Argument 1 to "add_user" of "Organization" has incompatible type "int"' in result.stdout
    assert "py.typed" not in result.stdout
