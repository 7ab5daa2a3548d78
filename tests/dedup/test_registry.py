"""The strategy registry: one list of names, a factory that builds each and rejects unknown names."""

from __future__ import annotations

import typing

import pytest
from batchsieve import DEDUP_STRATEGIES, BatchConfig, BatchProcessor, make_strategy
from batchsieve.dedup import (
    STRATEGIES,
    CustomStrategy,
    DedupStrategyName,
    EmbeddingStrategy,
    ExactStrategy,
    HybridStrategy,
)


class _Encoder:
    def encode(self, texts):
        raise AssertionError("not called")


def test_one_list_of_names():
    assert DEDUP_STRATEGIES == ("exact", "embedding", "hybrid", "custom")
    assert tuple(STRATEGIES) == DEDUP_STRATEGIES == typing.get_args(DedupStrategyName)
    assert {name: cls.name for name, cls in STRATEGIES.items()} == {name: name for name in DEDUP_STRATEGIES}


@pytest.mark.parametrize(("name", "cls"), [("embedding", EmbeddingStrategy), ("hybrid", HybridStrategy)])
def test_factory_builds_each_semantic_strategy_with_the_configured_encoder(name, cls):
    encoder = _Encoder()
    strategy = make_strategy(name, BatchConfig(dedup_strategy=name, encoder=encoder))
    assert type(strategy) is cls
    assert strategy.encoder is encoder


def test_factory_builds_the_exact_strategy_without_an_encoder():
    strategy = make_strategy("exact", BatchConfig(dedup_strategy="exact", encoder=_Encoder()))
    assert type(strategy) is ExactStrategy
    assert not hasattr(strategy, "encoder") and strategy.blocking is False


def test_factory_builds_custom_from_the_configured_function():
    def same(a, b):
        return 1.0

    strategy = make_strategy("custom", BatchConfig(dedup_function=same))
    assert isinstance(strategy, CustomStrategy) and strategy.function is same and not strategy.vectorised


@pytest.mark.parametrize("name", ["fuzzy", "Exact", "", 3, None])
def test_factory_rejects_unknown_names(name):
    with pytest.raises(ValueError, match=r"unknown dedup_strategy .*; choose one of exact, embedding, hybrid, custom"):
        make_strategy(name, BatchConfig())


def test_custom_without_a_function_is_refused():
    with pytest.raises(ValueError, match="dedup_strategy='custom' needs dedup_function"):
        make_strategy("custom", BatchConfig())


def test_processor_uses_the_registry_default():
    assert BatchProcessor(lambda rs: rs).strategy.name == "hybrid"
    assert BatchProcessor(lambda rs: rs, dedup_function=lambda a, b: 0.0).strategy.name == "custom"
