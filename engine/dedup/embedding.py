"""The ``embedding`` strategy: the specification's behaviour, cosine >= ``dedup_threshold`` and nothing else.

Representatives come from :func:`batchsieve.kernels.assign_representatives` (Triton on CUDA tensors, the
torch reference on CPU), greedily in batch order, so every duplicate is *directly* similar to its
representative (no chains).
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from ._encoder import EncoderBacked, merge_cosines
from .base import Assignment, DedupItem, DedupStrategy
from .exact import merge_groups

__all__ = ["EmbeddingStrategy"]


class EmbeddingStrategy(EncoderBacked, DedupStrategy):
    """Cosine >= threshold on encoder embeddings; representatives from the kernel. Nothing else."""

    name = "embedding"
    blocking = True

    def assign(self, items: Sequence[DedupItem], threshold: float) -> Assignment:
        import torch
        from batchsieve.kernels import assign_representatives

        t0 = time.perf_counter()
        result = self._encode([item.text for item in items])
        rep = assign_representatives(
            result.embeddings, threshold,
            scope_ids=torch.tensor(merge_groups(items), dtype=torch.int32),
            allowed=torch.tensor([item.mergeable for item in items], dtype=torch.bool)).tolist()
        merged = sum(1 for i, r in enumerate(rep) if r != i)
        self._count({"embedding": merged})
        return Assignment(rep, {"embedding": merged} if merged else {}, seconds=time.perf_counter() - t0,
                          cosines=merge_cosines(result.embeddings, rep))

    def explain(self, a: str, b: str, threshold: float) -> str:
        """Why two texts would or would not merge under this strategy at ``threshold`` (the cosine alone)."""
        e = self._encode([a, b]).embeddings.float()
        cosine = float(e[0] @ e[1] / (e[0].norm() * e[1].norm()))
        verdict = "MERGE" if cosine >= threshold else "NO MERGE"
        sign = ">=" if cosine >= threshold else "<"
        return (f"a: {a!r}\nb: {b!r}\n{verdict}: cosine {cosine:.3f} {sign} threshold {threshold:.3f} "
                "(embedding strategy)")
