"""StudyResult → report.html (Jinja2, great-tables, matplotlib) → report.pdf (WeasyPrint)."""

from jiareg.report.render import write_report

__all__ = ["write_report"]
