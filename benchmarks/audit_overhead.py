"""The live merge audit's cost on throughput: ``audit_rate=0.01`` against ``audit_rate=0`` in the same run (issue 15).

A stream of 300 questions in 4 wordings each (a fast table encoder gives each question one direction, so the
``embedding`` strategy merges rewordings and nothing else; no model, so the engine's own cost is what shows),
sent by 8 concurrent clients in lists of 32; the handler costs 1 ms + 0.02 ms per request (asyncio.sleep, a
GPU-like call). Each setting runs ``--rounds`` times, alternating; the median throughput is reported and the
ratio audit/no-audit printed.

    .venv/bin/python benchmarks/audit_overhead.py            # ~1 minute
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import statistics
import time
from dataclasses import dataclass

import torch

DIM = 32


@dataclass
class _Result:
    embeddings: torch.Tensor
    truncated: list[bool]
    has_unknown: list[bool]


class GroupEncoder:
    """Texts ``"question G, wording W"``: the direction of group G (rewordings of one question are identical)."""

    def encode(self, texts):
        rows = []
        for t in texts:
            group = t.split(",")[0]
            g = torch.Generator().manual_seed(int(hashlib.sha256(group.encode()).hexdigest()[:8], 16))
            rows.append(torch.randn(DIM, generator=g))
        return _Result(torch.stack(rows), [False] * len(texts), [False] * len(texts))


async def handler(requests):
    await asyncio.sleep(0.001 + 0.00002 * len(requests))
    return [f"answer to {r.split(',')[0]}" for r in requests]


def stream(n: int, groups: int, wordings: int) -> list[str]:
    import random

    rng = random.Random(15)
    return [f"question {rng.randrange(groups)}, wording {rng.randrange(wordings)}" for _ in range(n)]


async def run(requests: list[str], audit_rate: float) -> tuple[float, dict]:
    from batchsieve import BatchProcessor

    batch = BatchProcessor(handler, window_ms=2, max_size=64, dedup_strategy="embedding", dedup_threshold=0.95,
                           encoder=GroupEncoder(), audit_rate=audit_rate)
    chunks = [requests[i:i + 32] for i in range(0, len(requests), 32)]
    queue = asyncio.Queue()
    for c in chunks:
        queue.put_nowait(c)

    async def client():
        while not queue.empty():
            await batch.process(queue.get_nowait())

    t0 = time.perf_counter()
    async with batch:
        await asyncio.gather(*(client() for _ in range(8)))
    seconds = time.perf_counter() - t0
    return len(requests) / seconds, batch.get_stats().audit


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    requests = stream(args.requests, groups=300, wordings=4)
    asyncio.run(run(requests[:2000], 0.01))  # warm-up (imports, first allocations), not counted
    rps: dict[float, list[float]] = {0.0: [], 0.01: []}
    audit = {}
    for _ in range(args.rounds):
        for rate in rps:
            r, audit[rate] = asyncio.run(run(requests, rate))
            rps[rate].append(r)
    base, audited = statistics.median(rps[0.0]), statistics.median(rps[0.01])
    print(f"{args.requests} requests, {args.rounds} rounds each, alternating")
    print(f"audit_rate=0:    {base:,.0f} requests/s (median; rounds {', '.join(f'{x:,.0f}' for x in rps[0.0])})")
    print(f"audit_rate=0.01: {audited:,.0f} requests/s (median; rounds {', '.join(f'{x:,.0f}' for x in rps[0.01])})")
    print(f"ratio audit/no-audit: {audited / base:.3f}; audited merges in the last round: {audit[0.01]['audited']}, "
          f"disagreements {audit[0.01]['disagreements']}")


if __name__ == "__main__":
    main()
