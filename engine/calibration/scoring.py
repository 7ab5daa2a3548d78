"""Score labelled pairs the way the engine decides them: the strategy's own encoder, normalisation and verifier.

For one pair (``a`` first, as in a batch) a strategy's greedy rule reduces to one question: is there an edge
from ``b`` to ``a``? So a pair merges at threshold ``t`` when

* its normalised texts are equal (the queue coalesces those, in every strategy), or
* both texts are within ``dedup_max_chars``, the fp32 cosine of the two embeddings is ``>= t`` (the
  threshold rounded to fp32, as the kernels compare it), and, for ``hybrid``, the verifier allows it with
  the encoder's unknown-token and truncation flags.

The verifier's verdict does not depend on ``t``, so one pass gives the whole curve. ``tests/calibration``
checks, pair by pair, that this is what :meth:`HybridStrategy.assign` / :meth:`EmbeddingStrategy.assign` do.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ..dedup import EmbeddingStrategy, HybridStrategy
from ._pairs import LabelledPair

__all__ = ["EncodedPair", "PairScore", "encode_pairs", "score_pairs"]

_CHUNK = 256  # texts per encoder call: large enough for the encoder's own batching, small enough to bound memory


def fp32(x: float) -> float:
    """``x`` rounded to fp32, as the kernels compare thresholds and cosines."""
    return struct.unpack("f", struct.pack("f", x))[0]


@dataclass(frozen=True, slots=True)
class EncodedPair:
    """What the encoder says about one pair: the cosine and each side's flags."""

    cosine: float
    a_unknown: bool = False
    b_unknown: bool = False
    a_truncated: bool = False
    b_truncated: bool = False


@dataclass(frozen=True, slots=True)
class PairScore:
    """One labelled pair as the engine sees it."""

    a: str
    b: str
    label: int
    exact: bool  # identical after normalisation: merged at every threshold
    semantic: bool  # both texts within dedup_max_chars (else exact matching only)
    cosine: float  # fp32 cosine of the two embeddings (nan when not encoded: exact or too long)
    allowed: bool  # the verifier allows the merge (always True for ``embedding``)
    reasons: tuple[str, ...] = ()  # the verifier's reasons against the merge
    flags: EncodedPair | None = None

    def merged(self, threshold: float) -> bool:
        """Whether the engine merges this pair at ``threshold``."""
        return self.exact or (self.semantic and self.allowed and self.cosine >= fp32(threshold))


def _flags(result: Any, name: str, n: int) -> list[bool]:
    return [bool(x) for x in getattr(result, name, [False] * n)]


def encode_pairs(strategy: EmbeddingStrategy | HybridStrategy, pairs: Sequence[tuple[str, str]]
                 ) -> list[EncodedPair]:
    """Embed every distinct text once with the strategy's encoder; each pair's cosine and flags."""
    import torch

    index: dict[str, int] = {}
    for a, b in pairs:
        index.setdefault(a, len(index))
        index.setdefault(b, len(index))
    texts = list(index)
    vectors: list[torch.Tensor] = []
    unknown: list[bool] = []
    truncated: list[bool] = []
    for c0 in range(0, len(texts), _CHUNK):
        chunk = texts[c0:c0 + _CHUNK]
        result = strategy._encode(chunk)  # the engine's own call: shape and finiteness checked there
        vectors.append(result.embeddings.detach().float().cpu())
        unknown += _flags(result, "has_unknown", len(chunk))
        truncated += _flags(result, "truncated", len(chunk))
    if not vectors:
        return []
    x = torch.cat(vectors)
    x = x / torch.linalg.vecdot(x, x).sqrt()[:, None]  # the reference kernel's normalisation, in fp32
    out = []
    for a, b in pairs:
        i, j = index[a], index[b]
        cosine = float((x[[i, j]] @ x[[i, j]].T)[1, 0])
        out.append(EncodedPair(cosine, unknown[i], unknown[j], truncated[i], truncated[j]))
    return out


def score_pairs(strategy: EmbeddingStrategy | HybridStrategy, pairs: Sequence[LabelledPair], *,
                normalize: Callable[[str], str], max_chars: int,
                encoded: Sequence[EncodedPair] | None = None) -> list[PairScore]:
    """Score ``pairs`` under ``strategy``. ``encoded`` (one per pair not exact and within ``max_chars``, in
    order) replaces the encoder: a cache of what it said (the drift test's fast path)."""
    exact = [normalize(p.a) == normalize(p.b) for p in pairs]
    semantic = [max(len(p.a), len(p.b)) <= max_chars for p in pairs]
    todo = [k for k, p in enumerate(pairs) if not exact[k] and semantic[k]]
    if encoded is None:
        encoded = encode_pairs(strategy, [(pairs[k].a, pairs[k].b) for k in todo])
    if len(encoded) != len(todo):
        raise ValueError(f"{len(encoded)} encoded pairs for {len(todo)} pairs that need the encoder")
    by_pair = dict(zip(todo, encoded, strict=True))
    hybrid = isinstance(strategy, HybridStrategy)
    facts: dict[str, Any] = {}
    out: list[PairScore] = []
    for k, p in enumerate(pairs):
        e = by_pair.get(k)
        if e is None:
            out.append(PairScore(p.a, p.b, p.label, exact[k], semantic[k], float("nan"), True))
            continue
        allowed, reasons = True, ()
        if hybrid:
            fa = facts.get(p.a) or facts.setdefault(p.a, strategy.verifier.facts(p.a))
            fb = facts.get(p.b) or facts.setdefault(p.b, strategy.verifier.facts(p.b))
            verdict = strategy.verdict(fa, fb, (e.a_unknown, e.b_unknown), (e.a_truncated, e.b_truncated))
            allowed, reasons = verdict.ok, tuple(verdict.reasons)
        out.append(PairScore(p.a, p.b, p.label, False, True, e.cosine, allowed, reasons, e))
    return out
