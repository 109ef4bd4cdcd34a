"""Studies: a YAML protocol compiled to an Ibis plan over the registry, and its result.

`protocol` (pydantic model of the YAML), `cohort`, `timepoints`, `endpoints` (Ibis
expressions, no execution), `run` (the only module that executes), `result` (`StudyResult`).
"""
