"""A labelled pair set with known cosines (a table-driven fake encoder) for the calibration tests."""

from __future__ import annotations

from ..dedup.test_strategies import encoder_with

#: 20 rewordings with cosines 0.900 .. 0.995 (all pass the verifier).
POSITIVES = [(f"How do I reset my password for team {i}?", f"How can I reset my password for team {i}?",
              0.9025 + 0.005 * i) for i in range(20)]
#: 19 label-0 pairs the verifier lets through (synonyms it knows) at cosine 0.7025, and one pair that differs
#: in a number at 0.9925 (the verifier vetoes it; plain embedding merges it below 0.995).
NEGATIVES = [(f"What is a good laptop for team {i}?", f"What is a good notebook for team {i}?", 0.7025)
             for i in range(19)]
NEGATIVES.append(("How do I pay 5 invoices?", "How do I pay 6 invoices?", 0.9925))


def labelled() -> list[dict]:
    return ([{"a": a, "b": b, "label": 1} for a, b, _ in POSITIVES]
            + [{"a": a, "b": b, "label": 0} for a, b, _ in NEGATIVES])


def encoder():
    return encoder_with({(a, b): c for a, b, c in POSITIVES + NEGATIVES})
