"""The truth of a planted-effect registry (`truth.json`), from both potential outcomes.

**How the truth is defined.** The population is every compared patient of the registry
(`jiareg.synth.planted`: a first anti-TNF failure followed by tocilizumab or abatacept) who
enters the cohort of `TRUTH_PROTOCOL` under both drugs (all of them, as the cohort depends
only on what happened before the index date; `n_outside_cohort` counts any exception). Each
was generated twice with the same random draws, once on each drug (`planted`, point 5), so
each has two potential outcomes, Y(tocilizumab) and Y(abatacept):

- **ACR Pedi 30 at months 3, 6 and 12 with non-responder imputation**: jiareg's own study run
  (`jiareg.study.run.run_study` on each version of the registry with `TRUTH_PROTOCOL`, the
  per-patient outcome of `jiareg.study.endpoints.acr_pedi.patient_outcomes`) decides
  responder / non-responder / not evaluable at the timepoint's visit (`TIMEPOINTS`); no visit
  in the window, an undetermined ACR Pedi, or a stop of the drug before the timepoint's visit
  (before the window's first day without a visit) counts as non-response, the rule of `missing:
  nri` (`jiareg.study.endpoints.missing`). The **ATE** risks are the means of
  Y(tocilizumab) and Y(abatacept) over the whole population, and the risk difference, risk
  ratio and odds ratio are contrasts of those two marginal risks (no sampling error: they are
  the population's own values). The **ATT** is the same over the patients assigned
  tocilizumab. `crude` is the unadjusted comparison of the observed arms in this registry
  (each patient's outcome under the drug assigned), to show the confounding.
- **Drug survival**: time from the index date to the recorded stop date of the compared drug,
  or censored at the patient's last visit while still on it, under each drug. The **marginal
  hazard ratio** is that of a Cox model on the treatment alone fitted to both potential
  outcomes of every patient (2n rows; Austin PC, Stat Med 2013;32:2837-2849, the true marginal
  HR of a simulation); 12-month drug survival (Kaplan–Meier) and cumulative incidence by stop
  reason (Aalen–Johansen) under each drug come from the same potential times.

The same estimands are given for the polyarticular-course subgroup (the compared patients
without systemic JIA), the population of a protocol that leaves systemic JIA out.

The planted OR and HR are *conditional* parameters of the latent model (`planted`, points 3
and 4); the estimands differ from them (non-collapsibility, the noise of the measured core
set, missing visits, stops) and are what an unbiased analysis of the registry recovers.
"""

from __future__ import annotations

import math
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Final

import numpy as np
import pandas as pd
import pyarrow as pa

from jiareg import __version__
from jiareg.errors import InputError
from jiareg.stats.drug_survival import cox_model, cumulative_incidence, kaplan_meier_by_group
from jiareg.study.endpoints.acr_pedi import AcrPediEndpoint, patient_outcomes
from jiareg.study.endpoints.common import at_timepoint
from jiareg.study.run import run_study
from jiareg.synth import model as m
from jiareg.synth.arrays import BoolArray
from jiareg.synth.planted import COMPARED, PlantedChunk, PlantedEffect
from jiareg.vocab import RESPONDER

__all__ = ["TIMEPOINTS", "TRUTH_PROTOCOL", "planted_truth", "truth_protocol"]

TIMEPOINTS: Final = {
    "month_3": (63, 119, 91),
    "month_6": (150, 214, 182),
    "month_12": (300, 430, 365),
}
"""Each timepoint's window (from, to day) and target day; the visit nearest the target wins."""
GLOBALS_SCALE: Final = "0-10"
HORIZON_DAYS: Final = 365
MIN_PER_ARM: Final = 10
"""Fewer compared patients on a drug than this and the truth (a Cox model) is refused."""

TRUTH_PROTOCOL: Final = """\
title: planted-effect truth ({drug})
eligibility:
  ilar_categories: [{categories}]
  prior_failure:
    drug_class: anti_tnf
    stop_reasons: [primary_failure, secondary_failure]
  exposure:
    drug: {drug}
    route: iv
  require_baseline: true
globals_scale: "{scale}"
baseline: baseline
timepoints:
  - name: baseline
    window: {{from_day: -30, to_day: 0}}
    pick: last
{timepoints}
config:
  tnf_failure_source: recorded
endpoints:
{endpoints}
"""
"""The single-arm protocol the truth derives ACR Pedi 30 with, once per drug."""


def truth_protocol(drug: str) -> str:
    """`TRUTH_PROTOCOL` for one drug."""
    timepoints = "\n".join(
        f"  - name: {name}\n    window: {{from_day: {low}, to_day: {high}}}\n"
        f"    pick: nearest\n    target_day: {target}"
        for name, (low, high, target) in TIMEPOINTS.items()
    )
    endpoints = "\n".join(
        f"  - id: acr_pedi_30_{name}\n    kind: acr_pedi\n    level: 30\n    at: {name}"
        for name in TIMEPOINTS
    )
    return TRUTH_PROTOCOL.format(
        drug=drug,
        categories=", ".join(m.COMPARISON_CATEGORIES),
        scale=GLOBALS_SCALE,
        timepoints=timepoints,
        endpoints=endpoints,
    )


def planted_truth(
    chunks: Sequence[PlantedChunk], effect: PlantedEffect, *, patients: int, visits: int, seed: int
) -> dict[str, object]:
    """truth.json's content for a registry written in these chunks (module docstring)."""
    people = pa.concat_tables([c.patients for c in chunks]).to_pandas()
    arms = people["assigned"].value_counts()
    if min(arms.get(drug, 0) for drug in COMPARED) < MIN_PER_ARM:
        raise InputError(
            f"--planted-effect: {len(people)} patients went on to tocilizumab or abatacept "
            f"({', '.join(f'{d} {arms.get(d, 0)}' for d in COMPARED)}); a truth needs at "
            f"least {MIN_PER_ARM} on each: ask for more --patients (about 7 % are compared)"
        )
    outcomes = {}
    for drug in COMPARED:
        tables = {
            name: pa.concat_tables([c.worlds[drug][name] for c in chunks])
            for name in chunks[0].worlds[drug]
        }
        outcomes[drug] = _acr_pedi_30(tables, drug)
    in_both = set(outcomes[COMPARED[0]]["month_3"]) & set(outcomes[COMPARED[1]]["month_3"])
    n_generated = len(people)
    people = people[people["patient_id"].isin(in_both)].reset_index(drop=True)
    treated = (people["assigned"] == COMPARED[0]).to_numpy()
    responders = {
        (drug, name): _nri_responders(people, outcomes[drug][name], drug, name)
        for drug in COMPARED
        for name in TIMEPOINTS
    }
    poly = ~people["systemic"].to_numpy(dtype=bool)
    subgroup = {
        "ilar_categories": [c for c in m.COMPARISON_CATEGORIES if c != "systemic"],
        "n_patients": int(poly.sum()),
        f"n_{COMPARED[0]}": int((treated & poly).sum()),
        f"n_{COMPARED[1]}": int((~treated & poly).sum()),
        "estimands": _estimands(people, treated, responders, poly),
    }
    return {
        "format": "jiareg-planted-truth-1",
        "definition": _definition(),
        "generator": {
            "patients": patients,
            "visits": visits,
            "seed": seed,
            "software_version": __version__,
        },
        "planted": {
            "odds_ratio": effect.odds_ratio,
            "odds_ratio_is": "conditional odds ratio of the latent response, tocilizumab vs "
            "abatacept, given systemic category, latent baseline activity and age",
            "hazard_ratio": effect.hazard_ratio,
            "hazard_ratio_is": "conditional hazard ratio of stopping the drug, tocilizumab vs "
            "abatacept, given the latent response, systemic category and latent baseline activity",
        },
        "comparison": {
            "treated": COMPARED[0],
            "control": COMPARED[1],
            "population": "patients of these ILAR categories whose anti-TNF course stopped for "
            "primary or secondary failure (recorded), starting IV tocilizumab or abatacept on "
            "the stop day (the index date: first infusion); no other patient gets either drug "
            "after an anti-TNF failure",
            "ilar_categories": list(m.COMPARISON_CATEGORIES),
            "n_patients": len(people),
            "n_outside_cohort": n_generated - len(people),
            f"n_{COMPARED[0]}": int(treated.sum()),
            f"n_{COMPARED[1]}": int((~treated).sum()),
        },
        "assignment_model": {
            "link": "logit",
            "outcome": "assigned tocilizumab",
            "coefficients": dict(m.PROPENSITY_TOCILIZUMAB),
            "covariates": {
                "systemic": "1 if ilar_category is systemic, else 0",
                "active_joints": "(active_joints at the baseline visit - "
                f"{m.PLANTED_ACTIVE_JOINTS[0]:g}) / {m.PLANTED_ACTIVE_JOINTS[1]:g}",
                "age": f"(age_years at the index date, completed - {m.PLANTED_AGE_Y[0]:g}) / "
                f"{m.PLANTED_AGE_Y[1]:g}",
            },
        },
        "protocol": {
            "baseline": "the last visit from day -30 to day 0 (the index-date visit)",
            "timepoints": {
                name: {"from_day": low, "to_day": high, "pick": "nearest", "target_day": target}
                for name, (low, high, target) in TIMEPOINTS.items()
            },
            "globals_scale": GLOBALS_SCALE,
            "tnf_failure_source": "recorded",
            "missing": "nri: no visit in the window, an undetermined ACR Pedi or a stop of the "
            "drug before the timepoint's visit (before the window's first day without a visit) "
            "counts as non-response",
            "drug_survival": "index date to the recorded stop date; censored at the last visit",
        },
        "estimands": _estimands(people, treated, responders, np.ones(len(people), dtype=bool)),
        "subgroups": {"polyarticular_course": subgroup},
    }


def _nri_responders(
    people: pd.DataFrame, outcome: dict[str, tuple[str, int | None]], drug: str, name: str
) -> BoolArray:
    """Responder under non-responder imputation: a responder at the timepoint's visit who had
    not stopped the drug before that visit (before the window's first day without a visit);
    no visit, an undetermined ACR Pedi or a stop counts as non-response (the rule of `missing:
    nri` in `jiareg.study.endpoints.missing`)."""
    from_day = TIMEPOINTS[name][0]
    flags = []
    for pid, stop in zip(people["patient_id"], people[f"stop_day_{drug}"], strict=True):
        code, day = outcome[pid]
        stopped = not pd.isna(stop) and stop < (from_day if day is None else day)
        flags.append(code == RESPONDER and not stopped)
    return np.array(flags, dtype=bool)


def _estimands(
    people: pd.DataFrame,
    treated: BoolArray,
    responders: dict[tuple[str, str], BoolArray],
    keep: BoolArray,
) -> dict[str, object]:
    """The ACR Pedi 30 and drug-survival estimands over the patients `keep` selects."""
    acr = {}
    t = treated[keep]
    for name in TIMEPOINTS:
        y1, y0 = (responders[drug, name][keep] for drug in COMPARED)
        observed = np.where(t, y1, y0)
        acr[name] = {
            "ate": _contrast(y1.mean(), y0.mean()),
            "att": _contrast(y1[t].mean(), y0[t].mean()),
            "crude": _contrast(observed[t].mean(), observed[~t].mean()),
        }
    subset = people[keep].reset_index(drop=True)
    return {"acr_pedi_30": acr, "drug_survival": _survival(subset, t)}


def _definition() -> str:
    """The module docstring's definition of the truth, as one paragraph of plain text."""
    text = (__doc__ or "").split("**How the truth is defined.** ")[-1].split("\n\nThe planted")[0]
    return " ".join(text.replace("**", "").split())


def _acr_pedi_30(
    tables: dict[str, pa.Table], drug: str
) -> dict[str, dict[str, tuple[str, int | None]]]:
    """Per timepoint, each cohort patient's ACR Pedi 30 outcome code (jiareg's study run) and
    the day of the timepoint's visit (None without one)."""
    with tempfile.TemporaryDirectory(prefix="jiareg-truth-") as folder:
        path = Path(folder) / f"truth-{drug}.yaml"
        path.write_text(truth_protocol(drug), encoding="utf-8")
        result = run_study(path, tables=tables)
    endpoints = {e.at: e for e in result.protocol.endpoints if isinstance(e, AcrPediEndpoint)}
    visits = result.frames["visits"]
    out = {}
    for name in TIMEPOINTS:
        chosen = at_timepoint(visits, name)
        day = dict(zip(chosen["patient_id"], chosen["day"].astype(int), strict=True))
        codes = patient_outcomes(endpoints[name], result.frames)
        out[name] = {pid: (code, day.get(pid)) for pid, code in codes.items()}
    return out


def _contrast(p1: float, p0: float) -> dict[str, float | None]:
    """Risks, risk difference, risk ratio and odds ratio of two marginal risks."""
    ratio = p1 / p0 if p0 > 0 else None
    odds = p1 / (1 - p1) / (p0 / (1 - p0)) if 0 < p0 < 1 and 0 < p1 < 1 else None
    return {
        f"risk_{COMPARED[0]}": float(p1),
        f"risk_{COMPARED[1]}": float(p0),
        "risk_difference": float(p1 - p0),
        "risk_ratio": None if ratio is None else float(ratio),
        "odds_ratio": None if odds is None else float(odds),
        "log_odds_ratio": None if odds is None else math.log(odds),
    }


def _survival(people: pd.DataFrame, treated: BoolArray) -> dict[str, object]:
    """The drug-survival estimands from both potential times (module docstring)."""
    times, events, causes = {}, {}, {}
    for drug in COMPARED:
        stopped = people[f"stop_day_{drug}"].notna().to_numpy()
        times[drug] = np.where(
            stopped, people[f"stop_day_{drug}"].fillna(0), people["follow_up_days"]
        ).astype(np.float64)
        events[drug] = stopped.astype(int)
        causes[drug] = [
            r if s else None for r, s in zip(people[f"stop_reason_{drug}"], stopped, strict=True)
        ]
    n = len(people)
    both = cox_model(
        np.concatenate([times[d] for d in COMPARED]).tolist(),
        np.concatenate([events[d] for d in COMPARED]).tolist(),
        {"tocilizumab": [1.0] * n + [0.0] * n},
    )
    observed_t = np.where(treated, times[COMPARED[0]], times[COMPARED[1]])
    observed_e = np.where(treated, events[COMPARED[0]], events[COMPARED[1]])
    crude = cox_model(
        observed_t.tolist(), observed_e.tolist(), {"tocilizumab": treated.astype(float).tolist()}
    )
    km = kaplan_meier_by_group(
        np.concatenate([times[d] for d in COMPARED]).tolist(),
        np.concatenate([events[d] for d in COMPARED]).tolist(),
        [d for d in COMPARED for _ in range(n)],
    )
    survival = {
        curve.group: min((p.survival for p in curve.table if p.time <= HORIZON_DAYS), default=1.0)
        for curve in km.curves
    }
    incidence = {}
    for drug in COMPARED:
        cif = cumulative_incidence(times[drug].tolist(), causes[drug])
        incidence[drug] = {
            cause.cause: max(
                (p.incidence for p in cause.table if p.time <= HORIZON_DAYS), default=0.0
            )
            for cause in cif.causes
        }
    return {
        "marginal_hazard_ratio": both.terms[0].hazard_ratio,
        "crude_hazard_ratio": crude.terms[0].hazard_ratio,
        "stops": {drug: int(events[drug].sum()) for drug in COMPARED},
        f"survival_{HORIZON_DAYS}_days": survival,
        f"cumulative_incidence_{HORIZON_DAYS}_days": incidence,
    }
