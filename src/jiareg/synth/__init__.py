"""Synthetic JIA registries in the template format, from a few patients to millions.

`write_registry(out_dir, patients=..., visits=..., seed=...)` streams one to CSV or Parquet
(`jiareg synth`); `iter_registry` yields its tables chunk by chunk as Arrow.
`planted_registry(patients, visits, seed, jiareg.synth.planted.PlantedEffect(...))` returns a
registry with a planted effect of tocilizumab versus abatacept and its truth
(docs/reference/synth.md).
"""

from __future__ import annotations

from jiareg.synth.write import iter_registry, planted_registry, write_registry

__all__ = ["iter_registry", "planted_registry", "write_registry"]
