"""Torch reference of the similarity and greedy kernels; also the production path on CPU.

Nothing here imports Triton. :func:`similarity_reference` is plain torch on any device (it is what the
Triton similarity kernel is tested against). The greedy walk and the fused CPU path
(:func:`assign_representatives_reference`) are tuned for CPU batches of 1 to ~1024 requests, where
per-op overhead and, on a shared machine, every multi-threaded region count as much as arithmetic:

* one matmul (torch/MKL: the only multi-threaded step; large N computes row chunks of the lower
  triangle only), then the threshold, the scope mask and the search below in numpy, single-threaded
  and allocation-light. A parallel region costs a scheduler quantum when the cores are busy (the
  encoder runs on the same cores in production), so the CPU path keeps to one, like the baseline;
* the walk is inherently sequential (it is a lexicographically-first maximal independent set), so it
  is not vectorised; it is made cheap instead. ``first[p]``, the earliest position similar to ``p``, is
  one vectorised ``argmax``. Positions with no earlier similar position are representatives, with no
  Python work. For the others, in order: if ``first[p]`` is a representative, it is ``p``'s (it is the
  earliest similar position of all); otherwise ``p``'s earlier similar positions, as one Python int
  bitset (from a ``packbits`` of the adjacency), are ANDed with the non-representatives' complement
  and the lowest set bit is the answer. So the Python loop runs over duplicates only, O(1) big-int
  operations each; batches without duplicates skip it entirely.

Conventions shared with the Triton kernels (see :mod:`batchsieve.kernels` for the semantics):

* **Position space.** Requests are renumbered by processing order: position ``p`` is request
  ``order[p]`` (the identity when ``order`` is None).
* **Adjacency.** ``adj[p, q]`` is True iff ``q < p`` and requests ``order[p]`` and ``order[q]`` are
  similar. Only the strictly lower triangle is kept: the greedy walk only ever asks "is ``p`` similar
  to an *earlier* representative?". The Triton kernel stores the same matrix bit-packed (see
  :func:`pack_adjacency` / :func:`unpack_adjacency`).

The functions here assume validated input (see :func:`batchsieve.kernels.assign_representatives`).
"""

from __future__ import annotations

import struct

import numpy as np
import torch

__all__ = [
    "assign_representatives_reference",
    "greedy_reference",
    "pack_adjacency",
    "similarity_reference",
    "unpack_adjacency",
]

_NAN = float("nan")


def _row_chunk(n: int) -> int:
    """Rows per matmul: all of them up to N = 1024, else 512-row chunks of the lower triangle.

    Chunks skip the upper triangle (256-row chunks take ~60% of the FLOPs at N = 1024 and are ~1.5x
    faster on an idle 2-core x86), but every matmul is a multi-threaded region, and on a busy machine
    each region waits for a descheduled thread: measured there (load ~6 on 2 cores, N = 1024), one
    matmul took a median 25-31 ms against 57-93 ms for four. One region up to 1024, where the CPU
    path runs; above, chunks also bound the fp32 scratch to 512 x N."""
    return n if n <= 1024 else 512


def _fp32_threshold(threshold: float) -> float:
    """``threshold`` rounded to fp32, as the kernels compare it (exactly representable afterwards)."""
    return struct.unpack("f", struct.pack("f", threshold))[0]


# ------------------------------------------------------------------------------ torch, any device


def _usable_norms(ss: torch.Tensor, allowed: torch.Tensor | None) -> torch.Tensor:
    """Norms from fp32 squared norms; NaN for rows that may match nothing.

    A row matches nothing when it is not ``allowed`` or its squared norm is 0, NaN or inf (a zero
    vector, a NaN/inf entry, an overflow). Dividing by a NaN norm makes every comparison with that row
    False, so such rows drop out of the adjacency without an N x N mask.
    """
    norm = ss.sqrt()
    norm = torch.where((ss > 0) & (ss <= torch.finfo(torch.float32).max), norm, _NAN)
    return norm if allowed is None else torch.where(allowed, norm, _NAN)


def similarity_reference(
    E: torch.Tensor,
    threshold: float,
    scope_ids: torch.Tensor | None = None,
    order: torch.Tensor | None = None,
    allowed: torch.Tensor | None = None,
) -> torch.Tensor:
    """Strictly lower-triangular similarity adjacency in position space, as an N x N bool tensor.

    ``adj[p, q]`` (``q < p``) is True iff ``cos(E[order[p]], E[order[q]]) >= threshold`` in fp32 (the
    threshold rounded to fp32), both requests are allowed and have a finite non-zero norm, and they
    share a scope id. Plain torch, on E's device.
    """
    x = E.float()
    if order is not None:
        x = x.index_select(0, order)
        scope_ids = None if scope_ids is None else scope_ids.index_select(0, order)
        allowed = None if allowed is None else allowed.index_select(0, order)
    x = x / _usable_norms(torch.linalg.vecdot(x, x), allowed)[:, None]
    t = _fp32_threshold(threshold)
    n = x.shape[0]
    chunk = _row_chunk(n)
    adj = torch.zeros((n, n), dtype=torch.bool, device=x.device)
    for c0 in range(0, n, chunk):  # row chunks of the lower block-triangle; the rest stays False
        c1 = min(c0 + chunk, n)
        torch.ge(x[c0:c1] @ x[:c1].T, t, out=adj[c0:c1, :c1])
    if scope_ids is not None:
        adj &= scope_ids[:, None] == scope_ids[None, :]
    return adj.tril_(-1)


# ------------------------------------------------------------------------------- greedy (host)


def _walk(adj: np.ndarray) -> list[int]:
    """Greedy walk over a position-space adjacency (numpy bool, N x N; only ``adj[p, :p]`` is read).

    Returns the representative position of each position (``p`` itself for a representative).
    """
    n = adj.shape[0]
    rep_pos = list(range(n))
    if n < 2:
        return rep_pos
    idx = np.arange(n)
    first = adj.argmax(1)  # earliest similar position, or 0 when none (argmax of all-False)
    dups = np.flatnonzero((first < idx) & adj[idx, first])  # positions with an earlier similar one
    if not dups.size:
        return rep_pos
    first_l = first.tolist()
    is_rep = bytearray(b"\x01") * n  # queried only for positions already settled
    non_reps = 0  # bitset of settled non-representatives
    packed = None
    for p in dups.tolist():
        f = first_l[p]
        if not is_rep[f]:  # the earliest similar position was claimed: look at all of them
            if packed is None:
                packed = np.packbits(adj, axis=1, bitorder="little")
            row = int.from_bytes(packed[p, : p // 8 + 1].tobytes(), "little") & ((1 << p) - 1)
            hit = row & ~non_reps  # earlier similar representatives
            if not hit:
                continue  # p is a representative
            f = (hit & -hit).bit_length() - 1  # the earliest one
        rep_pos[p] = f
        is_rep[p] = 0
        non_reps |= 1 << p
    return rep_pos


def _to_requests(rep_pos: list[int], order: torch.Tensor | None, device: torch.device) -> torch.Tensor:
    """Representative positions -> int32 ``rep`` indexed by request, on ``device``."""
    if order is None:
        return torch.tensor(rep_pos, dtype=torch.int32, device=device)
    o = order.cpu().numpy()
    rep = np.empty(len(rep_pos), dtype=np.int32)
    rep[o] = o[np.asarray(rep_pos, dtype=np.int64)]
    return torch.from_numpy(rep).to(device)


def greedy_reference(adj: torch.Tensor, order: torch.Tensor | None = None) -> torch.Tensor:
    """Greedy representatives from a position-space adjacency (only its strictly lower triangle is read).

    Returns ``rep`` (int32, length N, indexed by request, on ``adj``'s device): ``rep[i] == i`` for a
    representative, otherwise the representative that claimed request ``i``, i.e. the earliest
    representative (in position order) similar to it. The walk runs on the host.
    """
    return _to_requests(_walk(adj.cpu().numpy()), order, adj.device)


# ------------------------------------------------------------------------------------ CPU path


def _host_adjacency(
    E: torch.Tensor,
    threshold: float,
    scope_ids: torch.Tensor | None,
    order: torch.Tensor | None,
    allowed: torch.Tensor | None,
) -> np.ndarray:
    """Position-space similarity as a numpy bool array; only the strictly lower triangle is meaningful.

    One matmul (torch); normalisation, threshold and scope in numpy (single-threaded). Small N divides
    the N x N products by the norms (cheaper than a normalised copy of E, which also costs the matmul a
    fresh operand); large N normalises the rows first.
    """
    x = E.float()
    if order is not None:
        x = x.index_select(0, order)
        scope_ids = None if scope_ids is None else scope_ids.index_select(0, order)
        allowed = None if allowed is None else allowed.index_select(0, order)
    x = x.detach()
    xn = x.numpy()
    n = xn.shape[0]
    t = _fp32_threshold(threshold)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        ss = np.einsum("ij,ij->i", xn, xn)
        ok = (ss > 0) & (ss <= np.finfo(np.float32).max)
        if allowed is not None:
            ok &= allowed.numpy()
        norm = np.where(ok, np.sqrt(ss), np.float32(_NAN)).astype(np.float32)
        chunk = _row_chunk(n)
        if n <= 256:  # one matmul, then divide the (small) N x N products
            cos = (x @ x.T).numpy()
            cos /= norm[:, None]
            cos /= norm[None, :]
            adj = cos >= t
        else:  # normalise the rows first: N x D is less than N x N here
            xt = torch.from_numpy(xn / norm[:, None])
            if chunk >= n:
                adj = (xt @ xt.T).numpy() >= t
            else:
                adj = np.zeros((n, n), dtype=bool)
                for c0 in range(0, n, chunk):  # row chunks of the lower block-triangle
                    c1 = min(c0 + chunk, n)
                    np.greater_equal((xt[c0:c1] @ xt[:c1].T).numpy(), t, out=adj[c0:c1, :c1])
    if scope_ids is not None:
        s = scope_ids.numpy()
        adj &= s[:, None] == s[None, :]
    return adj


def assign_representatives_reference(
    E: torch.Tensor,
    threshold: float,
    scope_ids: torch.Tensor | None = None,
    order: torch.Tensor | None = None,
    allowed: torch.Tensor | None = None,
) -> torch.Tensor:
    """Greedy representatives of a batch (the whole reference path, unvalidated), on E's device.

    On CPU: one matmul, then numpy and the walk on the host. On another device: the similarity in torch
    there, then the walk on the host (this is the "torch reference" of the GPU benchmark).
    """
    if E.device.type == "cpu":
        adj = _host_adjacency(E, threshold, scope_ids, order, allowed)
    else:
        adj = similarity_reference(E, threshold, scope_ids, order, allowed).cpu().numpy()
    return _to_requests(_walk(adj), order, E.device)


# ------------------------------------------------------------------------------- bit packing


def unpack_adjacency(words: torch.Tensor, n: int) -> torch.Tensor:
    """Unpack the Triton kernel's bit-packed adjacency (int32, N x ceil(N/32)) into an N x N bool tensor.

    Bit ``q % 32`` of word ``words[p, q // 32]`` is ``adj[p, q]``. Words the kernel never writes
    (entirely above the diagonal) are ignored, so the result is strictly lower-triangular.
    """
    shifts = torch.arange(32, dtype=torch.int32, device=words.device)
    bits = (words[:, :, None] >> shifts) & 1  # (N, W, 32): arithmetic shift, bit 31 still & 1
    full = bits.reshape(words.shape[0], -1)[:, :n].bool()
    return full & torch.ones((n, n), dtype=torch.bool, device=words.device).tril_(-1)


def pack_adjacency(adj: torch.Tensor) -> torch.Tensor:
    """Pack the strictly lower triangle of an N x N bool adjacency into the kernels' int32
    (N, ceil(N/32)) layout (the inverse of :func:`unpack_adjacency`)."""
    n = adj.shape[0]
    w = -(-n // 32)
    padded = torch.zeros((n, w * 32), dtype=torch.int64, device=adj.device)
    padded[:, :n] = adj.tril(-1)
    shifts = torch.arange(32, dtype=torch.int64, device=adj.device)
    words = (padded.view(n, w, 32) << shifts).sum(2)  # 0 .. 2**32 - 1
    return torch.where(words >= 2**31, words - 2**32, words).to(torch.int32)
