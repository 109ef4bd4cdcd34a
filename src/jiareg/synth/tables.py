"""The registry tables of one chunk, from its patients, visits and courses (Contract 2 types).

IV administrations are at the label dose by weight (`jiareg.derive.dosing.label_dose` for
tocilizumab), a few rounded to the vial; steroid tapers; adverse events at plausible rates.
"""

from __future__ import annotations

from fractions import Fraction
from functools import cache
from typing import Final

import numpy as np
import pyarrow as pa

from jiareg.derive.dosing import label_dose
from jiareg.synth import model as m
from jiareg.synth.arrays import (
    BoolArray,
    FloatArray,
    IntArray,
    choice,
    date_array,
    exact_tenths,
    masked,
    ragged,
)
from jiareg.synth.courses import (
    DRUGS,
    ONGOING,
    TCZ,
    Context,
    CourseDays,
    Courses,
    course_rank,
    latent_activity,
)
from jiareg.vocab import STOP_REASONS

__all__ = [
    "administrations_table",
    "adverse_events_table",
    "steroids_table",
    "treatments_table",
    "visits_table",
]

_IV_MG_PER_KG: Final = {DRUGS.index("infliximab"): 6, DRUGS.index("abatacept"): 10}
_IV_INTERVAL_DAYS: Final = {DRUGS.index("infliximab"): 56, DRUGS.index("abatacept"): 28}
_MAX_WEIGHT_TENTHS: Final = 2000
_CORE_SET: Final = ("phys_global", "parent_global", "chaq", "active_joints", "lom_joints", "esr")


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


def _global_on_scale(g10: FloatArray, scale: IntArray) -> FloatArray:
    """A 0-10 global as recorded on the site's scale: 0.5 steps, whole mm, or 0-3 Likert."""
    on_10 = np.rint(g10 * 2) / 2
    on_100 = np.rint(g10 * 10)
    on_3 = np.rint(g10 * 0.3)
    names = np.array(m.SITE_SCALES)[scale]
    return np.where(names == "0-10", on_10, np.where(names == "0-100", on_100, on_3))


def visits_table(ctx: Context, c: Courses, days: CourseDays, n_visits: IntArray) -> pa.Table:
    rng, owner = ctx.rng, ctx.owner
    nv = len(owner)
    activity = latent_activity(ctx, c, days)
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
    # Planted mode: a compared course's scheduled visits (its start, months 1, 2, 3, 6, 9 and
    # 12) record the whole core set, so its baseline active joint count (a confounder) is
    # never missing; its baseline gets no boundary pair below.
    for step in range(7):
        cmp = c.compared & (c.start_visit + step < n_visits[c.patient])
        row = ctx.offsets[c.patient[cmp]] + c.start_visit[cmp] + step
        for column in _CORE_SET:
            valid[column][row] = True
    # Exact boundaries and zero baselines at the tocilizumab baseline visit and the next one.
    tcz = (c.drug == TCZ) & ~c.compared
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
        "organomegaly": 0.15,
        "lymphadenopathy": 0.25,
    }
    columns: dict[str, pa.Array] = {
        "patient_id": ctx.ids.take(pa.array(owner)),
        "visit_date": date_array(ctx.vday),
        "weight_kg": masked(
            exact_tenths(ctx.weight_tenths(owner, ctx.vday)), valid["weight_kg"], pa.float64()
        ),
        "height_cm": masked(
            exact_tenths(m.height_tenths_cm(age, ctx.z_height[owner])),
            valid["height_cm"],
            pa.float64(),
        ),
        "phys_global": masked(phys, valid["phys_global"], pa.float64()),
        "phys_global_scale": pa.array(scale, pa.string()),
        "parent_global": masked(parent, valid["parent_global"], pa.float64()),
        "parent_global_scale": pa.array(scale, pa.string()),
        "chaq": masked(chaq, valid["chaq"], pa.float64()),
        "active_joints": masked(active.astype(np.int64), valid["active_joints"], pa.int64()),
        "lom_joints": masked(lom.astype(np.int64), valid["lom_joints"], pa.int64()),
        "esr": masked(esr, valid["esr"], pa.float64()),
        "crp": masked(exact_tenths(crp.astype(np.int64)), valid["crp"], pa.float64()),
    }
    for name, p in features.items():
        draw, bound = rng.random(nv), p * activity
        if name != "organomegaly":
            columns[name] = masked(systemic & (draw < bound), flags, pa.bool_())
            continue
        # the same draw splits it: liver only 30 %, both 50 %, spleen only 20 % (jiareg choice)
        spleen = (draw >= 0.3 * bound) & (draw < bound)
        columns["hepatomegaly"] = masked(systemic & (draw < 0.8 * bound), flags, pa.bool_())
        columns["splenomegaly"] = masked(systemic & spleen, flags, pa.bool_())
    oligo = np.isin(category, m.OLIGO)
    uveitis = rng.random(nv) < np.where(oligo, 0.04, 0.01)
    columns["uveitis_active"] = masked(uveitis, valid["uveitis_active"], pa.bool_())
    columns["morning_stiffness_min"] = masked(
        stiffness, valid["morning_stiffness_min"], pa.float64()
    )
    columns["esr_uln"] = columns["crp_uln"] = pa.nulls(nv, pa.float64())  # configured defaults
    return pa.table(columns)


def treatments_table(ctx: Context, c: Courses, days: CourseDays, n_visits: IntArray) -> pa.Table:
    rng = ctx.rng
    drug = np.array(DRUGS)[c.drug]
    reasons = np.array(STOP_REASONS)[np.minimum(c.reason, ONGOING - 1)]
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
            "start_date": date_array(np.concatenate([days.start, start])),
            "stop_date": date_array(
                np.concatenate([days.end, stop]), np.concatenate([days.stopped, stopped])
            ),
            "stop_reason": pa.array(
                np.concatenate([reasons, mtx_reason]),
                mask=~np.concatenate([days.stopped, stopped]),
            ),
        }
    )


def administrations_table(ctx: Context, c: Courses, days: CourseDays) -> pa.Table:
    """IV infusions from the start of each IV course to its stop (or the last visit)."""
    iv = np.flatnonzero(np.isin(c.drug, [TCZ, *_IV_MG_PER_KG]))
    patient = c.patient[iv]
    weight_start = ctx.weight_tenths(patient, days.start[iv])
    systemic = ctx.category[patient] == m.SYSTEMIC
    sys_label, pjia_label = _tocilizumab_label("systemic"), _tocilizumab_label("poly_rf_neg")
    interval = np.zeros(len(iv), dtype=np.int64)
    for iv_drug, days_between in _IV_INTERVAL_DAYS.items():
        interval[c.drug[iv] == iv_drug] = days_between
    for label, sel in ((sys_label, systemic), (pjia_label, ~systemic)):
        tcz = sel & (c.drug[iv] == TCZ)
        interval[tcz] = np.where(weight_start[tcz] < 300, label[1], label[2])
    span = days.end[iv] - days.start[iv] - days.stopped[iv]  # no infusion on the stop day
    count = span // interval + 1
    owner, number, _ = ragged(count)
    day = days.start[iv][owner] + number * interval[owner]
    weight = np.minimum(ctx.weight_tenths(patient[owner], day), _MAX_WEIGHT_TENTHS)
    drug = c.drug[iv][owner]
    dose = np.zeros(len(owner), dtype=np.int64)
    for d, mg_per_kg in _IV_MG_PER_KG.items():
        dose[drug == d] = weight[drug == d] * mg_per_kg
    tcz_sys = (drug == TCZ) & systemic[owner]
    tcz_pjia = (drug == TCZ) & ~systemic[owner]
    dose[tcz_sys] = sys_label[0][weight[tcz_sys]]
    dose[tcz_pjia] = pjia_label[0][weight[tcz_pjia]]
    vial = ctx.rng.random(len(owner)) < 0.03  # rounded to the nearest 20 mg
    dose = np.where(vial, np.rint(dose / 200) * 200, dose).astype(np.int64)
    return pa.table(
        {
            "patient_id": ctx.ids.take(pa.array(patient[owner])),
            "drug": pa.array(np.array(DRUGS)[drug], pa.string()),
            "date": date_array(day),
            "dose_mg": pa.array(exact_tenths(dose), pa.float64()),
            "weight_kg": pa.array(exact_tenths(weight), pa.float64()),
        }
    )


def steroids_table(ctx: Context, c: Courses, days: CourseDays, n_visits: IntArray) -> pa.Table:
    """Prednisone-type maintenance courses: a dose, then (mostly) a taper every 4 weeks."""
    rng, n = ctx.rng, len(ctx.category)
    first = c.patient[course_rank(c) == 0]
    first_row = np.flatnonzero(course_rank(c) == 0)
    share = np.full(n, 0.04)
    share[first] = m.STEROID_SHARE_ON_BIOLOGIC[ctx.category[first]]
    users = np.flatnonzero((rng.random(n) < share) & (n_visits >= 2))
    start_visit = (rng.random(n) * n_visits).astype(np.int64)
    anchor = np.zeros(n, dtype=np.int64)
    start_visit[first] = np.maximum(c.start_visit[first_row] - rng.integers(0, 3, len(first)), 0)
    start_day = ctx.vday[ctx.offsets + start_visit]
    anchor = start_day + rng.integers(30, 121, n)
    anchor[first] = days.start[first_row] + rng.integers(30, 91, len(first))
    tcz = c.drug == TCZ
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
    drug_of = choice(rng, m.STEROID_DRUGS, n)
    names = np.array(list(m.STEROID_DRUGS))[drug_of[patient]]
    methyl = names == "methylprednisolone"
    dose = np.where(methyl, np.maximum(np.rint(dose * 0.8), 1), dose)
    return pa.table(
        {
            "patient_id": ctx.ids.take(pa.array(patient)),
            "drug": pa.array(names, pa.string()),
            "daily_dose_mg": pa.array(dose / 2, pa.float64()),
            "start_date": date_array(start),
            "stop_date": date_array(stop, ~open_end),
            "route": pa.array(["oral"] * len(patient), pa.string()),  # daily tapering doses
        }
    )


def adverse_events_table(ctx: Context, c: Courses, days: CourseDays) -> pa.Table:
    """Events during biologic courses at ~0.35 per patient-year, plus one per stop for AEs."""
    rng = ctx.rng
    iv = np.isin(c.drug, [TCZ, *_IV_MG_PER_KG])
    years = (days.end - days.start) / 365.25
    count = rng.poisson(m.AE_RATE_PER_YEAR * years)
    owner, _, _ = ragged(count)
    onset = days.start[owner] + (rng.random(len(owner)) * (days.end - days.start + 1)[owner])
    terms = np.array(list(m.AE_TERMS))
    term = terms[choice(rng, m.AE_TERMS, len(owner))]
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
            "onset_date": date_array(onset),
            "term": pa.array(term, pa.string()),
            "grade": pa.array(grade.astype(np.int64), pa.int64()),
            "serious": pa.array(serious, pa.bool_()),
            "related_drug": pa.array(np.array(DRUGS)[c.drug[course]], pa.string()),
            "outcome": pa.array(outcome, pa.string()),
        }
    )
