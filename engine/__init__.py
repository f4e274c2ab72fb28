"""Inference only, Qt-free: model specs, checkpoint loading, quantization, memory planning, generation."""
