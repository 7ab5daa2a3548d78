"""Semantic dedup with the real all-MiniLM-L6-v2 encoder, through the engine."""

from __future__ import annotations

import asyncio

import pytest
from batchsieve import BatchProcessor


async def _echo(requests):
    return [r["query"] for r in requests]


@pytest.fixture(scope="module")
def encoder():
    from batchsieve.dedup import default_encoder

    return default_encoder()


async def test_hybrid_merges_rewordings_and_refuses_hard_negatives(encoder):
    calls: list[list[str]] = []

    async def handler(requests):
        calls.append([r["query"] for r in requests])
        return await _echo(requests)

    async with BatchProcessor(handler, window_ms=1, encoder=encoder) as batch:
        queries = ["How do I reset my password?", "How can I reset my password?", "Show me my invoice",
                   "Don't show me my invoice", "Set an alarm for 7 am", "Set an alarm for 8 am",
                   "What's the weather?", "How's the weather today?"]
        results = await batch.process([{"query": q} for q in queries])
    assert results[1] == "How do I reset my password?"  # a rewording shares its representative's answer
    for i in range(2, 8):
        assert results[i] == queries[i]  # never another question's answer
    stats = batch.get_stats()
    assert stats.merges.get("embedding") == 1
    assert stats.dedup["encoder_batches"] == 1 and stats.dedup["encoder_ms_last"] > 0
    assert stats.dedup["cache"]["misses"] >= 8


async def test_embedding_strategy_follows_the_threshold(encoder):
    async with BatchProcessor(_echo, window_ms=1, dedup_strategy="embedding", encoder=encoder) as batch:
        qs = [{"query": "Show me my invoice"}, {"query": "Don't show me my invoice"}]
        assert await batch.process(qs) == ["Show me my invoice", "Don't show me my invoice"]
        batch.dedup_threshold = 0.9  # cosine 0.939: plain embedding dedup now merges a negation
        assert await batch.process(qs) == ["Show me my invoice", "Show me my invoice"]


async def test_hybrid_vetoes_what_embedding_merges_at_the_same_threshold(encoder):
    async with BatchProcessor(_echo, window_ms=1, dedup_threshold=0.9, encoder=encoder) as batch:
        qs = [{"query": "Show me my invoice"}, {"query": "Don't show me my invoice"}]
        assert await batch.process(qs) == ["Show me my invoice", "Don't show me my invoice"]
        assert batch.get_stats().merges.get("vetoed") == 1
        text = await asyncio.to_thread(batch.explain, *qs)
        assert "negation" in text and "NO MERGE" in text


@pytest.mark.skipif(not __import__("torch").cuda.is_available(), reason="needs a CUDA device")
def test_hybrid_on_a_cuda_encoder_runs_the_triton_kernels(encoder, monkeypatch):
    """On a GPU the default strategy's similarity and greedy steps are the Triton kernels, and they give the
    CPU path's answer (run by benchmarks/gpu_check.sh)."""
    import batchsieve.kernels.greedy as greedy_mod
    import batchsieve.kernels.similarity as similarity_mod
    from batchsieve.dedup import DedupItem, HybridStrategy
    from batchsieve.models import SentenceEncoder

    calls: list[str] = []
    for module, name in ((similarity_mod, "similarity_bits"), (greedy_mod, "greedy_representatives")):
        real = getattr(module, name)
        monkeypatch.setattr(module, name, lambda *a, _real=real, _name=name, **k: calls.append(_name) or _real(*a, **k))
    texts = ["How do I reset my password?", "How can I reset my password?", "Show me my invoice",
             "Don't show me my invoice", "Set an alarm for 7 am", "Set an alarm for 8 am"]
    items = [DedupItem(t, t.lower(), None, (), True, t) for t in texts]
    gpu = HybridStrategy(SentenceEncoder(device="cuda", dtype="fp32", cache_size=0)).assign(items, 0.95)
    cpu = HybridStrategy(encoder).assign(items, 0.95)
    assert calls == ["similarity_bits", "greedy_representatives"]
    assert gpu.rep == cpu.rep and gpu.rep[1] == 0
