"""``POST /v1/process`` with ``"stream": true`` over a real socket: server-sent events from a generator handler,
one generation shared by identical callers, errors before and after the first chunk, and a client that
disconnects closing the generation."""

from __future__ import annotations

import asyncio
import json
import threading

import httpx
from batchsieve.server import ServerConfig, create_app

from .support import Recorder, ServerThread, metric, metrics, wait_until

EXACT = {"dedup_strategy": "exact", "window_ms": 2.0}


class Talker:
    """A streaming handler: request ``r`` streams ``r:0``, ``r:1``, ... (``steps`` tokens), each step once
    ``gate`` is set. ``"bad"`` fails after its first token (with a message no client may see), ``"boom"``
    makes the generator raise before its first step."""

    def __init__(self, gate: threading.Event | None = None, steps: int = 3, delay: float = 0.0) -> None:
        self.gate = gate
        self.steps = steps
        self.delay = delay  # seconds per step (a backend generating)
        self.calls: list[list[str]] = []
        self.closed = 0

    async def __call__(self, requests):
        self.calls.append(list(requests))
        try:
            if "boom" in requests:
                raise RuntimeError(Recorder.SECRET)
            for k in range(self.steps):
                while self.gate is not None and not self.gate.is_set():  # a bounded wait on the test's gate
                    await asyncio.sleep(0.002)
                if self.delay:
                    await asyncio.sleep(self.delay)
                yield [ValueError(Recorder.SECRET) if r == "bad" and k == 1 else f"{r}:{k}" for r in requests]
            yield [StopIteration()] * len(requests)
        finally:
            self.closed += 1


def serve(handler, **config) -> ServerThread:
    return ServerThread(create_app(handler, config=ServerConfig(processor=EXACT, **config)))


async def read_events(client: httpx.AsyncClient, body: dict) -> tuple[int, str, list[tuple[str, object]]]:
    """The status, the content type, and the events as ``(kind, data)`` (data parsed from JSON, or the raw
    ``[DONE]``)."""
    events: list[tuple[str, object]] = []
    async with client.stream("POST", "/v1/process", json=body) as r:
        kind = "message"
        async for line in r.aiter_lines():
            if line.startswith("event: "):
                kind = line[7:]
            elif line.startswith("data: "):
                data = line[6:]
                events.append((kind, data if data == "[DONE]" else json.loads(data)))
                kind = "message"
        return r.status_code, r.headers["content-type"], events


async def test_stream_true_answers_events_and_identical_callers_share_one_generation():
    gate = threading.Event()
    talker = Talker(gate)
    with serve(talker) as server:
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
            calls = [asyncio.create_task(read_events(client, {"request": "hi", "stream": True})) for _ in range(2)]

            async def both_in() -> bool:
                return (await client.get("/v1/stats")).json()["processor"]["total_requests"] == 2

            await wait_until(both_in)
            gate.set()
            for status, content_type, events in await asyncio.gather(*calls):
                assert status == 200 and content_type.startswith("text/event-stream")
                assert events == [("message", {"chunk": "hi:0"}), ("message", {"chunk": "hi:1"}),
                                  ("message", {"chunk": "hi:2"}), ("message", "[DONE]")]
            assert talker.calls == [["hi"]]
            stats = (await client.get("/v1/stats")).json()["processor"]
            assert stats["streams_started"] == 1 and stats["stream_subscribers"] == 2
            samples = metrics((await client.get("/metrics")).text)
            assert metric(samples, "batchsieve_requests_total", outcome="ok") == 2


async def test_a_failure_after_the_first_chunk_is_one_error_event_without_internals():
    with serve(Talker()) as server:
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
            status, _, events = await read_events(client, {"request": "bad", "stream": True})
            assert status == 200
            assert events[0] == ("message", {"chunk": "bad:0"})
            kind, data = events[1]
            assert kind == "error" and data["error"]["code"] == 500 and len(events) == 2
            assert Recorder.SECRET not in json.dumps(events)
            # the server goes on
            status, _, events = await read_events(client, {"request": "fine", "stream": True})
            assert events[-1] == ("message", "[DONE]") and len(events) == 4


async def test_a_failure_before_the_first_chunk_is_an_ordinary_http_error():
    with serve(Talker()) as server:
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
            r = await client.post("/v1/process", json={"request": "boom", "stream": True})
            assert r.status_code == 500 and r.headers["content-type"] == "application/json"
            assert Recorder.SECRET not in r.text
            r = await client.post("/v1/process", json={"requests": ["a", "b"], "stream": True})
            assert r.status_code == 422 and r.json()["error"]["param"] == "stream"


async def test_no_first_chunk_within_timeout_ms_is_a_504():
    gate = threading.Event()
    with serve(Talker(gate)) as server:
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
            r = await client.post("/v1/process", json={"request": "slow", "stream": True, "timeout_ms": 100})
            assert r.status_code == 504 and r.json()["error"]["type"] == "timeout"
            gate.set()


async def test_a_client_that_disconnects_closes_the_generation():
    talker = Talker(steps=10_000, delay=0.01)  # 100 s of tokens: it ends only if the disconnect closes it
    with serve(talker) as server:
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
            async with client.stream("POST", "/v1/process", json={"request": "long", "stream": True}) as r:
                async for line in r.aiter_lines():
                    if line.startswith("data: "):
                        assert json.loads(line[6:]) == {"chunk": "long:0"}
                        break

            async def closed() -> bool:
                return talker.closed == 1

            await wait_until(closed)
            stats = (await client.get("/v1/stats")).json()["processor"]
            assert stats["streams_closed_early"] == 1 and stats["in_flight_batches"] == 0
