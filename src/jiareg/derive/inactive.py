"""Clinical inactive disease (Wallace 2004, ACR 2011) and clinical remission (SPEC R-CID).

Sources: Wallace CA, Ruperto N, Giannini E. Preliminary criteria for clinical remission for
select categories of juvenile idiopathic arthritis. J Rheumatol 2004;31(11):2290-2294; Wallace
CA, Giannini EH, Huang B, Itert L, Ruperto N. American College of Rheumatology provisional
criteria for defining clinical inactive disease in select categories of juvenile idiopathic
arthritis. Arthritis Care Res 2011;63(7):929-936 (both citations unverified — from memory; the
criteria are verified, see SPEC R-CID).

Unknowns are three-valued (Kleene): a criterion that is known to fail makes the visit not
inactive (False) whatever else is missing; otherwise any unknown criterion gives None. SQL's
AND/OR follow the same truth table, so `inactive_disease_expr` combines criteria with `&`.

"Normal" ESR or CRP is at most the visit's laboratory upper limit (`esr_uln`, `crp_uln`) when
recorded, otherwise the configured default — jiareg choices, SPEC silent: ESR ≤ 20 mm/h
(`config.cid_esr_normal_max_mm_h`), CRP ≤ 10 mg/L (`config.cid_crp_normal_max_mg_l`). ACR 2011
says "within normal limits in the laboratory where tested". With no marker tested the marker
criterion is unknown.

Only splenomegaly counts against inactive disease: both criteria sets name "fever, rash,
serositis, splenomegaly, or generalized lymphadenopathy", not hepatomegaly (SPEC R-CID-1.2,
R-CID-2.2, §12b.3). An old combined `hepatosplenomegaly` flag is read as splenomegaly
(`jiareg.derive.systemic.organ_flags`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from fractions import Fraction
from typing import TYPE_CHECKING, Any, Final, Literal

import ibis

from jiareg.derive.config import DEFAULT_CONFIG
from jiareg.derive.coreset import Global
from jiareg.derive.exact import units, units_expr
from jiareg.derive.logic3 import all3
from jiareg.derive.systemic import organ_flags
from jiareg.errors import DerivationError

if TYPE_CHECKING:
    import ibis.expr.types as ir

__all__ = [
    "MORNING_STIFFNESS_MAX_MIN",
    "CidCriteria",
    "CidVisit",
    "RemissionStatus",
    "cid_criteria",
    "inactive_disease",
    "inactive_disease_expr",
    "inactive_disease_visits_expr",
    "marker_normal",
    "remission_status",
]

CidCriteria = Literal["wallace2004", "acr2011"]
RemissionStatus = Literal["remission_on_medication", "remission_off_medication", "no_remission"]

MORNING_STIFFNESS_MAX_MIN: Final = 15
"""ACR 2011 criterion 6: morning stiffness of at most 15 minutes."""


def _none_present(flags: Iterable[bool | None]) -> bool | None:
    """True when every flag is False (feature absent); False if any is True; else None."""
    return all3(None if f is None else not f for f in flags)


def marker_normal(
    esr: Fraction | None,
    crp: Fraction | None,
    *,
    criteria: CidCriteria = DEFAULT_CONFIG.cid_criteria,
    marker_elevation_attributed_to_jia: bool | None = None,
    esr_normal_max_mm_h: Fraction = DEFAULT_CONFIG.cid_esr_normal_max_mm_h,
    crp_normal_max_mg_l: Fraction = DEFAULT_CONFIG.cid_crp_normal_max_mg_l,
    esr_uln: Fraction | None = None,
    crp_uln: Fraction | None = None,
) -> bool | None:
    """CID marker criterion: every tested marker (ESR mm/h, CRP mg/L) normal, boundaries inclusive.

    Wallace 2004: "normal ESR or CRP; if both are tested, both must be normal". ACR 2011 adds:
    an elevated marker still passes when the elevation is not attributable to JIA
    (`marker_elevation_attributed_to_jia=False`; None -> unknown). Neither marker tested ->
    None. Normal = at most the visit laboratory's upper limit (`esr_uln`, `crp_uln`) when
    given, else the configured default (jiareg choices ESR ≤ 20, CRP ≤ 10).
    Source: Wallace 2004, Wallace 2011. SPEC R-CID-1.4, R-CID-2.4.

    >>> marker_normal(Fraction(20), None), marker_normal(Fraction(21), None, criteria="wallace2004")
    (True, False)
    >>> marker_normal(Fraction(25), None, esr_uln=Fraction(25), criteria="wallace2004")
    True
    >>> marker_normal(Fraction(21), Fraction(5)) is None  # ACR 2011: elevated, attribution unknown
    True
    >>> marker_normal(Fraction(40), None, marker_elevation_attributed_to_jia=False)
    True
    """
    tested = [
        value <= limit
        for value, limit in (
            (esr, esr_normal_max_mm_h if esr_uln is None else esr_uln),
            (crp, crp_normal_max_mg_l if crp_uln is None else crp_uln),
        )
        if value is not None
    ]
    if not tested:
        return None
    normal = all(tested)
    if normal or criteria == "wallace2004":
        return normal
    return (
        None
        if marker_elevation_attributed_to_jia is None
        else not marker_elevation_attributed_to_jia
    )


def cid_criteria(
    *,
    active_joints: int | None,
    fever: bool | None,
    rash: bool | None,
    serositis: bool | None,
    lymphadenopathy: bool | None,
    uveitis_active: bool | None,
    esr: Fraction | None,
    crp: Fraction | None,
    phys_global: Global | None,
    splenomegaly: bool | None = None,
    hepatomegaly: bool | None = None,
    hepatosplenomegaly: bool | None = None,
    morning_stiffness_min: Fraction | None = None,
    marker_elevation_attributed_to_jia: bool | None = None,
    esr_uln: Fraction | None = None,
    crp_uln: Fraction | None = None,
    criteria: CidCriteria = DEFAULT_CONFIG.cid_criteria,
    esr_normal_max_mm_h: Fraction = DEFAULT_CONFIG.cid_esr_normal_max_mm_h,
    crp_normal_max_mg_l: Fraction = DEFAULT_CONFIG.cid_crp_normal_max_mg_l,
) -> dict[str, bool | None]:
    """Each inactive-disease criterion at one visit: True met, False failed, None unknown.

    Keys: no_active_joints, no_systemic_features (fever, rash, serositis, splenomegaly,
    generalised lymphadenopathy attributable to JIA), no_active_uveitis, marker_normal
    (`marker_normal`, with the visit's `esr_uln`/`crp_uln` when given), phys_global_best (0 on
    its scale), and for ACR 2011 morning_stiffness (≤ 15 min). `hepatomegaly` is accepted so
    a whole visit row can be passed, and deliberately not a criterion (SPEC §12b.3); an old
    combined `hepatosplenomegaly` stands for `splenomegaly` when that is not given.
    Source: Wallace 2004 (5 criteria), Wallace 2011 (6 criteria). SPEC R-CID-1, R-CID-2.

    >>> cid_criteria(active_joints=0, fever=False, rash=False, serositis=False,
    ...     splenomegaly=False, lymphadenopathy=False, uveitis_active=False,
    ...     esr=Fraction(8), crp=None, phys_global=Global(Fraction(0)),
    ...     morning_stiffness_min=Fraction(20))["morning_stiffness"]
    False
    """
    if active_joints is not None and active_joints < 0:
        raise DerivationError(f"active_joints {active_joints} is negative")
    if morning_stiffness_min is not None and morning_stiffness_min < 0:
        raise DerivationError(f"morning_stiffness_min {morning_stiffness_min} is negative")
    if criteria not in ("wallace2004", "acr2011"):
        raise DerivationError(f"cid_criteria {criteria!r}; expected 'wallace2004' or 'acr2011'")
    _, spleen = organ_flags(hepatomegaly, splenomegaly, hepatosplenomegaly)
    result: dict[str, bool | None] = {
        "no_active_joints": None if active_joints is None else active_joints == 0,
        "no_systemic_features": _none_present((fever, rash, serositis, spleen, lymphadenopathy)),
        "no_active_uveitis": None if uveitis_active is None else not uveitis_active,
        "marker_normal": marker_normal(
            esr,
            crp,
            criteria=criteria,
            marker_elevation_attributed_to_jia=marker_elevation_attributed_to_jia,
            esr_normal_max_mm_h=esr_normal_max_mm_h,
            crp_normal_max_mg_l=crp_normal_max_mg_l,
            esr_uln=esr_uln,
            crp_uln=crp_uln,
        ),
        "phys_global_best": None if phys_global is None else phys_global.value == 0,
    }
    if criteria == "acr2011":
        result["morning_stiffness"] = (
            None
            if morning_stiffness_min is None
            else morning_stiffness_min <= MORNING_STIFFNESS_MAX_MIN
        )
    return result


def inactive_disease(**kwargs: Any) -> bool | None:
    """Clinical inactive disease at one visit: every criterion of `cid_criteria` met.

    Same keyword arguments as `cid_criteria` (`criteria="acr2011"` default, or
    "wallace2004"). False when a criterion fails; None when none fails but one is unknown.
    Source: Wallace 2004; Wallace 2011. SPEC R-CID-1, R-CID-2.

    >>> inactive_disease(active_joints=0, fever=False, rash=False, serositis=False,
    ...     hepatomegaly=True, splenomegaly=False, lymphadenopathy=False, uveitis_active=False,
    ...     esr=Fraction(12), crp=Fraction("3.5"), phys_global=Global(Fraction(0)),
    ...     morning_stiffness_min=Fraction(15))
    True
    """
    return all3(cid_criteria(**kwargs).values())


def inactive_disease_expr(
    *,
    active_joints: ir.NumericValue,
    fever: ir.Value,
    rash: ir.Value,
    serositis: ir.Value,
    lymphadenopathy: ir.Value,
    uveitis_active: ir.Value,
    esr: ir.NumericValue,
    crp: ir.NumericValue,
    phys_global: ir.NumericValue,
    splenomegaly: ir.Value | None = None,
    hepatosplenomegaly: ir.Value | None = None,
    morning_stiffness_min: ir.NumericValue | None = None,
    marker_elevation_attributed_to_jia: ir.Value | None = None,
    esr_uln: ir.NumericValue | None = None,
    crp_uln: ir.NumericValue | None = None,
    criteria: CidCriteria = DEFAULT_CONFIG.cid_criteria,
    esr_normal_max_mm_h: Fraction = DEFAULT_CONFIG.cid_esr_normal_max_mm_h,
    crp_normal_max_mg_l: Fraction = DEFAULT_CONFIG.cid_crp_normal_max_mg_l,
) -> ir.BooleanValue:
    """Ibis twin of `inactive_disease`: a boolean column, NULL where undetermined.

    Arguments are Ibis columns (`morning_stiffness_min` and
    `marker_elevation_attributed_to_jia` may be None: not recorded, hence unknown; `esr_uln`
    and `crp_uln` may be None or NULL: the configured default limit). Splenomegaly is
    `splenomegaly`, else an old combined `hepatosplenomegaly` column (one is required).
    Marker and stiffness limits are compared on exact integer units.
    Source: Wallace 2004; Wallace 2011. SPEC R-CID-1, R-CID-2, R-NUM-1, §12b.3.
    """
    null = ibis.null("boolean")
    spleen = _spleen_expr(splenomegaly, hepatosplenomegaly)
    absent = [~c.cast("boolean") for c in (fever, rash, serositis, spleen, lymphadenopathy)]
    esr_ok = units_expr(esr) <= _limit_expr(esr_uln, esr_normal_max_mm_h)
    crp_ok = units_expr(crp) <= _limit_expr(crp_uln, crp_normal_max_mg_l)
    tested_normal = ibis.cases(
        (esr.isnull() & crp.isnull(), null),
        (esr.isnull(), crp_ok),
        (crp.isnull(), esr_ok),
        else_=esr_ok & crp_ok,
    )
    marker = tested_normal
    if criteria == "acr2011":
        attributed = (
            null
            if marker_elevation_attributed_to_jia is None
            else (marker_elevation_attributed_to_jia.cast("boolean"))
        )
        marker = ibis.ifelse(tested_normal.isnull(), null, tested_normal | ~attributed)
    criteria_exprs = [
        active_joints == 0,
        *absent,
        ~uveitis_active.cast("boolean"),
        marker,
        phys_global == 0,
    ]
    if criteria == "acr2011":
        stiffness = (
            null
            if morning_stiffness_min is None
            else (
                units_expr(morning_stiffness_min) <= MORNING_STIFFNESS_MAX_MIN * units(Fraction(1))
            )
        )
        criteria_exprs.append(stiffness)
    out = criteria_exprs[0]
    for expr in criteria_exprs[1:]:
        out = out & expr
    return out.cast("boolean")


def _spleen_expr(splenomegaly: ir.Value | None, hepatosplenomegaly: ir.Value | None) -> ir.Value:
    """Splenomegaly column, falling back per row to an old combined flag (SPEC §12b.3)."""
    if splenomegaly is None and hepatosplenomegaly is None:
        raise DerivationError("inactive disease needs a splenomegaly or hepatosplenomegaly column")
    if hepatosplenomegaly is None:
        return splenomegaly
    if splenomegaly is None:
        return hepatosplenomegaly
    return splenomegaly.cast("boolean").fill_null(hepatosplenomegaly.cast("boolean"))


def _limit_expr(uln: ir.NumericValue | None, default: Fraction) -> int | ir.IntegerValue:
    """A visit's laboratory upper limit in exact units, the configured default where NULL."""
    return units(default) if uln is None else units_expr(uln).fill_null(units(default))


def inactive_disease_visits_expr(
    visits: ir.Table,
    *,
    criteria: CidCriteria = DEFAULT_CONFIG.cid_criteria,
    esr_normal_max_mm_h: Fraction = DEFAULT_CONFIG.cid_esr_normal_max_mm_h,
    crp_normal_max_mg_l: Fraction = DEFAULT_CONFIG.cid_crp_normal_max_mg_l,
) -> ir.BooleanValue:
    """`inactive_disease_expr` over a `visits` table (template column names).

    Optional columns, used when the table has them: `marker_elevation_attributed_to_jia`
    (the template has none: an elevated marker then leaves ACR 2011 CID unknown), `esr_uln`,
    `crp_uln` (else the configured limits), `splenomegaly` and/or an old combined
    `hepatosplenomegaly` (at least one). Source: SPEC R-CID-2, §12b.3.
    """

    def optional(name: str) -> ir.Value | None:
        return visits[name] if name in visits.columns else None

    return inactive_disease_expr(
        active_joints=visits.active_joints,
        fever=visits.fever,
        rash=visits.rash,
        serositis=visits.serositis,
        splenomegaly=optional("splenomegaly"),
        hepatosplenomegaly=optional("hepatosplenomegaly"),
        lymphadenopathy=visits.lymphadenopathy,
        uveitis_active=visits.uveitis_active,
        esr=visits.esr,
        crp=visits.crp,
        phys_global=visits.phys_global,
        morning_stiffness_min=visits.morning_stiffness_min,
        marker_elevation_attributed_to_jia=optional("marker_elevation_attributed_to_jia"),
        esr_uln=optional("esr_uln"),
        crp_uln=optional("crp_uln"),
        criteria=criteria,
        esr_normal_max_mm_h=esr_normal_max_mm_h,
        crp_normal_max_mg_l=crp_normal_max_mg_l,
    )


@dataclass(frozen=True, slots=True)
class CidVisit:
    """One dated visit for remission: inactive disease (True/False/None) and medication status.

    `on_medication` means any anti-arthritis or anti-uveitis medication (None = unknown).
    """

    visit_date: date
    inactive: bool | None
    on_medication: bool | None


def remission_status(
    visits: Sequence[CidVisit],
    evaluated_date: date,
    *,
    remission_on_days: int = DEFAULT_CONFIG.remission_on_days,
    remission_off_days: int = DEFAULT_CONFIG.remission_off_days,
    max_visit_gap_days: int = DEFAULT_CONFIG.max_visit_gap_days,
) -> RemissionStatus | None:
    """Clinical remission at the visit on `evaluated_date`, from the dated series of visits.

    On medication: inactive disease continuously for ≥ `remission_on_days` (182) while on
    medication; off medication: continuously for ≥ `remission_off_days` (365) while off all
    medication. Continuously = every visit from the first inactive visit of the run (with the
    evaluated visit's medication status) to the evaluated visit is inactive, and consecutive
    visits are ≤ `max_visit_gap_days` (120) apart; the duration is counted from that first
    visit, inclusive boundary (182 days is enough). A visit whose status is unknown ends what
    can be proved: remission if the proved run is already long enough, otherwise None.
    Source: Wallace 2004 (6 and 12 months); day counts and gap are jiareg choices. SPEC R-CID-3.

    >>> v = [CidVisit(date(2024, 1, 1), True, True), CidVisit(date(2024, 4, 1), True, True),
    ...      CidVisit(date(2024, 7, 1), True, True)]
    >>> remission_status(v, date(2024, 7, 1))
    'remission_on_medication'
    """
    ordered = sorted(
        (v for v in visits if v.visit_date <= evaluated_date), key=lambda v: v.visit_date
    )
    if len({v.visit_date for v in ordered}) != len(ordered):
        raise DerivationError("remission_status: two visits share a date; expected one per date")
    if not ordered or ordered[-1].visit_date != evaluated_date:
        raise DerivationError(f"remission_status: no visit on the evaluated date {evaluated_date}")
    current = ordered[-1]
    if current.inactive is False:
        return "no_remission"
    if current.inactive is None or current.on_medication is None:
        return None
    status: RemissionStatus = (
        "remission_on_medication" if current.on_medication else "remission_off_medication"
    )
    needed = remission_on_days if current.on_medication else remission_off_days
    start = current.visit_date
    uncertain = False
    for earlier in reversed(ordered[:-1]):
        if (start - earlier.visit_date).days > max_visit_gap_days:
            break
        if earlier.inactive is False:
            break
        if earlier.inactive is None or earlier.on_medication is None:
            uncertain = True
            break
        if earlier.on_medication != current.on_medication:
            break
        start = earlier.visit_date
    if (evaluated_date - start).days >= needed:
        return status
    return None if uncertain else "no_remission"
