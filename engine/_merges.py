"""See every merge, and audit a sample of them live.

Every merge a batch's dedup stage decides (a request handed another request's answer) is

* reported to ``on_merge(representative, duplicate, info)`` when given (on the event loop, before the
  handler call; an exception in it is logged once and counted, never felt by a request);
* kept in a bounded ring of recent merges (texts truncated), ``stats.recent_merges``;
* audited at ``audit_rate`` (default 0.01): the duplicate goes to the handler in the **same** call as its
  own request (so its caller gets its own answer), and ``answers_equal(representative_answer,
  own_answer)`` (default ``==``) says whether the merge would have changed the answer. The sampling is
  deterministic: the k-th merge is audited when ``floor(k * audit_rate)`` steps up (``audit_rate=0.01``:
  the 100th, 200th, ... merge; ``1.0``: every one). An audited duplicate takes the slot its own entry
  would have had, so a call still holds at most ``max_size`` requests (a due audit that finds no room, which
  a batch of at most ``max_size`` entries never causes, waits for the next merge).

Exact duplicates coalesced in the queue (``merges["exact_queued"]``, ``["exact_inflight"]``: an identical
request already queued or running) are one handler slot from the start and are not reported to ``on_merge``
nor kept in the ring; they are audited at the same rate, counted on their own: a sampled one does not join,
it is queued as a request of its own (so its caller gets its own answer), and once both answers are in, the
representative's first caller's answer is compared with it (stage ``exact``; a side that failed or whose
callers all left is counted in ``not_compared``). With a generator handler they are not audited.
Stages: ``exact`` (identical after normalisation), ``embedding`` (cosine only), ``verifier_passed``
(``hybrid``: cosine and the verifier's consent), or the strategy's name for ``custom`` ones.
"""

from __future__ import annotations

import asyncio
import logging
import math
import operator
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .config import BatchConfig
from .dedup import Assignment, DedupStrategy
from .request import Entry

__all__ = ["MergeInfo", "MergeLog"]

logger = logging.getLogger("batchsieve")

_RING = 100  # recent merges kept: enough to read what the last few batches merged, bounded memory
_SAMPLE = 20  # disagreeing audited pairs kept for a person to read
_TEXT = 120  # characters of each text (and answer) kept in the ring and the sample


@dataclass(frozen=True, slots=True)
class MergeInfo:
    """Why one request was handed another's answer: the third argument of ``on_merge``."""

    stage: str  # "exact", "embedding", "verifier_passed", or the custom strategy's name
    cosine: float | None  # the embedding cosine to the representative (None for exact and custom merges)
    verdict: str | None  # "passed" when the verifier allowed it (hybrid); None without a verifier
    audited: bool  # this duplicate also got its own handler slot (its caller gets its own answer)
    representative_text: str
    duplicate_text: str


def _sampled(k: int, rate: float) -> bool:
    """Whether the ``k``-th merge is audited: when ``floor(k * rate)`` steps up."""
    return math.floor(k * rate) > math.floor((k - 1) * rate)


def _cut(text: Any) -> str:
    text = text if isinstance(text, str) else repr(text)
    return text if len(text) <= _TEXT else text[:_TEXT - 3] + "..."


class MergeLog:
    """The merge ring, the ``on_merge`` callback and the audit of one processor (event-loop thread only)."""

    def __init__(self, config: BatchConfig, strategy: DedupStrategy) -> None:
        self.config = config
        self._strategy = strategy
        self._ring: deque[dict[str, Any]] = deque(maxlen=_RING)
        self._seen = 0  # merges so far (the audit's counter)
        self._seen_coalesced = 0  # exact duplicates that met an identical live request (their own counter)
        self._due = 0  # audits owed (sampled while a batch had no room)
        self._audited: Counter[str] = Counter()
        self._disagreed: Counter[str] = Counter()
        self._skipped = 0  # audits whose answers could not be compared (a failed slot, a failing answers_equal)
        self._sample: deque[dict[str, Any]] = deque(maxlen=_SAMPLE)
        self.callback_errors = 0

    def _stage(self, dup: Entry, rep: Entry) -> str:
        if dup.norm == rep.norm:
            return "exact"
        name = self._strategy.name
        return {"hybrid": "verifier_passed", "embedding": "embedding"}.get(name, name)

    def observe(self, entries: list[Entry], assignment: Assignment, unique: list[Entry], slot_of: list[int]
                ) -> list[tuple[int, int, str, float | None]]:
        """Record this batch's merges; give the audited duplicates their own slot (``unique`` and ``slot_of``
        change in place). Returns the audits as ``(duplicate index, representative index, stage, cosine)``."""
        rate = self.config.audit_rate
        room = self.config.max_size - len(unique)
        cosines = assignment.cosines or {}
        on_merge = self.config.on_merge
        audits: list[tuple[int, int, str, float | None]] = []
        for i, r in enumerate(assignment.rep):
            if r == i:
                continue
            dup, rep = entries[i], entries[r]
            stage = self._stage(dup, rep)
            cosine = None if stage == "exact" else cosines.get(i)
            self._seen += 1
            if _sampled(self._seen, rate):
                self._due += 1
            audited = self._due > 0 and room > 0
            if audited:
                self._due -= 1
                room -= 1
                slot_of[i] = len(unique)
                unique.append(dup)
                audits.append((i, r, stage, cosine))
            verdict = "passed" if stage == "verifier_passed" else None
            self._ring.append({"representative": _cut(rep.text), "duplicate": _cut(dup.text), "stage": stage,
                               "cosine": cosine, "verdict": verdict, "audited": audited})
            if on_merge is not None:
                self._call(on_merge, rep.request, dup.request,
                           MergeInfo(stage, cosine, verdict, audited, rep.text, dup.text))
        return audits

    def sample_coalesced(self) -> bool:
        """Whether the exact duplicate about to join an identical queued or running request is audited."""
        self._seen_coalesced += 1
        return _sampled(self._seen_coalesced, self.config.audit_rate)

    def watch(self, rep: Entry, own: asyncio.Future[Any], duplicate_text: str) -> None:
        """Compare an audited coalesced duplicate's own answer (``own``) with the answer of ``rep``'s first
        caller still waiting, once both are in."""
        waiters = rep.waiters()
        if not waiters:
            self._skipped += 1
            return
        shared = waiters[0][0]
        pending = [shared, own]

        def settle(_: asyncio.Future[Any]) -> None:
            if not pending or not all(f.done() for f in pending):
                return
            pending.clear()  # both callbacks may see both done: compare once
            if shared.cancelled() or own.cancelled() or shared.exception() or own.exception():
                self._skipped += 1
                return
            self._compare_one("exact", rep.text, duplicate_text, shared.result(), own.result(), None)

        shared.add_done_callback(settle)
        own.add_done_callback(settle)

    def _call(self, on_merge: Callable[..., Any], rep: Any, dup: Any, info: MergeInfo) -> None:
        try:
            on_merge(rep, dup, info)
        except Exception:  # a reporting bug must never cost a request
            self.callback_errors += 1
            if self.callback_errors == 1:
                logger.exception("on_merge raised (counted in stats.on_merge_errors; logged once)")

    def compare(self, entries: list[Entry], results: list[Any], slot_of: list[int] | None,
                audits: list[tuple[int, int, str, float | None]]) -> None:
        """Compare each audited duplicate's own answer with its representative's."""
        if slot_of is None:
            return
        for i, r, stage, cosine in audits:
            own, shared = slot_of[i], slot_of[r]
            if own < 0 or shared < 0:  # every caller of one side left before the call: nothing to compare
                continue
            mine, theirs = results[own], results[shared]
            if isinstance(mine, BaseException) or isinstance(theirs, BaseException):  # a failed slot
                self._skipped += 1
                continue
            self._compare_one(stage, entries[r].text, entries[i].text, theirs, mine, cosine)

    def _compare_one(self, stage: str, rep_text: str, dup_text: str, theirs: Any, mine: Any,
                     cosine: float | None) -> None:
        equal = self.config.answers_equal or operator.eq
        try:
            same = bool(equal(theirs, mine))
        except Exception:  # a failing answers_equal costs the comparison, never an answer
            self._skipped += 1
            return
        self._audited[stage] += 1
        if not same:
            self._disagreed[stage] += 1
            self._sample.append({"representative": _cut(rep_text), "duplicate": _cut(dup_text), "stage": stage,
                                 "cosine": cosine, "representative_answer": _cut(theirs),
                                 "duplicate_answer": _cut(mine)})

    def audit_stats(self) -> dict[str, Any]:
        """``stats.audit``: audited merges, disagreements and the disagreement rate by stage, and a sample."""
        stages = sorted(self._audited)
        return {"rate": self.config.audit_rate, "audited": dict(self._audited),
                "disagreements": {s: self._disagreed[s] for s in stages},
                "disagreement_rate": {s: self._disagreed[s] / self._audited[s] for s in stages},
                "not_compared": self._skipped, "disagreeing": list(self._sample)}

    def recent(self) -> tuple[dict[str, Any], ...]:
        """``stats.recent_merges``: the last merges, oldest first."""
        return tuple(self._ring)
