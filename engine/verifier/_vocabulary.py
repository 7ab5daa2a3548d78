"""The word tables one verifier works with: the lexicon on lemmas, plus the caller's extra fillers and synonyms."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from . import lexicon as lx
from ._morphology import lemma

#: A lexicon word that needs more than the content/filler test: ``(kind, canonical)``; kinds are
#: ``month``, ``day``, ``relative``, ``time``, ``unit``, ``neg``, ``frac``, ``ord``, ``num``, ``pscale``
#: ("thousands"), ``percent`` ("per" of "per cent") and ``like``.
Special = tuple[str, str]


def _special_words() -> dict[str, Special]:
    """Map every lexicon word that needs more than the content/filler test to its kind.

    Later tables override earlier ones ("second" is an ordinal, not the unit), and derived plurals
    ("mondays", "mornings", "dollars") never override a listed word.
    """
    kinds: dict[str, Special] = {}
    for w, month in lx.MONTHS.items():
        kinds[w] = ("month", month)
    for w, day in lx.DAY_WORDS.items():
        kinds[w] = ("day", day)
        if not w.endswith("s"):
            kinds.setdefault(w + "s", ("day", day))  # "mondays", "weekends"
    for w in lx.RELATIVE_TIME:
        kinds[w] = ("relative", w)
    for w, t in lx.TIME_WORDS.items():
        kinds[w] = ("time", t)
        kinds.setdefault(w + "s", ("time", t))  # "mornings"
    for w, unit in lx.UNITS.items():
        kinds.setdefault(w, ("unit", unit))
        if w.isalpha() and len(w) > 2 and not w.endswith("s"):
            kinds.setdefault(w + "s", ("unit", unit))  # "kilometers", "dollars"
            if w.endswith(("ch", "sh", "x")):
                kinds.setdefault(w + "es", ("unit", unit))
    for w in lx.COUNTED_NEGATIONS:
        kinds[w] = ("neg", "not")
    for w, value in lx.FRACTION_WORDS.items():
        kinds[w] = ("frac", value)
    for w, value in lx.ORDINAL_WORDS.items():
        kinds[w] = ("ord", "#" + str(value))
    for w in (*lx.NUMBER_WORDS, *WORD_SCALES):
        kinds[w] = ("num", "")
    for w in WORD_SCALES:
        kinds[w + "s"] = ("pscale", w + "s")
    kinds["per"] = ("percent", "percent")
    kinds["like"] = ("like", "like")
    return kinds


#: Scale words that count in a spelled-out number ("five million"); "k", "mn" and "bn" only follow digits.
WORD_SCALES: Mapping[str, int] = MappingProxyType(
    {w: v for w, v in lx.SCALE_WORDS.items() if w not in ("k", "mn", "bn")}
)
SPECIAL_WORDS: Mapping[str, Special] = MappingProxyType(_special_words())


def _keys(words: Iterable[str], synonyms: Mapping[str, str]) -> frozenset[str]:
    """The sequence keys of ``words`` (lemma, then synonym), with the words themselves (punctuation)."""
    words = tuple(words)
    return frozenset(synonyms.get(lemma(w), lemma(w)) for w in words) | frozenset(words)


@dataclass(frozen=True, slots=True)
class Vocabulary:
    """The lexicon as one verifier reads it; built once per :class:`MergeVerifier`, then read-only."""

    fillers: frozenset[str]  # surface words
    synonyms: Mapping[str, str]  # lemma -> canonical lemma
    antonyms: Mapping[str, frozenset[str]]  # lemma -> lemmas of its opposites
    symmetric: frozenset[str]  # keys of the markers around which two words may swap
    coordinators: frozenset[str]  # keys of "and", "or", "vs", ...
    plural_neutral: frozenset[str]  # keys exempt from the singular/plural rule
    special: Mapping[str, Special]

    @classmethod
    def build(cls, extra_fillers: Iterable[str] = (), extra_synonyms: Mapping[str, str] | None = None) -> Vocabulary:
        """The lexicon extended with a domain's fillers and synonyms (``{"cost": "price"}``: cost means price).

        The arguments are :class:`MergeVerifier`'s, already checked.
        """
        synonyms = dict(lx.SYNONYMS)
        for word, canon in (extra_synonyms or {}).items():
            canon = canon.casefold()
            synonyms[word.casefold()] = synonyms.get(canon, canon)
        keyed = {lemma(w): lemma(c) for w, c in synonyms.items()}
        antonyms: dict[str, set[str]] = {}
        for x, y in lx.ANTONYM_PAIRS:
            antonyms.setdefault(lemma(x), set()).add(lemma(y))
            antonyms.setdefault(lemma(y), set()).add(lemma(x))
        return cls(
            fillers=lx.FILLERS | frozenset(w.casefold() for w in extra_fillers),
            synonyms=keyed,
            antonyms={k: frozenset(v) for k, v in antonyms.items()},
            symmetric=_keys(lx.SYMMETRIC_MARKERS, keyed),
            coordinators=_keys(lx.COORDINATORS, keyed),
            plural_neutral=frozenset(keyed.get(w, w) for w in map(lemma, lx.PLURAL_NEUTRAL)),
            special=dict(SPECIAL_WORDS),  # a plain dict: looked up for every token
        )
