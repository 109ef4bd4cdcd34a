"""Write the analysis datasets (`jiareg.study.datasets`) as files a statistician opens.

For each dataset NAME (`patients`, `timepoints`): NAME.parquet and NAME.csv, and through
pyreadstat (ReadStat) NAME.xpt (SAS transport, version 8), NAME.dta (Stata) and NAME.sav
(SPSS), each carrying the variable labels (yes/no variables as 1/0 with value labels in
Stata and SPSS); then data_dictionary.csv and data_dictionary.md (variable, label, type,
unit, values). Layout: docs/reference/analysis-datasets.md.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyreadstat

from jiareg.errors import StudyError
from jiareg.study.datasets import AnalysisDatasets, Variable

__all__ = ["DICTIONARY_COLUMNS", "write_datasets"]

DICTIONARY_COLUMNS = ("dataset", "variable", "label", "type", "unit", "values")

STATA_NAME_MAX = 32
"""Longest variable name Stata (and SAS transport version 8) accept."""

YES_NO = {1.0: "yes", 0.0: "no"}


def write_datasets(datasets: AnalysisDatasets, out_dir: Path) -> list[Path]:
    """Write every file of the datasets into `out_dir`; returns their paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    frames = {"patients": datasets.patients, "timepoints": datasets.timepoints}
    for name, frame in frames.items():
        variables = datasets.variables[name]
        too_long = [v.name for v in variables if len(v.name) > STATA_NAME_MAX]
        if too_long:
            raise StudyError(
                f"variable names longer than {STATA_NAME_MAX} characters ({', '.join(too_long)}): "
                "shorten the endpoint ids of the protocol"
            )
        typed = _typed(frame, variables)
        written += [out_dir / f"{name}.parquet", out_dir / f"{name}.csv"]
        typed.to_parquet(written[-2], index=False)
        typed.to_csv(written[-1], index=False)
        written += _stat_files(typed, variables, out_dir / name)
    written += _dictionary(datasets, out_dir)
    return written


def _typed(frame: pd.DataFrame, variables: tuple[Variable, ...]) -> pd.DataFrame:
    """Columns with nullable pandas types (integers stay integers beside missing values)."""
    dtypes = {"integer": "Int64", "number": "Float64", "boolean": "boolean", "string": "string"}
    out = frame.copy()
    for variable in variables:
        if variable.kind == "date":
            out[variable.name] = pd.to_datetime(out[variable.name])
        else:
            out[variable.name] = out[variable.name].astype(dtypes[variable.kind])
    return out


def _stat_files(frame: pd.DataFrame, variables: tuple[Variable, ...], stem: Path) -> list[Path]:
    """NAME.xpt, NAME.dta, NAME.sav: missing numbers as system-missing, missing text empty."""
    plain = pd.DataFrame(index=frame.index)
    for variable in variables:
        column = frame[variable.name]
        if variable.kind == "string":
            plain[variable.name] = column.fillna("").astype(object)
        elif variable.kind == "date":
            plain[variable.name] = column
        else:
            plain[variable.name] = column.astype("Float64").astype(float)
    labels: dict[str, str | None] = {v.name: v.label for v in variables}
    value_labels = {v.name: YES_NO for v in variables if v.kind == "boolean"}
    paths = [stem.with_suffix(s) for s in (".xpt", ".dta", ".sav")]
    pyreadstat.write_xport(plain, paths[0], column_labels=labels, table_name=stem.name[:8])
    pyreadstat.write_dta(plain, paths[1], column_labels=labels, variable_value_labels=value_labels)
    pyreadstat.write_sav(plain, paths[2], column_labels=labels, variable_value_labels=value_labels)
    return paths


def _dictionary(datasets: AnalysisDatasets, out_dir: Path) -> list[Path]:
    rows = [
        {
            "dataset": name,
            "variable": v.name,
            "label": v.label,
            "type": v.kind,
            "unit": v.unit,
            "values": "yes, no (1, 0 in the SAS, Stata and SPSS files)"
            if v.kind == "boolean"
            else v.values,
        }
        for name, variables in datasets.variables.items()
        for v in variables
    ]
    table = pd.DataFrame(rows, columns=list(DICTIONARY_COLUMNS))
    csv_path, md_path = out_dir / "data_dictionary.csv", out_dir / "data_dictionary.md"
    table.to_csv(csv_path, index=False)
    lines = ["# Data dictionary of the analysis datasets", ""]
    for name in datasets.variables:
        lines += [f"## {name}", "", "| " + " | ".join(DICTIONARY_COLUMNS[1:]) + " |"]
        lines.append("|" + "---|" * (len(DICTIONARY_COLUMNS) - 1))
        for row in table[table["dataset"] == name].to_dict(orient="records"):
            cells = [str(row[c]).replace("|", "/") for c in DICTIONARY_COLUMNS[1:]]
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
    md_path.write_text("\n".join(lines), encoding="utf-8")
    return [csv_path, md_path]
