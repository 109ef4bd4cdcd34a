"""Small-sample statistics for study reports: pure functions returning frozen result objects.

Nothing here prints, reads or writes files; `report/` decides how results are shown.
"""

from jiareg.stats.balance import (
    BalanceRow,
    BalanceTable,
    balance_table,
    standardized_mean_difference,
)
from jiareg.stats.describe import Summary, describe
from jiareg.stats.drug_survival import (
    CompetingRisks,
    CoxResult,
    GroupSurvival,
    cox_model,
    cumulative_incidence,
    kaplan_meier_by_group,
)
from jiareg.stats.effects import BinaryEffects, EValue, binary_effects, e_value
from jiareg.stats.paired import WilcoxonResult, wilcoxon_signed_rank
from jiareg.stats.propensity import (
    IptwWeights,
    MatchResult,
    PropensityModel,
    iptw_weights,
    match_on_logit,
    propensity_scores,
)
from jiareg.stats.proportions import ProportionResult, clopper_pearson
from jiareg.stats.rates import RateResult, incidence_per_100py
from jiareg.stats.survival import KaplanMeierResult, KaplanMeierRow, kaplan_meier

__all__ = [
    "BalanceRow",
    "BalanceTable",
    "BinaryEffects",
    "CompetingRisks",
    "CoxResult",
    "EValue",
    "GroupSurvival",
    "IptwWeights",
    "KaplanMeierResult",
    "KaplanMeierRow",
    "MatchResult",
    "PropensityModel",
    "ProportionResult",
    "RateResult",
    "Summary",
    "WilcoxonResult",
    "balance_table",
    "binary_effects",
    "clopper_pearson",
    "cox_model",
    "cumulative_incidence",
    "describe",
    "e_value",
    "incidence_per_100py",
    "iptw_weights",
    "kaplan_meier",
    "kaplan_meier_by_group",
    "match_on_logit",
    "propensity_scores",
    "standardized_mean_difference",
    "wilcoxon_signed_rank",
]
