"""Build ``tests/verifier/data/qqp_heldout.jsonl.gz``: Quora pairs the project never read, with their cosines.

The project's own QQP sample (``data/qqp_sample.jsonl.gz``, 20,000 pairs) was read while the verifier was
designed (the train split) and audited (the test split); the full file in ``../shared/data/qqp_pairs.jsonl.gz``
holds 60,854 more. This script draws a seeded sample of those (``--pairs``, default 12,000), embeds both
texts with the default encoder at fp32 (all-MiniLM-L6-v2, mean pooling, normalised) and keeps

* every pair with cosine >= 0.95 (the semantic candidates of hybrid and embedding at the thresholds tested);
* every pair that the test's own rules say differs in a number or a negation (any cosine).

Each row: ``{"a", "b", "label", "cosine", "a_unknown", "b_unknown", "a_truncated", "b_truncated"}``. The
test (``tests/verifier/test_heldout.py``) then runs the verifier alone on them: no encoder at test time.

    .venv/bin/python benchmarks/make_heldout_pairs.py      # ~2 minutes on 2 CPU cores
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "data" / "qqp_pairs.jsonl.gz"
PROJECT_SAMPLE = ROOT / "data" / "qqp_sample.jsonl.gz"
OUT = ROOT / "tests" / "verifier" / "data" / "qqp_heldout.jsonl.gz"
SEED = 20261201
MIN_COSINE = 0.95

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def read(path: Path) -> list[dict]:
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=12_000)
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT / "tests" / "verifier"))
    from batchsieve.models import SentenceEncoder
    from heldout_rules import differs_in_negation, differs_in_numbers

    seen = {(r["a"], r["b"]) for r in read(PROJECT_SAMPLE)}
    fresh = [r for r in read(SHARED) if (r["a"], r["b"]) not in seen and r["a"] != r["b"]]
    rows = random.Random(SEED).sample(fresh, args.pairs)
    texts = list(dict.fromkeys(t for r in rows for t in (r["a"], r["b"])))
    with SentenceEncoder(device="cpu", dtype="fp32", cache_size=0) as encoder:
        result = encoder.encode(texts)
    emb = result.embeddings.float()
    index = {t: i for i, t in enumerate(texts)}
    kept = []
    for r in rows:
        i, j = index[r["a"]], index[r["b"]]
        cosine = float(emb[i] @ emb[j])
        if cosine >= MIN_COSINE or differs_in_numbers(r["a"], r["b"]) or differs_in_negation(r["a"], r["b"]):
            kept.append({"a": r["a"], "b": r["b"], "label": int(r["label"]), "cosine": round(cosine, 5),
                         "a_unknown": bool(result.has_unknown[i]), "b_unknown": bool(result.has_unknown[j]),
                         "a_truncated": bool(result.truncated[i]), "b_truncated": bool(result.truncated[j])})
    OUT.parent.mkdir(parents=True, exist_ok=True)
    with gzip.GzipFile(OUT, "wb", mtime=0) as raw:
        raw.write("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in kept).encode("utf-8"))
    print(f"{len(kept)} of {len(rows)} fresh pairs written to {OUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
