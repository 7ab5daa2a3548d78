"""Soak: a million requests through a saturated processor, with and without injected faults.

The load (the same seeded stream for both runs, faults aside): a fixed pool of client coroutines, more of
them than ``max_queue_size``, each issuing one request after another, so the queue stays full for the whole
run and some calls are refused with ``QueueFullError`` (refused calls are retried and are not counted as
accepted). Requests repeat (a hot set of texts, so exact duplicates coalesce in the queue and onto running
calls), spread over many scopes and priorities; some callers carry a short ``timeout`` and some are
cancelled at once or a few loop turns after they were accepted. With faults, 1% of the requests are faulty:
most answer their own slot with an exception (an ``Exception``, or a ``StopIteration``/``CancelledError``
instance the engine must wrap), a few make the whole handler call raise.

Every answer is checked against the request it answers (the handler's value is derived from the request);
at the end the processor's counters must balance exactly:
``total_requests == completed_requests + failed_requests + cancelled_requests``, and ``total_requests``
must equal the number of calls the clients saw accepted.

Reported: requests per second (wall and per CPU-second of this single-threaded process: the machine may be
shared, and CPU time is not inflated by other processes), RSS at start, middle and end (``VmRSS`` of
``/proc/self/status``), and the throughput ratio faults / no faults. The two runs are interleaved in rounds
(seeded order) so that neither pays for warming up the interpreter. Targets (PASS/FAIL): RSS growth under
50 MB over the run, throughput with faults within 20% of the run without.

Usage: ``python benchmarks/soak.py [--n 1000000] [--quick] [--seed 0]``.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import random
import resource
import sys
import time
from dataclasses import dataclass, field

from batchsieve import (
    BatchProcessingError,
    BatchProcessor,
    QueueFullError,
    RequestTimeoutError,
    normalize_text,
)

MAX_SIZE = 64
MAX_QUEUE = 1024
CLIENTS = 1200  # > MAX_QUEUE: the queue stays full and some calls are refused
CONCURRENT_BATCHES = 2
SCOPES = 64
HOT_TEXTS = 128
FAULT_RATE = 0.01
RSS_TARGET_MB = 50.0
RATIO_TARGET = 0.8


def rss_mb() -> float:
    """Resident set size of this process now, in MB (``/proc/self/status``; peak RSS where it is missing)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class Poison(Exception):
    """A whole handler call fails."""


def answer(request: object) -> tuple:
    """The value the handler gives a request: derived from the request alone."""
    if isinstance(request, str):
        return ("ans", normalize_text(request))
    return ("ans", normalize_text(request["query"]), request["model"])


async def handler(requests: list) -> list:
    """Async and no-op-ish; a request's text says whether it is faulty (``!slot``, ``!base``, ``!poison``)."""
    await asyncio.sleep(0)
    out = []
    for r in requests:
        text = r if isinstance(r, str) else r["query"]
        if text[0] == "!":
            if text.startswith("!poison"):
                raise Poison(text)
            if text.startswith("!slot"):
                out.append(ValueError(text))
                continue
            out.append(StopIteration(text) if len(text) % 2 else asyncio.CancelledError(text))
            continue
        out.append(answer(r))
    return out


def _same(args: tuple, text: str) -> bool:
    """Whether a fault's arguments name this text (or an exact duplicate of it, which shares its slot)."""
    return len(args) == 1 and isinstance(args[0], str) and normalize_text(args[0]) == normalize_text(text)


@dataclass
class Counts:
    """What the clients saw (one run)."""

    accepted: int = 0
    refused: int = 0  # QueueFullError: not accepted, retried
    results: int = 0
    wrong: int = 0  # a result that is not the answer of the caller's own request
    slot_errors: int = 0
    wrapped: int = 0  # BatchProcessingError from a StopIteration/CancelledError slot value
    batch_errors: int = 0
    timeouts: int = 0
    cancelled: int = 0
    unexpected: list[str] = field(default_factory=list)
    cpu_s: float = 0.0
    wall_s: float = 0.0

    def outcomes(self) -> int:
        return self.results + self.slot_errors + self.wrapped + self.batch_errors + self.timeouts + self.cancelled


class Load:
    """One run's processor and its seeded request stream, driven ``n`` accepted requests at a time."""

    def __init__(self, faults: bool, seed: int) -> None:
        self.faults = faults
        self.rng = random.Random(seed)  # the same stream for both runs: faults only change the texts
        self.fault_rng = random.Random(seed + 1)
        self.counts = Counts()
        self.batch = BatchProcessor(handler, window_ms=2, max_size=MAX_SIZE, max_queue_size=MAX_QUEUE,
                                    max_concurrent_batches=CONCURRENT_BATCHES, enable_priorities=True,
                                    dedup_strategy="exact", processing_timeout=30.0)
        self._serial = 0

    def _request(self) -> tuple[object, int, float | None, int, int]:
        """(request, scope, timeout, priority, cancel_after: -1 never, else loop turns)."""
        rng = self.rng
        self._serial += 1
        hot = rng.random() < 0.4
        if hot:  # a hot question always comes from the same scope: its callers coalesce
            index = rng.randrange(HOT_TEXTS)
            text = f"hot question {index}"
            if rng.random() < 0.3:
                text = "  " + text.upper()  # the same question after normalisation
        else:
            text = f"question {self._serial}"
        if self.faults and self.fault_rng.random() < FAULT_RATE:
            kind = self.fault_rng.random()
            tag = "!poison" if kind < 0.1 else "!slot" if kind < 0.7 else "!base"
            text = f"{tag} {text}"
        request: object = text if rng.random() < 0.7 else {"query": text, "model": rng.choice(("a", "b"))}
        scope = index % SCOPES if hot else rng.randrange(SCOPES)
        u = rng.random()
        timeout = None if u >= 0.02 else rng.choice((0.0005, 0.002, 0.05))
        priority = rng.randrange(4)
        v = rng.random()
        cancel_after = -1 if v >= 0.01 else rng.randrange(3)
        return request, scope, timeout, priority, cancel_after

    async def _one(self, request: object, scope: int, timeout: float | None, priority: int,
                   cancel_after: int) -> bool:
        """One call; return whether it was accepted."""
        counts = self.counts
        batch = self.batch
        if cancel_after >= 0:
            task = asyncio.ensure_future(batch.process(request, scope=scope, timeout=timeout, priority=priority))
            for _ in range(1 + cancel_after):  # the first turn submits it
                await asyncio.sleep(0)
            task.cancel()
            try:
                value = await task
            except asyncio.CancelledError:
                if task.cancelled():
                    counts.cancelled += 1
                    return True
                raise
            except QueueFullError:
                counts.refused += 1
                return False
            except BaseException as exc:
                self._failure(request, exc)
                return True
            self._result(request, value)
            return True
        try:
            value = await batch.process(request, scope=scope, timeout=timeout, priority=priority)
        except QueueFullError:
            counts.refused += 1
            return False
        except BaseException as exc:
            if isinstance(exc, asyncio.CancelledError):
                raise
            self._failure(request, exc)
            return True
        self._result(request, value)
        return True

    def _result(self, request: object, value: object) -> None:
        counts = self.counts
        counts.results += 1
        text = request if isinstance(request, str) else request["query"]
        if text[0] == "!" or value != answer(request):
            counts.wrong += 1

    def _failure(self, request: object, exc: BaseException) -> None:
        counts = self.counts
        text = request if isinstance(request, str) else request["query"]
        if isinstance(exc, RequestTimeoutError):
            counts.timeouts += 1
        elif isinstance(exc, ValueError) and text.startswith("!slot") and _same(exc.args, text):
            counts.slot_errors += 1
        elif (isinstance(exc, BatchProcessingError) and isinstance(exc.original, Poison)
              and exc.original.args[0].startswith("!poison")):
            counts.batch_errors += 1
        elif (isinstance(exc, BatchProcessingError) and text.startswith("!base")
              and isinstance(exc.original, (StopIteration, asyncio.CancelledError))
              and _same(exc.original.args, text)):
            counts.wrapped += 1
        elif len(counts.unexpected) < 20:
            counts.unexpected.append(f"{request!r}: {type(exc).__name__}: {exc}")
        else:
            counts.unexpected.append("...")

    async def drive(self, n: int) -> None:
        """Run the client pool until ``n`` more requests were accepted."""
        target = self.counts.accepted + n
        counts = self.counts

        async def client() -> None:
            while counts.accepted < target:
                counts.accepted += 1  # claimed before the call, so the pool stops at ``target``
                request, scope, timeout, priority, cancel_after = self._request()
                while not await self._one(request, scope, timeout, priority, cancel_after):
                    await asyncio.sleep(0.0005)  # refused: the queue is full; retry the same call

        c0, w0 = time.process_time(), time.perf_counter()
        await asyncio.gather(*[client() for _ in range(CLIENTS)])
        counts.cpu_s += time.process_time() - c0
        counts.wall_s += time.perf_counter() - w0


@dataclass
class Report:
    lines: list[str]
    ok: bool
    conserved: bool
    rss_growth_mb: float
    ratio: float


async def soak(n: int, *, rounds: int = 4, seed: int = 0, verbose: bool = True) -> Report:
    """Run ``n`` accepted requests with faults and ``n`` without, interleaved in ``rounds``; report."""
    lines: list[str] = []

    def say(line: str) -> None:
        lines.append(line)
        if verbose:
            print(line, flush=True)

    runs = {"faults": Load(True, seed), "no faults": Load(False, seed)}
    order_rng = random.Random(seed + 2)
    gc.collect()
    rss = {"start": rss_mb()}
    say(f"soak: {n:,} requests per run, {CLIENTS} clients, max_queue_size={MAX_QUEUE}, max_size={MAX_SIZE}, "
        f"max_concurrent_batches={CONCURRENT_BATCHES}, {SCOPES} scopes, {FAULT_RATE:.0%} faults; "
        f"{rounds} interleaved rounds")
    chunks = [n // rounds + (1 if i < n % rounds else 0) for i in range(rounds)]
    for i, chunk in enumerate(chunks):
        names = list(runs)
        order_rng.shuffle(names)
        for name in names:
            await runs[name].drive(chunk)
        if i == (rounds - 1) // 2:
            rss["middle"] = rss_mb()
        say(f"  round {i + 1}/{rounds} ({' then '.join(names)}): RSS {rss_mb():.1f} MB")
    for load in runs.values():
        await load.batch.close()
    gc.collect()
    rss["end"] = rss_mb()
    leaked = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]

    ok = True
    conserved = True
    say("")
    say("| run | accepted | refused (QueueFull) | req/s (wall) | req/s (CPU) | results | slot errors | "
        "wrapped | batch errors | timeouts | cancelled |")
    say("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, load in runs.items():
        c = load.counts
        say(f"| {name} | {c.accepted:,} | {c.refused:,} | {c.accepted / c.wall_s:,.0f} | "
            f"{c.accepted / c.cpu_s:,.0f} | {c.results:,} | {c.slot_errors:,} | {c.wrapped:,} | "
            f"{c.batch_errors:,} | {c.timeouts:,} | {c.cancelled:,} |")
    say("")
    for name, load in runs.items():
        c = load.counts
        s = load.batch.get_stats()
        balance = s.completed_requests + s.failed_requests + s.cancelled_requests
        exact = s.total_requests == balance == c.accepted == c.outcomes()
        conserved = conserved and exact
        say(f"{name}: total_requests={s.total_requests:,} = completed {s.completed_requests:,} + failed "
            f"{s.failed_requests:,} + cancelled {s.cancelled_requests:,} = {balance:,}; accepted by clients "
            f"{c.accepted:,}; outcomes seen {c.outcomes():,}: {'EXACT' if exact else 'MISMATCH'}")
        say(f"    batches {s.total_batches:,}, handler requests {s.handler_requests:,}, errors {s.errors:,}, "
            f"timeouts {s.timeouts:,}, dropped before call {s.dropped_before_call:,}, merges {s.merges}, "
            f"queue depth {s.queue_depth}, in flight {s.in_flight_batches}")
        if c.wrong or c.unexpected:
            ok = False
            say(f"    WRONG: {c.wrong} results not the caller's own answer; unexpected outcomes: {c.unexpected}")
        if load.faults and not (c.slot_errors and c.wrapped and c.batch_errors):
            ok = False
            say("    FAIL: the fault run saw no fault of some kind")
        if not load.faults and (c.slot_errors or c.wrapped or c.batch_errors or s.errors):
            ok = False
            say("    FAIL: faults in the run without faults")
        if s.queue_depth or s.in_flight_batches:
            ok = False
    if leaked:
        ok = False
        say(f"FAIL: tasks left after close: {leaked}")

    growth = max(rss["middle"], rss["end"]) - rss["start"]
    say("")
    say(f"RSS: start {rss['start']:.1f} MB, middle {rss['middle']:.1f} MB, end {rss['end']:.1f} MB; "
        f"growth {growth:+.1f} MB over {2 * n:,} requests (target < {RSS_TARGET_MB:.0f} MB: "
        f"{'PASS' if growth < RSS_TARGET_MB else 'FAIL'})")
    f, nf = runs["faults"].counts, runs["no faults"].counts
    ratio = (f.accepted / f.cpu_s) / (nf.accepted / nf.cpu_s)
    wall_ratio = (f.accepted / f.wall_s) / (nf.accepted / nf.wall_s)
    say(f"throughput with faults / without: {ratio:.3f} per CPU-second ({wall_ratio:.3f} wall) "
        f"(target >= {RATIO_TARGET}: {'PASS' if ratio >= RATIO_TARGET else 'FAIL'})")
    say(f"conservation: {'EXACT' if conserved else 'FAIL'}; answers: {'PASS' if ok else 'FAIL'}")
    return Report(lines, ok and conserved, conserved, growth, ratio)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="accepted requests per run (default 1,000,000)")
    parser.add_argument("--quick", action="store_true", help="20,000 requests per run")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    n = 20_000 if args.quick else args.n
    gc.freeze()  # the start-up heap (torch, numpy) is not the soak's to collect
    report = asyncio.run(soak(n, rounds=args.rounds, seed=args.seed))
    passed = (report.ok and report.rss_growth_mb < RSS_TARGET_MB and report.ratio >= RATIO_TARGET)
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
