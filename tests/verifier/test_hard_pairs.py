"""The project's labelled hard set (data/hard_pairs.jsonl): its shape, and hybrid's zero false merges on it.

The hybrid test embeds the whole set once per module with the real encoder (all-MiniLM-L6-v2, ~480 texts,
a few seconds on CPU), then applies the hybrid rule pairwise: exact, or cosine >= t and the verifier allows.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from batchsieve.normalize import normalize_text
from batchsieve.verifier import MergeVerifier

HARD = Path(__file__).resolve().parents[2] / "data" / "hard_pairs.jsonl"
NEGATIVE_CATEGORIES = {
    "number", "date", "time", "unit", "negation", "polarity", "roles", "qualifier", "question_word",
    "unknown_token", "truncation",
}  # fmt: skip
ENGINE_DEFAULT = 0.98
RECOMMENDED = 0.97


def _rows() -> list[dict]:
    return [json.loads(line) for line in HARD.read_text(encoding="utf-8").splitlines() if line.strip()]


ROWS = _rows()


def test_shape_of_the_hard_set():
    assert len(ROWS) >= 200
    for row in ROWS:
        assert set(row) == {"a", "b", "label", "category"}
        assert row["label"] in (0, 1)
        assert normalize_text(row["a"]) != normalize_text(row["b"])
        assert (row["label"] == 1) == (row["category"] == "rewording")
    counts = Counter(row["category"] for row in ROWS)
    assert set(counts) == NEGATIVE_CATEGORIES | {"rewording"}
    assert counts["rewording"] >= 60
    for category in NEGATIVE_CATEGORIES - {"truncation"}:
        assert counts[category] >= 10, category
    assert counts["truncation"] >= 5
    assert len({(r["a"], r["b"]) for r in ROWS}) == len(ROWS)


@pytest.fixture(scope="module")
def encoded():
    """Embeddings and encoder flags of every text of the hard set (one encoder per module)."""
    from batchsieve.models import SentenceEncoder

    texts = list(dict.fromkeys(t for r in ROWS for t in (r["a"], r["b"])))
    with SentenceEncoder(device="cpu", dtype="fp32", cache_size=0) as encoder:
        result = encoder.encode(texts)
    index = {t: i for i, t in enumerate(texts)}
    return result.embeddings.float(), result.has_unknown, result.truncated, index


def _decisions(encoded, threshold: float) -> list[tuple[dict, float, bool, bool]]:
    """(row, cosine, embedding merges, hybrid merges) for every pair."""
    emb, unknown, truncated, index = encoded
    verifier = MergeVerifier()
    out = []
    for row in ROWS:
        i, j = index[row["a"]], index[row["b"]]
        cos = float(emb[i] @ emb[j])
        exact = normalize_text(row["a"]) == normalize_text(row["b"])
        verdict = verifier.check(row["a"], row["b"], a_unknown=unknown[i], b_unknown=unknown[j],
                                 a_truncated=truncated[i], b_truncated=truncated[j])  # fmt: skip
        out.append((row, cos, cos >= threshold, exact or (cos >= threshold and verdict.ok)))
    return out


@pytest.mark.parametrize("threshold", [ENGINE_DEFAULT, RECOMMENDED])
def test_hybrid_makes_zero_false_merges_on_the_hard_set(encoded, threshold):
    decisions = _decisions(encoded, threshold)
    false_hybrid = [(r["category"], r["a"], r["b"]) for r, _, _, h in decisions if h and not r["label"]]
    assert false_hybrid == []
    # the set is hard: plain embedding at the same threshold merges many of its negatives
    false_embedding = [r for r, _, e, _ in decisions if e and not r["label"]]
    assert len(false_embedding) >= 25
    # and hybrid keeps every rewording that embedding merges
    kept = sum(1 for r, _, e, h in decisions if r["label"] and e and h)
    assert kept == sum(1 for r, _, e, _ in decisions if r["label"] and e)


def test_truncation_pairs_are_invisible_to_the_encoder(encoded):
    emb, _, truncated, index = encoded
    rows = [r for r in ROWS if r["category"] == "truncation"]
    for row in rows:
        i, j = index[row["a"]], index[row["b"]]
        assert truncated[i] and truncated[j]
        assert float(emb[i] @ emb[j]) > 0.999  # they differ only after the cut


def test_unknown_token_pairs_look_alike_to_the_encoder(encoded):
    emb, unknown, _, index = encoded
    rows = [r for r in ROWS if r["category"] == "unknown_token"]
    flagged = sum(1 for r in rows if unknown[index[r["a"]]] or unknown[index[r["b"]]])
    assert flagged >= len(rows) // 2
    high = sum(1 for r in rows if float(emb[index[r["a"]]] @ emb[index[r["b"]]]) >= 0.95)
    assert high >= 5


def test_verifier_alone_vetoes_every_hard_negative_and_allows_every_rewording():
    verifier = MergeVerifier()
    wrong = []
    for row in ROWS:
        verdict = verifier.check(row["a"], row["b"])
        if verdict.ok != bool(row["label"]):
            wrong.append((row["category"], row["a"], row["b"], verdict.reasons))
    assert wrong == []
