"""Records: what the pipeline writes and the reports read, below both of them.

``rows`` owns the result-row schema (one JSON line per (suite row, seed), predictions beside it);
``suite_file`` reads suite and profile files as data (where a name resolves to, the TOML, and
what a report needs from a suite). Nothing here imports ``benchmarks.pipeline`` or
``benchmarks.reporting``, so those two need not import each other.
"""
