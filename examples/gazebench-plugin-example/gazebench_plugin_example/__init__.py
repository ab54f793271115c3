"""A worked gazebench plug-in: ``example-contrast`` (a refiner) and ``example-ridge`` (an
estimator), found by gazebench through this package's entry points (see pyproject.toml)."""
