"""Engine overhead: 50,000 concurrent single-request calls through a no-op handler.

Providers, measured in the same process and interleaved round by round (this machine is shared, so every
figure is read against the baselines of the same run):

* ``plain``: ``await handler([x])`` per call (no batching at all);
* ``floor``: each call parks on a future that a minimal loop resolves 32 at a time (the cost any
  per-request-future batcher must pay);
* ``async-batcher`` and ``batched`` (mixedbread): the PyPI micro-batchers, batch size 32, 5 ms;
* ``batchsieve``: ``BatchProcessor(window_ms=5, max_size=32)`` without dedup and with exact dedup.

Providers run in a seeded random order that changes every round: a provider's figure depends on what ran
just before it (measured: the same batchsieve configuration is ~20% faster right after a peer than right
after another batchsieve run), so a fixed order would bias the comparison.

Every request is distinct, so dedup saves nothing here: this measures what dedup costs, not what it saves.
Rates are requests per CPU-second of this single-threaded process (``time.process_time``): the event loop
is one thread, so its CPU time is the cost, and it is not inflated when other processes hold the cores.
Every library is imported before the first measurement and the start-up heap is frozen (``gc.freeze``), so
each provider pays the garbage collector for its own objects only, whatever ran before it.
With ``--against REV`` (repeatable) the engine of git revision ``REV`` (e.g. the commit before a refactor)
is extracted into a temporary folder, imported beside this tree's as the package ``batchsieve_<REV>``, and
measured in the same rounds, so they are compared side by side under the same load.

Usage: ``python benchmarks/overhead.py [--n 50000] [--rounds 5] [--against REV]``.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import importlib.util
import io
import random
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from collections import deque
from collections.abc import Awaitable, Callable

from batchsieve import BatchProcessor

BATCH = 32
WINDOW_MS = 5.0


async def _noop(items: list) -> list:
    return items


async def _drive(call: Callable[[str], Awaitable[object]], n: int) -> float:
    requests = [f"query number {i}" for i in range(n)]
    gc.collect()
    c0 = time.process_time()
    results = await asyncio.gather(*[call(r) for r in requests])
    cpu = time.process_time() - c0
    assert len(results) == n
    # CPU seconds of this (single-threaded) process, not wall time: the machine is shared, and time spent
    # waiting for a core says nothing about the code. On an idle machine the two agree (see RESULTS.md).
    return n / cpu


async def run_plain(n: int) -> float:
    async def call(x: str) -> object:
        return (await _noop([x]))[0]

    return await _drive(call, n)


async def run_floor(n: int) -> float:
    loop = asyncio.get_running_loop()
    futures: deque[asyncio.Future] = deque()
    items: deque[str] = deque()
    wake = asyncio.Event()

    async def resolver() -> None:
        while True:
            await wake.wait()
            wake.clear()
            while futures:
                k = min(BATCH, len(futures))
                batch = [futures.popleft() for _ in range(k)]
                out = await _noop([items.popleft() for _ in range(k)])
                for fut, r in zip(batch, out, strict=True):
                    fut.set_result(r)

    task = loop.create_task(resolver())

    async def call(x: str) -> object:
        fut = loop.create_future()
        futures.append(fut)
        items.append(x)
        wake.set()
        return await fut

    try:
        return await _drive(call, n)
    finally:
        task.cancel()


async def run_async_batcher(n: int) -> float:
    from async_batcher.batcher import AsyncBatcher

    class _Batcher(AsyncBatcher):
        async def process_batch(self, batch: list) -> list:
            return await _noop(batch)

    batcher = _Batcher(max_batch_size=BATCH, max_queue_time=WINDOW_MS / 1e3)
    try:
        return await _drive(batcher.process, n)
    finally:
        await batcher.stop()


async def run_batched(n: int) -> float:
    import batched

    @batched.aio.dynamically(batch_size=BATCH, timeout_ms=WINDOW_MS)
    async def fn(items: list) -> list:
        return await _noop(items)

    return await _drive(fn, n)


def _ours(enable_dedup: bool, processor: type = BatchProcessor) -> Callable[[int], Awaitable[float]]:
    async def run(n: int) -> float:
        batch = processor(handler=_noop, window_ms=WINDOW_MS, max_size=BATCH, max_wait_ms=WINDOW_MS * 2,
                               enable_dedup=enable_dedup, dedup_strategy="exact", max_queue_size=n)
        async with batch:
            return await _drive(batch.process, n)

    return run


PROVIDERS: dict[str, Callable[[int], Awaitable[float]]] = {
    "plain await": run_plain,
    "bare floor": run_floor,
    "async-batcher": run_async_batcher,
    "batched": run_batched,
    "batchsieve (no dedup)": _ours(False),
    "batchsieve (exact dedup)": _ours(True),
}


def load_revision(rev: str) -> type:
    """``BatchProcessor`` of git revision ``rev``'s ``engine/``, imported as the package ``batchsieve_<rev>``."""
    root = subprocess.run(["git", "rev-parse", "--show-toplevel"], capture_output=True, text=True,
                          check=True).stdout.strip()
    archive = subprocess.run(["git", "-C", root, "archive", rev, "engine"], capture_output=True, check=True).stdout
    folder = tempfile.mkdtemp(prefix="batchsieve-prev-")
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(folder, filter="data")
    name = f"batchsieve_{rev.replace('-', '_').replace('.', '_')}"
    spec = importlib.util.spec_from_file_location(name, f"{folder}/engine/__init__.py",
                                                  submodule_search_locations=[f"{folder}/engine"])
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module.BatchProcessor


async def main(n: int, rounds: int) -> dict[str, list[float]]:
    # Same heap for every provider: import every library before the first measurement (a peer that imports
    # numpy or torch on first use would otherwise make the collector's full passes dearer for whoever runs
    # after it), then freeze what start-up allocated, as a long-running server would (gc.freeze).
    import async_batcher.batcher  # noqa: F401
    import batched  # noqa: F401

    gc.collect()
    gc.freeze()
    rates: dict[str, list[float]] = {name: [] for name in PROVIDERS}
    # A provider's figure depends on what ran just before it (heap state), so the order is shuffled each
    # round (seeded): every provider sees every position, none is always first or always after a peer.
    rng = random.Random(2026)
    names = list(PROVIDERS)
    for _ in range(rounds):
        rng.shuffle(names)
        for name in names:
            rates[name].append(await PROVIDERS[name](n))
    return rates


def report(rates: dict[str, list[float]], n: int, rounds: int) -> str:
    best = {k: max(v) for k, v in rates.items()}
    floor = best["bare floor"]
    peer = max(best["async-batcher"], best["batched"])
    lines = [f"{n:,} concurrent single-request calls, no-op handler, batch {BATCH}, window {WINDOW_MS:g} ms; "
             f"best and median of {rounds} interleaved rounds (requests per CPU-second)", "",
             "| provider | best req/s | median req/s | vs bare floor | vs faster peer |",
             "|---|---:|---:|---:|---:|"]
    for name, vals in rates.items():
        lines.append(f"| {name} | {best[name]:,.0f} | {statistics.median(vals):,.0f} | "
                     f"{best[name] / floor:.2f}x | {best[name] / peer:.2f}x |")
    med = {k: statistics.median(v) for k, v in rates.items()}
    lines.append("")
    for label, figures in (("best", best), ("median", med)):
        for mode in ("no dedup", "exact dedup"):
            for prev in (k for k in figures if k.startswith("batchsieve@") and k.endswith(f"({mode})")):
                ratio = figures[f"batchsieve ({mode})"] / figures[prev]
                lines.append(f"{label:>6}: {mode}: this tree = {ratio:.3f}x {prev.split(' ')[0]} "
                             f"(no regression if >= 0.97: {'PASS' if ratio >= 0.97 else 'FAIL'})")
        ours = figures["batchsieve (exact dedup)"]
        peer_x = ours / max(figures["async-batcher"], figures["batched"])
        floor_x = ours / figures["bare floor"]
        lines.append(f"{label:>6}: exact dedup = {peer_x:.2f}x the faster peer (target >= 1.5: "
                     f"{'PASS' if peer_x >= 1.5 else 'FAIL'}), {floor_x:.2f}x the bare floor (target >= 0.75: "
                     f"{'PASS' if floor_x >= 0.75 else 'FAIL'})")
    return "\n".join(lines)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=50_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--against", metavar="REV", action="append", default=[],
                        help="also measure the engine of this git revision (repeatable)")
    args = parser.parse_args()
    for rev in args.against:
        previous = load_revision(rev)
        PROVIDERS[f"batchsieve@{rev} (no dedup)"] = _ours(False, previous)
        PROVIDERS[f"batchsieve@{rev} (exact dedup)"] = _ours(True, previous)
    print(report(asyncio.run(main(args.n, args.rounds)), args.n, args.rounds))
