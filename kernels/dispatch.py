"""The device-dispatching entries: input validation, then Triton on CUDA tensors, the reference elsewhere.

* :func:`assign_representatives`: embeddings -> representatives in one call (the ``embedding`` strategy);
* :func:`similarity_graph` then :func:`representatives`: the same in two steps, so that a caller (the
  ``hybrid`` and ``custom`` strategies) can veto candidate pairs of the adjacency in between.

These are the only way the engine reaches the kernels: no engine module imports a ``*_reference``
function. The semantics are documented in :mod:`batchsieve.kernels`. Triton is imported lazily, only
when a CUDA tensor (or ``backend="triton"``) asks for it, so the CPU path works where Triton is absent.
"""

from __future__ import annotations

import math
import numbers
import os
from collections.abc import Sequence
from typing import Literal

import torch

from .reference import (
    _fp32_threshold,
    _to_requests,
    _walk,
    assign_representatives_reference,
    pack_adjacency,
    similarity_reference,
    unpack_adjacency,
)

__all__ = ["SUPPORTED_DTYPES", "assign_representatives", "representatives", "similarity_graph"]

SUPPORTED_DTYPES = (torch.float32, torch.float16, torch.bfloat16)

Backend = Literal["auto", "triton", "reference"]
VectorLike = torch.Tensor | Sequence[int] | Sequence[bool]


def _check_embeddings(E: object, expected_dim: int | None) -> torch.Tensor:
    if not isinstance(E, torch.Tensor):
        raise TypeError(f"E must be a torch.Tensor, got {type(E).__name__}")
    if E.ndim != 2:
        raise ValueError(f"E must be a 2-D (N, D) tensor, got shape {tuple(E.shape)}")
    if E.dtype not in SUPPORTED_DTYPES:
        raise TypeError(f"E must be float32, float16 or bfloat16, got {E.dtype}")
    n, d = E.shape
    if expected_dim is not None and d != expected_dim:
        raise ValueError(f"E has D = {d} but the encoder's dimension is {expected_dim}")
    if d == 0 and n > 0:
        raise ValueError(f"E has D = 0: cosine similarity is undefined (shape {tuple(E.shape)})")
    return E


def _check_threshold(threshold: object) -> float:
    if isinstance(threshold, torch.Tensor) and threshold.numel() == 1 and not threshold.is_complex():
        threshold = threshold.item()
    if isinstance(threshold, bool) or not isinstance(threshold, numbers.Real):
        raise TypeError(f"threshold must be a real number, got {type(threshold).__name__}")
    t = float(threshold)
    if math.isnan(t) or not -1.0 <= t <= 1.0:
        raise ValueError(f"threshold must be a cosine in [-1, 1], got {t}")
    return _fp32_threshold(t)  # compared in fp32 on both paths


def _as_vector(name: str, value: VectorLike, n: int, kind: str) -> torch.Tensor:
    if isinstance(value, torch.Tensor):
        t = value
    else:
        t = torch.as_tensor(value)
        if t.numel() == 0:  # an empty list has no dtype to speak of
            t = t.to(torch.bool if kind == "bool" else torch.int64)
    if t.ndim != 1 or t.shape[0] != n:
        raise ValueError(f"{name} must be a 1-D sequence of length N = {n}, got shape {tuple(t.shape)}")
    if kind == "bool":
        if t.dtype != torch.bool:
            raise TypeError(f"{name} must be bool, got {t.dtype}")
    elif t.dtype == torch.bool or t.is_floating_point() or t.is_complex():
        raise TypeError(f"{name} must be an integer tensor, got {t.dtype}")
    return t


def _check_backend(backend: object) -> None:
    if backend not in ("auto", "triton", "reference"):
        raise ValueError(f"backend must be 'auto', 'triton' or 'reference', got {backend!r}")


def _use_triton(device: torch.device, backend: Backend) -> bool:
    """Whether the Triton kernels serve a tensor on ``device`` (the single place the device is decided)."""
    if backend == "reference" or (backend == "auto" and device.type != "cuda"):
        return False
    if device.type != "cuda" and os.environ.get("TRITON_INTERPRET") != "1":
        raise RuntimeError(
            f"the Triton path needs CUDA tensors (E is on {device}); set TRITON_INTERPRET=1 before "
            "importing triton to run it on CPU through the interpreter"
        )
    return True


def _check_inputs(E: object, threshold: object, scope_ids: VectorLike | None, allowed: VectorLike | None,
                  expected_dim: int | None, backend: object
                  ) -> tuple[torch.Tensor, float, torch.Tensor | None, torch.Tensor | None]:
    """The checks every entry makes: embeddings, threshold, backend, and the optional per-request vectors
    (``allowed`` moved to E's device)."""
    E = _check_embeddings(E, expected_dim)
    t = _check_threshold(threshold)
    _check_backend(backend)
    n = E.shape[0]
    scope_t = None if scope_ids is None else _as_vector("scope_ids", scope_ids, n, "int")
    allowed_t = None if allowed is None else _as_vector("allowed", allowed, n, "bool").to(E.device)
    return E, t, scope_t, allowed_t


def _check_order(order: VectorLike, n: int) -> torch.Tensor:
    o = _as_vector("order", order, n, "int").long()
    # one sort; on a CUDA tensor this is the only host sync of the dispatch
    if n and not torch.equal(o.sort().values, torch.arange(n, device=o.device)):
        raise ValueError(f"order must be a permutation of range({n})")
    return o


def assign_representatives(
    E: torch.Tensor,
    threshold: float,
    scope_ids: VectorLike | None = None,
    order: VectorLike | None = None,
    allowed: VectorLike | None = None,
    *,
    expected_dim: int | None = None,
    backend: Backend = "auto",
) -> torch.Tensor:
    """Greedy duplicate representatives of one batch; see :mod:`batchsieve.kernels` for the semantics.

    Args:
        E: (N, D) embeddings, float32/float16/bfloat16, any strides. Normalised or not: the cosine
            divides by the norms.
        threshold: cosine threshold in [-1, 1], compared in fp32; ``cos >= threshold`` is similar.
        scope_ids: N integers; requests with different ids are never similar.
        order: a permutation of ``range(N)``: the processing order (e.g. priority, then arrival).
            Default: index order.
        allowed: N bools; a False request stays alone (its own representative, claims nobody).
        expected_dim: if given, ``E.shape[1]`` must equal it (catches an encoder/config mismatch).
        backend: ``"auto"`` (Triton for CUDA tensors, the reference otherwise), ``"triton"`` (CUDA,
            or CPU tensors under ``TRITON_INTERPRET=1``) or ``"reference"`` (any device).

    The optional vectors may be tensors on any device, lists or numpy arrays; they are moved to E's
    device.

    Returns:
        ``rep``: int32 (N,) on E's device; ``rep[i] == i`` for representatives, else the index of the
        representative request ``i`` is a duplicate of. N = 0 gives an empty tensor.

    Raises:
        TypeError: E not a tensor or of another dtype; non-integer ``scope_ids``/``order``;
            non-bool ``allowed``; a non-real threshold.
        ValueError: E not 2-D; D = 0 with N > 0; D != ``expected_dim``; threshold NaN or outside
            [-1, 1]; a vector of the wrong length; ``order`` not a permutation.
        RuntimeError: ``backend="triton"`` on a non-CUDA tensor without ``TRITON_INTERPRET=1``.
    """
    E, t, scope_t, allowed_t = _check_inputs(E, threshold, scope_ids, allowed, expected_dim, backend)
    n = E.shape[0]
    dev = E.device
    order_t = None if order is None else _check_order(order, n)
    if n == 0:
        return torch.empty((0,), dtype=torch.int32, device=dev)

    if not _use_triton(dev, backend):
        return assign_representatives_reference(
            E,
            t,
            None if scope_t is None else scope_t.to(dev),
            None if order_t is None else order_t.to(dev),
            allowed_t,
        )
    from .assign import assign_to_representatives
    from .greedy import greedy_representatives
    from .similarity import similarity_bits

    # the kernels' fixed index dtypes, converted once (on the host when the vectors came from there)
    order_k = None if order_t is None else order_t.to(dtype=torch.int32).to(dev)
    scope_k = None if scope_t is None else scope_t.to(dtype=torch.int64).to(dev)
    adj = similarity_bits(E, t, scope_ids=scope_k, order=order_k, allowed=allowed_t)
    rep_bits = greedy_representatives(adj, n)
    return assign_to_representatives(adj, rep_bits, n, order_k)


def similarity_graph(
    E: torch.Tensor,
    threshold: float,
    scope_ids: VectorLike | None = None,
    allowed: VectorLike | None = None,
    *,
    backend: Backend = "auto",
) -> torch.Tensor:
    """The thresholded similarity adjacency of one batch, in index order, for a caller that edits it.

    Returns an N x N bool tensor on E's device, strictly lower-triangular: ``adj[p, q]`` (``q < p``) is
    True iff requests ``p`` and ``q`` are similar (the semantics of :mod:`batchsieve.kernels`). On CUDA
    the Triton similarity kernel computes it bit-packed and it is unpacked on the device; elsewhere the
    torch reference. Validation as in :func:`assign_representatives`.
    """
    E, t, scope_t, allowed_t = _check_inputs(E, threshold, scope_ids, allowed, None, backend)
    n = E.shape[0]
    dev = E.device
    if n == 0:
        return torch.zeros((0, 0), dtype=torch.bool, device=dev)
    if not _use_triton(dev, backend):
        return similarity_reference(E, t, None if scope_t is None else scope_t.to(dev), None, allowed_t)
    from .similarity import similarity_bits

    scope_k = None if scope_t is None else scope_t.to(dtype=torch.int64).to(dev)
    return unpack_adjacency(similarity_bits(E, t, scope_ids=scope_k, allowed=allowed_t), n)


def representatives(adj: torch.Tensor, *, backend: Backend = "auto") -> torch.Tensor:
    """Greedy representatives of an index-order adjacency (e.g. :func:`similarity_graph`'s, after vetoes).

    Only the strictly lower triangle of the N x N bool ``adj`` is read. Returns ``rep`` (int32, length
    N, on ``adj``'s device) with the semantics of :mod:`batchsieve.kernels`: on CUDA the Triton greedy
    and assign kernels over the packed adjacency, elsewhere the host walk of the reference.
    """
    if not isinstance(adj, torch.Tensor):
        raise TypeError(f"adj must be a torch.Tensor, got {type(adj).__name__}")
    if adj.dtype != torch.bool or adj.ndim != 2 or adj.shape[0] != adj.shape[1]:
        raise ValueError(f"adj must be a square bool matrix, got {adj.dtype} of shape {tuple(adj.shape)}")
    _check_backend(backend)
    n = adj.shape[0]
    if n == 0:
        return torch.empty((0,), dtype=torch.int32, device=adj.device)
    if not _use_triton(adj.device, backend):
        return _to_requests(_walk(adj.cpu().numpy()), None, adj.device)
    from .assign import assign_to_representatives
    from .greedy import greedy_representatives

    words = pack_adjacency(adj)
    return assign_to_representatives(words, greedy_representatives(words, n), n, None)
