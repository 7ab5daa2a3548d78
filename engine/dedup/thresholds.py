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

#: The false-merge bound of the shipped defaults: 1 label-0 pair in 200 (at 1 in 100, the function's
#: default, hybrid's threshold falls where QQP precision is below plain embedding's at the spec's 0.98).
DEFAULT_BOUND = 0.005
#: The specification's threshold: ``exact`` ignores it, ``custom`` keeps it (its similarity is the user's).
SPEC_THRESHOLD = 0.98
DEFAULT_THRESHOLDS: dict[str, float] = {
    "embedding": 0.98,
    "hybrid": 0.98,
}


def default_threshold(strategy: str | None) -> float:
    """The threshold a processor with ``strategy`` uses when ``dedup_threshold`` is not given."""
    return DEFAULT_THRESHOLDS.get(strategy or "", SPEC_THRESHOLD)
