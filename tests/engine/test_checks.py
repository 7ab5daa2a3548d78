"""The shared argument checks: the error type and message for each kind of bad value."""

from __future__ import annotations

import math

import pytest
from batchsieve._checks import check_bool, check_int, check_number, check_optional_callable, check_str


def test_check_bool():
    assert check_bool("flag", True) is True
    with pytest.raises(TypeError, match="flag must be a bool, got int 1"):
        check_bool("flag", 1)


def test_check_int():
    assert check_int("n", 3, lo=1, hi=3) == 3
    with pytest.raises(TypeError, match="n must be an int, got bool True"):
        check_int("n", True)
    with pytest.raises(TypeError, match=r"n must be an int, got float 2\.0"):
        check_int("n", 2.0)
    with pytest.raises(ValueError, match="n must be >= 1, got 0"):
        check_int("n", 0, lo=1)
    with pytest.raises(ValueError, match=r"n must be in \[1, 3\], got 4"):
        check_int("n", 4, lo=1, hi=3)
    with pytest.raises(ValueError, match="n must be <= 3, got 4"):
        check_int("n", 4, hi=3)


def test_check_number():
    assert check_number("x", 1) == 1.0 and isinstance(check_number("x", 1), float)
    assert check_number("x", math.inf, finite=False) == math.inf
    with pytest.raises(TypeError, match="x must be a number, got str '1'"):
        check_number("x", "1")
    with pytest.raises(TypeError, match="x must be a number, got bool False"):
        check_number("x", False)
    with pytest.raises(ValueError, match="x must be finite, got inf"):
        check_number("x", math.inf)
    with pytest.raises(ValueError, match="x must not be NaN, got nan"):
        check_number("x", math.nan, finite=False)
    with pytest.raises(ValueError, match="x must be > 0, got 0"):
        check_number("x", 0, lo=0, lo_open=True)
    with pytest.raises(ValueError, match=r"x must be in \(0, 1\], got 1.5"):
        check_number("x", 1.5, lo=0, hi=1, lo_open=True)
    with pytest.raises(ValueError, match=r"x must be in \[0, 1\), got 1"):
        check_number("x", 1, lo=0, hi=1, hi_open=True)
    with pytest.raises(ValueError, match="x must be < 2, got 2"):
        check_number("x", 2, hi=2, hi_open=True)


def test_check_callable_and_str():
    assert check_optional_callable("f", None) is None
    assert check_optional_callable("f", len) is len
    with pytest.raises(TypeError, match="f must be callable or None, got str 'x'"):
        check_optional_callable("f", "x")
    assert check_str("s", "a") == "a"
    with pytest.raises(TypeError, match="s must be a str, got int 3"):
        check_str("s", 3)
