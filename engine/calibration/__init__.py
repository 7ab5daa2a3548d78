"""Calibration: the dedup threshold chosen from labelled pairs (:func:`calibrate`).

* :mod:`._pairs`: reading and checking labelled pairs (dicts, tuples, JSONL files);
* :mod:`.scoring`: each pair scored the way the engine decides it (the strategy's encoder, normalisation,
  verifier, greedy rule);
* :mod:`.result`: the curve over :data:`GRID`, the chosen threshold (:class:`CalibrationResult`);
* :mod:`.api`: :func:`calibrate`; :mod:`.cli`: ``batchsieve calibrate PAIRS.jsonl``.
"""

from ._pairs import LabelledPair, load_jsonl, read_pairs
from .api import MIN_PAIRS_PER_LABEL, SEMANTIC_STRATEGIES, calibrate
from .result import GRID, CalibrationResult, CurvePoint
from .scoring import EncodedPair, PairScore, encode_pairs, score_pairs

__all__ = [
    "GRID",
    "MIN_PAIRS_PER_LABEL",
    "SEMANTIC_STRATEGIES",
    "CalibrationResult",
    "CurvePoint",
    "EncodedPair",
    "LabelledPair",
    "PairScore",
    "calibrate",
    "encode_pairs",
    "load_jsonl",
    "read_pairs",
    "score_pairs",
]
