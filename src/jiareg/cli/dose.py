"""`jiareg dose`: the label dose of a biologic for one child (SPEC R-DOSE)."""

from __future__ import annotations

import json
from fractions import Fraction

import typer

from jiareg.derive.dose_flags import FLAG_MEANINGS
from jiareg.derive.dosing import DoseCheck, label_dose
from jiareg.derive.exact import to_fraction
from jiareg.errors import DerivationError, InputError
from jiareg.jsonable import json_number


def _text(value: Fraction) -> str:
    shown = json_number(value)
    return f"{shown:g}" if isinstance(shown, float) else str(shown)


def _human(check: DoseCheck, weight: Fraction, category: str) -> str:
    lines = [f"{check.drug} {check.route.upper()}, {category}, {_text(weight)} kg"]
    if check.expected_mg is None:
        lines.append("  dose:      none (not labelled)")
    else:
        per_kg = f" ({_text(check.mg_per_kg)} mg/kg)" if check.mg_per_kg is not None else ""
        lines.append(f"  dose:      {_text(check.expected_mg)} mg{per_kg}")
    if check.interval_days is not None:
        weeks, rest = divmod(check.interval_days, 7)
        in_weeks = f" ({weeks} week{'s' if weeks > 1 else ''})" if weeks and not rest else ""
        lines.append(f"  interval:  every {check.interval_days} days{in_weeks}")
    if check.band is not None:
        lines.append(f"  band:      {check.band}")
    if not check.flags:
        lines.append("  flags:     none")
    for flag in check.flags:
        lines.append(f"  flag:      {flag}: {FLAG_MEANINGS[flag]}")
    return "\n".join(lines)


def dose(
    drug: str = typer.Argument(
        ..., help="Generic name: tocilizumab, etanercept, adalimumab or infliximab."
    ),
    weight: str = typer.Option(..., "--weight", help="Body weight in kg at the visit, e.g. 29.9."),
    category: str = typer.Option(
        ...,
        "--category",
        help="sJIA, pJIA, JIA (anti-TNF only) or an ILAR code (systemic → sJIA, others → pJIA).",
    ),
    route: str | None = typer.Option(
        None, "--route", help="iv or sc (default: iv for tocilizumab and infliximab, else sc)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object instead of text."),
) -> None:
    """Print the label dose of a biologic for one child, with its flags explained.

    jiareg checks doses against the label; it never prescribes.
    The tocilizumab band is decided exactly at its cut-off (30.0 kg takes 8 mg/kg); weights
    next to it are flagged WEIGHT_BAND_BOUNDARY, and every flag is explained in the output.
    JSON keys: drug, route, dose_mg, mg_per_kg, interval_days, band, flags.

    Example: jiareg dose tocilizumab --weight 29.9 --category sJIA --json
    """
    try:
        weight_kg = to_fraction(weight)
    except DerivationError:
        weight_kg = None
    if weight_kg is None or weight_kg <= 0:
        raise InputError(f"--weight {weight!r}: expected a positive number of kg, e.g. 29.9")
    check = label_dose(drug, weight_kg=weight_kg, category=category, route=route)
    if as_json:
        payload = {
            "drug": check.drug,
            "route": check.route,
            "dose_mg": json_number(check.expected_mg),
            "mg_per_kg": json_number(check.mg_per_kg),
            "interval_days": check.interval_days,
            "band": check.band,
            "flags": list(check.flags),
        }
        typer.echo(json.dumps(payload, ensure_ascii=False))
    else:
        typer.echo(_human(check, weight_kg, category))


def register(app: typer.Typer) -> None:
    """Add `jiareg dose` to the root app."""
    app.command("dose")(dose)
