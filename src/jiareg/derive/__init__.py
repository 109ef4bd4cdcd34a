"""Clinical rules of SPEC.md, one function per rule, each citing its source.

Pure functions: no I/O, no database sessions. Scalar forms are exact (Fraction); columnar forms
build Ibis expressions that decide thresholds on exact integers (see `jiareg.derive.exact`).
"""
