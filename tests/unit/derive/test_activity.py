"""derive.activity: the one JADAS composition, scalar and columnar, give the same answers."""

from __future__ import annotations

from fractions import Fraction as F

import ibis
import ibis.expr.types as ir
import pytest

from jiareg.derive.activity import (
    JADAS_JOINTS,
    STATE_VERSIONS,
    visit_activity,
    visit_activity_exprs,
)
from jiareg.derive.coreset import CoreSet, Global

Visit = tuple[str, str, int, str | None, str, bool | None]
# (phys, parent, active joints, esr, category, systemic features active)
VISITS: list[Visit] = [
    ("2", "1", 1, "20", "poly_rf_neg", None),  # JADAS10 4: MDA on the poly cut-offs
    ("0.5", "0", 0, "10", "oligo_persistent", False),  # inactive
    ("8", "7", 30, "90", "oligo_extended", False),  # joints capped at 10 for JADAS10
    ("3", "2", 2, "30", "systemic", True),  # active systemic features: no state
    ("3", "2", 2, "30", "systemic", None),  # unassessed: no state
    ("3", "2", 2, "30", "systemic", False),
    ("3", "2", 2, None, "era", False),  # no ESR: no JADAS10, a cJADAS10; era: course unknown
]


def _scalar(v: Visit) -> dict[str, object]:
    phys, parent, joints, esr, category, systemic = v
    core = CoreSet(
        phys_global=Global(F(phys)),
        parent_global=Global(F(parent)),
        active_joints=joints,
        esr=None if esr is None else F(esr),
    )
    a = visit_activity(core, category, systemic, versions=tuple(JADAS_JOINTS))
    out: dict[str, object] = {
        k: None if s.score is None else float(s.score) for k, s in a.scores.items()
    }
    for version in STATE_VERSIONS:
        out[f"{version}_state"] = a.states[version].state
        out[f"{version}_state_reason"] = a.states[version].reason
    return out


def test_scalar_and_columnar_compositions_agree() -> None:
    t = ibis.memtable(
        {
            "phys": [float(v[0]) for v in VISITS],
            "parent": [float(v[1]) for v in VISITS],
            "joints": [v[2] for v in VISITS],
            "esr": [None if v[3] is None else float(v[3]) for v in VISITS],
            "category": [v[4] for v in VISITS],
            "systemic": [v[5] for v in VISITS],
        },
        schema={
            "phys": "float64",
            "parent": "float64",
            "joints": "int64",
            "esr": "float64",
            "category": "string",
            "systemic": "boolean",
        },
    )
    exprs = visit_activity_exprs(
        t.phys, "0-10", t.parent, "0-10", t.joints, t.esr, t.category, t.systemic
    )
    columns: dict[str, ir.Value] = {
        **{str(v): s for v, s in exprs.scores.items()},
        **{f"{v}_state": s for v, s in exprs.states.items()},
        **{f"{v}_state_reason": r for v, r in exprs.reasons.items()},
    }
    rows = ibis.duckdb.connect().to_pyarrow(t.select(**columns)).to_pylist()
    for visit, got in zip(VISITS, rows, strict=True):
        want = _scalar(visit)
        for key, value in want.items():
            if isinstance(value, float):
                assert got[key] == pytest.approx(value, abs=1e-9), (visit, key)
            else:
                assert got[key] == value, (visit, key)


def test_the_states_follow_the_sjia_rule() -> None:
    states = [_scalar(v)["jadas10_state_reason"] for v in VISITS[3:6]]
    assert states == ["systemic_features_present", "systemic_features_unknown", None]
    assert _scalar(VISITS[0])["jadas10"] == 4.0
    assert _scalar(VISITS[0])["jadas10_state"] == "MDA"
    assert _scalar(VISITS[6])["cjadas10_state_reason"] == "unknown_course"
