"""Benchmark of ``batchsieve.kernels.assign_representatives``.

CPU (default): the torch reference path (the production path on CPU) against a naive baseline
measured in the same run, ``E @ E.T >= t`` then a Python loop over a numpy adjacency, at
N = 32, 256, 1024 and D = 384. Timings are interleaved (baseline, reference, baseline, ...) and
medians are reported with the ratio baseline / reference, because the machine is shared and noisy.

    .venv/bin/python benchmarks/kernels.py [--rounds 3] [--out benchmarks/results/kernels_cpu.json]

GPU (``--gpu``, needs CUDA): ``triton.testing.do_bench`` over N in {32, ..., 8192}, D = 384, fp32 and
fp16, providers "triton" (the three kernels through the dispatch) and "torch" (the reference on
CUDA: matmul + threshold + greedy), plus the time of each Triton stage and a small tile sweep of the
similarity kernel; checks results agree, writes ``benchmarks/results/kernels_gpu.json`` and prints the
targets (>= 3x the torch reference at N = 1024 and 4096, < 100 us at N = 1024). About a minute on an
H200 (mostly Triton compilation).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch
from batchsieve.kernels import assign_representatives, assign_representatives_reference

RESULTS = Path(__file__).resolve().parent / "results"
THRESHOLD = 0.9
D = 384


def make_batch(n: int, d: int = D, *, dup_frac: float = 0.25, seed: int = 0) -> torch.Tensor:
    """L2-normalised fp32 embeddings where ``dup_frac`` of the rows are noisy copies (cos ~0.98) of
    others, shuffled; random pairs sit near cos 0 (std ~0.05), far from the 0.9 threshold."""
    g = torch.Generator().manual_seed(seed)
    e = torch.randn(n, d, generator=g)
    k = int(n * dup_frac)
    if k and n - k:
        src = torch.randint(0, n - k, (k,), generator=g)
        e[n - k :] = e[src] + 0.2 * torch.randn(k, d, generator=g)
    e = e[torch.randperm(n, generator=g)]
    return torch.nn.functional.normalize(e, dim=1)


def naive_baseline(E: torch.Tensor, t: float) -> np.ndarray:
    """``E @ E.T >= t``, then the greedy walk as a Python loop over the numpy adjacency."""
    adj = (t <= E @ E.T).numpy()
    n = adj.shape[0]
    assigned = np.zeros(n, dtype=bool)
    rep = np.empty(n, dtype=np.int32)
    for i in range(n):
        if assigned[i]:
            continue
        new = adj[i] & ~assigned
        rep[new] = i
        rep[i] = i
        assigned |= new
        assigned[i] = True
    return rep


def _time(fn, reps: int) -> list[float]:
    out = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def run_cpu(rounds: int) -> dict:
    ns = (32, 256, 1024)
    reps = {32: 200, 256: 60, 1024: 15}
    rows = []
    for n in ns:
        E = make_batch(n)
        base = naive_baseline(E, THRESHOLD)
        ref = assign_representatives(E, THRESHOLD).numpy()
        if not np.array_equal(base, ref):
            raise SystemExit(f"N={n}: the reference and the naive baseline disagree")
        b_all: list[float] = []
        r_all: list[float] = []
        for _ in range(rounds):  # interleave so both see the same machine load
            for _ in range(3):
                b_all += _time(lambda E=E: naive_baseline(E, THRESHOLD), reps[n] // 3)
                r_all += _time(lambda E=E: assign_representatives(E, THRESHOLD), reps[n] // 3)
        b_ms = statistics.median(b_all) * 1e3
        r_ms = statistics.median(r_all) * 1e3
        dups = int((ref != np.arange(n)).sum())
        rows.append(
            {"N": n, "D": D, "duplicates": dups, "baseline_ms": b_ms, "reference_ms": r_ms, "speedup": b_ms / r_ms}
        )
        print(
            f"N={n:5d} D={D} dups={dups:4d}  naive baseline {b_ms:8.3f} ms   reference {r_ms:8.3f} ms"
            f"   speedup x{b_ms / r_ms:5.2f}",
            flush=True,
        )
    return {
        "mode": "cpu",
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "machine": platform.processor() or platform.machine(),
        "threshold": THRESHOLD,
        "rows": rows,
    }


GPU_NS = (32, 128, 512, 1024, 2048, 4096, 8192)
SWEEP_CONFIGS = [(64, 32, 4, 3), (64, 64, 4, 3), (128, 32, 8, 3), (128, 64, 8, 3), (64, 64, 4, 4)]


def run_gpu(out: Path, *, dry_run: bool = False) -> dict:
    """The GPU benchmark. ``dry_run``: the same code on CPU tensors through the Triton interpreter, at
    small N, timed with a plain clock (checks the script itself; the figures mean nothing)."""
    import triton
    from batchsieve.kernels.assign import assign_to_representatives
    from batchsieve.kernels.greedy import greedy_representatives
    from batchsieve.kernels.similarity import similarity_bits

    if dry_run:
        dev, ns, sweep_ns, device_name = torch.device("cpu"), (32, 70), (64,), "cpu (interpreter dry run)"
        configs = SWEEP_CONFIGS[:2]

        def bench(fn) -> float:
            return _time(fn, 1)[0] * 1e3

    else:
        if not torch.cuda.is_available():
            raise SystemExit("--gpu needs a CUDA device")
        from triton.testing import do_bench

        dev, ns, sweep_ns, device_name = torch.device("cuda"), GPU_NS, (1024, 4096), torch.cuda.get_device_name()
        configs = SWEEP_CONFIGS

        def bench(fn) -> float:
            return do_bench(fn, warmup=10, rep=40, return_mode="median")  # ms, CUDA events

    def triton_path(E: torch.Tensor) -> torch.Tensor:
        return assign_representatives(E, THRESHOLD, backend="triton")

    def torch_path(E: torch.Tensor) -> torch.Tensor:
        return assign_representatives_reference(E, THRESHOLD)

    rows = []
    for dtype in (torch.float32, torch.float16):
        for n in ns:
            E = make_batch(n).to(dev, dtype)
            agree = bool(torch.equal(triton_path(E), torch_path(E)))
            t_triton = bench(lambda E=E: triton_path(E))
            t_torch = bench(lambda E=E: torch_path(E))
            adj = similarity_bits(E, THRESHOLD)
            bits = greedy_representatives(adj, n)
            stages = {
                "similarity_ms": bench(lambda E=E: similarity_bits(E, THRESHOLD)),
                "greedy_ms": bench(lambda adj=adj, n=n: greedy_representatives(adj, n)),
                "assign_ms": bench(lambda adj=adj, bits=bits, n=n: assign_to_representatives(adj, bits, n)),
            }
            row = {
                "dtype": str(dtype).removeprefix("torch."),
                "N": n,
                "D": D,
                "agree": agree,
                "triton_ms": t_triton,
                "torch_ms": t_torch,
                "speedup": t_torch / t_triton,
                **stages,
            }
            rows.append(row)
            print(
                f"{row['dtype']:8s} N={n:5d}  triton {t_triton * 1e3:9.1f} us  torch {t_torch * 1e3:9.1f} us"
                f"  x{row['speedup']:6.1f}  [sim {stages['similarity_ms'] * 1e3:.1f} greedy "
                f"{stages['greedy_ms'] * 1e3:.1f} assign {stages['assign_ms'] * 1e3:.1f} us]"
                f"{'' if agree else '  MISMATCH'}",
                flush=True,
            )

    sweep = []  # similarity tile configs: (block, block_k, num_warps, num_stages)
    for dtype in (torch.float32, torch.float16):
        for n in sweep_ns:
            E = make_batch(n).to(dev, dtype)
            for blk, bk, nw, stages_ in configs:
                ms = bench(
                    lambda E=E, blk=blk, bk=bk, nw=nw, st=stages_: similarity_bits(
                        E, THRESHOLD, block=blk, block_k=bk, num_warps=nw, num_stages=st
                    )
                )
                sweep.append(
                    {
                        "dtype": str(dtype).removeprefix("torch."),
                        "N": n,
                        "block": blk,
                        "block_k": bk,
                        "num_warps": nw,
                        "num_stages": stages_,
                        "ms": ms,
                    }
                )
                print(
                    f"sweep {sweep[-1]['dtype']:8s} N={n:5d} block={blk:3d} k={bk:3d} warps={nw} "
                    f"stages={stages_}: {ms * 1e3:8.1f} us",
                    flush=True,
                )

    def row_for(dtype: str, n: int) -> dict | None:
        return next((r for r in rows if r["dtype"] == dtype and r["N"] == n), None)

    targets = {}
    for dt in ("float32", "float16"):
        r1024, r4096 = row_for(dt, 1024), row_for(dt, 4096)
        targets[dt] = {
            "speedup_1024_ge_3": None if r1024 is None else r1024["speedup"] >= 3,
            "speedup_4096_ge_3": None if r4096 is None else r4096["speedup"] >= 3,
            "triton_1024_lt_100us": None if r1024 is None else r1024["triton_ms"] < 0.1,
            "all_agree": all(r["agree"] for r in rows if r["dtype"] == dt),
        }
    print("targets:", json.dumps(targets))
    result = {
        "mode": "gpu-dry-run" if dry_run else "gpu",
        "device": device_name,
        "torch": torch.__version__,
        "triton": triton.__version__,
        "threshold": THRESHOLD,
        "rows": rows,
        "sweep": sweep,
        "targets": targets,
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {out}")
    return result


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--gpu", action="store_true", help="benchmark the Triton kernels on CUDA")
    p.add_argument("--rounds", type=int, default=3, help="CPU: interleaved rounds per N")
    p.add_argument("--out", type=Path, default=None, help="JSON output (GPU default: results/kernels_gpu.json)")
    p.add_argument("--dry-run", action="store_true", help=argparse.SUPPRESS)  # --gpu code on CPU, interpreted
    args = p.parse_args(argv)
    if args.gpu:
        if args.dry_run:
            os.environ["TRITON_INTERPRET"] = "1"  # before triton is first imported (run_gpu imports it)
        run_gpu(args.out or RESULTS / "kernels_gpu.json", dry_run=args.dry_run)
        return 0
    result = run_cpu(args.rounds)
    if args.out:
        args.out.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
