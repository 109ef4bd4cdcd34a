"""Outside world -> validated template tables: readers, the data dictionary, validation, import.

Public API: `import_path` (all-or-nothing import into a registry), `read_template` (validated
Arrow tables without a registry), `save_record` / `delete_record` (one audited record, the
web app's writes).

The API is imported from `jiareg.ingest.importer` on first use, so that light modules of the
package (`jiareg.ingest.sources.Format`, an option type of `jiareg import`) can be imported
without SQLAlchemy, Ibis and pyarrow.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from jiareg.ingest.importer import (
        ImportSummary,
        RecordChange,
        delete_record,
        import_path,
        read_template,
        save_record,
    )

__all__ = [
    "ImportSummary",
    "RecordChange",
    "delete_record",
    "import_path",
    "read_template",
    "save_record",
]


def __getattr__(name: str) -> Any:
    """The public API, from `jiareg.ingest.importer` when first asked for (PEP 562)."""
    if name in __all__:
        from jiareg.ingest import importer

        return getattr(importer, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
