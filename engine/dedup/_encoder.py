"""The lazy default encoder, and what the encoder-backed strategies share (loading, timing, figures).

The encoder is loaded lazily, once per process for the default model, under a lock. The engine loads it in
the background (:mod:`batchsieve._warmup`), so that the load never counts against ``dedup_timeout_ms``.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from typing import Any

__all__ = ["EncoderBacked", "default_encoder", "merge_cosines"]

_default_encoder: Any = None
_default_lock = threading.Lock()


def default_encoder() -> Any:
    """The process-wide default :class:`~batchsieve.models.SentenceEncoder` (all-MiniLM-L6-v2), loaded once."""
    global _default_encoder
    with _default_lock:
        if _default_encoder is None:
            from batchsieve.models import SentenceEncoder

            _default_encoder = SentenceEncoder()
        return _default_encoder


def merge_cosines(embeddings: Any, rep: list[int]) -> dict[int, float]:
    """The cosine of each merged row to its representative (what :func:`batchsieve.BatchProcessor`'s merge log
    and ``on_merge`` report); only the merged pairs are computed."""
    merged = [i for i, r in enumerate(rep) if r != i]
    if not merged:
        return {}
    x = embeddings.float()
    a, b = x[merged], x[[rep[i] for i in merged]]
    cos = (a * b).sum(1) / (a.norm(dim=1) * b.norm(dim=1))
    return dict(zip(merged, cos.tolist(), strict=True))


class EncoderBacked:
    """Lazy, thread-safe access to an encoder and its figures (a mixin of the embedding strategies)."""

    def __init__(self, encoder: Any = None) -> None:
        self._encoder = encoder
        self._lock = threading.Lock()
        self._load_lock = threading.Lock()
        self._encode_seconds = 0.0
        self._encoded_batches = 0
        self._last_encode_seconds = 0.0
        self._stage: Counter[str] = Counter()

    @classmethod
    def from_config(cls, config: Any) -> Any:
        return cls(getattr(config, "encoder", None))

    @property
    def encoder(self) -> Any:
        """The encoder (loaded on first use)."""
        if self._encoder is None:
            with self._load_lock:  # not self._lock: stats() must not wait for a load in progress
                if self._encoder is None:
                    self._encoder = default_encoder()
        return self._encoder

    @property
    def loaded(self) -> bool:
        """Whether the encoder is in memory: a given one is; the default one once any strategy loaded it."""
        return self._encoder is not None or _default_encoder is not None

    def warmup(self) -> None:
        """Load the encoder and run it (and the kernel, which compiles on first use on CUDA) once."""
        from batchsieve.kernels import assign_representatives

        result = self.encoder.encode(["warm up", "warm up the encoder"])
        assign_representatives(result.embeddings, 0.98)

    def _encode(self, texts: list[str]) -> Any:
        import torch

        t0 = time.perf_counter()
        result = self.encoder.encode(texts)
        embeddings = getattr(result, "embeddings", None)
        if not isinstance(embeddings, torch.Tensor) or embeddings.ndim != 2 or embeddings.shape[0] != len(texts):
            shape = tuple(embeddings.shape) if isinstance(embeddings, torch.Tensor) else type(embeddings).__name__
            raise ValueError(f"the encoder returned embeddings of shape {shape} for {len(texts)} texts")
        if not bool(torch.isfinite(embeddings).all()):  # broken output: merge nothing on it
            raise ValueError("the encoder returned NaN or infinite embeddings")
        seconds = getattr(result, "encode_seconds", None)
        seconds = time.perf_counter() - t0 if seconds is None else seconds
        with self._lock:
            self._encode_seconds += seconds
            self._encoded_batches += 1
            self._last_encode_seconds = seconds
        return result

    def _count(self, merges: dict[str, int]) -> None:
        with self._lock:
            self._stage.update(merges)

    def stats(self) -> dict[str, Any]:
        out: dict[str, Any] = {"strategy": self.name}  # type: ignore[attr-defined]
        with self._lock:
            batches = self._encoded_batches
            out["encoder_batches"] = batches
            out["encoder_ms_total"] = self._encode_seconds * 1e3
            out["encoder_ms_per_batch"] = self._encode_seconds * 1e3 / batches if batches else 0.0
            out["encoder_ms_last"] = self._last_encode_seconds * 1e3
            out["stages"] = dict(self._stage)
        encoder = self._encoder
        if encoder is not None and hasattr(encoder, "cache_info"):
            info = encoder.cache_info()
            out["cache"] = info._asdict() if hasattr(info, "_asdict") else (
                info if isinstance(info, dict) else {"info": str(info)})
        return out
