"""``POST /v1/process`` over a real socket: results in order, the call's options, and each engine outcome's
status (500 without internals, 504, 429 with Retry-After, 503 while draining), the server serving on after."""

from __future__ import annotations

import asyncio
import threading

import httpx
import pytest
from batchsieve.server import ServerConfig, create_app

from .support import Recorder, ServerThread, metric, metrics, wait_until

EXACT = {"dedup_strategy": "exact", "window_ms": 2.0}


def serve(handler, **config) -> ServerThread:
    processor = {**EXACT, **config.pop("processor", {})}
    return ServerThread(create_app(handler, config=ServerConfig(processor=processor, **config)))


@pytest.fixture(scope="module")
def echo():
    recorder = Recorder()
    with serve(recorder) as server:
        server.recorder = recorder
        yield server


async def test_one_request_and_a_list_answer_in_order(echo):
    async with httpx.AsyncClient(base_url=echo.url) as client:
        one = await client.post("/v1/process", json={"request": "hello"})
        assert one.status_code == 200 and one.json()["result"]["echo"] == "hello"
        many = await client.post("/v1/process", json={"requests": ["a", {"query": "b", "lang": "en"}, "a"]})
        results = many.json()["results"]
        assert [r["echo"] for r in results] == ["a", {"query": "b", "lang": "en"}, "a"]
        assert results[0]["slot"] == results[2]["slot"]  # identical requests of one call share a slot


async def test_dedup_false_gives_each_request_its_own_slot(echo):
    async with httpx.AsyncClient(base_url=echo.url) as client:
        r = await client.post("/v1/process", json={"requests": ["same", "same"], "dedup": False, "priority": 3})
        first, second = r.json()["results"]
        assert first["echo"] == second["echo"] == "same" and first["slot"] != second["slot"]


@pytest.mark.parametrize("body, status", [
    ({"request": "x", "requests": ["y"]}, 422),
    ({"priority": 1}, 422),
    ({"request": "x", "priority": "high"}, 422),
    ({"request": "x", "timeout_ms": -5}, 422),
    ({"request": "x", "dedup": "yes"}, 422),
    ({"request": "x", "surprise": 1}, 422),
    ({"request": 42}, 422),
    ({"request": {"text": "no query key"}}, 422),
    ({"requests": []}, 400),
])
async def test_bad_calls_get_their_4xx_as_json(echo, body, status):
    async with httpx.AsyncClient(base_url=echo.url) as client:
        r = await client.post("/v1/process", json=body)
        assert r.status_code == status
        assert r.headers["content-type"] == "application/json" and r.json()["error"]["message"]
        assert (await client.post("/v1/process", json={"request": "still fine"})).status_code == 200


async def test_a_failing_handler_is_a_500_without_internals_and_the_server_goes_on(echo):
    async with httpx.AsyncClient(base_url=echo.url) as client:
        for text in ("boom", "unserializable"):
            r = await client.post("/v1/process", json={"request": text})
            assert r.status_code == 500
            assert Recorder.SECRET not in r.text and "Traceback" not in r.text and r.json()["error"]["code"] == 500
        assert (await client.post("/v1/process", json={"request": "after"})).json()["result"]["echo"] == "after"
        samples = metrics((await client.get("/metrics")).text)
        assert metric(samples, "batchsieve_requests_total", outcome="failed") >= 1


async def test_timeout_is_504_and_the_late_answer_is_not_lost_for_others():
    gate = threading.Event()
    with serve(Recorder(gate), request_timeout=30.0) as server:
        async with httpx.AsyncClient(base_url=server.url) as client:
            patient = asyncio.create_task(client.post("/v1/process", json={"request": "slow"}))
            r = await client.post("/v1/process", json={"request": "slow", "timeout_ms": 100})
            assert r.status_code == 504 and r.json()["error"]["type"] == "timeout"
            gate.set()
            assert (await patient).json()["result"]["echo"] == "slow"  # the shared work went on
            samples = metrics((await client.get("/metrics")).text)
            assert metric(samples, "batchsieve_requests_total", outcome="timeout") == 1
            assert metric(samples, "batchsieve_timeouts_total") == 1


async def test_the_servers_own_request_timeout_bounds_every_wait():
    gate = threading.Event()
    with serve(Recorder(gate), request_timeout=0.1) as server:
        async with httpx.AsyncClient(base_url=server.url) as client:
            r = await client.post("/v1/process", json={"request": "slow", "timeout_ms": 60_000})
            assert r.status_code == 504
            gate.set()


async def test_a_full_queue_is_429_with_retry_after_and_refuses_nothing_it_accepted():
    gate = threading.Event()
    recorder = Recorder(gate)
    with serve(recorder, processor={"max_size": 2, "max_queue_size": 2, "window_ms": 0.0}, max_inputs=2,
               retry_after=3) as server:
        async with httpx.AsyncClient(base_url=server.url) as client:
            calls = [asyncio.create_task(client.post("/v1/process", json={"request": f"q{i}"})) for i in range(10)]

            async def settled() -> bool:  # every call either refused (answered) or accepted by the processor
                refused = sum(1 for c in calls if c.done())
                stats = (await client.get("/v1/stats")).json()["processor"]
                return refused + stats["total_requests"] == len(calls)

            await wait_until(settled)
            gate.set()
            answers = await asyncio.gather(*calls)
        full = [r for r in answers if r.status_code == 429]
        assert len(full) >= 10 - 4  # at most max_size in the handler + max_queue_size waiting
        assert all(r.headers["retry-after"] == "3" and r.json()["error"]["type"] == "queue_full" for r in full)
        ok = [r for r in answers if r.status_code == 200]
        assert len(ok) + len(full) == 10 and len(ok) == len(recorder.items)


async def test_503_while_draining_and_readyz_says_so():
    with serve(Recorder()) as server:
        async with httpx.AsyncClient(base_url=server.url) as client:
            assert (await client.get("/readyz")).status_code == 200
            server.call(server.state.drain())
            r = await client.post("/v1/process", json={"request": "late"})
            assert r.status_code == 503 and r.headers["retry-after"] == "1"
            assert (await client.get("/readyz")).json()["status"] == "draining"
            assert (await client.get("/healthz")).status_code == 200


async def test_ops_endpoints(echo):
    async with httpx.AsyncClient(base_url=echo.url) as client:
        assert (await client.get("/healthz")).json() == {"status": "ok"}
        assert (await client.get("/readyz")).json()["status"] == "ready"
        models = (await client.get("/v1/models")).json()
        assert models["object"] == "list" and models["data"][0]["id"].endswith("Recorder")
        stats = (await client.get("/v1/stats")).json()
        assert stats["server"]["mode"] == "handler" and "total_requests" in stats["processor"]
        text = (await client.get("/metrics")).text
        assert "batchsieve_handler_calls_total" in text and "batchsieve_batch_size_bucket" in text


async def test_an_async_handler_is_served_and_observed_alike():
    async def shout(requests: list) -> list:
        await asyncio.sleep(0)
        return [r.upper() for r in requests]

    with serve(shout) as server:
        async with httpx.AsyncClient(base_url=server.url) as client:
            r = await client.post("/v1/process", json={"requests": ["a", "b", "a"]})
            assert r.json() == {"results": ["A", "B", "A"]}
            samples = metrics((await client.get("/metrics")).text)
            items = metric(samples, "batchsieve_handler_items_total")
            assert metric(samples, "batchsieve_batch_size_sum") == items == 2
