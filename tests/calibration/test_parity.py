"""Calibration decides each pair exactly as the engine does: the real encoder and verifier, pair by pair.

For a sample of the hard-pair set (every category) and of held-out QQP, and several thresholds, a pair that
calibration scores as merged is one that ``strategy.assign`` merges when the two arrive in one batch, and
``BatchProcessor.explain`` gives the same verdict.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from batchsieve import BatchProcessor, normalize_text
from batchsieve.calibration import load_jsonl, read_pairs, score_pairs
from batchsieve.dedup import DedupItem, EmbeddingStrategy, HybridStrategy

DATA = Path(__file__).resolve().parents[2] / "data"
THRESHOLDS = (0.8, 0.9, 0.95, 0.98)


def _sample() -> list:
    hard = load_jsonl(DATA / "hard_pairs.jsonl")
    qqp = [r for r in load_jsonl(DATA / "qqp_sample.jsonl.gz") if r["split"] == "test"][:20]
    rows = hard[::5] + qqp  # every category of the hard set, in order
    return read_pairs([{"a": r["a"], "b": r["b"], "label": r["label"]} for r in rows])


def _item(text: str, limit: int = 2048) -> DedupItem:
    """What the engine's assign stage hands the strategy (a text over ``dedup_max_chars``: exact matching only)."""
    fits = len(text) <= limit
    return DedupItem(text if fits else "", normalize_text(text), None, (), fits)


@pytest.mark.parametrize("cls", [HybridStrategy, EmbeddingStrategy])
def test_every_pair_merges_in_calibration_exactly_when_the_engine_merges_it(cls):
    strategy = cls()
    pairs = _sample()
    scores = score_pairs(strategy, pairs, normalize=normalize_text, max_chars=2048)
    merged_somewhere = vetoed = 0
    for p, s in zip(pairs, scores, strict=True):
        for t in THRESHOLDS:
            engine = strategy.assign([_item(p.a), _item(p.b)], t).rep == [0, 0]
            assert s.merged(t) == engine, (p.a, p.b, t, s)
            merged_somewhere += engine
        vetoed += not s.allowed
    assert merged_somewhere > 0
    assert (vetoed > 0) == (cls is HybridStrategy)  # the sample holds pairs the verifier refuses


def test_explain_gives_the_engine_s_verdict_with_the_encoder_flags():
    hard = load_jsonl(DATA / "hard_pairs.jsonl")
    unknown = next(r for r in hard if r["category"] == "unknown_token")
    truncated = next(r for r in hard if r["category"] == "truncation")
    # a limit above the truncation pairs' length, so that the encoder (not dedup_max_chars) decides
    batch = BatchProcessor(dedup_strategy="hybrid", dedup_threshold=0.8, dedup_max_chars=10_000)
    strategy = batch.strategy
    for row, flag in ((unknown, "unknown tokens"), (truncated, "truncated")):
        text = batch.explain({"query": row["a"]}, {"query": row["b"]})
        engine = strategy.assign([_item(row["a"], 10_000), _item(row["b"], 10_000)], 0.8).rep == [0, 0]
        assert text.splitlines()[2].startswith("NO MERGE") and not engine
        assert flag in text
