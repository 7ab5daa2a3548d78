"""The dedup interface: :class:`DedupStrategy` and the types it exchanges with the engine.

A strategy sees the batch's unique requests (exact duplicates were already coalesced in the queue, in
every strategy, because identical normalised text with identical fields is the same question) and
returns, for each one, the index of its *representative*: the request whose answer it will get.
``rep[i] == i`` marks a representative. The engine hands the representatives to the handler and scatters
each result back to every request that points at it.

Rules every strategy keeps:

* requests with different ``scope`` never merge;
* requests whose non-text fields differ never merge;
* a request with ``mergeable=False`` (``dedup=False``, or a field without a stable identity) stays alone;
* a representative always comes before the requests it represents in the batch's order, and
  ``rep[rep[i]] == rep[i]`` (no chains).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

__all__ = ["Assignment", "DedupItem", "DedupStrategy"]


@dataclass(frozen=True, slots=True)
class DedupItem:
    """What a strategy knows of one request."""

    text: str  # as the caller gave it
    norm: str  # normalised text (the exact-match form)
    scope: Hashable  # the caller's scope as a typed identity (1, 1.0 and True are three scopes)
    fields: Hashable  # frozen identity of the non-text fields
    mergeable: bool
    request: Any = None


@dataclass(slots=True)
class Assignment:
    """A strategy's answer for one batch."""

    rep: list[int]
    merges: dict[str, int] = field(default_factory=dict)  # merges (or vetoes) by stage
    seconds: float = 0.0  # time spent deciding (encoder + kernel)
    fallback: str | None = None  # why a semantic strategy fell back to exact matching, if it did
    identity: bool = False  # every request is its own representative (``rep`` may then be empty)
    cosines: dict[int, float] | None = None  # a semantic merge's cosine to its representative, by index


class DedupStrategy(ABC):
    """Base class of the strategies. Subclasses set ``name`` and ``blocking`` and implement ``assign``."""

    name: ClassVar[str]
    #: ``True`` when ``assign`` does real work (an encoder, a kernel): the engine then calls it in a
    #: worker thread so the event loop never blocks.
    blocking: ClassVar[bool] = False

    @classmethod
    def from_config(cls, config: Any) -> DedupStrategy:
        """Build the strategy from a :class:`~batchsieve.BatchConfig` (the registry's factory calls this)."""
        return cls()

    @abstractmethod
    def assign(self, items: Sequence[DedupItem], threshold: float) -> Assignment:
        """Return the representative of each item (see the module docstring for the rules)."""

    def stats(self) -> dict[str, Any]:
        """Strategy-specific figures for :class:`~batchsieve.BatchStats` (``dedup``)."""
        return {"strategy": self.name}
