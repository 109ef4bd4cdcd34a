"""The results paragraph in the poster's style, built only from the computed numbers."""

from __future__ import annotations

from typing import TYPE_CHECKING

from jiareg.report._format import (
    NARRATIVE_NAMES,
    number,
    ordinal,
    percent,
    plural,
    timepoint_label,
)

if TYPE_CHECKING:
    from jiareg.report.analysis import ReportNumbers
    from jiareg.study.endpoints.steroid_change import SteroidCounts


def how_many(k: int, n: int, noun: str = "patient") -> str:
    """'All 9 patients', 'None of the 9 patients', 'The only patient', '7 of 9 patients'.

    >>> how_many(9, 9), how_many(0, 9), how_many(1, 1), how_many(7, 9), how_many(0, 1)
    ('All 9 patients', 'None of the 9 patients', 'The only patient', '7 of 9 patients', \
'The only patient did not')
    """
    nouns = noun + "s"
    if n == 1:
        return f"The only {noun}" + ("" if k else " did not")
    if k == n:
        return f"All {n} {nouns}"
    if k == 0:
        return f"None of the {n} {nouns}"
    return f"{k} of {n} {nouns if n != 1 else noun}"


def _responders(numbers: ReportNumbers) -> str:
    acr, before = numbers.acr_pedi, numbers.before_infusion
    if acr is None:
        return _first_response_endpoint(numbers)
    if acr.n == 0:
        return f"No patient could be evaluated for {numbers.acr_pedi_label}."
    lead = how_many(acr.k, acr.n)
    verb = "meet" if acr.n == 1 and acr.k == 0 else "met"
    ci = f" (95 % CI {percent(acr.ci[0])}–{percent(acr.ci[1])})" if acr.ci else ""
    text = f"{lead} {verb} {numbers.acr_pedi_label} during follow-up{ci}"
    if before is not None and numbers.before_infusion_number is not None and acr.k:
        count = "none" if before.k == 0 else str(before.k)
        text += f"; {count} before the {ordinal(numbers.before_infusion_number)} infusion"
    return text + "."


def _first_response_endpoint(numbers: ReportNumbers) -> str:
    if not numbers.acr_endpoints:
        return ""
    row = numbers.acr_endpoints[0]
    prop = row.proportion
    if prop.n == 0:
        return f"No patient could be evaluated for {row.label}."
    verb = "meet" if prop.n == 1 and prop.k == 0 else "met"
    ci = f" (95 % CI {percent(prop.ci[0])}–{percent(prop.ci[1])})" if prop.ci else ""
    return f"{how_many(prop.k, prop.n)} {verb} {row.label}{ci}."


def _change(name: str, before: str, after: str, tp: str) -> str:
    b, a = float(before), float(after)
    if a < b:
        return f"median {name} fell from {before} to {after}"
    if a > b:
        return f"median {name} rose from {before} to {after}"
    return f"median {name} was {before} at baseline and at {tp}"


def _core_set(numbers: ReportNumbers) -> str:
    followups = [t for t in numbers.timepoints if t != numbers.baseline]
    if not followups:
        return ""
    tp = followups[0]
    parts = []
    for row in numbers.core_set:
        b, a = row.summaries[numbers.baseline].median, row.summaries[tp].median
        if b is None or a is None:
            continue
        parts.append(
            _change(NARRATIVE_NAMES[row.variable], number(b), number(a), timepoint_label(tp))
        )
    if not parts:
        return ""
    joined = ", ".join(parts[:-1]) + (" and " if len(parts) > 1 else "") + parts[-1]
    text = f"From baseline to {timepoint_label(tp)}, {joined}."
    return text[0].upper() + text[1:]


def _by_timepoint(counts: dict[str, int], what: str) -> str:
    order = list(counts)
    if not order:
        return ""
    items = [
        f"{'none' if counts[t] == 0 else plural(counts[t], 'patient')} at {timepoint_label(t)}"
        for t in order
    ]
    text = f"{what}: " + (
        ", ".join(items[:-1]) + " and " + items[-1] if len(items) > 1 else items[0]
    )
    return text + "."


def _steroids(steroids: SteroidCounts, tp: str) -> str:
    users = steroids.baseline_users
    if users == 0:
        return "No patient took systemic corticosteroids at baseline."
    reduced, half = steroids.reduced, steroids.reduced_by_half_or_more
    stopped = steroids.stopped
    text = f"{plural(users, 'patient')} took systemic corticosteroids at baseline; "
    if reduced == 0:
        return text + f"none had a lower dose at {timepoint_label(tp)}."
    who = "all of them" if reduced == users else f"{reduced}"
    text += f"{who} had a lower dose at {timepoint_label(tp)}"
    if half == 0:
        text += ", all by less than 50 %" if reduced > 1 else ", by less than 50 %"
    else:
        text += f" ({half} by 50 % or more"
        text += f", {stopped} stopped)" if stopped else ")"
    return text + "."


def _adverse_events(numbers: ReportNumbers) -> str:
    ae = numbers.adverse_events
    if ae is None:
        return ""
    exposure = f"{number(ae.patient_years, 1)} patient-years"
    count = ae.events
    if ae.rate is None:
        return f"{plural(count, 'adverse event')} reported." if count else "No adverse events."
    ci = f"95 % CI {number(ae.rate.ci[0], 1)}–{number(ae.rate.ci[1], 1)} per 100 patient-years"
    if count == 0:
        return f"No adverse events were reported over {exposure} ({ci})."
    verb = "was" if count == 1 else "were"
    return (
        f"{plural(count, 'adverse event')} {verb} reported over {exposure} "
        f"({number(ae.rate.rate_per_100py, 1)} per 100 patient-years, {ci})."
    )


def results_paragraph(numbers: ReportNumbers) -> str:
    """The generated results paragraph; every figure in it comes from `numbers`."""
    sentences = [_responders(numbers), _core_set(numbers)]
    for row in numbers.counts:
        sentences.append(_by_timepoint(row.counts, row.label.replace(" > ", " above ")))
    if numbers.steroids is not None:
        sentences.append(_steroids(numbers.steroids.summary, numbers.steroids.at))
    sentences.append(_adverse_events(numbers))
    return " ".join(s for s in sentences if s)
