"""The ``custom`` strategy: the caller's ``dedup_function`` scores pairs, compared with the threshold.

``dedup_function(req1, req2) -> float``, or, taking one argument, the vectorised form
``dedup_function(requests) -> N x N`` scores. Scopes, fields and ``dedup=False`` are enforced here
whatever the function says; representatives come from :func:`batchsieve.kernels.representatives`.
"""

from __future__ import annotations

import inspect
import math
import time
from collections.abc import Callable, Sequence
from typing import Any

from .base import Assignment, DedupItem, DedupStrategy
from .exact import merge_groups

__all__ = ["CustomStrategy"]


class CustomStrategy(DedupStrategy):
    """``dedup_function(req1, req2) -> float`` (or vectorised ``f(requests) -> N x N``) >= threshold."""

    name = "custom"
    blocking = True

    def __init__(self, function: Callable[..., Any]) -> None:
        if not callable(function):
            raise TypeError(f"dedup_function must be callable, got {function!r}")
        self.function = function
        self.vectorised = _positional_arity(function) == 1
        self._merged = 0

    @classmethod
    def from_config(cls, config: Any) -> CustomStrategy:
        function = getattr(config, "dedup_function", None)
        if function is None:
            raise ValueError("dedup_strategy='custom' needs dedup_function=callable(req1, req2) -> float")
        return cls(function)

    def assign(self, items: Sequence[DedupItem], threshold: float) -> Assignment:
        import torch
        from batchsieve.kernels import representatives

        t0 = time.perf_counter()
        n = len(items)
        groups = merge_groups(items)
        adj = torch.zeros((n, n), dtype=torch.bool)
        if self.vectorised:
            scores = torch.as_tensor(self.function([item.request for item in items]), dtype=torch.float64)
            if scores.shape != (n, n):
                raise ValueError(f"vectorised dedup_function returned shape {tuple(scores.shape)}, expected {(n, n)}")
            adj = ((scores >= threshold) & torch.isfinite(scores)).tril(-1)  # NaN and +-inf never merge
        else:
            for p in range(1, n):
                if not items[p].mergeable:
                    continue
                for q in range(p):
                    if items[q].mergeable and groups[q] == groups[p]:
                        score = float(self.function(items[q].request, items[p].request))
                        adj[p, q] = math.isfinite(score) and score >= threshold  # NaN and +-inf never merge
        allowed = torch.tensor([item.mergeable for item in items])
        g = torch.tensor(groups)
        adj &= allowed[:, None] & allowed[None, :] & (g[:, None] == g[None, :])
        rep = representatives(adj.tril(-1)).tolist()
        merged = sum(1 for i, r in enumerate(rep) if r != i)
        self._merged += merged
        return Assignment(rep, {"custom": merged} if merged else {}, seconds=time.perf_counter() - t0)

    def stats(self) -> dict[str, Any]:
        return {"strategy": self.name, "merged": self._merged, "vectorised": self.vectorised}


def _positional_arity(function: Callable[..., Any]) -> int:
    try:
        params = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):
        return 2
    return sum(1 for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is p.empty)
