"""The helper for a FastAPI app of one's own: the lifespan owns and drains a processor, the dependency hands
it to routes, and the engine's errors are answered with their statuses."""

from __future__ import annotations

import asyncio
import threading
from types import SimpleNamespace

import pytest
from batchsieve import BatchProcessor
from batchsieve.server import add_error_handlers, get_processor, processor_lifespan
from fastapi import Depends, FastAPI

from .support import ServerThread, client, wait_until


def make_app(handler, **options) -> FastAPI:
    app = FastAPI(lifespan=processor_lifespan(handler, dedup_strategy="exact", window_ms=1, **options))
    add_error_handlers(app, retry_after=2)

    @app.post("/ask")
    async def ask(body: dict, batch: BatchProcessor = Depends(get_processor)):  # noqa: B008 - FastAPI's idiom
        return {"answer": await batch.process(body["q"], scope=body.get("user"), timeout=body.get("timeout"))}

    return app


async def test_the_lifespan_owns_the_processor_and_routes_get_it():
    calls = []

    def upper(texts):
        calls.append(list(texts))
        return [t.upper() for t in texts]

    app = make_app(upper)
    with ServerThread(app) as server:
        async with client(server.url) as http:
            answers = await asyncio.gather(*(http.post("/ask", json={"q": q, "user": "u1"})
                                             for q in ("a", "b", "a", "a")))
            assert [r.json()["answer"] for r in answers] == ["A", "B", "A", "A"]
        batch = app.state.batch
        assert isinstance(batch, BatchProcessor) and not batch.closed
    assert batch.closed  # drained at shutdown
    assert sum(map(len, calls)) <= 4


async def test_engine_errors_become_statuses():
    gate, entered = threading.Event(), threading.Event()

    def held(texts):
        entered.set()
        assert gate.wait(30)
        return texts

    app = make_app(held, max_size=1, max_queue_size=1)

    async def accepted() -> int:  # read on the server's loop, where the processor lives
        return app.state.batch.get_stats().total_requests

    with ServerThread(app) as server:
        async with client(server.url) as http:
            first = asyncio.create_task(http.post("/ask", json={"q": "one"}))
            await asyncio.to_thread(entered.wait, 30)  # "one" is in the handler, held there
            second = asyncio.create_task(http.post("/ask", json={"q": "two"}))  # takes the one queue place

            async def both_in() -> bool:
                return server.call(accepted()) == 2

            await wait_until(both_in)
            full = await http.post("/ask", json={"q": "three"})
            assert full.status_code == 429 and full.headers["retry-after"] == "2"
            assert full.json()["error"]["type"] == "queue_full"
            gate.set()
            assert (await first).json() == {"answer": "one"} and (await second).json() == {"answer": "two"}
            gate.clear()
            timed = await http.post("/ask", json={"q": "x", "timeout": 0.05})
            assert timed.status_code == 504 and timed.json()["error"]["type"] == "timeout"
            gate.set()


def test_a_route_without_the_lifespan_is_told_why():
    request = SimpleNamespace(app=SimpleNamespace(state=SimpleNamespace()))  # an app without the lifespan
    with pytest.raises(RuntimeError, match="processor_lifespan"):
        get_processor(request)  # type: ignore[arg-type]


def test_bad_options_fail_when_the_lifespan_is_made():
    with pytest.raises(ValueError):
        processor_lifespan(lambda xs: xs, window_ms=-1)
