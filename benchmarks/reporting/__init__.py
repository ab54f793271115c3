"""Reporting: the report (markdown, CSV, figures) and the regression check, read from the results
directory alone (the rows' schema: benchmarks/records/rows.py)."""
