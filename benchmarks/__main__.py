"""``python -m benchmarks``: run the benchmark suite, show each table, write one result file per run.

Usage::

    python -m benchmarks                       # every benchmark, full length (tens of minutes on 2 CPU cores)
    python -m benchmarks --quick               # a short version of each (a few minutes on 2 CPU cores)
    python -m benchmarks --only kernels,encoder --device cuda
    python -m benchmarks --list                # the benchmarks, what each runs, quick and full

Each benchmark is one of the scripts beside this file, run as a subprocess with its own arguments (its
``--quick`` mode or smaller sizes under ``--quick``; its GPU mode under ``--device cuda`` where it has one).
Their output is shown as it comes and kept. Every figure is a ratio against a baseline the script measures
in the same run (the naive kernel, sentence-transformers, the bare future floor, fixed windows, unbatched
serving); the runner adds none of its own.

Each run writes ``<results>/<date>-<host>-<device>[-quick].md`` (environment, a summary, each
benchmark's command and output, GPU telemetry) and ``.csv`` (rows ``section, benchmark, key, value, t``:
the environment, each benchmark's status, the numeric figures of the JSON files the scripts wrote, their
PASS/FAIL lines, and every telemetry sample), so runs on different machines sit side by side. Scripts'
own files (JSON, plots, tables) go to ``--artifacts`` (default: a temporary folder, removed), never over
the committed ``benchmarks/results`` files. Optional benchmarks (``soak``, ``server``) run when their
script exists; ``ray_scaleout`` needs the ``ray`` extra. Exit status: 0 when every benchmark that ran exited 0.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import datetime as _dt
import importlib.metadata
import json
import os
import platform
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results"

PACKAGES = ("batchsieve", "torch", "transformers", "triton", "numpy", "tokenizers", "safetensors",
            "sentence-transformers", "nvidia-ml-py", "tqdm", "matplotlib", "async-batcher", "batched")


@dataclass(frozen=True)
class Context:
    """What a benchmark's command depends on."""

    quick: bool
    device: str  # "cpu" or "cuda"
    artifacts: Path
    python: str = sys.executable


@dataclass(frozen=True)
class Benchmark:
    """One benchmark: a name, the script it runs, and its arguments for a context."""

    name: str
    script: str  # path relative to the repository root (for ``--list`` and the optional check)
    args: Callable[[Context], list[str]]
    what: str
    timeout_s: float = 3600.0
    quick_timeout_s: float = 300.0
    optional: bool = False  # skipped (not failed) when its script is absent
    needs: tuple[str, ...] = ()  # modules the script imports: skipped, with the reason, when one is missing
    module: str | None = None  # run as ``python -m module`` instead of the script

    def command(self, ctx: Context) -> list[str]:
        head = [ctx.python, "-m", self.module] if self.module else [ctx.python, self.script]  # run from ROOT
        return head + self.args(ctx)


def _overhead(ctx: Context) -> list[str]:
    return ["--n", "5000", "--rounds", "3"] if ctx.quick else []


def _encoder(ctx: Context) -> list[str]:
    args = ["--device", ctx.device, "--json", str(ctx.artifacts / f"encoder_{ctx.device}.json")]
    if ctx.quick and ctx.device == "cuda":  # a GPU embeds 10,000 questions in well under a second: keep them
        args += ["--rounds", "3"]
    elif ctx.quick:
        args += ["--n", "300", "--rounds", "2", "--contenders", "st,ours"]
    return args


def _kernels(ctx: Context) -> list[str]:
    if ctx.device == "cuda":
        return ["--gpu", "--out", str(ctx.artifacts / "kernels_gpu.json")]
    return ["--rounds", "1" if ctx.quick else "3", "--out", str(ctx.artifacts / "kernels_cpu.json")]


def _dedup_quality(ctx: Context) -> list[str]:
    return ["--out", str(ctx.artifacts / "dedup_quality")] + (["--limit", "300"] if ctx.quick else [])


def _adaptive(ctx: Context) -> list[str]:
    return ["--out", str(ctx.artifacts / "adaptive")] + (["--quick", "--seconds", "1.5"] if ctx.quick else [])


def _budgets(ctx: Context) -> list[str]:
    return ["--json", str(ctx.artifacts / "budgets.json")] + (["--quick"] if ctx.quick else [])


def _demo(ctx: Context, backend: str) -> list[str]:
    args = ["demo", "--backend", backend, "--no-progress", "--json", str(ctx.artifacts / f"demo_{backend}.json")]
    if ctx.device == "cuda":
        args += ["--device", "cuda"]
    if backend == "model":
        # the model's own capacity sets the load: ~150 single-request calls/s on a small CPU, far more on a GPU
        args += ["--rate", "1000" if ctx.device == "cuda" else "150"]
        args += ["--requests", ("1000" if ctx.device == "cuda" else "600") if ctx.quick else "2000"]
    elif ctx.quick:
        args += ["--requests", "1000" if ctx.device == "cuda" else "800"]
    return args


def _streaming(ctx: Context) -> list[str]:
    return ["--json", str(ctx.artifacts / "streaming.json")] + (["--quick"] if ctx.quick else [])


def _soak(ctx: Context) -> list[str]:
    return ["--quick", "--rounds", "2"] if ctx.quick else []


def _server(ctx: Context) -> list[str]:
    # the peer (Infinity) needs a virtual environment of its own: only when PEER_PYTHON names one
    servers = "plain,batchsieve" + (",infinity" if os.environ.get("PEER_PYTHON") else "")
    args = ["--servers", servers, "--json", str(ctx.artifacts / "server.json")]
    return args + (["--duration", "5", "--warmup", "2"] if ctx.quick else [])


def _ray_scaleout(ctx: Context) -> list[str]:
    return ["--json", str(ctx.artifacts / "ray_scaleout.json")] + (["--quick"] if ctx.quick else [])


BENCHMARKS: tuple[Benchmark, ...] = (
    Benchmark("overhead", "benchmarks/overhead.py", _overhead,
              "engine overhead per request vs a bare future floor and two PyPI micro-batchers",
              needs=("async_batcher", "batched")),
    Benchmark("encoder", "benchmarks/encoder.py", _encoder,
              "SentenceEncoder vs sentence-transformers, sentences per second (--device cuda: bf16 on GPU)",
              needs=("sentence_transformers",)),
    Benchmark("kernels", "benchmarks/kernels.py", _kernels,
              "greedy representatives: torch reference vs a naive baseline (--device cuda: Triton vs torch)"),
    Benchmark("dedup_quality", "benchmarks/dedup_quality.py", _dedup_quality,
              "precision, recall and false merges of exact, embedding and hybrid on QQP and the hard set",
              needs=("sentence_transformers",)),
    Benchmark("adaptive", "benchmarks/adaptive.py", _adaptive,
              "the adaptive window against fixed windows, simulated and on the real engine"),
    Benchmark("budgets", "benchmarks/budgets.py", _budgets,
              "batches sized by tokens (max_batch_cost + bucket_by_cost) vs count-only, the embedded model as handler"),
    Benchmark("end_to_end", "engine/demo.py", lambda ctx: _demo(ctx, "simulated-llm"),
              "the demo's workload (real questions, bursty) on the simulated LLM: unbatched vs batched vs dedup",
              module="batchsieve"),
    Benchmark("end_to_end_model", "engine/demo.py", lambda ctx: _demo(ctx, "model"),
              "the demo's workload with the embedded model as the batch handler (real batched inference)",
              module="batchsieve"),
    Benchmark("streaming", "benchmarks/streaming.py", _streaming,
              "a simulated LLM streaming backend on a duplicate-heavy stream: tokens generated and time to first "
              "token, shared streams vs no dedup"),
    Benchmark("soak", "benchmarks/soak.py", _soak,
              "a saturated processor with and without faults: RSS growth, throughput ratio", optional=True),
    Benchmark("server", "benchmarks/server.py", _server,
              "python -m batchsieve serve vs a plain endpoint (and the Infinity peer with PEER_PYTHON)",
              optional=True, needs=("fastapi", "uvicorn", "httpx")),
    Benchmark("ray_scaleout", "benchmarks/ray_scaleout.py", _ray_scaleout,
              "1 vs 2 Ray Serve replicas, key-affine vs Ray's default routing: handler slots, p99, capacity",
              needs=("ray",)),
)


@dataclass
class Outcome:
    """What running one benchmark gave."""

    name: str
    status: str  # ok, failed, timeout, skipped
    rc: int | None
    seconds: float
    command: list[str]
    output: list[str] = field(default_factory=list)
    reason: str = ""
    started: float = 0.0  # wall-clock time.time()
    ended: float = 0.0


# ------------------------------------------------------------------------------------------ environment


def _version(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "-"


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _gpu_model(telemetry: Any) -> str:
    sample = telemetry.latest() if telemetry is not None else None
    if sample and sample.get("name"):
        total = sample.get("memory_total_mb")
        return f"{sample['name']}" + (f", {total / 1024:.0f} GiB" if total else "")
    try:
        import torch

        if torch.cuda.is_available():
            return torch.cuda.get_device_name(0)
    except Exception:
        pass
    return "none"


def _git_revision() -> str:
    try:
        rev = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True,
                             text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=10).stdout.strip()
        return (rev + (" (modified)" if dirty else "")) if rev else "-"
    except (OSError, subprocess.SubprocessError):
        return "-"


def environment(device: str, telemetry: Any = None) -> dict[str, str]:
    """The machine and the package versions, as shown at the top of the result files."""
    env = {
        "host": socket.gethostname(),
        "device": device,
        "python": f"{platform.python_version()} ({sys.executable})",
        "platform": platform.platform(),
        "cpu": f"{_cpu_model()}, {os.cpu_count()} logical cores",
        "gpu": _gpu_model(telemetry),
        "git": _git_revision(),
    }
    for name in PACKAGES:
        env[name] = _version(name)
    return env


def _missing_module(names: Sequence[str], python: str) -> str | None:
    if not names:
        return None
    code = ("import importlib.util, sys; missing = [n for n in sys.argv[1:] if importlib.util.find_spec(n) is None]; "
            "print(','.join(missing))")
    try:
        out = subprocess.run([python, "-c", code, *names], capture_output=True, text=True, timeout=60).stdout.strip()
    except (OSError, subprocess.SubprocessError) as exc:
        return f"cannot check ({exc})"
    return out or None


# ------------------------------------------------------------------------------------------ running


def _bar(total: int) -> Any:
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    return tqdm(total=total, unit="benchmark", disable=None, dynamic_ncols=True, file=sys.stderr)


def _say(bar: Any, line: str) -> None:
    if bar is not None:
        bar.write(line)
    else:
        print(line, flush=True)


def run_one(bench: Benchmark, ctx: Context, *, bar: Any = None, timeout_s: float | None = None,
            env: dict[str, str] | None = None) -> Outcome:
    """Run one benchmark as a subprocess, echoing and keeping its output."""
    cmd = bench.command(ctx)
    if bench.optional and not bench.module and not (ROOT / bench.script).is_file():
        return Outcome(bench.name, "skipped", None, 0.0, cmd, reason=f"{bench.script} is not there")
    missing = _missing_module(bench.needs, ctx.python)
    if missing:
        return Outcome(bench.name, "skipped", None, 0.0, cmd, reason=f"needs {missing}")
    limit = timeout_s if timeout_s is not None else (bench.quick_timeout_s if ctx.quick else bench.timeout_s)
    _say(bar, f"\n== {bench.name}: {shlex.join(cmd)}")
    child_env = {**os.environ, "PYTHONUNBUFFERED": "1", "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
                 "TOKENIZERS_PARALLELISM": "false", "MPLBACKEND": "Agg", "HF_HUB_DISABLE_PROGRESS_BARS": "1",
                 **(env or {})}
    started, t0 = time.time(), time.perf_counter()
    output: list[str] = []
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            errors="replace", env=child_env, start_new_session=True)
    timed_out = False
    assert proc.stdout is not None
    deadline = t0 + limit
    import selectors

    with selectors.DefaultSelector() as sel:
        sel.register(proc.stdout, selectors.EVENT_READ)
        while True:
            left = deadline - time.perf_counter()
            if left <= 0:
                timed_out = True
                break
            if not sel.select(timeout=min(left, 1.0)):
                if proc.poll() is not None:
                    break
                continue
            line = proc.stdout.readline()
            if not line:
                break
            line = line.rstrip("\n")
            if "\r" in line:  # a progress bar redrawn in place: keep its last state
                line = line.rsplit("\r", 1)[-1]
            output.append(line)
            _say(bar, f"  {line}")
    if timed_out:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)  # the benchmark's own session: it and its children only
    rc = proc.wait()
    proc.stdout.close()
    seconds = time.perf_counter() - t0
    status = "timeout" if timed_out else ("ok" if rc == 0 else "failed")
    reason = f"over {limit:g} s" if timed_out else ("" if rc == 0 else f"exit status {rc}")
    return Outcome(bench.name, status, None if timed_out else rc, seconds, cmd, output, reason, started, time.time())


# ------------------------------------------------------------------------------------------ result files


def _flatten(value: Any, prefix: str, out: list[tuple[str, Any]], depth: int = 0) -> None:
    """Numeric and boolean leaves of a script's JSON, keyed by path (rows labelled by their identity)."""
    if depth > 4:
        return
    if isinstance(value, (bool, int, float)):
        out.append((prefix, value))
    elif isinstance(value, dict):
        for k, v in value.items():
            if k in ("merges", "sweep"):  # per-merge lists and tile sweeps: in the JSON, not the CSV
                continue
            _flatten(v, f"{prefix}.{k}" if prefix else str(k), out, depth + 1)
    elif isinstance(value, list) and len(value) <= 64:
        for i, v in enumerate(value):
            label = str(i)
            if isinstance(v, dict):
                ident = [f"{k}={v[k]}" for k in ("mode", "contender", "dtype", "N") if k in v]
                label = ",".join(ident) or label
            elif not isinstance(v, dict | list):
                continue  # per-round lists of numbers: in the JSON, not the CSV
            _flatten(v, f"{prefix}[{label}]", out, depth + 1)


def figures(artifacts: Path, outcome: Outcome) -> list[tuple[str, Any]]:
    """The figures of the JSON files a benchmark wrote (named in its command), flattened."""
    rows: list[tuple[str, Any]] = []
    for arg in outcome.command:
        path = Path(arg)
        if path.suffix == ".json" and path.is_file() and artifacts in path.parents:
            try:
                _flatten(json.loads(path.read_text(encoding="utf-8")), path.stem, rows)
            except (OSError, ValueError):
                continue
    return rows


_VERDICT = re.compile(r"\b(PASS|FAIL)\b")


def stem_for(device: str, quick: bool, when: _dt.datetime | None = None, host: str | None = None) -> str:
    when = when or _dt.datetime.now()
    host = re.sub(r"[^A-Za-z0-9_.-]+", "-", host or socket.gethostname()).strip("-") or "host"
    return f"{when:%Y-%m-%d}-{host}-{device}" + ("-quick" if quick else "")


def write_results(results_dir: Path, stem: str, argv: Sequence[str], env: dict[str, str],
                  outcomes: Sequence[Outcome], samples: Sequence[dict[str, Any]], artifacts: Path) -> tuple[Path, Path]:
    """Write ``<stem>.md`` and ``<stem>.csv``; return their paths."""
    results_dir.mkdir(parents=True, exist_ok=True)
    md_path, csv_path = results_dir / f"{stem}.md", results_dir / f"{stem}.csv"
    command = shlex.join(["python", "-m", "benchmarks", *argv])

    def shown(cmd: Sequence[str]) -> str:  # the scripts' files are under <artifacts>
        return shlex.join(cmd).replace(str(artifacts), "<artifacts>")

    lines = [f"# Benchmarks {stem}", "", f"Command: `{command}`", "",
             "Every figure below is a ratio against a baseline measured in the same run, by the script that "
             f"reports it. `<artifacts>`: `{artifacts}` (the scripts' own files; a temporary folder unless "
             "`--artifacts` named one).", "", "| | |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in env.items()]
    lines += ["", "## Summary", "", "| benchmark | status | seconds | verdicts | command |", "|---|---|---:|---|---|"]
    for o in outcomes:
        verdicts = [m.group(1) for line in o.output for m in _VERDICT.finditer(line)]
        tally = ", ".join(f"{verdicts.count(v)} {v}" for v in ("PASS", "FAIL") if v in verdicts) or "-"
        status = o.status + (f" ({o.reason})" if o.reason else "")
        lines.append(f"| {o.name} | {status} | {o.seconds:.1f} | {tally} | `{shown(o.command[1:])}` |")
    for o in outcomes:
        lines += ["", f"## {o.name}", ""]
        if o.status == "skipped":
            lines.append(f"skipped: {o.reason}")
            continue
        lines += [f"`{shown(o.command)}` ({o.status}, {o.seconds:.1f} s)", "", "```", *o.output, "```"]
    lines += ["", "## GPU telemetry", ""]
    if samples:
        lines += ["| benchmark | samples | peak memory used MB | max utilisation % | max power W | max temperature C |",
                  "|---|---:|---:|---:|---:|---:|"]
        for o in outcomes:
            own = [s for s in samples if o.started <= s.get("time", 0) <= o.ended]
            if not own:
                continue

            def top(key: str, own: list[dict[str, Any]] = own) -> str:
                vals = [s[key] for s in own if s.get(key) is not None]
                return f"{max(vals):.0f}" if vals else "-"

            lines.append(f"| {o.name} | {len(own)} | {top('memory_used_mb')} | {top('utilization_pct')} | "
                         f"{top('power_w')} | {top('temperature_c')} |")
        lines.append(f"\n{len(samples)} samples, one per second; every sample is in `{csv_path.name}`.")
    else:
        lines.append("none: no NVIDIA driver on this machine (NVML not available).")
    md_path.write_text("\n".join(lines) + "\n", encoding="utf-8")

    with csv_path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["section", "benchmark", "key", "value", "t"])
        for k, v in env.items():
            w.writerow(["env", "", k, v, ""])
        for o in outcomes:
            w.writerow(["benchmark", o.name, "status", o.status, ""])
            w.writerow(["benchmark", o.name, "rc", "" if o.rc is None else o.rc, ""])
            w.writerow(["benchmark", o.name, "seconds", f"{o.seconds:.3f}", ""])
            w.writerow(["benchmark", o.name, "command", shown(o.command), ""])
            for key, value in figures(artifacts, o):
                w.writerow(["figure", o.name, key, value, ""])
            for line in o.output:
                if _VERDICT.search(line):
                    w.writerow(["verdict", o.name, "line", line.strip(), ""])
        for s in samples:
            for key in ("utilization_pct", "memory_used_mb", "memory_total_mb", "power_w", "temperature_c",
                        "torch_peak_allocated_mb"):
                if s.get(key) is not None:
                    w.writerow(["telemetry", s.get("name") or "", key, s[key], f"{s.get('time', 0):.3f}"])
    return md_path, csv_path


# ------------------------------------------------------------------------------------------ main


def parse_args(argv: Sequence[str] | None, registry: Sequence[Benchmark] = BENCHMARKS) -> argparse.Namespace:
    names = [b.name for b in registry]
    p = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="a short version of each benchmark")
    p.add_argument("--only", default=None, metavar="NAME,...", help=f"run only these, from: {', '.join(names)}")
    p.add_argument("--skip", default=None, metavar="NAME,...", help="run all but these")
    p.add_argument("--device", choices=("cpu", "cuda"), default="cpu",
                   help="cuda: the GPU modes of the kernel, encoder and end-to-end benchmarks")
    p.add_argument("--results", type=Path, default=RESULTS, help="where the .md and .csv go (default %(default)s)")
    p.add_argument("--artifacts", type=Path, default=None,
                   help="where the scripts' own files go (default: a temporary folder, removed afterwards)")
    p.add_argument("--timeout", type=float, default=None, help="seconds per benchmark (default: 300 quick, 3600)")
    p.add_argument("--list", action="store_true", help="list the benchmarks and their commands, run nothing")
    args = p.parse_args(argv)
    for attr in ("only", "skip"):
        value = getattr(args, attr)
        chosen = [n.strip() for n in value.split(",") if n.strip()] if value else []
        unknown = [n for n in chosen if n not in names]
        if unknown:
            p.error(f"unknown benchmark(s) {', '.join(unknown)}; choose from {', '.join(names)}")
        setattr(args, attr, chosen)
    if args.timeout is not None and not args.timeout > 0:
        p.error("--timeout must be > 0")
    return args


def select(args: argparse.Namespace, registry: Sequence[Benchmark] = BENCHMARKS) -> list[Benchmark]:
    """The benchmarks ``--only``/``--skip`` leave, in the suite's order."""
    chosen = [b for b in registry if not args.only or b.name in args.only]
    return [b for b in chosen if b.name not in args.skip]


def _telemetry() -> Any:
    try:
        from batchsieve.models.telemetry import GpuTelemetry
    except Exception:  # the package is not importable here: no telemetry (the benchmarks will say more)
        return None
    t = GpuTelemetry(0, interval_s=1.0)
    return t.start() if t.available else None


def main(argv: Sequence[str] | None = None, registry: Sequence[Benchmark] = BENCHMARKS) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv, registry)
    chosen = select(args, registry)
    scratch = None
    if args.artifacts is None:
        scratch = Path(tempfile.mkdtemp(prefix="batchsieve-bench-"))
    artifacts = (args.artifacts or scratch).resolve()
    ctx = Context(args.quick, args.device, artifacts)
    if args.list:
        for b in registry:
            full = Context(False, args.device, artifacts)
            print(f"{b.name:<18} {b.what}\n{'':<18} quick: {shlex.join(b.command(ctx)[1:])}\n"
                  f"{'':<18} full:  {shlex.join(b.command(full)[1:])}" + ("  (optional)" if b.optional else ""))
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)
        return 0
    artifacts.mkdir(parents=True, exist_ok=True)
    telemetry = _telemetry()
    env = environment(args.device, telemetry)
    outcomes: list[Outcome] = []
    bar = _bar(len(chosen))
    try:
        for b in chosen:
            if bar is not None:
                bar.set_postfix_str(b.name)
            outcomes.append(run_one(b, ctx, bar=bar, timeout_s=args.timeout))
            if bar is not None:
                bar.update(1)
    finally:
        if bar is not None:
            bar.close()
        if telemetry is not None:
            telemetry.stop()
    samples = telemetry.history() if telemetry is not None else []
    md, csv_path = write_results(args.results, stem_for(args.device, args.quick), argv, env, outcomes, samples,
                                 artifacts)
    if scratch is not None:
        shutil.rmtree(scratch, ignore_errors=True)
    print("\n" + "\n".join(f"{o.name:<18} {o.status:<8} {o.seconds:7.1f} s  {o.reason}" for o in outcomes))
    print(f"wrote {md} and {csv_path}")
    return 0 if all(o.status in ("ok", "skipped") for o in outcomes) else 1


if __name__ == "__main__":
    raise SystemExit(main())
