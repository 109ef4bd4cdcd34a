"""Endpoint kinds: one module per kind, each registering itself (see `base`).

Importing this package registers the built-in kinds; a new kind is one more module that
calls `register` (imported here, or by whoever uses it, before the protocol is read).
"""

from jiareg.study.endpoints import (  # noqa: F401  (each import registers its kind)
    acr_pedi,
    adverse_events,
    chaq_over,
    core_set,
    drug_survival,
    inactive_disease,
    remission,
    steroid_change,
    systemic_features,
    time_to_response,
)
from jiareg.study.endpoints.base import (
    EndpointDetails,
    EndpointKind,
    EndpointSpec,
    PlanInputs,
    ReportSection,
    SummaryContext,
    endpoints_of,
    kind_of,
    kinds,
    on_register,
    register,
    unregister,
)

__all__ = [
    "EndpointDetails",
    "EndpointKind",
    "EndpointSpec",
    "PlanInputs",
    "ReportSection",
    "SummaryContext",
    "endpoints_of",
    "kind_of",
    "kinds",
    "on_register",
    "register",
    "unregister",
]
