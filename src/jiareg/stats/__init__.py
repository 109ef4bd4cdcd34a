"""Small-sample statistics for study reports: pure functions returning frozen result objects.

Nothing here prints, reads or writes files; `report/` decides how results are shown.
"""

from jiareg.stats.describe import Summary, describe
from jiareg.stats.paired import WilcoxonResult, wilcoxon_signed_rank
from jiareg.stats.proportions import ProportionResult, clopper_pearson
from jiareg.stats.rates import RateResult, incidence_per_100py
from jiareg.stats.survival import KaplanMeierResult, KaplanMeierRow, kaplan_meier

__all__ = [
    "KaplanMeierResult",
    "KaplanMeierRow",
    "ProportionResult",
    "RateResult",
    "Summary",
    "WilcoxonResult",
    "clopper_pearson",
    "describe",
    "incidence_per_100py",
    "kaplan_meier",
    "wilcoxon_signed_rank",
]
