"""Argument checks shared by the config, the policies, the processor and the encoder.

Each check raises ``TypeError`` for a value of the wrong type and ``ValueError`` for a value out of its
bounds, with a message that names the argument and the value, and returns the value (converted where
the check says so). ``bool`` is never accepted as a number.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

__all__: list[str] = []  # internal module


def _bounds(name: str, value: float, lo: float | None, hi: float | None, lo_open: bool, hi_open: bool) -> None:
    if lo is not None and hi is not None:
        if (value <= lo if lo_open else value < lo) or (value >= hi if hi_open else value > hi):
            left, right = "(" if lo_open else "[", ")" if hi_open else "]"
            raise ValueError(f"{name} must be in {left}{lo:g}, {hi:g}{right}, got {value!r}")
    elif lo is not None:
        if value <= lo if lo_open else value < lo:
            raise ValueError(f"{name} must be {'>' if lo_open else '>='} {lo:g}, got {value!r}")
    elif hi is not None and (value >= hi if hi_open else value > hi):
        raise ValueError(f"{name} must be {'<' if hi_open else '<='} {hi:g}, got {value!r}")


def check_bool(name: str, value: object) -> bool:
    """``value`` must be a ``bool``."""
    if value.__class__ is not bool:
        raise TypeError(f"{name} must be a bool, got {type(value).__name__} {value!r}")
    return value  # type: ignore[return-value]


def check_int(name: str, value: object, *, lo: int | None = None, hi: int | None = None) -> int:
    """``value`` must be an ``int`` (not a ``bool``) in ``[lo, hi]`` (either bound optional)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {type(value).__name__} {value!r}")
    _bounds(name, value, lo, hi, False, False)
    return value


def check_number(name: str, value: object, *, lo: float | None = None, hi: float | None = None,
                 lo_open: bool = False, hi_open: bool = False, finite: bool = True) -> float:
    """``value`` must be a real ``int`` or ``float`` (not a ``bool``), not NaN, finite unless ``finite=False``,
    and within the bounds; returned as ``float``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number, got {type(value).__name__} {value!r}")
    if finite and not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value!r}")
    if math.isnan(value):
        raise ValueError(f"{name} must not be NaN, got {value!r}")
    _bounds(name, value, lo, hi, lo_open, hi_open)
    return float(value)


def check_optional_callable(name: str, value: object) -> Callable[..., Any] | None:
    """``value`` must be callable or ``None``."""
    if value is not None and not callable(value):
        raise TypeError(f"{name} must be callable or None, got {type(value).__name__} {value!r}")
    return value  # type: ignore[return-value]


def check_str(name: str, value: object) -> str:
    """``value`` must be a ``str``."""
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str, got {type(value).__name__} {value!r}")
    return value
