"""Sentence encoders that turn requests into embeddings."""
