"""See every merge and audit a sample: ``on_merge``, ``stats.recent_merges``, ``audit_rate`` / ``answers_equal``.

A table-driven fake encoder gives known cosines; the audit's sampling is a counter (the k-th merge is audited
when ``floor(k * audit_rate)`` steps up), so every count below is exact.
"""

from __future__ import annotations

import logging

import pytest
from batchsieve import BatchConfig, BatchProcessor, MergeInfo, normalize_text

from ..dedup.test_strategies import encoder_with

W1, W2, W3 = "What is the weather today?", "What is today's weather?", "What's the weather today?"
P1, P2 = "How do I reset my password?", "How can I reset my password?"


def _encoder():
    return encoder_with({(W1, W2): 0.99, (W1, W3): 0.985, (P1, P2): 0.99})


class Handler:
    """Answers with the text itself (so a merged duplicate's own answer differs from the shared one)."""

    def __init__(self, answer=lambda text: f"answer to {text}") -> None:
        self.batches: list[list[str]] = []
        self.answer = answer

    async def __call__(self, requests):
        self.batches.append(list(requests))
        return [self.answer(r) for r in requests]


def _processor(handler, **options):
    options.setdefault("dedup_threshold", 0.98)
    return BatchProcessor(handler, window_ms=1, encoder=_encoder(), **options)


async def test_audit_rate_1_hands_every_caller_its_own_answer_and_counts_every_disagreement():
    handler = Handler()
    async with _processor(handler, audit_rate=1.0) as batch:
        results = await batch.process([W1, W2, P1, W3, P2])
    assert results == [f"answer to {t}" for t in (W1, W2, P1, W3, P2)]  # nobody got another's answer
    assert handler.batches == [[W1, P1, W2, W3, P2]]  # one call: representatives, then the audited duplicates
    stats = batch.get_stats()
    assert stats.audit["audited"] == {"verifier_passed": 3}
    assert stats.audit["disagreements"] == {"verifier_passed": 3}
    assert stats.audit["disagreement_rate"] == {"verifier_passed": 1.0}
    assert [(d["representative"], d["duplicate"]) for d in stats.audit["disagreeing"]] == [(W1, W2), (W1, W3),
                                                                                         (P1, P2)]
    first = stats.audit["disagreeing"][0]
    assert first["representative_answer"] == f"answer to {W1}" and first["duplicate_answer"] == f"answer to {W2}"
    assert first["cosine"] == pytest.approx(0.99, abs=1e-5)
    assert stats.handler_requests == 5 and stats.requests_saved == 0  # an audit costs its handler slot


async def test_answers_that_agree_count_no_disagreement_and_answers_equal_decides_what_agrees():
    same_topic = Handler(answer=lambda text: "weather" if "weather" in text else text.upper())
    async with _processor(same_topic, audit_rate=1.0) as batch:
        await batch.process([W1, W2, W3])
    assert batch.get_stats().audit["disagreements"] == {"verifier_passed": 0}
    assert batch.get_stats().audit["disagreement_rate"] == {"verifier_passed": 0.0}
    case_blind = Handler(answer=lambda text: text.upper() if text == P1 else text.lower())
    async with _processor(case_blind, audit_rate=1.0, answers_equal=lambda a, b: a.lower() == b.lower()) as batch:
        assert await batch.process([P1, P2]) == [P1.upper(), P2.lower()]
    audit = batch.get_stats().audit
    assert audit["audited"] == {"verifier_passed": 1}
    assert audit["disagreements"] == {"verifier_passed": 1}  # "how do i..." vs "how can i...": not equal


async def test_sampling_is_a_counter_the_second_and_fourth_merge_at_half():
    handler = Handler()
    async with _processor(handler, audit_rate=0.5) as batch:
        first = await batch.process([W1, W2, W3])  # merges 1 (W2) and 2 (W3): the 2nd is audited
        second = await batch.process([P1, P2])  # merge 3: not audited
        third = await batch.process([W1, W2])  # merge 4: audited
    assert first == [f"answer to {W1}", f"answer to {W1}", f"answer to {W3}"]
    assert second == [f"answer to {P1}"] * 2
    assert third == [f"answer to {W1}", f"answer to {W2}"]
    assert batch.get_stats().audit["audited"] == {"verifier_passed": 2}
    assert [m["audited"] for m in batch.get_stats().recent_merges] == [False, True, False, True]


async def test_embedding_merges_are_audited_under_their_own_stage():
    handler = Handler()
    async with _processor(handler, audit_rate=1.0, dedup_strategy="embedding") as batch:
        assert await batch.process([W1, W2]) == [f"answer to {W1}", f"answer to {W2}"]
    assert batch.get_stats().audit["disagreements"] == {"embedding": 1}
    assert batch.get_stats().recent_merges[0]["verdict"] is None


async def test_on_merge_sees_every_merge_with_stage_cosine_and_verdict():
    seen: list[tuple] = []
    handler = Handler()
    async with _processor(handler, on_merge=lambda rep, dup, info: seen.append((rep, dup, info))) as batch:
        await batch.process([{"query": W1}, {"query": W2}, {"query": "Show me my invoice"}])
    assert len(seen) == 1
    rep, dup, info = seen[0]
    assert rep == {"query": W1} and dup == {"query": W2}  # the callers' own request objects
    assert isinstance(info, MergeInfo)
    assert (info.stage, info.verdict, info.audited) == ("verifier_passed", "passed", False)
    assert info.cosine == pytest.approx(0.99, abs=1e-5)
    assert (info.representative_text, info.duplicate_text) == (W1, W2)
    ring = batch.get_stats().recent_merges
    assert ring == ({"representative": W1, "duplicate": W2, "stage": "verifier_passed",
                     "cosine": info.cosine, "verdict": "passed", "audited": False},)


async def test_a_failing_on_merge_or_answers_equal_never_harms_a_request(caplog):
    def broken(*_args):
        raise RuntimeError("observer bug")

    handler = Handler()
    with caplog.at_level(logging.ERROR, logger="batchsieve"):
        async with _processor(handler, on_merge=broken, audit_rate=1.0, answers_equal=broken) as batch:
            assert await batch.process([W1, W2]) == [f"answer to {W1}", f"answer to {W2}"]
            assert await batch.process([P1, P2]) == [f"answer to {P1}", f"answer to {P2}"]
    stats = batch.get_stats()
    assert stats.on_merge_errors == 2 and stats.failed_requests == 0
    assert stats.audit["not_compared"] == 2 and stats.audit["audited"] == {}
    assert sum("on_merge raised" in r.message for r in caplog.records) == 1  # logged once


async def test_the_ring_is_bounded_and_its_texts_truncated():
    long_a, long_b = "How do I " + "really " * 40 + "reset it?", "How can I " + "really " * 40 + "reset it?"
    enc = encoder_with({(long_a, long_b): 0.99})
    handler = Handler()
    async with BatchProcessor(handler, window_ms=1, encoder=enc, dedup_threshold=0.98) as batch:
        for _ in range(105):
            await batch.process([long_a, long_b])
    stats = batch.get_stats()
    ring = stats.recent_merges
    assert len(ring) == 100
    # the default audit_rate=0.01 audited the 100th merge, which is in the ring: the 95th of the last 100
    assert stats.audit["audited"] == {"verifier_passed": 1} and stats.audit["disagreements"] == {"verifier_passed": 1}
    assert [k for k, m in enumerate(ring) if m["audited"]] == [94]
    assert len(ring[0]["representative"]) == 120 and ring[0]["representative"].endswith("...")


def test_audit_settings_are_checked_at_construction():
    with pytest.raises(ValueError, match=r"audit_rate must be in \[0, 1\], got 1.5"):
        BatchConfig(audit_rate=1.5)
    with pytest.raises(TypeError, match="audit_rate must be a number, got str"):
        BatchConfig(audit_rate="0.1")
    with pytest.raises(TypeError, match="answers_equal must be callable or None, got int 5"):
        BatchConfig(answers_equal=5)
    with pytest.raises(TypeError, match="on_merge must be callable or None, got str"):
        BatchConfig(on_merge="print")
    assert BatchConfig().audit_rate == 0.01  # on by default: one merge in a hundred


@pytest.mark.parametrize(("flags", "merged"), [({}, True), ({"unknown": {P2}}, False), ({"truncated": {P1}}, False)])
async def test_explain_gives_the_engine_s_verdict_with_the_encoder_flags(flags, merged):
    enc = encoder_with({(P1, P2): 0.99})
    enc.unknown.update(normalize_text(t) for t in flags.get("unknown", ()))
    enc.truncated.update(normalize_text(t) for t in flags.get("truncated", ()))
    handler = Handler()
    async with BatchProcessor(handler, window_ms=1, encoder=enc, dedup_threshold=0.98) as batch:
        verdict = batch.explain(P1, P2).splitlines()[2]
        results = await batch.process([P1, P2])
    assert verdict.startswith("MERGE" if merged else "NO MERGE")
    assert (results[1] == results[0]) is merged
    if not merged:
        assert ("unknown tokens" if "unknown" in flags else "truncated") in batch.explain(P1, P2)


# ------------------------------------------------------------------ exact duplicates coalesced in the queue


@pytest.mark.looptime
async def test_a_queued_exact_duplicate_is_audited_on_its_own_and_its_caller_gets_its_own_answer():
    import asyncio

    handler = Handler(answer=lambda text: f"answer to {text}")
    batch = BatchProcessor(handler, dedup_strategy="exact", audit_rate=1.0, window_ms=10)
    results = await asyncio.gather(batch.process("Hello there"), batch.process("hello  THERE"))
    assert results == ["answer to Hello there", "answer to hello  THERE"]  # each caller its own answer
    assert handler.batches == [["Hello there", "hello  THERE"]]
    stats = batch.get_stats()
    assert stats.audit["audited"] == {"exact": 1} and stats.audit["disagreements"] == {"exact": 1}
    [pair] = stats.audit["disagreeing"]
    assert (pair["representative"], pair["duplicate"], pair["stage"]) == ("Hello there", "hello  THERE", "exact")
    assert (pair["representative_answer"], pair["duplicate_answer"]) == ("answer to Hello there",
                                                                         "answer to hello  THERE")
    assert stats.merges.get("exact_queued", 0) == 0 and stats.recent_merges == ()


@pytest.mark.looptime
async def test_an_exact_duplicate_of_a_running_request_is_audited_in_the_next_call():
    import asyncio

    gate = asyncio.Event()
    batches: list[list[str]] = []

    async def handler(requests):
        batches.append(list(requests))
        if len(batches) == 1:
            await gate.wait()
        return [r.lower() for r in requests]

    batch = BatchProcessor(handler, dedup_strategy="exact", audit_rate=1.0, window_ms=10)
    first = asyncio.ensure_future(batch.process("Same"))
    await asyncio.sleep(0.050)  # "Same" is in its handler call
    second = asyncio.ensure_future(batch.process("same"))
    await asyncio.sleep(0.050)
    gate.set()
    assert await asyncio.gather(first, second) == ["same", "same"]
    assert batches == [["Same"], ["same"]]
    audit = batch.get_stats().audit
    assert audit["audited"] == {"exact": 1} and audit["disagreements"] == {"exact": 0}


@pytest.mark.looptime
async def test_the_default_rate_audits_the_hundredth_coalesced_duplicate():
    import asyncio

    handler = Handler()
    batch = BatchProcessor(handler, dedup_strategy="exact", window_ms=10)
    assert batch.config.audit_rate == 0.01
    results = await asyncio.gather(*[batch.process("the same question") for _ in range(101)])
    assert results == ["answer to the same question"] * 101
    assert handler.batches == [["the same question", "the same question"]]  # the 100th duplicate audited
    stats = batch.get_stats()
    assert stats.merges["exact_queued"] == 99 and stats.audit["audited"] == {"exact": 1}
    assert stats.audit["disagreements"] == {"exact": 0}


@pytest.mark.looptime
async def test_an_audit_whose_representative_failed_is_not_compared():
    import asyncio

    async def handler(requests):
        return [ValueError("no") if r == "A" else r for r in requests]

    batch = BatchProcessor(handler, dedup_strategy="exact", audit_rate=1.0, window_ms=10, normalize=str.lower)
    outcomes = await asyncio.gather(batch.process("A"), batch.process("a"), return_exceptions=True)
    assert isinstance(outcomes[0], ValueError) and outcomes[1] == "a"
    audit = batch.get_stats().audit
    assert audit["audited"] == {} and audit["not_compared"] == 1


@pytest.mark.looptime
async def test_with_audit_rate_0_coalesced_duplicates_share_one_slot():
    import asyncio

    handler = Handler()
    batch = BatchProcessor(handler, dedup_strategy="exact", audit_rate=0.0, window_ms=10)
    await asyncio.gather(*[batch.process("q") for _ in range(300)])
    assert handler.batches == [["q"]] and batch.get_stats().audit["audited"] == {}
