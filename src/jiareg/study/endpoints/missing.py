"""Missing data of a response at a timepoint: `missing: observed | nri | locf`.

One rule for every response endpoint at timepoints (`acr_pedi` at a timepoint,
`inactive_disease`), on a per-patient value True (responder / inactive), False (non-responder /
not inactive) or None (a visit whose value could not be determined):

- `observed` (default): patients with a determined value at the timepoint's visit are counted;
  the others are not evaluable (the denominators say why).
- `nri` — non-responder imputation: every cohort patient is counted. A patient who stopped the
  index drug before the timepoint, who had no visit there, or whose visit could not be scored
  is a non-responder.
- `locf` — last observation carried forward: a patient who stopped the index drug before the
  timepoint is a non-responder (stopping is an outcome, never carried forward); a patient
  without a determined value at the timepoint takes the value observed at the latest earlier
  timepoint of the protocol (timepoints are listed in time order) that has one; with nothing
  observed earlier the baseline state is carried: for ACR Pedi, no improvement, i.e.
  non-response; for inactive disease, the baseline visit's state (not evaluable if unknown).

"Stopped before the timepoint": the index course's stop day (`index_course`) is before the
day of the timepoint's visit, or, without a visit, before the timepoint's first day (its
window's `from_day`; for an anchor `before_administration: n`, the day after administration
n−1; a patient never given administration n who stopped is taken as stopped before it).
A stop on the visit's day keeps that visit's observed value.

These follow the response analyses of the JIA biologic registers, which count a patient who
stopped the drug as a non-responder from then on (non-responder imputation) and carry the last
observation forward only for a missed visit on the drug: docs/reference/protocol.md, "Missing
data at timepoints".
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Final, Literal

from jiareg.study.endpoints.index_course import index_courses

if TYPE_CHECKING:
    import pandas as pd

    from jiareg.study.protocol import Protocol

__all__ = [
    "BASELINE_CARRIED",
    "CARRIED",
    "IMPUTATION_REASONS",
    "NOT_DETERMINED",
    "NO_VISIT",
    "STOPPED",
    "Missing",
    "impute",
    "stop_days",
    "timepoint_start",
]

Missing = Literal["observed", "nri", "locf"]

STOPPED: Final = "stopped_before_timepoint"
NO_VISIT: Final = "no_visit_at_timepoint"
NOT_DETERMINED: Final = "not_evaluable_at_visit"
CARRIED: Final = "carried_forward"
BASELINE_CARRIED: Final = "baseline_carried_forward"
IMPUTATION_REASONS: Final = (STOPPED, NO_VISIT, NOT_DETERMINED, CARRIED, BASELINE_CARRIED)
"""Why a value was imputed (the keys of `imputed` in results.json)."""


def stop_days(frames: Mapping[str, pd.DataFrame]) -> dict[str, int | None]:
    """Patient id → the day the index drug stopped (None while on it)."""
    return {pid: c.stop_day for pid, c in index_courses(frames, "").items()}


def timepoint_start(
    protocol: Protocol, name: str, frames: Mapping[str, pd.DataFrame]
) -> Callable[[str], int | None]:
    """Patient id → the first day of timepoint `name` (None: the patient never reached it)."""
    timepoint = protocol.timepoint(name)
    if timepoint.window is not None:
        first = timepoint.window.from_day
        return lambda _pid: first
    number = timepoint.before_administration
    given = frames["administrations"]
    day_of = {
        (pid, int(n)): int(d)
        for pid, n, d in zip(
            given["patient_id"], given["administration_number"], given["day"], strict=True
        )
    }
    return lambda pid: (
        day_of[(pid, number - 1)] + 1  # type: ignore[operator]  # an anchor has a number
        if (pid, number) in day_of
        else None
    )


def impute(
    mode: Missing,
    patients: Sequence[str],
    observed: Mapping[str, bool | None],
    visit_day: Mapping[str, int],
    earlier: Sequence[Mapping[str, bool | None]],
    baseline: Mapping[str, bool | None] | None,
    stopped_on: Mapping[str, int | None],
    start: Callable[[str], int | None],
) -> tuple[dict[str, bool | None], dict[str, str]]:
    """Every patient's value at one timepoint under `mode`, and why each imputed one was.

    `observed`/`visit_day`: the value and day of each patient's visit at the timepoint (a
    patient without one is absent); `earlier`: the values observed at the earlier timepoints,
    latest first; `baseline`: the state carried when nothing was observed earlier (None =
    non-response for everyone, as for ACR Pedi). Patients absent from the result's value map
    are not evaluable without a visit; None values are not evaluable with one.
    """
    values: dict[str, bool | None] = {}
    reasons: dict[str, str] = {}
    for pid in patients:
        seen = observed.get(pid)
        if mode == "observed":
            if pid in observed:
                values[pid] = seen
            continue
        stop = stopped_on.get(pid)
        if stop is not None:
            first = visit_day.get(pid, start(pid))
            if first is None or stop < first:
                values[pid], reasons[pid] = False, STOPPED
                continue
        if seen is not None:
            values[pid] = seen
        elif mode == "nri":
            values[pid] = False
            reasons[pid] = NOT_DETERMINED if pid in observed else NO_VISIT
        else:
            carried = next((e[pid] for e in earlier if e.get(pid) is not None), None)
            if carried is not None:
                values[pid], reasons[pid] = carried, CARRIED
            elif baseline is None:
                values[pid], reasons[pid] = False, BASELINE_CARRIED
            elif baseline.get(pid) is not None:
                values[pid], reasons[pid] = baseline[pid], BASELINE_CARRIED
            elif pid in observed:
                values[pid] = None
    return values, reasons
