"""The demo on real questions: replay one workload in each mode, then one table (and ``--json``, ``--plot``).

Modes (the names of :data:`batchsieve.demo.MODES`): ``unbatched`` (one backend call per request, what a
server without batching does), ``batched`` (:class:`~batchsieve.BatchProcessor`, dedup off),
``batched+exact`` (exact dedup and in-flight coalescing) and ``batched+hybrid`` (exact, then embeddings,
then the merge verifier's veto); ``batched+embedding@0.90`` on request.

Per mode: throughput (requests answered per second, first arrival to last answer), latency percentiles
(submit to answer), handler calls and the requests they carried, the dedup rate (share of requests that
needed no backend slot of their own), the backend's bill and the share of the unbatched bill it saved, and
the merges that no labelled duplicate pair backs (see :mod:`batchsieve._demo_workload`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ._demo_workload import ModelBackend, SimulatedLLM, Workload, load_replay, qqp_workload
from .processor import BatchProcessor

__all__ = ["REAL_DEFAULT_MODES", "ModeResult", "add_arguments", "format_table", "run_from_args", "run_real_demo"]

REAL_DEFAULT_MODES = ("unbatched", "batched", "batched+exact", "batched+hybrid")
_SEMANTIC = ("hybrid", "embedding")


@dataclass
class ModeResult:
    """What one mode achieved on the workload."""

    mode: str
    requests: int
    seconds: float
    latencies_ms: list[float]  # sorted
    handler_calls: int
    handler_items: int
    cost_usd: float
    busy_s: float
    failed: int = 0
    merges: Counter[tuple[str, str, str]] = field(default_factory=Counter)  # (asked, answered, verdict) -> callers

    @property
    def throughput(self) -> float:
        return self.requests / self.seconds if self.seconds > 0 else 0.0

    @property
    def dedup_rate(self) -> float:
        return 1.0 - self.handler_items / self.requests if self.requests else 0.0

    def percentile(self, q: float) -> float:
        values = self.latencies_ms
        if not values:
            return math.nan
        return values[min(len(values) - 1, int(q * len(values)))]

    def merge_count(self, *verdicts: str) -> int:
        return sum(n for (_, _, v), n in self.merges.items() if v in verdicts)

    def as_dict(self, baseline: ModeResult | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {
            "mode": self.mode, "requests": self.requests, "seconds": self.seconds,
            "throughput_per_s": self.throughput,
            "p50_ms": self.percentile(0.50), "p95_ms": self.percentile(0.95), "p99_ms": self.percentile(0.99),
            "handler_calls": self.handler_calls, "handler_items": self.handler_items, "dedup_rate": self.dedup_rate,
            "cost_usd": self.cost_usd, "backend_busy_s": self.busy_s, "failed": self.failed,
            "semantic_merges": self.merge_count("backed", "unbacked", "contradicted"),
            "unbacked_merges": self.merge_count("unbacked", "contradicted"),
            "contradicted_merges": self.merge_count("contradicted"),
            "merges": [{"asked": a, "answered_with": b, "verdict": v, "callers": n}
                       for (a, b, v), n in sorted(self.merges.items(), key=lambda kv: (kv[0][2], -kv[1]))],
        }
        if baseline is not None:
            out["throughput_vs_unbatched"] = self.throughput / baseline.throughput if baseline.throughput else None
            out["cost_saved"] = 1.0 - self.cost_usd / baseline.cost_usd if baseline.cost_usd else None
        return out


class _Progress:
    """A tqdm bar per mode when tqdm is there and enabled; otherwise nothing."""

    def __init__(self, enabled: bool | None, total: int, desc: str) -> None:
        self.bar = None
        if enabled is False:
            return
        try:
            from tqdm.auto import tqdm
        except ImportError:  # tqdm comes with transformers; without it there is simply no bar
            return
        self.bar = tqdm(total=total, desc=f"{desc:<24}", unit="req", leave=False, disable=None if enabled is None
                        else False, mininterval=0.25)

    def update(self) -> None:
        if self.bar is not None:
            self.bar.update(1)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


async def _replay(workload: Workload, call: Any, progress: _Progress) -> tuple[float, list[float], list[Any], int]:
    loop = asyncio.get_running_loop()
    reqs = workload.requests
    latencies: list[float] = [math.nan] * len(reqs)
    answers: list[Any] = [None] * len(reqs)
    failed = 0
    start = loop.time()

    async def one(i: int) -> None:
        nonlocal failed
        req = reqs[i]
        delay = start + req.at - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        t0 = loop.time()
        try:
            answers[i] = await call({"query": req.text})
        except Exception:  # counted, never fatal: the table says how many failed
            failed += 1
        latencies[i] = (loop.time() - t0) * 1e3
        progress.update()

    await asyncio.gather(*(one(i) for i in range(len(reqs))))
    return loop.time() - start, latencies, answers, failed


async def run_mode(name: str, workload: Workload, backend: Any, *, window_ms: float, max_size: int,
                   encoder: Any = None, threshold: float | None = None, progress: bool | None = None) -> ModeResult:
    """Replay ``workload`` in mode ``name`` against a fresh copy of ``backend``."""
    from .demo import MODES

    mode = MODES[name]
    backend = backend.fresh()
    bar = _Progress(progress, len(workload.requests), name)
    try:
        if not mode.batched:
            seconds, lat, answers, failed = await _replay(workload, backend.one, bar)
        else:
            options = dict(mode.options)
            if options.get("dedup_strategy") in _SEMANTIC:
                options["encoder"] = encoder
                if threshold is not None:
                    options["dedup_threshold"] = threshold
            n = len(workload.requests)
            batch = BatchProcessor(backend, window_ms=window_ms, max_size=max_size, max_wait_ms=window_ms * 2,
                                   max_queue_size=max(n, max_size), **options)
            if options.get("dedup_strategy") in _SEMANTIC:  # load and run the encoder before the clock starts
                await batch.warmup()
            async with batch:
                seconds, lat, answers, failed = await _replay(workload, batch.process, bar)
    finally:
        bar.close()
        backend.close()
    merges: Counter[tuple[str, str, str]] = Counter()
    for req, answer in zip(workload.requests, answers, strict=True):
        if answer is None:
            continue
        verdict = workload.judge(req.text, answer[0])
        if verdict != "same":
            merges[(req.text.strip(), answer[0].strip(), verdict)] += 1
    return ModeResult(name, len(workload.requests), seconds, sorted(x for x in lat if not math.isnan(x)),
                      backend.calls, backend.items, backend.cost_usd, backend.busy_s, failed, merges)


def format_table(results: Sequence[ModeResult]) -> str:
    """The comparison table; ratios are against the first row (unbatched) of the same run."""
    base = results[0]
    header = (f"{'mode':<24}{'req/s':>7}{'x ' + base.mode:>14}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}"
              f"{'calls':>7}{'items':>7}{'dedup':>7}{'cost':>9}{'saved':>7}{'semantic':>10}{'unbacked merges':>17}")
    lines = [header, "-" * len(header)]
    for r in results:
        saved = 1 - r.cost_usd / base.cost_usd if base.cost_usd else 0.0
        ratio = r.throughput / base.throughput if base.throughput else math.nan
        lines.append(f"{r.mode:<24}{r.throughput:>7.0f}{ratio:>13.1f}x{r.percentile(0.5):>9.1f}"
                     f"{r.percentile(0.95):>9.1f}{r.percentile(0.99):>9.1f}{r.handler_calls:>7}{r.handler_items:>7}"
                     f"{r.dedup_rate:>7.0%}{'$' + format(r.cost_usd, '.2f'):>9}{saved:>7.0%}"
                     f"{r.merge_count('backed', 'unbacked', 'contradicted'):>10}"
                     f"{r.merge_count('unbacked', 'contradicted'):>17}")
    return "\n".join(lines)


def claims(results: Sequence[ModeResult], workload: Workload) -> dict[str, Any]:
    """What the specification's two claims come to on this run (JSON-able)."""
    by = {r.mode: r for r in results}
    base = by.get("unbatched")
    out: dict[str, Any] = {"stream": workload.summary()}
    if base is None:
        return out
    if "batched" in by and base.throughput:
        out["throughput_batched_vs_unbatched"] = by["batched"].throughput / base.throughput
    for name in ("batched+exact", "batched+hybrid"):
        if name in by and base.cost_usd:
            out[f"cost_saved_{name.split('+')[1]}"] = 1 - by[name].cost_usd / base.cost_usd
    if "batched+exact" in by and "batched+hybrid" in by:  # where hybrid's extra saving over exact came from
        exact, hybrid = by["batched+exact"], by["batched+hybrid"]
        out["hybrid_vs_exact"] = {
            "backend_requests_saved": exact.handler_items - hybrid.handler_items,
            "callers_merged_semantically": hybrid.merge_count("backed", "unbacked", "contradicted"),
            "p50_ms": [exact.percentile(0.5), hybrid.percentile(0.5)],
        }
    return out


def _claims_text(c: dict[str, Any]) -> str:
    s = c["stream"]
    lines = [f"stream: {s['requests']} requests, {s['distinct_texts']} distinct texts, {s['distinct_intents']} "
             f"distinct questions; {s['repeat_rate_intent']:.0%} of requests ask a question asked earlier in the "
             f"stream ({s['repeat_rate_exact']:.0%} in the same words after normalisation), "
             f"{s['reworded_requests']} reworded"]
    if "throughput_batched_vs_unbatched" in c:
        lines.append(f"specification '3-5x throughput for bursty workloads': batched = "
                     f"{c['throughput_batched_vs_unbatched']:.1f}x unbatched on this stream")
    saved = [f"{k.removeprefix('cost_saved_')} {v:.0%}" for k, v in c.items() if k.startswith("cost_saved_")]
    if saved:
        lines.append(f"specification '40-60% cost reduction': saved vs unbatched: {', '.join(saved)}")
    h = c.get("hybrid_vs_exact")
    if h and h["backend_requests_saved"] > h["callers_merged_semantically"]:
        lines.append(f"hybrid vs exact: {h['backend_requests_saved']} fewer backend requests, "
                     f"{h['callers_merged_semantically']} of them through semantic merges; the rest because its "
                     f"dedup step slowed dispatch (p50 {h['p50_ms'][1]:.0f} ms vs {h['p50_ms'][0]:.0f} ms),\nso "
                     "requests waited longer and more exact duplicates joined an identical request still queued "
                     "or running")
    return "\n".join(lines)


def _plot(results: Sequence[ModeResult], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4.5))
    names = [r.mode for r in results]
    base = results[0]
    xs = range(len(results))
    ax1.bar([x - 0.2 for x in xs], [r.throughput / base.throughput for r in results], 0.4,
            label=f"throughput (x {base.mode})")
    ax1b = ax1.twinx()
    ax1b.bar([x + 0.2 for x in xs], [100 * (1 - r.cost_usd / base.cost_usd) for r in results], 0.4, color="tab:green",
             label="cost saved (%)")
    ax1.set_xticks(list(xs), names, rotation=15)
    ax1.set_ylabel(f"throughput, x {base.mode}")
    ax1b.set_ylabel("cost saved vs unbatched, %")
    ax1.legend(loc="upper left")
    ax1b.legend(loc="upper right")
    for r in results:
        values = r.latencies_ms
        if values:
            ax2.plot(values, [(k + 1) / len(values) for k in range(len(values))], label=r.mode)
    ax2.set_xscale("log")
    ax2.set_xlabel("latency, ms (submit to answer)")
    ax2.set_ylabel("share of requests")
    ax2.grid(True, which="both", alpha=0.3)
    ax2.legend()
    import textwrap

    fig.suptitle("\n".join(textwrap.wrap(title, 140)), fontsize=8)
    fig.tight_layout(rect=(0, 0, 1, 0.93))
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _dedup_encoder(device: str) -> Any:
    if device == "auto":
        from .dedup import default_encoder

        return default_encoder()
    from batchsieve.models import SentenceEncoder

    return SentenceEncoder(device=device)


def run_real_demo(workload: Workload, backend: Any, *, modes: Sequence[str] = REAL_DEFAULT_MODES,
                  window_ms: float = 10.0, max_size: int = 32, threshold: float | None = None, device: str = "auto",
                  json_path: Path | None = None, plot_path: Path | None = None, show_merges: bool = False,
                  progress: bool | None = None, encoder: Any = None) -> list[ModeResult]:
    """Replay ``workload`` in each mode, print the table (and the merges), write ``--json``/``--plot``."""
    summary = workload.summary()
    print(workload.description)
    print(f"backend: {backend.describe()}\nbatching window {window_ms:g} ms, max {max_size}"
          + (f"; semantic threshold {threshold:g}" if threshold is not None else ""), flush=True)
    modes = list(modes)
    if encoder is None and any(m.split("+")[-1].split("@")[0] in _SEMANTIC for m in modes):
        try:
            encoder = _dedup_encoder(device)
        except Exception as exc:  # the engine itself still runs; say why the semantic rows are missing
            print(f"(semantic modes skipped: the encoder could not be loaded: {type(exc).__name__}: {exc})")
            modes = [m for m in modes if m.split("+")[-1].split("@")[0] not in _SEMANTIC]
    if hasattr(backend, "warmup"):
        backend.warmup()
    results = []
    for name in modes:
        t0 = time.perf_counter()
        results.append(asyncio.run(run_mode(name, workload, backend, window_ms=window_ms, max_size=max_size,
                                            encoder=encoder, threshold=threshold, progress=progress)))
        print(f"  {name}: done in {time.perf_counter() - t0:.1f} s", flush=True)
    print()
    print(format_table(results))
    c = claims(results, workload)
    print()
    print(f"cost: the backend's bill ({backend.cost_per_request:g} $ per request served"
          + (f" + {backend.cost_per_call:g} $ per call" if backend.cost_per_call else "")
          + "): batching alone saves nothing, dedup does. dedup: share of requests that needed no backend slot."
          "\nsemantic: callers answered with the answer to a different text (not the same words after "
          "normalisation);\nunbacked merges: those of them that no labelled duplicate pair backs (QQP labels are "
          "noisy: some are real\nduplicates; --show-merges lists every merge). Ratios are against unbatched, "
          "measured in the same run.")
    print(_claims_text(c))
    if show_merges:
        for r in results:
            if not r.merges:
                continue
            print(f"\nmerges in {r.mode} (caller's text <- the text whose answer it got):")
            for (asked, answered, verdict), n in sorted(r.merges.items(), key=lambda kv: (kv[0][2] == "backed",
                                                                                          -kv[1])):
                print(f"  [{verdict}] x{n}  {asked!r}  <-  {answered!r}")
    if json_path is not None:
        base = results[0] if results and results[0].mode == "unbatched" else None
        report = {"workload": {"description": workload.description, **workload.params, **summary},
                  "backend": backend.describe(), "window_ms": window_ms, "max_size": max_size,
                  "threshold": threshold, "modes": [r.as_dict(base) for r in results], "claims": c}
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps(report, indent=2, default=str) + "\n", encoding="utf-8")
        print(f"\nwrote {json_path}")
    if plot_path is not None and results:
        try:
            _plot(results, plot_path, workload.description)
            print(f"wrote {plot_path}")
        except ImportError as exc:
            print(f"(no plot: {exc}; pip install matplotlib)")
    return results


# --------------------------------------------------------------------------------------------- the CLI


def add_arguments(demo: argparse.ArgumentParser) -> None:
    """The real-question workload's options on the ``demo`` subcommand (the synthetic one ignores them)."""
    demo.add_argument("--workload", choices=("qqp", "synthetic"), default="qqp",
                      help="qqp (default): real questions from the vendored QQP sample; synthetic: the 40 "
                           "hand-written questions")
    demo.add_argument("--replay", type=Path, default=None, metavar="FILE.jsonl",
                      help='replay your own requests: one JSON string or {"query", "t"?, "group"?} per line')
    demo.add_argument("--backend", choices=("simulated-llm", "model"), default="simulated-llm",
                      help="simulated-llm (default): the LLM-like latency and price model; model: the embedded "
                           "model as the batch handler (real batched inference)")
    demo.add_argument("--device", default="auto", help="model backend and semantic dedup: auto, cpu or cuda")
    demo.add_argument("--threshold", type=float, default=None,
                      help="semantic dedup threshold (default: each mode's, 0.90 for hybrid)")
    demo.add_argument("--intents", type=int, default=1000, help="qqp: distinct questions to draw from")
    demo.add_argument("--zipf", type=float, default=1.1, help="qqp: Zipf exponent of question popularity")
    demo.add_argument("--reword", type=float, default=0.3, help="qqp: share of pair requests that are reworded")
    demo.add_argument("--base-ms", type=float, default=10.0, help="simulated-llm: milliseconds per call")
    demo.add_argument("--per-item-ms", type=float, default=0.2, help="simulated-llm: milliseconds per request")
    demo.add_argument("--cost-per-request", type=float, default=0.002, help="dollars per request served")
    demo.add_argument("--cost-per-call", type=float, default=0.0, help="dollars per backend call")
    demo.add_argument("--show-merges", action="store_true", help="list every semantic merge and its verdict")
    demo.add_argument("--json", type=Path, default=None, metavar="FILE", help="write the figures as JSON")
    demo.add_argument("--plot", type=Path, default=None, metavar="FILE.png", help="write a plot (matplotlib)")
    demo.add_argument("--no-progress", action="store_true", help="no progress bar")


def run_from_args(args: argparse.Namespace, modes: Sequence[str]) -> list[ModeResult]:
    """``batchsieve demo`` with the real-question workload (or ``--replay``)."""
    requests = 2000 if args.requests is None else args.requests
    if args.replay is not None:
        workload = load_replay(args.replay, args.rate, seed=args.seed, limit=args.requests)
    else:
        workload = qqp_workload(requests, args.rate, seed=args.seed, intents=args.intents, zipf_s=args.zipf,
                                reword=args.reword)
    if args.backend == "model":
        backend: Any = ModelBackend(device=args.device, cost_per_request=args.cost_per_request,
                                    cost_per_call=args.cost_per_call)
    else:
        backend = SimulatedLLM(args.base_ms, args.per_item_ms, cost_per_request=args.cost_per_request,
                               cost_per_call=args.cost_per_call)
    return run_real_demo(workload, backend, modes=modes, window_ms=args.window_ms, max_size=args.max_size,
                         threshold=args.threshold, device=args.device, json_path=args.json, plot_path=args.plot,
                         show_merges=args.show_merges, progress=False if args.no_progress else None)
