"""Semantic deduplication strategies: ``embedding``, ``hybrid`` and ``custom``.

All three run in a worker thread (``blocking = True``) and keep the rules of :mod:`batchsieve.strategies`:
never across scopes or differing fields, never for ``dedup=False``, representatives chosen greedily in
batch order so that every duplicate is *directly* similar to its own representative (no chains).

* ``embedding``: the product specification's behaviour: cosine >= ``dedup_threshold`` on the encoder's
  L2-normalised embeddings, representatives from :func:`batchsieve.kernels.assign_representatives`
  (Triton on CUDA tensors, the torch reference on CPU). Nothing else.
* ``hybrid``: exact matches first (free: no encoder call for them), then embedding candidates among the
  remaining requests, then :class:`~batchsieve.verifier.MergeVerifier` vetoes every candidate pair that
  differs in what it asks (numbers, negation, roles, unknown tokens, truncation, ...). The greedy choice
  runs on the candidate graph *after* the vetoes, so a vetoed request can still join another group.
* ``custom``: ``dedup_function(req1, req2) -> float`` (or, taking one argument, the vectorised form
  ``dedup_function(requests) -> N x N`` scores), compared with the threshold.

The encoder is loaded lazily, once per process for the default model, under a lock: the first batch that
needs it pays the load (or falls back to exact matching if that exceeds ``dedup_timeout_ms``).
"""

from __future__ import annotations

import inspect
import threading
import time
from collections import Counter
from collections.abc import Callable, Hashable, Sequence
from typing import Any

from .strategies import Assignment, DedupItem, DedupStrategy, exact_assignment

__all__ = ["CustomStrategy", "EmbeddingStrategy", "HybridStrategy", "default_encoder"]

_default_encoder: Any = None
_default_lock = threading.Lock()


def default_encoder() -> Any:
    """The process-wide default :class:`~batchsieve.models.SentenceEncoder` (all-MiniLM-L6-v2), loaded once."""
    global _default_encoder
    with _default_lock:
        if _default_encoder is None:
            from batchsieve.models import SentenceEncoder

            _default_encoder = SentenceEncoder()
        return _default_encoder


def _groups(items: Sequence[DedupItem]) -> list[int]:
    """An int id per (scope, fields): requests with different ids may never merge."""
    ids: dict[Hashable, int] = {}
    return [ids.setdefault((item.scope, item.fields), len(ids)) for item in items]


class _EncoderMixin:
    """Lazy, thread-safe access to an encoder and its figures."""

    def __init__(self, encoder: Any = None) -> None:
        self._encoder = encoder
        self._lock = threading.Lock()
        self._encode_seconds = 0.0
        self._encoded_batches = 0
        self._last_encode_seconds = 0.0
        self._stage: Counter[str] = Counter()

    @property
    def encoder(self) -> Any:
        """The encoder (loaded on first use)."""
        if self._encoder is None:
            with self._lock:
                if self._encoder is None:
                    self._encoder = default_encoder()
        return self._encoder

    def warmup(self) -> None:
        """Load the encoder and run it (and the kernel, which compiles on first use on CUDA) once."""
        from batchsieve.kernels import assign_representatives

        result = self.encoder.encode(["warm up", "warm up the encoder"])
        assign_representatives(result.embeddings, 0.98)

    def _encode(self, texts: list[str]) -> Any:
        t0 = time.perf_counter()
        result = self.encoder.encode(texts)
        seconds = getattr(result, "encode_seconds", None)
        seconds = time.perf_counter() - t0 if seconds is None else seconds
        with self._lock:
            self._encode_seconds += seconds
            self._encoded_batches += 1
            self._last_encode_seconds = seconds
        return result

    def stats(self) -> dict[str, Any]:
        out: dict[str, Any] = {"strategy": self.name}  # type: ignore[attr-defined]
        with self._lock:
            batches = self._encoded_batches
            out["encoder_batches"] = batches
            out["encoder_ms_total"] = self._encode_seconds * 1e3
            out["encoder_ms_per_batch"] = self._encode_seconds * 1e3 / batches if batches else 0.0
            out["encoder_ms_last"] = self._last_encode_seconds * 1e3
            out["stages"] = dict(self._stage)
        encoder = self._encoder
        if encoder is not None and hasattr(encoder, "cache_info"):
            info = encoder.cache_info()
            out["cache"] = info._asdict() if hasattr(info, "_asdict") else (
                info if isinstance(info, dict) else {"info": str(info)})
        return out


class EmbeddingStrategy(_EncoderMixin, DedupStrategy):
    """Cosine >= threshold on encoder embeddings; representatives from the kernel. Nothing else."""

    name = "embedding"
    blocking = True

    def assign(self, items: Sequence[DedupItem], threshold: float) -> Assignment:
        import torch
        from batchsieve.kernels import assign_representatives

        t0 = time.perf_counter()
        result = self._encode([item.text for item in items])
        embeddings = result.embeddings
        rep_t = assign_representatives(
            embeddings, threshold,
            scope_ids=torch.tensor(_groups(items), dtype=torch.int32),
            allowed=torch.tensor([item.mergeable for item in items], dtype=torch.bool))
        rep = rep_t.tolist()
        merged = sum(1 for i, r in enumerate(rep) if r != i)
        with self._lock:
            self._stage["embedding"] += merged
        return Assignment(rep, {"embedding": merged} if merged else {}, seconds=time.perf_counter() - t0)


class HybridStrategy(_EncoderMixin, DedupStrategy):
    """Exact match, then embedding candidates, then the merge verifier's veto (see the module docstring)."""

    name = "hybrid"
    blocking = True

    def __init__(self, encoder: Any = None, verifier: Any = None) -> None:
        super().__init__(encoder)
        if verifier is None:
            from .verifier import MergeVerifier

            verifier = MergeVerifier()
        self.verifier = verifier

    def assign(self, items: Sequence[DedupItem], threshold: float) -> Assignment:
        import torch
        from batchsieve.kernels import greedy_reference, similarity_reference

        t0 = time.perf_counter()
        n = len(items)
        exact = exact_assignment(items)
        # stage 2 sees one representative of each exact group
        uniq = [i for i in range(n) if exact[i] == i]
        merges: Counter[str] = Counter(exact=sum(1 for i in range(n) if exact[i] != i))
        rep = list(exact)
        candidates = [i for i in uniq if items[i].mergeable]
        if len(candidates) >= 2:
            sub = [items[i] for i in candidates]
            result = self._encode([item.text for item in sub])
            adj = similarity_reference(result.embeddings.float(), threshold,
                                       scope_ids=torch.tensor(_groups(sub), dtype=torch.int32))
            pairs = adj.nonzero().tolist()  # (p, q) with q < p: candidate merges in batch order
            if pairs:
                unknown = list(getattr(result, "has_unknown", [False] * len(sub)))
                truncated = list(getattr(result, "truncated", [False] * len(sub)))
                # each text is analysed once, however many candidate pairs it is in
                facts = {k: self.verifier.facts(sub[k].text) for k in {k for pair in pairs for k in pair}}
                for p, q in pairs:
                    fq, fp = facts[q], facts[p]
                    verdict = self.verifier.check(fq, fp, a_unknown=unknown[q], b_unknown=unknown[p],
                                                  a_truncated=truncated[q], b_truncated=truncated[p])
                    if not verdict.ok:
                        adj[p, q] = False
                        merges["vetoed"] += 1
                sub_rep = greedy_reference(adj).tolist()
                for k, r in enumerate(sub_rep):
                    if r != k:
                        rep[candidates[k]] = candidates[r]
                        merges["embedding"] += 1
                # members of an exact group follow their representative's new group
                for i in range(n):
                    if exact[i] != i:
                        rep[i] = rep[exact[i]]
        merges = Counter({k: v for k, v in merges.items() if v})
        with self._lock:
            self._stage.update(merges)
        return Assignment(rep, dict(merges), seconds=time.perf_counter() - t0)

    def explain(self, a: str, b: str, threshold: float) -> str:
        """Why two texts would or would not merge under this strategy at ``threshold``."""
        result = self._encode([a, b])
        e = result.embeddings.float()
        cosine = float(e[0] @ e[1])
        return self.verifier.explain(a, b, cosine=cosine, threshold=threshold)


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

    def assign(self, items: Sequence[DedupItem], threshold: float) -> Assignment:
        import torch
        from batchsieve.kernels import greedy_reference

        t0 = time.perf_counter()
        n = len(items)
        groups = _groups(items)
        adj = torch.zeros((n, n), dtype=torch.bool)
        if self.vectorised:
            scores = torch.as_tensor(self.function([item.request for item in items]), dtype=torch.float64)
            if scores.shape != (n, n):
                raise ValueError(f"vectorised dedup_function returned shape {tuple(scores.shape)}, expected {(n, n)}")
            adj = (scores >= threshold).tril(-1)
        else:
            for p in range(1, n):
                if not items[p].mergeable:
                    continue
                for q in range(p):
                    if items[q].mergeable and groups[q] == groups[p]:
                        adj[p, q] = float(self.function(items[q].request, items[p].request)) >= threshold
        allowed = torch.tensor([item.mergeable for item in items])
        g = torch.tensor(groups)
        adj &= allowed[:, None] & allowed[None, :] & (g[:, None] == g[None, :])
        rep = greedy_reference(adj.tril(-1)).tolist()
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
