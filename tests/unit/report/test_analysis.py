"""Reading the report's numbers back from a StudyResult (endpoints found by kind)."""

import pytest

from jiareg.report.analysis import compute


def test_core_set_medians_are_the_posters(study_result) -> None:
    numbers = compute(study_result)
    medians = {
        row.variable: (
            float(row.summaries["baseline"].median),
            float(row.summaries["month_1"].median),
        )
        for row in numbers.core_set
    }
    assert medians == {
        "active_joints": (11, 4),
        "lom_joints": (4, 3),
        "phys_global": (0.45, 0.24),
        "parent_global": (0.1, 0.05),
        "chaq": (0.5, 0.25),
        "esr": (35, 3),
    }
    assert numbers.timepoints == ("baseline", "month_1")


def test_paired_tests_are_read_exactly(study_result) -> None:
    numbers = compute(study_result)
    esr = next(r for r in numbers.core_set if r.variable == "esr")
    test = esr.tests["month_1"]
    # ESR differences: -32 -55 -18 -70 -27 -46 -13 -32 -34 -> all 9 negative, one tie (32).
    assert test.n_pairs == 9
    assert test.median_difference == -32
    assert test.p_value is not None and test.p_value < 0.01
    phys = next(r for r in numbers.core_set if r.variable == "phys_global")
    assert phys.tests["month_1"].median_difference == pytest.approx(-0.21)


def test_responders_and_time_to_response(study_result) -> None:
    numbers = compute(study_result)
    assert numbers.acr_pedi is not None and numbers.acr_pedi.ci is not None
    assert (numbers.acr_pedi.k, numbers.acr_pedi.n) == (9, 9)
    assert numbers.acr_pedi.ci[0] == pytest.approx(0.6637, abs=5e-5)
    assert numbers.acr_pedi_label == "ACR Pedi 30"
    assert numbers.before_infusion is not None and numbers.before_infusion.k == 7
    assert numbers.before_infusion_number == 3
    assert numbers.not_evaluable == 0
    ttr = numbers.time_to_response
    assert ttr is not None and ttr.km is not None
    assert sorted(ttr.days) == [14] * 7 + [30, 60]
    assert all(ttr.responded)
    assert ttr.km.median == 14.0
    assert ttr.km.table[-1].survival == 0.0


def test_adverse_events(study_result) -> None:
    ae = compute(study_result).adverse_events
    assert ae is not None and ae.rate is not None
    assert (ae.events, ae.serious, ae.by_term) == (0, 0, {})
    assert ae.rate.ci[1] == pytest.approx(3.689 * 100 / ae.patient_years, abs=0.01)


def test_protocol_without_the_optional_endpoints(study_result) -> None:
    kept = tuple(e for e in study_result.protocol.endpoints if e.kind == "core_set")
    protocol = study_result.protocol.model_copy(update={"endpoints": kept})
    from dataclasses import replace

    numbers = compute(replace(study_result, protocol=protocol))
    assert (numbers.acr_pedi, numbers.time_to_response, numbers.adverse_events) == (
        None,
        None,
        None,
    )
    assert len(numbers.core_set) == 6


def test_a_result_without_an_endpoint_of_the_protocol_fails_loudly(study_result) -> None:
    """The protocol's steroid endpoint is `steroids`; results naming it otherwise are refused
    by the model, and results lacking it stop the report instead of rendering it empty."""
    from dataclasses import replace

    from pydantic import ValidationError

    from jiareg.study.results_json import Results

    content = study_result.results.to_json()
    content["steroid"] = content.pop("steroids")
    with pytest.raises(ValidationError, match="neither a results key nor an endpoint id"):
        Results.model_validate(content)
    del content["steroid"]
    del content["endpoints"]["steroids"]
    with pytest.raises(KeyError, match="steroids"):
        compute(replace(study_result, results=Results.model_validate(content)))
