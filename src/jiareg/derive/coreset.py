"""The JIA core set (SPEC R-CORESET): six variables, globals stored with their scale.

Scales use the template codes: ``"0-10"`` (SPEC VAS_10CM and NRS_0_10), ``"0-100"``
(VAS_100MM) and ``"0-3"`` (LIKERT_0_3). A global is the pair ``(value, scale)``; rules that
need the 0-10 scale convert it here, and nowhere else.

jiareg choices (the SPEC is silent):

- the ``"0-3"`` scale accepts decimals up to 2 places: the founding poster reports medians 0.45
  and 0.05 on its 0-3 scale, which integer scores cannot produce;
- the ``"0-100"`` scale accepts up to 2 decimals (its resolution is 1 mm), so that its 0-10
  conversion keeps at most 3 decimals and stays exact in `jiareg.derive.exact` units;
- an out-of-range value raises `DerivationError` (a `JiaregError`); SPEC R-CORESET-2.1 says
  ``ValueError``, jiareg keeps one exception tree instead;
- in columns, a NULL scale means ``"0-10"``, the template's default.

Source: Giannini EH et al. Preliminary definition of improvement in juvenile arthritis.
Arthritis Rheum 1997;40(7):1202-1209. SPEC R-CORESET-1, R-CORESET-2.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING, Final

import ibis

from jiareg.derive.exact import to_fraction
from jiareg.errors import DerivationError
from jiareg.vocab import CORE_SET_VARIABLES, SCALE_MAX, SCALES, Scale

if TYPE_CHECKING:
    import ibis.expr.types as ir

__all__ = [
    "CORE_SET_COLUMNS",
    "CoreSet",
    "Global",
    "comparable_globals",
    "comparable_globals_expr",
    "global_0_10",
    "global_0_10_expr",
    "likert_rescaled",
    "likert_rescaled_expr",
]

SCALE_MAX_DECIMALS: Final[dict[Scale, int]] = {"0-10": 3, "0-3": 2, "0-100": 2}
"""Most decimals a value may carry on each scale (see the module docstring)."""

CORE_SET_COLUMNS: Final = tuple(
    column
    for name in CORE_SET_VARIABLES
    for column in ((name, f"{name}_scale") if name.endswith("_global") else (name,))
)
"""The visit columns a core-set comparison reads: the six variables and the globals' scales."""

CHAQ_MAX: Final = 3


def _parse_scale(scale: object) -> Scale:
    if scale is None or scale == "":
        return "0-10"
    if scale not in SCALES:
        raise DerivationError(f"unknown global scale {scale!r}; expected one of {SCALES}")
    return scale


@dataclass(frozen=True, slots=True)
class Global:
    """A global assessment: value with its scale (SPEC R-CORESET-2).

    The value must lie in the scale's range, with at most 3 decimals on "0-10" and 2 on
    "0-3" and "0-100"; otherwise `DerivationError`.

    >>> Global(Fraction("4.2"), "0-10").value
    Fraction(21, 5)
    >>> Global(Fraction(11), "0-10")
    Traceback (most recent call last):
    ...
    jiareg.errors.DerivationError: global 11 is outside the 0-10 scale (0 to 10)
    """

    value: Fraction
    scale: Scale = "0-10"

    def __post_init__(self) -> None:
        _parse_scale(self.scale)
        if not isinstance(self.value, Fraction):
            raise DerivationError(f"global value must be a Fraction, got {self.value!r}")
        top = SCALE_MAX[self.scale]
        if not 0 <= self.value <= top:
            raise DerivationError(
                f"global {self.value} is outside the {self.scale} scale (0 to {top})"
            )
        places = SCALE_MAX_DECIMALS[self.scale]
        if (self.value * 10**places).denominator != 1:
            raise DerivationError(
                f"global {self.value} has more than {places} decimals on the {self.scale} scale"
            )

    @classmethod
    def parse(cls, value: object, scale: object = "0-10") -> Global | None:
        """A Global from a decimal string or number and a scale code; None when missing.

        >>> Global.parse("0.45", "0-3"), Global.parse("NA")
        (Global(value=Fraction(9, 20), scale='0-3'), None)
        """
        exact = to_fraction(value)
        return None if exact is None else cls(exact, _parse_scale(scale))


def global_0_10(g: Global, *, allow_likert_rescale: bool = False) -> Fraction | None:
    """A global on the 0-10 scale, for rules that need it (JADAS); None if not convertible.

    "0-10" is kept as is, "0-100" is divided by 10; "0-3" (Likert) is not convertible (None)
    unless `allow_likert_rescale` (SPEC `config.allow_likert_rescale`, default False), which maps
    it linearly to ``v * 10/3``; outputs built from such a value must carry
    ``likert_rescaled=True`` (see `likert_rescaled`). The mapping is a jiareg choice, not
    validated in any source. Source: SPEC R-CORESET-2.3.

    >>> global_0_10(Global(Fraction(55), "0-100")), global_0_10(Global(Fraction(2), "0-3"))
    (Fraction(11, 2), None)
    >>> global_0_10(Global(Fraction(2), "0-3"), allow_likert_rescale=True)
    Fraction(20, 3)
    """
    if g.scale == "0-10":
        return g.value
    if g.scale == "0-100":
        return g.value / 10
    return g.value * 10 / 3 if allow_likert_rescale else None


def likert_rescaled(*globals_: Global | None, allow_likert_rescale: bool = False) -> bool:
    """The ``likert_rescaled`` flag: True when a 0-3 global was mapped to 0-10 (R-CORESET-2.3).

    >>> likert_rescaled(Global(Fraction(1), "0-3"), None, allow_likert_rescale=True)
    True
    """
    return allow_likert_rescale and any(g is not None and g.scale == "0-3" for g in globals_)


def comparable_globals(
    baseline: Global | None, followup: Global | None
) -> tuple[Fraction, Fraction] | None:
    """Baseline and follow-up globals on one common scale, or None (= missing) if impossible.

    Both convertible to 0-10 → both converted to 0-10 (relative change is unchanged by a linear
    rescaling); both Likert 0-3 → compared as they are; one Likert and one not → not
    comparable, treated as missing. Source: SPEC R-CORESET-2.2.

    >>> comparable_globals(Global(Fraction(60), "0-100"), Global(Fraction("4.2"), "0-10"))
    (Fraction(6, 1), Fraction(21, 5))
    >>> comparable_globals(Global(Fraction(2), "0-3"), Global(Fraction(4), "0-10")) is None
    True
    """
    if baseline is None or followup is None:
        return None
    if baseline.scale == "0-3" and followup.scale == "0-3":
        return baseline.value, followup.value
    b = global_0_10(baseline)
    f = global_0_10(followup)
    if b is None or f is None:
        return None
    return b, f


def _scale_expr(scale: ir.StringValue | str) -> ir.StringValue:
    """A scale column with NULL read as the template default "0-10"."""
    if isinstance(scale, str):
        return ibis.literal(_parse_scale(scale))
    return scale.fill_null("0-10")


def global_0_10_expr(
    value: ir.NumericValue, scale: ir.StringValue | str, *, allow_likert_rescale: bool = False
) -> ir.FloatingValue:
    """Ibis twin of `global_0_10`: a float column on 0-10; NULL where not convertible.

    `scale` is a string column (NULL = "0-10") or a scale code. Feed the result to
    `jiareg.derive.exact.units_expr` before any threshold: float error from the division is
    removed by its rounding, since every converted value is a multiple of 1/UNITS.
    """
    s = _scale_expr(scale)
    likert = (value * 10 / 3) if allow_likert_rescale else ibis.null("float64")
    return (
        ibis.cases((s == "0-10", value.cast("float64")), (s == "0-100", value / 10), else_=likert)
    ).cast("float64")


def likert_rescaled_expr(
    *scales: ir.StringValue | str, allow_likert_rescale: bool = False
) -> ir.BooleanValue:
    """Ibis twin of `likert_rescaled`, given the scale columns of the globals used."""
    if not allow_likert_rescale or not scales:
        return ibis.literal(False)
    flags = [_scale_expr(s) == "0-3" for s in scales]
    out = flags[0]
    for flag in flags[1:]:
        out = out | flag
    return out


def comparable_globals_expr(
    baseline_value: ir.NumericValue,
    baseline_scale: ir.StringValue | str,
    followup_value: ir.NumericValue,
    followup_scale: ir.StringValue | str,
) -> tuple[ir.FloatingValue, ir.FloatingValue]:
    """Ibis twin of `comparable_globals`: (baseline, follow-up) float columns on one scale.

    Both on 0-10 when both are convertible, both as they are when both are Likert; both NULL
    where the pair is not comparable (one Likert and one not) or either is missing. Written so
    each input is read few times: ACR Pedi reads these columns many times in one expression.
    """
    bs, fs = _scale_expr(baseline_scale), _scale_expr(followup_scale)
    usable = baseline_value.notnull() & followup_value.notnull() & ((bs == "0-3") == (fs == "0-3"))

    def on_scale(value: ir.NumericValue, scale: ir.StringValue) -> ir.FloatingValue:
        factor = scale.cases(("0-100", 0.1), else_=1.0)  # 0-10 and Likert stay as they are
        return ibis.ifelse(usable, value.cast("float64") * factor, ibis.null("float64"))

    return on_scale(baseline_value, bs), on_scale(followup_value, fs)


@dataclass(frozen=True, slots=True)
class CoreSet:
    """The six core-set variables at one visit, under their template names; None = missing.

    `chaq` is the CHAQ disability index (0-3), `active_joints` and `lom_joints` are joint
    counts (integers ≥ 0), `esr` is in mm/h (≥ 0). Out-of-domain values raise
    `DerivationError`. Source: Giannini 1997; SPEC R-CORESET-1.

    >>> CoreSet(phys_global=Global(Fraction(5)), chaq=Fraction("1.5"), esr=Fraction(40)).chaq
    Fraction(3, 2)
    """

    phys_global: Global | None = None
    parent_global: Global | None = None
    chaq: Fraction | None = None
    active_joints: int | None = None
    lom_joints: int | None = None
    esr: Fraction | None = None

    def __post_init__(self) -> None:
        if self.chaq is not None and not 0 <= self.chaq <= CHAQ_MAX:
            raise DerivationError(f"chaq {self.chaq} is outside 0 to {CHAQ_MAX}")
        for name in ("active_joints", "lom_joints"):
            count = getattr(self, name)
            if count is not None and (
                isinstance(count, bool) or not isinstance(count, int) or count < 0
            ):
                raise DerivationError(f"{name} {count} is not a whole number ≥ 0")
        if self.esr is not None and self.esr < 0:
            raise DerivationError(f"esr {self.esr} mm/h is negative")
