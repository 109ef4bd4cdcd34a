"""What each flag of a dose check means, in words (the CLI's `jiareg dose` and the web's
dose page), built from the rule's own constants so the words cannot drift from the rule.

Source: SPEC R-DOSE-TCZ (band cut-off, boundary flag, maximum per infusion).
"""

from __future__ import annotations

from fractions import Fraction
from typing import Final

from jiareg.derive.config import DEFAULT_CONFIG
from jiareg.derive.dosing import (
    ABOVE_MAX,
    AGE_UNKNOWN,
    DOSE_DEVIATION,
    NOT_LABELLED,
    TCZ_BOUNDARY_HIGH_KG,
    TCZ_BOUNDARY_LOW_KG,
    TCZ_WEIGHT_CUTOFF_KG,
    WEIGHT_BAND_BOUNDARY,
)

__all__ = ["FLAG_MEANINGS"]


def _kg(value: Fraction) -> str:
    return f"{float(value):g}"


FLAG_MEANINGS: Final[dict[str, str]] = {
    WEIGHT_BAND_BOUNDARY: f"weight within {_kg(TCZ_BOUNDARY_LOW_KG)} to "
    f"<{_kg(TCZ_BOUNDARY_HIGH_KG)} kg, next to the {_kg(TCZ_WEIGHT_CUTOFF_KG)} kg band "
    "cut-off: check which band applies",
    ABOVE_MAX: f"the label dose is above the {_kg(DEFAULT_CONFIG.tcz_iv_max_mg)} mg maximum per "
    "infusion (RA label)",
    NOT_LABELLED: "not labelled for this drug, category, weight or age (a tocilizumab dose "
    "outside sJIA/pJIA is still computed with the pJIA regimen)",
    AGE_UNKNOWN: "age not given: the label's age limit was not checked",
    DOSE_DEVIATION: "the recorded dose differs from the label dose by more than the tolerance",
}
"""Dose-check flag -> its meaning (the defaults of `jiareg.derive.config`)."""
