"""CHAQ disability index (SPEC R-CHAQ): 8 domains, 30 items, aids/help rule, minimum domains.

Source: Singh G, Athreya BH, Fries JF, Goldsmith DP. Arthritis Rheum 1994;37(12):1761-1769
(citation unverified — from memory). Scoring verified from the CHAQ chapter of "Patient Reported
Outcome Measures in Rheumatic Diseases", the NINDS CDE page and the rheumguide.ca calculator.
Simplified CHAQ (no aids/help rule): Ann Rheum Dis 2010;69(1):82-87.

The scalar form takes one visit's items; the columnar form (`chaq_di_table`) takes the long
`chaq_items` table (patient_id, visit_date, item, score, aid) and returns one DI per visit.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Final, Literal

import ibis
import ibis.expr.types as ir

from jiareg.derive.config import DEFAULT_CONFIG
from jiareg.derive.exact import UNITS, to_fraction
from jiareg.errors import DerivationError

__all__ = [
    "AID_MIN_SCORE",
    "CHAQ_DOMAINS",
    "CHAQ_ITEMS",
    "ChaqResult",
    "ChaqScoring",
    "chaq_di",
    "chaq_di_table",
    "chaq_domain_score",
    "entered_chaq_di",
    "format_chaq_di",
]

ChaqScoring = Literal["original", "without_aids_help"]

CHAQ_DOMAINS: Final[dict[str, tuple[str, ...]]] = {
    domain: tuple(f"{domain}_{i}" for i in range(1, n + 1))
    for domain, n in (
        ("dressing", 4),
        ("arising", 2),
        ("eating", 3),
        ("walking", 2),
        ("hygiene", 5),
        ("reach", 4),
        ("grip", 5),
        ("activities", 5),
    )
}
"""The 8 CHAQ domains in form order and their item keys (30 items; SPEC R-CHAQ-1)."""

CHAQ_ITEMS: Final[dict[str, str]] = {
    item: domain for domain, items in CHAQ_DOMAINS.items() for item in items
}
"""Item key -> its domain."""

_ITEM_HINT: Final = "dressing_1..4, arising_1..2, eating_1..3, walking_1..2, hygiene_1..5, " + (
    "reach_1..4, grip_1..5, activities_1..5"
)


AID_MIN_SCORE: Final = 2
"""Aids/devices or help in a domain raise its score to at least 2 (original scoring)."""

_MAX_ITEM: Final = 3
_MAX_DI: Final = Fraction(3)


@dataclass(frozen=True, slots=True)
class ChaqResult:
    """A CHAQ disability index with how it was obtained.

    `di` is exact (None when fewer than the minimum domains were scored); `n_domains` counts the
    scored domains (None for an entered DI); `domain_scores` maps each domain to its score (None
    = unscored); `source` is "items" or "entered" (R-CORESET-3).
    """

    di: Fraction | None
    n_domains: int | None
    domain_scores: Mapping[str, int | None] = field(default_factory=dict)
    source: Literal["items", "entered"] = "items"


def chaq_domain_score(
    scores: list[int], aid: bool, *, scoring: ChaqScoring = DEFAULT_CONFIG.chaq_scoring
) -> int | None:
    """One domain's score: the highest non-NA item score; aids/help raise it to at least 2.

    `scores` holds the domain's answered items (0-3, NA items left out). With no answered item
    the domain is unscored (None), even if aids/help were recorded (jiareg choice). With
    `scoring="without_aids_help"` (simplified CHAQ) the aids/help rule is skipped.
    Source: Singh 1994; SPEC R-CHAQ-2 steps 1-3.

    >>> chaq_domain_score([1, 0, 0], aid=True), chaq_domain_score([], aid=True)
    (2, None)
    """
    if not scores:
        return None
    top = max(scores)
    if aid and scoring == "original":
        return max(top, AID_MIN_SCORE)
    return top


def chaq_di(
    items: Mapping[str, int | None],
    aids: Mapping[str, bool | None],
    *,
    scoring: ChaqScoring = DEFAULT_CONFIG.chaq_scoring,
    min_domains: int = DEFAULT_CONFIG.chaq_min_domains,
) -> ChaqResult:
    """CHAQ disability index: mean of the scored domain scores, exact, 0-3.

    `items` maps item keys of `CHAQ_DOMAINS` (e.g. "dressing_1") to 0-3 or None (= NA; an item
    absent from the mapping is NA too). `aids` maps a domain name to True when aids/devices or
    help from another person were recorded for it. DI = sum of scored domains / their number;
    fewer than `min_domains` scored domains -> DI None (6 of 8 by default, unverified for the
    CHAQ). Display rounding is `format_chaq_di`'s job, never done here.
    Source: Singh 1994; SPEC R-CHAQ-2 (worked examples §11.3).

    >>> r = chaq_di({"dressing_1": 1, "arising_1": 2, "eating_1": 1, "walking_1": 1,
    ...              "hygiene_1": 0, "reach_1": 0, "grip_1": 1}, {})
    >>> r.di, r.n_domains
    (Fraction(6, 7), 7)
    """
    for key, value in items.items():
        if key not in CHAQ_ITEMS:
            raise DerivationError(f"CHAQ item {key!r} is unknown; expected one of {_ITEM_HINT}")
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= _MAX_ITEM
        ):
            raise DerivationError(
                f"CHAQ item {key!r} = {value!r}; expected an integer score 0-3 or NA"
            )
    for domain in aids:
        if domain not in CHAQ_DOMAINS:
            raise DerivationError(
                f"CHAQ aids/help domain {domain!r} is unknown; expected one of "
                f"{', '.join(CHAQ_DOMAINS)}"
            )
    domain_scores: dict[str, int | None] = {}
    for domain, keys in CHAQ_DOMAINS.items():
        answered = [v for k in keys if (v := items.get(k)) is not None]
        domain_scores[domain] = chaq_domain_score(answered, bool(aids.get(domain)), scoring=scoring)
    scored = [s for s in domain_scores.values() if s is not None]
    di = Fraction(sum(scored), len(scored)) if len(scored) >= min_domains else None
    return ChaqResult(di=di, n_domains=len(scored), domain_scores=domain_scores)


def entered_chaq_di(value: object) -> ChaqResult:
    """A directly entered CHAQ DI (0 <= DI <= 3), flagged `source="entered"`.

    Used when the record holds the DI but not the items. Source: SPEC R-CORESET-3.

    >>> entered_chaq_di("1.125")
    ChaqResult(di=Fraction(9, 8), n_domains=None, domain_scores={}, source='entered')
    """
    di = to_fraction(value)
    if di is not None and not 0 <= di <= _MAX_DI:
        raise DerivationError(f"CHAQ DI = {value!r}; expected a number from 0 to 3")
    return ChaqResult(di=di, n_domains=None, source="entered")


def format_chaq_di(di: Fraction | None) -> str:
    """The DI for display: 3 decimals, half up; "" when missing. Never used in computation.

    Source: SPEC R-CHAQ-2.4 ("report rounded to 3 decimals only for display").

    >>> format_chaq_di(Fraction(6, 7)), format_chaq_di(Fraction(9, 8)), format_chaq_di(None)
    ('0.857', '1.125', '')
    """
    if di is None:
        return ""
    exact = Decimal(di.numerator) / Decimal(di.denominator)
    return str(exact.quantize(Decimal("0.001"), rounding=ROUND_HALF_UP))


def chaq_di_table(
    chaq_items: ir.Table,
    *,
    scoring: ChaqScoring = DEFAULT_CONFIG.chaq_scoring,
    min_domains: int = DEFAULT_CONFIG.chaq_min_domains,
) -> ir.Table:
    """Ibis: the CHAQ DI of every visit of a `chaq_items` table (same rule as `chaq_di`).

    Input columns: patient_id, visit_date, item (a key of `CHAQ_ITEMS`), score (0-3, NULL = NA),
    aid (bool; True on any item row records aids/help for that item's domain). Output: one row
    per (patient_id, visit_date) with `chaq_n_domains` (int) and `chaq_di` (float64 for display,
    NULL below `min_domains`) and `chaq_di_units` (exact int64 units of 1/21000, see
    `jiareg.derive.exact.UNITS`) for threshold decisions. Unknown item keys get no domain and
    are ignored here; validation belongs to ingest.
    Source: Singh 1994; SPEC R-CHAQ-2.
    """
    domain = chaq_items.item.cases(*CHAQ_ITEMS.items(), else_=ibis.null("string"))
    per_domain = (
        chaq_items.mutate(domain=domain)
        .filter(lambda t: t.domain.notnull())
        .group_by(["patient_id", "visit_date", "domain"])
        .aggregate(
            top=lambda t: t.score.max(),
            any_aid=lambda t: t.aid.fill_null(False).any(),
        )
    )
    if scoring == "original":
        score = ibis.ifelse(
            per_domain.top.notnull() & per_domain.any_aid,
            ibis.greatest(per_domain.top, AID_MIN_SCORE),
            per_domain.top,
        )
    else:
        score = per_domain.top
    per_domain = per_domain.mutate(domain_score=score.cast("int64"))
    per_visit = per_domain.group_by(["patient_id", "visit_date"]).aggregate(
        total=lambda t: t.domain_score.sum(),
        chaq_n_domains=lambda t: t.domain_score.count(),
    )
    enough = per_visit.chaq_n_domains >= min_domains
    units = ibis.ifelse(
        enough, (per_visit.total * UNITS) // per_visit.chaq_n_domains, ibis.null("int64")
    )
    return per_visit.mutate(
        chaq_di=ibis.ifelse(enough, per_visit.total / per_visit.chaq_n_domains, ibis.null()),
        chaq_di_units=units.cast("int64"),
    ).drop("total")
