"""CodeSystem resources publishing jiareg's own codes (`https://jiareg.org/fhir/CodeSystem/*`).

`write.py` puts them in every bundle it writes, so a receiving system can resolve each jiareg
coding (R4 CodeSystem: url, status, content, concepts). Codes come from `jiareg.vocab` and
the template's data dictionary, never re-declared here. The reader (`read.py`) counts
other definitional resources as skipped (they are not data) and passes over jiareg's own.
"""

from __future__ import annotations

from typing import Final

from jiareg.formats.fhir import codes as fc
from jiareg.formats.fhir.rows import Json
from jiareg.formats.template.dictionary import table
from jiareg.vocab import DRUGS, ILAR_CATEGORIES, SCALES, STOP_REASONS, TREATMENT_ROUTES

__all__ = ["DEFINITIONAL", "code_systems"]

DEFINITIONAL: Final = frozenset(
    {"CodeSystem", "ValueSet", "ConceptMap", "NamingSystem", "StructureDefinition"}
)
"""Resource types that define codes or structures: never data, skipped on reading (as is an
OperationOutcome, a server's message, e.g. in a searchset)."""

_JOINT_FLAGS: Final = ("swollen", "tender", "painful_motion", "limited_motion")


def _observation_codes() -> tuple[str, ...]:
    own = tuple(c for c, (s, _, _) in fc.OBSERVATIONS.items() if s == fc.OBSERVATION)
    return (*own, fc.JOINT_EXAM, fc.CHAQ_AID, *_JOINT_FLAGS)


def _systems() -> dict[str, tuple[str, tuple[str, ...]]]:
    """CodeSystem url -> (title, its codes); a system without a closed list has no codes."""
    return {
        fc.OBSERVATION: ("jiareg observations", _observation_codes()),
        fc.ILAR: ("ILAR categories of JIA (Petty 2004)", ILAR_CATEGORIES),
        fc.SCALE: ("Scales of a global assessment", SCALES),
        fc.DRUG: ("Drugs (lower-case generic names)", tuple(d.name for d in DRUGS)),
        fc.ROUTE: ("Routes of a treatment course", TREATMENT_ROUTES),
        fc.STOP_REASON: ("Why a course stopped", STOP_REASONS),
        fc.MEDICATION_CATEGORY: ("Kinds of medication statement", ("biologic-course", "steroid")),
        fc.SERIOUSNESS: ("Seriousness of an adverse event", ("serious", "non-serious")),
        fc.CHAQ_ITEM: ("CHAQ items", table("chaq_items").column("item").codes),
        fc.JOINT: ("Joints examined (free text in the template)", ()),
    }


def code_systems() -> list[Json]:
    """One R4 CodeSystem per jiareg code system."""
    out: list[Json] = []
    for url, (title, codes) in _systems().items():
        name = url.rsplit("/", 1)[-1]
        system: Json = {
            "resourceType": "CodeSystem",
            "id": f"jiareg-{name}",
            "url": url,
            "name": "Jiareg" + "".join(p.title() for p in name.split("-")),
            "title": title,
            "status": "active",
            "content": "complete" if codes else "not-present",
        }
        if codes:
            system["concept"] = [{"code": c} for c in codes]
        out.append(system)
    return out
