"""``BatchProcessor.explain``: the engine's merge decision for one pair of requests, in words."""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

from .config import BatchConfig
from .dedup import DedupStrategy, ExactStrategy
from .request import freeze_scope, read_request

__all__ = ["explain_pair"]


def explain_pair(config: BatchConfig, strategy: DedupStrategy, a: Any, b: Any, scope_a: Hashable,
                 scope_b: Hashable) -> str:
    """Why ``a`` and ``b`` would or would not merge: scopes, fields, exact match, ``dedup_max_chars``, then the
    strategy's own explanation (cosine, encoder flags, verifier)."""
    text_a, fields_a = read_request(a, config.text_key, config.text_fn)
    text_b, fields_b = read_request(b, config.text_key, config.text_fn)
    if not config.enable_dedup:
        return "no merge: dedup is off (enable_dedup=False)"
    if freeze_scope(scope_a) != freeze_scope(scope_b):
        return "no merge: different scopes"
    if fields_a is None or fields_b is None:
        return "no merge: a field has no stable identity, so that request is never merged"
    if fields_a != fields_b:
        return "no merge: the requests' other fields differ"
    norm = config.normalize
    if norm(text_a) == norm(text_b):
        return "merge: identical after normalisation (exact match)"
    if isinstance(strategy, ExactStrategy):
        return "no merge: the normalised texts differ (exact strategy)"
    if max(len(text_a), len(text_b)) > config.dedup_max_chars:
        return f"no merge: longer than dedup_max_chars={config.dedup_max_chars}, so exact matching only"
    if hasattr(strategy, "explain"):
        return strategy.explain(text_a, text_b, config.dedup_threshold)
    return f"decided by the {strategy.name!r} strategy"
