"""How numbers and names read in the report (display only: the values stay exact elsewhere)."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from typing import Final

from jiareg.stats import Summary

VARIABLE_LABELS: Final = {
    "active_joints": "Active joints",
    "lom_joints": "Joints with limited motion",
    "phys_global": "Physician global assessment",
    "parent_global": "Parent global well-being",
    "chaq": "CHAQ disability index",
    "esr": "ESR (mm/h)",
}
NARRATIVE_NAMES: Final = {
    "active_joints": "active joints",
    "lom_joints": "limited-motion joints",
    "phys_global": "physician global",
    "parent_global": "parent global",
    "chaq": "CHAQ",
    "esr": "ESR",
}


def variable_label(variable: str, globals_scale: str) -> str:
    """Row label of a core-set variable; globals carry the scale they are reported on.

    >>> variable_label("phys_global", "0-3"), variable_label("esr", "0-3")
    ('Physician global assessment (0–3)', 'ESR (mm/h)')
    """
    label = VARIABLE_LABELS.get(variable, variable.replace("_", " "))
    if variable.endswith("_global"):
        label += f" ({globals_scale.replace('-', '–')})"
    return label


def timepoint_label(name: str) -> str:
    """A protocol timepoint name as words.

    `on_treatment` (a steroid change over the time on the index drug, SPEC §12b.10) reads as
    the end of that time.

    >>> timepoint_label("month_1"), timepoint_label("before_infusion_3")
    ('month 1', 'before infusion 3')
    >>> timepoint_label("on_treatment")
    'the end of the time on treatment'
    """
    if name == "on_treatment":
        return "the end of the time on treatment"
    return name.replace("_", " ")


def number(value: Fraction | float | int | None, places: int = 3) -> str:
    """A value rounded half-even to at most `places` decimals, trailing zeros dropped; '–' if None.

    >>> number(Fraction(9, 40)), number(11.0), number(Fraction(1, 3)), number(None)
    ('0.225', '11', '0.333', '–')
    """
    if value is None:
        return "–"
    exact = value if isinstance(value, Fraction) else Fraction(str(value))
    rounded = round(exact, places)
    text = f"{Decimal(rounded.numerator) / Decimal(rounded.denominator):.{places}f}"
    text = text.rstrip("0").rstrip(".") if "." in text else text
    return "0" if text in ("-0", "") else text


def median_iqr(summary: Summary) -> str:
    """'median [q1–q3]' or '–' when nothing was collected.

    >>> from jiareg.stats import describe
    >>> median_iqr(describe([1, 2, 4, 8]))
    '3 [1.75–5]'
    """
    if summary.median is None:
        return "–"
    return f"{number(summary.median)} [{number(summary.q1)}–{number(summary.q3)}]"


def p_value(p: float | None) -> str:
    """A p-value with 3 decimals, '<0.001' below that, '–' when not testable.

    >>> p_value(0.0039), p_value(0.0004), p_value(None), p_value(1.0)
    ('0.004', '<0.001', '–', '1.000')
    """
    if p is None:
        return "–"
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def percent(value: float | None) -> str:
    """A proportion as a whole percentage; '<1 %' and '>99 %' rather than a false 0 or 100.

    >>> percent(0.6637), percent(1.0), percent(0.0028), percent(0.0), percent(0.998), percent(None)
    ('66 %', '100 %', '<1 %', '0 %', '>99 %', '–')
    """
    if value is None:
        return "–"
    whole = round(value * 100)
    if whole == 0 and value > 0:
        return "<1 %"
    if whole == 100 and value < 1:
        return ">99 %"
    return f"{whole} %"


def plural(count: int, singular: str, plural_form: str | None = None) -> str:
    """'1 patient', '2 patients'.

    >>> plural(1, "patient"), plural(0, "patient"), plural(3, "adverse event")
    ('1 patient', '0 patients', '3 adverse events')
    """
    word = singular if count == 1 else (plural_form or singular + "s")
    return f"{count} {word}"


def ordinal(n: int) -> str:
    """1st, 2nd, 3rd, 4th, 11th, 12th, 13th, 21st.

    >>> [ordinal(n) for n in (1, 2, 3, 4, 11, 12, 13, 21)]
    ['1st', '2nd', '3rd', '4th', '11th', '12th', '13th', '21st']
    """
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"
