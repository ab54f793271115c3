"""Thin click commands: each parses its options and calls one function elsewhere in benchmarks."""
