"""The dispatch policies by name: ``PolicyName`` and ``make_policy``."""

from __future__ import annotations

import pytest
from batchsieve import BatchConfig
from batchsieve.policies import AdaptiveWindowPolicy, DispatchPolicy, FixedWindowPolicy, PolicyName, make_policy


def test_fixed_by_default() -> None:
    policy = make_policy(BatchConfig(window_ms=30, min_size=3, max_size=16))
    assert type(policy) is FixedWindowPolicy
    assert isinstance(policy, DispatchPolicy)
    assert policy.window_s == pytest.approx(0.030)
    assert policy.min_size == 3
    assert policy.snapshot() == {"policy": "fixed", "window_ms": pytest.approx(30.0)}


def test_adaptive_when_the_config_asks_for_it() -> None:
    config = BatchConfig(adaptive=True, target_latency_ms=40, min_window_ms=10, max_window_ms=150, min_size=2,
                         max_size=16, max_wait_ms=120, max_concurrent_batches=3)
    policy = make_policy(config)
    assert type(policy) is AdaptiveWindowPolicy
    assert isinstance(policy, DispatchPolicy)
    assert policy.target_latency_s == pytest.approx(0.040)
    assert policy.min_window_s == pytest.approx(0.010)
    assert policy.max_window_s == pytest.approx(0.150)
    assert policy.max_wait_s == pytest.approx(0.120)
    assert (policy.min_size, policy.max_size, policy.max_concurrent_batches) == (2, 16, 3)
    assert policy.model.max_size == 16
    assert policy.snapshot()["max_window_ms"] == pytest.approx(120.0)  # capped by max_wait


def test_adaptive_default_max_wait_follows_the_max_window() -> None:
    policy = make_policy(BatchConfig(adaptive=True, max_window_ms=250))
    assert isinstance(policy, AdaptiveWindowPolicy)
    assert policy.max_wait_s == pytest.approx(0.250)


@pytest.mark.parametrize(("name", "kind"), [("fixed", FixedWindowPolicy), ("adaptive", AdaptiveWindowPolicy),
                                            (PolicyName.FIXED, FixedWindowPolicy),
                                            (PolicyName.ADAPTIVE, AdaptiveWindowPolicy)])
@pytest.mark.parametrize("adaptive", [False, True])
def test_an_explicit_name_wins_over_the_config(name, kind, adaptive: bool) -> None:
    assert type(make_policy(BatchConfig(adaptive=adaptive), name)) is kind


def test_unknown_name_names_the_choices() -> None:
    with pytest.raises(ValueError, match=r"unknown dispatch policy 'nope'; choose one of fixed, adaptive"):
        make_policy(BatchConfig(), "nope")


def test_policy_names() -> None:
    assert PolicyName("fixed") is PolicyName.FIXED
    assert PolicyName("adaptive") is PolicyName.ADAPTIVE
    assert PolicyName.FIXED == "fixed" and str(PolicyName.ADAPTIVE) == "adaptive"
    assert [p.value for p in PolicyName] == ["fixed", "adaptive"]
    with pytest.raises(ValueError):
        PolicyName("Fixed")
