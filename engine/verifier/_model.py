"""The verifier's values: the veto categories, a :class:`Verdict`, and the :class:`TextFacts` of one text."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["CATEGORIES", "TextFacts", "Verdict"]

#: Veto categories, in the order the rules run (see :data:`batchsieve.verifier.rules.RULES`).
CATEGORIES: tuple[str, ...] = (
    "flag", "number", "unit", "date", "time", "negation", "polarity", "roles", "question", "tense",
    "person", "plural", "content", "script", "symbol",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Verdict:
    """The verifier's answer for one pair of texts.

    ``ok`` is ``True`` when the merge is allowed; ``reasons`` lists every veto, human-readable, and
    ``categories`` the category of each reason (same order, each one of :data:`CATEGORIES`).
    """

    ok: bool
    reasons: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return self.ok


@dataclass(frozen=True, slots=True, eq=False)
class TextFacts:
    """What the verifier extracts from one text (see :meth:`MergeVerifier.facts`); read-only.

    Multisets are sorted tuples of ``(canonical, surface)`` pairs: the canonical form is compared, the
    surface form (as written, case-folded) is quoted in reasons.
    """

    norm: str
    numbers: tuple[tuple[str, str], ...]
    number_order: tuple[str, ...]
    units: tuple[tuple[str, str], ...]
    dates: tuple[tuple[str, str], ...]
    times: tuple[tuple[str, str], ...]
    negations: tuple[tuple[str, str], ...]
    question: tuple[str, ...]  # question kinds: "what", "why", ..., "yes/no:can", "statement"
    question_surface: str
    past: tuple[str, ...]  # the past-tense auxiliaries, in order
    plural: frozenset[str]  # content keys written in the plural only
    singular: frozenset[str]  # content keys written in the singular only
    subjects: frozenset[str]  # persons of subject pronouns: "1" (I, we), "2" (you), "g" (one)
    owners: tuple[tuple[str, str], ...]  # (person, surface) of possessive and object pronouns
    content: Mapping[str, str]  # canonical lemma -> surface, in text order
    shown: Mapping[str, str]  # sequence key -> surface word (for reasons)
    raw_lemmas: frozenset[str]  # lemmas before synonym mapping, fillers included (opposite-meaning rule)
    sequence: tuple[str, ...]  # every token's key, in order (roles rule)
    unique: Mapping[str, int]  # key -> position, for keys that occur once in ``sequence``
    foreign: tuple[str, ...]
    symbols: tuple[str, ...]
