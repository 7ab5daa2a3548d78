"""Tests for batchsieve.kernels: the Triton kernels against the torch reference, and the semantics.

Without CUDA the Triton path runs on CPU tensors through Triton's interpreter (``TRITON_INTERPRET=1`` is
set by conftest before anything imports triton); with CUDA the same tests run the compiled kernels.
Exact-value tests use "dyadic" embeddings (16 entries of +-1/4, the rest 0): their norms are exactly 1
and every dot product is an exact multiple of 1/16 in every dtype and summation order, so thresholds
can sit exactly on pair values and the expected answer is computed exactly, by brute force.
"""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
import torch
from batchsieve.kernels import (
    assign_representatives,
    greedy_reference,
    pack_adjacency,
    similarity_reference,
    unpack_adjacency,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

CUDA = torch.cuda.is_available()
TRITON_DEVICE = torch.device("cuda" if CUDA else "cpu")
BACKENDS = ("reference", "triton")
DTYPES = (torch.float32, torch.float16, torch.bfloat16)
DIMS = (32, 300, 384, 768)


@pytest.fixture(autouse=True, scope="module")
def _single_threaded_blas():
    """The interpreter runs tl.dot through numpy: keep OpenBLAS single-threaded (its spinning threads
    make small matmuls ~100x slower on a busy 2-core machine)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # optional: it only makes the interpreter faster
        yield
        return
    with threadpool_limits(1, user_api="blas"):
        yield


# ----------------------------------------------------------------------------------------- helpers


def run(E, threshold, backend, scope_ids=None, order=None, allowed=None, **kw) -> torch.Tensor:
    """assign_representatives on ``backend`` (inputs moved to the Triton device), result on CPU."""
    if backend == "triton":
        dev = TRITON_DEVICE
        E = E.to(dev)
        scope_ids, order, allowed = (
            v.to(dev) if isinstance(v, torch.Tensor) else v for v in (scope_ids, order, allowed)
        )
    rep = assign_representatives(E, threshold, scope_ids, order, allowed, backend=backend, **kw)
    assert rep.dtype == torch.int32 and rep.device == E.device
    return rep.cpu()


def triton_adjacency(E, threshold, scope_ids=None, order=None, allowed=None, **kw) -> torch.Tensor:
    from batchsieve.kernels.similarity import similarity_bits

    dev = TRITON_DEVICE
    mv = [None if v is None else v.to(dev) for v in (scope_ids, order, allowed)]
    words = similarity_bits(E.to(dev), threshold, scope_ids=mv[0], order=mv[1], allowed=mv[2], **kw)
    return unpack_adjacency(words.cpu(), E.shape[0])


def triton_greedy(lower: torch.Tensor, order: torch.Tensor | None = None) -> torch.Tensor:
    """The greedy + assign kernels on a given position-space adjacency."""
    from batchsieve.kernels.assign import assign_to_representatives
    from batchsieve.kernels.greedy import greedy_representatives

    n = lower.shape[0]
    words = pack_adjacency(lower).to(TRITON_DEVICE)
    bits = greedy_representatives(words, n)
    o = None if order is None else order.to(TRITON_DEVICE)
    return assign_to_representatives(words, bits, n, o).cpu()


def brute_force(sim: list[list[bool]], order: list[int]) -> list[int]:
    """The greedy walk, literally: first unassigned request becomes a representative and takes every
    later unassigned request similar to it."""
    rep = [-1] * len(order)
    for k, i in enumerate(order):
        if rep[i] != -1:
            continue
        rep[i] = i
        for j in order[k + 1 :]:
            if rep[j] == -1 and sim[i][j]:
                rep[j] = i
    return rep


def exact_similarity(E, threshold, scope_ids=None, allowed=None) -> list[list[bool]]:
    """Similarity in float64 from the stored values (exact for dyadic data), request-indexed."""
    x = E.double()
    ss = (x * x).sum(1)
    ok = (ss > 0) & torch.isfinite(ss)
    if allowed is not None:
        ok &= allowed
    cos = (x @ x.T) / (ss.sqrt()[:, None] * ss.sqrt()[None, :])
    t32 = float(torch.tensor(threshold, dtype=torch.float32))
    sim = (cos >= t32) & ok[:, None] & ok[None, :]
    if scope_ids is not None:
        sim &= scope_ids[:, None] == scope_ids[None, :]
    sim.fill_diagonal_(False)
    return sim.tolist()


def expected(E, threshold, scope_ids=None, order=None, allowed=None) -> list[int]:
    o = list(range(E.shape[0])) if order is None else [int(v) for v in order]
    return brute_force(exact_similarity(E, threshold, scope_ids, allowed), o)


def dyadic(n: int, d: int = 32, *, bases: int = 3, flips: int = 2, seed: int = 0) -> torch.Tensor:
    """n rows of 16 entries +-1/4 (norm exactly 1): noisy sign-flipped copies of a few base rows."""
    rng = np.random.default_rng(seed)
    base = np.zeros((bases, d))
    for b in range(bases):
        base[b, rng.choice(d, 16, replace=False)] = rng.choice([-0.25, 0.25], 16)
    rows = base[rng.integers(0, bases, n)].copy()
    for r in rows:
        nz = np.flatnonzero(r)
        r[rng.choice(nz, rng.integers(0, flips + 1), replace=False)] *= -1
    return torch.tensor(rows, dtype=torch.float32)


def clustered(n: int, d: int, dtype: torch.dtype, *, seed: int = 0, noise: float = 0.6) -> torch.Tensor:
    """Gaussian clusters; members of a cluster have cos ~ 1 / (1 + noise^2) ~ 0.74 with spread."""
    g = torch.Generator().manual_seed(seed)
    centres = torch.randn(max(1, n // 3), d, generator=g)
    x = centres[torch.randint(0, centres.shape[0], (n,), generator=g)] + noise * torch.randn(n, d, generator=g)
    return (x * 0.37).to(dtype)  # not unit norm: the kernels must normalise


def safe_threshold(E: torch.Tensor, target: float, margin: float = 2e-5) -> float:
    """A threshold near ``target`` with no pair cosine (of the stored values) within ``margin``: both
    paths then see the same side for every pair whatever their summation order."""
    x = E.double()
    x = x / x.norm(dim=1, keepdim=True)
    n = x.shape[0]
    vals = (x @ x.T)[torch.ones(n, n, dtype=torch.bool).tril(-1)]
    vals = vals[torch.isfinite(vals)].sort().values
    if vals.numel() == 0 or (vals - target).abs().min() > margin:
        return target
    edges = torch.cat([torch.tensor([-1.0], dtype=torch.float64), vals, torch.tensor([1.0], dtype=torch.float64)])
    gaps = edges[1:] - edges[:-1]
    mids = (edges[1:] + edges[:-1]) / 2
    ok = gaps > 2 * margin
    best = (mids[ok] - target).abs().argmin()
    return float(mids[ok][best])


def extras(n: int, seed: int) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return {
        "scope_ids": torch.randint(0, 3, (n,), generator=g, dtype=torch.int32),
        "order": torch.randperm(n, generator=g),
        "allowed": torch.rand(n, generator=g) > 0.15,
    }


def random_graph(n: int, kind: str, seed: int) -> torch.Tensor:
    """A symmetric bool similarity graph without self loops."""
    g = torch.Generator().manual_seed(seed)
    if kind == "empty":
        s = torch.zeros(n, n, dtype=torch.bool)
    elif kind == "complete":
        s = torch.ones(n, n, dtype=torch.bool)
    elif kind == "chain":  # 0 ~ 1 ~ 2 ~ ...: the worst case for peeling, all reps alternate
        s = torch.zeros(n, n, dtype=torch.bool)
        i = torch.arange(max(n - 1, 0))
        s[i, i + 1] = True
    elif kind == "star":
        s = torch.zeros(n, n, dtype=torch.bool)
        s[n // 2, :] = True
    elif kind == "clusters":
        c = torch.randint(0, max(1, n // 6), (n,), generator=g)
        s = (c[:, None] == c[None, :]) & (torch.rand(n, n, generator=g) < 0.8)
    else:
        s = torch.rand(n, n, generator=g) < float(kind)
    s = s | s.T
    s.fill_diagonal_(False)
    return s


# ------------------------------------------------------------------- Triton kernels vs reference

SWEEP = [
    (n, dtype, DIMS[(i + j) % len(DIMS)])
    for i, n in enumerate((1, 2, 7, 31, 32, 33, 100, 257))
    for j, dtype in enumerate(DTYPES)
]


@pytest.mark.parametrize(("n", "dtype", "d"), SWEEP, ids=[f"N{n}-{str(t)[6:]}-D{d}" for n, t, d in SWEEP])
def test_triton_matches_reference(n, dtype, d):
    E = clustered(n, d, dtype, seed=n * 7 + d)
    for kw in ({}, extras(n, seed=n)):
        t = safe_threshold(E, 0.75)
        ref_adj = similarity_reference(E, t, **kw)
        assert torch.equal(triton_adjacency(E, t, **kw), ref_adj)
        ref = run(E, t, "reference", **kw)
        assert torch.equal(run(E, t, "triton", **kw), ref)
        assert ref.tolist() == expected(E, t, **kw)


@pytest.mark.parametrize("d", DIMS)
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda t: str(t)[6:])
def test_triton_matches_reference_every_dim_dtype(d, dtype):
    E = clustered(40, d, dtype, seed=d)
    kw = extras(40, seed=d)
    t = safe_threshold(E, 0.7)
    assert torch.equal(run(E, t, "triton", **kw), run(E, t, "reference", **kw))


@pytest.mark.parametrize(
    ("d", "dtype", "with_extras"),
    [
        (384, torch.float32, True),
        (768, torch.float16, False),
        (300, torch.bfloat16, True),
        (32, torch.float32, False),
    ],
    ids=["D384-fp32-extras", "D768-fp16", "D300-bf16-extras", "D32-fp32"],
)
def test_triton_matches_reference_n1000(d, dtype, with_extras):
    n = 1000
    E = clustered(n, d, dtype, seed=d)
    kw = extras(n, seed=3) if with_extras else {}
    t = safe_threshold(E, 0.75)
    ref = run(E, t, "reference", **kw)
    assert (ref != torch.arange(n)).sum() > 50  # real duplicate groups, not a trivial answer
    assert torch.equal(run(E, t, "triton", **kw), ref)


@pytest.mark.parametrize(("block", "block_k"), [(32, 16), (64, 32), (128, 64)])
def test_similarity_tile_configs(block, block_k):
    """Several tiles per row and column, several K steps with a ragged tail (D = 300)."""
    for n in (100, 257):
        E = clustered(n, 300, torch.float16, seed=n)
        kw = extras(n, seed=1)
        t = safe_threshold(E, 0.75)
        got = triton_adjacency(E, t, block=block, block_k=block_k, **kw)
        assert torch.equal(got, similarity_reference(E, t, **kw))


GRAPHS = [
    (n, kind)
    for n in (1, 31, 32, 33, 64, 65, 100, 257)
    for kind in ("empty", "complete", "chain", "star", "clusters", "0.02", "0.3")
]


@pytest.mark.parametrize(("n", "kind"), GRAPHS, ids=[f"N{n}-{k}" for n, k in GRAPHS])
def test_greedy_kernels_on_graphs(n, kind):
    """The walk and assign kernels alone, on exact graphs (bit 31 of every word, chains, stars)."""
    s = random_graph(n, kind, seed=n)
    for order in (None, torch.randperm(n, generator=torch.Generator().manual_seed(n))):
        o = list(range(n)) if order is None else order.tolist()
        lower = s[o][:, o].tril(-1)  # position space
        want = brute_force(s.tolist(), o)
        assert triton_greedy(lower, order).tolist() == want
        assert greedy_reference(lower, order).tolist() == want


@pytest.mark.parametrize("kind", ["clusters", "chain", "0.01"])
def test_greedy_kernels_multi_chunk(kind):
    """Narrow word chunks (16 words) so both kernels loop over several chunks per row at N = 1000."""
    from batchsieve.kernels.assign import assign_to_representatives
    from batchsieve.kernels.greedy import greedy_representatives

    n = 1000
    s = random_graph(n, kind, seed=7)
    if kind == "0.01":
        s |= random_graph(n, "chain", 0)
    order = torch.randperm(n, generator=torch.Generator().manual_seed(1))
    words = pack_adjacency(s[order][:, order]).to(TRITON_DEVICE)
    bits = greedy_representatives(words, n, block_w=16)
    rep = assign_to_representatives(words, bits, n, order.to(TRITON_DEVICE), block_w=16, block_r=32)
    assert rep.cpu().tolist() == brute_force(s.tolist(), order.tolist())


def test_greedy_reference_paths():
    """The reference walk (first-neighbour shortcut and bitset fallback) on bigger graphs."""
    for n in (63, 64, 300, 700):
        for kind in ("chain", "clusters", "0.01", "0.2", "complete"):
            s = random_graph(n, kind, seed=n + len(kind))
            # a chain with random chords and clusters sharing members exercise the recursion
            if kind == "0.01":
                s |= random_graph(n, "chain", 0)
            order = torch.randperm(n, generator=torch.Generator().manual_seed(n))
            lower = s[order][:, order]
            assert greedy_reference(lower, order).tolist() == brute_force(s.tolist(), order.tolist())


def test_reference_cpu_path_above_1024_rows():
    """The CPU path's chunked matmul (N > 1024) agrees with the plain torch similarity + walk."""
    n = 1300
    E = clustered(n, 64, torch.float32, seed=2)
    kw = extras(n, seed=2)
    t = safe_threshold(E, 0.75)
    want = greedy_reference(similarity_reference(E, t, **kw), kw["order"])
    assert (want != torch.arange(n)).sum() > 50
    assert torch.equal(assign_representatives(E, t, **kw), want)


# ----------------------------------------------------------------------------- exact semantics


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda t: str(t)[6:])
def test_threshold_exactly_on_pair_values(backend, dtype):
    E = dyadic(48, 32, bases=3, flips=3, seed=5).to(dtype)
    values = sorted({round(v * 16) / 16 for v in (E.double() @ E.double().T).flatten().tolist()})
    for t in values:
        if -1 <= t <= 1:
            assert run(E, t, backend).tolist() == expected(E, t), t


@pytest.mark.parametrize("backend", BACKENDS)
def test_ties_count_as_similar_and_threshold_is_fp32(backend):
    a = torch.zeros(2, 16)
    a[0, :16] = 0.25
    a[1, :12] = 0.25
    a[1, 12:] = -0.25  # dot = (12 - 4) / 16 = 0.5 exactly
    assert run(a, 0.5, backend).tolist() == [0, 0]  # tie: similar
    above = float(np.nextafter(np.float32(0.5), np.float32(1)))
    assert run(a, above, backend).tolist() == [0, 1]  # one fp32 ulp above: not similar
    assert run(a, 0.5 + 1e-12, backend).tolist() == [0, 0]  # rounds to 0.5 in fp32


def _crossing_pair(dtype: torch.dtype, t: float, up: bool) -> torch.Tensor:
    """Two vectors whose fp32 cosine and ``dtype``-rounded cosine straddle ``t`` (by > 1e-6 each)."""
    g = torch.Generator().manual_seed(int(up) + 10 * DTYPES.index(dtype))
    for _ in range(20000):
        a, perp = torch.randn(2, 4, generator=g)
        a = a / a.norm()
        perp = perp - (perp @ a) * a
        c = t + (torch.rand((), generator=g).item() - 0.5) * 0.02
        pair = torch.stack([a, c * a + (1 - c * c) ** 0.5 * perp / perp.norm()])

        def cos(x):
            x = x.double()
            return float((x[0] @ x[1]) / (x[0].norm() * x[1].norm()))

        c32, cx = cos(pair), cos(pair.to(dtype))
        if min(abs(c32 - t), abs(cx - t)) > 1e-6 and (c32 < t <= cx if up else cx < t <= c32):
            return pair
    raise AssertionError("no crossing pair found")


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", (torch.float16, torch.bfloat16), ids=lambda t: str(t)[6:])
@pytest.mark.parametrize("up", (False, True), ids=("rounds-below", "rounds-above"))
def test_half_precision_rounding_moves_pair_across_threshold(backend, dtype, up):
    """The stored values decide: rounding E to fp16/bf16 can move a pair across the threshold."""
    t = 0.9
    pair = _crossing_pair(dtype, t, up)
    assert run(pair, t, backend).tolist() == ([0, 1] if up else [0, 0])
    assert run(pair.to(dtype), t, backend).tolist() == ([0, 0] if up else [0, 1])


@pytest.mark.parametrize(
    ("dtype", "tol"), [(torch.float16, 3e-3), (torch.bfloat16, 2.5e-2)], ids=("float16", "bfloat16")
)
def test_half_precision_agrees_with_fp32_outside_tolerance(dtype, tol):
    """Against the fp32 embeddings, fp16/bf16 only flip pairs within ``tol`` of the threshold."""
    E = clustered(200, 384, torch.float32, seed=11)
    t = 0.74
    x = E.double() / E.double().norm(dim=1, keepdim=True)
    cos = (x @ x.T).tril(-1)
    clear = (cos - t).abs() > tol
    want = similarity_reference(E, t)
    got = triton_adjacency(E.to(dtype), t)
    assert torch.equal(got[clear], want[clear])
    assert clear.sum() > 0.9 * cos.numel()


@pytest.mark.parametrize("backend", BACKENDS)
def test_all_identical_and_all_distinct(backend):
    n = 70
    same = torch.ones(n, 384)
    assert run(same, 0.99, backend).tolist() == [0] * n
    order = torch.randperm(n, generator=torch.Generator().manual_seed(0))
    assert run(same, 0.99, backend, order=order).tolist() == [int(order[0])] * n
    scope = torch.arange(n) % 3
    assert run(same, 0.99, backend, scope_ids=scope).tolist() == [i % 3 for i in range(n)]
    distinct = torch.eye(n, 384)  # orthogonal: cos = 0
    assert run(distinct, 0.5, backend).tolist() == list(range(n))
    assert run(distinct, 0.0, backend).tolist() == [0] * n  # cos 0 >= 0: a tie, similar
    assert run(distinct, -1.0, backend).tolist() == [0] * n


@pytest.mark.parametrize("backend", BACKENDS)
def test_no_chains(backend):
    """A ~ B and B ~ C but not A ~ C: C is not put with A (SemDeDup-style removal would)."""
    a = torch.tensor([[1.0, 0.0], [0.8, 0.6], [0.28, 0.96]])  # cos(A,B) = 0.8, cos(B,C) = 0.8, cos(A,C) = 0.28
    assert run(a, 0.75, backend).tolist() == [0, 0, 2]
    assert run(a, 0.75, backend, order=torch.tensor([1, 0, 2])).tolist() == [1, 1, 1]  # B first: star
    assert run(a, 0.75, backend, order=torch.tensor([2, 0, 1])).tolist() == [0, 2, 2]


@pytest.mark.parametrize("backend", BACKENDS)
def test_scopes_orders_and_allowed(backend):
    E = dyadic(60, 32, bases=2, flips=1, seed=3)
    scope = torch.tensor([i % 4 for i in range(60)], dtype=torch.int64)
    allowed = torch.tensor([i % 7 != 0 for i in range(60)])
    order = torch.argsort(torch.tensor([(i * 37) % 60 for i in range(60)]))
    for kw in (
        {"scope_ids": scope},
        {"order": order},
        {"allowed": allowed},
        {"scope_ids": scope, "order": order, "allowed": allowed},
    ):
        rep = run(E, 0.7, backend, **kw).tolist()
        assert rep == expected(E, 0.7, **kw)
        if "allowed" in kw:
            blocked = (~allowed).nonzero().flatten().tolist()
            assert all(rep[i] == i for i in blocked)
            assert not any(r in blocked and r != i for i, r in enumerate(rep))
        if "scope_ids" in kw:
            assert torch.equal(scope[rep], scope)


@pytest.mark.parametrize("backend", BACKENDS)
def test_inputs_as_lists_numpy_and_noncontiguous(backend):
    E = dyadic(40, 64, seed=1)
    want = run(E, 0.6, backend, scope_ids=[i % 2 for i in range(40)], order=list(range(39, -1, -1)))
    assert want.tolist() == expected(E, 0.6, torch.tensor([i % 2 for i in range(40)]), list(range(39, -1, -1)))
    got = run(E, np.float64(0.6), backend, scope_ids=np.arange(40) % 2, order=np.arange(39, -1, -1))
    assert torch.equal(got, want)
    wide = torch.zeros(40, 128)
    wide[:, ::2] = E  # column stride 2
    assert torch.equal(
        run(wide[:, ::2], 0.6, backend, scope_ids=[i % 2 for i in range(40)], order=list(range(39, -1, -1))), want
    )
    assert torch.equal(run(E.T.contiguous().T, torch.tensor(0.6), backend), run(E, 0.6, backend))


@pytest.mark.filterwarnings("ignore::RuntimeWarning:triton.runtime.interpreter")  # numpy inf/NaN arithmetic
@pytest.mark.parametrize("backend", BACKENDS)
def test_nan_inf_and_zero_rows_stay_alone(backend):
    E = torch.ones(6, 40)
    E[1, 3] = float("nan")
    E[2, 0] = float("inf")
    E[3] = 0.0
    E[4] = 3e19  # finite, but its squared norm overflows fp32
    assert run(E, 0.5, backend).tolist() == [0, 1, 2, 3, 4, 0]
    assert run(E, -1.0, backend).tolist() == [0, 1, 2, 3, 4, 0]
    assert run(E.half(), 0.5, backend).tolist() == [0, 1, 2, 3, 4, 0]  # 3e19 -> inf in fp16


@pytest.mark.parametrize("backend", BACKENDS)
def test_empty_batch(backend):
    for shape in ((0, 384), (0, 0)):
        rep = run(torch.empty(shape), 0.9, backend)
        assert rep.shape == (0,) and rep.dtype == torch.int32
    no_allowed = torch.ones(0, dtype=torch.bool)
    assert run(torch.empty(0, 8), 0.9, backend, order=[], scope_ids=[], allowed=no_allowed).numel() == 0


@pytest.mark.parametrize("backend", BACKENDS)
def test_single_request(backend):
    assert run(torch.randn(1, 300), 0.9, backend).tolist() == [0]


# ---------------------------------------------------------------------------------- bad input


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    ("args", "kwargs", "exc", "match"),
    [
        ((torch.randn(8), 0.5), {}, ValueError, r"2-D \(N, D\) tensor, got shape \(8,\)"),
        ((torch.randn(2, 3, 4), 0.5), {}, ValueError, r"2-D \(N, D\) tensor, got shape \(2, 3, 4\)"),
        ((np.ones((3, 4), dtype=np.float32), 0.5), {}, TypeError, "must be a torch.Tensor"),
        ((torch.randn(3, 4, dtype=torch.float64), 0.5), {}, TypeError, "float32, float16 or bfloat16"),
        ((torch.ones(3, 4, dtype=torch.int64), 0.5), {}, TypeError, "float32, float16 or bfloat16"),
        ((torch.randn(3, 0), 0.5), {}, ValueError, "D = 0"),
        ((torch.randn(3, 384), 0.5), {"expected_dim": 768}, ValueError, "D = 384 but the encoder's dimension is 768"),
        ((torch.randn(3, 4), 1.5), {}, ValueError, r"threshold must be a cosine in \[-1, 1\], got 1.5"),
        ((torch.randn(3, 4), -1.01), {}, ValueError, r"in \[-1, 1\], got -1.01"),
        ((torch.randn(3, 4), float("nan")), {}, ValueError, r"in \[-1, 1\], got nan"),
        ((torch.randn(3, 4), True), {}, TypeError, "threshold must be a real number"),
        ((torch.randn(3, 4), "0.5"), {}, TypeError, "threshold must be a real number"),
        ((torch.randn(3, 4), 0.5, [0, 1]), {}, ValueError, "scope_ids must be a 1-D sequence of length N = 3"),
        ((torch.randn(3, 4), 0.5, [0.0, 1.0, 2.0]), {}, TypeError, "scope_ids must be an integer tensor"),
        ((torch.randn(3, 4), 0.5, None, [0, 1, 1]), {}, ValueError, r"order must be a permutation of range\(3\)"),
        ((torch.randn(3, 4), 0.5, None, [0, 1, 3]), {}, ValueError, r"order must be a permutation of range\(3\)"),
        ((torch.randn(3, 4), 0.5, None, [-1, 0, 1]), {}, ValueError, r"order must be a permutation of range\(3\)"),
        ((torch.randn(3, 4), 0.5, None, [[0, 1, 2]]), {}, ValueError, "order must be a 1-D sequence of length N = 3"),
        ((torch.randn(3, 4), 0.5, None, None, [1, 0, 1]), {}, TypeError, "allowed must be bool"),
        (
            (torch.randn(3, 4), 0.5, None, None, [True]),
            {},
            ValueError,
            "allowed must be a 1-D sequence of length N = 3",
        ),
    ],
    ids=[
        "rank1",
        "rank3",
        "numpy",
        "float64",
        "int",
        "D0",
        "dim-mismatch",
        "t>1",
        "t<-1",
        "t-nan",
        "t-bool",
        "t-str",
        "scope-len",
        "scope-float",
        "order-dup",
        "order-range",
        "order-neg",
        "order-2d",
        "allowed-int",
        "allowed-len",
    ],
)
def test_bad_input(backend, args, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        assign_representatives(*args, backend=backend, **kwargs)


def test_bad_backend_and_triton_without_interpreter(monkeypatch):
    with pytest.raises(ValueError, match="backend must be"):
        assign_representatives(torch.randn(3, 4), 0.5, backend="numpy")
    monkeypatch.delenv("TRITON_INTERPRET", raising=False)
    with pytest.raises(RuntimeError, match="the Triton path needs CUDA tensors"):
        assign_representatives(torch.randn(3, 4), 0.5, backend="triton")


# ------------------------------------------------------------------------------------ properties


@st.composite
def batches(draw, max_n: int):
    n = draw(st.integers(1, max_n))
    d = draw(st.sampled_from((16, 32)))
    E = dyadic(n, d, bases=draw(st.integers(1, 4)), flips=draw(st.integers(0, 3)), seed=draw(st.integers(0, 2**31)))
    kw = {}
    if draw(st.booleans()):
        kw["scope_ids"] = torch.tensor(draw(st.lists(st.integers(0, 2), min_size=n, max_size=n)))
    if draw(st.booleans()):
        kw["order"] = torch.tensor(draw(st.permutations(range(n))))
    if draw(st.booleans()):
        kw["allowed"] = torch.tensor(draw(st.lists(st.booleans(), min_size=n, max_size=n)), dtype=torch.bool)
    t = draw(st.integers(-16, 16)) / 16
    return E.to(draw(st.sampled_from(DTYPES))), t, kw


def check_properties(E, t, kw, rep: list[int]) -> None:
    n = E.shape[0]
    order = kw["order"].tolist() if "order" in kw else list(range(n))
    pos = {r: p for p, r in enumerate(order)}
    sim = exact_similarity(E, t, kw.get("scope_ids"), kw.get("allowed"))
    assert rep == brute_force(sim, order)
    reps = [i for i in range(n) if rep[i] == i]
    for i in range(n):
        r = rep[i]
        assert rep[r] == r  # a representative represents itself
        if r != i:
            assert sim[i][r] and pos[r] < pos[i]  # similar to its own representative, which came first
            # ... and that is the earliest representative similar to it
            assert all(not sim[i][q] for q in reps if pos[q] < pos[r])
    assert not any(sim[a][b] for a in reps for b in reps if a != b)  # representatives pairwise dissimilar
    if "scope_ids" in kw:
        s = kw["scope_ids"].tolist()
        assert all(s[i] == s[rep[i]] for i in range(n))
    if "allowed" in kw:
        al = kw["allowed"].tolist()
        assert all(rep[i] == i for i in range(n) if not al[i])
        assert all(al[rep[i]] for i in range(n) if rep[i] != i)


@settings(
    max_examples=150, deadline=None, derandomize=True, database=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(batches(max_n=80))
def test_property_reference(batch):
    E, t, kw = batch
    check_properties(E, t, kw, run(E, t, "reference", **kw).tolist())


@settings(
    max_examples=100, deadline=None, derandomize=True, database=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(batches(max_n=40))
def test_property_triton(batch):
    E, t, kw = batch
    check_properties(E, t, kw, run(E, t, "triton", **kw).tolist())


# ------------------------------------------------------------------------------ packaging, CUDA


def test_cpu_path_does_not_import_triton():
    code = (
        "import sys, torch\n"
        "import batchsieve.kernels as k\n"
        "assert k.assign_representatives(torch.ones(3, 8), 0.9).tolist() == [0, 0, 0]\n"
        "assert 'triton' not in sys.modules, 'triton was imported'\n"
    )
    env = {key: v for key, v in os.environ.items() if key != "TRITON_INTERPRET"}
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr


def test_pack_unpack_roundtrip():
    for n in (1, 31, 32, 33, 70):
        s = torch.rand(n, n, generator=torch.Generator().manual_seed(n)) < 0.5
        words = pack_adjacency(s)
        assert words.shape == (n, -(-n // 32)) and words.dtype == torch.int32
        assert torch.equal(unpack_adjacency(words, n), s.tril(-1))


@pytest.mark.skipif(not CUDA, reason="needs a CUDA device")
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda t: str(t)[6:])
def test_cuda_dispatch_large_batch(dtype):
    """On CUDA, 'auto' takes the Triton path and agrees with the CPU reference at N = 4096."""
    n = 4096
    E = clustered(n, 384, dtype, seed=0)
    kw = extras(n, seed=0)
    t = safe_threshold(E, 0.75)
    rep = assign_representatives(E.cuda(), t, **{k: v.cuda() for k, v in kw.items()})
    assert rep.is_cuda and rep.dtype == torch.int32
    assert torch.equal(rep.cpu(), assign_representatives(E, t, **kw))


def test_gpu_benchmark_script_dry_run(tmp_path):
    """benchmarks/kernels.py --gpu runs on the GPU machine only; its code runs here on CPU tensors."""
    from pathlib import Path

    script = Path(__file__).resolve().parents[2] / "benchmarks" / "kernels.py"
    out = tmp_path / "kernels_gpu.json"
    proc = subprocess.run(
        [sys.executable, str(script), "--gpu", "--dry-run", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    import json

    result = json.loads(out.read_text())
    assert result["mode"] == "gpu-dry-run" and all(r["agree"] for r in result["rows"])
