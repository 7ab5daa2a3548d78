"""The shipped default thresholds are what calibration gives, and an explicit threshold always wins.

The defaults (``batchsieve.dedup.thresholds``) come from :func:`batchsieve.calibrate` on the project's labelled
data (QQP train split + hard-pair set) at ``DEFAULT_BOUND``. This test re-derives them with the current
normalisation, verifier and greedy rule from the cached encoder answers, and re-encodes a sample of the pairs
with the default encoder to catch an encoder change. On a failure: run
``benchmarks/make_calibration_scores.py`` and update ``engine/dedup/thresholds.py``.
"""

from __future__ import annotations

import random

import pytest
from batchsieve import BatchConfig, BatchProcessor
from batchsieve.calibration import calibrate, encode_pairs
from batchsieve.dedup import HybridStrategy
from batchsieve.dedup.thresholds import DEFAULT_BOUND, DEFAULT_THRESHOLDS, SPEC_THRESHOLD

from benchmarks.make_calibration_scores import calibration_pairs, load_cache


@pytest.fixture(scope="module")
def data():
    pairs = calibration_pairs()
    config = BatchConfig()
    todo = [(p["a"], p["b"]) for p in pairs
            if config.normalize(p["a"]) != config.normalize(p["b"]) and max(len(p["a"]), len(p["b"])) <= 2048]
    return pairs, todo, load_cache()


@pytest.mark.parametrize("strategy", ["embedding", "hybrid"])
def test_the_shipped_default_is_what_calibration_gives(data, strategy):
    pairs, _, cache = data
    result = calibrate(pairs, strategy=strategy, max_false_merge_rate=DEFAULT_BOUND, encoded=cache)
    assert result.threshold == DEFAULT_THRESHOLDS[strategy], (
        f"{strategy}: calibration now gives {result.threshold}; re-run benchmarks/make_calibration_scores.py")
    assert result.false_merge_rate <= DEFAULT_BOUND


def test_the_cached_encoder_answers_are_still_the_encoder_s(data):
    _, todo, cache = data
    assert len(cache) == len(todo)
    rng = random.Random(15)
    sample = rng.sample(range(len(todo)), 40)
    # and the pairs that decide the defaults: the highest-cosine ones, and the encoder's flags
    sample += sorted(range(len(todo)), key=lambda k: -cache[k].cosine)[:10]
    sample += [k for k, e in enumerate(cache) if e.a_unknown or e.b_unknown][:5]
    fresh = encode_pairs(HybridStrategy(), [todo[k] for k in sample])
    for k, now in zip(sample, fresh, strict=True):
        then = cache[k]
        # the encoder batches and pads differently in another call: its cosines move by a few 1e-4, a changed
        # model or pooling by far more
        assert now.cosine == pytest.approx(then.cosine, abs=2e-3), todo[k]
        assert (now.a_unknown, now.b_unknown, now.a_truncated, now.b_truncated) == (
            then.a_unknown, then.b_unknown, then.a_truncated, then.b_truncated), todo[k]


def test_each_strategy_gets_its_calibrated_default_and_an_explicit_value_always_wins():
    assert BatchConfig().dedup_threshold == DEFAULT_THRESHOLDS["hybrid"]  # the default strategy
    assert BatchConfig(dedup_strategy="embedding").dedup_threshold == DEFAULT_THRESHOLDS["embedding"]
    assert BatchConfig(dedup_strategy="exact").dedup_threshold == SPEC_THRESHOLD
    assert BatchConfig(dedup_function=lambda a, b: 1.0).dedup_threshold == SPEC_THRESHOLD  # custom: the user's
    assert BatchConfig(dedup_threshold=0.98).dedup_threshold == 0.98
    assert BatchConfig(dedup_strategy="embedding", dedup_threshold=0.9).dedup_threshold == 0.9
    batch = BatchProcessor(dedup_strategy="hybrid")
    assert batch.dedup_threshold == DEFAULT_THRESHOLDS["hybrid"]
    batch.dedup_threshold = 0.97
    assert batch.dedup_threshold == 0.97
    with pytest.raises(ValueError, match=r"dedup_threshold must be in \(0, 1\], got 0"):
        BatchConfig(dedup_threshold=0)
    with pytest.raises(TypeError, match="dedup_threshold must be a number, got str"):
        BatchConfig(dedup_threshold="0.9")
