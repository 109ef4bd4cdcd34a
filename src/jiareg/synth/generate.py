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

from dataclasses import dataclass
from typing import Final

import numpy as np
import pyarrow as pa

from jiareg.synth import model as m
from jiareg.synth.arrays import BoolArray, IntArray, choice, date_array
from jiareg.synth.courses import (
    Context,
    Courses,
    baseline_activity,
    days_of_courses,
    plan_courses,
    visit_days,
)
from jiareg.synth.tables import (
    administrations_table,
    adverse_events_table,
    steroids_table,
    treatments_table,
    visits_table,
)
from jiareg.vocab import SEXES

__all__ = [
    "CHUNK_PATIENTS",
    "Drawn",
    "chunk_tables",
    "draw_chunk",
    "generate_chunk",
    "patient_id_width",
]

CHUNK_PATIENTS: Final = 5000
"""Patients per chunk: the unit of seeding and of streaming."""


def patient_id_width(patients: int) -> int:
    """Digits of the zero-padded patient number (at least 6).

    >>> patient_id_width(9), patient_id_width(10_000_000)
    (6, 8)
    """
    return max(6, len(str(patients)))


@dataclass(frozen=True, slots=True)
class Drawn:
    """A chunk's patients, visit schedule and planned courses, before any table is written."""

    ctx: Context
    courses: Courses
    n_visits: IntArray
    female: BoolArray
    onset: IntArray


def generate_chunk(
    first: int, n: int, visits: int, seed: int, id_width: int
) -> dict[str, pa.Table]:
    """The template tables of patients `first .. first+n-1` (0-based), seeded by (seed, first).

    >>> tables = generate_chunk(0, 50, 6, seed=1, id_width=6)
    >>> tables["patients"].num_rows, tables["patients"]["patient_id"][0].as_py()
    (50, 'P000001')
    """
    drawn = draw_chunk(first, n, visits, seed, id_width)
    return chunk_tables(drawn, drawn.courses)


def draw_chunk(
    first: int, n: int, visits: int, seed: int, id_width: int, *, planted: bool = False
) -> Drawn:
    """Patients, visit days and courses of a chunk (`planted`: see `jiareg.synth.planted`)."""
    rng = np.random.default_rng([seed, first])
    category = choice(rng, m.CATEGORY_MIX, n)
    female = rng.random(n) < m.FEMALE_SHARE[category]
    site = rng.choice(len(m.SITES), size=n, p=m.SITE_WEIGHTS / m.SITE_WEIGHTS.sum())
    onset_age = np.clip(
        rng.normal(m.ONSET_AGE_MEAN_Y[category], m.ONSET_AGE_SD_Y[category]), 0.7, 15.9
    )
    n_visits = np.maximum(visits + rng.integers(-(visits // 2), visits // 2 + 1, n), 1)
    courses = plan_courses(rng, category, n_visits, planted=planted)
    onset, vday, owner, offsets = visit_days(rng, n_visits, courses, planted=planted)
    birth = onset - (onset_age * 365.25).astype(np.int64)
    z_height, z_weight = rng.normal(0, 1, n).clip(-2.5, 2.5), rng.normal(0, 1, n).clip(-2, 3)
    ids = pa.array([f"P{first + i + 1:0{id_width}d}" for i in range(n)], pa.string())
    base = baseline_activity(rng, category) if planted else None
    ctx = Context(rng, category, site, birth, z_height, z_weight, ids, owner, offsets, vday, base)
    return Drawn(ctx, courses, n_visits, female, onset)


def chunk_tables(drawn: Drawn, courses: Courses) -> dict[str, pa.Table]:
    """The template tables of a drawn chunk with these courses (its own or resolved ones)."""
    ctx, n_visits, rng, n = drawn.ctx, drawn.n_visits, drawn.ctx.rng, len(drawn.n_visits)
    course_days = days_of_courses(ctx, courses, n_visits)
    return {
        "patients": pa.table(
            {
                "patient_id": ctx.ids,
                "site": pa.array(np.array(m.SITES)[ctx.site], pa.string()),
                "sex": pa.array(np.where(drawn.female, *SEXES), pa.string()),
                "birth_date": date_array(ctx.birth),
                "ilar_category": pa.array(np.array(m.CATEGORIES)[ctx.category], pa.string()),
                "onset_date": date_array(drawn.onset, rng.random(n) >= 0.03),
            }
        ),
        "visits": visits_table(ctx, courses, course_days, n_visits),
        "treatments": treatments_table(ctx, courses, course_days, n_visits),
        "administrations": administrations_table(ctx, courses, course_days),
        "steroids": steroids_table(ctx, courses, course_days, n_visits),
        "adverse_events": adverse_events_table(ctx, courses, course_days),
    }
