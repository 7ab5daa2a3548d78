"""What the encoder returns and counts: per-call results, per-batch timings, cumulative stats."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass

import torch

__all__ = ["BatchTiming", "EncodeResult", "EncoderStats", "StatsCounter"]


@dataclass(frozen=True)
class BatchTiming:
    """One model batch: rows, padded length, real and padded token counts, and model time in seconds."""

    size: int
    seq_len: int
    real_tokens: int
    padded_tokens: int
    seconds: float


@dataclass(frozen=True)
class EncodeResult:
    """What :meth:`SentenceEncoder.encode` returns; every per-text field is in input order.

    ``embeddings``: (N, D) fp32, L2-normalised (an all-zero vector never occurs: empty texts still carry
    the special tokens), on the encoder's device.
    ``truncated``: the text was cut at ``max_length`` tokens, so texts that differ only after the cut
    get the same embedding.
    ``has_unknown``: the tokenizer mapped part of the text (within the kept tokens) to its unknown token,
    so differences there are invisible to the model.
    ``encode_seconds``: tokenisation + model time spent on this call's cache misses (CUDA-event timed on
    GPU); 0.0 when every text came from the cache.
    ``cache_hits``: distinct texts of this call served from the cache.
    ``batches``: the model batches run for this call (rows, padded length, tokens, model seconds).
    ``tokenize_seconds``: the host tokenisation part of ``encode_seconds``.
    """

    embeddings: torch.Tensor
    truncated: list[bool]
    has_unknown: list[bool]
    encode_seconds: float
    cache_hits: int = 0
    batches: tuple[BatchTiming, ...] = ()
    tokenize_seconds: float = 0.0

    def __len__(self) -> int:
        return len(self.truncated)


@dataclass(frozen=True)
class EncoderStats:
    """Cumulative counters of one encoder since it was built (see :meth:`SentenceEncoder.stats`)."""

    calls: int
    texts: int
    encoded: int
    batches: int
    real_tokens: int
    padded_tokens: int
    tokenize_seconds: float
    model_seconds: float

    @property
    def padding_ratio(self) -> float:
        """Padded tokens per real token fed to the model (1.0 = no padding)."""
        return self.padded_tokens / self.real_tokens if self.real_tokens else 1.0


class StatsCounter:
    """The running totals behind :class:`EncoderStats`, updated from any thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._totals = [0, 0, 0, 0, 0, 0, 0.0, 0.0]

    def add(self, calls: int, texts: int, encoded: int, batches: Sequence[BatchTiming], tokenize_seconds: float,
            model_seconds: float) -> None:
        """Count one call: its texts, the texts encoded (cache misses), its batches and times."""
        with self._lock:
            s = self._totals
            s[0] += calls
            s[1] += texts
            s[2] += encoded
            s[3] += len(batches)
            s[4] += sum(b.real_tokens for b in batches)
            s[5] += sum(b.padded_tokens for b in batches)
            s[6] += tokenize_seconds
            s[7] += model_seconds

    def snapshot(self) -> EncoderStats:
        """The totals so far."""
        with self._lock:
            return EncoderStats(*self._totals)
