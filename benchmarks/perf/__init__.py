"""`bench perf`: speed and memory benchmarks, one module per section."""
