"""Synthetic biologic courses and the disease activity they drive.

Which patients get a biologic and which drugs in turn (`plan_courses`, `jiareg.synth.model`
has the shares), the visit schedule around them (`visit_days`), the courses' days and the
latent disease activity of each visit (`latent_activity`, 0 = inactive, ~1 = severe).

With `planted=True` (`jiareg synth --planted-effect`, `jiareg.synth.planted`) a patient of
`model.COMPARISON_CATEGORIES` whose anti-TNF course fails (primary or secondary failure) goes
on to one *compared* course (tocilizumab or abatacept, decided later) and no biologic after
it; no other patient gets tocilizumab or abatacept after an anti-TNF failure, so the
comparison's cohort is exactly the compared courses. The visits after a compared course's
start follow the same schedule whatever the drug (monthly to month 3, then quarterly to month 12).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
import pyarrow as pa

from jiareg.synth import model as m
from jiareg.synth.arrays import BoolArray, FloatArray, IntArray, choice, ragged
from jiareg.vocab import STOP_REASONS

__all__ = [
    "ABA",
    "DRUGS",
    "ONGOING",
    "TCZ",
    "Context",
    "CourseDays",
    "Courses",
    "baseline_activity",
    "course_rank",
    "days_of_courses",
    "latent_activity",
    "plan_courses",
    "visit_days",
]

DRUGS: Final = tuple(m.ROUTE)
"""The biologics synthetic patients get; a course's `drug` is an index into it."""
TCZ: Final = DRUGS.index("tocilizumab")
ABA: Final = DRUGS.index("abatacept")
_ANTI_TNF: Final = tuple(DRUGS.index(d) for d in m.ANTI_TNF)
ONGOING: Final = len(STOP_REASONS)


@dataclass(frozen=True, slots=True)
class Courses:
    """Biologic courses, one row per course (patient index, drug, visit numbers, outcome)."""

    patient: IntArray
    drug: IntArray
    start_visit: IntArray
    stop_visit: IntArray  # -1 while ongoing
    reason: IntArray  # index into STOP_REASONS; ONGOING while ongoing
    response: FloatArray
    compared: BoolArray  # the course after the first anti-TNF failure (planted mode only)


def plan_courses(
    rng: np.random.Generator, category: IntArray, n_visits: IntArray, *, planted: bool = False
) -> Courses:
    """Decide each patient's biologic courses (visit numbers only; dates come later).

    `planted`: the comparison's courses (module docstring); a compared course is written as
    abatacept, ongoing, until `jiareg.synth.planted` decides its drug, stop and response.
    """
    n = len(category)
    on_biologic = (rng.random(n) < m.BIOLOGIC_SHARE[category]) & (n_visits >= 3)
    first_plain = np.array([DRUGS.index(d) for d in m.FIRST_DRUG])[choice(rng, m.FIRST_DRUG, n)]
    first_sys = np.array([DRUGS.index(d) for d in m.FIRST_DRUG_SYSTEMIC])[
        choice(rng, m.FIRST_DRUG_SYSTEMIC, n)
    ]
    first = np.where(category == m.SYSTEMIC, first_sys, first_plain)
    first_visit = 1 + (rng.random(n) * np.maximum(n_visits // 3, 1)).astype(np.int64)
    u = rng.random((n, m.MAX_COURSES, 5))
    rows: list[tuple[int, int, int, int, int, float, int]] = []
    comparable = np.isin(category, [m.CATEGORIES.index(c) for c in m.COMPARISON_CATEGORIES])
    for i in np.flatnonzero(on_biologic):
        drug, start, used = int(first[i]), int(first_visit[i]), {int(first[i])}
        tnf_failed = False
        for k in range(m.MAX_COURSES):
            uk = u[i, k]
            shares = m.TOCILIZUMAB_OUTCOME if drug == TCZ else m.COURSE_OUTCOME
            reason = int(np.searchsorted(np.cumsum(shares), uk[0] * shares.sum(), side="right"))
            stop = -1
            if reason != ONGOING:
                low, high = m.COURSE_VISITS[reason]
                stop = start + low + int(uk[1] * (high - low + 1))
                if stop > n_visits[i] - 1:
                    stop, reason = -1, ONGOING
            low_r, high_r = m.RESPONSE[reason] if reason != ONGOING else m.RESPONSE_ONGOING
            rows.append(
                (int(i), drug, start, stop, reason, float(low_r + uk[2] * (high_r - low_r)), 0)
            )
            if reason > STOP_REASONS.index("adverse_event") or reason == ONGOING:
                break
            failed = drug in _ANTI_TNF and reason <= STOP_REASONS.index("secondary_failure")
            if planted and failed and comparable[i] and not used & {TCZ, ABA}:
                if stop + m.PLANTED_MIN_VISITS < n_visits[i]:  # visits on the compared drug
                    rows.append((int(i), ABA, stop, -1, ONGOING, 1.0, 1))
                break
            tnf_failed |= failed
            nxt = _next_drug(drug, reason, int(category[i]), used, uk[3], uk[4])
            if planted and tnf_failed and nxt in (TCZ, ABA):
                nxt = _next_not_compared(int(category[i]), used)
            if nxt is None:
                break
            drug, start = nxt, stop
            used.add(drug)
    table = np.array(rows, dtype=np.float64).reshape(-1, 7)
    ints = table[:, :5].astype(np.int64)
    compared = table[:, 6] > 0
    return Courses(
        ints[:, 0], ints[:, 1], ints[:, 2], ints[:, 3], ints[:, 4], table[:, 5], compared
    )


def _next_not_compared(category: int, used: set[int]) -> int | None:
    """Planted mode, after an anti-TNF failure: a biologic other than the compared two."""
    others = m.OTHER_CLASS_SYSTEMIC if category == m.SYSTEMIC else ()
    candidates = [d for d in (*_ANTI_TNF, *(DRUGS.index(o) for o in others)) if d not in used]
    return candidates[0] if candidates else None


def _next_drug(
    drug: int, reason: int, category: int, used: set[int], u_switch: float, u_pick: float
) -> int | None:
    """The biologic after a stopped course: tocilizumab, another anti-TNF or another class."""
    failed_tnf = drug in _ANTI_TNF and reason <= STOP_REASONS.index("secondary_failure")
    if failed_tnf and TCZ not in used and u_switch < m.SWITCH_TO_TOCILIZUMAB[category]:
        return TCZ
    others = m.OTHER_CLASS_SYSTEMIC if category == m.SYSTEMIC else m.OTHER_CLASS
    candidates = [d for d in _ANTI_TNF if d not in used]
    if (drug in _ANTI_TNF and u_switch > 0.85) or not candidates:
        candidates = [DRUGS.index(d) for d in (*others, "tocilizumab")]
        candidates = [d for d in candidates if d not in used]
    if not candidates:
        return None
    return candidates[int(u_pick * len(candidates))]


def visit_days(
    rng: np.random.Generator, n_visits: IntArray, courses: Courses, *, planted: bool = False
) -> tuple[IntArray, IntArray, IntArray, IntArray]:
    """Visit days since 1970 (and owner, position, offsets); first visit after onset.

    `planted`: a compared course's visits come monthly three times, then every 3 months
    (+/- 2 weeks) three times (months 6, 9 and 12), whatever the drug."""
    owner, position, offsets = ragged(n_visits)
    early = position <= 4
    gap = np.where(
        early, rng.integers(30, 121, len(owner)), rng.integers(60, 181, len(owner))
    ).astype(np.int64)
    tcz = (courses.drug == TCZ) | courses.compared  # compared: monthly whatever the drug
    for step in (1, 2, 3):
        idx = offsets[courses.patient[tcz]] + courses.start_visit[tcz] + step
        ok = courses.start_visit[tcz] + step < n_visits[courses.patient[tcz]]
        gap[idx[ok]] = m.TOCILIZUMAB_VISIT_GAP_DAYS
    if planted:  # then every 3 months to month 12, on either compared drug
        cmp = courses.compared
        quarterly = m.PLANTED_QUARTER_DAYS + rng.integers(-14, 15, (3, int(cmp.sum())))
        for step in (4, 5, 6):
            idx = offsets[courses.patient[cmp]] + courses.start_visit[cmp] + step
            ok = courses.start_visit[cmp] + step < n_visits[courses.patient[cmp]]
            gap[idx[ok]] = quarterly[step - 4][ok]
    jitter = tcz & (rng.random(len(tcz)) < 0.1)
    j_idx = offsets[courses.patient[jitter]] + courses.start_visit[jitter] + 1
    j_ok = courses.start_visit[jitter] + 1 < n_visits[courses.patient[jitter]]
    gap[j_idx[j_ok]] += rng.integers(1, 6, int(j_ok.sum()))
    gap[offsets] = rng.integers(30, 181, len(offsets))  # diagnosis delay after onset
    since_onset = np.cumsum(gap) - np.repeat(np.cumsum(gap)[offsets] - gap[offsets], n_visits)
    span = since_onset[offsets + n_visits - 1]
    earliest = (m.EARLIEST_ONSET - m.EPOCH).days
    latest = (m.DATA_CUT - m.EPOCH).days - span
    onset = earliest + (rng.random(len(n_visits)) * np.maximum(latest - earliest, 1)).astype(
        np.int64
    )
    return onset, onset[owner] + since_onset, owner, offsets


@dataclass(frozen=True, slots=True)
class Context:
    """One chunk's patients and visits, as the table generators read them."""

    rng: np.random.Generator
    category: IntArray
    site: IntArray
    birth: IntArray
    z_height: FloatArray
    z_weight: FloatArray
    ids: pa.Array
    owner: IntArray  # patient of each visit
    offsets: IntArray  # first visit row of each patient
    vday: IntArray  # day of each visit
    base: FloatArray | None = None  # latent baseline activity, drawn beforehand (planted mode)

    def weight_tenths(self, patient: IntArray, day: IntArray) -> IntArray:
        return m.weight_tenths_kg(day - self.birth[patient], self.z_weight[patient])


@dataclass(frozen=True, slots=True)
class CourseDays:
    """The days of each course (rows as in `Courses`)."""

    start: IntArray
    end: IntArray  # stop day, or the patient's last visit while ongoing
    stopped: BoolArray


def days_of_courses(ctx: Context, c: Courses, n_visits: IntArray) -> CourseDays:
    """Each course's first and last day (its stop visit, or the last visit while ongoing)."""
    start = ctx.vday[ctx.offsets[c.patient] + c.start_visit]
    last = ctx.vday[ctx.offsets[c.patient] + n_visits[c.patient] - 1]
    stopped = c.stop_visit >= 0
    end = np.where(stopped, ctx.vday[ctx.offsets[c.patient] + np.maximum(c.stop_visit, 0)], last)
    return CourseDays(start, end, stopped)


def latent_activity(ctx: Context, c: Courses, days: CourseDays) -> FloatArray:
    """Latent disease activity (0 = inactive, ~1 = severe) of each visit."""
    rng, owner = ctx.rng, ctx.owner
    n_patients = len(ctx.category)
    base = ctx.base if ctx.base is not None else baseline_activity(rng, ctx.category)
    first_day = ctx.vday[ctx.offsets]
    on_biologic = np.zeros(n_patients, dtype=bool)
    on_biologic[c.patient] = True
    since_first = ctx.vday - first_day[owner]
    level = np.where(on_biologic[owner], 1.0, 0.25 + 0.75 * np.exp(-since_first / 300))
    position = np.arange(len(owner)) - ctx.offsets[owner]
    # Courses are in time order per patient: course rank r+1 overrides rank r from its start.
    rank = course_rank(c)
    for r in range(m.MAX_COURSES):
        sel = rank == r
        if not sel.any():
            continue
        patient = c.patient[sel]
        row_of = np.full(n_patients, -1)
        row_of[patient] = np.flatnonzero(sel)
        course_row = row_of[owner]
        has = course_row >= 0
        cr = np.where(has, course_row, 0)
        active = has & (position >= c.start_visit[cr])
        d = ctx.vday - days.start[cr]
        resp = c.response[cr]
        tau = np.where(c.drug[cr] == TCZ, 35.0, 60.0)
        tau = np.where(c.compared[cr], m.PLANTED_TAU_DAYS, tau)
        on_drug = resp + (1 - resp) * np.exp(-np.maximum(d, 0) / tau)
        duration = np.maximum(days.end[cr] - days.start[cr], 1)
        relapse = (c.reason[cr] == STOP_REASONS.index("secondary_failure")) & (d > 0.6 * duration)
        back = np.clip((d - 0.6 * duration) / (0.4 * duration), 0, 1)
        on_drug = np.where(relapse, resp + (1.1 - resp) * back, on_drug)
        after_stop = days.stopped[cr] & (ctx.vday > days.end[cr])
        remission = c.reason[cr] == STOP_REASONS.index("remission")
        on_drug = np.where(after_stop, np.where(remission, resp, 0.9), on_drug)
        level = np.where(active, on_drug, level)
    noise = rng.lognormal(0.0, 0.15, len(owner))
    activity: FloatArray = np.clip(base[owner] * level * noise, 0.0, 1.2)
    return activity


def baseline_activity(rng: np.random.Generator, category: IntArray) -> FloatArray:
    """Each patient's latent disease activity off treatment (scaled by category)."""
    base: FloatArray = rng.beta(2.5, 2.0, len(category)) * m.ACTIVITY_SCALE[category]
    return base


def course_rank(c: Courses) -> IntArray:
    """0 for a patient's first course, 1 for the second, ... (rows are grouped by patient)."""
    return np.arange(len(c.patient)) - np.searchsorted(c.patient, c.patient, side="left")
