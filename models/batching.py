"""Length-bucketed batch planning and padding.

Texts are sorted by token length and cut into consecutive batches whose *padded* size (rows x padded
length) stays within a token budget and whose row count stays within a cap, so a short text is never
padded to the length of a long one in another bucket. On GPU the padded length is rounded up to a
multiple of 8 (tensor-core friendly shapes); on CPU it is not rounded.

Where to cut: given a per-batch overhead expressed in tokens (what one more forward pass costs beyond its
tokens: about 64 tokens' worth for MiniLM on the development CPU), a dynamic programme over the sorted
lengths finds the cuts that minimise ``padded tokens + overhead x batches`` exactly. That matters for the
engine's micro-batches of mixed lengths: on 64 requests drawn from QQP plus long texts, greedy filling
padded 2.0-2.3x the real tokens and the optimal cuts 1.15-1.2x. The programme costs about 4 us per text,
so beyond :data:`DP_MAX_ITEMS` texts (where lengths are dense and greedy is within ~1% anyway) the
greedy fill is used.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

__all__ = [
    "DEFAULT_BATCH_LIMITS",
    "DEFAULT_BATCH_OVERHEAD_TOKENS",
    "DP_MAX_ITEMS",
    "collate",
    "padded_length",
    "plan_batches",
]

#: Batch limits per device type: (max_batch_tokens, max_batch_size). CPU figures measured on the
#: development machine (see benchmarks/results/encoder.md); GPU figures sized for MiniLM-class encoders.
DEFAULT_BATCH_LIMITS: dict[str, tuple[int, int]] = {"cpu": (2048, 128), "cuda": (65536, 1024)}

#: What one more forward pass costs beyond its tokens, in tokens, per device type: the batch planner
#: trades padding against batch count with it. CPU: measured (~2.5 ms fixed cost per MiniLM forward vs
#: ~40 us per token in bf16 on the development CPU). CUDA: an estimate (~1 ms of launches per forward vs
#: ~0.1 us per token on an H100/H200-class GPU), which makes the planner fill batches up to the budget.
DEFAULT_BATCH_OVERHEAD_TOKENS: dict[str, int] = {"cpu": 64, "cuda": 8192}


#: Largest number of texts planned by the exact dynamic programme; larger calls are cut greedily.
DP_MAX_ITEMS = 1024


def padded_length(length: int, multiple: int = 1) -> int:
    """``length`` rounded up to a multiple of ``multiple`` (at least ``multiple`` rows long when > 0)."""
    if multiple <= 1:
        return length
    return -(-length // multiple) * multiple


def plan_batches(
    lengths: Sequence[int] | np.ndarray,
    *,
    max_batch_tokens: int,
    max_batch_size: int,
    pad_multiple: int = 1,
    sort: bool = True,
    batch_overhead_tokens: int | None = None,
) -> list[np.ndarray]:
    """Split item indices into length-sorted batches under a padded-token budget and a size cap.

    Items are ordered by ``lengths`` (stable, shortest first) and cut into consecutive batches with
    ``rows * padded_length(longest, pad_multiple) <= max_batch_tokens`` and ``rows <= max_batch_size``
    (an item longer than the whole budget goes alone into its own batch).

    With ``batch_overhead_tokens`` set and at most :data:`DP_MAX_ITEMS` items, the cuts minimise
    ``padded tokens + batch_overhead_tokens * batches`` exactly; otherwise batches are filled greedily
    (a batch closes before the item that would break a limit). ``sort=False`` keeps input order (the
    plain, unbucketed path) and fills greedily. Returns arrays of indices into ``lengths``; every index
    appears exactly once.
    """
    if max_batch_tokens < 1 or max_batch_size < 1:
        raise ValueError(f"max_batch_tokens and max_batch_size must be >= 1, got {max_batch_tokens} and "
                         f"{max_batch_size}")
    lens = np.asarray(lengths, dtype=np.int64)
    if lens.size == 0:
        return []
    order = np.argsort(lens, kind="stable") if sort else np.arange(lens.size)
    if sort and batch_overhead_tokens is not None and lens.size <= DP_MAX_ITEMS:
        return _plan_optimal(order, lens[order], max_batch_tokens, max_batch_size, pad_multiple,
                             batch_overhead_tokens)
    sorted_lens = lens[order].tolist()
    batches: list[np.ndarray] = []
    start = 0
    longest = 0
    n = len(sorted_lens)
    for i in range(n):
        rows = i - start + 1
        longest = max(longest, sorted_lens[i])
        width = padded_length(longest, pad_multiple)
        if rows > 1 and (rows > max_batch_size or rows * width > max_batch_tokens):
            batches.append(order[start:i])
            start = i
            longest = sorted_lens[i]
    batches.append(order[start:n])
    return batches


def _plan_optimal(
    order: np.ndarray,
    sorted_lens: np.ndarray,
    max_batch_tokens: int,
    max_batch_size: int,
    pad_multiple: int,
    overhead: int,
) -> list[np.ndarray]:
    """Cuts of the sorted items minimising padded tokens + overhead per batch, under the limits."""
    n = sorted_lens.size
    widths = sorted_lens if pad_multiple <= 1 else -(-sorted_lens // pad_multiple) * pad_multiple
    best = np.zeros(n + 1, dtype=np.float64)  # best[i]: cost of the first i items
    start = np.zeros(n + 1, dtype=np.int64)  # start[i]: first item of the last batch ending at i - 1
    for i in range(n):
        width = int(widths[i])  # the widest item of any batch ending at i (sorted)
        rows = min(max_batch_size, max(1, max_batch_tokens // max(width, 1)), i + 1)
        js = np.arange(i + 1 - rows, i + 1)
        costs = best[js] + (i + 1 - js) * width + overhead
        k = int(np.argmin(costs))
        best[i + 1] = costs[k]
        start[i + 1] = js[k]
    cuts: list[np.ndarray] = []
    end = n
    while end > 0:
        begin = int(start[end])
        cuts.append(order[begin:end])
        end = begin
    cuts.reverse()
    return cuts


def collate(
    seqs: Sequence[Sequence[int]],
    *,
    pad_id: int,
    pad_multiple: int = 1,
    pin_memory: bool = False,
) -> tuple[torch.Tensor, int]:
    """Right-pad token id lists into one int64 tensor of shape (2, B, L): ids, then the attention mask.

    Ids and mask travel in one tensor so a batch needs a single host-to-device copy. ``L`` is the longest
    sequence rounded up to ``pad_multiple``. Returns the tensor and the number of real (unpadded) tokens.
    """
    lens = np.fromiter((len(s) for s in seqs), dtype=np.int64, count=len(seqs))
    width = padded_length(int(lens.max()) if lens.size else 0, pad_multiple)
    buf = np.empty((2, len(seqs), width), dtype=np.int64)
    ids = buf[0]
    ids.fill(pad_id)
    for row, seq in enumerate(seqs):
        ids[row, : len(seq)] = seq
    np.less(np.arange(width)[None, :], lens[:, None], out=buf[1])
    out = torch.from_numpy(buf)
    if pin_memory:
        out = out.pin_memory()
    return out, int(lens.sum())
