"""Triton kernel: thresholded, scope-masked cosine similarity into a bit-packed adjacency.

Only lower-triangular tiles are launched (a cosine matrix is symmetric and the greedy walk only asks
about earlier positions); each tile accumulates ``E_m @ E_n.T`` in fp32 over D together with the rows'
squared norms, thresholds the cosine and packs 32 columns per int32 word. No N x N float matrix ever
reaches global memory.

Adjacency layout: ``adj[p, w]`` (int32, N x W with W = ceil(N / 32)); bit ``q % 32`` of ``adj[p, q // 32]``
is set iff ``q < p`` and positions ``p`` and ``q`` are similar. Bit-packing rather than int8: 8x less
memory and traffic (8 MiB instead of 64 MiB at N = 8192), and the greedy walk consumes the matrix as
bitsets anyway (one AND + test per 32 candidates). Words wholly above the diagonal are never written;
readers must not look at them (they never need to).
"""

from __future__ import annotations

import torch
import triton
import triton.language as tl

__all__ = ["similarity_bits"]

_DTYPES = (torch.float32, torch.float16, torch.bfloat16)
_FLT_MAX = tl.constexpr(3.4028234663852886e38)  # largest finite fp32


# N, W and the optional-input flags are not specialised on: one compiled variant serves every batch
# size and mix of inputs (a first-use compile costs ~1 s of latency in the serving path).
@triton.jit(do_not_specialize=["N", "W", "has_order", "has_scope", "has_allowed"])
def _similarity_kernel(
    e_ptr,  # (N, D) embeddings, any strides
    order_ptr,  # (N,) int32 position -> request index (read iff has_order)
    scope_ptr,  # (N,) int64 scope per request (read iff has_scope)
    allowed_ptr,  # (N,) uint8 per request, 0 = must stay alone (read iff has_allowed)
    adj_ptr,  # (N, W) int32 output, row-major
    N,
    D,
    W,
    stride_en,
    stride_ed,
    threshold,  # fp32
    has_order,  # runtime flags: cheap uniform branches
    has_scope,
    has_allowed,
    DOT_FP32: tl.constexpr,  # upcast operands and use an exact fp32 dot (fp32 input, or bf16 in the interpreter)
    BLOCK: tl.constexpr,  # tile side, multiple of 32
    BLOCK_K: tl.constexpr,
):
    # Lower-triangular tile (m, n), n <= m, enumerated row by row: pid = m (m + 1) / 2 + n.
    pid = tl.program_id(0)
    m = ((tl.sqrt(8.0 * pid.to(tl.float32) + 1.0) - 1.0) * 0.5).to(tl.int32)
    m = tl.where(m * (m + 1) // 2 > pid, m - 1, m)  # fp32 sqrt can be one off: fix up both ways
    m = tl.where((m + 1) * (m + 2) // 2 <= pid, m + 1, m)
    n = pid - m * (m + 1) // 2

    offs_m = m * BLOCK + tl.arange(0, BLOCK)  # positions p (rows)
    offs_n = n * BLOCK + tl.arange(0, BLOCK)  # positions q (columns)
    mask_m = offs_m < N
    mask_n = offs_n < N
    req_m = offs_m.to(tl.int64)  # request index of each position
    req_n = offs_n.to(tl.int64)
    if has_order:
        req_m = tl.load(order_ptr + offs_m, mask=mask_m, other=0).to(tl.int64)
        req_n = tl.load(order_ptr + offs_n, mask=mask_n, other=0).to(tl.int64)

    offs_k = tl.arange(0, BLOCK_K)
    a_ptrs = e_ptr + req_m[:, None] * stride_en + offs_k[None, :] * stride_ed  # (BLOCK, BLOCK_K)
    b_ptrs = e_ptr + offs_k[:, None] * stride_ed + req_n[None, :] * stride_en  # (BLOCK_K, BLOCK): E_n^T
    acc = tl.zeros((BLOCK, BLOCK), dtype=tl.float32)  # dot(e_p, e_q)
    ss_m = tl.zeros((BLOCK,), dtype=tl.float32)  # |e_p|^2
    ss_n = tl.zeros((BLOCK,), dtype=tl.float32)  # |e_q|^2
    for k in range(0, D, BLOCK_K):
        mask_k = (k + offs_k) < D
        a = tl.load(a_ptrs, mask=mask_m[:, None] & mask_k[None, :], other=0.0)
        b = tl.load(b_ptrs, mask=mask_k[:, None] & mask_n[None, :], other=0.0)
        af = a.to(tl.float32)
        bf = b.to(tl.float32)
        # exact fp32 dot (no TF32); fp16/bf16 products are exact in the fp32 accumulator anyway
        acc = tl.dot(af, bf, acc, input_precision="ieee") if DOT_FP32 else tl.dot(a, b, acc)
        ss_m += tl.sum(af * af, axis=1)
        ss_n += tl.sum(bf * bf, axis=0)
        a_ptrs += BLOCK_K * stride_ed
        b_ptrs += BLOCK_K * stride_ed

    # cos = dot / (|e_p| |e_q|), correctly rounded steps. A row with a zero, NaN or inf squared norm
    # matches nothing, like a row that is not allowed (its norm is replaced by 1 only to keep the
    # division quiet; the result is masked out).
    ok_m = mask_m & (ss_m > 0.0) & (ss_m <= _FLT_MAX)
    ok_n = mask_n & (ss_n > 0.0) & (ss_n <= _FLT_MAX)
    nrm_m = tl.where(ok_m, tl.sqrt_rn(ss_m), 1.0)
    nrm_n = tl.where(ok_n, tl.sqrt_rn(ss_n), 1.0)
    cos = tl.div_rn(acc, nrm_m[:, None] * nrm_n[None, :])
    if has_allowed:
        ok_m = ok_m & (tl.load(allowed_ptr + req_m, mask=mask_m, other=0) != 0)
        ok_n = ok_n & (tl.load(allowed_ptr + req_n, mask=mask_n, other=0) != 0)
    sim = (cos >= threshold) & ok_m[:, None] & ok_n[None, :] & (offs_n[None, :] < offs_m[:, None])
    if has_scope:
        scope_m = tl.load(scope_ptr + req_m, mask=mask_m, other=0)
        scope_n = tl.load(scope_ptr + req_n, mask=mask_n, other=0)
        sim = sim & (scope_m[:, None] == scope_n[None, :])

    # Pack: column j of the tile is bit j % 32 of word j // 32 (distinct powers of two: sum == or).
    bits = sim.to(tl.int32) << (tl.arange(0, BLOCK) % 32)[None, :]
    words = tl.sum(tl.reshape(bits, (BLOCK, BLOCK // 32, 32)), axis=2)  # (BLOCK, BLOCK // 32)
    offs_w = n * (BLOCK // 32) + tl.arange(0, BLOCK // 32)
    w_ptrs = adj_ptr + offs_m.to(tl.int64)[:, None] * W + offs_w[None, :]
    tl.store(w_ptrs, words, mask=mask_m[:, None] & (offs_w < W)[None, :])


_DUMMY: dict[tuple[torch.device, torch.dtype], torch.Tensor] = {}


def _as(v: torch.Tensor | None, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """``v`` as ``dtype`` (bool is viewed as uint8), or a cached 1-element stand-in when absent (never
    read: its flag is 0). Fixed pointer dtypes keep the number of compiled variants down."""
    if v is None:
        key = (device, dtype)
        if key not in _DUMMY:
            _DUMMY[key] = torch.zeros(1, dtype=dtype, device=device)
        return _DUMMY[key]
    if v.dtype == torch.bool and dtype == torch.uint8:
        return v.view(torch.uint8)
    return v.to(dtype)


def _default_config(E: torch.Tensor) -> tuple[int, int, int, int]:
    """(BLOCK, BLOCK_K, num_warps, num_stages) for this input."""
    n, d = E.shape
    if E.device.type != "cuda":  # interpreter: few programs with large numpy ops are what is fast
        return min(256, max(32, triton.next_power_of_2(n))), min(256, max(16, triton.next_power_of_2(d))), 4, 1
    if E.dtype == torch.float32:  # exact fp32 FMA dot, no tensor cores
        return 64, 32, 4, 3
    if n >= 4096:
        return 128, 64, 8, 3
    return 64, 64, 4, 3


def similarity_bits(
    E: torch.Tensor,
    threshold: float,
    *,
    scope_ids: torch.Tensor | None = None,
    order: torch.Tensor | None = None,
    allowed: torch.Tensor | None = None,
    block: int | None = None,
    block_k: int | None = None,
    num_warps: int | None = None,
    num_stages: int | None = None,
) -> torch.Tensor:
    """Bit-packed, strictly lower-triangular similarity adjacency in position space.

    ``E`` is (N, D) fp32/fp16/bf16 on a CUDA device (or CPU under ``TRITON_INTERPRET=1``);
    ``scope_ids`` (integer), ``order`` (integer permutation of ``range(N)``) and ``allowed`` (bool) are
    length-N tensors on the same device or None. Returns int32 (N, ceil(N / 32)); see the module
    docstring for the layout and :func:`batchsieve.kernels.reference.similarity_reference` for the
    same matrix unpacked. The threshold is compared in fp32. Values are not validated here beyond
    shapes (see :func:`batchsieve.kernels.assign_representatives`).
    """
    if E.ndim != 2 or E.dtype not in _DTYPES:
        raise ValueError(f"E must be a 2-D fp32/fp16/bf16 tensor, got {E.dtype} {tuple(E.shape)}")
    n, d = E.shape
    for name, v in (("scope_ids", scope_ids), ("order", order), ("allowed", allowed)):
        if v is not None and (v.shape != (n,) or v.device != E.device):
            raise ValueError(f"{name} must have shape ({n},) on {E.device}, got {tuple(v.shape)} on {v.device}")
    cfg = _default_config(E)
    block = block or cfg[0]
    block_k = block_k or cfg[1]
    if block % 32 or block_k < 16:
        raise ValueError(f"block must be a multiple of 32 and block_k >= 16, got {block}, {block_k}")
    w = triton.cdiv(n, 32)
    adj = torch.empty((n, w), dtype=torch.int32, device=E.device)
    if n == 0:
        return adj
    tiles = triton.cdiv(n, block)
    grid = (tiles * (tiles + 1) // 2,)
    interpreted = E.device.type != "cuda"
    _similarity_kernel[grid](
        E,
        _as(order, torch.int32, E.device),
        _as(scope_ids, torch.int64, E.device),
        _as(allowed, torch.uint8, E.device),
        adj,
        n,
        d,
        w,
        E.stride(0),
        E.stride(1),
        float(threshold),
        int(order is not None),
        int(scope_ids is not None),
        int(allowed is not None),
        # The interpreter's tl.dot mishandles bf16 (it multiplies the raw uint16 storage): upcast there.
        DOT_FP32=E.dtype == torch.float32 or (interpreted and E.dtype == torch.bfloat16),
        BLOCK=block,
        BLOCK_K=block_k,
        num_warps=num_warps or cfg[2],
        num_stages=num_stages or cfg[3],
    )
    return adj
