"""The verifier's rules: one per veto category, run in the order of :data:`CATEGORIES`.

A rule reads a :class:`Comparison` (the two texts' :class:`TextFacts`, the encoder's flags and the
verifier's vocabulary) and yields one human-readable reason per difference it finds; every reason vetoes
the merge. Every rule is symmetric: swapping ``a`` and ``b`` changes which text a reason names, never
whether it fires. :data:`RULES` is the registry :meth:`MergeVerifier.check` walks.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

from . import lexicon as lx
from ._model import CATEGORIES, TextFacts
from ._vocabulary import Vocabulary

__all__ = ["RULES", "Comparison", "Rule"]

#: Farther apart than this, only a marker that occurs once in each text counts for the roles rule.
_MAX_ROLE_GAP = 6
#: Sequence-key prefixes of numbers, units and dates/times: they count as role words too.
_ROLE_PREFIXES = frozenset("#$@")


@dataclass(slots=True)
class Comparison:
    """One pair under comparison: what every rule reads.

    ``only_a`` and ``only_b`` are the content keys present in one text only, in text order; the polarity
    rule removes the words it reports, so the content rule (which runs later) does not report them again.
    """

    a: TextFacts
    b: TextFacts
    vocab: Vocabulary
    a_unknown: bool = False
    b_unknown: bool = False
    a_truncated: bool = False
    b_truncated: bool = False
    only_a: list[str] = field(init=False)
    only_b: list[str] = field(init=False)

    def __post_init__(self) -> None:
        ca, cb = self.a.content, self.b.content
        self.only_a = [w for w in ca if w not in cb]
        self.only_b = [w for w in cb if w not in ca]


@dataclass(frozen=True, slots=True)
class Rule:
    """A veto category and the function that finds its differences."""

    category: str
    find: Callable[[Comparison], Iterator[str]]


# --------------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------------
def _pairs(items: Sequence[str]) -> tuple[tuple[str, str], ...]:
    return tuple((x, x) for x in items)


def _same(a: Sequence[tuple[str, str]], b: Sequence[tuple[str, str]]) -> bool:
    """Whether two ``(canonical, surface)`` multisets have the same canonical values."""
    return len(a) == len(b) and all(x[0] == y[0] for x, y in zip(a, b, strict=True))


def _multiset(noun: str, a: Sequence[tuple[str, str]], b: Sequence[tuple[str, str]]) -> Iterator[str]:
    """A reason when the canonical values of ``a`` and ``b`` differ as multisets."""
    if _same(a, b):
        return
    ca, cb = Counter(c for c, _ in a), Counter(c for c, _ in b)
    extra_a, extra_b = ca - cb, cb - ca
    sa = ", ".join(repr(s) for c, s in a if c in extra_a)
    sb = ", ".join(repr(s) for c, s in b if c in extra_b)
    if sa and sb:
        yield f"{noun} differs: {sa} vs {sb}"
    elif sa:
        yield f"{noun} only in a: {sa}"
    else:
        yield f"{noun} only in b: {sb}"


def _shown(key: str, facts: TextFacts) -> str:
    """How a sequence key is quoted in a reason: its surface word, or the key without its tag."""
    return facts.content.get(key) or facts.shown.get(key) or key.lstrip("#$@")


# --------------------------------------------------------------------------------------------------
# The rules, in the order of CATEGORIES
# --------------------------------------------------------------------------------------------------
def _flag(c: Comparison) -> Iterator[str]:
    """The encoder could not see all of a text: ``[UNK]`` tokens, or a tail cut at its window."""
    for side, unknown, truncated in (("a", c.a_unknown, c.a_truncated), ("b", c.b_unknown, c.b_truncated)):
        if unknown:
            yield f"unknown tokens: the encoder mapped part of {side} to [UNK], so it cannot see it"
        if truncated:
            yield f"truncated: {side} is longer than the encoder's window; its tail was not embedded"


def _number(c: Comparison) -> Iterator[str]:
    """Numbers and quantities as multisets, then their order ("12 items ... 13" / "13 items ... 12")."""
    fa, fb = c.a, c.b
    yield from _multiset("number", fa.numbers, fb.numbers)
    if fa.number_order != fb.number_order and len(fa.numbers) > 1 and _same(fa.numbers, fb.numbers):
        shown_a = ", ".join(k.lstrip("#") for k in fa.number_order)
        shown_b = ", ".join(k.lstrip("#") for k in fb.number_order)
        yield f"numbers in a different order: {shown_a} in a vs {shown_b} in b"


def _unit(c: Comparison) -> Iterator[str]:
    return _multiset("unit", c.a.units, c.b.units)


def _date(c: Comparison) -> Iterator[str]:
    return _multiset("date", c.a.dates, c.b.dates)


def _time(c: Comparison) -> Iterator[str]:
    return _multiset("time", c.a.times, c.b.times)


def _negation(c: Comparison) -> Iterator[str]:
    """The number of negations: "not X" is not "X", and two negations are not one."""
    if len(c.a.negations) != len(c.b.negations):
        sa = ", ".join(repr(s) for _, s in c.a.negations) or "none"
        sb = ", ".join(repr(s) for _, s in c.b.negations) or "none"
        yield f"negation differs: {sa} in a vs {sb} in b"


def _polarity(c: Comparison) -> Iterator[str]:
    """Opposite meanings: antonym pairs across the texts, and negating prefixes (lock / unlock)."""
    fa, fb = c.a, c.b
    ra_only = fa.raw_lemmas - fb.raw_lemmas
    if not ra_only:
        return
    rb_only = fb.raw_lemmas - fa.raw_lemmas
    if not rb_only:
        return
    antonyms = c.vocab.antonyms
    found: list[tuple[str, str]] = []
    for x in sorted(ra_only):
        for y in sorted(antonyms.get(x, ())):
            if y in rb_only:
                found.append((x, y))
        for p in lx.NEGATING_PREFIXES:
            if x.startswith(p) and len(x) - len(p) >= 3 and x[len(p) :] in rb_only:
                found.append((x, x[len(p) :]))
            if p + x in rb_only and len(x) >= 3:
                found.append((x, p + x))
    syn = c.vocab.synonyms
    for x, y in dict.fromkeys(found):
        kx, ky = syn.get(x, x), syn.get(y, y)
        yield f"opposite meaning: {fa.content.get(kx, x)!r} vs {fb.content.get(ky, y)!r}"
        if kx in c.only_a:  # the content rule need not report these words again
            c.only_a.remove(kx)
        if ky in c.only_b:
            c.only_b.remove(ky)


def _roles(c: Comparison) -> Iterator[str]:
    """Swapped roles: two shared words (content words, numbers, units, dates) in opposite orders.

    A swap vetoes when the two words sit around the same non-symmetric marker in both texts ("from A
    to B" / "from B to A", "A hates B" / "B hates A", "A's B" / "B's A") or are adjacent in both ("milk
    chocolate" / "chocolate milk", "my employer sue" / "sue my employer"). "A and B" / "B and A" and "A
    vs B" / "B vs A" are symmetric and allowed, as is a change of construction ("the capital of France"
    / "France's capital"). Markers count up to :data:`_MAX_ROLE_GAP` words apart; farther apart, only a
    marker that occurs once in each text counts.
    """
    fa, fb = c.a, c.b
    symmetric, coordinators = c.vocab.symmetric, c.vocab.coordinators
    ua, ub = fa.unique, fb.unique
    shared = [w for w in ua if w in ub and w not in symmetric and (w in fa.content or w[:1] in _ROLE_PREFIXES)
              and (w in fb.content or w[:1] in _ROLE_PREFIXES)]  # fmt: skip
    if len(shared) < 2:
        return
    sa, sb = fa.sequence, fb.sequence
    same_role = lx.SAME_ROLE_MARKER
    adjacent: tuple[str, str] | None = None
    for i, x in enumerate(shared):
        for y in shared[i + 1 :]:
            if (ua[x] < ua[y]) == (ub[x] < ub[y]):
                continue
            lo_a, hi_a = sorted((ua[x], ua[y]))
            lo_b, hi_b = sorted((ub[x], ub[y]))
            mid_a = {same_role.get(w, w) for w in sa[lo_a + 1 : hi_a]}
            mid_b = {same_role.get(w, w) for w in sb[lo_b + 1 : hi_b]}
            common = mid_a & mid_b
            if common & coordinators and "not" not in common:
                continue  # "real gas and ideal gas" / "ideal gas and real gas"; not "X and not Y"
            markers = common - symmetric
            if hi_a - lo_a > _MAX_ROLE_GAP or hi_b - lo_b > _MAX_ROLE_GAP:
                markers = {m for m in markers if m in ua and m in ub and m not in lx.LIGHT_WORDS and m.isalpha()}
            first, second = (x, y) if ua[x] < ua[y] else (y, x)
            if markers:
                marker = _shown(sorted(markers)[0], fa)
                one, two = _shown(first, fa), _shown(second, fa)
                yield (f"roles swapped: {one!r} ... {marker!r} ... {two!r} in a, "
                       f"{two!r} ... {marker!r} ... {one!r} in b")  # fmt: skip
                return
            if adjacent is None and not (mid_a - lx.LIGHT_WORDS) and not (mid_b - lx.LIGHT_WORDS):
                adjacent = (first, second)
    if adjacent is not None and all(w in fa.content for w in adjacent):
        one, two = _shown(adjacent[0], fa), _shown(adjacent[1], fa)
        yield f"word order swapped: {one!r} {two!r} in a, {two!r} {one!r} in b"


def _same_question(qa: tuple[str, ...], qb: tuple[str, ...]) -> bool:
    """Whether two question forms ask for the same kind of answer.

    A statement ("Show me my invoice") asks what a "what" or "how" question asks; everything else must
    match exactly ("which" and "what" are one kind; see :data:`batchsieve.verifier.lexicon.WH_WORDS`).
    """
    if qa == qb:
        return True
    loose = (("statement",), ("what",), ("how",))
    return (qa == ("statement",) and qb in loose) or (qb == ("statement",) and qa in loose)


def _question(c: Comparison) -> Iterator[str]:
    if not _same_question(c.a.question, c.b.question):
        sa = c.a.question_surface or "(no question word)"
        sb = c.b.question_surface or "(no question word)"
        yield f"question word differs: {sa!r} vs {sb!r}"


def _tense(c: Comparison) -> Iterator[str]:
    if len(c.a.past) != len(c.b.past):
        sa = " ".join(c.a.past) or "present"
        sb = " ".join(c.b.past) or "present"
        yield f"tense differs: {sa!r} in a vs {sb!r} in b"


def _persons(persons: frozenset[str]) -> str:
    names = {"1": "first person", "2": "second person", "g": "generic 'one'"}
    return " + ".join(names[p] for p in sorted(persons))


def _person(c: Comparison) -> Iterator[str]:
    """Whose thing: possessive and object pronouns must agree once subject pronouns are relabelled."""
    fa, fb = c.a, c.b
    sa, sb = fa.subjects, fb.subjects
    mapping: dict[str, str] = {}
    if sa and sb and sa != sb:
        if len(sa) == 1 and len(sb) == 1:
            (x,), (y,) = sa, sb
            mapping = {x: y, y: x}  # "How do I ..." = "How do you ...": swap the two persons
        else:
            yield f"pronouns differ: {_persons(sa)} in a vs {_persons(sb)} in b"
            return
    if not fa.owners or not fb.owners:
        return
    oa = {mapping.get(p, p) for p, _ in fa.owners}
    ob = {p for p, _ in fb.owners}
    if oa != ob:
        shown_a = ", ".join(repr(s) for _, s in fa.owners)
        shown_b = ", ".join(repr(s) for _, s in fb.owners)
        yield f"person differs: {shown_a} in a vs {shown_b} in b"


def _plural(c: Comparison) -> Iterator[str]:
    """Singular versus plural of one word after a determiner ("my invoice" / "my invoices")."""
    fa, fb = c.a, c.b
    differ = (fa.plural & fb.singular) | (fa.singular & fb.plural)
    if differ:
        shown = ", ".join(f"{fa.content[k]!r} vs {fb.content[k]!r}" for k in fa.content if k in differ)
        yield f"singular vs plural: {shown}"


def _content(c: Comparison) -> Iterator[str]:
    """A content word in one text only (those the polarity rule reported are left out)."""
    for side, only, surfaces in (("a", c.only_a, c.a.content), ("b", c.only_b, c.b.content)):
        if only:
            listed = ", ".join(repr(surfaces[w]) for w in only)
            yield f"word{'s' if len(only) > 1 else ''} only in {side}: {listed}"


def _script(c: Comparison) -> Iterator[str]:
    if c.a.foreign != c.b.foreign:
        yield from _multiset("non-Latin text", _pairs(c.a.foreign), _pairs(c.b.foreign))


def _symbol(c: Comparison) -> Iterator[str]:
    if c.a.symbols != c.b.symbols:
        yield from _multiset("symbol", _pairs(c.a.symbols), _pairs(c.b.symbols))


#: The registry :meth:`MergeVerifier.check` walks: one rule per category, in the order of CATEGORIES.
RULES: tuple[Rule, ...] = (
    Rule("flag", _flag),
    Rule("number", _number),
    Rule("unit", _unit),
    Rule("date", _date),
    Rule("time", _time),
    Rule("negation", _negation),
    Rule("polarity", _polarity),
    Rule("roles", _roles),
    Rule("question", _question),
    Rule("tense", _tense),
    Rule("person", _person),
    Rule("plural", _plural),
    Rule("content", _content),
    Rule("script", _script),
    Rule("symbol", _symbol),
)
if tuple(rule.category for rule in RULES) != CATEGORIES:  # a new category needs its rule, in its place
    raise RuntimeError("batchsieve.verifier.rules.RULES must list one rule per category, in CATEGORIES order")
