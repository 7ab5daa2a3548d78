"""The dedup strategies by name, and the factory that builds one: the single list of strategy names."""

from __future__ import annotations

from typing import Any, Literal, get_args

from .base import DedupStrategy
from .custom import CustomStrategy
from .embedding import EmbeddingStrategy
from .exact import ExactStrategy
from .hybrid import HybridStrategy

__all__ = ["DEDUP_STRATEGIES", "DEFAULT_STRATEGY", "STRATEGIES", "DedupStrategyName", "make_strategy"]

DedupStrategyName = Literal["exact", "embedding", "hybrid", "custom"]

#: name -> strategy class, in the order the names are listed to users.
STRATEGIES: dict[str, type[DedupStrategy]] = {
    "exact": ExactStrategy,
    "embedding": EmbeddingStrategy,
    "hybrid": HybridStrategy,
    "custom": CustomStrategy,
}
DEDUP_STRATEGIES: tuple[str, ...] = tuple(STRATEGIES)
DEFAULT_STRATEGY: DedupStrategyName = "hybrid"
assert get_args(DedupStrategyName) == DEDUP_STRATEGIES, "the Literal and the registry must list the same names"


def make_strategy(name: str, config: Any = None) -> DedupStrategy:
    """Build the strategy called ``name`` from ``config`` (its ``encoder``, ``dedup_function``);
    unknown names raise ``ValueError`` listing the choices."""
    cls = STRATEGIES.get(name) if isinstance(name, str) else None
    if cls is None:
        raise ValueError(f"unknown dedup_strategy {name!r}; choose one of {', '.join(DEDUP_STRATEGIES)}")
    return cls.from_config(config)
