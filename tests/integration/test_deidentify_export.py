"""Small cells in the de-identified export (issue 12, build item 5): a site, sex or ILAR
category held by fewer than 5 patients is written as "<5" unless an admin asks otherwise.

The demo cohort has 9 patients of site DEMO: 7 F and 2 M, 7 systemic and 2 poly_rf_neg.
"""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

from typer.testing import CliRunner

from jiareg.cli import app
from jiareg.demo import COHORT_DIR
from jiareg.services.imports import import_path


def _patients(tmp_path: Path, *options: str) -> list[dict[str, str]]:
    db = f"sqlite:///{tmp_path / 'registry.db'}"
    if not (tmp_path / "registry.db").exists():
        import_path(COHORT_DIR, db)
    out = tmp_path / "-".join(("out", *options))
    done = CliRunner().invoke(app, ["export", str(out), "--db", db, "--deidentify", *options])
    assert done.exit_code == 0, done.output
    with (out / "patients.csv").open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def test_the_deidentified_export_suppresses_small_cells_by_default(tmp_path: Path) -> None:
    rows = _patients(tmp_path)
    assert Counter(r["sex"] for r in rows) == {"F": 7, "<5": 2}
    assert Counter(r["ilar_category"] for r in rows) == {"systemic": 7, "<5": 2}
    assert Counter(r["site"] for r in rows) == {"DEMO": 9}


def test_no_suppress_keeps_small_cells_for_an_admin(tmp_path: Path) -> None:
    rows = _patients(tmp_path, "--no-suppress")
    assert Counter(r["sex"] for r in rows) == {"F": 7, "M": 2}
    assert Counter(r["ilar_category"] for r in rows) == {"systemic": 7, "poly_rf_neg": 2}
