"""A server starts without the study stage (issue 10): `jiareg serve` imports the web app in
every worker, and jiareg.study brings pandas, SciPy and lifelines (seconds of CPU each time);
the routes that run a study or read its results import it when first used."""

from __future__ import annotations

import json
import subprocess
import sys

_SCRIPT = """
import json, sys
import jiareg.web.app
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in
    ("lifelines", "scipy", "pandas", "statsmodels") or m.startswith("jiareg.study"))))
"""


def test_the_web_app_imports_no_study_code() -> None:
    run = subprocess.run(
        [sys.executable, "-c", _SCRIPT], capture_output=True, text=True, check=False, timeout=120
    )
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout) == []
