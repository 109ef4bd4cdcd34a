"""Studies: a YAML protocol compiled to an Ibis plan over the registry, and its typed result.

`protocol` (pydantic models of the YAML; `protocol_file` reads it with located errors),
`cohort`, `timepoints`, `visits` (Ibis expressions, no execution), `endpoints/` (one module per
endpoint kind: protocol model, plan, summary, result models, optional report section),
`summarise` (the numbers, in Python with `jiareg.stats`), `run` (the only module that
executes), `results_json` (`Results`, the typed content of results.json), `data_hash`
(provenance) and `result` (`StudyResult`: results, tables and protocol).
"""
