"""SimGAN on arrays and tensors: refiner, local discriminator, losses, history buffer, training
loop with checkpoints, and streaming refinement. Imports ``estimators`` (geometry, device) only;
never ``benchmarks``, and knows no dataset formats."""
