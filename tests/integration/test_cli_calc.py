"""`jiareg calc acr-pedi|jadas|chaq` end to end on files: SPEC vectors in, SPEC results out;
bad files exit 1 naming file, line, column and value, and write nothing."""

from __future__ import annotations

import csv
import subprocess
import sys
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from tests.support.acr_pedi_vectors import (
    VARIABLES,
    acr_vectors,
    config_of,
    core_set,
    expected_result,
)
from typer.testing import CliRunner

from jiareg.cli import app
from jiareg.derive.acr_pedi import acr_pedi_level
from jiareg.derive.chaq import CHAQ_DOMAINS

VECTORS = Path(__file__).parents[1] / "vectors"
RUNNER = CliRunner()
TRISTATE = {"RESPONDER": "true", "NONRESPONDER": "false", "NOT_EVALUABLE": ""}
STATES = {"ID": "inactive", "LDA": "low", "MDA": "moderate", "HDA": "high"}
ACR_HEADER = ["id"] + [f"{v}_{w}" for v in VARIABLES.values() for w in ("baseline", "followup")]


def _write(path: Path, header: list[str], rows: list[list[Any]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def _read(path: Path) -> dict[str, dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return {row["id"]: row for row in csv.DictReader(handle)}


def _cell(text: str) -> str:
    """A vector cell as a user would type it: fractions (6/7) as 6 decimals, NA as empty."""
    if text == "NA":
        return ""
    value = Fraction(text) if "/" in text else None
    return f"{float(value):.6f}" if value is not None else text


def _acr_file(path: Path, rows: list[dict[str, str]], fever: list[str] | None = None) -> Path:
    scales = [
        f"{g}_scale_{w}" for g in ("phys_global", "parent_global") for w in ("baseline", "followup")
    ]
    header = ACR_HEADER + scales + (["fever_followup"] if fever else [])
    body = []
    for i, r in enumerate(rows):
        cells = [r["id"]] + [_cell(r[f"{w}_{s}"]) for s in VARIABLES for w in ("b", "f")]
        cells += [r[f"{w}_{s}_scale"] for s in ("pga", "par") for w in ("b", "f")]
        body.append(cells + ([fever[i]] if fever else []))
    return _write(path, header, body)


def _calc(*args: str) -> Any:
    return RUNNER.invoke(app, ["calc", *map(str, args)])


CONFIGS = sorted({tuple(config_of(r).items()) for r in acr_vectors()})


@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: "-".join(v for _, v in c))
def test_acr_pedi_spec_vectors_through_the_cli(tmp_path: Path, config: tuple[Any, ...]) -> None:
    options = dict(config)
    rows = [r for r in acr_vectors() if config_of(r) == options]
    out = tmp_path / "out.csv"
    result = _calc(
        "acr-pedi",
        _acr_file(tmp_path / "in.csv", rows),
        "-o",
        out,
        "--missing-mode",
        options["acr_missing_mode"],
        "--zero-baseline",
        options["zero_baseline_worsening"],
    )
    assert result.exit_code == 0, result.output
    got = _read(out)
    assert list(got) == [r["id"] for r in rows]
    for row in rows:
        line = got[row["id"]]
        assert line[f"acr_pedi_{row['level']}"] == TRISTATE[expected_result(row)], row["id"]
        level = acr_pedi_level(core_set(row, "b"), core_set(row, "f"), **options)
        assert line["acr_pedi_level"] == ("" if level is None else str(level)), row["id"]
        assert line["chaq_followup"] == _cell(row["f_chaq"])  # input columns kept as written


def test_acr_pedi_sjia_variant_with_fever(tmp_path: Path) -> None:
    rows = [r for r in acr_vectors() if r["id"] in ("A01", "A02", "A15")]
    rows = [rows[0], rows[0], rows[0], rows[1], rows[2]]
    fever = ["no", "yes", "", "", "no"]
    out = tmp_path / "out.csv"
    result = _calc("acr-pedi", _acr_file(tmp_path / "in.csv", rows, fever), "-o", out)
    assert result.exit_code == 0, result.output
    with out.open(newline="") as handle:
        got = [(r["acr_pedi_sjia_30"], r["acr_pedi_sjia_level"]) for r in csv.DictReader(handle)]
    assert got == [("true", "30"), ("false", "0"), ("", ""), ("false", "0"), ("", "")]


def _jadas_rows(variant_filter: set[str]) -> list[dict[str, str]]:
    with (VECTORS / "jadas.csv").open(newline="", encoding="utf-8") as handle:
        rows = [r for r in csv.DictReader(handle) if r["variant"] in variant_filter]
    return [r for r in rows if r["reason"] == ""]


@pytest.mark.parametrize(
    ("marker", "variants"),
    [("esr", {"JADAS10", "JADAS27", "JADAS71", "cJADAS10"}), ("crp", {"JADAS10-CRP"})],
)
@pytest.mark.parametrize("cutoff_set", ["consolaro", "trincianti2021"])
def test_jadas_spec_vectors_through_the_cli(
    tmp_path: Path, marker: str, variants: set[str], cutoff_set: str
) -> None:
    rows = _jadas_rows(variants)
    category = {"oligo": "oligo_persistent", "poly": "poly_rf_neg"}
    header = ["id", "phys_global", "parent_global", "active_joints", "esr", "crp", "category"]
    header += ["phys_global_scale", "parent_global_scale"]
    body = []
    for r in rows:
        m = "" if r["marker"] == "NA" else r["marker"]
        esr, crp = (m, "") if marker == "esr" else ("", m)
        body.append(
            [
                r["id"],
                r["pga"],
                r["parent_global"],
                r["ajc_count"],
                esr,
                crp,
                category[r["course"]],
                r["pga_scale"],
                r["parent_scale"],
            ]
        )
    out = tmp_path / "out.csv"
    result = _calc(
        "jadas",
        _write(tmp_path / "in.csv", header, body),
        "-o",
        out,
        "--marker",
        marker,
        "--cutoff-set",
        cutoff_set,
    )
    assert result.exit_code == 0, result.output
    got = _read(out)
    column = {"JADAS10": "jadas10", "JADAS27": "jadas27", "JADAS71": "jadas71"}
    column |= {"cJADAS10": "cjadas10", "JADAS10-CRP": "jadas10"}
    for r in rows:
        name = column[r["variant"]]
        assert float(got[r["id"]][name]) == pytest.approx(float(r["expected_score"]), abs=1e-9)
        state = r[f"state_{cutoff_set}"]
        if name in ("jadas10", "cjadas10") and state != "NA":
            assert got[r["id"]][f"{name}_state"] == STATES[state], r["id"]


def test_jadas_no_state_for_systemic_with_features_or_unknown(tmp_path: Path) -> None:
    header = ["id", "phys_global", "parent_global", "active_joints", "esr", "category"]
    header.append("systemic_features")
    rows = [["s1", 3, 2, 5, 20, "systemic", "yes"], ["s2", 3, 2, 5, 20, "systemic", ""]]
    rows.append(["s3", 3, 2, 5, 20, "systemic", "no"])
    rows.append(["p1", 3, 2, 5, 20, "poly_rf_neg", "yes"])  # only sJIA is concerned
    rows.append(["p2", 3, "", 5, 20, "poly_rf_neg", ""])
    rows.append(["e1", 3, 2, 5, 20, "era", ""])  # course needs the joint history
    out = tmp_path / "out.csv"
    assert _calc("jadas", _write(tmp_path / "in.csv", header, rows), "-o", out).exit_code == 0
    got = _read(out)
    ids = ("s1", "s2", "s3", "p1", "p2", "e1")
    assert [got[i]["jadas10_state"] for i in ids] == ["", "", "moderate", "moderate", "", ""]
    assert [got[i]["cjadas10_state_reason"] for i in ids] == [
        "systemic_features_present",  # R-JADAS-2
        "systemic_features_unknown",
        "",
        "",
        "score_missing",
        "unknown_course",
    ]
    assert got["s1"]["jadas10"] == "10.0"
    assert got["s1"]["jadas10_state_reason"] == "systemic_features_present"


def test_chaq_spec_vectors_through_the_cli(tmp_path: Path) -> None:
    with (VECTORS / "chaq.csv").open(newline="", encoding="utf-8") as handle:
        vectors = list(csv.DictReader(handle))
    domains = list(CHAQ_DOMAINS)
    header = ["id"] + [item for items in CHAQ_DOMAINS.values() for item in items]
    header += [f"aid_{d}" for d in domains] + [f"help_{d}" for d in domains]
    body = []
    for v in vectors:
        # an item not applicable (the SPEC's NA) is an empty cell, as in chaq_items.csv
        scores = [_cell(s) for part in v["items"].split("|") for s in part.split()]
        aided = {domains[int(d[1:]) - 1] for d in v["aid"].split(";") if d != "none"}
        # aids recorded as "aid_", help as "help_": either raises the domain (SPEC R-CHAQ)
        aid = ["yes" if d in aided and i % 2 == 0 else "no" for i, d in enumerate(domains)]
        helped = ["yes" if d in aided and i % 2 == 1 else "" for i, d in enumerate(domains)]
        body.append([v["id"], *scores, *aid, *helped])
    for scoring, key in (
        ("original", "di_original"),
        ("without_aids_help", "di_without_aids_help"),
    ):
        out = tmp_path / f"{scoring}.csv"
        result = _calc(
            "chaq", _write(tmp_path / "in.csv", header, body), "-o", out, "--scoring", scoring
        )
        assert result.exit_code == 0, result.output
        got = _read(out)
        for v in vectors:
            want = None if v[key] == "NA" else Fraction(v[key])
            cell = got[v["id"]]["chaq_di"]
            assert (None if cell == "" else Fraction(cell)) == (
                None if want is None else Fraction(f"{float(want):.6f}")
            ), v["id"]
            assert got[v["id"]]["chaq_n_domains"] == v["n_domains"], v["id"]


def test_chaq_output_feeds_acr_pedi_exactly(tmp_path: Path) -> None:
    """CHAQ 6/7 written as 0.857143 is read back as exactly 6/7: 6/7 → 0.6 is 30 %."""
    row = next(r for r in acr_vectors() if r["id"] == "B01")
    out = tmp_path / "out.csv"
    assert _calc("acr-pedi", _acr_file(tmp_path / "in.csv", [row]), "-o", out).exit_code == 0
    assert _read(out)["B01"]["acr_pedi_30"] == "true"


# --- bad files -------------------------------------------------------------------------------


def _good_acr_row() -> list[str]:
    return ["p1", "5", "3.5", "6", "4.2", "1.5", "1.05", "10", "7", "8", "8", "40", "40"]


@pytest.mark.parametrize(
    ("header", "rows", "expected"),
    [
        (
            [c for c in ACR_HEADER if c != "esr_followup"],
            [_good_acr_row()[:-1]],
            ["bad.csv:1: column 'esr_followup'", "a column named 'esr_followup'"],
        ),
        (
            ACR_HEADER,
            [_good_acr_row(), [*_good_acr_row()[:11], "high", "40"]],
            ["bad.csv:3: column 'esr_baseline' = 'high'", "a number from 0 to 200 mm/h"],
        ),
        (
            ACR_HEADER,
            [[*_good_acr_row()[:1], "11", *_good_acr_row()[2:]]],
            ["bad.csv:2: column 'phys_global_baseline' = '11'", "from 0 to 10"],
        ),
        (
            ACR_HEADER,
            [
                [*_good_acr_row()[:7], "2.5", *_good_acr_row()[8:]],
                [*_good_acr_row()[:6], "0.1234", *_good_acr_row()[7:]],
            ],
            [
                "bad.csv:2: column 'active_joints_baseline' = '2.5'",
                "bad.csv:3: column 'chaq_followup' = '0.1234'",
            ],
        ),
    ],
    ids=["missing-column", "text-in-number", "global-11-on-0-10", "fraction-joints-and-4-decimals"],
)
def test_bad_acr_file_exits_1_and_writes_nothing(
    tmp_path: Path, header: list[str], rows: list[list[str]], expected: list[str]
) -> None:
    out = tmp_path / "out.csv"
    result = _calc("acr-pedi", _write(tmp_path / "bad.csv", header, rows), "-o", out)
    assert result.exit_code == 1
    for text in expected:
        assert text in result.stderr
    assert not out.exists()
    assert list(tmp_path.iterdir()) == [tmp_path / "bad.csv"]


def test_every_problem_is_reported_up_to_the_cap(tmp_path: Path) -> None:
    rows = [[*_good_acr_row()[:11], "x", "y"] for _ in range(40)]
    result = _calc(
        "acr-pedi", _write(tmp_path / "bad.csv", ACR_HEADER, rows), "-o", tmp_path / "o.csv"
    )
    assert result.exit_code == 1
    assert "80 problems found" in result.stderr
    assert "bad.csv:41: column 'esr_followup' = 'y'" not in result.stderr  # beyond the cap of 50
    assert "... and 30 more problems" in result.stderr


def test_bad_jadas_and_chaq_files(tmp_path: Path) -> None:
    header = ["id", "phys_global", "parent_global", "active_joints", "esr", "category"]
    jadas_in = _write(tmp_path / "j.csv", header, [["a", "2", "1", "3", "10", "spondylo"]])
    result = _calc("jadas", jadas_in, "-o", tmp_path / "j-out.csv")
    assert result.exit_code == 1
    assert "j.csv:2: column 'category' = 'spondylo'; expected one of systemic" in result.stderr
    chaq_header = ["id"] + [i for items in CHAQ_DOMAINS.values() for i in items] + ["aid_dresing"]
    chaq_in = _write(tmp_path / "c.csv", chaq_header, [["a"] + ["4"] + ["0"] * 29 + ["yes"]])
    result = _calc("chaq", chaq_in, "-o", tmp_path / "c-out.csv")
    assert result.exit_code == 1
    assert "c.csv:2: column 'dressing_1' = '4'" in result.stderr
    assert "c.csv:1: column 'aid_dresing'" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.csv", "j.csv"]


def test_help_of_every_calc_command_ends_with_an_example() -> None:
    for command in ("acr-pedi", "jadas", "chaq"):
        result = _calc(command, "--help")
        assert result.exit_code == 0
        assert "Example: jiareg calc " + command in result.output


@pytest.mark.slow
def test_the_installed_command_in_a_subprocess(tmp_path: Path) -> None:
    rows = [r for r in acr_vectors() if r["id"] in ("A01", "A02", "A15")]
    out = tmp_path / "out.csv"
    jiareg = Path(sys.executable).parent / "jiareg"
    done = subprocess.run(
        [
            str(jiareg),
            "calc",
            "acr-pedi",
            str(_acr_file(tmp_path / "in.csv", rows)),
            "-o",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert [r["acr_pedi_level"] for r in _read(out).values()] == ["30", "0", ""]
    bad = _write(tmp_path / "bad.csv", ACR_HEADER[:-1], [_good_acr_row()[:-1]])
    done = subprocess.run(
        [str(jiareg), "calc", "acr-pedi", str(bad), "-o", str(tmp_path / "x.csv")],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 1
    assert "bad.csv:1: column 'esr_followup'" in done.stderr
    assert not (tmp_path / "x.csv").exists()
