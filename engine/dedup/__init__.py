"""Deduplication strategies: which requests of one batch share a handler slot.

* :mod:`.base`: :class:`DedupStrategy` and the types it exchanges with the engine (the rules every
  strategy keeps are in its docstring);
* :mod:`.exact`, :mod:`.embedding`, :mod:`.hybrid`, :mod:`.custom`: one strategy each;
* :mod:`.registry`: the strategies by name and :func:`make_strategy`;
* :mod:`._encoder`: the lazy default encoder shared by the embedding strategies.
"""

from ._encoder import default_encoder
from .base import Assignment, DedupItem, DedupStrategy
from .custom import CustomStrategy
from .embedding import EmbeddingStrategy
from .exact import ExactStrategy, exact_assignment
from .hybrid import HybridStrategy
from .registry import DEDUP_STRATEGIES, DEFAULT_STRATEGY, STRATEGIES, DedupStrategyName, make_strategy

__all__ = [
    "DEDUP_STRATEGIES",
    "DEFAULT_STRATEGY",
    "STRATEGIES",
    "Assignment",
    "CustomStrategy",
    "DedupItem",
    "DedupStrategy",
    "DedupStrategyName",
    "EmbeddingStrategy",
    "ExactStrategy",
    "HybridStrategy",
    "default_encoder",
    "exact_assignment",
    "make_strategy",
]
