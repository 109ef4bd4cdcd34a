"""The demo: build a fresh SQLite registry from the demo cohort with the regular import, run
the founding protocol on DuckDB and write results.json, report.html and report.pdf.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from jiareg.demo import COHORT_DIR, FOUNDING_PROTOCOL, REGISTRY_NAME
from jiareg.report.render import write_report
from jiareg.services.imports import import_path
from jiareg.study.result import StudyResult
from jiareg.study.run import Progress, run_study, write_results

__all__ = ["run_demo"]


def run_demo(out_dir: Path, *, progress: Progress | None = None) -> tuple[StudyResult, list[Path]]:
    """Build `out_dir/registry.db` afresh from the demo cohort, run the founding protocol on
    DuckDB and write results.json, report.html and report.pdf into `out_dir`.

    Returns the result and the paths written.
    """
    step = progress or (lambda _message: None)
    out_dir.mkdir(parents=True, exist_ok=True)
    registry = out_dir / REGISTRY_NAME
    registry.unlink(missing_ok=True)
    db_url = f"sqlite:///{registry}"
    step("importing the demo cohort into a fresh SQLite registry")
    import_path(COHORT_DIR, db_url)
    result = run_study(FOUNDING_PROTOCOL, db_url, "duckdb", progress=progress)
    # The report says plainly that these patients are made up (issue #4: README and report).
    result = replace(result, results=result.results.model_copy(update={"synthetic": True}))
    write_results(result, out_dir)
    step("writing report.html and report.pdf")
    html, pdf = write_report(result, out_dir)
    return result, [out_dir / "results.json", html, pdf]
