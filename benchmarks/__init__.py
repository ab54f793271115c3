"""Everything that knows about the outside world: dataset readers, stores, suites, the pipeline,
reports, regression checks, performance benchmarks and the `bench` CLI."""
