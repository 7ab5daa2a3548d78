"""Triton kernel: map every request to its representative, in parallel, once the walk is done.

A non-representative ``p`` was claimed by the first representative processed while it was still
unassigned and similar to it, i.e. by the *earliest* representative ``r < p`` with ``adj[p, r]`` set.
So each program takes BLOCK_R rows, ANDs their words with the representative bitset and finds the
lowest set bit; then maps positions back to request indices through ``order``.
"""

from __future__ import annotations

import torch
import triton
import triton.language as tl

__all__ = ["assign_to_representatives"]

_NONE = tl.constexpr(2**30)  # "no hit in this chunk" (larger than any word index)


@triton.jit
def _lowest_bit_index(x):
    # index of the lowest set bit of each int32 in x (x != 0): isolate it, then binary-search it with
    # the masks 0xFFFF0000, 0xFF00FF00, 0xF0F0F0F0, 0xCCCCCCCC, 0xAAAAAAAA written as int32
    low = x & (0 - x)
    idx = ((low & -65536) != 0).to(tl.int32) * 16
    idx += ((low & -16711936) != 0).to(tl.int32) * 8
    idx += ((low & -252645136) != 0).to(tl.int32) * 4
    idx += ((low & -858993460) != 0).to(tl.int32) * 2
    idx += ((low & -1431655766) != 0).to(tl.int32)
    return idx


@triton.jit(do_not_specialize=["N", "W", "has_order"])
def _assign_kernel(
    adj_ptr,  # (N, W) int32 bit-packed strictly lower-triangular adjacency
    rep_bits_ptr,  # (W,) int32 representative bitset
    order_ptr,  # (N,) int32 position -> request index (read iff has_order)
    out_ptr,  # (N,) int32 output, indexed by request
    N,
    W,
    has_order,
    BLOCK_R: tl.constexpr,  # rows per program, multiple of 32
    BLOCK_W: tl.constexpr,  # words per chunk
):
    pid = tl.program_id(0)
    rows = pid * BLOCK_R + tl.arange(0, BLOCK_R)
    row_ok = rows < N
    row_w = rows // 32  # the row's own word: words beyond it were never written
    own = (tl.load(rep_bits_ptr + row_w, mask=row_ok, other=0) >> (rows % 32)) & 1
    row_base = rows.to(tl.int64) * W
    best = tl.full((BLOCK_R,), -1, dtype=tl.int32)  # earliest representative found so far
    w_end = (tl.minimum(pid * BLOCK_R + BLOCK_R, N) - 1) // 32 + 1
    for w0 in range(0, w_end, BLOCK_W):
        offs = w0 + tl.arange(0, BLOCK_W)
        mask = row_ok[:, None] & (offs[None, :] <= row_w[:, None]) & (own == 0)[:, None]
        tile = tl.load(adj_ptr + row_base[:, None] + offs[None, :], mask=mask, other=0)  # (BLOCK_R, BLOCK_W)
        reps = tl.load(rep_bits_ptr + offs, mask=offs < W, other=0)
        hits = tile & reps[None, :]
        first_w = tl.min(tl.where(hits != 0, offs[None, :], _NONE), axis=1)  # first word with a hit
        word = tl.sum(tl.where(offs[None, :] == first_w[:, None], hits, 0), axis=1)
        cand = first_w * 32 + _lowest_bit_index(word)
        best = tl.where((best < 0) & (first_w < _NONE), cand, best)  # chunks ascend: first found wins
    rep_pos = tl.where(own != 0, rows, best)
    req = rows  # position -> request, then the representative's position -> its request
    rep_req = rep_pos
    if has_order:
        req = tl.load(order_ptr + rows, mask=row_ok, other=0)
        rep_req = tl.load(order_ptr + rep_pos, mask=row_ok, other=0)
    tl.store(out_ptr + req, rep_req, mask=row_ok)


def assign_to_representatives(
    adj: torch.Tensor,
    rep_bits: torch.Tensor,
    n: int,
    order: torch.Tensor | None = None,
    *,
    block_r: int = 64,
    block_w: int | None = None,
    num_warps: int = 4,
) -> torch.Tensor:
    """``rep`` (int32, length n, indexed by request) from the adjacency and the representative bitset.

    ``adj`` comes from :func:`batchsieve.kernels.similarity.similarity_bits`, ``rep_bits`` from
    :func:`batchsieve.kernels.greedy.greedy_representatives`, ``order`` is the same permutation given
    to the similarity kernel (or None). ``rep[i] == i`` for representatives.
    """
    w = triton.cdiv(n, 32)
    if adj.dtype != torch.int32 or adj.shape != (n, w) or rep_bits.shape != (w,):
        raise ValueError(
            f"adj must be int32 ({n}, {w}) and rep_bits ({w},), got {tuple(adj.shape)}, {tuple(rep_bits.shape)}"
        )
    if order is not None and order.shape != (n,):
        raise ValueError(f"order must have shape ({n},), got {tuple(order.shape)}")
    if block_r % 32:
        raise ValueError(f"block_r must be a multiple of 32, got {block_r}")
    out = torch.empty((n,), dtype=torch.int32, device=adj.device)
    if n == 0:
        return out
    block_w = block_w or min(64, max(16, triton.next_power_of_2(w)))
    _assign_kernel[(triton.cdiv(n, block_r),)](
        adj,
        rep_bits,
        out if order is None else order.to(torch.int32),  # out: an int32 stand-in, never read
        out,
        n,
        w,
        int(order is not None),
        BLOCK_R=block_r,
        BLOCK_W=block_w,
        num_warps=num_warps,
    )
    return out
