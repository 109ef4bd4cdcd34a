"""Check a FHIR bundle against fhir.resources' R4B models before reading it: every structural
problem names the entry, the resource and the JSON path."""

from __future__ import annotations

from pydantic import ValidationError

from jiareg.errors import ImportRowError

__all__ = ["check_structure"]


def _model_problems(
    file: str, exc: ValidationError, prefix: tuple[str | int, ...], where: str
) -> list[ImportRowError]:
    """One problem per pydantic error, located by its JSON path in the bundle."""
    out = []
    for err in exc.errors():
        loc = (*prefix, *err["loc"])
        path = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc).lstrip(".")
        entry = loc[1] if len(loc) > 1 and isinstance(loc[1], int) else 0
        out.append(
            ImportRowError(
                file=file,
                row=entry,
                where=where,
                column=path,
                value=err.get("input"),
                expected=err["msg"],
            )
        )
    return out


def check_structure(doc: object, file: str) -> list[ImportRowError]:
    """Check the bundle against fhir.resources' R4B models, one resource at a time (so only
    one resource's model is alive at once: a 300,000-resource bundle stays in memory once)."""
    from fhir.resources.R4B import get_fhir_model_class
    from fhir.resources.R4B.bundle import Bundle

    if not isinstance(doc, dict) or doc.get("resourceType") != "Bundle":
        value = doc.get("resourceType") if isinstance(doc, dict) else type(doc).__name__
        return [
            ImportRowError(
                file=file, row=0, column="resourceType", value=value, expected="a FHIR Bundle"
            )
        ]
    if doc.get("type") not in ("collection", "transaction"):
        return [
            ImportRowError(
                file=file,
                row=0,
                column="type",
                value=doc.get("type"),
                expected="collection or transaction",
            )
        ]
    entries = doc.get("entry") or []
    envelope = {**doc, "entry": [{k: v for k, v in e.items() if k != "resource"} for e in entries]}
    try:
        Bundle.model_validate(envelope)
    except ValidationError as exc:
        return _model_problems(file, exc, (), "Bundle")
    out: list[ImportRowError] = []
    for i, entry in enumerate(entries):
        resource = entry.get("resource") or {}
        kind = str(resource.get("resourceType", ""))
        where = f"{kind}/{resource.get('id', '')}"
        try:
            model = get_fhir_model_class(kind)
        except ValueError:
            out.append(
                ImportRowError(
                    file=file,
                    row=i,
                    where=where,
                    column=f"entry[{i}].resource.resourceType",
                    value=kind or None,
                    expected="a FHIR R4 resource type",
                )
            )
            continue
        try:
            model.model_validate(resource)
        except ValidationError as exc:
            out += _model_problems(file, exc, ("entry", i, "resource"), where)
    return out
