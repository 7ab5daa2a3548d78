"""What a generator handler's per-slot values do to their readers: a ``StopAsyncIteration`` in a slot is a
failure of that slot (raised as a ``BatchProcessingError``), never a silent end of the reader's ``async for``;
a ``CancelledError`` in a slot is a failure too, never a reader that looks cancelled;
and ``return_exceptions`` applies to a list only: one request's failure is raised, never returned."""

from __future__ import annotations

import asyncio

import pytest
from batchsieve import BatchProcessingError

from .test_faults import no_asyncio_warning  # noqa: F401 -- an autouse fixture
from .test_streaming import make

pytestmark = pytest.mark.looptime


async def _slot_values(requests):
    yield [f"{r}-1" for r in requests]
    yield [StopAsyncIteration("odd") if r == "odd" else StopIteration() for r in requests]


async def test_a_stop_async_iteration_in_a_slot_fails_that_reader_and_ends_no_other():
    batch = make(_slot_values)
    seen: list[str] = []
    with pytest.raises(BatchProcessingError) as info:
        async for chunk in batch.stream("odd"):
            seen.append(chunk)
    assert seen == ["odd-1"]  # the first chunk, then a failure: not a quiet end after one chunk
    assert isinstance(info.value.original, StopAsyncIteration)
    assert [c async for c in batch.stream("even")] == ["even-1"]
    await batch.close()


async def _cancelled_slot(requests):
    yield [asyncio.CancelledError() if r == "odd" else StopIteration() for r in requests]


async def test_a_cancelled_error_in_a_slot_fails_that_reader_as_a_batch_error():
    batch = make(_cancelled_slot)
    with pytest.raises(BatchProcessingError) as info:
        [c async for c in batch.stream("odd")]
    assert isinstance(info.value.original, asyncio.CancelledError)
    assert [c async for c in batch.stream("even")] == []
    await batch.close()


async def _failing(requests):
    yield [ValueError(f"no answer for {r}") for r in requests]


async def test_return_exceptions_returns_a_list_item_s_error_but_raises_a_single_request_s():
    batch = make(_failing)
    [error] = await batch.process(["a"], return_exceptions=True)
    assert isinstance(error, ValueError) and str(error) == "no answer for a"
    with pytest.raises(ValueError, match=r"^no answer for b$"):
        await batch.process("b", return_exceptions=True)
    await batch.close()


async def test_a_plain_handler_s_cancelled_error_slot_fails_its_caller_as_a_batch_error():
    async def handler(requests):
        return [asyncio.CancelledError() if r == "odd" else f"ok {r}" for r in requests]

    batch = make(handler)
    odd, even = await asyncio.gather(batch.process("odd"), batch.process("even"), return_exceptions=True)
    assert isinstance(odd, BatchProcessingError) and isinstance(odd.original, asyncio.CancelledError)
    assert even == "ok even"
    await batch.close()
