"""One vs two batchsieve replicas on Ray Serve, key-affine routing against Ray's default, on one stream.

Usage::

    python benchmarks/ray_scaleout.py                 # ~2.5 minutes on 2 CPU cores
    python benchmarks/ray_scaleout.py --quick --json out.json

The backend is a simulated LLM server: each replica's handler call costs 500 ms (``--call-ms``) + 2 ms per
unique request it serves (``asyncio.sleep``: real time, no CPU), one call at a time per replica. The stream
is duplicate-heavy and open-loop (seeded): popular questions start at a steady rate and each arrives 10
times within one second of its first arrival (some copies respelled: case, spaces), mixed with one-off
questions. Every configuration serves the same stream, in the same run:

* ``1 replica``: the baseline (routing does not matter);
* ``2 replicas, default``: Ray Serve's default router (power of two choices);
* ``2 replicas, key-affine``: ``route_by_key=True`` (rendezvous hashing of scope + normalised text).

It prints the capacity (``burst/s``: distinct requests answered per second when ``--burst`` of them are sent
at once after the stream), the stream's throughput (answered per second: the offered load when the replicas
keep up), client-side p50/p99 latency over the stream, handler slots (unique requests the backend served:
what an LLM bills) and handler calls, and each replica's share of the stream,
then the verdict on the issue's target: with 2 replicas, key-affine needs at most 60% of the handler slots
of default routing, at no worse p99. Rounds alternate the order of the configurations.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CALL_S = 0.500  # the simulated LLM's cost per call: a short generation for a small batch (--call-ms)
PER_ITEM_S = 0.002  # and per unique request it serves
REPEATS = 10  # each popular question arrives this many times...
SPREAD_S = 1.0  # ...within this long of its first arrival (the "10 times within a second")


def make_backend(call_s: float) -> Any:
    """The simulated LLM: one call at a time per replica (max_concurrent_batches=1), real time, no CPU."""

    async def simulated_llm(requests: list) -> list[str]:
        await asyncio.sleep(call_s + PER_ITEM_S * len(requests))
        return [f"answer to {r}" for r in requests]

    return simulated_llm


def make_stream(seconds: float, popular_per_s: float, unique_per_s: float, seed: int) -> list[tuple[float, str]]:
    """``(arrival offset s, text)`` sorted by arrival."""
    rng = random.Random(seed)
    out: list[tuple[float, str]] = []
    n_popular = int(seconds * popular_per_s)
    for q in range(n_popular):
        start = q / popular_per_s
        for r in range(REPEATS):
            t = start + (0.0 if r == 0 else rng.uniform(0, SPREAD_S))
            text = f"popular question {q}?"
            if rng.random() < 0.2:
                text = f"  Popular QUESTION {q}? "  # respelled: the same after normalisation
            out.append((t, text))
    for u in range(int(seconds * unique_per_s)):
        out.append((rng.uniform(0, seconds), f"one-off question {u}?"))
    return sorted(out)


@dataclass
class Outcome:
    config: str
    replicas: int
    route_by_key: bool
    requests: int
    errors: int
    wrong: int
    seconds: float
    throughput: float
    p50_ms: float
    p99_ms: float
    handler_slots: int
    handler_calls: int
    dedup_rate: float
    shares: list[int]
    burst_throughput: float  # distinct requests answered per second, all sent at once: the capacity


def _norm(text: str) -> str:
    return " ".join(text.split()).lower()


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))] if ordered else 0.0


async def _drive(handle: Any, stream: list[tuple[float, str]]) -> tuple[list[float], int, int, float]:
    loop = asyncio.get_running_loop()
    start = loop.time() + 0.5  # every request is scheduled before the first is due
    latencies: list[float] = []
    errors = wrong = 0

    async def one(offset: float, text: str) -> None:
        nonlocal errors, wrong
        due = start + offset
        await asyncio.sleep(max(0.0, due - loop.time()))
        try:
            answer = await handle.remote(text)
        except Exception:
            errors += 1
            return
        latencies.append((loop.time() - due) * 1000.0)
        if _norm(answer) != _norm(f"answer to {text}"):  # a respelled copy may carry its twin's spelling
            wrong += 1

    await asyncio.gather(*(one(t, text) for t, text in stream))
    return latencies, errors, wrong, loop.time() - start


async def run_config(name: str, replicas: int, route_by_key: bool, stream: list[tuple[float, str]],
                     window_ms: float, call_s: float, burst: int) -> Outcome:
    from batchsieve.ray_serve import batchsieve_deployment, gather_stats
    from ray import serve

    label = f"bench-{replicas}-{'affine' if route_by_key else 'default'}"  # one deployment (and router) each
    app = batchsieve_deployment(make_backend(call_s), name=label, num_replicas=replicas, route_by_key=route_by_key,
                                ray_actor_options={"num_cpus": 0}, window_ms=window_ms, max_size=64,
                                dedup_strategy="exact").bind()
    handle = serve.run(app, name=label, route_prefix=None)
    try:
        await asyncio.gather(*(handle.remote(f"warm-up {i}") for i in range(2 * replicas)))  # routers, replicas
        before = await gather_stats(handle)
        latencies, errors, wrong, seconds = await _drive(handle, stream)
        after = await gather_stats(handle)
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        await asyncio.gather(*(handle.remote(f"burst {label} {i}") for i in range(burst)))
        burst_throughput = burst / (loop.time() - t0)
    finally:
        serve.delete(label)
    base = {r.replica: r.stats for r in before.replicas}
    shares = [r.stats.total_requests - (base[r.replica].total_requests if r.replica in base else 0)
              for r in after.replicas]
    return Outcome(name, replicas, route_by_key, len(stream), errors, wrong, seconds,
                   len(latencies) / seconds, _pct(latencies, 50), _pct(latencies, 99),
                   after.handler_requests - before.handler_requests, after.total_batches - before.total_batches,
                   1 - (after.handler_requests - before.handler_requests) / max(1, len(latencies)), shares,
                   burst_throughput)


CONFIGS = (("1 replica", 1, True), ("2 replicas, default", 2, False), ("2 replicas, key-affine", 2, True))


def _table(rows: list[Outcome]) -> str:
    head = (f"{'configuration':<24} {'burst/s':>7} {'req/s':>7} {'p50 ms':>8} {'p99 ms':>8} {'slots':>6} {'calls':>6} "
            f"{'dedup':>6} {'errors':>6} {'wrong':>5}  per-replica requests")
    lines = [head, "-" * len(head)]
    for o in rows:
        lines.append(f"{o.config:<24} {o.burst_throughput:7.1f} {o.throughput:7.1f} {o.p50_ms:8.1f} {o.p99_ms:8.1f} "
                     f"{o.handler_slots:6d} "
                     f"{o.handler_calls:6d} {o.dedup_rate:6.1%} {o.errors:6d} {o.wrong:5d}  {o.shares}")
    return "\n".join(lines)


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    import ray
    from ray import serve

    stream = make_stream(args.seconds, args.popular_per_s, args.unique_per_s, args.seed)
    print(f"stream: {len(stream)} requests over {args.seconds:g} s ({args.popular_per_s:g} popular questions/s "
          f"x {REPEATS} within {SPREAD_S:g} s, {args.unique_per_s:g} one-off/s); backend {args.call_ms:.0f} ms "
          f"+ {PER_ITEM_S * 1000:.0f} ms/request per call; window_ms={args.window_ms:g}, exact dedup", flush=True)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
    serve.start(logging_config={"log_level": "ERROR"})
    rounds: list[list[Outcome]] = []
    try:
        for r in range(args.rounds):
            order = [CONFIGS[i] for i in (args.order if r % 2 == 0 else reversed(args.order))]
            rows = [await run_config(name, n, by_key, stream, args.window_ms, args.call_ms / 1000, args.burst)
                    for name, n, by_key in order]
            rows.sort(key=lambda o: [c[0] for c in CONFIGS].index(o.config))
            rounds.append(rows)
            print(f"\nround {r + 1}\n{_table(rows)}", flush=True)
    finally:
        serve.shutdown()
        ray.shutdown()
    verdicts = []
    for rows in rounds:
        one, default, affine = rows
        ratio = affine.handler_slots / default.handler_slots
        verdicts.append({"slots_ratio": ratio, "p99_ratio": affine.p99_ms / default.p99_ms,
                         "throughput_2_vs_1": affine.burst_throughput / one.burst_throughput,
                         "calls_ratio": affine.handler_calls / default.handler_calls})
    worst = max(v["slots_ratio"] for v in verdicts)
    worst_p99 = max(v["p99_ratio"] for v in verdicts)
    ok = worst <= 0.60 and worst_p99 <= 1.0 and all(o.errors == 0 and o.wrong == 0 for rows in rounds for o in rows)
    def listed(key: str) -> str:
        return ", ".join(f"{v[key]:.2f}" for v in verdicts)

    print(f"\nkey-affine / default, 2 replicas, by round: handler slots {listed('slots_ratio')} (target <= 0.60), "
          f"handler calls {listed('calls_ratio')}, p99 {listed('p99_ratio')} (target <= 1.00); "
          f"2 replicas key-affine / 1 replica burst throughput {listed('throughput_2_vs_1')}")
    print(f"{'PASS' if ok else 'FAIL'}: key-affine routing needs {worst:.0%} of default routing's handler slots "
          f"(worst round) at {worst_p99:.2f}x its p99")
    return {"stream": {"requests": len(stream), "seconds": args.seconds, "popular_per_s": args.popular_per_s,
                       "unique_per_s": args.unique_per_s, "seed": args.seed, "window_ms": args.window_ms,
                       "call_ms": args.call_ms},
            "rounds": [[o.__dict__ for o in rows] for rows in rounds], "ratios": verdicts, "pass": ok}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seconds", type=float, default=10.0, help="length of the stream")
    p.add_argument("--popular-per-s", type=float, default=20.0, help="popular questions starting per second")
    p.add_argument("--unique-per-s", type=float, default=0.0,
                   help="one-off questions per second (they dilute what dedup can save)")
    p.add_argument("--window-ms", type=float, default=20.0)
    p.add_argument("--call-ms", type=float, default=CALL_S * 1000, help="the simulated LLM's cost per call")
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--burst", type=int, default=400, help="distinct requests sent at once after the stream")
    p.add_argument("--seed", type=int, default=12)
    p.add_argument("--order", type=lambda v: [int(x) for x in v.split(",")], default=[0, 1, 2],
                   help="the configurations' order in odd rounds (reversed in even rounds): 0 one replica, "
                        "1 default, 2 key-affine")
    p.add_argument("--quick", action="store_true", help="a 6 s stream, one round")
    p.add_argument("--json", type=Path, default=None)
    args = p.parse_args(argv)
    if args.quick:
        args.seconds, args.rounds = 6.0, 1
    result = asyncio.run(main_async(args))
    if args.json is not None:
        args.json.write_text(json.dumps(result, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
