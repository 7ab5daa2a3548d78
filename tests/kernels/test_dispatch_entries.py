"""``similarity_graph`` and ``representatives``: the two-step device-dispatching entries the hybrid and custom
strategies use. Both backends (Triton through the interpreter on CPU, the reference) must agree with the
one-step ``assign_representatives`` and with each other, at awkward sizes and odd dimensions."""

from __future__ import annotations

import pytest
import torch
from batchsieve.kernels import assign_representatives, representatives, similarity_graph


def _batch(n: int, d: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    E = torch.randn(n, d, generator=g)
    half = n // 2
    E[half:] = E[: n - half] + 0.05 * torch.randn(n - half, d, generator=g)  # near-duplicates
    return E, torch.randint(0, 3, (n,), generator=g)


def _brute_force(E: torch.Tensor, t: float, scope: torch.Tensor) -> torch.Tensor:
    x = E / E.norm(dim=1, keepdim=True)
    adj = (x @ x.T >= t) & (scope[:, None] == scope[None, :])
    return adj.tril(-1)


@pytest.mark.parametrize("backend", ["reference", "triton"])
@pytest.mark.parametrize(("n", "d"), [(1, 5), (7, 3), (33, 17), (257, 9)])
def test_two_steps_equal_one_step(backend, n, d):
    E, scope = _batch(n, d, seed=n * 31 + d)
    adj = similarity_graph(E, 0.95, scope_ids=scope, backend=backend)
    assert adj.dtype == torch.bool and adj.shape == (n, n)
    assert not adj.triu().any()  # strictly lower-triangular
    rep = representatives(adj, backend=backend)
    assert rep.dtype == torch.int32
    assert torch.equal(rep, assign_representatives(E, 0.95, scope_ids=scope, backend="reference"))


@pytest.mark.parametrize("backend", ["reference", "triton"])
def test_graph_matches_brute_force_away_from_the_threshold(backend):
    E, scope = _batch(64, 11, seed=3)
    x = E / E.norm(dim=1, keepdim=True)
    near = ((x @ x.T) - 0.9).abs() < 1e-5
    got = similarity_graph(E, 0.9, scope_ids=scope, backend=backend)
    want = _brute_force(E, 0.9, scope)
    assert torch.equal(got & ~near, want & ~near)
    assert want.any() and (~want.tril(-1)).any()  # the case is not trivial


@pytest.mark.parametrize("backend", ["reference", "triton"])
def test_vetoed_pairs_change_the_groups(backend):
    E = torch.tensor([[1.0, 0.0], [1.0, 0.01], [1.0, 0.02]])
    adj = similarity_graph(E, 0.99, backend=backend)
    assert adj.tolist() == [[False, False, False], [True, False, False], [True, True, False]]
    assert representatives(adj, backend=backend).tolist() == [0, 0, 0]
    adj[2, 0] = False  # veto (2, 0): 2 may not take 0's answer, and 1 is not a representative
    assert representatives(adj, backend=backend).tolist() == [0, 0, 2]


def test_allowed_mask_and_empty_batch():
    E = torch.ones(3, 4)
    adj = similarity_graph(E, 0.5, allowed=[True, False, True])
    assert adj.tolist() == [[False, False, False], [False, False, False], [True, False, False]]
    assert similarity_graph(torch.ones(0, 4), 0.5).shape == (0, 0)
    assert representatives(torch.zeros(0, 0, dtype=torch.bool)).shape == (0,)


def test_bad_input_is_refused():
    with pytest.raises(TypeError, match=r"E must be a torch\.Tensor"):
        similarity_graph([[1.0]], 0.5)
    with pytest.raises(ValueError, match=r"threshold must be a cosine in \[-1, 1\]"):
        similarity_graph(torch.ones(2, 2), 1.5)
    with pytest.raises(ValueError, match="backend must be"):
        similarity_graph(torch.ones(2, 2), 0.5, backend="cuda")
    with pytest.raises(TypeError, match=r"adj must be a torch\.Tensor"):
        representatives([[False]])
    with pytest.raises(ValueError, match="adj must be a square bool matrix"):
        representatives(torch.zeros(2, 3, dtype=torch.bool))
    with pytest.raises(ValueError, match="adj must be a square bool matrix"):
        representatives(torch.zeros(2, 2))
