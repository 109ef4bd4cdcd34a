"""The outside world's shapes, each with read and write: `template/` (CSV folder, one CSV,
XLSX workbook), `redcap/` (the project's data dictionary, raw exports), `fhir/` (R4 bundles).

Every reader returns the same raw template tables (`jiareg.formats.cells.RawTable`), which
`jiareg.ingest.validate` checks; `jiareg.formats.sources` picks the reader of a path.
"""
