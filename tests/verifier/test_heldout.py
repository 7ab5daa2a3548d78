"""The verifier on data it was not built from: Quora pairs the project had never read.

``data/hard_pairs.jsonl`` was written together with the verifier, and the project's QQP sample was read
while designing and auditing it, so "zero false merges" there says little about new text.
``data/qqp_heldout.jsonl.gz`` (beside this file; provenance in ``data/README.md`` there) holds a seeded sample
of the other 60,854 pairs of the shared QQP file, with their fp32 cosines and encoder flags computed once by
``benchmarks/make_heldout_pairs.py``. The verifier runs alone here (no encoder), so this is fast and
deterministic.

* every pair that the independent rules of :mod:`.heldout_rules` say differs in a number or a negation is
  vetoed, for that reason;
* at the engine's default 0.98 and the recommended 0.97, hybrid (exact, or cosine >= t and the verifier
  allows) is more precise than plain embedding, meets the README's 95% precision at 0.98, and every label-0
  pair it merges was read and is a label error (a rewording): no real false merge;
* plain embedding at 0.98 does merge a real difference there, so the check is not vacuous.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from batchsieve.verifier import MergeVerifier

from .heldout_rules import differs_in_negation, differs_in_numbers

DATA = Path(__file__).resolve().parent / "data" / "qqp_heldout.jsonl.gz"
PROJECT_SAMPLE = Path(__file__).resolve().parents[2] / "data" / "qqp_sample.jsonl.gz"
HARD = Path(__file__).resolve().parents[2] / "data" / "hard_pairs.jsonl"
NUMERIC = {"number", "time", "date", "unit"}

#: Every label-0 pair hybrid merges at 0.97 or 0.98, read one by one: each asks the same thing as its
#: partner (QQP marks some rewordings "not duplicate"), so none is a wrong answer.
LABEL_ERRORS = {
    ("Am I eligible for a tax benefit on a down payment paid from savings while purchasing a home?",
     "Am I eligible for tax benefit on down payment paid from savings while purchasing home?"),  # articles
    ("Why is Kim Kardashian famous for being famous?", "Why is Kim Kardashian famous?"),  # the same question
    ("What are the best books to learn data structures?", "What are the best books for learning data structures?"),
    ("How do I overcome my inferiority complex ?", "How do I overcome my inferiority complex?"),  # a space
    ("How do I learn to improvise on the guitar?", "What is the best way to learn to improvise on the guitar?"),
    ("What will be the output of the following program ?", "What will be the output of the following program?"),
    ('What are some sentence examples using ""complacent""?', 'What is an example of ""complacent"" in a sentence?'),
    ("Which laptop I should buy?", "Which laptop should I buy?"),
    ("Which is the best coaching for MP psc in MP?", "Which is the best coaching for MP psc?"),
    ("How Can I open a password protected video file which has extension as .exe?",
     "How do I open a password protected video file which has extension as .exe?"),
    ("How do you handle rejection?", "How should you handle rejection?"),
    ("How do you ask a question in Quora?", "How do I ask a question on Quora?"),
    ("How do make yourself believe something?", "How can you make yourself believe something?"),
    ("How do you use social media as a tool for customer service?",
     "How do you use social media as a customer service tool?"),
    ("Why some of keys on my laptop keyboard do not work?", "Why some keys in my laptop keyboard are not working?"),
    ("What does my birth chart say about me?", "What does my birth chart say about me? "),  # a trailing space
    ("What rank in JEE (advanced) 2017 is needed to get into IIT Kharagpur?",
     "What rank is needed in JEE Advanced 2017 to get into IIT Kharagpur?"),
    ("How do you get over a cheating boyfriend?", "How can I get over a cheating boyfriend?"),
}


def _read(path: Path) -> list[dict]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


ROWS = _read(DATA)
V = MergeVerifier()


def _canon(text: str) -> str:
    return " ".join(text.casefold().split())


def _hybrid_merges(row: dict, threshold: float) -> bool:
    if _canon(row["a"]) == _canon(row["b"]):
        return True
    flags = {k: row[k] for k in ("a_unknown", "b_unknown", "a_truncated", "b_truncated")}
    return row["cosine"] >= threshold and V.check(row["a"], row["b"], **flags).ok


def test_the_sample_is_fresh_and_well_formed():
    assert len(ROWS) == 2636
    seen = {(r["a"], r["b"]) for r in _read(PROJECT_SAMPLE)} | {(r["a"], r["b"]) for r in _read(HARD)}
    assert not any((r["a"], r["b"]) in seen for r in ROWS)  # never read by the project before
    for row in ROWS:
        assert set(row) == {"a", "b", "label", "cosine", "a_unknown", "b_unknown", "a_truncated", "b_truncated"}
        assert row["label"] in (0, 1) and -1.0 <= row["cosine"] <= 1.0
    assert sum(r["cosine"] >= 0.95 for r in ROWS) == 1102  # the semantic candidates


def test_the_rules_flag_what_they_should():
    assert differs_in_numbers("Is 5 kg too heavy for 2 kids?", "Is 6 kg too heavy for 2 kids?")
    assert not differs_in_numbers("Android 7.0", "Android 7")
    assert not differs_in_numbers("1,000 words", "1000 words")
    assert not differs_in_numbers("the 1st of 5", "the first of 6")  # a spelled or glued number: not judged
    assert differs_in_negation("Why doesn't it work?", "Why does it work?")
    assert not differs_in_negation("Why can't I log in?", "Why am I unable to log in?")  # another "not"
    assert not differs_in_negation("placed.NOT able", "placed and able")  # glued by a period: not judged


def test_every_fresh_pair_that_differs_in_a_number_is_vetoed_for_it():
    flagged = [r for r in ROWS if differs_in_numbers(r["a"], r["b"])]
    assert len(flagged) == 879
    missed = [(r["a"], r["b"]) for r in flagged if not NUMERIC & set(V.check(r["a"], r["b"]).categories)]
    assert missed == []


def test_every_fresh_pair_that_differs_in_a_negation_is_vetoed_for_it():
    flagged = [r for r in ROWS if differs_in_negation(r["a"], r["b"])]
    assert len(flagged) == 734
    missed = [(r["a"], r["b"]) for r in flagged if "negation" not in V.check(r["a"], r["b"]).categories]
    assert missed == []


@pytest.mark.parametrize(("threshold", "embedding", "hybrid"), [
    (0.98, (372, 23), (279, 11)),  # (true merges, false merges on the raw labels)
    (0.97, (556, 51), (376, 18)),
])
def test_hybrid_makes_no_real_false_merge_on_fresh_pairs(threshold, embedding, hybrid):
    candidates = [r for r in ROWS if r["cosine"] >= threshold]
    emb = (sum(r["label"] for r in candidates), sum(not r["label"] for r in candidates))
    merged = [r for r in ROWS if _hybrid_merges(r, threshold)]
    hyb = (sum(r["label"] for r in merged), sum(not r["label"] for r in merged))
    assert (emb, hyb) == (embedding, hybrid)
    precision = {"embedding": emb[0] / sum(emb), "hybrid": hyb[0] / sum(hyb)}
    assert precision["hybrid"] > precision["embedding"]
    if threshold == 0.98:
        assert precision["hybrid"] >= 0.95  # README: hybrid at 95.0% precision at the default threshold
    false = {(r["a"], r["b"]) for r in merged if not r["label"]}
    assert false <= LABEL_ERRORS, sorted(false - LABEL_ERRORS)


def test_plain_embedding_merges_a_real_difference_that_hybrid_vetoes():
    real = [r for r in ROWS if r["cosine"] >= 0.98 and not r["label"]
            and (differs_in_numbers(r["a"], r["b"]) or differs_in_negation(r["a"], r["b"]))]
    assert [(r["a"], r["b"]) for r in real] == [
        ("What is a proper gym workout routine for a 164 cm tall boy of age 24?",
         "What is a proper gym workout routine for a 164 cm tall boy of age 23?")]
    assert not _hybrid_merges(real[0], 0.98)
