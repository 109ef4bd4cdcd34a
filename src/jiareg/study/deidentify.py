"""De-identified study results: what a researcher, or anyone given results.json, may see.

- `research_id`: the pseudonym of a registry patient id, `R` + the first 16 hex digits of
  HMAC-SHA256(registry key, "id:" + patient_id); the same as `jiareg export --deidentify`
  writes, so results link to the de-identified export but not back to the registry. Keyed, so
  sequential registry ids cannot be hashed one by one to find a pseudonym.
- `whole_year_ages`: `age_years` and `disease_duration_years` floored to whole (completed)
  years: with a visit date, an age to two decimals gave a birth date within a day.
- `deidentify`: both, and each endpoint's `responder_ids` in pseudonym order.
- `suppress_small_counts`: counts of 1 to 4 in a results.json shown as "<5";
  `researcher_view` adds responder ids in (pseudonym) order, for the web's researchers.

Rules and sources: docs/reference/deidentification.md (issue 12, finding 4).
"""

from __future__ import annotations

import hashlib
import hmac
import math
from collections.abc import Callable
from typing import Any, Final

from jiareg.study.endpoints.common import RangeIqr
from jiareg.study.endpoints.index_course import NOT_RECORDED
from jiareg.study.endpoints.missing import IMPUTATION_REASONS
from jiareg.study.results_json import Results
from jiareg.vocab import STOP_REASONS

__all__ = [
    "SMALL_CELL",
    "SUPPRESSED",
    "deidentify",
    "research_id",
    "researcher_view",
    "suppress_small_counts",
    "whole_year_ages",
]

SMALL_CELL: Final = 5
"""Counts below this (and above 0) are suppressed: the common "cell size < 5" rule."""
SUPPRESSED: Final = f"<{SMALL_CELL}"
_COUNTS: Final = frozenset(
    {
        "n",
        "cohort",
        "evaluable",
        "n_remaining",
        "n_excluded",
        "responders",
        "nonresponders",
        "not_evaluable",
        "n_missing",
        "events",
        "patients_with_event",
        "serious",
        "n_pairs",
        "n_zero",
        "n_events",
        "at_risk",
        "censored",
        "baseline_users",
        "reduced",
        "reduced_by_half_or_more",
        "stopped",
        "no_visit_at_timepoint",
        "undetermined",
        "lowest_below_baseline",
        "inactive",
        "not_inactive",
        "unknown",
        "remission_undetermined",  # jiareg.study.endpoints.remission
        # the comparison of arms (jiareg.study.comparison_json)
        "count",
        "n_treated",
        "n_left_out",
        "n_trimmed",
        "pairs",
        "unmatched_treated",
        # drug survival and missing data (jiareg.study.endpoints.drug_survival, .missing)
        "n_stopped",
        "without_course_record",
        "excluded_missing_covariates",
        *STOP_REASONS,
        NOT_RECORDED,
        *IMPUTATION_REASONS,
        "no_follow_up_after_index",
        "stop_date_before_index_date",
    }
)
"""Keys whose number is a count of patients (or of their events) wherever they appear."""
_COUNT_TABLES: Final = frozenset(
    {
        "categories",
        "sex",
        "prior_anti_tnf",
        "timepoints",
        "counts",
        "by_term",
        "not_reduced",
        "off_medication",
    }
)
"""Keys whose value maps a group to a count of patients (or events)."""
_COUNT_HEADLINES: Final = frozenset(
    {"chaq_over", "systemic_features", "inactive_disease", "remission"}
)
"""Endpoint kinds whose headline maps each timepoint to a count of patients."""
_AGES: Final = ("age_years", "disease_duration_years")
_DERIVED: Final = frozenset({"proportion", "ci95", "rate_per_100py", "rate_ci95", "mean"})
"""Numbers computed from a dictionary's counts: withheld (null) beside a suppressed count."""


def research_id(key: bytes, patient_id: str) -> str:
    """The researcher's pseudonym of `patient_id` (keyed; see the module docstring).

    >>> research_id(b"k", "AR-001")
    'Raea69717826d44cf'
    """
    digest = hmac.new(key, f"id:{patient_id}".encode(), hashlib.sha256).hexdigest()
    return "R" + digest[:16]


def _floored(stats: RangeIqr) -> RangeIqr:
    def floor(x: float | None) -> int | None:
        return None if x is None or math.isnan(x) else math.floor(x)

    return stats.model_copy(
        update={k: floor(getattr(stats, k)) for k in ("median", "min", "max", "q1", "q3")}
    )


def whole_year_ages(results: Results) -> Results:
    """`results` with `age_years` and `disease_duration_years` (median, quartiles, min, max)
    floored to whole years, as completed years of age are counted."""
    return results.model_copy(update={k: _floored(getattr(results, k)) for k in _AGES})


def deidentify(results: Results, pseudonym: Callable[[str], str]) -> Results:
    """A de-identified copy of `results`: whole-year ages (`whole_year_ages`) and every
    endpoint's `responder_ids` replaced by `pseudonym(id)`, listed in pseudonym order (the
    registry-id order would map pseudonyms back to sequential ids)."""
    endpoints = {
        name: (
            details.model_copy(
                update={"responder_ids": sorted(pseudonym(p) for p in details.responder_ids)}
            )
            if hasattr(details, "responder_ids")
            else details
        )
        for name, details in results.endpoints.items()
    }
    return whole_year_ages(results).model_copy(update={"endpoints": endpoints})


def _small(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value < SMALL_CELL


def _suppressed(value: Any, counts: bool = False) -> Any:
    if isinstance(value, list):
        return [_suppressed(v) for v in value]
    if not isinstance(value, dict):
        return SUPPRESSED if counts and _small(value) else value
    out = {
        k: _suppressed(v, counts=k in _COUNTS or (k in _COUNT_TABLES and isinstance(v, dict)))
        if not counts
        else (SUPPRESSED if _small(v) else v)
        for k, v in value.items()
    }
    if any(out[k] == SUPPRESSED for k in value if k in _COUNTS):
        out.update({k: None for k in value if k in _DERIVED})
    return out


def suppress_small_counts(results: dict[str, Any]) -> dict[str, Any]:
    """A results.json (parsed) with every count of 1 to 4 patients or events shown as "<5".

    Counts are the values under the keys of `_COUNTS` and of the group tables `_COUNT_TABLES`,
    and an endpoint's headline when it is a count (or, for `_COUNT_HEADLINES`, a table of
    counts). Zero stays 0. A proportion, rate or confidence interval beside a suppressed count
    is withheld (null), in the headline and in the endpoint's details alike (each number is
    stored once, so a headline's count and the details' interval sit apart); other
    complementary counts are not suppressed (no secondary suppression:
    docs/reference/deidentification.md).
    """
    endpoints = results.get("endpoints", {})
    # An endpoint id is a name the protocol chose, never a count key: its headline and its
    # details go through the rules on their own ("remission" is also a stop reason).
    out: dict[str, Any] = _suppressed({k: v for k, v in results.items() if k not in endpoints})
    out["endpoints"] = {name: _suppressed(details) for name, details in endpoints.items()}
    for name, details in endpoints.items():
        headline = results.get(name)
        if isinstance(headline, int) or (
            isinstance(headline, dict) and details.get("kind") in _COUNT_HEADLINES
        ):
            out[name] = _suppressed(headline, counts=True)
        elif name in results:
            out[name] = _suppressed(headline)
        shown = out.get(name)
        hidden = shown == SUPPRESSED or (
            isinstance(shown, dict) and any(shown.get(k) == SUPPRESSED for k in _COUNTS)
        )
        if hidden and isinstance(out["endpoints"].get(name), dict):
            out["endpoints"][name] = {
                k: None if k in _DERIVED else v for k, v in out["endpoints"][name].items()
            }
    return {k: out[k] for k in results}  # the keys in their order


def researcher_view(results: dict[str, Any]) -> dict[str, Any]:
    """A results.json (parsed, its ids already the reader's pseudonyms) as a researcher
    downloads it: each `responder_ids` list sorted, ages in whole years (for runs written
    before they were), small counts suppressed."""

    def ordered(value: Any) -> Any:
        if isinstance(value, dict):
            return {
                k: sorted(v) if k == "responder_ids" and isinstance(v, list) else ordered(v)
                for k, v in value.items()
            }
        return [ordered(v) for v in value] if isinstance(value, list) else value

    out = ordered(results)
    for name in _AGES:
        if isinstance(out.get(name), dict):
            out[name] = {
                k: math.floor(v) if isinstance(v, float) and math.isfinite(v) else v
                for k, v in out[name].items()
            }
    return suppress_small_counts(out)
