"""Streaming benchmark: a simulated LLM streaming backend on a duplicate-heavy stream, dedup against no dedup.

The backend (the processor's handler, an async generator): a batch of ``n`` prompts first waits its time to
first token, ``--ttft-ms`` + ``--prefill-ms`` per prompt, then yields one token per still-generating prompt
per step, each step ``--token-ms`` + ``--token-ms-per-request`` per prompt; a prompt's answer has a fixed
length of 20-60 tokens (from its text), and every token it generates is billed (``--usd-per-1k-tokens``).
Up to ``--concurrency`` batches generate at once (``max_concurrent_batches``), ``window_ms=5``,
``max_size=16``.

The stream: ``--requests`` callers over ``--pool`` distinct prompts drawn with Zipf popularity (``--zipf``),
Poisson arrivals at ``--rate`` per second, the same seeded sequence for both runs. Each caller reads its
answer with ``async for token in batch.stream(prompt)`` and records its time to first token (TTFT) and
its tokens; every answer is checked against the prompt's expected tokens.

Two runs of the same stream, one after the other, real time:

* ``no dedup``: ``enable_dedup=False``: every caller gets a generation of its own (the baseline);
* ``dedup``: exact dedup: duplicates share one generation (queued, coalesced onto a dispatched batch, or
  joining a stream mid-way and replayed from its first token).

Each caller is classed by what it met on arrival, in its own run: ``first`` (no identical prompt in
flight), ``queued duplicate`` (an identical prompt in flight, no token of it out yet), ``late joiner`` (an
identical prompt already streaming). Reported per run: tokens generated (and their cost), TTFT p50/p99 per
class, and the duplicate share: the token-weighted share of callers that met an identical prompt in flight.
Targets: tokens generated reduced by at least the duplicate share (less 0.5 points), and the late joiners'
TTFT p50 and p99 no worse than the first callers' in the dedup run.

Usage::

    .venv/bin/python benchmarks/streaming.py             # 1,500 callers at 150/s (about 25 s)
    .venv/bin/python benchmarks/streaming.py --quick     # 500 callers
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import random
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from batchsieve import BatchProcessor

END = StopIteration()


def answer_length(prompt: str) -> int:
    """A fixed answer length per prompt, 20-60 tokens (a stable hash of its text)."""
    return 20 + int(hashlib.blake2b(prompt.encode(), digest_size=2).hexdigest(), 16) % 41


def tokens_of(prompt: str) -> list[str]:
    return [f"{prompt}#{k}" for k in range(answer_length(prompt))]


@dataclass
class Backend:
    """The simulated LLM streaming server; counts what it generates."""

    ttft_s: float
    prefill_s: float
    token_s: float
    token_per_request_s: float
    generated: int = 0
    batches: int = 0

    async def __call__(self, prompts: list[str]):
        self.batches += 1
        n = len(prompts)
        lengths = [answer_length(p) for p in prompts]
        await asyncio.sleep(self.ttft_s + self.prefill_s * n)
        for k in range(max(lengths)):
            await asyncio.sleep(self.token_s + self.token_per_request_s * sum(1 for m in lengths if m > k))
            step = []
            for p, m in zip(prompts, lengths, strict=True):
                if k < m:
                    step.append(f"{p}#{k}")
                    self.generated += 1
                else:
                    step.append(END)
            yield step
        yield [END] * n


@dataclass
class Caller:
    prompt: str
    arrival: float = 0.0
    ttft: float = float("nan")
    done: float = float("nan")
    cls: str = ""
    ok: bool = False


@dataclass
class Run:
    name: str
    callers: list[Caller] = field(default_factory=list)
    generated: int = 0
    batches: int = 0
    stats: dict = field(default_factory=dict)
    seconds: float = 0.0


def make_stream(n: int, pool: int, zipf_s: float, rate: float, seed: int) -> list[tuple[float, str]]:
    rng = random.Random(seed)
    prompts = [f"prompt-{i:04d}" for i in range(pool)]
    rng.shuffle(prompts)
    weights = [1.0 / (rank + 1) ** zipf_s for rank in range(pool)]
    picks = rng.choices(prompts, weights=weights, k=n)
    t = 0.0
    out = []
    for p in picks:
        t += rng.expovariate(rate)
        out.append((t, p))
    return out


async def run_one(name: str, stream: list[tuple[float, str]], args: argparse.Namespace, dedup: bool) -> Run:
    backend = Backend(args.ttft_ms / 1e3, args.prefill_ms / 1e3, args.token_ms / 1e3,
                      args.token_ms_per_request / 1e3)
    batch = BatchProcessor(backend, dedup_strategy="exact", enable_dedup=dedup, window_ms=5, max_size=16,
                           max_concurrent_batches=args.concurrency, processing_timeout=60)
    loop = asyncio.get_running_loop()
    run = Run(name)
    # per prompt: callers in flight, and whether a token of the one that generates it is out yet
    in_flight: dict[str, list[Caller]] = {}

    async def call(c: Caller) -> None:
        c.arrival = loop.time()
        others = in_flight.setdefault(c.prompt, [])
        if not others:
            c.cls = "first"
        else:
            c.cls = "late joiner" if any(o.ttft == o.ttft for o in others) else "queued duplicate"
        others.append(c)
        got = []
        try:
            async for token in batch.stream(c.prompt):
                if not got:
                    c.ttft = loop.time() - c.arrival
                got.append(token)
        finally:
            others.remove(c)
            c.done = loop.time()
        c.ok = got == tokens_of(c.prompt)

    t0 = loop.time()
    tasks = []
    for at, prompt in stream:
        delay = t0 + at - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        c = Caller(prompt)
        run.callers.append(c)
        tasks.append(asyncio.ensure_future(call(c)))
    await asyncio.gather(*tasks)
    await batch.close()
    run.seconds = loop.time() - t0
    run.generated = backend.generated
    run.batches = backend.batches
    s = batch.get_stats()
    run.stats = {k: getattr(s, k) for k in ("streams_started", "stream_subscribers", "subscribers_per_stream",
                                            "stream_chunks_generated", "stream_chunks_fanned_out",
                                            "streams_closed_early", "total_batches")}
    run.stats["merges"] = dict(s.merges)
    return run


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) * 1e3 if values else float("nan")


def summarise(run: Run) -> dict:
    by_cls: dict[str, list[float]] = {}
    for c in run.callers:
        by_cls.setdefault(c.cls, []).append(c.ttft)
    demanded = sum(answer_length(c.prompt) for c in run.callers)
    shared = sum(answer_length(c.prompt) for c in run.callers if c.cls != "first")
    return {
        "run": run.name, "callers": len(run.callers), "wrong": sum(not c.ok for c in run.callers),
        "generated": run.generated, "demanded": demanded, "duplicate_share": shared / demanded,
        "batches": run.batches, "seconds": run.seconds,
        "ttft": {cls: {"n": len(v), "p50_ms": pct(v, 50), "p99_ms": pct(v, 99)} for cls, v in sorted(by_cls.items())},
        "stats": run.stats,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--requests", type=int, default=1500)
    ap.add_argument("--pool", type=int, default=300)
    ap.add_argument("--zipf", type=float, default=1.1)
    ap.add_argument("--rate", type=float, default=150.0)
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--ttft-ms", type=float, default=80.0)
    ap.add_argument("--prefill-ms", type=float, default=2.0)
    ap.add_argument("--token-ms", type=float, default=15.0)
    ap.add_argument("--token-ms-per-request", type=float, default=0.3)
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--usd-per-1k-tokens", type=float, default=0.002)
    ap.add_argument("--quick", action="store_true", help="500 callers")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args(argv)
    if args.quick:
        args.requests = min(args.requests, 500)
    stream = make_stream(args.requests, args.pool, args.zipf, args.rate, args.seed)
    t = time.perf_counter()
    base = summarise(asyncio.run(run_one("no dedup", stream, args, dedup=False)))
    ours = summarise(asyncio.run(run_one("dedup", stream, args, dedup=True)))
    print(f"{args.requests} callers over {args.pool} prompts (Zipf {args.zipf}), {args.rate:g}/s; backend TTFT "
          f"{args.ttft_ms:g} ms + {args.prefill_ms:g} ms/prompt, {args.token_ms:g} ms/token step + "
          f"{args.token_ms_per_request:g} ms/prompt, {args.concurrency} batches at once "
          f"({time.perf_counter() - t:.0f} s)\n")
    print("| run | tokens generated | cost | x no dedup | batches | wrong answers |")
    print("|---|---:|---:|---:|---:|---:|")
    for r in (base, ours):
        print(f"| {r['run']} | {r['generated']:,} | ${r['generated'] * args.usd_per_1k_tokens / 1e3:.3f} | "
              f"{r['generated'] / base['generated']:.3f} | {r['batches']} | {r['wrong']} |")
    print("\n| run | caller class | callers | TTFT p50 ms | TTFT p99 ms |")
    print("|---|---|---:|---:|---:|")
    for r in (base, ours):
        for cls, v in r["ttft"].items():
            print(f"| {r['run']} | {cls} | {v['n']} | {v['p50_ms']:.1f} | {v['p99_ms']:.1f} |")
    reduction = 1 - ours["generated"] / base["generated"]
    share = ours["duplicate_share"]
    print(f"\ndedup run: {ours['stats']}")
    ok_tokens = reduction >= share - 0.005
    print(f"\ntokens generated reduced by {reduction:.1%}; duplicate share (token-weighted, callers that met an "
          f"identical prompt in flight) {share:.1%}: {'PASS' if ok_tokens else 'FAIL'}")
    first, late = ours["ttft"].get("first"), ours["ttft"].get("late joiner")
    ok_ttft = bool(first and late and late["p50_ms"] <= first["p50_ms"] and late["p99_ms"] <= first["p99_ms"])
    if first and late:
        print(f"late joiners' TTFT p50/p99 {late['p50_ms']:.1f}/{late['p99_ms']:.1f} ms vs first callers' "
              f"{first['p50_ms']:.1f}/{first['p99_ms']:.1f} ms: {'PASS' if ok_ttft else 'FAIL'}")
    wrong = base["wrong"] + ours["wrong"]
    print(f"answers checked: {wrong} wrong: {'PASS' if wrong == 0 else 'FAIL'}")
    if args.json:
        args.json.write_text(json.dumps({"args": vars(args) | {"json": str(args.json)}, "no_dedup": base,
                                         "dedup": ours, "reduction": reduction, "duplicate_share": share},
                                        indent=2, default=str))
    return 0 if ok_tokens and ok_ttft and wrong == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
