"""Wall-clock checks moved out of the test suite (a timed test fails on a loaded machine for reasons that are
not the code's): each prints its measurement and the limit it used to assert, and exits 1 if one is over.

* verifier: ``MergeVerifier.check`` on short pairs, per pair (limit 500 us; ~50 us on the development CPU);
* tokenizer: 20 copies of a 1.1 MB text (22 MB) through the encoder's tokenizer, which cuts very long texts
  at a space before the Rust backend sees them (limit 5 s; a full tokenisation takes ~8 s there).

    .venv/bin/python benchmarks/timing_checks.py
"""

from __future__ import annotations

import os
import sys
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def verifier_per_pair_s(rounds: int = 500) -> float:
    from batchsieve.verifier import MergeVerifier

    verifier = MergeVerifier()
    short = [("How do I reset my password?", "How can I reset my password?"), ("Show me my invoice", "Show me it")]
    for a, b in short:  # warm the caches
        verifier.check(a, b)
    t0 = time.perf_counter()
    for _ in range(rounds):
        for a, b in short:
            verifier.check(a, b)
    return (time.perf_counter() - t0) / (rounds * len(short))


def huge_tokenisation_s() -> float:
    from batchsieve.models import SentenceEncoder

    encoder = SentenceEncoder(device="cpu", dtype="fp32", cache_size=0)
    huge = "The quick brown fox jumps over the lazy dog. " * 25_000
    t0 = time.perf_counter()
    encoder.tokenizer([huge] * 20)
    return time.perf_counter() - t0


def main() -> int:
    checks = [
        ("verifier check, per short pair", verifier_per_pair_s(), 500e-6, 1e6, "us"),
        ("tokenizer, 22 MB of over-long text", huge_tokenisation_s(), 5.0, 1.0, "s"),
    ]
    failed = 0
    for name, seconds, limit, scale, unit in checks:
        ok = seconds < limit
        failed += not ok
        print(f"{name:38s} {seconds * scale:10.1f} {unit}  (limit {limit * scale:g} {unit}): "
              f"{'PASS' if ok else 'FAIL'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
