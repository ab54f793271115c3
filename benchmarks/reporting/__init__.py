"""Reporting: append-only result rows, the report (markdown, CSV, figures) and the regression check."""
