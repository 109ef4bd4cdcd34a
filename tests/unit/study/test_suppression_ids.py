"""Small-count suppression must not depend on what a protocol calls its endpoints: an endpoint id
that happens to be a count key ("remission" is also a stop reason, "stopped", "events") used to
make the suppression treat the endpoint's whole details as one count and leave the counts
nested in them (its denominators) unsuppressed in a researcher's download."""

from __future__ import annotations

from typing import Any

import pytest

from jiareg.study.deidentify import SUPPRESSED, suppress_small_counts


def _results(endpoint_id: str) -> dict[str, Any]:
    return {
        "n": 12,
        endpoint_id: {"month_6": 3},
        "endpoints": {
            endpoint_id: {
                "kind": "remission",
                "headline": f"/{endpoint_id}",
                "off_medication": {"month_6": 1},
                "on_days": 182,
                "denominators": {
                    "month_6": {
                        "cohort": 12,
                        "evaluable": 9,
                        "not_evaluable": {"no_visit_at_timepoint": 2, "remission_undetermined": 1},
                    }
                },
            }
        },
    }


@pytest.mark.parametrize("endpoint_id", ["clinical_remission", "remission", "stopped", "events"])
def test_an_endpoints_counts_are_suppressed_whatever_its_id(endpoint_id: str) -> None:
    out = suppress_small_counts(_results(endpoint_id))
    assert out[endpoint_id] == {"month_6": SUPPRESSED}
    details = out["endpoints"][endpoint_id]
    assert details["off_medication"] == {"month_6": SUPPRESSED}
    assert details["on_days"] == 182  # a setting, not a count
    counted = details["denominators"]["month_6"]
    assert counted["evaluable"] == 9 and counted["cohort"] == 12
    assert counted["not_evaluable"] == {
        "no_visit_at_timepoint": SUPPRESSED,
        "remission_undetermined": SUPPRESSED,
    }
