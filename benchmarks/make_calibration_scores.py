"""Derive the shipped default thresholds (``batchsieve.dedup.thresholds``) and cache what the encoder said.

Calibration data: the QQP sample's train split (``data/qqp_sample.jsonl.gz``, 10,000 pairs; the test split
stays held out for ``benchmarks/calibration.py``) plus the hard-pair set (``data/hard_pairs.jsonl``, 241
pairs), calibrated with :func:`batchsieve.calibrate` at ``DEFAULT_BOUND`` for each semantic strategy with the
default encoder. The encoder's answer for every pair that needs it (cosine, unknown-token and truncation
flags) is written to ``tests/calibration/data/calibration_encoded.jsonl.gz``, so that the drift test
re-derives the defaults in seconds (it also re-encodes a sample to catch an encoder change).

    .venv/bin/python benchmarks/make_calibration_scores.py     # ~5-8 minutes on 2 shared CPU cores
"""

from __future__ import annotations

import gzip
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
QQP_PATH = ROOT / "data" / "qqp_sample.jsonl.gz"
HARD_PATH = ROOT / "data" / "hard_pairs.jsonl"
CACHE_PATH = ROOT / "tests" / "calibration" / "data" / "calibration_encoded.jsonl.gz"

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def calibration_pairs() -> list[dict]:
    """The labelled calibration data, in a fixed order: QQP train split, then the hard-pair set."""
    from batchsieve.calibration import load_jsonl

    qqp = [r for r in load_jsonl(QQP_PATH) if r["split"] == "train"]
    return [{"a": r["a"], "b": r["b"], "label": r["label"]} for r in qqp + load_jsonl(HARD_PATH)]


def load_cache(path: Path = CACHE_PATH) -> list:
    """The cached encoder answers, as :class:`~batchsieve.calibration.EncodedPair` in order."""
    from batchsieve.calibration import EncodedPair

    with gzip.open(path, "rt", encoding="utf-8") as fh:
        return [EncodedPair(**json.loads(line)) for line in fh if line.strip()]


def main() -> None:
    from batchsieve.calibration import calibrate, encode_pairs
    from batchsieve.config import BatchConfig
    from batchsieve.dedup import HybridStrategy
    from batchsieve.dedup.thresholds import DEFAULT_BOUND

    pairs = calibration_pairs()
    config = BatchConfig()
    norm, limit = config.normalize, config.dedup_max_chars
    todo = [(p["a"], p["b"]) for p in pairs if norm(p["a"]) != norm(p["b"]) and max(len(p["a"]), len(p["b"])) <= limit]
    t0 = time.perf_counter()
    encoded = encode_pairs(HybridStrategy(), todo)
    print(f"encoded {len(todo)} pairs in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    CACHE_PATH.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(CACHE_PATH, "wt", encoding="utf-8") as fh:
        for e in encoded:
            fh.write(json.dumps({"cosine": round(e.cosine, 7), "a_unknown": e.a_unknown, "b_unknown": e.b_unknown,
                                 "a_truncated": e.a_truncated, "b_truncated": e.b_truncated}) + "\n")
    for strategy in ("embedding", "hybrid"):
        result = calibrate(pairs, strategy=strategy, max_false_merge_rate=DEFAULT_BOUND, encoded=encoded)
        print(result.summary().splitlines()[0])
        print(result.summary().splitlines()[1])


if __name__ == "__main__":
    main()
