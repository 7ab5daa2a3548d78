"""The default ``dedup_threshold`` of each strategy, when the user gives none (an explicit value always wins).

The semantic strategies' values are calibrated, not guessed: :func:`batchsieve.calibrate` on the project's
labelled data (the QQP sample's train split, 10,000 pairs, plus the hard-pair set, 241 pairs) with the default
encoder (all-MiniLM-L6-v2) at a false-merge rate of at most :data:`DEFAULT_BOUND` (false merges / label-0
pairs), each the lowest threshold of the calibration grid within it. ``benchmarks/make_calibration_scores.py``
re-derives them, and ``tests/calibration/test_defaults.py`` fails when they drift from what calibration gives
(a changed encoder, verifier or normalisation): re-run the script and update the values here.
"""

from __future__ import annotations

__all__ = ["DEFAULT_BOUND", "DEFAULT_THRESHOLDS", "SPEC_THRESHOLD", "default_threshold"]

#: The false-merge bound of the shipped defaults: a fifth below the 0.94% of label-0 pairs that the
#: specification's rule (embedding at 0.98) merges on the same data, so no default merges more wrongly than it.
DEFAULT_BOUND = 0.0075
#: The specification's threshold: ``exact`` ignores it, ``custom`` keeps it (its similarity is the user's).
SPEC_THRESHOLD = 0.98
DEFAULT_THRESHOLDS: dict[str, float] = {
    "embedding": 0.985,  # false-merge rate 0.74% (0.98: 0.94%, over the bound)
    "hybrid": 0.865,  # false-merge rate 0.74%; the verifier vetoes most of what the lower cosine proposes
}


def default_threshold(strategy: str | None) -> float:
    """The threshold a processor with ``strategy`` uses when ``dedup_threshold`` is not given."""
    return DEFAULT_THRESHOLDS.get(strategy or "", SPEC_THRESHOLD)
