"""Evaluation of the ScaleHP pipeline: metrics, a synthetic hand generator, dataset loaders, scalehp-eval."""
