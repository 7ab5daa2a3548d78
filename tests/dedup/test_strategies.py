"""Semantic strategies in the engine: embedding, hybrid, custom; fallbacks; properties.

A table-driven fake encoder gives exact, known cosines, so these tests pin the engine's behaviour without
loading a model; ``test_semantic_real.py`` runs the real encoder.
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import threading
from dataclasses import dataclass, field

import pytest
import torch
from batchsieve import BatchProcessor, normalize_text
from batchsieve.dedup import CustomStrategy, EmbeddingStrategy, HybridStrategy
from batchsieve.verifier import MergeVerifier
from hypothesis import given, settings
from hypothesis import strategies as st

DIM = 16


def _unit(seed: str) -> torch.Tensor:
    g = torch.Generator().manual_seed(int(hashlib.sha256(seed.encode()).hexdigest()[:8], 16))
    v = torch.randn(DIM, generator=g)
    return v / v.norm()


def _at_cosine(base: torch.Tensor, cos: float, seed: str) -> torch.Tensor:
    """A unit vector whose cosine with ``base`` is exactly ``cos`` (up to fp32)."""
    r = _unit(seed)
    r = r - (r @ base) * base
    r = r / r.norm()
    return cos * base + math.sqrt(max(0.0, 1 - cos * cos)) * r


@dataclass
class FakeResult:
    embeddings: torch.Tensor
    truncated: list[bool]
    has_unknown: list[bool]
    encode_seconds: float = 0.0


@dataclass
class FakeEncoder:
    """Known vectors per normalised text; every other text gets its own random direction."""

    table: dict[str, torch.Tensor] = field(default_factory=dict)
    unknown: set[str] = field(default_factory=set)  # texts flagged as holding an [UNK] token
    truncated: set[str] = field(default_factory=set)  # texts flagged as cut at the encoder's limit
    calls: list[list[str]] = field(default_factory=list)
    threads: list[int] = field(default_factory=list)  # the thread of each call
    fail: BaseException | None = None
    gate: threading.Event | None = None

    called_twice: threading.Event = field(default_factory=threading.Event)

    def encode(self, texts):
        self.calls.append(list(texts))
        self.threads.append(threading.get_ident())
        if len(self.calls) == 2:
            self.called_twice.set()
        if self.gate is not None:
            self.gate.wait(10)
        if self.fail is not None:
            raise self.fail
        vecs = [self.table.get(normalize_text(t), None) for t in texts]
        vecs = [v if v is not None else _unit(normalize_text(t)) for v, t in zip(vecs, texts, strict=True)]
        return FakeResult(torch.stack(vecs), [normalize_text(t) in self.truncated for t in texts],
                          [normalize_text(t) in self.unknown for t in texts])


def encoder_with(pairs: dict[tuple[str, str], float]) -> FakeEncoder:
    """An encoder where each (a, b) has exactly the given cosine (b placed relative to a)."""
    enc = FakeEncoder()
    for (a, b), cos in pairs.items():
        a, b = normalize_text(a), normalize_text(b)
        base = enc.table.setdefault(a, _unit(a))
        enc.table[b] = _at_cosine(base, cos, b)
    return enc


async def _echo(requests):
    return [("answer", r if isinstance(r, str) else r["query"]) for r in requests]


class Recorder:
    def __init__(self):
        self.batches = []

    async def __call__(self, requests):
        self.batches.append(list(requests))
        return await _echo(requests)


def test_default_strategy_is_hybrid_and_factory_rejects_unknown_names():
    batch = BatchProcessor(_echo, encoder=FakeEncoder())
    assert batch.config.dedup_strategy == "hybrid"
    assert isinstance(batch.strategy, HybridStrategy)
    assert isinstance(BatchProcessor(_echo, dedup_strategy="embedding", encoder=FakeEncoder()).strategy,
                      EmbeddingStrategy)
    assert isinstance(BatchProcessor(_echo, dedup_function=lambda a, b: 1.0).strategy, CustomStrategy)
    with pytest.raises(ValueError, match="only used with dedup_strategy='custom'"):
        BatchProcessor(_echo, dedup_strategy="hybrid", dedup_function=lambda a, b: 1.0)
    with pytest.raises(TypeError, match="encoder must have an encode"):
        BatchProcessor(_echo, encoder=object())


async def test_embedding_merges_at_threshold_and_scatters_results():
    enc = encoder_with({("What's the weather?", "How's the weather today?"): 0.985,
                        ("What's the weather?", "What is the weather like?"): 0.97})
    handler = Recorder()
    async with BatchProcessor(handler, window_ms=1, dedup_strategy="embedding", encoder=enc) as batch:
        results = await batch.process(["What's the weather?", "How's the weather today?", "Show me my invoice",
                                       "What is the weather like?"])
    assert handler.batches == [["What's the weather?", "Show me my invoice", "What is the weather like?"]]
    assert results == [("answer", "What's the weather?"), ("answer", "What's the weather?"),
                       ("answer", "Show me my invoice"), ("answer", "What is the weather like?")]
    stats = batch.get_stats()
    assert stats.merges == {"embedding": 1}
    assert stats.dedup["strategy"] == "embedding" and stats.dedup["encoder_batches"] == 1


async def test_threshold_change_takes_effect_on_the_next_batch():
    enc = encoder_with({("a b c", "a b d"): 0.96})
    handler = Recorder()
    async with BatchProcessor(handler, window_ms=1, dedup_strategy="embedding", encoder=enc) as batch:
        before = await batch.process(["a b c", "a b d"])
        batch.dedup_threshold = 0.95
        after = await batch.process(["a b c", "a b d"])
    assert handler.batches == [["a b c", "a b d"], ["a b c"]]
    assert before == [("answer", "a b c"), ("answer", "a b d")]
    assert after == [("answer", "a b c"), ("answer", "a b c")]


async def test_no_chains_a_duplicate_is_similar_to_its_own_representative():
    a = _unit("a")
    b = _at_cosine(a, 0.985, "b")
    c = _at_cosine(b, 0.985, "c")
    enc = FakeEncoder(table={"aa": a, "bb": b, "cc": c})
    assert float(a @ c) < 0.98
    handler = Recorder()
    async with BatchProcessor(handler, window_ms=1, dedup_strategy="embedding", encoder=enc) as batch:
        results = await batch.process(["aa", "bb", "cc"])
    assert handler.batches == [["aa", "cc"]]
    assert results == [("answer", "aa"), ("answer", "aa"), ("answer", "cc")]


async def test_embedding_never_merges_across_scopes_fields_or_opt_out():
    enc = FakeEncoder(table={"x": _unit("same"), "y": _unit("same")})
    handler = Recorder()
    async with BatchProcessor(handler, window_ms=1, dedup_strategy="embedding", encoder=enc) as batch:
        results = await asyncio.gather(
            batch.process("x", scope="alice"), batch.process("y", scope="bob"),
            batch.process({"query": "x", "model": "m1"}), batch.process({"query": "y", "model": "m2"}),
            batch.process("x", dedup=False), batch.process("y", dedup=False),
            batch.process("x"), batch.process("y"),  # these two do merge (cosine 1.0, no scope)
        )
    assert handler.batches == [["x", "y", {"query": "x", "model": "m1"}, {"query": "y", "model": "m2"}, "x", "y",
                                "x"]]
    assert [r[1] for r in results] == ["x", "y", "x", "y", "x", "y", "x", "x"]  # only the last took another's


async def test_hybrid_vetoes_what_embeddings_would_merge():
    enc = encoder_with({("Show me my invoice", "Don't show me my invoice"): 0.99,
                        ("Set an alarm for 7 am", "Set an alarm for 8 am"): 0.995,
                        ("How do I reset my password?", "How can I reset my password?"): 0.99})
    handler = Recorder()
    async with BatchProcessor(handler, window_ms=1, encoder=enc) as batch:
        results = await batch.process(["Show me my invoice", "Don't show me my invoice", "Set an alarm for 7 am",
                                       "Set an alarm for 8 am", "How do I reset my password?",
                                       "How can I reset my password?"])
    assert handler.batches == [["Show me my invoice", "Don't show me my invoice", "Set an alarm for 7 am",
                                "Set an alarm for 8 am", "How do I reset my password?"]]
    assert results[5] == ("answer", "How do I reset my password?")
    assert results[1] == ("answer", "Don't show me my invoice")
    stats = batch.get_stats()
    assert stats.merges == {"vetoed": 2, "embedding": 1}
    assert stats.dedup["stages"] == {"vetoed": 2, "embedding": 1}


async def test_hybrid_vetoed_request_may_still_join_another_group():
    # "b" is close to "a" (vetoed: a number differs) and to "c" (allowed): it must land with "c"
    a = _unit("base")
    enc = FakeEncoder(table={"price for 2 rooms": a, "cost for 3 rooms": _at_cosine(a, 0.99, "b"),
                             "price for 3 rooms": _at_cosine(a, 0.99, "c")})
    enc.table["price for 3 rooms"] = enc.table["cost for 3 rooms"]  # identical direction
    handler = Recorder()
    verifier = MergeVerifier(extra_synonyms={"cost": "price"})
    strategy = HybridStrategy(enc, verifier)
    async with BatchProcessor(handler, window_ms=1, strategy=strategy) as batch:
        results = await batch.process(["price for 2 rooms", "price for 3 rooms", "cost for 3 rooms"])
    assert handler.batches == [["price for 2 rooms", "price for 3 rooms"]]
    assert results[2] == ("answer", "price for 3 rooms")


# A rewording every verifier rule allows (``test_true_rewordings_are_allowed``): only an encoder flag can stop it.
_REWORDING = ("How do I reset my password?", "How can I reset my password?")


@pytest.mark.parametrize("flag", ["unknown", "truncated"])
@pytest.mark.parametrize("flagged", [0, 1])
async def test_hybrid_refuses_texts_the_encoder_flags(flag, flagged):
    """A text the encoder flags (an ``[UNK]`` token, or cut at its length limit) is never merged by embedding
    similarity, even with a pair no verifier rule vetoes and a cosine far above the threshold."""
    a, b = _REWORDING
    assert MergeVerifier().check(a, b).ok
    enc = encoder_with({_REWORDING: 0.995})
    getattr(enc, flag).add(normalize_text(_REWORDING[flagged]))
    handler = Recorder()
    async with BatchProcessor(handler, window_ms=1, encoder=enc) as batch:
        results = await batch.process([a, b, a])
    assert handler.batches == [[a, b]]  # the exact duplicate still merges
    assert results == [("answer", a), ("answer", b), ("answer", a)]
    assert batch.get_stats().merges == {"exact_queued": 1, "vetoed": 1}


async def test_hybrid_merges_the_same_pair_without_a_flag():
    """The control for the test above: the same pair and cosines, no flag, merge."""
    a, b = _REWORDING
    handler = Recorder()
    async with BatchProcessor(handler, window_ms=1, encoder=encoder_with({_REWORDING: 0.995})) as batch:
        results = await batch.process([a, b])
    assert handler.batches == [[a]]
    assert results == [("answer", a), ("answer", a)]
    assert batch.get_stats().merges == {"embedding": 1}


async def test_hybrid_exact_duplicates_never_reach_the_encoder():
    enc = FakeEncoder()
    strategy = HybridStrategy(enc)
    handler = Recorder()
    async with BatchProcessor(handler, window_ms=1, strategy=strategy) as batch:
        await batch.process(["Hello there", "hello   THERE", "General Kenobi", "hello there"])
    assert enc.calls == [["Hello there", "General Kenobi"]]


async def test_encoder_failure_falls_back_to_exact_and_loses_nothing(caplog):
    enc = FakeEncoder(fail=MemoryError("CUDA out of memory"))
    handler = Recorder()
    async with BatchProcessor(handler, window_ms=1, encoder=enc) as batch:
        results = await batch.process(["one", "two", "ONE"])
    assert results == [("answer", "one"), ("answer", "two"), ("answer", "one")]
    stats = batch.get_stats()
    assert stats.dedup_failures == 1 and stats.merges["fallback"] == 1
    assert "CUDA out of memory" in caplog.text


async def test_slow_encoder_times_out_into_exact_dedup():
    gate = threading.Event()
    enc = FakeEncoder(gate=gate)
    handler = Recorder()
    try:
        async with BatchProcessor(handler, window_ms=1, encoder=enc, dedup_timeout_ms=50) as batch:
            results = await batch.process(["one", "two"])
    finally:
        gate.set()
    assert results == [("answer", "one"), ("answer", "two")]
    assert batch.get_stats().dedup_failures == 1


async def test_custom_pairwise_and_vectorised_functions():
    def same_first_word(r1, r2):
        return 1.0 if r1.split()[0] == r2.split()[0] else 0.0

    handler = Recorder()
    async with BatchProcessor(handler, window_ms=1, dedup_function=same_first_word) as batch:
        results = await batch.process(["red apple", "red car", "blue sky", "red apple"])
    assert handler.batches == [["red apple", "blue sky"]]
    assert results[1] == ("answer", "red apple")

    def matrix(requests):
        n = len(requests)
        return [[1.0 if len(requests[i]) == len(requests[j]) else 0.0 for j in range(n)] for i in range(n)]

    handler = Recorder()
    async with BatchProcessor(handler, window_ms=1, dedup_function=matrix, dedup_strategy="custom") as batch:
        await asyncio.gather(batch.process("abc"), batch.process("xyz"), batch.process("abcd"),
                             batch.process("xyz!", scope="other"))
    assert handler.batches == [["abc", "abcd", "xyz!"]]
    assert batch.strategy.stats() == {"strategy": "custom", "merged": 1, "vectorised": True}


async def test_custom_function_errors_fall_back():
    def broken(r1, r2):
        raise ZeroDivisionError("bad metric")

    async with BatchProcessor(_echo, window_ms=1, dedup_function=broken) as batch:
        assert await batch.process(["a", "b"]) == [("answer", "a"), ("answer", "b")]
        assert batch.get_stats().dedup_failures == 1


def test_explain_says_why():
    enc = encoder_with({("Show me my invoice", "Don't show me my invoice"): 0.99})
    batch = BatchProcessor(_echo, encoder=enc, dedup_threshold=0.98)
    text = batch.explain("Show me my invoice", "Don't show me my invoice")
    assert "NO MERGE: vetoed by the verifier" in text
    assert "cosine 0.990 >= threshold 0.980" in text
    assert "[negation] negation differs: none in a vs 'do not' in b" in text
    assert batch.explain("Hi  there", "hi there") == "merge: identical after normalisation (exact match)"


# ---------------------------------------------------------------- properties

_WORDS = ["alpha", "beta", "gamma", "delta", "7", "8", "not"]


@settings(max_examples=60, deadline=None)
@given(
    calls=st.lists(st.tuples(st.lists(st.sampled_from(_WORDS), min_size=1, max_size=3).map(" ".join),
                             st.sampled_from([None, "t1", "t2"]), st.sampled_from([None, "m"]), st.booleans()),
                   min_size=2, max_size=24),
    strategy_name=st.sampled_from(["embedding", "hybrid"]),
    threshold=st.sampled_from([0.5, 0.8, 0.95]),
)
def test_every_merge_obeys_the_strategy_rule(calls, strategy_name, threshold):
    # vectors cluster by the set of words, so many pairs land near each other
    enc = FakeEncoder()
    for text, *_ in calls:
        words = sorted(set(text.split()))
        base = _unit(words[0])
        enc.table[normalize_text(text)] = _at_cosine(base, 0.9 + 0.1 / len(words), text)
    verifier = MergeVerifier()
    seen: list = []

    async def handler(requests):
        seen.extend(requests)
        return [("answer", r["query"], r.get("model")) for r in requests]

    async def main():
        batch = BatchProcessor(handler, window_ms=0, max_size=64, dedup_strategy=strategy_name, encoder=enc,
                               dedup_threshold=threshold)
        reqs = [({"query": t} if m is None else {"query": t, "model": m}) for t, _, m, _ in calls]
        out = await asyncio.gather(*[batch.process(r, scope=s, dedup=d)
                                     for r, (_, s, _, d) in zip(reqs, calls, strict=True)])
        await batch.close()
        return out

    results = asyncio.run(main())
    assert len(results) == len(calls)
    for (text, scope, model, dedup), result in zip(calls, results, strict=True):
        _, answered, answered_model = result
        assert answered_model == model  # never across differing fields
        if answered == text:  # (these texts are lower-case words joined by single spaces: already normalised)
            continue
        assert dedup  # dedup=False is never merged
        # the answer came from a request the strategy itself would merge with this one
        cos = float(enc.table[normalize_text(text)] @ enc.table[normalize_text(answered)])
        assert cos >= threshold - 1e-6
        if strategy_name == "hybrid":
            assert verifier.check(answered, text).ok
        # and from the same scope: find a request with that text, model and scope
        assert any(t == answered and s == scope and m == model for t, s, m, _ in calls)


@pytest.mark.looptime
async def test_a_broken_encoder_is_not_retried_for_every_batch(caplog):
    enc = FakeEncoder(fail=OSError("model folder missing"))
    async with BatchProcessor(_echo, window_ms=1, encoder=enc) as batch:
        for _ in range(3):
            await batch.process(["one", "two"])
        assert len(enc.calls) == 1  # backed off: exact matching only, no encoder call per batch
        await asyncio.sleep(31)
        enc.fail = None
        await batch.process(["one", "two"])
        assert len(enc.calls) == 2
    stats = batch.get_stats()
    assert stats.dedup_failures == 1
    assert stats.merges["fallback"] == 3
    assert stats.dedup["last_failure"] == "OSError: model folder missing"
    assert caplog.text.count("model folder missing") == 1


async def test_dedup_of_the_next_batch_overlaps_the_running_handler_call():
    enc = FakeEncoder()
    gate = asyncio.Event()
    started = asyncio.Event()
    calls: list[list[str]] = []

    async def handler(requests):
        calls.append(list(requests))
        started.set()
        await gate.wait()
        return await _echo(requests)

    batch = BatchProcessor(handler, window_ms=1, max_concurrent_batches=1, encoder=enc)
    first = asyncio.ensure_future(batch.process(["a1", "a2"]))
    await started.wait()
    second = asyncio.ensure_future(batch.process(["b1", "b2"]))
    assert await asyncio.to_thread(enc.called_twice.wait, 10)
    assert enc.calls == [["a1", "a2"], ["b1", "b2"]]
    assert threading.get_ident() not in enc.threads  # the encoder ran in a worker thread, never on the loop
    assert calls == [["a1", "a2"]]  # ...while only one handler call runs
    gate.set()
    assert await first == [("answer", "a1"), ("answer", "a2")]
    assert await second == [("answer", "b1"), ("answer", "b2")]
    assert len(calls) == 2
    await batch.close()
