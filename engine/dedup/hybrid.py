"""The ``hybrid`` strategy (the default): exact matches, then embedding candidates, then the verifier's veto.

Exact matches come first (free: no encoder call for them). Among the remaining requests the embeddings
propose candidate pairs (cosine >= threshold, :func:`batchsieve.kernels.similarity_graph`: the Triton
kernel on CUDA tensors), and :class:`~batchsieve.verifier.MergeVerifier` vetoes every candidate pair that
differs in what it asks (numbers, negation, roles, unknown tokens, truncation, ...). The greedy choice
(:func:`batchsieve.kernels.representatives`) runs on the candidate graph *after* the vetoes, so a vetoed
request can still join another group.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Sequence
from typing import Any

from ._encoder import EncoderBacked, merge_cosines
from .base import Assignment, DedupItem, DedupStrategy
from .exact import exact_assignment, merge_groups

__all__ = ["HybridStrategy"]


class HybridStrategy(EncoderBacked, DedupStrategy):
    """Exact match, then embedding candidates, then the merge verifier's veto (see the module docstring)."""

    name = "hybrid"
    blocking = True

    def __init__(self, encoder: Any = None, verifier: Any = None) -> None:
        super().__init__(encoder)
        if verifier is None:
            from batchsieve.verifier import MergeVerifier

            verifier = MergeVerifier()
        self.verifier = verifier

    def assign(self, items: Sequence[DedupItem], threshold: float) -> Assignment:
        t0 = time.perf_counter()
        n = len(items)
        exact = exact_assignment(items)
        merges: Counter[str] = Counter(exact=sum(1 for i in range(n) if exact[i] != i))
        rep = list(exact)
        cosines: dict[int, float] = {}
        # the semantic stages see one representative of each exact group
        candidates = [i for i in range(n) if exact[i] == i and items[i].mergeable]
        if len(candidates) >= 2:
            sub_rep, sub_cos = self._semantic_groups([items[i] for i in candidates], threshold, merges)
            for k, r in enumerate(sub_rep):
                if r != k:
                    rep[candidates[k]] = candidates[r]
                    cosines[candidates[k]] = sub_cos[k]
                    merges["embedding"] += 1
            for i in range(n):  # members of an exact group follow their representative's new group
                if exact[i] != i:
                    rep[i] = rep[exact[i]]
        merges = Counter({k: v for k, v in merges.items() if v})
        self._count(merges)
        return Assignment(rep, dict(merges), seconds=time.perf_counter() - t0, cosines=cosines)

    def _semantic_groups(self, sub: list[DedupItem], threshold: float, merges: Counter[str]
                         ) -> tuple[list[int], dict[int, float]]:
        """Representatives among ``sub`` (distinct, mergeable texts): candidates, vetoes, greedy choice; and the
        cosine of each merge."""
        import torch
        from batchsieve.kernels import representatives, similarity_graph

        result = self._encode([item.text for item in sub])
        adj = similarity_graph(result.embeddings, threshold,
                               scope_ids=torch.tensor(merge_groups(sub), dtype=torch.int32))
        pairs = adj.nonzero().tolist()  # (p, q) with q < p: candidate merges in batch order
        if not pairs:
            return list(range(len(sub))), {}
        vetoed = self._vetoes(sub, pairs, result)
        if vetoed:
            merges["vetoed"] += len(vetoed)
            rows, cols = zip(*vetoed, strict=True)
            adj[list(rows), list(cols)] = False
        rep = representatives(adj).tolist()
        return rep, merge_cosines(result.embeddings, rep)

    def _vetoes(self, sub: list[DedupItem], pairs: list[list[int]], result: Any) -> list[list[int]]:
        """The candidate pairs the verifier refuses (each text's facts are built once)."""
        unknown = list(getattr(result, "has_unknown", [False] * len(sub)))
        truncated = list(getattr(result, "truncated", [False] * len(sub)))
        facts = {k: self.verifier.facts(sub[k].text) for k in {k for pair in pairs for k in pair}}
        return [[p, q] for p, q in pairs
                if not self.verdict(facts[q], facts[p], (unknown[q], unknown[p]), (truncated[q], truncated[p])).ok]

    def verdict(self, a: Any, b: Any, unknown: tuple[bool, bool], truncated: tuple[bool, bool]) -> Any:
        """The verifier's verdict on a candidate pair (``a`` first in the batch; texts or their facts) with the
        encoder's flags: the one call the engine and :func:`batchsieve.calibrate` both make."""
        return self.verifier.check(a, b, a_unknown=unknown[0], b_unknown=unknown[1], a_truncated=truncated[0],
                                   b_truncated=truncated[1])

    def explain(self, a: str, b: str, threshold: float) -> str:
        """Why two texts would or would not merge under this strategy at ``threshold``: the same cosine, the
        same encoder flags (unknown tokens, truncation) and the same verifier the engine uses."""
        result = self._encode([a, b])
        e = result.embeddings.float()
        cosine = float(e[0] @ e[1] / (e[0].norm() * e[1].norm()))
        unknown = list(getattr(result, "has_unknown", [False, False]))
        truncated = list(getattr(result, "truncated", [False, False]))
        return self.verifier.explain(a, b, cosine=cosine, threshold=threshold, a_unknown=unknown[0],
                                     b_unknown=unknown[1], a_truncated=truncated[0], b_truncated=truncated[1])
