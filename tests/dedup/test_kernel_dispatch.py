"""The semantic strategies reach the kernels only through the device-dispatching entries of
``batchsieve.kernels``: on a CUDA tensor the hybrid and embedding strategies run the Triton launchers.

Without a GPU the dispatcher's device choice (``_use_triton``) is stubbed to answer "CUDA", and each Triton
launcher is wrapped to record its call before running for real through Triton's interpreter
(``TRITON_INTERPRET=1``, set by the conftest). With a GPU nothing is stubbed: the fake encoder's embeddings
are moved to the device and the compiled kernels run.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch
from batchsieve import BatchProcessor
from batchsieve.dedup import DedupItem, EmbeddingStrategy, HybridStrategy
from batchsieve.kernels import dispatch

from .test_strategies import encoder_with as _cpu_encoder_with

ENGINE = Path(__file__).resolve().parents[2] / "engine"


@pytest.fixture
def triton_calls(monkeypatch):
    """Make the dispatcher take the Triton path; record each launcher's calls (name, N)."""
    import batchsieve.kernels.assign as assign_mod
    import batchsieve.kernels.greedy as greedy_mod
    import batchsieve.kernels.similarity as similarity_mod

    calls: list[tuple[str, int]] = []

    def recording(module, name):
        real = getattr(module, name)

        def launcher(*args, **kwargs):
            n = args[1] if name != "similarity_bits" else args[0].shape[0]
            calls.append((name, n if isinstance(n, int) else args[0].shape[0]))
            return real(*args, **kwargs)

        monkeypatch.setattr(module, name, launcher)

    recording(similarity_mod, "similarity_bits")
    recording(greedy_mod, "greedy_representatives")
    recording(assign_mod, "assign_to_representatives")
    if not CUDA:
        monkeypatch.setattr(dispatch, "_use_triton", lambda device, backend: backend != "reference")
    return calls


CUDA = torch.cuda.is_available()


class _OnDevice:
    """The table-driven fake encoder, its embeddings on the GPU when there is one."""

    def __init__(self, inner) -> None:
        self.inner = inner

    def encode(self, texts):
        result = self.inner.encode(texts)
        if CUDA:
            result.embeddings = result.embeddings.cuda()
        return result


def encoder_with(pairs):
    return _OnDevice(_cpu_encoder_with(pairs))


def _items(texts: list[str]) -> list[DedupItem]:
    return [DedupItem(t, t.lower(), None, (), True, t) for t in texts]


PAIRS = {("how do i reset my password", "how can i reset my password"): 0.995,
         ("show my invoice", "don't show my invoice"): 0.995}
TEXTS = ["how do i reset my password", "show my invoice", "how can i reset my password", "don't show my invoice"]


def test_hybrid_on_cuda_runs_the_triton_kernels(triton_calls):
    strategy = HybridStrategy(encoder_with(PAIRS))
    assignment = strategy.assign(_items(TEXTS), 0.98)
    # the paraphrase merges; the negated pair is a candidate that the verifier vetoes
    assert assignment.rep == [0, 1, 0, 3]
    assert assignment.merges == {"embedding": 1, "vetoed": 1}
    assert [name for name, _ in triton_calls] == ["similarity_bits", "greedy_representatives",
                                                  "assign_to_representatives"]
    assert {n for _, n in triton_calls} == {4}


def test_hybrid_without_candidates_skips_the_greedy_kernels(triton_calls):
    strategy = HybridStrategy(encoder_with({}))
    assert strategy.assign(_items(["alpha question", "beta question", "gamma"]), 0.98).rep == [0, 1, 2]
    assert [name for name, _ in triton_calls] == ["similarity_bits"]


def test_embedding_on_cuda_runs_the_triton_kernels(triton_calls):
    strategy = EmbeddingStrategy(encoder_with(PAIRS))
    assert strategy.assign(_items(TEXTS), 0.98).rep == [0, 1, 0, 1]  # no verifier: the negation merges
    assert [name for name, _ in triton_calls] == ["similarity_bits", "greedy_representatives",
                                                  "assign_to_representatives"]


async def test_engine_default_strategy_reaches_the_triton_kernels(triton_calls):
    seen: list[list[str]] = []

    async def handler(requests):
        seen.append(list(requests))
        return [f"answer to {r}" for r in requests]

    batch = BatchProcessor(handler, encoder=encoder_with(PAIRS), window_ms=5, max_size=4)
    assert batch.strategy.name == "hybrid"
    async with batch:
        import asyncio

        results = await asyncio.gather(*[batch.process(t) for t in TEXTS])
    assert seen == [["how do i reset my password", "show my invoice", "don't show my invoice"]]
    assert results[2] == "answer to how do i reset my password"
    assert "similarity_bits" in [name for name, _ in triton_calls]


def test_no_engine_module_imports_a_reference_function():
    offenders = [str(path.relative_to(ENGINE)) for path in ENGINE.rglob("*.py")
                 if re.search(r"\w+_reference\b", path.read_text())]
    assert offenders == []


def test_reference_backend_is_honoured(triton_calls):
    adj = torch.tensor([[False, False], [True, False]])
    assert dispatch.representatives(adj, backend="reference").tolist() == [0, 0]
    assert triton_calls == []
