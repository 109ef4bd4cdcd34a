"""Reading a registry's rows back in tests, as plain values."""

from __future__ import annotations

from jiareg.store.engine import get_engine


def first_visit(url: str) -> tuple[str, str]:
    """The (patient_id, visit_date) of the registry's first visit, by patient then date."""
    with get_engine(url).connect() as conn:
        row = conn.exec_driver_sql(
            "SELECT patient_id, visit_date FROM visits ORDER BY patient_id, visit_date LIMIT 1"
        ).one()
    return str(row[0]), str(row[1])
