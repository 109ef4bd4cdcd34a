"""Outside world -> validated template tables: readers, the data dictionary, validation, import.

Public API: `import_path` (all-or-nothing import into a registry), `read_template` (validated
Arrow tables without a registry), `save_record` / `delete_record` (one audited record, the
web app's writes).
"""

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
