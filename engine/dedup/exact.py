"""The ``exact`` strategy: requests merge when their normalised text and other fields are identical."""

from __future__ import annotations

from collections.abc import Hashable, Sequence

from .base import Assignment, DedupItem, DedupStrategy

__all__ = ["ExactStrategy", "exact_assignment", "merge_groups"]


def exact_assignment(items: Sequence[DedupItem]) -> list[int]:
    """Representatives by exact identity: same scope, same normalised text, same fields."""
    first: dict[Hashable, int] = {}
    rep = list(range(len(items)))
    for i, item in enumerate(items):
        if item.mergeable:
            rep[i] = first.setdefault((item.scope, item.norm, item.fields), i)
    return rep


def merge_groups(items: Sequence[DedupItem]) -> list[int]:
    """An int id per (scope, fields): requests with different ids may never merge (the kernels' scope ids)."""
    ids: dict[Hashable, int] = {}
    return [ids.setdefault((item.scope, item.fields), len(ids)) for item in items]


class ExactStrategy(DedupStrategy):
    """Merge requests whose normalised text and other fields are identical (hash matching)."""

    name = "exact"

    def assign(self, items: Sequence[DedupItem], threshold: float) -> Assignment:
        rep = exact_assignment(items)
        merged = sum(1 for i, r in enumerate(rep) if r != i)
        return Assignment(rep, {"exact": merged} if merged else {})
