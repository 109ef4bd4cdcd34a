"""The layout holds: import-linter's contracts in pyproject.toml are kept, and no module is
over 400 lines.

cli/web -> services -> formats/ingest/store/study -> derive/stats -> vocab/errors, and the
web never imports the command line. `make lint` checks the same contracts.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_import_contracts_are_kept() -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "from importlinter.cli import lint_imports_command; lint_imports_command()",
        ],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
        capture_output=True,
        text=True,
        timeout=110,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


MAX_LINES = 400
"""The longest a module may be (the developers' brief): one that grows past it is split by
what it does, tests included."""


def test_no_module_is_over_400_lines() -> None:
    modules = [p for folder in ("src", "tests", "bench") for p in (ROOT / folder).rglob("*.py")]
    lengths = {p.relative_to(ROOT): len(p.read_text("utf-8").splitlines()) for p in modules}
    assert len(lengths) > 300  # the walk found the tree
    assert {path: n for path, n in lengths.items() if n > MAX_LINES} == {}
