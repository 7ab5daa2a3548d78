"""``batchsieve.calibrate``: choose ``dedup_threshold`` from labelled pairs instead of guessing it."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .._checks import check_number
from ..config import BatchConfig
from ..dedup import EmbeddingStrategy, HybridStrategy, make_strategy
from ._pairs import read_pairs
from .result import CalibrationResult, choose
from .scoring import EncodedPair, score_pairs

__all__ = ["MIN_PAIRS_PER_LABEL", "SEMANTIC_STRATEGIES", "calibrate"]

#: The fewest label-1 and the fewest label-0 pairs calibration accepts: with fewer, one pair moves the
#: false-merge rate by more than 5% and the recall by more than 5 points, and the threshold means nothing.
MIN_PAIRS_PER_LABEL = 20
SEMANTIC_STRATEGIES = ("embedding", "hybrid")


def calibrate(pairs: Iterable[Any], *, strategy: str = "hybrid", encoder: Any = None,
              max_false_merge_rate: float = 0.01, config: BatchConfig | None = None,
              encoded: list[EncodedPair] | None = None) -> CalibrationResult:
    """Score labelled pairs the way the engine would and choose the threshold from the evidence.

    ``pairs``: ``{"a", "b", "label"}`` dicts or ``(a, b, label)`` tuples, label 1 when the two ask the same
    thing. ``strategy``: ``"hybrid"`` or ``"embedding"``; ``encoder``: the engine's (default
    all-MiniLM-L6-v2). Each pair is decided by the strategy's own encoder, normalisation, verifier and
    greedy rule (:mod:`batchsieve.calibration.scoring`); ``config`` supplies ``normalize`` and
    ``dedup_max_chars`` (default: the engine's defaults). The result's ``threshold`` is the lowest of
    :data:`~batchsieve.calibration.GRID` whose false-merge rate (false merges / label-0 pairs) is at most
    ``max_false_merge_rate``; it also carries ``precision``, ``recall``, the whole ``curve`` and the
    ``false_merges`` at that threshold for a person to read.

    Raises ``ValueError`` for a malformed row (naming it), fewer than :data:`MIN_PAIRS_PER_LABEL` pairs of
    either label, or a bound no threshold meets. ``encoded`` replaces the encoder with what it said before
    (one :class:`EncodedPair` per pair that needs it, in order): for a cache.
    """
    if strategy not in SEMANTIC_STRATEGIES:
        raise ValueError(f"calibrate chooses a threshold for a semantic strategy: {', '.join(SEMANTIC_STRATEGIES)}; "
                         f"got {strategy!r}")
    check_number("max_false_merge_rate", max_false_merge_rate, lo=0, hi=1)
    if config is not None and not isinstance(config, BatchConfig):
        raise TypeError(f"config must be a BatchConfig, got {type(config).__name__}")
    rows = read_pairs(pairs)
    positives = sum(p.label for p in rows)
    negatives = len(rows) - positives
    if min(positives, negatives) < MIN_PAIRS_PER_LABEL:
        raise ValueError(f"calibration needs at least {MIN_PAIRS_PER_LABEL} pairs of each label, got {positives} "
                         f"with label 1 and {negatives} with label 0")
    config = config or BatchConfig()
    if encoder is None:
        encoder = config.encoder
    built = make_strategy(strategy, BatchConfig(dedup_strategy=strategy, encoder=encoder))
    assert isinstance(built, (EmbeddingStrategy, HybridStrategy))
    scores = score_pairs(built, rows, normalize=config.normalize, max_chars=config.dedup_max_chars, encoded=encoded)
    return choose(strategy, scores, max_false_merge_rate)
