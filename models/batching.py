"""Length-bucketed batch planning and padding.

Texts are sorted by token length and cut greedily into batches whose *padded* size (rows x padded
length) stays within a token budget and whose row count stays within a cap, so a short text is never
padded to the length of a long one in another bucket. On GPU the padded length is rounded up to a
multiple of 8 (tensor-core friendly shapes); on CPU it is not rounded.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

__all__ = ["collate", "padded_length", "plan_batches"]


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
) -> list[np.ndarray]:
    """Split item indices into length-sorted batches under a padded-token budget and a size cap.

    Items are ordered by ``lengths`` (stable, shortest first) and batches are filled greedily: a batch
    closes before an item that would push ``rows * padded_length(longest, pad_multiple)`` above
    ``max_batch_tokens`` or the row count above ``max_batch_size``. An item longer than the whole budget
    still goes alone into its own batch. Returns arrays of indices into ``lengths``; every index appears
    exactly once. ``sort=False`` keeps input order (the plain, unbucketed path) under the same limits.
    """
    if max_batch_tokens < 1 or max_batch_size < 1:
        raise ValueError(f"max_batch_tokens and max_batch_size must be >= 1, got {max_batch_tokens} and "
                         f"{max_batch_size}")
    lens = np.asarray(lengths, dtype=np.int64)
    if lens.size == 0:
        return []
    order = np.argsort(lens, kind="stable") if sort else np.arange(lens.size)
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
