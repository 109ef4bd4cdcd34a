"""Validation problems as table rows, for the JSON error body and the HTML error tables.

>>> from jiareg.errors import ImportRowError
>>> problem_rows(ImportRowError(file="visits.csv", row=2, column="esr", value="x",
...                             expected="a number"))
[{'file': 'visits.csv', 'row': 2, 'column': 'esr', 'value': 'x', 'expected': 'a number'}]
>>> field_problems([{"file": "visits form", "column": "esr", "expected": "a number"}])
{'esr': 'a number'}
"""

from __future__ import annotations

from jiareg.errors import ImportErrors, ImportRowError, JiaregError

__all__ = ["field_problems", "problem_rows"]


def problem_rows(exc: JiaregError) -> list[dict[str, object]]:
    """One row (file, row, column, value, expected) per cell problem carried by `exc`."""
    problems = exc.problems if isinstance(exc, ImportErrors) else [exc]
    return [
        {
            "file": str(p.file),
            "row": p.row,
            "column": p.column,
            "value": str(p.value),
            "expected": p.expected,
        }
        for p in problems
        if isinstance(p, ImportRowError)
    ]


def field_problems(rows: list[dict[str, object]]) -> dict[str, str]:
    """column -> what it expects, for the problems of a form's main record (shown beside
    each field); the problems of its joints and CHAQ items stay in the list above the form."""
    out: dict[str, str] = {}
    for row in rows:
        if not str(row.get("file", "")).startswith(("joint_exams", "chaq_items")):
            out.setdefault(str(row["column"]), str(row["expected"]))
    return out
