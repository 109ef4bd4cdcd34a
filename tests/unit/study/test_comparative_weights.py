"""The comparison's numbers recomputed independently on a small two-arm registry: the
propensity model fitted with statsmodels here, stabilised ATE weights by their formula
(Xu S et al. Value Health 2010;13:273-277: P(T)/e for the treated, (1 − P(T))/(1 − e) for the
reference), weighted risks, and the E-value of VanderWeele & Ding (Ann Intern Med 2017)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from statsmodels.genmod.families import Binomial
from statsmodels.genmod.generalized_linear_model import GLM
from tests.unit.study.registry import Registry, day

from jiareg.study.run import run_study

PROTOCOL = """\
title: t
eligibility: {}
arms:
  - {name: tocilizumab, exposure: {drug: tocilizumab}}
  - {name: abatacept, exposure: {drug: abatacept}}
timepoints:
  - {name: baseline, window: {from_day: -30, to_day: 0}}
  - {name: month_3, window: {from_day: 63, to_day: 119}}
endpoints:
  - {id: acr_3, kind: acr_pedi, at: month_3}
comparison:
  treated: tocilizumab
  reference: abatacept
  covariates: [baseline_chaq]
  methods: [iptw]
  endpoints: [acr_3]
"""
# (baseline CHAQ, ACR Pedi 30 responder at month 3) per patient
TOCILIZUMAB = [(0.5, 1), (1.0, 0), (1.5, 1), (2.0, 1), (2.0, 0), (2.5, 1)]
ABATACEPT = [(0.5, 1), (0.5, 0), (1.0, 0), (1.0, 1), (1.5, 0), (2.0, 1)]
BETTER = {
    "active_joints": 2,
    "lom_joints": 2,
    "phys_global": 2.0,
    "parent_global": 2.0,
    "esr": 10.0,
}


def _registry(registry: Registry) -> Registry:
    for arm, patients in (("tocilizumab", TOCILIZUMAB), ("abatacept", ABATACEPT)):
        for k, (chaq, responder) in enumerate(patients):
            pid = f"{arm[0].upper()}{k}"
            registry.patient(pid, infusions=8 if arm == "tocilizumab" else 0)
            if arm == "abatacept":
                for n in range(4):
                    registry.rows["administrations"].append(
                        {"patient_id": pid, "drug": arm, "date": day(28 * n), "dose_mg": 250.0}
                    )
            registry.visit(pid, -5, chaq=chaq)
            if responder:
                registry.visit(pid, 90, chaq=chaq / 2, **BETTER)
            else:
                registry.visit(pid, 90, chaq=chaq)  # unchanged: not a responder
    return registry


@pytest.mark.slow
def test_iptw_effect_equals_an_independent_computation(tmp_path: Path, registry: Registry) -> None:
    path = tmp_path / "cmp.yaml"
    path.write_text(PROTOCOL)
    result = run_study(path, tables=_registry(registry).tables())
    c = result.results.to_json()["comparison"]

    chaq = np.array([x for x, _ in TOCILIZUMAB + ABATACEPT])
    y = np.array([r for _, r in TOCILIZUMAB + ABATACEPT], dtype=float)
    t = np.array([1.0] * 6 + [0.0] * 6)
    fit = GLM(t, np.column_stack([np.ones(12), chaq]), family=Binomial()).fit()
    assert [term["coef"] for term in c["propensity"]["terms"]] == pytest.approx(
        list(fit.params), abs=1e-6
    )
    e = fit.predict(np.column_stack([np.ones(12), chaq]))
    w = np.where(t == 1, 0.5 / e, 0.5 / (1 - e))  # P(T) = 6/12
    risk_t = float((w * y)[t == 1].sum() / w[t == 1].sum())
    risk_r = float((w * y)[t == 0].sum() / w[t == 0].sum())
    iptw = c["effects"]["acr_3"]["iptw"]
    assert iptw["risk"]["tocilizumab"] == pytest.approx(risk_t, abs=1e-6)
    assert iptw["risk"]["abatacept"] == pytest.approx(risk_r, abs=1e-6)
    assert iptw["risk_difference"]["estimate"] == pytest.approx(risk_t - risk_r, abs=1e-6)
    odds = (risk_t / (1 - risk_t)) / (risk_r / (1 - risk_r))
    assert iptw["odds_ratio"]["estimate"] == pytest.approx(odds, abs=1e-5)
    crude = c["effects"]["acr_3"]["unadjusted"]
    assert crude["risk"] == {"tocilizumab": pytest.approx(4 / 6), "abatacept": 0.5}
    assert crude["risk_difference"]["estimate"] == pytest.approx(4 / 6 - 0.5, abs=1e-6)
    rr = risk_t / risk_r
    expected = (
        rr + math.sqrt(rr * (rr - 1)) if rr >= 1 else 1 / rr + math.sqrt(1 / rr * (1 / rr - 1))
    )
    assert c["effects"]["acr_3"]["e_value"]["point"] == pytest.approx(expected, abs=1e-5)
    # the weighted SMD of CHAQ is smaller than the crude one
    (row,) = c["balance"]
    assert abs(row["iptw"]) < abs(row["unadjusted"])
    # Table 1: CHAQ mean (SD) per arm
    (chaq_row,) = c["table1"]
    assert chaq_row["arms"]["tocilizumab"]["mean"] == pytest.approx(1.583333, abs=1e-6)
    assert chaq_row["arms"]["abatacept"]["sd"] == pytest.approx(np.std(chaq[6:], ddof=1), abs=1e-6)


@pytest.mark.slow
def test_a_compared_endpoint_with_non_responder_imputation(
    tmp_path: Path, registry: Registry
) -> None:
    """`missing: nri` on a compared endpoint: the comparison uses the imputed outcomes (it used
    to call the per-patient outcomes without the protocol and fail with "needs the
    protocol"). A tocilizumab patient without a month-3 visit is not evaluable when observed
    and a non-responder under NRI."""
    _registry(registry)
    registry.patient("T6", infusions=8)
    registry.visit("T6", -5, chaq=1.0)
    path = tmp_path / "cmp.yaml"
    path.write_text(PROTOCOL.replace("at: month_3}", "at: month_3, missing: nri}"))
    result = run_study(path, tables=registry.tables())
    r = result.results.to_json()
    effect = r["comparison"]["effects"]["acr_3"]
    assert effect["evaluable"] == {"tocilizumab": 7, "abatacept": 6}
    assert effect["not_evaluable"] == {"tocilizumab": 0, "abatacept": 0}
    assert effect["unadjusted"]["risk"] == {
        "tocilizumab": pytest.approx(4 / 7),
        "abatacept": pytest.approx(0.5),
    }
    assert r["acr_3"]["responders"] == 7 and r["acr_3"]["n"] == 13
    assert r["endpoints"]["acr_3"]["denominators"]["month_3"]["imputed"] == {
        "no_visit_at_timepoint": 1
    }
