"""Similarity and representative-selection kernels (Triton on CUDA, torch reference on CPU).

Given the embeddings of one batch, decide which requests are duplicates and which request answers
for each group: :func:`assign_representatives` returns ``rep`` with ``rep[i] == i`` for a
representative and ``rep[i] == j`` when request ``i`` is answered by representative ``j``.

Semantics
---------
Inputs: embeddings ``E`` (N x D; fp32, fp16 or bf16; any D), a cosine ``threshold`` in [-1, 1],
optional integer ``scope_ids``, an optional processing ``order`` (a permutation of ``range(N)``, e.g.
priority then arrival; default index order) and an optional bool ``allowed`` mask.

*Similarity.* Requests ``i != j`` are similar iff

* ``cos(E[i], E[j]) = dot(E[i], E[j]) / (|E[i]| |E[j]|) >= threshold``, computed from the values as
  stored in E's dtype (fp16/bf16 are upcast exactly) with fp32 accumulation, against the threshold
  rounded to fp32. Ties at the threshold count as similar. The CPU and GPU paths sum in different
  orders, so a pair within ~1e-6 of the threshold may land on different sides on the two paths;
  anything further away agrees. Rounding E to fp16/bf16 moves cosines by ~1e-3/~1e-2, and pairs that
  close to the threshold may flip relative to the fp32 embeddings: the stored values decide;
* ``scope_ids[i] == scope_ids[j]`` (requests in different scopes are never similar);
* both are ``allowed`` and both have a usable norm: a row whose fp32 squared norm is zero, NaN or
  inf (a zero vector, NaN/inf entries, overflow) is similar to nothing. NaN embeddings are therefore
  *not* an error: such a request stays alone, exactly like ``allowed[i] == False``.

*Greedy representatives.* Walk the requests in ``order``; the first request not yet assigned becomes
a representative, and every later unassigned request similar to it is assigned to it. Equivalently:
a request is a representative iff no earlier representative is similar to it, and a duplicate
belongs to the *earliest* representative similar to it. Consequences the engine relies on:

* every duplicate is similar to its own representative, and comes after it in ``order``;
* ``rep[rep[i]] == rep[i]``; representatives are pairwise dissimilar; scopes are never mixed;
* a request that is not allowed (or has a NaN/zero embedding) is its own representative and claims
  nobody.

*Not chain removal.* SemDeDup-style removal drops every item that has a near-duplicate ranked before
it, whether or not that near-duplicate is itself kept: along a chain ``A ~ B ~ C`` only ``A``
survives, so ``C`` is answered by ``A`` although ``cos(A, C) < threshold`` (one survivor per
connected chain). Here similarity is not made transitive: ``A ~ B`` and ``B ~ C`` put ``C`` with
``A`` only if ``C ~ A``; otherwise, once ``B`` has joined ``A``, ``C`` starts its own group. The
engine answers a duplicate with its representative's response, so it needs this guarantee: every
answer comes from a request similar to the caller's own, never from a neighbour of a neighbour. The
price is sometimes a few more groups (less deduplication) than chain removal would give.

Bad input: E not a 2-D tensor of a supported dtype, D = 0, D != ``expected_dim``, a threshold that is
NaN or outside [-1, 1], vectors of the wrong length or dtype, an ``order`` that is not a permutation
raise ``TypeError``/``ValueError``. N = 0 returns an empty int32 tensor.

Implementation
--------------
On CUDA tensors, three Triton kernels: :mod:`.similarity` (tiled, lower-triangular tiles only,
thresholded into a bit-packed adjacency: no N x N float matrix in global memory), :mod:`.greedy` (one
program walking 32 positions per step; the part that stops scaling first, estimated from ~4-8k
requests) and :mod:`.assign` (parallel: each request's earliest similar representative, mapped back
through ``order``). On any other device, :mod:`.reference`: one torch matmul, then numpy and a walk over
duplicates only on the host; it is the production path on CPU. Triton is imported only for CUDA
tensors (or ``backend="triton"``), so the CPU path runs where Triton is absent. The Triton launchers
``similarity_bits``, ``greedy_representatives`` and ``assign_to_representatives`` are reachable as
attributes of this package (imported on first access).
"""

from __future__ import annotations

from typing import Any

from .dispatch import SUPPORTED_DTYPES, assign_representatives, representatives, similarity_graph
from .reference import (
    assign_representatives_reference,
    greedy_reference,
    pack_adjacency,
    similarity_reference,
    unpack_adjacency,
)

__all__ = [
    "SUPPORTED_DTYPES",
    "assign_representatives",
    "assign_representatives_reference",
    "greedy_reference",
    "pack_adjacency",
    "representatives",
    "similarity_graph",
    "similarity_reference",
    "unpack_adjacency",
]

# Triton launchers, imported on first attribute access (importing them imports triton).
_LAZY = {
    "similarity_bits": ".similarity",
    "greedy_representatives": ".greedy",
    "assign_to_representatives": ".assign",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
