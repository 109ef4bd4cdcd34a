"""Protocol arms and the comparative design: the `arms:` and `comparison:` keys of a protocol.

An arm is a named exposure (drug, optional route), optionally narrowed to ILAR categories or
sites. Every arm shares the protocol's eligibility rules, timepoints and endpoints; the index
date is, for each patient, the first administration of their arm's drug (a common index date
definition across arms: day 0 is "started the arm's drug").

Assignment (new-user, active-comparator design; Lund JL, Richardson DB, Stürmer T. The
active comparator, new user study design in pharmacoepidemiology. Curr Epidemiol Rep
2015;2:221-228): a patient eligible for two or more arms joins the arm whose drug they started
**first** (the earliest index date); on the same day, the arm listed first in the protocol.
The later course is then follow-up of the first, never a second entry.

`comparison:` names the treated and reference arms, the baseline covariates of the propensity
model (columns of the `patients` analysis dataset, `jiareg.study.datasets`), the adjustment
methods (`iptw`: ATE weights, stabilised, optional trimming; `matching`: 1:1 nearest neighbour
on the logit within a caliper) and the binary endpoints to compare (`jiareg.study.comparative`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final, Literal

from pydantic import Field, field_validator, model_validator

from jiareg.study.endpoints.base import Name, SpecModel
from jiareg.study.endpoints.covariates import Covariate
from jiareg.vocab import BIOLOGICS, IlarCategory

if TYPE_CHECKING:
    from jiareg.study.protocol import Protocol

__all__ = [
    "COMPARABLE_KINDS",
    "SINGLE_ARM",
    "Arm",
    "Comparison",
    "Exposure",
    "check_design",
    "known_drug",
]

SINGLE_ARM: Final = "all"
"""The arm of every patient of a protocol without `arms:`."""

COMPARABLE_KINDS: Final = ("acr_pedi",)
"""Endpoint kinds with a binary per-patient outcome (responder or not) that can be compared."""


def known_drug(drug: str) -> str:
    if drug not in BIOLOGICS:
        raise ValueError(f"unknown drug {drug!r}; expected one of: {', '.join(sorted(BIOLOGICS))}")
    return drug


class Exposure(SpecModel):
    """The drug under study; its first administration is the index date (day 0)."""

    drug: str
    route: Literal["iv", "sc", "oral"] | None = None

    _drug = field_validator("drug")(known_drug)


class Arm(SpecModel):
    """One arm: its exposure and, optionally, the ILAR categories or sites it is limited to
    (on top of the protocol's eligibility, each one more attrition step of the arm)."""

    name: Name
    label: str | None = None
    exposure: Exposure
    ilar_categories: tuple[IlarCategory, ...] | None = Field(None, min_length=1)
    sites: tuple[str, ...] | None = Field(None, min_length=1)

    @property
    def title(self) -> str:
        """The arm as a reader names it: its label, else its name."""
        return self.label or self.name.replace("_", " ")


class Comparison(SpecModel):
    """The comparative analysis of two arms (`jiareg.study.comparative`).

    `treated` is compared with `reference` (risk difference treated − reference, odds ratio
    treated / reference). `methods`: `iptw` — inverse probability of treatment weights for the
    average treatment effect, stabilised (Xu 2010), units with a score below `trim` or above
    1 − `trim` left out (Crump 2009: 0.1) when `trim` is given; `matching` — 1:1 greedy
    nearest neighbour on the logit of the score without replacement, caliper `caliper_sd` ×
    the pooled SD of the logit (Austin 2011: 0.2). `missing_covariates`: `complete_case`
    leaves out a patient with any missing covariate; `indicator` fills a missing number with
    the mean and adds a 0/1 "missing" column (and a missing category as a level of its own).
    """

    treated: Name
    reference: Name
    covariates: tuple[Covariate, ...] = Field(min_length=1)
    methods: tuple[Literal["iptw", "matching"], ...] = Field(("iptw",), min_length=1)
    trim: float | None = Field(None, gt=0, lt=0.5)
    caliper_sd: float = Field(0.2, gt=0)
    missing_covariates: Literal["complete_case", "indicator"] = "complete_case"
    endpoints: tuple[Name, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _distinct(self) -> Comparison:
        for name, values in (
            ("covariates", self.covariates),
            ("methods", self.methods),
            ("endpoints", self.endpoints),
        ):
            repeated = sorted({v for v in values if values.count(v) > 1})
            if repeated:
                raise ValueError(f"{name} repeated: {repeated}")
        if self.treated == self.reference:
            raise ValueError(f"treated and reference are the same arm {self.treated!r}")
        return self


def check_design(protocol: Protocol) -> None:
    """Cross-checks of `arms:` and `comparison:` against the rest of the protocol; raises
    `LocatedError` (its key path finds the YAML line)."""
    from jiareg.study.protocol import LocatedError

    arms = protocol.arms
    if (protocol.eligibility.exposure is None) == (arms is None):
        where = ("eligibility", "exposure") if arms is not None else ("eligibility",)
        raise LocatedError(
            where,
            "give either eligibility.exposure (a single-arm study) or arms (two or more arms), "
            "not both" + (" and not neither" if arms is None else ""),
        )
    if arms is not None:
        names = [arm.name for arm in arms]
        for index, arm in enumerate(arms):
            if arm.name == SINGLE_ARM:
                raise LocatedError(("arms", index, "name"), f"{SINGLE_ARM!r} names no arm")
            if arm.name in names[:index]:
                raise LocatedError(("arms", index, "name"), f"arm {arm.name!r} is repeated")
    comparison = protocol.comparison
    if comparison is None:
        return
    if arms is None:
        raise LocatedError(("comparison",), "a comparison needs arms: (two or more)")
    for key in ("treated", "reference"):
        arm = getattr(comparison, key)
        if arm not in {a.name for a in arms}:
            raise LocatedError(
                ("comparison", key), f"unknown arm {arm!r}; the protocol defines {names}"
            )
    kinds = {e.id: e.kind for e in protocol.endpoints}
    for index, endpoint in enumerate(comparison.endpoints):
        if endpoint not in kinds:
            raise LocatedError(
                ("comparison", "endpoints", index),
                f"unknown endpoint {endpoint!r}; the protocol defines {sorted(kinds)}",
            )
        if kinds[endpoint] not in COMPARABLE_KINDS:
            raise LocatedError(
                ("comparison", "endpoints", index),
                f"endpoint {endpoint!r} is of kind {kinds[endpoint]}; a comparison takes "
                f"binary endpoints of kind {', '.join(COMPARABLE_KINDS)}",
            )
