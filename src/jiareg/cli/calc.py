"""`jiareg calc`: ACR Pedi, JADAS and CHAQ for every row of a CSV file (INTERFACE.md "calc files").

The commands and their options; reading, checking (the import's own cell rules), scoring and
writing is the calc service (`jiareg.services.calc`), imported when a command runs so pyarrow,
DuckDB and Ibis stay out of `jiareg --help` and the other commands. The options' choices are
`jiareg.derive.config`'s Literals.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Final

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from jiareg.derive.config import ChaqScoring, CutoffSet, MissingMode, ZeroBaselineWorsening
from jiareg.vocab import InflammationMarker

PROGRESS_MIN_ROWS: Final = 100_000
"""Files with at least this many rows show a progress bar (on a terminal)."""


@contextmanager
def _steps(rows: int, what: str) -> Iterator[Callable[[str], None]]:
    """A rich progress bar over the stages of a run, for large files on a terminal."""
    console = Console(stderr=True)
    if rows < PROGRESS_MIN_ROWS or not console.is_terminal:
        yield lambda _stage: None
        return
    with Progress(
        TextColumn(f"{what} {rows:,} rows: {{task.description}}"),
        BarColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as progress:
        task = progress.add_task("checking", total=3)

        def advance(stage: str) -> None:
            progress.update(task, advance=1, description=stage)

        yield advance


def acr_pedi(
    path: Path = typer.Argument(..., help="Input CSV: id and <variable>_baseline/_followup."),
    out: Path = typer.Option(..., "-o", "--out", help="Output CSV (written only on success)."),
    missing_mode: MissingMode = typer.Option(
        "determinate", "--missing-mode", help="config.acr_missing_mode."
    ),
    zero_baseline: ZeroBaselineWorsening = typer.Option(
        "any_increase", "--zero-baseline", help="config.zero_baseline_worsening."
    ),
) -> None:
    """ACR Pedi 30/50/70/90/100 and the level met, for each baseline/follow-up row.

    Input columns: id, and for phys_global, parent_global, chaq, active_joints, lom_joints and
    esr a <variable>_baseline and a <variable>_followup column (empty = missing); each
    cell is checked as jiareg import checks that column of visits.csv.
    Optional: phys_global_scale_baseline (and _followup, and the same for parent_global):
    0-10 (default), 0-100 or 0-3; fever_followup (yes/no) adds the systemic-JIA variant.
    Output adds acr_pedi_30 ... acr_pedi_100 (true/false, empty = not evaluable) and
    acr_pedi_level (0, 30, 50, 70, 90, 100; empty = not evaluable); with fever_followup also
    acr_pedi_sjia_30 ... acr_pedi_sjia_100 and acr_pedi_sjia_level.

    Example: jiareg calc acr-pedi visits.csv -o acr.csv --missing-mode complete_case
    """
    from jiareg.services import calc

    calc.acr_pedi(
        path, out, missing_mode=missing_mode, zero_baseline=zero_baseline, progress=_steps
    )


def jadas(
    path: Path = typer.Argument(..., help="Input CSV: id, phys_global, parent_global, ..."),
    out: Path = typer.Option(..., "-o", "--out", help="Output CSV (written only on success)."),
    cutoff_set: CutoffSet = typer.Option(
        "consolaro", "--cutoff-set", help="config.jadas_cutoff_set for the states."
    ),
    marker: InflammationMarker = typer.Option(
        "esr", "--marker", help="Inflammation marker: esr (mm/h) or crp (mg/L)."
    ),
) -> None:
    """JADAS10, JADAS27, JADAS71 and cJADAS10 with disease-activity states, for each visit row.

    Input columns: id, phys_global, parent_global, active_joints, esr, category (ILAR code);
    optional crp (mg/L; required with --marker crp), phys_global_scale and parent_global_scale
    (0-10 default, 0-100; a 0-3 global makes the score empty), systemic_features (yes/no).
    active_joints is the count for each joint set, capped at 10/27/71. Output adds jadas10,
    jadas27, jadas71, cjadas10, jadas10_state and cjadas10_state (inactive/low/moderate/high),
    and jadas10_state_reason, cjadas10_state_reason: empty where a state is given, else why not
    (systemic_features_present, systemic_features_unknown for a systemic patient whose
    systemic_features is empty, score_missing, unknown_course).

    Example: jiareg calc jadas visits.csv -o jadas.csv --cutoff-set trincianti2021
    """
    from jiareg.services import calc

    calc.jadas(path, out, cutoff_set=cutoff_set, marker=marker, progress=_steps)


def chaq(
    path: Path = typer.Argument(..., help="Input CSV: id, the 30 item columns, aid_/help_ flags."),
    out: Path = typer.Option(..., "-o", "--out", help="Output CSV (written only on success)."),
    scoring: ChaqScoring = typer.Option("original", "--scoring", help="config.chaq_scoring."),
    min_domains: int = typer.Option(
        6, "--min-domains", min=1, max=8, help="config.chaq_min_domains."
    ),
) -> None:
    """CHAQ disability index from the item responses of each row.

    Input columns: id and the 30 item columns named by their keys (dressing_1..4,
    arising_1..2, eating_1..3, walking_1..2, hygiene_1..5, reach_1..4, grip_1..5,
    activities_1..5), each 0-3 or empty (not applicable); optional aid_<domain> and
    help_<domain> (yes/no) for aids/devices or help from another person in that domain.
    Output adds chaq_di (6 decimals, read back exactly by calc acr-pedi; empty when fewer than
    --min-domains domains were answered) and chaq_n_domains.

    Example: jiareg calc chaq chaq.csv -o chaq-di.csv --scoring without_aids_help
    """
    from jiareg.services import calc

    calc.chaq(path, out, scoring=scoring, min_domains=min_domains, progress=_steps)


def register(app: typer.Typer) -> None:
    """Add `jiareg calc acr-pedi|jadas|chaq` to the root app."""
    calc_app = typer.Typer(
        help=(
            "Clinical scores for every row of a CSV file (ACR Pedi, JADAS, CHAQ).\n\n"
            "Example: jiareg calc acr-pedi visits.csv -o acr.csv"
        ),
        no_args_is_help=True,
    )
    calc_app.command("acr-pedi")(acr_pedi)
    calc_app.command("jadas")(jadas)
    calc_app.command("chaq")(chaq)
    app.add_typer(calc_app, name="calc")
