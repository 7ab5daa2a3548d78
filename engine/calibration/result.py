"""The curve over thresholds, the chosen threshold, and what a person reads: :class:`CalibrationResult`."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .scoring import PairScore

__all__ = ["GRID", "CalibrationResult", "CurvePoint", "choose"]

#: The thresholds calibration tries: 0.500 to 1.000 in steps of 0.005 (a cosine finer than that is noise on
#: a few thousand pairs, and a round value is easier to read and to carry into a config).
GRID: tuple[float, ...] = tuple(round(0.5 + 0.005 * k, 3) for k in range(101))


@dataclass(frozen=True, slots=True)
class CurvePoint:
    """Precision, recall and false merges at one threshold. ``false_merge_rate`` = false merges / label-0
    pairs: the share of pairs that ask different things which the engine would merge."""

    threshold: float
    precision: float  # true merges / merges (1.0 when nothing merges)
    recall: float  # true merges / label-1 pairs
    false_merges: int
    true_merges: int
    false_merge_rate: float


def _point(scores: Sequence[PairScore], t: float, positives: int, negatives: int) -> CurvePoint:
    tm = fm = 0
    for s in scores:
        if s.merged(t):
            if s.label:
                tm += 1
            else:
                fm += 1
    merged = tm + fm
    return CurvePoint(t, tm / merged if merged else 1.0, tm / positives if positives else 0.0, fm, tm,
                      fm / negatives if negatives else 0.0)


@dataclass(frozen=True)
class CalibrationResult:
    """What :func:`batchsieve.calibrate` found: the chosen ``threshold`` and its figures, the whole ``curve``
    (ascending thresholds) and the pairs it would wrongly merge at the chosen threshold."""

    strategy: str
    threshold: float
    max_false_merge_rate: float
    precision: float
    recall: float
    false_merge_rate: float
    curve: tuple[CurvePoint, ...]
    false_merges: tuple[PairScore, ...]  # label-0 pairs merged at ``threshold``, highest cosine first
    positives: int
    negatives: int
    scores: tuple[PairScore, ...]  # every pair, in input order

    def at(self, threshold: float) -> CurvePoint:
        """The figures at any threshold (not only the grid's)."""
        return _point(self.scores, threshold, self.positives, self.negatives)

    def summary(self) -> str:
        """A few lines for a person: the choice, its figures, and the false merges to read."""
        lines = [f"strategy {self.strategy}: threshold {self.threshold:.3f} (the lowest of the grid whose "
                 f"false-merge rate is <= {self.max_false_merge_rate:g})",
                 f"  precision {self.precision:.1%}, recall {self.recall:.1%}, false-merge rate "
                 f"{self.false_merge_rate:.2%} ({len(self.false_merges)} of {self.negatives} label-0 pairs; "
                 f"{self.positives} label-1 pairs)"]
        if self.false_merges:
            lines.append("  false merges at this threshold (read them: a wrong label, or a real difference?):")
            for s in self.false_merges:
                cos = "exact" if s.exact else f"cosine {s.cosine:.3f}"
                lines.append(f"    [{cos}] {s.a!r} / {s.b!r}")
        return "\n".join(lines)

    def plot(self, path: str | Path) -> Path:
        """Precision, recall and false-merge rate against the threshold, the choice marked; a PNG (needs
        matplotlib)."""
        try:
            import matplotlib
        except ImportError as exc:  # an optional dependency: say which
            raise ImportError("plotting needs matplotlib (pip install matplotlib)") from exc
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        ts = [p.threshold for p in self.curve]
        fig, ax = plt.subplots(figsize=(7, 4))
        ax.plot(ts, [p.precision for p in self.curve], label="precision")
        ax.plot(ts, [p.recall for p in self.curve], label="recall")
        ax.plot(ts, [p.false_merge_rate for p in self.curve], label="false-merge rate")
        ax.axvline(self.threshold, color="grey", linestyle="--", label=f"chosen {self.threshold:.3f}")
        ax.set_xlabel("dedup_threshold (cosine)")
        ax.set_title(f"calibration, {self.strategy} strategy")
        ax.legend()
        fig.tight_layout()
        path = Path(path)
        fig.savefig(path, dpi=110)
        plt.close(fig)
        return path


def choose(strategy: str, scores: Sequence[PairScore], max_false_merge_rate: float) -> CalibrationResult:
    """The lowest grid threshold whose false-merge rate is within the bound (false merges only fall as the
    threshold rises, so every higher threshold is within it too)."""
    positives = sum(1 for s in scores if s.label)
    negatives = len(scores) - positives
    curve = tuple(_point(scores, t, positives, negatives) for t in GRID)
    chosen = next((p for p in curve if p.false_merge_rate <= max_false_merge_rate), None)
    if chosen is None:
        last = curve[-1]
        raise ValueError(f"no threshold keeps the false-merge rate <= {max_false_merge_rate:g}: even at 1.000 "
                         f"{last.false_merges} of {negatives} label-0 pairs merge ({last.false_merge_rate:.2%}; "
                         "exact matches, or texts the encoder cannot tell apart)")
    wrong = sorted((s for s in scores if not s.label and s.merged(chosen.threshold)),
                   key=lambda s: -1.0 if math.isnan(s.cosine) else -s.cosine)
    return CalibrationResult(strategy, chosen.threshold, max_false_merge_rate, chosen.precision, chosen.recall,
                             chosen.false_merge_rate, curve, tuple(wrong), positives, negatives, tuple(scores))
