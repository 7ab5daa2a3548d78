"""The demo: a bursty stream of queries with repeats, replayed against a simulated inference backend.

The backend behaves like a GPU model server: one call at a time, and a call costs
``base_ms + per_item_ms * batch_size`` (by default 10 ms + 0.2 ms per request), so a batch of 32 costs
barely more than a batch of 1. The same seeded stream is replayed in each mode:

* ``unbatched``: every request is its own backend call (what a server without batching does);
* ``batched``: :class:`~batchsieve.BatchProcessor` with dedup off;
* ``batched+exact``: the processor with exact dedup (normalised text) and in-flight coalescing;
* ``batched+hybrid``: semantic dedup (embeddings + the merge verifier), when the encoder is installed.

The stream draws from a pool of distinct questions with a Zipf popularity (a few questions are asked
very often) and writes each repeat with different case and spacing, as real users do.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from .normalize import normalize_text
from .processor import BatchProcessor

__all__ = ["DemoResult", "SimulatedBackend", "make_stream", "run_demo"]

_BASE_QUESTIONS = [
    "What's the weather in Paris today?", "How do I reset my password?", "Show me my latest invoice",
    "Cancel my subscription", "What is the capital of Australia?", "How do I export my data to CSV?",
    "Why was my card declined?", "What are your opening hours?", "How do I change my email address?",
    "Is there a student discount?", "How do I enable two-factor authentication?", "Where is my order?",
    "How long does shipping to Canada take?", "Can I get a refund for last month?",
    "What is the difference between a list and a tuple in Python?", "How do I reverse a string in Python?",
    "Translate 'good morning' into Spanish", "Summarise the plot of Hamlet", "Who wrote Pride and Prejudice?",
    "How many calories are in a banana?", "What is the boiling point of water at sea level?",
    "How do I delete my account?", "Recommend a good science fiction book", "What is 15% of 240?",
    "How do I upgrade to the premium plan?", "What payment methods do you accept?",
    "How do I contact customer support?", "Explain what a neural network is", "What time is it in Tokyo?",
    "How do I make pancakes?", "What is the speed of light?", "Why is the sky blue?",
    "How do I turn off notifications?", "What does HTTP 404 mean?", "How do I merge two git branches?",
    "What's a good name for a golden retriever?", "How far is the Moon from Earth?",
    "What is the population of Brazil?", "How do I add a user to my team?", "What is machine learning?",
]


def _respell(text: str, rng: random.Random) -> str:
    """The same question as another user types it: different case and spacing, same words."""
    choice = rng.random()
    if choice < 0.4:
        return text
    if choice < 0.6:
        return text.lower()
    if choice < 0.75:
        return "  " + text.replace(" ", "  ") + " "
    if choice < 0.9:
        return text.upper()
    return text.capitalize()


def make_stream(n: int, rate_per_s: float, *, seed: int = 7, questions: Sequence[str] = _BASE_QUESTIONS,
                zipf_s: float = 1.1, burstiness: float = 4.0) -> list[tuple[float, str]]:
    """``n`` (arrival time in seconds, query) pairs: bursts of Poisson arrivals at ``rate_per_s`` on average.

    Bursts alternate with quiet spells (the rate inside a burst is ``burstiness`` times the average), and
    each query is a question of the pool drawn with Zipf weights, respelled.
    """
    rng = random.Random(seed)
    weights = [1.0 / (rank + 1) ** zipf_s for rank in range(len(questions))]
    stream: list[tuple[float, str]] = []
    t = 0.0
    burst_rate = rate_per_s * burstiness
    quiet_rate = rate_per_s * burstiness / (2 * burstiness - 1)  # average over a 50/50 cycle = rate_per_s
    cycle = 0.5  # seconds per burst + quiet spell
    while len(stream) < n:
        rate = burst_rate if (t % cycle) < cycle / 4 else quiet_rate
        t += rng.expovariate(rate)
        stream.append((t, _respell(rng.choices(questions, weights)[0], rng)))
    return stream


class SimulatedBackend:
    """A model server that handles one call at a time; a call of ``n`` requests takes ``base + per_item*n``."""

    def __init__(self, base_ms: float = 10.0, per_item_ms: float = 0.2) -> None:
        self.base_s = base_ms / 1e3
        self.per_item_s = per_item_ms / 1e3
        self.calls = 0
        self.items = 0
        self._busy = asyncio.Lock()

    async def __call__(self, requests: list) -> list:
        async with self._busy:
            self.calls += 1
            self.items += len(requests)
            await asyncio.sleep(self.base_s + self.per_item_s * len(requests))
            return [f"answer to: {r['query'].strip()}" for r in requests]


@dataclass(frozen=True)
class DemoResult:
    """What one mode achieved on the stream."""

    mode: str
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    handler_calls: int
    handler_items: int

    @property
    def throughput(self) -> float:
        """Requests answered per second of wall time, first arrival to last answer."""
        return self.requests / self.seconds

    @property
    def dedup_rate(self) -> float:
        """Share of requests that needed no backend slot of their own."""
        return 1.0 - self.handler_items / self.requests


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def _replay(stream: list[tuple[float, str]], call: Callable[[dict], object]) -> tuple[float, list[float]]:
    loop = asyncio.get_running_loop()
    start = loop.time()
    latencies: list[float] = []

    async def one(at: float, query: str) -> None:
        delay = start + at - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        t0 = loop.time()
        await call({"query": query})
        latencies.append(loop.time() - t0)

    await asyncio.gather(*(one(at, q) for at, q in stream))
    return loop.time() - start, latencies


async def _run_mode(mode: str, stream: list[tuple[float, str]], backend_ms: tuple[float, float],
                    window_ms: float, max_size: int) -> DemoResult:
    backend = SimulatedBackend(*backend_ms)
    if mode == "unbatched":
        async def call(request: dict) -> object:
            return (await backend([request]))[0]

        seconds, lat = await _replay(stream, call)
    else:
        options: dict[str, object] = {"enable_dedup": mode != "batched"}
        if mode == "batched+hybrid":
            options["dedup_strategy"] = "hybrid"
        elif mode == "batched+exact":
            options["dedup_strategy"] = "exact"
        batch = BatchProcessor(backend, window_ms=window_ms, max_size=max_size, max_wait_ms=window_ms * 2,
                               max_queue_size=max(len(stream), max_size), **options)
        async with batch:
            seconds, lat = await _replay(stream, batch.process)
    return DemoResult(mode, len(stream), seconds, _percentile(lat, 0.5) * 1e3, _percentile(lat, 0.99) * 1e3,
                      backend.calls, backend.items)


def run_demo(n: int = 1500, rate: float = 300.0, *, seed: int = 7, window_ms: float = 10.0, max_size: int = 32,
             base_ms: float = 10.0, per_item_ms: float = 0.2, cost_per_call: float = 0.002,
             modes: Sequence[str] = ("unbatched", "batched", "batched+exact")) -> list[DemoResult]:
    """Replay one seeded stream in each mode and print the comparison table; return the results."""
    stream = make_stream(n, rate, seed=seed)
    distinct = len({normalize_text(q) for _, q in stream})
    print(f"stream: {n} requests, {distinct} distinct questions after normalisation, "
          f"bursty arrivals averaging {rate:g} req/s; backend: one call at a time, "
          f"{base_ms:g} ms + {per_item_ms:g} ms per request; batching window {window_ms:g} ms, max {max_size}")
    results = []
    for mode in modes:
        t0 = time.perf_counter()
        results.append(asyncio.run(_run_mode(mode, stream, (base_ms, per_item_ms), window_ms, max_size)))
        print(f"  {mode}: done in {time.perf_counter() - t0:.1f} s", flush=True)
    base = results[0]
    header = (f"{'mode':<16}{'req/s':>9}{'vs unbatched':>14}{'p50 ms':>9}{'p99 ms':>10}{'handler calls':>15}"
              f"{'items':>8}{'dedup rate':>12}{'cost':>10}{'saved':>8}")
    print()
    print(header)
    print("-" * len(header))
    for r in results:
        cost = r.handler_items * cost_per_call
        saved = 1 - cost / (base.handler_items * cost_per_call)
        print(f"{r.mode:<16}{r.throughput:>9.0f}{r.throughput / base.throughput:>13.1f}x{r.p50_ms:>9.1f}"
              f"{r.p99_ms:>10.1f}{r.handler_calls:>15}{r.handler_items:>8}{r.dedup_rate:>12.1%}"
              f"{'$' + format(cost, '.2f'):>10}{saved:>8.0%}")
    print(f"\ncost: ${cost_per_call} per request the backend handles (an LLM call is billed per request, "
          "so a batch of 32 costs 32 requests; only dedup lowers the bill)")
    return results


def main(argv: Sequence[str] | None = None) -> None:
    """``batchsieve demo``: the command-line entry point."""
    parser = argparse.ArgumentParser(prog="batchsieve", description="batchsieve command line")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="replay a bursty stream: unbatched vs batched vs batched+dedup")
    demo.add_argument("--requests", type=int, default=1500)
    demo.add_argument("--rate", type=float, default=300.0, help="average arrival rate, requests per second")
    demo.add_argument("--seed", type=int, default=7)
    demo.add_argument("--window-ms", type=float, default=10.0)
    demo.add_argument("--max-size", type=int, default=32)
    args = parser.parse_args(argv)
    if args.command == "demo":
        run_demo(args.requests, args.rate, seed=args.seed, window_ms=args.window_ms, max_size=args.max_size)
