"""Under load, over real sockets: every answer is its own request's, each tenant's inputs are served by the
handler and never shared, and ``/metrics`` agrees with what the client counted."""

from __future__ import annotations

import asyncio
import random
import threading
from collections import Counter, defaultdict

from batchsieve.server import ServerConfig, create_app

from .support import Recorder, ServerThread, client, metric, metrics, wait_until

KEYS = {"key-a": "tenant-a", "key-b": "tenant-b"}
PROCESSOR = {"dedup_strategy": "exact", "window_ms": 2.0, "max_size": 64}
CONCURRENCY = 128


def _stream(n_texts: int, seed: int = 11) -> list[tuple[str, str]]:
    """(key, text) pairs: each tenant sends each text twice (50% duplicates per tenant, and the same texts in
    both tenants); the copies of a text fall in one block of 64, so they are in flight together."""
    rng = random.Random(seed)
    texts = [f"question {i}: how do I {rng.choice(['reset', 'export', 'delete'])} item {i}?" for i in range(n_texts)]
    stream: list[tuple[str, str]] = []
    for start in range(0, n_texts, 16):
        block = [(key, t) for t in texts[start:start + 16] for key in KEYS for _ in range(2)]
        rng.shuffle(block)
        stream.extend(block)
    return stream


async def test_load_every_answer_is_its_own_and_metrics_agree():
    recorder = Recorder()
    stream = _stream(1250)  # 5,000 requests, 2,500 unique (scope, text) pairs
    config = ServerConfig(processor=PROCESSOR, api_keys=KEYS)
    with ServerThread(create_app(recorder, config=config)) as server:
        answers: list[tuple[str, str, int, dict]] = []
        feed = iter(stream)

        async def worker() -> None:
            async with client(server.url) as http:  # a client per worker: see support.client
                for key, text in feed:  # closed loop: the next request as soon as the last is answered
                    r = await http.post("/v1/process", json={"request": text},
                                        headers={"authorization": f"Bearer {key}"})
                    answers.append((KEYS[key], text, r.status_code, r.json()))

        async with asyncio.timeout(90):
            await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
        async with client(server.url) as http:
            samples = metrics((await http.get("/metrics")).text)

    assert len(answers) == len(stream)
    slots_of: dict[str, set[int]] = defaultdict(set)
    for tenant, text, status, body in answers:
        assert status == 200, body
        assert body["result"]["echo"] == text  # its own input
        slot = body["result"]["slot"]
        assert recorder.slot_text[slot] == text  # ...answered by the handler item made for that input
        slots_of[tenant].add(slot)
    assert not slots_of["tenant-a"] & slots_of["tenant-b"]  # never an answer computed for the other tenant
    for tenant in KEYS.values():
        served = Counter(recorder.slot_text[s] for s in slots_of[tenant])
        assert set(served) == {t for tn, t, _, _ in answers if tn == tenant}  # handler items = unique inputs
    assert slots_of["tenant-a"] | slots_of["tenant-b"] == set(recorder.slot_text)  # no handler item unused

    n, items, calls = len(stream), len(recorder.items), len(recorder.calls)
    assert items < n  # duplicates were merged...
    assert metric(samples, "batchsieve_requests_total", outcome="ok") == n
    assert metric(samples, "batchsieve_processor_requests_total") == n
    assert metric(samples, "batchsieve_processor_answered_total", result="completed") == n
    assert metric(samples, "batchsieve_http_responses_total", route="/v1/process", status="200") == n
    assert metric(samples, "batchsieve_handler_items_total") == items
    assert metric(samples, "batchsieve_handler_calls_total") == calls
    assert metric(samples, "batchsieve_batch_size_count") == calls
    assert metric(samples, "batchsieve_batch_size_sum") == items
    merged = (metric(samples, "batchsieve_merges_total", stage="exact_queued")
              + metric(samples, "batchsieve_merges_total", stage="exact_inflight"))
    assert merged == n - items  # ...and each request either had a handler item or merged onto one
    assert metric(samples, "batchsieve_request_latency_seconds_count") == n
    assert metric(samples, "batchsieve_queue_depth") == 0 and metric(samples, "batchsieve_in_flight_batches") == 0


async def test_two_keys_sending_identical_inputs_are_each_served_once_and_never_shared():
    gate = threading.Event()
    recorder = Recorder(gate)
    texts = [f"what is my balance? ({i})" for i in range(16)]
    config = ServerConfig(processor=PROCESSOR, api_keys=KEYS)
    with ServerThread(create_app(recorder, config=config)) as server:
        async with client(server.url) as http:
            calls = [(KEYS[key], text, asyncio.create_task(http.post(
                "/v1/process", json={"request": text}, headers={"authorization": f"Bearer {key}"})))
                for _ in range(3) for key in KEYS for text in texts]

            async def all_accepted() -> bool:  # the handler is held until every copy is in the processor
                stats = await http.get("/v1/stats", headers={"authorization": "Bearer key-a"})
                return stats.json()["processor"]["total_requests"] == len(calls)

            await wait_until(all_accepted)
            gate.set()
            answers = [(tenant, text, await task) for tenant, text, task in calls]

    per_text = Counter(recorder.items)
    assert per_text == {t: 2 for t in texts}  # each text once per tenant: shared within, never across
    slot: dict[tuple[str, str], set[int]] = defaultdict(set)
    for tenant, text, r in answers:
        assert r.status_code == 200 and r.json()["result"]["echo"] == text
        slot[tenant, text].add(r.json()["result"]["slot"])
    for text in texts:
        a, b = slot["tenant-a", text], slot["tenant-b", text]
        assert len(a) == len(b) == 1 and a != b
