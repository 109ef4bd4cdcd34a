"""A planted effect: tocilizumab versus abatacept after a first anti-TNF failure, with its truth.

`jiareg synth --planted-effect` (`write_registry(..., planted=PlantedEffect(...))`) writes a
registry in which the effect of tocilizumab versus abatacept is known, confounded by
indication, so a comparative protocol can be shown to recover it. The model (every number in
`jiareg.synth.model`, "Planted effect"):

1. **Who is compared.** A patient of `COMPARISON_CATEGORIES` (systemic, RF-negative and
   RF-positive polyarthritis, extended oligoarthritis) whose anti-TNF course stops for primary
   or secondary failure, who has had neither tocilizumab nor abatacept, and who has a visit
   after that stop, starts tocilizumab or abatacept on the stop day (IV, infusions from that
   day: the index date) and gets no biologic after it. Nobody else gets either drug after an
   anti-TNF failure (`jiareg.synth.courses`), so a protocol with a recorded anti-TNF failure
   before the index date finds exactly these patients.
2. **Assignment by measured confounders only.** logit P(tocilizumab) = `PROPENSITY_TOCILIZUMAB`
   · (1, systemic, (active joints − 8)/5, (age − 10)/4), with the ILAR category, the active
   joint count recorded at the index-date visit (never missing for these patients) and the age
   at the index date in completed years (`jiareg.study.datasets.completed_years`, as the
   `patients` analysis dataset has it). Systemic patients and patients with more active joints
   get tocilizumab more often; the arms are exchangeable given these three covariates.
3. **Response.** A latent responder indicator R_d = 1{U_r < expit(`RESPONSE_LOGIT` ·
   (1, systemic, (a − 0.5)/0.2, (age − 10)/4) + log(OR)·[d = tocilizumab])}, a the latent
   baseline disease activity (which the core set measures with noise). A responder's activity
   falls to a residual in `RESPONDER_RESIDUAL`, a non-responder's stays in
   `NONRESPONDER_RESIDUAL` (same U_level under both drugs), with the same time constant on
   both drugs; the core set, and so ACR Pedi as jiareg derives it, follow the activity as for
   every synthetic visit. The planted OR is the *conditional* odds ratio of the latent
   response; systemic patients and those with more active disease respond less.
4. **Drug survival.** Latent time to stopping T_d = λ(E / exp(η_d))^(1/k) days (Weibull
   `STOP_WEIBULL`), E = −log(1 − U_t), η_d = log(HR)·[d = tocilizumab] + `STOP_LOG_HAZARD` ·
   (1 − R_d, systemic, (a − 0.5)/0.2). The course stops at the first visit on or after day T_d,
   for a reason drawn (same U) from `STOP_REASON_RESPONDER` or `STOP_REASON_NONRESPONDER`;
   with no visit that late it is still going at the last visit. The planted HR is the hazard
   ratio conditional on the latent response and the confounders.
5. **Both potential outcomes, same draws.** Every random draw that shapes a compared
   patient's record is made before the drug is known, in arrays whose size does not depend on
   it; the chunk is then written twice from the same generator state, once with every compared
   patient on tocilizumab and once on abatacept, and each patient's rows are taken from the
   version of the drug they were assigned (U_assign from a generator of its own). The other
   version is kept: `jiareg.synth.truth` derives both potential outcomes of every patient
   from them.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, replace
from typing import Final

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from jiareg.errors import InputError
from jiareg.study.datasets import completed_years
from jiareg.synth import model as m
from jiareg.synth.arrays import BoolArray, FloatArray, IntArray
from jiareg.synth.courses import ABA, ONGOING, TCZ, Courses
from jiareg.synth.generate import Drawn, chunk_tables, draw_chunk
from jiareg.vocab import STOP_REASONS

__all__ = ["COMPARED", "PlantedChunk", "PlantedEffect", "generate_planted_chunk"]

COMPARED: Final = ("tocilizumab", "abatacept")
"""The compared drugs: the first is the "treated" arm of every contrast."""
_ASSIGNMENT_STREAM: Final = 14  # the assignment generator is seeded by (seed, first, 14)


@dataclass(frozen=True, slots=True)
class PlantedEffect:
    """The planted conditional effects of tocilizumab versus abatacept (module docstring)."""

    odds_ratio: float = 2.0
    hazard_ratio: float = 0.6

    def __post_init__(self) -> None:
        for name, value in (("--true-or", self.odds_ratio), ("--true-hr", self.hazard_ratio)):
            if not (math.isfinite(value) and value > 0):
                raise InputError(f"{name} must be a positive number, got {value}")


@dataclass(frozen=True, slots=True)
class PlantedChunk:
    """A chunk's registry tables, the compared patients' rows under each drug (`worlds`) and
    one row per compared patient with its covariates, assignment and latent outcomes."""

    tables: dict[str, pa.Table]
    worlds: dict[str, dict[str, pa.Table]]
    patients: pa.Table


def generate_planted_chunk(
    first: int, n: int, visits: int, seed: int, id_width: int, effect: PlantedEffect
) -> PlantedChunk:
    """Patients `first .. first+n-1` with the planted comparison (module docstring)."""
    drawn = draw_chunk(first, n, visits, seed, id_width, planted=True)
    ctx, c = drawn.ctx, drawn.courses
    draws = ctx.rng.random((n, 4))  # responder, residual activity, time to stop, stop reason
    state = ctx.rng.bit_generator.state
    rows = np.flatnonzero(c.compared)
    patient = c.patient[rows]
    start = c.start_visit[rows]
    start_day = ctx.vday[ctx.offsets[patient] + start]
    age = np.array(
        [
            completed_years(m.EPOCH + dt.timedelta(int(b)), m.EPOCH + dt.timedelta(int(s)))
            for b, s in zip(ctx.birth[patient], start_day, strict=True)
        ],
        dtype=np.float64,
    )
    assert ctx.base is not None  # drawn with planted=True
    cov = _Covariates(
        systemic=ctx.category[patient] == m.SYSTEMIC,
        age=(age - m.PLANTED_AGE_Y[0]) / m.PLANTED_AGE_Y[1],
        activity=(ctx.base[patient] - m.PLANTED_ACTIVITY[0]) / m.PLANTED_ACTIVITY[1],
    )
    worlds: dict[str, dict[str, pa.Table]] = {}
    latent: dict[str, dict[str, pa.Array]] = {}
    for drug in COMPARED:
        ctx.rng.bit_generator.state = state
        courses, latent[drug] = _resolve(drawn, rows, drug, draws[patient], cov, effect)
        worlds[drug] = chunk_tables(drawn, courses)
    joints_column = worlds["abatacept"]["visits"]["active_joints"]
    joints = joints_column.take(pa.array(ctx.offsets[patient] + start)).to_numpy()
    p = m.PROPENSITY_TOCILIZUMAB
    logit = (
        p["intercept"]
        + p["systemic"] * cov.systemic
        + p["active_joints"] * (joints - m.PLANTED_ACTIVE_JOINTS[0]) / m.PLANTED_ACTIVE_JOINTS[1]
        + p["age"] * cov.age
    )
    propensity = 1 / (1 + np.exp(-logit))
    on_tcz = np.random.default_rng([seed, first, _ASSIGNMENT_STREAM]).random(len(rows))
    assigned_tcz = on_tcz < propensity
    ids = ctx.ids.take(pa.array(patient))
    last_visit = ctx.vday[ctx.offsets[patient] + drawn.n_visits[patient] - 1]
    patients = pa.table(
        {
            "patient_id": ids,
            "assigned": pa.array(np.where(assigned_tcz, *COMPARED), pa.string()),
            "propensity": pa.array(propensity, pa.float64()),
            "systemic": pa.array(cov.systemic, pa.bool_()),
            "active_joints": pa.array(joints, pa.int64()),
            "age_years": pa.array(age.astype(np.int64), pa.int64()),
            "latent_activity": pa.array(ctx.base[patient], pa.float64()),
            "follow_up_days": pa.array(last_visit - start_day, pa.int64()),
            **{f"{k}_{drug}": v for drug, cols in latent.items() for k, v in cols.items()},
        }
    )
    return PlantedChunk(
        tables=_merge(worlds, ids.filter(pa.array(assigned_tcz))),
        worlds={drug: _only(tables, ids) for drug, tables in worlds.items()},
        patients=patients,
    )


@dataclass(frozen=True, slots=True)
class _Covariates:
    """The compared patients' confounders, centred and scaled as the model's coefficients."""

    systemic: BoolArray
    age: FloatArray
    activity: FloatArray


def _resolve(
    drawn: Drawn,
    rows: IntArray,
    drug: str,
    u: FloatArray,
    cov: _Covariates,
    effect: PlantedEffect,
) -> tuple[Courses, dict[str, pa.Array]]:
    """The courses with every compared course on `drug`: response, stop visit and reason."""
    ctx, c = drawn.ctx, drawn.courses
    on_tcz = float(drug == "tocilizumab")
    r = m.RESPONSE_LOGIT
    logit = (
        r["intercept"]
        + math.log(effect.odds_ratio) * on_tcz
        + r["systemic"] * cov.systemic
        + r["activity"] * cov.activity
        + r["age"] * cov.age
    )
    responder = u[:, 0] < 1 / (1 + np.exp(-logit))
    low = np.where(responder, m.RESPONDER_RESIDUAL[0], m.NONRESPONDER_RESIDUAL[0])
    high = np.where(responder, m.RESPONDER_RESIDUAL[1], m.NONRESPONDER_RESIDUAL[1])
    g = m.STOP_LOG_HAZARD
    eta = (
        math.log(effect.hazard_ratio) * on_tcz
        + g["nonresponder"] * ~responder
        + g["systemic"] * cov.systemic
        + g["activity"] * cov.activity
    )
    shape, scale = m.STOP_WEIBULL
    latent_days = scale * (-np.log1p(-u[:, 2]) / np.exp(eta)) ** (1 / shape)
    patient = c.patient[rows]
    stop_visit = np.full(len(rows), -1, dtype=np.int64)
    stop_day = np.full(len(rows), -1, dtype=np.int64)
    for j, (p, s0) in enumerate(zip(patient, c.start_visit[rows], strict=True)):
        days = ctx.vday[ctx.offsets[p] + s0 : ctx.offsets[p] + drawn.n_visits[p]]
        days = days - days[0]
        k = max(int(np.searchsorted(days, latent_days[j], side="left")), 1)
        if k < len(days):
            stop_visit[j], stop_day[j] = s0 + k, days[k]
    shares = np.where(responder[:, None], m.STOP_REASON_RESPONDER, m.STOP_REASON_NONRESPONDER)
    reason = (u[:, 3:4] >= np.cumsum(shares, axis=1)[:, :-1]).sum(axis=1)
    reason = np.where(stop_visit >= 0, reason, ONGOING)
    drugs, stops, reasons, response = (
        c.drug.copy(),
        c.stop_visit.copy(),
        c.reason.copy(),
        c.response.copy(),
    )
    drugs[rows] = TCZ if on_tcz else ABA
    stops[rows] = stop_visit
    reasons[rows] = reason
    response[rows] = low + u[:, 1] * (high - low)
    stopped = stop_visit >= 0
    names = np.array(STOP_REASONS)[np.minimum(reason, ONGOING - 1)]
    outcome = {
        "responder": pa.array(responder, pa.bool_()),
        "stop_day": pa.array(stop_day, pa.int64(), mask=~stopped),
        "stop_reason": pa.array(names, pa.string(), mask=~stopped),
    }
    return replace(c, drug=drugs, stop_visit=stops, reason=reasons, response=response), outcome


def _only(tables: dict[str, pa.Table], ids: pa.Array) -> dict[str, pa.Table]:
    """The rows of these patients only."""
    return {name: t.filter(pc.is_in(t["patient_id"], value_set=ids)) for name, t in tables.items()}


def _merge(worlds: dict[str, dict[str, pa.Table]], tcz_ids: pa.Array) -> dict[str, pa.Table]:
    """Each patient's rows from one world: tocilizumab's for `tcz_ids`, abatacept's for the
    rest; grouped by patient in id order (the sort is stable, so a patient keeps row order)."""
    out = {}
    for name, on_aba in worlds["abatacept"].items():
        on_tcz = worlds["tocilizumab"][name]
        both = pa.concat_tables(
            [
                on_aba.filter(pc.invert(pc.is_in(on_aba["patient_id"], value_set=tcz_ids))),
                on_tcz.filter(pc.is_in(on_tcz["patient_id"], value_set=tcz_ids)),
            ]
        )
        out[name] = both.take(pc.sort_indices(both, sort_keys=[("patient_id", "ascending")]))
    return out
