"""The command line stays light: help and `jiareg dose` never load the heavy stages.

`jiareg --help` builds every command, so one module-level import of pandas, SciPy, Ibis,
DuckDB or SQLAlchemy in `jiareg.cli` costs every invocation seconds. Each check runs in a
fresh interpreter (this test process has them loaded already) and lists the heavy modules
loaded after each step.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = ("pandas", "scipy", "ibis", "duckdb", "sqlalchemy", "pyarrow")

# Every command's --help (found by walking the command tree, so new commands are covered),
# then a light command; each step records the heavy modules loaded so far.
_SCRIPT = f"""
import json, sys

HEAVY = {HEAVY!r}
def heavy():
    return sorted(m for m in HEAVY if m in sys.modules)

loaded = {{}}
import jiareg.cli
loaded["import jiareg.cli"] = heavy()

import typer.main
from typer.testing import CliRunner
from jiareg.cli import app

def paths(command, prefix):
    yield prefix
    for name, sub in sorted(getattr(command, "commands", {{}}).items()):
        yield from paths(sub, [*prefix, name])

runner = CliRunner()
for path in paths(typer.main.get_command(app), []):
    args = [*path, "--help"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, (args, result.output)
    loaded[" ".join(["jiareg", *args])] = heavy()

args = ["dose", "tocilizumab", "--weight", "25", "--category", "systemic"]
result = runner.invoke(app, args)
assert result.exit_code == 0 and "300 mg" in result.stdout, result.output
loaded[" ".join(["jiareg", *args])] = heavy()
print(json.dumps(loaded))
"""


@pytest.mark.slow
def test_help_and_dose_load_no_heavy_stage() -> None:
    run = subprocess.run(
        [sys.executable, "-c", _SCRIPT], capture_output=True, text=True, check=False, timeout=120
    )
    assert run.returncode == 0, run.stderr
    loaded: dict[str, list[str]] = json.loads(run.stdout)
    assert "jiareg calc jadas --help" in loaded  # the walk reached the sub-commands
    assert "jiareg user add --help" in loaded
    assert {step: mods for step, mods in loaded.items() if mods} == {}
