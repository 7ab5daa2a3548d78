"""No silent cold start: the encoder loads in the background, never inside ``dedup_timeout_ms``.

The default encoder's loader is replaced by one that waits on a ``threading.Event`` (the test opens it), so
every step is deterministic: batches before the load is done use exact matching and count as
``cold_start_batches`` (not as dedup failures); ``warmup()`` waits for the load; later batches merge.
"""

from __future__ import annotations

import asyncio
import threading

import pytest
from batchsieve import BatchProcessor
from batchsieve.dedup import _encoder

from ..dedup.test_strategies import encoder_with

A, B = "How do I reset my password?", "How can I reset my password?"


class GatedLoader:
    """Stands in for the default encoder's load: records that it started, waits for the gate."""

    def __init__(self, error: BaseException | None = None) -> None:
        self.started = threading.Event()
        self.gate = threading.Event()
        self.calls = 0
        self.error = error
        self.encoder = encoder_with({(A, B): 0.99})

    def __call__(self):
        if _encoder._default_encoder is not None:  # already loaded: the real loader returns it
            return _encoder._default_encoder
        self.calls += 1
        self.started.set()
        assert self.gate.wait(10)
        if self.error is not None:
            raise self.error
        _encoder._default_encoder = self.encoder  # as the real loader (the fixture restores it)
        return self.encoder


@pytest.fixture
def loader(monkeypatch):
    gated = GatedLoader()
    monkeypatch.setattr(_encoder, "_default_encoder", None)  # nothing loaded yet in this "process"
    monkeypatch.setattr(_encoder, "default_encoder", gated)
    return gated


class Recorder:
    def __init__(self) -> None:
        self.batches: list[list[str]] = []

    async def __call__(self, requests):
        self.batches.append([r["query"] for r in requests])
        return [r["query"].upper() for r in requests]


def _build(handler, **options):
    return BatchProcessor(handler, window_ms=5, dedup_strategy="hybrid", dedup_threshold=0.9, **options)


async def _both(batch):
    return await asyncio.gather(batch.process({"query": A}), batch.process({"query": B}))


def _sync_build(handler, **options):  # construction outside a running loop
    return _build(handler, **options)


async def test_batches_before_the_load_use_exact_matching_and_count_as_cold_start_not_failure(loader):
    handler = Recorder()
    batch = await asyncio.to_thread(_sync_build, handler, dedup_timeout_ms=1)  # no loop in that thread
    assert not loader.started.is_set()  # built outside a loop: nothing loads until there is work
    try:
        assert await _both(batch) == [A.upper(), B.upper()]  # each its own answer: no merge while loading
        assert handler.batches == [[A, B]]
        assert await asyncio.to_thread(loader.started.wait, 10)  # the work started the load
        stats = batch.get_stats()
        assert (stats.cold_start_batches, stats.dedup_failures, stats.failed_requests) == (1, 0, 0)
        assert await _both(batch) == [A.upper(), B.upper()]  # still loading: a second cold-start batch
        assert batch.get_stats().cold_start_batches == 2
        loader.gate.set()
        await batch.warmup()  # waits for the load; the load itself never met dedup_timeout_ms=1
        await batch.close()  # fresh processor below: dedup_timeout_ms=1 would be too short for a real call
    finally:
        loader.gate.set()
    batch = _build(handler)  # the encoder is in memory now: ready at once, no cold start
    async with batch:
        assert await _both(batch) == [A.upper(), A.upper()]  # merged: B gets A's answer
    assert handler.batches[-1] == [A]
    assert batch.get_stats().cold_start_batches == 0
    assert loader.calls == 1


async def test_a_processor_built_inside_a_running_loop_starts_loading_at_once(loader):
    handler = Recorder()
    batch = _build(handler)
    assert await asyncio.to_thread(loader.started.wait, 10)  # before any request
    loader.gate.set()
    await batch.warmup()
    async with batch:
        assert await _both(batch) == [A.upper(), A.upper()]
    stats = batch.get_stats()
    assert (stats.cold_start_batches, stats.dedup_failures, stats.total_batches) == (0, 0, 1)
    assert handler.batches == [[A]]


async def test_warmup_raises_a_failed_load_and_the_batches_after_it_fall_back_as_failures(monkeypatch):
    loader = GatedLoader(error=OSError("model files missing"))
    monkeypatch.setattr(_encoder, "_default_encoder", None)
    monkeypatch.setattr(_encoder, "default_encoder", loader)
    loader.gate.set()
    handler = Recorder()
    batch = _build(handler)
    with pytest.raises(OSError, match="model files missing"):
        await batch.warmup()
    async with batch:
        assert await _both(batch) == [A.upper(), B.upper()]  # the strategy's own failure: exact matching
    stats = batch.get_stats()
    assert stats.cold_start_batches == 0 and stats.dedup_failures == 1
    assert stats.dedup["last_failure"] == "OSError: model files missing"


async def test_a_given_encoder_needs_no_load_and_the_exact_strategy_never_loads(loader):
    handler = Recorder()
    async with _build(handler, encoder=encoder_with({(A, B): 0.99})) as batch:
        assert await _both(batch) == [A.upper(), A.upper()]  # the first batch merges: nothing to load
        assert batch.get_stats().cold_start_batches == 0
    async with BatchProcessor(handler, window_ms=5, dedup_strategy="exact") as batch:
        await batch.warmup()  # nothing to warm up
        assert await _both(batch) == [A.upper(), B.upper()]
    assert not loader.started.is_set()
