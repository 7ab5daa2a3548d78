"""The adaptive window with a cost budget: it learns service time from each batch's cost, caps the batch it
plans for at the budget, counts the queue's actual cost, and still holds the target through the engine."""

from __future__ import annotations

import asyncio
import random

import pytest
from batchsieve import BatchConfig, BatchProcessor
from batchsieve.policies import AdaptiveWindowPolicy, BatchRecord, QueueState, make_policy


def _record(k: int, size: int, chars: int, cost: float, seconds: float) -> BatchRecord:
    return BatchRecord(dispatched_at=float(k), size=size, n_requests=size, chars=chars, oldest_wait_s=0.001,
                       handler_s=seconds, cost=cost)


def test_make_policy_hands_the_budget_to_the_adaptive_window():
    policy = make_policy(BatchConfig(adaptive=True, max_batch_cost=512, max_size=16))
    assert isinstance(policy, AdaptiveWindowPolicy)
    assert policy.max_batch_cost == 512.0
    assert policy.model.unit == 32.0  # the cost per request at which 16 requests just fill the budget
    assert make_policy(BatchConfig(adaptive=True)).max_batch_cost is None


@pytest.mark.parametrize(("value", "error", "message"), [
    ("512", TypeError, "max_batch_cost must be a number, got str '512'"),
    (0, ValueError, "max_batch_cost must be > 0, got 0"),
])
def test_the_policy_checks_its_budget(value, error, message):
    with pytest.raises(error) as info:
        AdaptiveWindowPolicy(0.05, 0.0, 0.2, max_batch_cost=value)
    assert str(info.value) == message


def test_with_a_budget_the_model_learns_from_the_batch_cost_not_its_characters():
    policy = AdaptiveWindowPolicy(0.05, 0.0, 0.2, max_size=32, max_batch_cost=400)
    policy.on_batch_done(_record(0, size=4, chars=99_999, cost=200.0, seconds=0.010))
    assert policy.model.chars_per_request == 50.0  # 200 / 4: the characters are not used
    snap = policy.snapshot()
    assert (snap["max_batch_cost"], snap["batch_cap"], snap["service_model"]["feature"]) == (400.0, 8.0, "cost")
    plain = AdaptiveWindowPolicy(0.05, 0.0, 0.2, max_size=32)
    plain.on_batch_done(_record(0, size=4, chars=400, cost=99_999.0, seconds=0.010))
    assert plain.model.chars_per_request == 100.0  # no budget: characters, whatever the cost says
    assert plain.snapshot()["batch_cap"] == 32


def test_the_batch_cap_is_the_budget_in_typical_requests_between_one_and_max_size():
    policy = AdaptiveWindowPolicy(0.05, 0.0, 0.2, max_size=32, max_batch_cost=400)
    assert policy.snapshot()["batch_cap"] == 32.0  # before any batch: the unit fills the budget at max_size
    policy.on_batch_done(_record(0, size=1, chars=1, cost=1000.0, seconds=0.010))
    assert policy.snapshot()["batch_cap"] == 1.0  # a typical request costs more than the budget: alone
    cheap = AdaptiveWindowPolicy(0.05, 0.0, 0.2, max_size=32, max_batch_cost=400)
    cheap.on_batch_done(_record(0, size=10, chars=1, cost=10.0, seconds=0.010))
    assert cheap.snapshot()["batch_cap"] == 32.0  # 1 per request: the count caps first


def _trained() -> AdaptiveWindowPolicy:
    """30 batches of 1-8 requests costing 50 each, at 2 ms + 20 us per unit of cost; then 100 requests/s."""
    policy = AdaptiveWindowPolicy(0.05, 0.0, 0.2, max_size=32, max_batch_cost=1000)
    rng = random.Random(3)
    for k in range(30):
        n = rng.randint(1, 8)
        policy.on_batch_done(_record(k, size=n, chars=n, cost=n * 50.0, seconds=0.002 + 2e-5 * n * 50.0))
    for k in range(10):
        policy.on_arrival(0.1 + k * 0.01)
    return policy


def test_the_latency_guard_counts_the_queues_actual_cost():
    state = {"now": 0.191, "pending": 2, "window_start": 0.19, "oldest_arrival": 0.19}
    plans = []
    for cost in (0.0, 100.0, 400.0, 990.0):  # 2 pending requests that cost 0, 2, 8 or 19.8 typical ones
        policy = _trained()
        plans.append((policy.decide(QueueState(**state, pending_cost=cost)).at,
                      policy.snapshot()["predicted_service_ms"]))
    assert plans[0] == plans[1]  # a cost under the count's: the count (2) stands
    assert plans[1][0] > plans[2][0] > plans[3][0]  # a costlier queue is dispatched sooner...
    assert plans[1][1] < plans[2][1] < plans[3][1]  # ...because it is predicted to take longer
    assert _trained().snapshot()["batch_cap"] == 20.0  # 1000 / 50


async def _run(rate: float, seconds: float, **options) -> tuple[BatchProcessor, list[list[str]]]:
    batches: list[list[str]] = []

    async def handler(requests):  # 2 ms + 5 us per character: long texts cost more
        batches.append(list(requests))
        await asyncio.sleep(0.002 + 5e-6 * sum(len(r) for r in requests))
        return [r.upper() for r in requests]

    batch = BatchProcessor(handler=handler, max_size=32, dedup_strategy="exact", **options)
    loop = asyncio.get_running_loop()
    start = loop.time()
    rng = random.Random(11)
    t = 0.0
    texts, tasks = [], []
    for i in range(int(rate * seconds)):
        t += rng.expovariate(rate)
        await asyncio.sleep(max(0.0, start + t - loop.time()))
        texts.append(f"{i:05d}" + "x" * (15 if rng.random() < 0.5 else 395))  # 20 or 400 characters
        tasks.append(asyncio.create_task(batch.process(texts[-1])))
    assert await asyncio.gather(*tasks) == [text.upper() for text in texts]
    await batch.close()
    return batch, batches


@pytest.mark.looptime
async def test_through_the_engine_the_target_still_holds_with_a_cost_budget():
    batch, batches = await _run(300.0, 6.0, adaptive=True, target_latency_ms=50, min_window_ms=0,
                                max_window_ms=200, max_batch_cost=2000)
    stats = batch.get_stats()
    assert stats.latency_p95_ms <= 50 * 1.15
    assert all(sum(len(r) for r in b) <= 2000 for b in batches)
    assert stats.policy["service_model"]["feature"] == "cost"
    assert stats.policy["feasible"] is True
    assert stats.dispatch_reasons.get("budget", 0) > 0
