"""The demo's data: a synthetic 9-patient registry that reproduces the founding poster.

`COHORT_DIR` holds the demo cohort in the import-template format (plainly synthetic patients
DEMO-01..DEMO-09 at site DEMO; see its README). `jiareg.services.demo.run_demo` builds a
registry from it and runs the founding protocol.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

__all__ = ["COHORT_DIR", "FOUNDING_PROTOCOL", "REGISTRY_NAME"]

COHORT_DIR: Final = Path(__file__).parent / "cohort"
"""The demo cohort: template CSVs of nine synthetic patients."""

FOUNDING_PROTOCOL: Final = (
    Path(__file__).parent.parent / "protocols" / "tocilizumab-after-anti-tnf.yaml"
)
"""The founding study's protocol (Russo & Katsicas 2011)."""

REGISTRY_NAME: Final = "registry.db"
