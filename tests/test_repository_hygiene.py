"""The repository stands on its own: it cites public documents, never local copies of them.

Code and docs cite the Amazon WorkMail Administrator Guide by section title, e.g.
``(Administrator Guide, "Amazon WorkMail quotas")``, not by line of a local copy, and
nothing points at files outside the repository or at a development machine's paths.
The patterns are assembled from pieces so that this file does not match them itself.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TESTS = ROOT / "tests"

# Line citations of the local copy of the Guide: "seed L12", "Guide L12", "(L1234–L1240)", "digest C §3".
SEED_CITATION = re.compile(r"(?i:seed|guide|digest)\s+L\d|\(L\d{2,}|" + "dig" + r"est [A-D] §")
# Paths to the shared reference material next to the checkout.
OUTSIDE_REFERENCES = re.compile("|".join(re.escape(p) for p in ("/shared/" + "reference", "../" + "shared")))
# Absolute paths of a development machine.
MACHINE_PATHS = re.compile("|".join(re.escape(p) for p in ("/" + "work/", "/" + "root/", "/" + "home/")))
# What tests may not point at: anything outside the repository.
TEST_OUTSIDE_REFERENCES = re.compile(
    "|".join(re.escape(p) for p in ("../" + "shared", "/shared/" + "reference", "/" + "work/"))
)

SKIPPED_DIRECTORIES = {"__pycache__", ".mypy_cache", ".pytest_cache", ".ruff_cache", "cdk.out", "node_modules"}


def text_files(*paths: Path) -> Iterator[Path]:
    """Every file under ``paths`` (files themselves included) that is text, in a stable order."""
    for path in paths:
        candidates = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
        for candidate in candidates:
            if SKIPPED_DIRECTORIES.isdisjoint(candidate.relative_to(ROOT).parts) and _is_text(candidate):
                yield candidate


def _is_text(path: Path) -> bool:
    data = path.read_bytes()
    if b"\0" in data:
        return False
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def offending_lines(files: Iterable[Path], *patterns: re.Pattern[str]) -> list[str]:
    """``file:line: text`` for every line of ``files`` that any of ``patterns`` matches."""
    found: list[str] = []
    for path in files:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if any(pattern.search(line) for pattern in patterns):
                found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()[:160]}")
    return found


def test_code_and_docs_cite_public_documents_only() -> None:
    shipped = text_files(
        ROOT / "workmail_constructs", ROOT / "docs", ROOT / "examples", ROOT / "README.md", ROOT / "app.py"
    )
    found = offending_lines(shipped, SEED_CITATION, OUTSIDE_REFERENCES, MACHINE_PATHS)
    assert not found, (
        "cite the Administrator Guide by section title, e.g. (Administrator Guide, \"Amazon WorkMail quotas\"), "
        "and point at nothing outside the repository:\n" + "\n".join(found)
    )


def test_tests_use_no_files_outside_the_repository() -> None:
    found = offending_lines(text_files(TESTS), TEST_OUTSIDE_REFERENCES)
    assert not found, "copy what a test needs under tests/fixtures/:\n" + "\n".join(found)
