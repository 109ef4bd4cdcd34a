"""Synthetic JIA registries in the template format, from a few patients to millions.

`write_registry(out_dir, patients=..., visits=..., seed=...)` streams one to CSV or Parquet
(`jiareg synth`); `iter_registry` yields its tables chunk by chunk as Arrow.
"""

from __future__ import annotations

from jiareg.synth.write import iter_registry, write_registry

__all__ = ["iter_registry", "write_registry"]
