"""Someone else's CSV, workbook or REDCap export read through a mapping file (INTERFACE.md,
"Mapping files"): `model` (the file), `apply` (reading a source through it), `suggest`
(drafting one from a source's header and a REDCap data dictionary)."""

from __future__ import annotations

from jiareg.formats.mapping.apply import read_mapped
from jiareg.formats.mapping.model import MappingFile, load_mapping

__all__ = ["MappingFile", "load_mapping", "read_mapped"]
