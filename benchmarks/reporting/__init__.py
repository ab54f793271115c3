"""Reporting: the report (markdown, CSV, figures) and the regression check, read from the result
rows alone (their schema: benchmarks/records/rows.py)."""
