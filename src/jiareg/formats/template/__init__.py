"""The import template: its data dictionary, CSV/XLSX reader, empty-template writer and the
generated reference page."""
