"""Synthetic JIA registries in the template format, generated in seeded chunks of patients.

`generate_chunk(first, n, visits, seed)` returns the template tables (Arrow, Contract 2 types)
of patients `first .. first+n-1`, seeded by (seed, first). Registries are streamed in chunks of
the fixed `CHUNK_PATIENTS`, so (patients, visits, seed) determines a registry and 1M patients
never have to be in memory at once. The model (assumptions in `jiareg.synth.model`):

- patients: ILAR category mix, sex by category, onset age by category, one of 12 sites (each
  rating the globals on one scale: 0-10, 0-100 or 0-3);
- visits every 1-4 months in the first year and 2-6 months later (every 4 weeks for the three
  visits after a first tocilizumab infusion); weight and height follow the child's growth;
- disease activity falls on a responding drug, stays high on a primary failure, comes back on
  a secondary failure; the core set, CRP and systemic features follow it, with missing values;
- up to three biologic courses: anti-TNF courses that fail (primary, secondary, intolerance)
  switch to tocilizumab or another biologic; methotrexate for most non-oligo patients;
- IV administrations at the label dose by weight (`jiareg.derive.dosing.label_dose` for
  tocilizumab), a few rounded to the vial; steroid tapers; adverse events at plausible rates;
- a sprinkling of exact boundary pairs at the tocilizumab baseline (globals 6 -> 4.2 or
  60 -> 42, ESR 10 -> 13) and zero baselines (CHAQ 0, ESR 0), so studies meet them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from functools import cache
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from jiareg.derive.dosing import label_dose
from jiareg.synth import model as m
from jiareg.vocab import STOP_REASONS

__all__ = ["CHUNK_PATIENTS", "DRUGS", "generate_chunk", "patient_id_width"]

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

CHUNK_PATIENTS: Final = 5000
"""Patients per chunk: the unit of seeding and of streaming."""

DRUGS: Final = (
    "etanercept",
    "adalimumab",
    "infliximab",
    "abatacept",
    "anakinra",
    "canakinumab",
    "tocilizumab",
)
_TCZ: Final = DRUGS.index("tocilizumab")
_ANTI_TNF: Final = tuple(DRUGS.index(d) for d in m.ANTI_TNF)
_ONGOING: Final = len(STOP_REASONS)
_IV_MG_PER_KG: Final = {DRUGS.index("infliximab"): 6, DRUGS.index("abatacept"): 10}
_IV_INTERVAL_DAYS: Final = {DRUGS.index("infliximab"): 56, DRUGS.index("abatacept"): 28}
_MAX_WEIGHT_TENTHS: Final = 2000


def patient_id_width(patients: int) -> int:
    """Digits of the zero-padded patient number (at least 6).

    >>> patient_id_width(9), patient_id_width(10_000_000)
    (6, 8)
    """
    return max(6, len(str(patients)))


@cache
def _tocilizumab_label(indication_category: str) -> tuple[IntArray, int, int]:
    """Label IV tocilizumab dose (tenths of mg) by weight in tenths of kg, and the intervals.

    Built once per category from `label_dose`, so synthetic doses are the label's, exactly.
    """
    tenths = np.zeros(_MAX_WEIGHT_TENTHS + 1, dtype=np.int64)
    for w in range(1, _MAX_WEIGHT_TENTHS + 1):
        check = label_dose("tocilizumab", weight_kg=Fraction(w, 10), category=indication_category)
        assert check.expected_mg is not None
        tenths[w] = int(check.expected_mg * 10)
    low = label_dose("tocilizumab", weight_kg=20, category=indication_category).interval_days
    high = label_dose("tocilizumab", weight_kg=40, category=indication_category).interval_days
    assert low is not None and high is not None
    return tenths, low, high


def _choice(rng: np.random.Generator, shares: Mapping[Any, float], size: int) -> IntArray:
    p = np.array(list(shares.values()))
    return rng.choice(len(p), size=size, p=p / p.sum()).astype(np.int64)


def _ragged(counts: IntArray) -> tuple[IntArray, IntArray, IntArray]:
    """For counts per owner: the owner of each item, its position, and each owner's offset."""
    offsets = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
    owner = np.repeat(np.arange(len(counts), dtype=np.int64), counts)
    position = np.arange(int(counts.sum()), dtype=np.int64) - offsets[owner]
    return owner, position, offsets


def _tenths(values: IntArray) -> FloatArray:
    """Exact tenths as float64: int / 10 is the double nearest the decimal, as float('4.2')."""
    return values / 10


def _date(days: IntArray, valid: BoolArray | None = None) -> pa.Array:
    mask = None if valid is None else ~valid
    return pa.array(days.astype(np.int32), type=pa.date32(), mask=mask)


def _num(
    values: FloatArray | IntArray | BoolArray, valid: BoolArray, kind: pa.DataType
) -> pa.Array:
    return pa.array(values, type=kind, mask=~valid)


@dataclass(frozen=True, slots=True)
class _Courses:
    """Biologic courses, one row per course (patient index, drug, visit numbers, outcome)."""

    patient: IntArray
    drug: IntArray
    start_visit: IntArray
    stop_visit: IntArray  # -1 while ongoing
    reason: IntArray  # index into STOP_REASONS; _ONGOING while ongoing
    response: FloatArray


def _plan_courses(rng: np.random.Generator, category: IntArray, n_visits: IntArray) -> _Courses:
    """Decide each patient's biologic courses (visit numbers only; dates come later)."""
    n = len(category)
    on_biologic = (rng.random(n) < m.BIOLOGIC_SHARE[category]) & (n_visits >= 3)
    first_plain = np.array([DRUGS.index(d) for d in m.FIRST_DRUG])[_choice(rng, m.FIRST_DRUG, n)]
    first_sys = np.array([DRUGS.index(d) for d in m.FIRST_DRUG_SYSTEMIC])[
        _choice(rng, m.FIRST_DRUG_SYSTEMIC, n)
    ]
    first = np.where(category == m.SYSTEMIC, first_sys, first_plain)
    first_visit = 1 + (rng.random(n) * np.maximum(n_visits // 3, 1)).astype(np.int64)
    u = rng.random((n, m.MAX_COURSES, 5))
    rows: list[tuple[int, int, int, int, int, float]] = []
    for i in np.flatnonzero(on_biologic):
        drug, start, used = int(first[i]), int(first_visit[i]), {int(first[i])}
        for k in range(m.MAX_COURSES):
            uk = u[i, k]
            shares = m.TOCILIZUMAB_OUTCOME if drug == _TCZ else m.COURSE_OUTCOME
            reason = int(np.searchsorted(np.cumsum(shares), uk[0] * shares.sum(), side="right"))
            stop = -1
            if reason != _ONGOING:
                low, high = m.COURSE_VISITS[reason]
                stop = start + low + int(uk[1] * (high - low + 1))
                if stop > n_visits[i] - 1:
                    stop, reason = -1, _ONGOING
            low_r, high_r = m.RESPONSE[reason] if reason != _ONGOING else m.RESPONSE_ONGOING
            rows.append(
                (int(i), drug, start, stop, reason, float(low_r + uk[2] * (high_r - low_r)))
            )
            if reason > STOP_REASONS.index("adverse_event") or reason == _ONGOING:
                break
            nxt = _next_drug(drug, reason, int(category[i]), used, uk[3], uk[4])
            if nxt is None:
                break
            drug, start = nxt, stop
            used.add(drug)
    table = np.array(rows, dtype=np.float64).reshape(-1, 6)
    ints = table[:, :5].astype(np.int64)
    return _Courses(ints[:, 0], ints[:, 1], ints[:, 2], ints[:, 3], ints[:, 4], table[:, 5])


def _next_drug(
    drug: int, reason: int, category: int, used: set[int], u_switch: float, u_pick: float
) -> int | None:
    """The biologic after a stopped course: tocilizumab, another anti-TNF or another class."""
    failed_tnf = drug in _ANTI_TNF and reason <= STOP_REASONS.index("secondary_failure")
    if failed_tnf and _TCZ not in used and u_switch < m.SWITCH_TO_TOCILIZUMAB[category]:
        return _TCZ
    others = m.OTHER_CLASS_SYSTEMIC if category == m.SYSTEMIC else m.OTHER_CLASS
    candidates = [d for d in _ANTI_TNF if d not in used]
    if (drug in _ANTI_TNF and u_switch > 0.85) or not candidates:
        candidates = [DRUGS.index(d) for d in (*others, "tocilizumab")]
        candidates = [d for d in candidates if d not in used]
    if not candidates:
        return None
    return candidates[int(u_pick * len(candidates))]


def _visit_days(
    rng: np.random.Generator, n_visits: IntArray, courses: _Courses
) -> tuple[IntArray, IntArray, IntArray, IntArray]:
    """Visit days since 1970 (and owner, position, offsets); first visit after onset."""
    owner, position, offsets = _ragged(n_visits)
    early = position <= 4
    gap = np.where(
        early, rng.integers(30, 121, len(owner)), rng.integers(60, 181, len(owner))
    ).astype(np.int64)
    tcz = courses.drug == _TCZ
    for step in (1, 2, 3):
        idx = offsets[courses.patient[tcz]] + courses.start_visit[tcz] + step
        ok = courses.start_visit[tcz] + step < n_visits[courses.patient[tcz]]
        gap[idx[ok]] = m.TOCILIZUMAB_VISIT_GAP_DAYS
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


def generate_chunk(
    first: int, n: int, visits: int, seed: int, id_width: int
) -> dict[str, pa.Table]:
    """The template tables of patients `first .. first+n-1` (0-based), seeded by (seed, first).

    >>> tables = generate_chunk(0, 50, 6, seed=1, id_width=6)
    >>> tables["patients"].num_rows, tables["patients"]["patient_id"][0].as_py()
    (50, 'P000001')
    """
    rng = np.random.default_rng([seed, first])
    category = _choice(rng, m.CATEGORY_MIX, n)
    female = rng.random(n) < m.FEMALE_SHARE[category]
    site = rng.choice(len(m.SITES), size=n, p=m.SITE_WEIGHTS / m.SITE_WEIGHTS.sum())
    onset_age = np.clip(
        rng.normal(m.ONSET_AGE_MEAN_Y[category], m.ONSET_AGE_SD_Y[category]), 0.7, 15.9
    )
    n_visits = np.maximum(visits + rng.integers(-(visits // 2), visits // 2 + 1, n), 1)
    courses = _plan_courses(rng, category, n_visits)
    onset, vday, owner, offsets = _visit_days(rng, n_visits, courses)
    birth = onset - (onset_age * 365.25).astype(np.int64)
    z_height, z_weight = rng.normal(0, 1, n).clip(-2.5, 2.5), rng.normal(0, 1, n).clip(-2, 3)
    ids = pa.array([f"P{first + i + 1:0{id_width}d}" for i in range(n)], pa.string())
    ctx = _Context(rng, category, site, birth, z_height, z_weight, ids, owner, offsets, vday)
    course_days = _course_days(ctx, courses, n_visits)
    return {
        "patients": pa.table(
            {
                "patient_id": ids,
                "site": pa.array(np.array(m.SITES)[site], pa.string()),
                "sex": pa.array(np.where(female, "F", "M"), pa.string()),
                "birth_date": _date(birth),
                "ilar_category": pa.array(np.array(m.CATEGORIES)[category], pa.string()),
                "onset_date": _date(onset, rng.random(n) >= 0.03),
            }
        ),
        "visits": _visits(ctx, courses, course_days, n_visits),
        "treatments": _treatments(ctx, courses, course_days, n_visits),
        "administrations": _administrations(ctx, courses, course_days),
        "steroids": _steroids(ctx, courses, course_days, n_visits),
        "adverse_events": _adverse_events(ctx, courses, course_days),
    }


@dataclass(frozen=True, slots=True)
class _Context:
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

    def weight_tenths(self, patient: IntArray, day: IntArray) -> IntArray:
        return m.weight_tenths_kg(day - self.birth[patient], self.z_weight[patient])


@dataclass(frozen=True, slots=True)
class _CourseDays:
    start: IntArray
    end: IntArray  # stop day, or the patient's last visit while ongoing
    stopped: BoolArray


def _course_days(ctx: _Context, c: _Courses, n_visits: IntArray) -> _CourseDays:
    start = ctx.vday[ctx.offsets[c.patient] + c.start_visit]
    last = ctx.vday[ctx.offsets[c.patient] + n_visits[c.patient] - 1]
    stopped = c.stop_visit >= 0
    end = np.where(stopped, ctx.vday[ctx.offsets[c.patient] + np.maximum(c.stop_visit, 0)], last)
    return _CourseDays(start, end, stopped)


def _activity(ctx: _Context, c: _Courses, days: _CourseDays) -> FloatArray:
    """Latent disease activity (0 = inactive, ~1 = severe) of each visit."""
    rng, owner = ctx.rng, ctx.owner
    n_patients = len(ctx.category)
    base = rng.beta(2.5, 2.0, n_patients) * m.ACTIVITY_SCALE[ctx.category]
    first_day = ctx.vday[ctx.offsets]
    on_biologic = np.zeros(n_patients, dtype=bool)
    on_biologic[c.patient] = True
    since_first = ctx.vday - first_day[owner]
    level = np.where(on_biologic[owner], 1.0, 0.25 + 0.75 * np.exp(-since_first / 300))
    position = np.arange(len(owner)) - ctx.offsets[owner]
    # Courses are in time order per patient: course rank r+1 overrides rank r from its start.
    rank = _course_rank(c)
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
        tau = np.where(c.drug[cr] == _TCZ, 35.0, 60.0)
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


def _course_rank(c: _Courses) -> IntArray:
    """0 for a patient's first course, 1 for the second, ... (rows are grouped by patient)."""
    return np.arange(len(c.patient)) - np.searchsorted(c.patient, c.patient, side="left")


def _global_on_scale(g10: FloatArray, scale: IntArray) -> FloatArray:
    """A 0-10 global as recorded on the site's scale: 0.5 steps, whole mm, or 0-3 Likert."""
    on_10 = np.rint(g10 * 2) / 2
    on_100 = np.rint(g10 * 10)
    on_3 = np.rint(g10 * 0.3)
    names = np.array(m.SITE_SCALES)[scale]
    return np.where(names == "0-10", on_10, np.where(names == "0-100", on_100, on_3))


def _visits(ctx: _Context, c: _Courses, days: _CourseDays, n_visits: IntArray) -> pa.Table:
    rng, owner = ctx.rng, ctx.owner
    nv = len(owner)
    activity = _activity(ctx, c, days)
    category = ctx.category[owner]
    systemic = category == m.SYSTEMIC
    site = ctx.site[owner]
    scale = np.array(m.SITE_SCALES)[site]
    age = ctx.vday - ctx.birth[owner]
    active = np.rint(activity * m.MAX_ACTIVE_JOINTS[category] * rng.uniform(0.6, 1.4, nv))
    lom = np.rint(active * rng.uniform(0.2, 1.0, nv) + (rng.random(nv) < 0.1))
    phys = _global_on_scale(np.clip(10 * activity + rng.normal(0, 1, nv), 0, 10), site)
    parent = _global_on_scale(np.clip(10 * activity + rng.normal(0, 1.8, nv), 0, 10), site)
    chaq = np.rint(np.clip(2.2 * activity + rng.normal(0, 0.3, nv), 0, 3) * 8) / 8
    esr = np.rint(np.clip(4 + (60 + 25 * systemic) * activity + rng.normal(0, 8, nv), 1, 140))
    crp = np.rint(np.clip(1 + 60 * (1 + systemic) * activity + rng.normal(0, 5, nv), 0.1, 250) * 10)
    stiffness = np.rint(np.clip(100 * activity + rng.normal(0, 15, nv), 0, 240) / 5) * 5
    valid = {k: rng.random(nv) >= share for k, share in m.MISSING.items()}
    # Exact boundaries and zero baselines at the tocilizumab baseline visit and the next one.
    tcz = c.drug == _TCZ
    base = ctx.offsets[c.patient[tcz]] + c.start_visit[tcz]
    has_next = c.start_visit[tcz] + 1 < n_visits[c.patient[tcz]]
    u = rng.random(len(base))
    pair = has_next & (u < 0.08)
    for col, b_val, f_val in (("0-10", 6.0, 4.2), ("0-100", 60.0, 42.0)):
        sel = pair & (scale[base] == col)
        phys[base[sel]], phys[base[sel] + 1] = b_val, f_val
        valid["phys_global"][base[sel]] = valid["phys_global"][base[sel] + 1] = True
    esr_pair = has_next & (u >= 0.08) & (u < 0.16)
    esr[base[esr_pair]], esr[base[esr_pair] + 1] = 10, 13
    zero_chaq = has_next & (u >= 0.16) & (u < 0.21)
    chaq[base[zero_chaq]], chaq[base[zero_chaq] + 1] = 0, 0.25
    zero_esr = (u >= 0.21) & (u < 0.24)
    esr[base[zero_esr]] = 0
    for col, sel, pair_too in (
        ("esr", esr_pair, True),
        ("chaq", zero_chaq, True),
        ("esr", zero_esr, False),
    ):
        valid[col][base[sel]] = True
        if pair_too:
            valid[col][base[sel] + 1] = True
    flags = valid["systemic_flags"]
    features = {
        "fever": 0.75,
        "rash": 0.5,
        "serositis": 0.08,
        "hepatosplenomegaly": 0.15,
        "lymphadenopathy": 0.25,
    }
    columns: dict[str, pa.Array] = {
        "patient_id": ctx.ids.take(pa.array(owner)),
        "visit_date": _date(ctx.vday),
        "weight_kg": _num(
            _tenths(ctx.weight_tenths(owner, ctx.vday)), valid["weight_kg"], pa.float64()
        ),
        "height_cm": _num(
            _tenths(m.height_tenths_cm(age, ctx.z_height[owner])), valid["height_cm"], pa.float64()
        ),
        "phys_global": _num(phys, valid["phys_global"], pa.float64()),
        "phys_global_scale": pa.array(scale, pa.string()),
        "parent_global": _num(parent, valid["parent_global"], pa.float64()),
        "parent_global_scale": pa.array(scale, pa.string()),
        "chaq": _num(chaq, valid["chaq"], pa.float64()),
        "active_joints": _num(active.astype(np.int64), valid["active_joints"], pa.int64()),
        "lom_joints": _num(lom.astype(np.int64), valid["lom_joints"], pa.int64()),
        "esr": _num(esr, valid["esr"], pa.float64()),
        "crp": _num(_tenths(crp.astype(np.int64)), valid["crp"], pa.float64()),
    }
    for name, p in features.items():
        columns[name] = _num(systemic & (rng.random(nv) < p * activity), flags, pa.bool_())
    oligo = np.isin(category, m.OLIGO)
    uveitis = rng.random(nv) < np.where(oligo, 0.04, 0.01)
    columns["uveitis_active"] = _num(uveitis, valid["uveitis_active"], pa.bool_())
    columns["morning_stiffness_min"] = _num(stiffness, valid["morning_stiffness_min"], pa.float64())
    return pa.table(columns)


def _treatments(ctx: _Context, c: _Courses, days: _CourseDays, n_visits: IntArray) -> pa.Table:
    rng = ctx.rng
    drug = np.array(DRUGS)[c.drug]
    reasons = np.array(STOP_REASONS)[np.minimum(c.reason, _ONGOING - 1)]
    # Methotrexate from the first visit for most patients beyond persistent oligoarthritis.
    n = len(ctx.category)
    mtx = rng.random(n) < np.where(ctx.category == m.OLIGO[0], 0.15, 0.6)
    patient = np.flatnonzero(mtx)
    start = ctx.vday[ctx.offsets[patient]]
    stop_visit = 1 + (rng.random(len(patient)) * np.maximum(n_visits[patient] - 1, 1)).astype(
        np.int64
    )
    stopped = (rng.random(len(patient)) < 0.5) & (n_visits[patient] > 1)
    stop = ctx.vday[ctx.offsets[patient] + np.where(stopped, stop_visit, 0)]
    mtx_reason = np.array(("intolerance", "remission", "other", "primary_failure"))[
        rng.choice(4, len(patient), p=[0.3, 0.3, 0.2, 0.2])
    ]
    route = np.where(rng.random(len(patient)) < 0.6, "oral", "sc")
    return pa.table(
        {
            "patient_id": ctx.ids.take(pa.array(np.concatenate([c.patient, patient]))),
            "drug": pa.array(np.concatenate([drug, np.full(len(patient), "methotrexate")])),
            "route": pa.array(np.concatenate([np.array([m.ROUTE[d] for d in drug], str), route])),
            "start_date": _date(np.concatenate([days.start, start])),
            "stop_date": _date(
                np.concatenate([days.end, stop]), np.concatenate([days.stopped, stopped])
            ),
            "stop_reason": pa.array(
                np.concatenate([reasons, mtx_reason]),
                mask=~np.concatenate([days.stopped, stopped]),
            ),
        }
    )


def _administrations(ctx: _Context, c: _Courses, days: _CourseDays) -> pa.Table:
    """IV infusions from the start of each IV course to its stop (or the last visit)."""
    iv = np.flatnonzero(np.isin(c.drug, [_TCZ, *_IV_MG_PER_KG]))
    patient = c.patient[iv]
    weight_start = ctx.weight_tenths(patient, days.start[iv])
    systemic = ctx.category[patient] == m.SYSTEMIC
    sys_label, pjia_label = _tocilizumab_label("systemic"), _tocilizumab_label("poly_rf_neg")
    interval = np.zeros(len(iv), dtype=np.int64)
    for iv_drug, days_between in _IV_INTERVAL_DAYS.items():
        interval[c.drug[iv] == iv_drug] = days_between
    for label, sel in ((sys_label, systemic), (pjia_label, ~systemic)):
        tcz = sel & (c.drug[iv] == _TCZ)
        interval[tcz] = np.where(weight_start[tcz] < 300, label[1], label[2])
    span = days.end[iv] - days.start[iv] - days.stopped[iv]  # no infusion on the stop day
    count = span // interval + 1
    owner, number, _ = _ragged(count)
    day = days.start[iv][owner] + number * interval[owner]
    weight = np.minimum(ctx.weight_tenths(patient[owner], day), _MAX_WEIGHT_TENTHS)
    drug = c.drug[iv][owner]
    dose = np.zeros(len(owner), dtype=np.int64)
    for d, mg_per_kg in _IV_MG_PER_KG.items():
        dose[drug == d] = weight[drug == d] * mg_per_kg
    tcz_sys = (drug == _TCZ) & systemic[owner]
    tcz_pjia = (drug == _TCZ) & ~systemic[owner]
    dose[tcz_sys] = sys_label[0][weight[tcz_sys]]
    dose[tcz_pjia] = pjia_label[0][weight[tcz_pjia]]
    vial = ctx.rng.random(len(owner)) < 0.03  # rounded to the nearest 20 mg
    dose = np.where(vial, np.rint(dose / 200) * 200, dose).astype(np.int64)
    return pa.table(
        {
            "patient_id": ctx.ids.take(pa.array(patient[owner])),
            "drug": pa.array(np.array(DRUGS)[drug], pa.string()),
            "date": _date(day),
            "dose_mg": pa.array(_tenths(dose), pa.float64()),
            "weight_kg": pa.array(_tenths(weight), pa.float64()),
        }
    )


def _steroids(ctx: _Context, c: _Courses, days: _CourseDays, n_visits: IntArray) -> pa.Table:
    """Prednisone-type maintenance courses: a dose, then (mostly) a taper every 4 weeks."""
    rng, n = ctx.rng, len(ctx.category)
    first = c.patient[_course_rank(c) == 0]
    first_row = np.flatnonzero(_course_rank(c) == 0)
    share = np.full(n, 0.04)
    share[first] = m.STEROID_SHARE_ON_BIOLOGIC[ctx.category[first]]
    users = np.flatnonzero((rng.random(n) < share) & (n_visits >= 2))
    start_visit = (rng.random(n) * n_visits).astype(np.int64)
    anchor = np.zeros(n, dtype=np.int64)
    start_visit[first] = np.maximum(c.start_visit[first_row] - rng.integers(0, 3, len(first)), 0)
    start_day = ctx.vday[ctx.offsets + start_visit]
    anchor = start_day + rng.integers(30, 121, n)
    anchor[first] = days.start[first_row] + rng.integers(30, 91, len(first))
    tcz = c.drug == _TCZ
    anchor[c.patient[tcz]] = days.start[tcz] + rng.integers(0, 15, int(tcz.sum()))
    weight_kg = ctx.weight_tenths(users, start_day[users]) / 10
    mg = np.minimum(weight_kg * rng.uniform(0.2, 1.0, len(users)), 60)
    halves = np.maximum(np.rint(mg / 2.5) * 5, 5).astype(np.int64)  # dose in 0.5 mg units
    taper = rng.random(len(users)) < m.STEROID_TAPER_SHARE
    cut = (m.DATA_CUT - m.EPOCH).days
    rows: list[tuple[IntArray, IntArray, IntArray, IntArray, BoolArray]] = []
    live = np.ones(len(users), dtype=bool)
    period_start = start_day[users]
    period_end = np.where(taper, anchor[users] - 1, cut)
    for step in range(9):
        nxt = np.rint(halves * rng.uniform(0.5, 0.85, len(users)) - 0.5).astype(np.int64)
        ends_here = taper & ((nxt < 5) | (step == 8))
        keep = live & (period_end >= period_start)
        open_end = ~taper | (step == 8) | (period_end >= cut)
        rows.append(
            (users[keep], period_start[keep], period_end[keep], halves[keep], open_end[keep])
        )
        live &= taper & ~ends_here & (period_end < cut)
        period_start, halves = period_end + 1, np.maximum(nxt, 1)
        period_end = np.minimum(period_start + m.STEROID_TAPER_STEP_DAYS - 1, cut)
        if not live.any():
            break
    patient = np.concatenate([r[0] for r in rows])
    order = np.lexsort((np.concatenate([r[1] for r in rows]), patient))
    patient = patient[order]
    start = np.concatenate([r[1] for r in rows])[order]
    stop = np.concatenate([r[2] for r in rows])[order]
    dose = np.concatenate([r[3] for r in rows])[order]
    open_end = np.concatenate([r[4] for r in rows])[order]
    drug_of = _choice(rng, m.STEROID_DRUGS, n)
    names = np.array(list(m.STEROID_DRUGS))[drug_of[patient]]
    methyl = names == "methylprednisolone"
    dose = np.where(methyl, np.maximum(np.rint(dose * 0.8), 1), dose)
    return pa.table(
        {
            "patient_id": ctx.ids.take(pa.array(patient)),
            "drug": pa.array(names, pa.string()),
            "daily_dose_mg": pa.array(dose / 2, pa.float64()),
            "start_date": _date(start),
            "stop_date": _date(stop, ~open_end),
        }
    )


def _adverse_events(ctx: _Context, c: _Courses, days: _CourseDays) -> pa.Table:
    """Events during biologic courses at ~0.35 per patient-year, plus one per stop for AEs."""
    rng = ctx.rng
    iv = np.isin(c.drug, [_TCZ, *_IV_MG_PER_KG])
    years = (days.end - days.start) / 365.25
    count = rng.poisson(m.AE_RATE_PER_YEAR * years)
    owner, _, _ = _ragged(count)
    onset = days.start[owner] + (rng.random(len(owner)) * (days.end - days.start + 1)[owner])
    terms = np.array(list(m.AE_TERMS))
    term = terms[_choice(rng, m.AE_TERMS, len(owner))]
    grade = rng.choice(5, len(owner), p=m.AE_GRADES) + 1
    stop_kind = c.reason
    intolerant = np.flatnonzero(stop_kind == STOP_REASONS.index("intolerance"))
    harmed = np.flatnonzero(stop_kind == STOP_REASONS.index("adverse_event"))
    extra = np.concatenate([intolerant, harmed])
    extra_term = np.concatenate(
        [
            np.where(iv[intolerant], "infusion_reaction", "injection_site_reaction"),
            np.array(("infection", "neutropenia", "transaminase_elevation"))[
                rng.integers(0, 3, len(harmed))
            ],
        ]
    )
    extra_onset = np.maximum(days.end[extra] - rng.integers(0, 15, len(extra)), days.start[extra])
    course = np.concatenate([owner, extra])
    onset = np.concatenate([onset.astype(np.int64), extra_onset])
    term = np.concatenate([term, extra_term])
    grade = np.concatenate([grade, rng.integers(2, 4, len(extra))])
    # Route- and category-specific terms.
    term = np.where((term == "infusion_reaction") & ~iv[course], "injection_site_reaction", term)
    term = np.where((term == "injection_site_reaction") & iv[course], "infusion_reaction", term)
    mas = term == "macrophage_activation_syndrome"
    term = np.where(mas & (ctx.category[c.patient[course]] != m.SYSTEMIC), "other", term)
    patient = c.patient[course]
    _, first = np.unique(
        np.rec.fromarrays([patient, onset, term]), return_index=True
    )  # one event per (patient, onset, term): the template's key
    keep = np.sort(first)
    patient, onset, term, grade, course = (
        patient[keep],
        onset[keep],
        term[keep],
        grade[keep],
        course[keep],
    )
    outcome = np.array(m.AE_OUTCOMES)[rng.choice(3, len(keep), p=m.AE_OUTCOME_SHARE)]
    outcome = np.where(grade == 5, "fatal", outcome)
    serious = (grade >= 3) | (term == "macrophage_activation_syndrome")
    return pa.table(
        {
            "patient_id": ctx.ids.take(pa.array(patient)),
            "onset_date": _date(onset),
            "term": pa.array(term, pa.string()),
            "grade": pa.array(grade.astype(np.int64), pa.int64()),
            "serious": pa.array(serious, pa.bool_()),
            "related_drug": pa.array(np.array(DRUGS)[c.drug[course]], pa.string()),
            "outcome": pa.array(outcome, pa.string()),
        }
    )
