"""Triton kernel: the greedy walk that picks representatives from the bit-packed adjacency.

Position ``p`` becomes a representative iff no earlier representative is similar to it (the walk is
in position order, i.e. the caller's processing order). This is a lexicographically-first maximal
independent set: inherently sequential, so one program walks it, 32 positions (one adjacency word
column) per step:

1. *claimed from earlier blocks*: for the block's 32 rows, AND their words ``0 .. b-1`` with the
   representative bitset so far and test for any bit (a (32, BLOCK_W) tile per chunk, vectorised);
2. *the block itself*: a 32-step scalar walk over the block's diagonal words (one int32 per row, the
   bits of earlier positions in the same block), all in registers;
3. store the block's representative word, barrier, next block.

Where it stops scaling: the chain of dependent steps is N / 32 blocks long, each a global round trip
plus a barrier, and the whole walk reads O(N^2 / 64) words on a single SM. Estimated (not measured:
no GPU in the session that wrote it) at ~1-2 us per step on an H200: ~30-60 us at N = 1024, ~0.5 ms
at N = 8192. The similarity kernel is O(N^2 D) spread over the whole GPU, so the walk becomes the
larger stage from roughly 4k requests in fp16 (tensor cores) and ~8k in fp32; well past that a
multi-program scheme (speculative blocks plus a fix-up pass) would be needed. ``benchmarks/kernels.py
--gpu`` reports each stage's time separately. Who each non-representative maps to is computed
afterwards, in parallel, by :mod:`batchsieve.kernels.assign`.
"""

from __future__ import annotations

import torch
import triton
import triton.language as tl

__all__ = ["greedy_representatives"]


@triton.jit(do_not_specialize=["N", "W"])
def _greedy_kernel(
    adj_ptr,  # (N, W) int32 bit-packed strictly lower-triangular adjacency
    rep_ptr,  # (W,) int32 output: bit t of word b set iff position 32 b + t is a representative
    N,
    W,
    BLOCK_W: tl.constexpr,  # adjacency words per chunk in step 1
):
    offs_t = tl.arange(0, 32)
    offs_w = tl.arange(0, BLOCK_W)
    one = tl.full((), 1, tl.int32)
    for b in range(0, W):
        rows = b * 32 + offs_t  # the block's positions
        row_ok = rows < N
        row_base = rows.to(tl.int64) * W
        # 1. any earlier-block representative similar to each row?
        hit = tl.zeros((32,), dtype=tl.int32)
        for w0 in range(0, b, BLOCK_W):
            offs = w0 + offs_w
            in_w = offs < b
            tile = tl.load(
                adj_ptr + row_base[:, None] + offs[None, :], mask=row_ok[:, None] & in_w[None, :], other=0
            )  # (32, BLOCK_W)
            # written by earlier steps of this program: volatile, so it is read after the barrier
            reps = tl.load(rep_ptr + offs, mask=in_w, other=0, volatile=True)
            hit = tl.maximum(hit, tl.max(((tile & reps[None, :]) != 0).to(tl.int32), axis=1))
        # padding rows (>= N) count as claimed so they never become representatives
        taken = tl.sum(tl.where((hit != 0) | ~row_ok, one << offs_t, 0), axis=0)  # 32-bit mask
        # 2. walk the block: row t is a representative iff not taken and not similar to a rep s < t
        reps_b = tl.zeros((), dtype=tl.int32)
        for t in tl.static_range(32):
            q = b * 32 + t
            diag = tl.load(adj_ptr + q.to(tl.int64) * W + b, mask=q < N, other=0)  # bits s < t
            bit = one << t
            free = ((taken & bit) == 0) & ((diag & reps_b) == 0)
            reps_b = tl.where(free, reps_b | bit, reps_b)
        # 3. publish for the next blocks' step 1
        tl.store(rep_ptr + b, reps_b)
        tl.debug_barrier()


def greedy_representatives(
    adj: torch.Tensor, n: int, *, block_w: int | None = None, num_warps: int = 4
) -> torch.Tensor:
    """Representative bitset from :func:`batchsieve.kernels.similarity.similarity_bits`'s adjacency.

    ``adj`` is int32 (n, ceil(n / 32)). Returns int32 (ceil(n / 32),): bit ``p % 32`` of word
    ``p // 32`` is set iff position ``p`` is a representative (bits at positions >= n are clear).
    Launches a single program (see the module docstring for where that stops scaling).
    """
    w = triton.cdiv(n, 32)
    if adj.dtype != torch.int32 or adj.shape != (n, w):
        raise ValueError(f"adj must be int32 of shape ({n}, {w}), got {adj.dtype} {tuple(adj.shape)}")
    rep_bits = torch.empty((w,), dtype=torch.int32, device=adj.device)
    if n == 0:
        return rep_bits
    block_w = block_w or min(128, max(16, triton.next_power_of_2(w)))
    _greedy_kernel[(1,)](adj, rep_bits, n, w, BLOCK_W=block_w, num_warps=num_warps)
    return rep_bits
