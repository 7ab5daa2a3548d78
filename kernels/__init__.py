"""Similarity and representative-selection kernels (Triton on CUDA, torch reference on CPU)."""
