"""What the strategies return besides the representatives: the exact error for a broken encoder's output,
the time a step took (what the adaptive policy learns from), no merge counter when nothing merged, the
explain verdict at the threshold itself, and the factory's refusal of a name that is not a string."""

from __future__ import annotations

import time

import pytest
import torch
from batchsieve.dedup import DedupItem, make_strategy
from batchsieve.dedup.custom import CustomStrategy
from batchsieve.dedup.embedding import EmbeddingStrategy
from batchsieve.dedup.hybrid import HybridStrategy

from .test_strategies import FakeResult


def items(*texts: str) -> list[DedupItem]:
    return [DedupItem(t, t.lower(), None, (), True) for t in texts]


class Returns:
    """An encoder returning a fixed object (after ``delay_s`` of work)."""

    def __init__(self, result, delay_s: float = 0.0) -> None:
        self.result = result
        self.delay_s = delay_s

    def encode(self, texts):
        if self.delay_s:
            time.sleep(self.delay_s)
        return self.result(texts) if callable(self.result) else self.result


def vectors(*rows: list[float]) -> FakeResult:
    return FakeResult(torch.tensor(rows), [False] * len(rows), [False] * len(rows))


@pytest.mark.parametrize(("result", "message"), [
    (FakeResult([[1.0, 0.0], [0.0, 1.0]], [False] * 2, [False] * 2),  # a list, not a tensor
     "the encoder returned embeddings of shape list for 2 texts"),
    (vectors([1.0, 0.0]), "the encoder returned embeddings of shape (1, 2) for 2 texts"),
    (vectors([1.0, 0.0], [0.0, 1.0], [1.0, 1.0]), "the encoder returned embeddings of shape (3, 2) for 2 texts"),
    (FakeResult(torch.ones(2, 2, 2), [False] * 2, [False] * 2),
     "the encoder returned embeddings of shape (2, 2, 2) for 2 texts"),
    (vectors([1.0, float("nan")], [0.0, 1.0]), "the encoder returned NaN or infinite embeddings"),
    (vectors([1.0, 0.0], [float("inf"), 1.0]), "the encoder returned NaN or infinite embeddings"),
])
@pytest.mark.parametrize("strategy", [EmbeddingStrategy, HybridStrategy])
def test_a_broken_encoder_output_raises_its_exact_error(strategy, result, message):
    with pytest.raises(ValueError) as info:
        strategy(Returns(result)).assign(items("a b", "c d"), 0.9)
    assert str(info.value) == message


@pytest.mark.parametrize("strategy", [EmbeddingStrategy, HybridStrategy])
def test_a_semantic_step_reports_the_time_it_took(strategy):
    encoder = Returns(lambda texts: vectors(*[[1.0, float(i)] for i in range(len(texts))]), delay_s=0.02)
    assignment = strategy(encoder).assign(items("one question", "another question"), 0.9)
    assert 0.02 <= assignment.seconds < 30.0


def test_a_custom_step_reports_the_time_it_took_and_no_counter_when_nothing_merged():
    def never(a: str, b: str) -> float:
        time.sleep(0.01)
        return 0.0

    assignment = CustomStrategy(never).assign(items("a", "b"), 0.5)
    assert assignment.rep == [0, 1] and assignment.merges == {}
    assert 0.01 <= assignment.seconds < 30.0


def test_the_embedding_explain_says_merge_at_exactly_the_threshold():
    explained = EmbeddingStrategy(Returns(vectors([1.0, 0.0], [1.0, 0.0]))).explain("a", "b", 1.0)
    assert explained.endswith("MERGE: cosine 1.000 >= threshold 1.000 (embedding strategy)")
    assert "NO MERGE" not in explained


@pytest.mark.parametrize("name", [["exact"], ("exact",), None, 3])
def test_the_factory_refuses_a_name_that_is_not_a_string_with_the_choices(name):
    with pytest.raises(ValueError) as info:
        make_strategy(name)  # type: ignore[arg-type]
    assert str(info.value) == f"unknown dedup_strategy {name!r}; choose one of exact, embedding, hybrid, custom"


def test_each_strategy_s_default_threshold_and_an_explicit_one_winning():
    from batchsieve import BatchConfig
    from batchsieve.dedup.thresholds import default_threshold

    assert [BatchConfig(dedup_strategy=s).dedup_threshold for s in ("hybrid", "embedding", "exact")] == [
        0.865, 0.985, 0.98]
    assert BatchConfig().dedup_threshold == 0.865  # the default strategy is hybrid
    assert (default_threshold(None), default_threshold("custom")) == (0.98, 0.98)
    assert BatchConfig(dedup_strategy="hybrid", dedup_threshold=0.98).dedup_threshold == 0.98


def test_merge_cosines_are_the_cosines_of_each_merged_row_to_its_representative():
    from batchsieve.dedup._encoder import merge_cosines

    embeddings = torch.tensor([[3.0, 4.0], [6.0, 8.0], [1.0, 0.0], [0.0, 2.0], [4.0, 3.0]])  # not unit length
    assert merge_cosines(embeddings, [0, 0, 2, 2, 0]) == {1: pytest.approx(1.0), 3: 0.0, 4: pytest.approx(0.96)}
    assert merge_cosines(embeddings, [0, 1, 2, 3, 4]) == {}


class AlwaysOk:
    """A verifier that accepts every candidate pair."""

    def facts(self, text):
        return text

    def check(self, a, b, **flags):
        return type("Verdict", (), {"ok": True})()


@pytest.mark.parametrize("make", [EmbeddingStrategy, lambda enc: HybridStrategy(enc, verifier=AlwaysOk())])
def test_a_semantic_merge_reports_its_cosine(make):
    assignment = make(Returns(vectors([3.0, 4.0], [4.0, 3.0], [-1.0, 0.0]))).assign(items("a b", "c d", "e f"), 0.9)
    assert assignment.rep == [0, 0, 2]
    assert assignment.cosines == {1: pytest.approx(0.96)}


def test_a_semantic_merge_never_crosses_scopes():
    scoped = [DedupItem("a b", "a b", "tenant-1", (), True), DedupItem("c d", "c d", "tenant-2", (), True)]
    assignment = HybridStrategy(Returns(vectors([1.0, 0.0], [1.0, 0.0])), verifier=AlwaysOk()).assign(scoped, 0.9)
    assert assignment.rep == [0, 1]


@pytest.mark.parametrize("strategy", [EmbeddingStrategy, HybridStrategy])
def test_an_encoder_that_does_not_time_itself_is_timed_by_the_strategy(strategy):
    import types

    result = types.SimpleNamespace(embeddings=torch.tensor([[1.0, 0.0], [0.0, 1.0]]), truncated=[False] * 2,
                                   has_unknown=[False] * 2)  # no encode_seconds
    before = time.perf_counter()
    step = strategy(Returns(result, delay_s=0.01))
    assignment = step.assign(items("a b", "c d"), 0.9)
    elapsed = time.perf_counter() - before
    assert 0.01 <= assignment.seconds <= elapsed
    assert 10.0 <= step.stats()["encoder_ms_last"] == step.stats()["encoder_ms_total"] <= elapsed * 1e3


@pytest.mark.parametrize("strategy", [EmbeddingStrategy, HybridStrategy])
def test_an_encoder_result_without_embeddings_is_a_clear_error(strategy):
    with pytest.raises(ValueError) as info:
        strategy(Returns(object())).assign(items("a b", "c d"), 0.9)
    assert str(info.value) == "the encoder returned embeddings of shape NoneType for 2 texts"
