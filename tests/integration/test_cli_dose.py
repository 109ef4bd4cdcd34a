"""`jiareg dose` end to end: SPEC §11.4 vectors through the CLI, text output, errors, help."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import pytest
from typer.testing import CliRunner

from jiareg.cli import app

VECTORS = Path(__file__).parents[1] / "vectors" / "dosing.csv"
with VECTORS.open(newline="", encoding="utf-8") as _handle:
    # The CLI uses the default config (tcz_max_policy=flag): the cap rows are unit-tested only.
    ROWS = [r for r in csv.DictReader(_handle) if not r["tcz_max_policy"]]

runner = CliRunner()


def _dose(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["dose", *args])
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize("row", ROWS, ids=[r["id"] for r in ROWS])
def test_dose_json_vectors(row: dict[str, str]) -> None:
    code, out, _ = _dose(
        row["drug"],
        "--weight",
        row["weight_kg"],
        "--category",
        row["category"],
        "--route",
        row["route"].lower(),
        "--json",
    )
    assert code == 0
    payload = json.loads(out)
    assert set(payload) == {
        "drug",
        "route",
        "dose_mg",
        "mg_per_kg",
        "interval_days",
        "band",
        "flags",
    }
    assert payload["drug"] == row["drug"]
    assert payload["route"] == row["route"].lower()
    if row["expected_mg"] == "NA":
        assert payload["dose_mg"] is None and payload["interval_days"] is None
    else:
        assert Fraction(str(payload["dose_mg"])) == Fraction(row["expected_mg"])
        assert payload["interval_days"] == int(row["interval_weeks"]) * 7
    assert payload["flags"] == [f for f in row["flags"].split(";") if f]


def test_json_mg_per_kg_and_band() -> None:
    code, out, _ = _dose("tocilizumab", "--weight", "29.9", "--category", "sJIA", "--json")
    assert code == 0
    payload = json.loads(out)
    assert (payload["mg_per_kg"], payload["band"], payload["route"]) == (12, "<30", "iv")
    code, out, _ = _dose("adalimumab", "--weight", "20", "--category", "pJIA", "--json")
    assert json.loads(out)["mg_per_kg"] is None


def test_human_output_explains_flags() -> None:
    code, out, _ = _dose("tocilizumab", "--weight", "29.9", "--category", "systemic")
    assert code == 0
    assert "tocilizumab IV, systemic, 29.9 kg" in out
    assert "358.8 mg (12 mg/kg)" in out
    assert "every 14 days (2 weeks)" in out
    assert "WEIGHT_BAND_BOUNDARY: weight within 29.5 to <30.5 kg" in out
    code, out, _ = _dose("etanercept", "--weight", "40", "--category", "JIA")
    assert "32 mg (0.8 mg/kg)" in out and "flags:     none" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["aspirin", "--weight", "20", "--category", "sJIA"],
            "unknown drug 'aspirin'; expected one of tocilizumab, etanercept, adalimumab, "
            "infliximab",
        ),
        (
            ["tocilizumab", "--weight", "20", "--category", "adult"],
            "unknown category 'adult'; expected sJIA, pJIA, JIA or an ILAR code (systemic,",
        ),
        (["tocilizumab", "--weight", "heavy", "--category", "sJIA"], "--weight 'heavy'"),
        (["tocilizumab", "--weight", "-3", "--category", "sJIA"], "positive number of kg"),
        (["tocilizumab", "--weight", "20", "--category", "sJIA", "--route", "oral"], "iv or sc"),
    ],
)
def test_bad_input_exits_1_with_a_clear_message(args: list[str], message: str) -> None:
    code, out, err = _dose(*args)
    assert code == 1
    assert out == ""
    assert err.startswith("error: ") and message in err


def test_help_teaches_with_an_example() -> None:
    result = runner.invoke(app, ["dose", "--help"])
    assert result.exit_code == 0
    assert "Example: jiareg dose tocilizumab --weight 29.9 --category sJIA --json" in result.stdout


def test_installed_command_runs() -> None:
    """The console entry point, in a real subprocess (python -m jiareg)."""
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "jiareg",
            "dose",
            "tocilizumab",
            "--weight",
            "30",
            "--category",
            "pJIA",
            "--route",
            "sc",
            "--json",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {
        "drug": "tocilizumab",
        "route": "sc",
        "dose_mg": 162,
        "mg_per_kg": None,
        "interval_days": 14,
        "band": "≥30",
        "flags": ["WEIGHT_BAND_BOUNDARY"],
    }
