"""Every adaptive setting at and just past each of its documented bounds: the bound itself is accepted or
refused as the README's interval says (open or closed), a value past it is refused with the exact message,
an accepted value reaches the part that uses it, and a wrong type or a non-finite value is refused by name.

The table below is written from the documented intervals, not read from the policy."""

from __future__ import annotations

import math

import pytest
from batchsieve.policies.adaptive import AdaptiveWindowPolicy

BASE = {"target_latency_s": 0.05, "min_window_s": 0.02, "max_window_s": 0.2}


def read(name: str):
    """Where an accepted value of ``name`` can be seen on the policy."""
    where = {"forgetting": "model.forgetting", "outlier_k": "model.outlier_k", "shift_after": "model.shift_after",
             "rate_alpha": "arrivals.alpha"}.get(name, name)

    def get(policy: AdaptiveWindowPolicy):
        value = policy
        for part in where.split("."):
            value = getattr(value, part)
        return value
    return get


# name, lo, lo_open, hi, hi_open, is_int
BOUNDS = [
    ("target_latency_s", 0.0, True, None, False, False),
    ("min_window_s", 0.0, False, None, False, False),
    ("min_size", 1, False, None, False, True),
    ("max_wait_s", 0.0, True, None, False, False),
    ("max_concurrent_batches", 1, False, None, False, True),
    ("headroom", 0.0, False, 1.0, True, False),
    ("noise_margin", 0.0, False, 100.0, False, False),
    ("smoothing", 0.0, True, 1.0, False, False),
    ("deadband", 0.0, False, 1.0, True, False),
    ("idle_arrivals", 0.0, False, None, False, False),
    ("deadline_margin_s", 0.0, False, None, False, False),
    ("forgetting", 0.0, True, 1.0, False, False),
    ("outlier_k", 0.0, True, None, False, False),
    ("shift_after", 1, False, None, False, True),
    ("rate_alpha", 0.0, True, 1.0, False, False),
    ("late_share", 0.0, True, 1.0, True, False),
    ("feedback_gain", 0.0, False, 1.0, False, False),
    ("min_budget_factor", 0.0, True, 1.0, False, False),
    ("max_batch_cost", 0.0, True, None, False, False),
]


def refusal(name, value, lo, lo_open, hi, hi_open) -> str:
    if hi is None:
        return f"{name} must be {'>' if lo_open else '>='} {lo:g}, got {value!r}"
    return f"{name} must be in {'(' if lo_open else '['}{lo:g}, {hi:g}{')' if hi_open else ']'}, got {value!r}"


def edge_cases():
    for name, lo, lo_open, hi, hi_open, is_int in BOUNDS:
        step = 1 if is_int else 0.25
        yield pytest.param(name, lo, not lo_open, id=f"{name}-at-lo")
        yield pytest.param(name, lo - step, False, id=f"{name}-below-lo")
        if hi is not None:
            yield pytest.param(name, hi, not hi_open, id=f"{name}-at-hi")
            yield pytest.param(name, hi + step, False, id=f"{name}-above-hi")


@pytest.mark.parametrize(("name", "value", "accepted"), list(edge_cases()))
def test_each_bound_is_open_or_closed_as_documented(name, value, accepted):
    _, lo, lo_open, hi, hi_open, _ = next(row for row in BOUNDS if row[0] == name)
    kwargs = {**BASE, name: value}
    if name == "min_window_s":
        kwargs["max_window_s"] = max(value, 0.2)
    if accepted:
        assert read(name)(AdaptiveWindowPolicy(**kwargs)) == value
    else:
        with pytest.raises(ValueError) as info:
            AdaptiveWindowPolicy(**kwargs)
        assert str(info.value) == refusal(name, value, lo, lo_open, hi, hi_open)


@pytest.mark.parametrize("name", [row[0] for row in BOUNDS])
def test_a_value_inside_the_bounds_reaches_its_user(name):
    _, lo, _, hi, _, is_int = next(row for row in BOUNDS if row[0] == name)
    value = 2 if is_int else (lo + hi) / 2 if hi is not None else 0.375
    if name == "min_window_s":
        value = 0.125
    assert read(name)(AdaptiveWindowPolicy(**{**BASE, name: value})) == value


@pytest.mark.parametrize("name", [row[0] for row in BOUNDS] + ["max_window_s", "max_size"])
def test_a_wrong_type_is_refused_by_name(name):
    kind = "an int" if name in ("min_size", "max_size", "max_concurrent_batches", "shift_after") else "a number"
    for wrong in ("x", True):
        with pytest.raises(TypeError) as info:
            AdaptiveWindowPolicy(**{**BASE, name: wrong})
        assert str(info.value) == f"{name} must be {kind}, got {type(wrong).__name__} {wrong!r}"


@pytest.mark.parametrize("name", [row[0] for row in BOUNDS if not row[5] and row[0] != "max_wait_s"] + ["max_window_s"])
def test_a_non_finite_value_is_refused_but_max_wait_s_may_be_infinite(name):
    for value in (math.inf, math.nan):
        with pytest.raises(ValueError) as info:
            AdaptiveWindowPolicy(**{**BASE, "max_window_s": 0.2, name: value})
        assert str(info.value) == f"{name} must be finite, got {value!r}"
    assert AdaptiveWindowPolicy(**BASE, max_wait_s=math.inf).max_wait_s == math.inf
    with pytest.raises(ValueError, match=r"^max_wait_s must not be NaN, got nan$"):
        AdaptiveWindowPolicy(**BASE, max_wait_s=math.nan)


def test_the_cross_checks_accept_equality_and_refuse_less():
    assert AdaptiveWindowPolicy(0.05, 0.1, 0.1).max_window_s == 0.1
    with pytest.raises(ValueError) as info:
        AdaptiveWindowPolicy(0.05, 0.1, 0.05)
    assert str(info.value) == "max_window_s (0.05) must be >= min_window_s (0.1)"
    assert AdaptiveWindowPolicy(**BASE, min_size=8, max_size=8).max_size == 8
    with pytest.raises(ValueError) as info:
        AdaptiveWindowPolicy(**BASE, min_size=9, max_size=8)
    assert str(info.value) == "max_size (8) must be >= min_size (9)"
    assert AdaptiveWindowPolicy(**BASE).max_batch_cost is None  # no budget unless one is given
