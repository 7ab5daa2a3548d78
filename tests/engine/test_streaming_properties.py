"""The streaming promise, over generated scenarios: every reader gets exactly the chunks of its own request's
stream, in order, from the first one (whenever it joined), then exactly one end or one exception, unless it
stopped early; one generation serves every duplicate; the stats balance and no task is left.

Each scenario runs on a fresh looptime loop (fake clock), driven step by step as in ``test_streaming.py``.
"""

from __future__ import annotations

import asyncio

import looptime
from batchsieve import BatchProcessor
from hypothesis import given, settings
from hypothesis import strategies as st

from .test_streaming import END, Driven


@st.composite
def scenarios(draw):
    n = draw(st.integers(1, 3))
    streams = [(draw(st.integers(0, 4)), draw(st.booleans())) for _ in range(n)]  # (chunks, fails at the end)
    readers = [(i, 0, None) for i in range(n)]  # one reader per request that stays to the end
    for _ in range(draw(st.integers(0, 6))):
        i = draw(st.integers(0, n - 1))
        join = draw(st.integers(0, streams[i][0]))  # while its stream runs (it ends at step `chunks`)
        stop = draw(st.one_of(st.none(), st.integers(1, 3)))
        readers.append((i, join, stop))
    return streams, readers


def expected(streams, reader):
    i, _, stop = reader
    n_chunks, fails = streams[i]
    full = [f"r{i}.{k}" for k in range(n_chunks)]
    if stop is not None and stop <= n_chunks:
        return full[:stop], None
    return full, ("ValueError", f"r{i} failed") if fails else None


@settings(max_examples=60, deadline=None)
@given(scenario=scenarios())
def test_every_reader_gets_exactly_its_streams_chunks_then_one_end(scenario):
    streams, readers = scenario
    names = [f"r{i}" for i in range(len(streams))]

    def step(k):
        def items(requests):
            out = []
            for r in requests:
                i = names.index(r)
                n_chunks, fails = streams[i]
                out.append(f"{r}.{k}" if k < n_chunks else END if k > n_chunks or not fails
                           else ValueError(f"{r} failed"))
            return out
        return items

    async def read(batch, request, stop):
        chunks = []
        try:
            async for c in batch.stream(request):
                chunks.append(c)
                if stop is not None and len(chunks) >= stop:
                    break
        except Exception as exc:
            return chunks, (type(exc).__name__, str(exc))
        return chunks, None

    async def main():
        handler = Driven()
        batch = BatchProcessor(handler, dedup_strategy="exact", window_ms=0, max_size=8)
        tasks = {}
        n_steps = max(n for n, _ in streams) + 1
        for k in range(n_steps + 1):
            for j, (i, join, stop) in enumerate(readers):
                if join == k:
                    tasks[j] = asyncio.ensure_future(read(batch, names[i], stop))
            await asyncio.sleep(0.01)
            if k < n_steps:
                handler.put(step(k))
        results = {j: await t for j, t in tasks.items()}
        await batch.close()
        others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        return handler, batch.get_stats(), results, others

    loop = looptime.new_event_loop()
    try:
        handler, stats, results, others = loop.run_until_complete(main())
    finally:
        loop.close()
    for j, reader in enumerate(readers):
        assert results[j] == expected(streams, reader), (j, reader)
    assert handler.calls == [names]  # one generation for everyone
    assert handler.closed == 1
    assert stats.streams_started == len(streams)
    assert stats.stream_subscribers == len(readers)
    assert stats.stream_chunks_fanned_out == sum(len(chunks) for chunks, _ in results.values())
    assert stats.total_requests == stats.completed_requests + stats.failed_requests + stats.cancelled_requests
    assert stats.total_requests == len(readers)
    assert others == []
