"""The pipeline: sources -> cached stages (refiner, refined stores) -> fitted rows -> result rows."""
