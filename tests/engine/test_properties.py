"""Property tests: every request is resolved exactly once, with its own answer, never across scopes."""

from __future__ import annotations

import asyncio
from collections import Counter

from batchsieve import BatchProcessingError, normalize_text
from batchsieve import BatchProcessor as _BatchProcessor
from hypothesis import given, settings
from hypothesis import strategies as st


def BatchProcessor(*args, **kwargs):  # these properties are about exact dedup
    kwargs.setdefault("dedup_strategy", "exact")
    return _BatchProcessor(*args, **kwargs)

_texts = st.sampled_from(["hi", "HI ", "h i", "what's up", "What's  up", "bye", "Bye!", "ÄBC", "äbc", ""])
_requests = st.one_of(
    _texts,
    st.builds(lambda t: {"query": t}, _texts),
    st.builds(lambda t, m: {"query": t, "model": m}, _texts, st.sampled_from(["a", "b"])),
)
_calls = st.lists(
    st.tuples(_requests, st.sampled_from([None, "alice", "bob"]), st.booleans(), st.booleans()),
    min_size=1, max_size=40)


def _identity(request, scope, dedup):
    text = request if isinstance(request, str) else request["query"]
    fields = () if isinstance(request, str) else tuple(sorted((k, v) for k, v in request.items() if k != "query"))
    return scope, normalize_text(text), fields, dedup


@settings(max_examples=150, deadline=None)
@given(calls=_calls, max_size=st.integers(1, 8), fail_marker=st.sampled_from(["bye", "hi", None]))
def test_every_request_resolved_exactly_once_with_its_own_answer(calls, max_size, fail_marker):
    handled: list = []

    async def handler(requests):
        handled.extend(requests)
        out = []
        for r in requests:
            text = r if isinstance(r, str) else r["query"]
            key = normalize_text(text)
            out.append(ValueError(key) if key == fail_marker else ("answer", key,
                       None if isinstance(r, str) else r.get("model")))
        return out

    async def main():
        batch = BatchProcessor(handler, window_ms=0, max_size=max_size)
        tasks = [asyncio.ensure_future(batch.process(req, scope=scope, dedup=dedup))
                 for req, scope, dedup, _ in calls]
        # some callers give up at once: their work must not disappear for identical requests of others
        for task, (_, _, _, cancel) in zip(tasks, calls, strict=True):
            if cancel:
                task.cancel()
        outcomes = await asyncio.gather(*tasks, return_exceptions=True)
        await batch.close()
        return outcomes, batch.get_stats()

    outcomes, stats = asyncio.run(main())
    for (req, _scope, _dedup, cancel), outcome in zip(calls, outcomes, strict=True):
        text = req if isinstance(req, str) else req["query"]
        key = normalize_text(text)
        if cancel:
            assert isinstance(outcome, asyncio.CancelledError)
        elif key == fail_marker:
            assert isinstance(outcome, ValueError) and outcome.args == (key,)
        else:
            model = None if isinstance(req, str) else req.get("model")
            assert outcome == ("answer", key, model)  # the answer of an equal request, never another's
    n_live = sum(1 for c in calls if not c[3])
    assert stats.completed_requests + stats.failed_requests == n_live  # exactly one outcome each
    assert stats.queue_depth == 0
    # All requests arrive before the first dispatch, so the handler sees each distinct (scope, text, fields)
    # exactly once, plus every dedup=False request: a merge across scopes or fields would make it fewer.
    live = [_identity(r, s, d) for r, s, d, c in calls if not c]
    distinct = {i for i in live if i[3]} | {(n, i) for n, i in enumerate(live) if not i[3]}
    assert len(handled) == len(distinct)


@settings(max_examples=100, deadline=None)
@given(calls=st.lists(st.tuples(_texts, st.sampled_from(["alice", "bob", "carol"])), min_size=1, max_size=30))
def test_one_window_sends_each_scope_text_pair_exactly_once(calls):
    handled: list = []

    async def handler(requests):
        handled.extend(requests)
        return [r["query"] + "|" + r["tenant"] for r in requests]

    async def main():
        batch = BatchProcessor(handler, window_ms=0, max_size=1000)
        # the tenant is also a field so the handler can show which scope each slot came from
        results = await asyncio.gather(*[batch.process({"query": t, "tenant": s}, scope=s) for t, s in calls])
        await batch.close()
        return results

    results = asyncio.run(main())
    assert Counter((normalize_text(r["query"]), r["tenant"]) for r in handled) == Counter(
        set((normalize_text(t), s) for t, s in calls))
    for (text, scope), result in zip(calls, results, strict=True):
        answered_text, answered_scope = result.rsplit("|", 1)
        assert answered_scope == scope
        assert normalize_text(answered_text) == normalize_text(text)


def test_handler_failure_never_loses_a_request():
    async def handler(requests):
        raise RuntimeError("down")

    async def main():
        batch = BatchProcessor(handler, window_ms=0, max_size=3)
        outcomes = await asyncio.gather(*[batch.process(f"q{i % 5}") for i in range(20)], return_exceptions=True)
        await batch.close()
        return outcomes

    outcomes = asyncio.run(main())
    assert len(outcomes) == 20
    assert all(isinstance(o, BatchProcessingError) for o in outcomes)
