r"""The closed-form waits of the adaptive window's decision rule (see :mod:`.adaptive`).

A batch dispatched ``d`` seconds from now, holding the ``p`` pending requests plus the ``lam * d`` expected
to arrive meanwhile (at most ``m``), is predicted to cost ``S(n) = a + beta * n``; the oldest request then
finishes ``elapsed + d + S(min(m, p + lam * d))`` after it arrived. That is increasing and piecewise linear
in ``d``, so the longest wait within a budget is found in O(1), with no search. A cost that is the maximum
of several lines is handled by taking the shortest of their waits.
"""

from __future__ import annotations

import math

__all__ = ["line_cost", "longest_wait", "longest_wait_all"]


def longest_wait(budget: float, elapsed: float, p: float, lam: float, a: float, beta: float,
                  m: float) -> float:
    """Longest ``d >= 0`` with ``elapsed + d + a + beta * min(m, p + lam * d) <= budget`` (0 if none).

    The left side is increasing in ``d`` (piecewise linear), so the answer is closed-form.
    """
    n0 = min(p, m)
    slack = budget - elapsed - a - beta * n0
    if slack <= 0.0:
        return 0.0
    if lam <= 0.0 or n0 >= m:
        return slack  # the batch cannot grow: its cost is fixed
    d = slack / (1.0 + beta * lam)
    if p + lam * d <= m:
        return d
    return budget - elapsed - a - beta * m  # the batch fills first; past that, S stays at S(m)


def longest_wait_all(budget: float, elapsed: float, p: float, lam: float,
                      lines: tuple[tuple[float, float], ...], m: float) -> float:
    """:func:`longest_wait` for a cost that is the maximum of ``lines``: the shortest of their waits."""
    best = math.inf
    for a, beta in lines:
        d = longest_wait(budget, elapsed, p, lam, a, beta, m)
        if d < best:
            best = d
    return best


def line_cost(lines: tuple[tuple[float, float], ...], n: float) -> float:
    """The cost of a batch of ``n``: the maximum of ``lines`` ``(a, beta)`` at ``n``."""
    return max(a + beta * n for a, beta in lines)

