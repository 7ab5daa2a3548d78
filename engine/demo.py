"""The demo: a bursty stream of queries with repeats, replayed against an inference backend.

``python -m batchsieve demo`` replays real questions by default (``--workload qqp``: the vendored Quora
Question Pairs sample with Zipf popularity, rewordings from its labelled duplicate pairs and bursty
arrivals; ``--replay FILE.jsonl`` for your own requests), against the simulated LLM backend or, with
``--backend model``, the embedded model itself; the workload, the backends and the report live in
:mod:`batchsieve._demo_workload` and :mod:`batchsieve._demo_report`. This module is the command line and
the hand-written stream below (``--workload synthetic``).

The backend behaves like a GPU model server: one call at a time, and a call costs
``base_ms + per_item_ms * batch_size`` (by default 10 ms + 0.2 ms per request), so a batch of 32 costs
barely more than a batch of 1. The same seeded stream is replayed in each mode:

* ``unbatched``: every request is its own backend call (what a server without batching does);
* ``batched``: :class:`~batchsieve.BatchProcessor` with dedup off;
* ``batched+exact``: the processor with exact dedup (normalised text) and in-flight coalescing;
* ``batched+hybrid``: semantic dedup: exact, then embeddings, then the merge verifier's veto;
* ``batched+embedding@0.90``: embeddings alone at the same threshold, to show what the verifier prevents.

The stream draws from :data:`QUESTION_GROUPS` with a Zipf popularity: each group is one question in a
few wordings, and neighbouring groups differ in one word or number. Every answer is checked: a caller
handed the answer to a question of another group counts as a wrong answer.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from .normalize import normalize_text
from .processor import BatchProcessor

__all__ = ["MODES", "QUESTION_GROUPS", "DemoResult", "SimulatedBackend", "make_stream", "run_demo"]

# Each inner list is one question in several wordings (a user may type any of them); questions in
# different lists ask different things, some only one word or number apart: a correct deduplicator may
# merge within a list and never across lists.
QUESTION_GROUPS: list[list[str]] = [
    ["How do I reset my password?", "How can I reset my password?", "how do i reset my password"],
    ["Show me my latest invoice", "Show me my most recent invoice"],
    ["Don't show me my latest invoice"],
    ["Cancel my subscription", "Please cancel my subscription"],
    ["What is the capital of Australia?", "What's the capital of Australia?"],
    ["What is the capital of Austria?"],
    ["How do I export my data to CSV?", "How can I export my data to CSV?"],
    ["How do I export my data to PDF?"],
    ["Why was my card declined?", "Why did my card get declined?"],
    ["What are your opening hours?", "What are your opening times?"],
    ["How do I enable two-factor authentication?", "How can I enable two-factor authentication?"],
    ["How do I disable two-factor authentication?"],
    ["Where is my order?", "Where's my order?"],
    ["How long does shipping to Canada take?", "How long does shipping to Canada usually take?"],
    ["How long does shipping to Mexico take?"],
    ["Set an alarm for 7 am", "Set an alarm for 7am"],
    ["Set an alarm for 8 am"],
    ["What is the difference between a list and a tuple in Python?",
     "What's the difference between a list and a tuple in Python?"],
    ["How do I reverse a string in Python?", "How can I reverse a string in Python?"],
    ["Who wrote Pride and Prejudice?", "Who is the author of Pride and Prejudice?"],
    ["How many calories are in a banana?", "How many calories does a banana have?"],
    ["How many calories are in two bananas?"],
    ["Is there a student discount?", "Do you have a student discount?"],
    ["What is 15% of 240?", "What's 15% of 240?"],
    ["What is 15% of 260?"],
    ["Convert 10 miles to kilometres", "Convert 10 miles into kilometres"],
    ["Convert 10 kilometres to miles"],
    ["How do I turn off notifications?", "How can I turn off notifications?"],
    ["How do I turn on notifications?"],
    ["What does HTTP 404 mean?", "What does an HTTP 404 error mean?"],
    ["What does HTTP 403 mean?"],
    ["How do I merge two git branches?", "How can I merge two git branches?"],
    ["What is the population of Brazil?", "What's the population of Brazil?"],
    ["How far is the Moon from Earth?", "How far away is the Moon from Earth?"],
    ["How do I add a user to my team?", "How can I add a user to my team?"],
    ["How do I remove a user from my team?"],
    ["Why is the sky blue?", "Why is the sky blue during the day?"],
    ["What time is it in Tokyo?", "What's the time in Tokyo?"],
    ["What time is it in Kyoto?"],
    ["Explain what a neural network is", "Explain what neural networks are"],
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


def make_stream(n: int, rate_per_s: float, *, seed: int = 7, groups: Sequence[Sequence[str]] = QUESTION_GROUPS,
                zipf_s: float = 1.1, burstiness: float = 4.0) -> list[tuple[float, str, int]]:
    """``n`` (arrival time in seconds, query, question group) triples: bursty Poisson arrivals.

    Bursts alternate with quiet spells (the rate inside a burst is ``burstiness`` times the average
    ``rate_per_s``); each query picks a question group with Zipf weights (a few questions are asked very
    often), one of its wordings, and respells it as users do (case, spacing).
    """
    rng = random.Random(seed)
    order = list(range(len(groups)))
    rng.shuffle(order)  # popularity does not follow the list order
    weights = [0.0] * len(groups)
    for rank, g in enumerate(order):
        weights[g] = 1.0 / (rank + 1) ** zipf_s
    stream: list[tuple[float, str, int]] = []
    t = 0.0
    burst_rate = rate_per_s * burstiness
    quiet_rate = rate_per_s * burstiness / (2 * burstiness - 1)  # average over a 1/4 burst cycle = rate_per_s
    cycle = 0.5  # seconds per burst + quiet spell
    population = range(len(groups))
    while len(stream) < n:
        rate = burst_rate if (t % cycle) < cycle / 4 else quiet_rate
        t += rng.expovariate(rate)
        g = rng.choices(population, weights)[0]
        stream.append((t, _respell(rng.choice(groups[g]), rng), g))
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
            return [f"answer to: {r['query']}" for r in requests]


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
    wrong_answers: int  # callers answered with a different question's answer

    @property
    def throughput(self) -> float:
        """Requests answered per second of wall time, first arrival to last answer."""
        return self.requests / self.seconds

    @property
    def dedup_rate(self) -> float:
        """Share of requests that needed no backend slot of their own."""
        return 1.0 - self.handler_items / self.requests


@dataclass(frozen=True)
class Mode:
    """One way of serving the stream."""

    name: str
    batched: bool = True
    options: dict = field(default_factory=dict)


MODES = {
    "unbatched": Mode("unbatched", batched=False),
    "batched": Mode("batched", options={"enable_dedup": False}),
    "batched+exact": Mode("batched+exact", options={"dedup_strategy": "exact"}),
    "batched+hybrid": Mode("batched+hybrid", options={"dedup_strategy": "hybrid", "dedup_threshold": 0.9}),
    "batched+embedding@0.90": Mode("batched+embedding@0.90",
                                   options={"dedup_strategy": "embedding", "dedup_threshold": 0.9}),
}
DEFAULT_MODES = ("unbatched", "batched", "batched+exact", "batched+hybrid", "batched+embedding@0.90")


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def _replay(stream: list[tuple[float, str, int]], call: Callable[[dict], Awaitable[str]],
                  group_of: dict[str, int]) -> tuple[float, list[float], int]:
    loop = asyncio.get_running_loop()
    start = loop.time()
    latencies: list[float] = []
    wrong = 0

    async def one(at: float, query: str, group: int) -> None:
        nonlocal wrong
        delay = start + at - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        t0 = loop.time()
        answer = await call({"query": query})
        latencies.append(loop.time() - t0)
        answered = normalize_text(answer.removeprefix("answer to: "))
        if group_of[answered] != group:
            wrong += 1

    await asyncio.gather(*(one(at, q, g) for at, q, g in stream))
    return loop.time() - start, latencies, wrong


async def _run_mode(mode: Mode, stream: list[tuple[float, str, int]], backend_ms: tuple[float, float],
                    window_ms: float, max_size: int, encoder: Any) -> DemoResult:
    backend = SimulatedBackend(*backend_ms)
    group_of = {normalize_text(q): g for _, q, g in stream}
    if not mode.batched:
        async def call(request: dict) -> str:
            return (await backend([request]))[0]

        seconds, lat, wrong = await _replay(stream, call, group_of)
    else:
        options = dict(mode.options)
        if options.get("dedup_strategy") in ("hybrid", "embedding"):
            options["encoder"] = encoder
        batch = BatchProcessor(backend, window_ms=window_ms, max_size=max_size, max_wait_ms=window_ms * 2,
                               max_queue_size=max(len(stream), max_size), **options)
        await batch.warmup()
        async with batch:
            seconds, lat, wrong = await _replay(stream, batch.process, group_of)
    return DemoResult(mode.name, len(stream), seconds, _percentile(lat, 0.5) * 1e3, _percentile(lat, 0.99) * 1e3,
                      backend.calls, backend.items, wrong)


def run_demo(n: int = 1500, rate: float = 300.0, *, seed: int = 7, window_ms: float = 10.0, max_size: int = 32,
             base_ms: float = 10.0, per_item_ms: float = 0.2, cost_per_request: float = 0.002,
             modes: Sequence[str] = DEFAULT_MODES) -> list[DemoResult]:
    """Replay one seeded stream in each mode and print the comparison table; return the results.

    Semantic modes need the encoder (``batchsieve.models``); they are skipped, with a note, if it cannot
    be loaded.
    """
    stream = make_stream(n, rate, seed=seed)
    distinct = len({normalize_text(q) for _, q, _ in stream})
    questions = len({g for _, _, g in stream})
    print(f"stream: {n} requests, {distinct} distinct texts after normalisation, {questions} distinct questions; "
          f"bursty arrivals averaging {rate:g} req/s\nbackend: one call at a time, {base_ms:g} ms + "
          f"{per_item_ms:g} ms per request; batching window {window_ms:g} ms, max {max_size}")
    encoder = None
    if any(m in ("batched+hybrid", "batched+embedding@0.90") for m in modes):
        try:
            from .dedup import default_encoder

            encoder = default_encoder()
        except Exception as exc:  # the engine itself still runs; say why the semantic rows are missing
            print(f"(semantic modes skipped: the encoder could not be loaded: {type(exc).__name__}: {exc})")
            modes = [m for m in modes if m not in ("batched+hybrid", "batched+embedding@0.90")]
    results = []
    for name in modes:
        t0 = time.perf_counter()
        results.append(asyncio.run(_run_mode(MODES[name], stream, (base_ms, per_item_ms), window_ms, max_size,
                                             encoder)))
        print(f"  {name}: done in {time.perf_counter() - t0:.1f} s", flush=True)
    base = results[0]
    header = (f"{'mode':<24}{'req/s':>7}{'vs unbatched':>13}{'p50 ms':>9}{'p99 ms':>9}{'calls':>7}"
              f"{'items':>7}{'dedup':>7}{'cost':>8}{'saved':>7}{'wrong answers':>15}")
    print()
    print(header)
    print("-" * len(header))
    for r in results:
        cost = r.handler_items * cost_per_request
        saved = 1 - r.handler_items / base.handler_items
        print(f"{r.mode:<24}{r.throughput:>7.0f}{r.throughput / base.throughput:>12.1f}x{r.p50_ms:>9.1f}"
              f"{r.p99_ms:>9.1f}{r.handler_calls:>7}{r.handler_items:>7}{r.dedup_rate:>7.0%}"
              f"{'$' + format(cost, '.2f'):>8}{saved:>7.0%}{r.wrong_answers:>15}")
    print(f"\ncost: ${cost_per_request} per request the backend serves (an LLM bill counts requests, so batching "
          "alone saves nothing; dedup does).\nwrong answers: callers handed the answer to a different question. "
          "hybrid = exact + embeddings (cosine >= 0.90) + verifier veto;\nembedding@0.90 = the same cosine "
          "threshold with no verifier.")
    return results


def _serve(argv: Sequence[str]) -> None:
    """``batchsieve serve``: imported only when asked for, so the demo needs no server extra."""
    try:
        from .server.cli import main as serve_main
    except ModuleNotFoundError as exc:
        if (exc.name or "").split(".")[0] in ("fastapi", "starlette", "uvicorn", "prometheus_client", "pydantic"):
            raise SystemExit(f"batchsieve serve needs the server extra ({exc.name} is not installed): "
                             "pip install 'batchsieve[server]'") from None
        raise
    serve_main(argv)


def main(argv: Sequence[str] | None = None) -> None:
    """``batchsieve demo``: the command-line entry point."""
    import sys

    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["serve"]:  # its own parser (batchsieve serve --help lists its options)
        _serve(argv[1:])
        return
    if argv[:1] == ["calibrate"]:  # its own parser too (batchsieve calibrate --help)
        from .calibration.cli import main as calibrate_main

        raise SystemExit(calibrate_main(argv[1:]))
    parser = argparse.ArgumentParser(prog="batchsieve", description="batchsieve command line")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("serve", add_help=False, help="serve the embeddings API or a handler over HTTP (batchsieve serve "
                   "--help; needs the server extra)")
    sub.add_parser("calibrate", add_help=False, help="choose dedup_threshold from labelled pairs (batchsieve "
                   "calibrate PAIRS.jsonl --help)")
    from ._demo_report import REAL_DEFAULT_MODES, add_arguments, run_from_args

    demo = sub.add_parser("demo", help="replay bursty real questions: unbatched vs batched vs batched+dedup")
    demo.add_argument("--requests", type=int, default=None, help="requests in the stream (qqp 2000, synthetic "
                      "1500; --replay: the whole file)")
    demo.add_argument("--rate", type=float, default=300.0, help="average arrival rate, requests per second")
    demo.add_argument("--seed", type=int, default=7)
    demo.add_argument("--window-ms", type=float, default=10.0)
    demo.add_argument("--max-size", type=int, default=32)
    demo.add_argument("--modes", default=None, help=f"comma-separated, from: {', '.join(MODES)} (default qqp: "
                      f"{','.join(REAL_DEFAULT_MODES)}; synthetic: {','.join(DEFAULT_MODES)})")
    add_arguments(demo)  # --workload, --replay, --backend, --json, --plot, --show-merges, ...
    args = parser.parse_args(argv)
    synthetic = args.workload == "synthetic" and args.replay is None
    default_modes = DEFAULT_MODES if synthetic else REAL_DEFAULT_MODES
    modes = [m.strip() for m in (args.modes or ",".join(default_modes)).split(",") if m.strip()]
    unknown = [m for m in modes if m not in MODES]
    if unknown:
        parser.error(f"unknown mode(s) {unknown}; choose from {', '.join(MODES)}")
    if not synthetic:
        run_from_args(args, modes)
        return
    run_demo(1500 if args.requests is None else args.requests, args.rate, seed=args.seed, window_ms=args.window_ms,
             max_size=args.max_size, modes=modes)
