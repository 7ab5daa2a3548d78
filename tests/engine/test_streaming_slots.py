"""What a generator handler's per-slot values do to their readers: a ``StopAsyncIteration`` in a slot is a
failure of that slot (raised as a ``BatchProcessingError``), never a silent end of the reader's ``async for``;
and ``return_exceptions`` applies to a list only: one request's failure is raised, never returned."""

from __future__ import annotations

import pytest
from batchsieve import BatchProcessingError, BatchProcessor

from .test_faults import no_asyncio_warning  # noqa: F401 -- an autouse fixture

pytestmark = pytest.mark.looptime


async def _slot_values(requests):
    yield [f"{r}-1" for r in requests]
    yield [StopAsyncIteration("odd") if r == "odd" else StopIteration() for r in requests]


async def test_a_stop_async_iteration_in_a_slot_fails_that_reader_and_ends_no_other():
    batch = BatchProcessor(_slot_values, dedup_strategy="exact", window_ms=1)
    seen: list[str] = []
    with pytest.raises(BatchProcessingError) as info:
        async for chunk in batch.stream("odd"):
            seen.append(chunk)
    assert seen == ["odd-1"]  # the first chunk, then a failure: not a quiet end after one chunk
    assert isinstance(info.value.original, StopAsyncIteration)
    assert [c async for c in batch.stream("even")] == ["even-1"]
    await batch.close()


async def _failing(requests):
    yield [ValueError(f"no answer for {r}") for r in requests]


async def test_return_exceptions_returns_a_list_item_s_error_but_raises_a_single_request_s():
    batch = BatchProcessor(_failing, dedup_strategy="exact", window_ms=1)
    [error] = await batch.process(["a"], return_exceptions=True)
    assert isinstance(error, ValueError) and str(error) == "no answer for a"
    with pytest.raises(ValueError, match=r"^no answer for b$"):
        await batch.process("b", return_exceptions=True)
    await batch.close()
