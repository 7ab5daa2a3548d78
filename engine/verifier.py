"""A rule-based verifier that vetoes semantic merges of requests that ask different things.

A sentence encoder puts "Show me my invoice" and "Don't show me my invoice" at cosine 0.94, and two
requests that differ only in an emoji the tokenizer maps to ``[UNK]`` at cosine 1.0. Under the
``"hybrid"`` strategy every pair of requests that the embeddings would merge goes through
:class:`MergeVerifier` first, and the merge happens only when the verifier finds no difference in what
the two requests ask. A merged request gets another request's answer, so the verifier is built to say
"no" whenever it is unsure: a missed merge costs one handler call, a false one a wrong answer.

Each text is reduced once to :class:`TextFacts` (its numbers, units, dates, times, negations, question
form, tense, pronouns, content words in order, non-Latin words and symbols); two texts' facts are then
compared rule by rule, and every rule that fires adds a human-readable reason to the :class:`Verdict`:

==============  =================================================================================
category        vetoes when the two texts differ in ...
==============  =================================================================================
``flag``        the encoder's report: a text held ``[UNK]`` tokens or was truncated
``number``      numbers and quantities: digits, number words, ordinals, fractions, years, their order
``unit``        units and currencies (km / miles, $ / €, %, °C / °F, GB / MB)
``date``        months, weekdays, today / tomorrow, seasons, holidays, next / last
``time``        times of day (am / pm, morning / evening, 5:30, time zones)
``negation``    the number of negations (not, n't, never, no, without, ...)
``polarity``    a word and its opposite (enable / disable, on / off, lock / unlock, buy / sell)
``roles``       the order of two shared words around the same marker ("from A to B" / "from B to A",
                "A hates B" / "B hates A", "A's B" / "B's A") or of two adjacent words
``question``    the question word or the yes/no auxiliary ("Is X ...?" / "Why is X ...?"; "how much"
                is not "how"; "which" and "what" are one kind; "what is the best way to" is "how")
``tense``       the number of past-tense auxiliaries ("Who was ..." / "Who is ...")
``person``      whose thing it is ("What is your name?" / "What is my name?"); "How do I ..." and
                "How do you ..." are the same question, so subject pronouns may be relabelled
``plural``      singular versus plural after a determiner ("my invoice" / "my invoices")
``content``     a content word (not a filler, not a synonym) present in only one text
``script``      words in a non-Latin script (the encoder often cannot see them)
``symbol``      symbols and emoji
==============  =================================================================================

Identical texts (after :func:`~batchsieve.normalize.normalize_text`) always merge; the encoder's flags
veto every other pair that carries them. The word lists live in :mod:`batchsieve._lexicon`. The verifier
has no mutable state after construction (the only cache is :func:`functools.lru_cache` on a pure
function), so one instance may serve many threads.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from . import _lexicon as lx
from .normalize import normalize_text

__all__ = ["CATEGORIES", "MergeVerifier", "TextFacts", "Verdict"]

#: Veto categories, in the order the rules run.
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


# --------------------------------------------------------------------------------------------------
# Tokenisation
# --------------------------------------------------------------------------------------------------
_APOSTROPHES = str.maketrans({"’": "'", "‘": "'", "`": "'", "´": "'", "ʼ": "'"})
_TOKEN_RE = re.compile(
    r"""
    (?P<time>\d{1,2}:\d{2}(?::\d{2})?)
  | (?P<num>\d+(?:[.,]\d+)*)
  | (?P<code>[a-z]\+\+|[a-z]\#(?![\w]))
  | (?P<word>[^\W\d_]+(?:['.\-][^\W\d_]+)*'?)
  | (?P<sym>[^\w\s])
    """,
    re.VERBOSE,
)
_PUNCT_KEEP = frozenset("$€£¥₹¢%°℃℉+#&@=<>*^~|§©®™")
_VOWELS = frozenset("aeiou")
_KEEP_FINAL_S = ("ss", "us", "ous", "ics", "sis", "xis", "tis", "nis", "ris", "vis", "lis", "this", "his")
_WH_CONTRACTED = frozenset(f"{w}'s" for w in lx.WH_WORDS) | {"it's", "that's", "there's", "here's", "he's", "she's"}
_NEGATION_EXPANSIONS: dict[str, tuple[str, ...]] = {"unable": ("not", "able"), "nope": ("no",)}
_US_COUNTRY = re.compile(r"\bU\.?S\.?(?:A\.?)?\b")
_IT_FIELD = re.compile(r"\bIT\b")
_GET_FORMS = frozenset({"get", "gets", "got", "getting", "gotten"})
_DO_FORMS = frozenset({"do", "does", "did", "doing", "done"})
_AFTER_MAIN_DO = frozenset({"", "to", "with", "for", "in", "on", "about", "after", "during", "if", "when"})
_LIKE_VERB_AFTER = frozenset({
    "i", "you", "we", "they", "he", "she", "people", "to", "not", "do", "does", "did", "really", "also",
    "who", "that", "which", "guys", "girls", "men", "women", "kids", "children", "cats", "dogs",
})  # fmt: skip
#: Determiners after which singular and plural ask different things ("my invoice" / "my invoices").
_DETERMINERS = frozenset({"my", "your", "our", "the", "this", "that", "these", "those", "his", "her", "their"})
_LIKE_FILLER_AFTER = frozenset({
    "would", "d", "feel", "feels", "felt", "look", "looks", "seem", "seems", "sound", "sounds", "it", "is", "are",
    "was", "were", "be", "being", "something", "anything", "things", "stuff", "just", "exactly",
})  # fmt: skip
_WORD_SCALES = {w: v for w, v in lx.SCALE_WORDS.items() if w not in ("k", "mn", "bn")}
#: Units spelled like common words: units only right after a number ("10 mi", "5 in", "2 cups").
_UNITS_NEEDING_NUMBER = frozenset({
    "mo", "mi", "min", "in", "rs", "won", "gig", "cup", "stone", "ton", "deg", "sec", "kilo", "buck", "cell",
    "gal", "amp", "bit", "mp", "cent",
})  # fmt: skip

_MAX_ROLE_GAP = 6
_ROLE_PREFIXES = frozenset("#$@")
_SYMMETRIC_MARKERS = frozenset({"and", "or", "vs", "versus", "between", "&", "the", "a", "an", ",", "difference",
                                "both", "either", "neither", "with"})  # fmt: skip
_COORDINATORS = frozenset({"and", "or", "vs", "versus", "&", ",", "nor"})
#: Words that do not separate two words for the adjacency test of the roles rule ("sue my employer").
_LIGHT_WORDS = frozenset({
    "the", "a", "an", "my", "your", "our", "his", "her", "their", "its", "this", "that", "these", "those",
    "me", "i", "you", "we", "us", "him", "them", "it", "some", "any",
})  # fmt: skip


def _is_latin(word: str) -> bool:
    """True when every letter of ``word`` is ASCII or Latin-1/Latin Extended."""
    return word.isascii() or all(ord(ch) < 0x0250 or not ch.isalpha() for ch in word)


def _number_value(text: str) -> str:
    """Canonical string of a digit token: thousands separators dropped, trailing zeros trimmed."""
    if "," in text:
        parts = text.split(",")
        thousands = all(len(p) == 3 for p in parts[1:])
        text = "".join(parts) if thousands else text.replace(",", ".", 1).replace(",", "")
    if text.count(".") > 1:  # a version or a date: compare as written
        return text
    if "." in text:
        whole, frac = text.split(".")
        frac = frac.rstrip("0")
        whole = whole.lstrip("0") or "0"
        return f"{whole}.{frac}" if frac else whole
    return text.lstrip("0") or "0"


def _scale(value: str, factor: int) -> str:
    """``value`` (canonical number string) times ``factor``, as a canonical string."""
    try:
        if "." in value:
            product = float(value) * factor
            return str(int(product)) if product.is_integer() else repr(product)
        return str(int(value) * factor)
    except ValueError:
        return f"{value}x{factor}"


@functools.lru_cache(maxsize=1 << 16)
def _lemma(word: str) -> str:
    """Light lemmatisation: irregular forms, British spellings, then plural/-ing/-ed/-e/-y suffix rules.

    It need not produce real words, only the same key for the inflections of one word; two different
    words may collide, rarely, and the other rules still apply.
    """
    if word in lx.NO_STEM:
        return word
    word = lx.IRREGULAR.get(word, word)
    word = lx.SPELLING_VARIANTS.get(word, word)
    if word.endswith("'"):
        word = word[:-1]
    if len(word) <= 3 or not word.isalpha():
        return word
    if word[-1] == "s" and not word.endswith(_KEEP_FINAL_S):
        word = word[:-1]
    if word.endswith("ing") and len(word) >= 6:
        word = word[:-3]
    elif word.endswith("ed") and len(word) >= 5:
        word = word[:-2]
    if len(word) >= 4:
        last = word[-1]
        if last == "e":
            word = word[:-1]
        elif last == "y":
            word = word[:-1] + "i"
        if len(word) >= 4 and word[-1] == word[-2] and word[-1] not in _VOWELS and word[-1] != "s":
            word = word[:-1]
    return word


def _split_word(tok: str, out: list[tuple[str, str]]) -> None:
    """Append the tokens of one word: contractions expanded, possessives and hyphens split."""
    tok = tok.strip(".'-") or tok
    if "'" not in tok and "-" not in tok:
        expansion = _NEGATION_EXPANSIONS.get(tok) or lx.CONTRACTIONS.get(tok)
        if expansion:
            out.extend(("word", t) for t in expansion)
        else:
            out.append(("word", tok))
        return
    expansion = lx.CONTRACTIONS.get(tok)
    if expansion:
        out.extend(("word", t) for t in expansion)
        return
    for suffix, tail in lx.CONTRACTION_SUFFIXES:
        if tok.endswith(suffix) and len(tok) > len(suffix):
            stem = tok[: -len(suffix)]
            if suffix == "n't":
                stem = {"ca": "can", "wo": "will", "sha": "shall"}.get(stem, stem)
            out.append(("word", stem))
            out.extend(("word", t) for t in tail)
            return
    if tok in _WH_CONTRACTED:  # what's, who's, it's: "is"
        out.append(("word", tok[:-2]))
        out.append(("word", "is"))
    elif tok.endswith("'s"):
        out.append(("word", tok[:-2]))
        out.append(("poss", "'s"))
    elif "-" in tok and tok not in lx.SYNONYMS:
        out.extend(("word", part) for part in tok.split("-") if part)
    else:
        out.append(("word", tok.replace("'", "")))


def _tokens(norm: str) -> list[tuple[str, str]]:
    """Split a normalised text into ``(kind, text)`` tokens, then join multi-token units.

    Kinds: ``word``, ``num``, ``ord`` (2nd), ``time`` (5:30), ``code`` (c++, c#), ``poss`` ('s),
    ``punct`` (, ; :) and ``sym`` (symbols and emoji). Other punctuation is dropped.
    """
    out: list[tuple[str, str]] = []
    for m in _TOKEN_RE.finditer(norm.translate(_APOSTROPHES) if "'" in norm or not norm.isascii() else norm):
        kind = m.lastgroup
        tok = m.group()
        if kind == "word":
            before = len(out)
            _split_word(tok, out)
            # fold "2" + "nd" into an ordinal and "log" + "in" into "login"
            if before and len(out) == before + 1:
                prev_kind, prev = out[before - 1]
                word = out[before][1]
                if prev_kind == "num" and word in lx.ORDINAL_SUFFIXES:
                    out[before - 1 :] = [("ord", prev + word)]
                elif prev_kind == "word" and (prev, word) in lx.PHRASES:
                    out[before - 1 :] = [("word", lx.PHRASES[(prev, word)])]
        elif kind == "sym":
            if tok in _PUNCT_KEEP or unicodedata.category(tok)[0] == "S":
                out.append(("sym", tok))
            elif tok in ",;:":
                out.append(("punct", tok))
        else:
            out.append((kind or "sym", tok))
    return out


_OPENERS: dict[str, tuple[tuple[str, ...], ...]] = {}
for _opener in lx.POLITE_OPENERS:
    _OPENERS[_opener[0]] = (*_OPENERS.get(_opener[0], ()), _opener)
del _opener


def _opener_length(words: Sequence[str]) -> int:
    """How many leading words form a polite opener ("can you tell me", "please") to be ignored."""
    if not words:
        return 0
    for opener in _OPENERS.get(words[0], ()):
        size = len(opener)
        if len(words) > size and tuple(words[:size]) == opener:
            return size
    return 0


# --------------------------------------------------------------------------------------------------
# The verifier
# --------------------------------------------------------------------------------------------------
class MergeVerifier:
    """Decide whether two requests that embed close together really ask the same thing.

    ``check(a, b)`` returns a :class:`Verdict`; ``explain(a, b)`` says in words why two requests did or
    did not merge. Every rule is symmetric, so ``check(a, b).ok == check(b, a).ok``, and identical
    texts (after :func:`~batchsieve.normalize.normalize_text`) always merge.

    ``rules`` selects the categories to apply (default: all of :data:`CATEGORIES`); the ``flag`` rule
    (unknown tokens, truncation) cannot be switched off. ``extra_fillers`` and ``extra_synonyms``
    extend the lexicon for a domain (e.g. ``extra_synonyms={"cost": "price"}`` makes "cost" mean
    "price").
    """

    def __init__(
        self,
        *,
        rules: Iterable[str] | None = None,
        extra_fillers: Iterable[str] = (),
        extra_synonyms: Mapping[str, str] | None = None,
    ) -> None:
        chosen = frozenset(CATEGORIES if rules is None else rules) | {"flag"}
        unknown = chosen - set(CATEGORIES)
        if unknown:
            raise ValueError(f"unknown verifier rules: {sorted(unknown)}; choose from {CATEGORIES}")
        self._rules = chosen
        self._fillers = lx.FILLERS | frozenset(w.casefold() for w in extra_fillers)
        synonyms = dict(lx.SYNONYMS)
        for word, canon in (extra_synonyms or {}).items():
            canon = canon.casefold()
            synonyms[word.casefold()] = synonyms.get(canon, canon)
        self._synonyms = {_lemma(w): _lemma(c) for w, c in synonyms.items()}
        antonyms: dict[str, set[str]] = {}
        for x, y in lx.ANTONYM_PAIRS:
            antonyms.setdefault(_lemma(x), set()).add(_lemma(y))
            antonyms.setdefault(_lemma(y), set()).add(_lemma(x))
        self._antonyms = {k: frozenset(v) for k, v in antonyms.items()}
        self._special = _special_words()
        keys = self._synonyms
        self._symmetric = frozenset(keys.get(_lemma(w), _lemma(w)) for w in _SYMMETRIC_MARKERS) | _SYMMETRIC_MARKERS
        self._coordinators = frozenset(keys.get(_lemma(w), _lemma(w)) for w in _COORDINATORS) | _COORDINATORS
        lemmas = (_lemma(w) for w in lx.PLURAL_NEUTRAL)
        self._plural_neutral = frozenset(self._synonyms.get(w, w) for w in lemmas)

    @property
    def rules(self) -> frozenset[str]:
        """The rule categories this verifier applies."""
        return self._rules

    # ----------------------------------------------------------------------------------------------
    # Facts of one text
    # ----------------------------------------------------------------------------------------------
    def facts(self, text: str) -> TextFacts:
        """Extract the :class:`TextFacts` of ``text``.

        Pure: the same text always gives the same facts. Pass facts to :meth:`check` to compare one text
        with many others without analysing it again.
        """
        norm = normalize_text(text)
        toks = _tokens(norm)
        us_country = "US" in text and _US_COUNTRY.search(text) is not None
        it_field = "IT" in text and _IT_FIELD.search(text) is not None
        n = len(toks)
        words = [t if k == "word" else "" for k, t in toks]
        start = _opener_length(words)
        special = self._special
        fillers = self._fillers
        synonyms = self._synonyms
        numbers: list[tuple[str, str]] = []
        units: list[tuple[str, str]] = []
        dates: list[tuple[str, str]] = []
        times: list[tuple[str, str]] = []
        negations: list[tuple[str, str]] = []
        owners: list[tuple[str, str]] = []
        subjects: set[str] = set()
        content: dict[str, str] = {}
        shown: dict[str, str] = {}  # sequence key -> surface word, for reasons
        forms: list[tuple[str, str]] = []
        raw: set[str] = set()
        seq: list[str] = []
        foreign: list[str] = []
        symbols: list[str] = []

        num_at = [k in ("num", "ord", "time") or (k == "word" and special.get(t) == "num") for k, t in toks]
        num_at.append(False)  # num_at[-1] and num_at[n] read False

        def is_num(j: int) -> bool:
            return num_at[j] if j >= 0 else False

        last_det = -9
        # "what is the best way to" asks "how" (see _question): its words are not content words
        skip = start + _how_phrase_length(words[start:]) if start < n and words[start] in ("what", "which") else start
        i = start
        while i < n:
            kind, tok = toks[i]
            i += 1
            if kind == "word":
                spec = special.get(tok)
                if spec is None:
                    if not _is_latin(tok):
                        foreign.append(tok)
                        seq.append(tok)
                        continue
                    if tok in lx.UNITS_AFTER_NUMBER and i >= 2 and num_at[i - 2]:
                        unit = lx.UNITS_AFTER_NUMBER[tok]
                        units.append((unit, tok))
                        seq.append("$" + unit)
                        continue
                    surface = tok
                    if tok == "us" and (us_country or (i >= 2 and words[i - 2] == "the")):  # "the US"
                        tok = "usa"
                    elif tok == "it" and it_field:  # "IT jobs": information technology
                        tok = "i.t."
                    lemma = _lemma(tok)
                    key = synonyms.get(lemma, lemma)
                    seq.append(key)
                    shown.setdefault(key, surface)
                    raw.add(lemma)
                    if tok in fillers or i <= skip or (tok in _GET_FORMS and _participle(words, i)):
                        if tok in _DETERMINERS:
                            last_det = i - 1
                        if tok in lx.SUBJECT_PRONOUNS:
                            subjects.add(lx.SUBJECT_PRONOUNS[tok])
                        elif tok in lx.OWNER_PRONOUNS:
                            owners.append((lx.OWNER_PRONOUNS[tok], tok))
                        elif (tok in _DO_FORMS and i >= 2 and _is_content_word(words[i - 2], fillers, special)
                              and (i >= n or words[i] in _AFTER_MAIN_DO)):
                            content.setdefault("do", tok)  # "What does melanin do?": a main verb
                        continue
                    content.setdefault(key, surface)
                    if i - 1 - last_det <= 3 and key not in self._plural_neutral:
                        forms.append((key, tok))
                    if tok in _DETERMINERS:  # his, her, their
                        last_det = i - 1
                    continue
                i = self._special_word(spec, toks, words, i - 1, is_num, numbers, units, dates, times,
                                       negations, subjects, content, raw, seq)  # fmt: skip
            elif kind == "num":
                value = _number_value(tok)
                if i < n and toks[i][0] == "word" and toks[i][1] in lx.SCALE_WORDS:  # "5 million", "10k"
                    value = _scale(value, lx.SCALE_WORDS[toks[i][1]])
                    tok = f"{tok} {toks[i][1]}"
                    i += 1
                numbers.append((value, tok))
                seq.append("#" + value)
            elif kind == "ord":
                value = "#" + _number_value(tok[:-2])
                numbers.append((value, tok))
                seq.append("#" + value)
            elif kind == "time":
                hh, _, rest = tok.partition(":")
                value = f"{int(hh)}:{rest}"
                times.append((value, tok))
                seq.append("@" + value)
            elif kind == "code":
                content.setdefault(tok, tok)
                raw.add(tok)
                seq.append(tok)
            elif kind == "sym":
                unit = lx.UNITS.get(tok)
                if unit is not None:
                    units.append((unit, tok))
                    seq.append("$" + unit)
                else:
                    symbols.append(tok)
                    seq.append(tok)
            else:  # poss, punct
                seq.append(tok)

        question, question_surface = _question(words[start:], norm.endswith("?"))
        grammatical: dict[str, set[bool]] = {}
        for key, tok in forms:
            grammatical.setdefault(key, set()).add(_is_plural(tok))
        positions: dict[str, int] = {}
        repeated: set[str] = set()
        for pos, key in enumerate(seq):
            if key in positions:
                repeated.add(key)
            positions[key] = pos
        for key in repeated:
            del positions[key]
        return TextFacts(
            norm=norm,
            numbers=tuple(sorted(numbers)),
            number_order=tuple(k for k in seq if k[:1] == "#"),
            units=tuple(sorted(units)),
            dates=tuple(sorted(dates)),
            times=tuple(sorted(times)),
            negations=tuple(sorted(negations)),
            question=question,
            question_surface=question_surface,
            past=tuple(w for w in words[start:] if w in lx.PAST_AUX),
            plural=frozenset(k for k, f in grammatical.items() if f == {True}),
            singular=frozenset(k for k, f in grammatical.items() if f == {False}),
            subjects=frozenset(subjects),
            owners=tuple(owners),
            content=content,
            shown=shown,
            raw_lemmas=frozenset(raw),
            sequence=tuple(seq),
            unique=positions,
            foreign=tuple(sorted(foreign)),
            symbols=tuple(sorted(symbols)),
        )

    def _special_word(
        self,
        spec: str,
        toks: Sequence[tuple[str, str]],
        words: Sequence[str],
        i: int,
        is_num: Callable[[int], bool],
        numbers: list[tuple[str, str]],
        units: list[tuple[str, str]],
        dates: list[tuple[str, str]],
        times: list[tuple[str, str]],
        negations: list[tuple[str, str]],
        subjects: set[str],
        content: dict[str, str],
        raw: set[str],
        seq: list[str],
    ) -> int:
        """Classify the lexicon word at ``toks[i]``; return the index of the next unread token."""
        tok = toks[i][1]
        prev_num = is_num(i - 1)
        near_num = prev_num or is_num(i + 1)
        if spec == "num":
            if tok == "one" and _pronoun_one(words, i):
                subjects.add("g")
                seq.append("one")
                return i + 1
            total, current, j, parts = 0, 0, i, []
            while j < len(toks) and toks[j][0] == "word":
                w = toks[j][1]
                if w in lx.NUMBER_WORDS:
                    current += lx.NUMBER_WORDS[w]
                elif w in _WORD_SCALES:
                    scale = _WORD_SCALES[w]
                    if scale >= 1000:
                        total, current = total + max(current, 1) * scale, 0
                    else:
                        current = max(current, 1) * scale
                elif not (w == "and" and parts and j + 1 < len(toks) and toks[j + 1][1] in lx.NUMBER_WORDS):
                    break
                parts.append(w)
                j += 1
            value = str(total + current)
            numbers.append((value, " ".join(parts)))
            seq.append("#" + value)
            return j
        if spec == "ord" and not (tok == "second" and prev_num):
            value = "#" + str(lx.ORDINAL_WORDS[tok])
            numbers.append((value, tok))
            seq.append("#" + value)
            return i + 1
        if spec == "frac":
            numbers.append((lx.FRACTION_WORDS[tok], tok))
            seq.append("#" + lx.FRACTION_WORDS[tok])
            return i + 1
        if spec == "pscale":  # "thousands of"
            numbers.append((tok, tok))
            seq.append("#" + tok)
            return i + 1
        if spec == "percent" and i + 1 < len(words) and words[i + 1] == "cent":  # "per cent"
            units.append(("percent", f"{tok} cent"))
            seq.append("$percent")
            return i + 2
        if spec.startswith("unit:") and (prev_num or tok not in _UNITS_NEEDING_NUMBER):
            unit = spec[5:]
            units.append((unit, tok))
            seq.append("$" + unit)
            return i + 1
        if spec.startswith("month:") and (near_num or tok not in lx.AMBIGUOUS_MONTHS):
            dates.append((spec[6:], tok))
            seq.append("@" + spec[6:])
            return i + 1
        if spec.startswith("day:") and tok not in lx.AMBIGUOUS_DAYS:
            dates.append((spec[4:], tok))
            seq.append("@" + spec[4:])
            return i + 1
        if spec == "relative":
            dates.append((tok, tok))
            seq.append("@" + tok)
            return i + 1
        if spec.startswith("time:") and (prev_num or tok not in lx.AMBIGUOUS_TIMES):
            times.append((spec[5:], tok))
            seq.append("@" + spec[5:])
            return i + 1
        if spec == "neg":
            surface = f"{words[i - 1]} not" if tok == "not" and i > 0 and words[i - 1] else tok
            negations.append(("not", surface))
            seq.append("not")
            return i + 1
        if spec == "like" and (_like_is_filler(words, i)):
            raw.add("like")
            seq.append("like")
            return i + 1
        # an ambiguous word that is not special here ("may" the verb, "march" the noun): a plain word
        lemma = _lemma(tok)
        key = self._synonyms.get(lemma, lemma)
        seq.append(key)
        raw.add(lemma)
        if tok not in self._fillers:
            content.setdefault(key, tok)
        elif tok in lx.SUBJECT_PRONOUNS:
            subjects.add(lx.SUBJECT_PRONOUNS[tok])
        return i + 1

    # ----------------------------------------------------------------------------------------------
    # Comparing two texts
    # ----------------------------------------------------------------------------------------------
    def check(
        self,
        a: str | TextFacts,
        b: str | TextFacts,
        *,
        a_unknown: bool = False,
        b_unknown: bool = False,
        a_truncated: bool = False,
        b_truncated: bool = False,
    ) -> Verdict:
        """Whether ``a`` and ``b`` may merge, with every reason against it.

        ``a``/``b`` are texts or their :meth:`facts`. ``*_unknown`` and ``*_truncated`` are the encoder's
        flags for each text: its tokenizer produced ``[UNK]`` tokens, or the text was cut at the encoder's
        maximum length. Either flag vetoes the merge unless the two texts are identical after
        normalisation.
        """
        fa = a if isinstance(a, TextFacts) else self.facts(a)
        fb = b if isinstance(b, TextFacts) else self.facts(b)
        if fa.norm == fb.norm:
            return Verdict(True)
        reasons: list[str] = []
        cats: list[str] = []

        def veto(category: str, reason: str) -> None:
            cats.append(category)
            reasons.append(reason)

        for side, unknown, truncated in (("a", a_unknown, a_truncated), ("b", b_unknown, b_truncated)):
            if unknown:
                veto("flag", f"unknown tokens: the encoder mapped part of {side} to [UNK], so it cannot see it")
            if truncated:
                veto("flag", f"truncated: {side} is longer than the encoder's window; its tail was not embedded")

        rules = self._rules
        if "number" in rules:
            _multiset_rule(veto, "number", "number", fa.numbers, fb.numbers)
            if fa.number_order != fb.number_order and len(fa.numbers) > 1 and _same(fa.numbers, fb.numbers):
                shown_a = ", ".join(k.lstrip("#") for k in fa.number_order)
                shown_b = ", ".join(k.lstrip("#") for k in fb.number_order)
                veto("number", f"numbers in a different order: {shown_a} in a vs {shown_b} in b")
        if "unit" in rules:
            _multiset_rule(veto, "unit", "unit", fa.units, fb.units)
        if "date" in rules:
            _multiset_rule(veto, "date", "date", fa.dates, fb.dates)
        if "time" in rules:
            _multiset_rule(veto, "time", "time", fa.times, fb.times)
        if "negation" in rules and len(fa.negations) != len(fb.negations):
            sa = ", ".join(repr(s) for _, s in fa.negations) or "none"
            sb = ", ".join(repr(s) for _, s in fb.negations) or "none"
            veto("negation", f"negation differs: {sa} in a vs {sb} in b")

        ca, cb = fa.content, fb.content
        only_a = [w for w in ca if w not in cb]
        only_b = [w for w in cb if w not in ca]
        if "polarity" in rules:
            self._polarity_rule(veto, fa, fb, only_a, only_b)
        if "roles" in rules:
            _roles_rule(veto, fa, fb, self._symmetric, self._coordinators)
        if "question" in rules and not _same_question(fa.question, fb.question):
            sa = fa.question_surface or "(no question word)"
            sb = fb.question_surface or "(no question word)"
            veto("question", f"question word differs: {sa!r} vs {sb!r}")
        if "tense" in rules and len(fa.past) != len(fb.past):
            sa = " ".join(fa.past) or "present"
            sb = " ".join(fb.past) or "present"
            veto("tense", f"tense differs: {sa!r} in a vs {sb!r} in b")
        if "person" in rules:
            _person_rule(veto, fa, fb)
        if "plural" in rules:
            differ = (fa.plural & fb.singular) | (fa.singular & fb.plural)
            if differ:
                shown = ", ".join(f"{fa.content[k]!r} vs {fb.content[k]!r}" for k in fa.content if k in differ)
                veto("plural", f"singular vs plural: {shown}")
        if "content" in rules:
            for side, only, surfaces in (("a", only_a, ca), ("b", only_b, cb)):
                if only:
                    listed = ", ".join(repr(surfaces[w]) for w in only)
                    veto("content", f"word{'s' if len(only) > 1 else ''} only in {side}: {listed}")
        if "script" in rules and fa.foreign != fb.foreign:
            _multiset_rule(veto, "script", "non-Latin text", _pairs(fa.foreign), _pairs(fb.foreign))
        if "symbol" in rules and fa.symbols != fb.symbols:
            _multiset_rule(veto, "symbol", "symbol", _pairs(fa.symbols), _pairs(fb.symbols))
        return Verdict(not reasons, tuple(reasons), tuple(cats))

    def _polarity_rule(
        self, veto: Callable[[str, str], None], fa: TextFacts, fb: TextFacts, only_a: list[str], only_b: list[str]
    ) -> None:
        """Opposite meanings: antonym pairs across the texts, and negating prefixes (lock / unlock)."""
        ra_only = fa.raw_lemmas - fb.raw_lemmas
        if not ra_only:
            return
        rb_only = fb.raw_lemmas - fa.raw_lemmas
        if not rb_only:
            return
        found: list[tuple[str, str]] = []
        for x in sorted(ra_only):
            for y in sorted(self._antonyms.get(x, ())):
                if y in rb_only:
                    found.append((x, y))
            for p in lx.NEGATING_PREFIXES:
                if x.startswith(p) and len(x) - len(p) >= 3 and x[len(p) :] in rb_only:
                    found.append((x, x[len(p) :]))
                if p + x in rb_only and len(x) >= 3:
                    found.append((x, p + x))
        syn = self._synonyms
        for x, y in dict.fromkeys(found):
            kx, ky = syn.get(x, x), syn.get(y, y)
            veto("polarity", f"opposite meaning: {fa.content.get(kx, x)!r} vs {fb.content.get(ky, y)!r}")
            if kx in only_a:  # the content rule need not report these words again
                only_a.remove(kx)
            if ky in only_b:
                only_b.remove(ky)

    def explain(
        self, a: str, b: str, cosine: float | None = None, threshold: float | None = None, **flags: bool
    ) -> str:
        """Say in words why ``a`` and ``b`` did or did not merge.

        With ``cosine`` and ``threshold`` (the embedding similarity and the strategy's threshold), the
        explanation covers the whole hybrid decision: exact match, then the threshold, then the verifier.
        ``flags`` are the encoder flags of :meth:`check` (``a_unknown=...``, ...).
        """
        head = f"a: {a!r}\nb: {b!r}\n"
        fa, fb = self.facts(a), self.facts(b)
        if fa.norm == fb.norm:
            return head + "MERGE: identical after normalisation (exact match)"
        verdict = self.check(fa, fb, **flags)
        lines: list[str] = []
        candidate = True
        if cosine is not None:
            if threshold is None:
                lines.append(f"cosine {cosine:.3f}")
            elif cosine >= threshold:
                lines.append(f"cosine {cosine:.3f} >= threshold {threshold:.3f}: an embedding candidate")
            else:
                candidate = False
                lines.append(f"cosine {cosine:.3f} < threshold {threshold:.3f}: not an embedding candidate")
        if verdict.ok:
            lines.append("verifier: no difference found in numbers, units, dates, times, negation, polarity, "
                         "roles, question form, tense, person, content words, scripts or symbols")  # fmt: skip
        else:
            count = len(verdict.reasons)
            lines.append(f"verifier vetoes ({count} reason{'s' if count > 1 else ''}):")
            lines.extend(f"  - [{c}] {r}" for c, r in zip(verdict.categories, verdict.reasons, strict=True))
        if cosine is None or threshold is None:
            decision = "ALLOWED: the verifier finds no difference" if verdict.ok else "VETOED by the verifier"
        elif not candidate:
            decision = "NO MERGE: below the threshold"
        else:
            decision = "MERGE" if verdict.ok else "NO MERGE: vetoed by the verifier"
        return head + decision + "\n" + "\n".join(lines)


# --------------------------------------------------------------------------------------------------
# Lexicon lookups
# --------------------------------------------------------------------------------------------------
def _special_words() -> dict[str, str]:
    """Map every lexicon word that needs more than the content/filler test to its kind."""
    kinds: dict[str, str] = {}
    for w in lx.MONTHS:
        kinds[w] = "month:" + lx.MONTHS[w]
    for w, day in lx.DAY_WORDS.items():
        kinds[w] = "day:" + day
        if not w.endswith("s"):
            kinds.setdefault(w + "s", "day:" + day)  # "mondays", "weekends"
    for w in lx.RELATIVE_TIME:
        kinds[w] = "relative"
    for w, t in lx.TIME_WORDS.items():
        kinds[w] = "time:" + t
        kinds.setdefault(w + "s", "time:" + t)  # "mornings"
    for w, unit in lx.UNITS.items():
        kinds.setdefault(w, "unit:" + unit)
        if w.isalpha() and len(w) > 2 and not w.endswith("s"):
            kinds.setdefault(w + "s", "unit:" + unit)  # "kilometers", "dollars"
            if w.endswith(("ch", "sh", "x")):
                kinds.setdefault(w + "es", "unit:" + unit)
    kinds.update({"inches": "unit:inch", "centuries": "unit:century", "pounds": "unit:pound"})
    for w in lx.COUNTED_NEGATIONS:
        kinds[w] = "neg"
    for w in lx.FRACTION_WORDS:
        kinds[w] = "frac"
    for w in lx.ORDINAL_WORDS:
        kinds[w] = "ord"
    for w in lx.NUMBER_WORDS:
        kinds[w] = "num"
    for w in _WORD_SCALES:
        kinds[w] = "num"
        kinds[w + "s"] = "pscale"
    kinds["per"] = "percent"
    kinds["like"] = "like"
    return kinds


def _is_plural(tok: str) -> bool:
    """Whether a content word is written in the plural ("invoices", "men"); verbs in -s count too."""
    if tok in lx.IRREGULAR_PLURALS:
        return True
    return len(tok) > 3 and tok[-1] == "s" and not tok.endswith(_KEEP_FINAL_S)


def _participle(words: Sequence[str], i: int) -> bool:
    """Whether ``words[i]`` is a past participle ("get charged", "got declined"): a passive "get"."""
    word = words[i] if i < len(words) else ""
    return (len(word) > 4 and word.endswith("ed")) or word in lx.IRREGULAR_PARTICIPLES


def _pronoun_one(words: Sequence[str], i: int) -> bool:
    """Whether "one" at ``words[i]`` is the pronoun ("how does one ...") rather than the number."""
    prev = words[i - 1] if i > 0 else ""
    nxt = words[i + 1] if i + 1 < len(words) else ""
    return prev in lx.PRONOUN_ONE_AFTER or not nxt or nxt in ("of", "is", "can", "should", "must", "'s")


def _like_is_filler(words: Sequence[str], i: int) -> bool:
    """Whether "like" at ``words[i]`` is a filler ("what is it like", "would like"), not the verb."""
    prev = words[i - 1] if i > 0 else ""
    nxt = words[i + 1] if i + 1 < len(words) else ""
    if prev in _LIKE_FILLER_AFTER or not nxt:
        return True
    # "What is the weather like in Paris?": a preposition after "what ... <noun>"
    return "what" in words[:i] and prev not in _LIKE_VERB_AFTER


def _is_content_word(word: str, fillers: frozenset[str], special: Mapping[str, str]) -> bool:
    """Whether ``word`` is a plain content word (for the main-verb "do" test)."""
    return bool(word) and word not in fillers and word not in special and word.isalpha()


def _how_phrase_length(ws: Sequence[str]) -> int:
    """Length of an opener that asks "how" in other words ("what is the best way to", "what should I
    do to"), or 0."""
    for phrase in lx.HOW_PHRASES:
        if tuple(ws[: len(phrase)]) == phrase:
            return len(phrase)
    # what is/are [the|a|some] [best|easiest|...] way(s)/method(s)/step(s)/tip(s) to
    if len(ws) < 4 or ws[0] not in ("what", "which") or ws[1] not in ("is", "are"):
        return 0
    k = 2
    while k < len(ws) and ws[k] in lx.HOW_PHRASE_FILLERS:
        k += 1
    if k + 1 < len(ws) and ws[k] in lx.HOW_PHRASE_NOUNS and ws[k + 1] in ("to", "for", "of"):
        return k + 2
    return 0


def _wh_kind(ws: Sequence[str], k: int) -> str:
    """The kind of the question word at ``ws[k]``: "how much" and "how many" ask for a quantity."""
    kind = lx.WH_WORDS[ws[k]]
    if kind == "how" and k + 1 < len(ws) and ws[k + 1] in lx.HOW_QUANTITY:
        return f"how {lx.SYNONYMS.get(ws[k + 1], ws[k + 1])}"
    return kind


def _wh_surface(ws: Sequence[str], k: int) -> str:
    return f"how {ws[k + 1]}" if _wh_kind(ws, k).startswith("how ") else ws[k]


def _question(ws: Sequence[str], asks: bool) -> tuple[tuple[str, ...], str]:
    """The question kinds of a text (polite opener removed) and the words that show them.

    ``asks`` tells whether the text ends with a question mark: "VoIP is legal in India?" asks what "Is
    VoIP legal in India?" asks.
    """
    ws = [w for w in ws if w]
    if len(ws) > 1 and ws[0] == "do" and ws[1] == "not":  # "Don't show me ...": an imperative
        ws = ws[2:]
    wh_pos = [k for k, w in enumerate(ws) if w in lx.WH_WORDS]
    if ws and ws[0] in lx.YESNO_AUX:
        for phrase, aux in lx.YESNO_PHRASES.items():
            if tuple(ws[: len(phrase)]) == phrase:
                kinds = sorted({lx.WH_WORDS[ws[k]] for k in wh_pos})
                return (f"yes/no:{aux}", *kinds), " ".join(phrase)
    if ws and ws[0] in ("what", "which", "in"):
        n = _how_phrase_length(ws)
        if n:
            rest = [ws[k] for k in wh_pos if k >= n and lx.WH_WORDS[ws[k]] != "how"]
            kinds = sorted({"how", *(lx.WH_WORDS[w] for w in rest)})
            return tuple(kinds), " ".join([*ws[:n], *rest])
    kinds = {_wh_kind(ws, k) for k in wh_pos}
    surface = list(dict.fromkeys(_wh_surface(ws, k) for k in wh_pos))
    if kinds == {"what"} and ws[-1] == "for" and len(ws) > 3 and ws[1] in ("is", "are", "was", "were"):
        # "What is X for?" asks "why"
        kinds = {"why"}
        surface = [*surface, "... for"]
    if ws and ws[0] in lx.YESNO_AUX and (not wh_pos or wh_pos[0] > 3):
        return (f"yes/no:{lx.YESNO_AUX[ws[0]]}", *sorted(kinds)), " ".join([ws[0], *surface])
    if kinds:
        return tuple(sorted(kinds)), " ".join(surface)
    if asks:  # "VoIP is legal in India?": a yes/no question in statement order
        aux = next((w for w in ws if w in lx.YESNO_AUX), None)
        if aux is not None:
            return (f"yes/no:{lx.YESNO_AUX[aux]}",), f"{aux} ...?"
    return ("statement",), ""


# --------------------------------------------------------------------------------------------------
# Rule helpers
# --------------------------------------------------------------------------------------------------
def _pairs(items: Sequence[str]) -> tuple[tuple[str, str], ...]:
    return tuple((x, x) for x in items)


def _same(a: Sequence[tuple[str, str]], b: Sequence[tuple[str, str]]) -> bool:
    """Whether two ``(canonical, surface)`` multisets have the same canonical values."""
    return len(a) == len(b) and all(x[0] == y[0] for x, y in zip(a, b, strict=True))


def _multiset_rule(
    veto: Callable[[str, str], None],
    category: str,
    noun: str,
    a: Sequence[tuple[str, str]],
    b: Sequence[tuple[str, str]],
) -> None:
    """Veto when the canonical values of ``a`` and ``b`` differ as multisets."""
    if _same(a, b):
        return
    ca, cb = Counter(c for c, _ in a), Counter(c for c, _ in b)
    extra_a, extra_b = ca - cb, cb - ca
    sa = ", ".join(repr(s) for c, s in a if c in extra_a)
    sb = ", ".join(repr(s) for c, s in b if c in extra_b)
    if sa and sb:
        veto(category, f"{noun} differs: {sa} vs {sb}")
    elif sa:
        veto(category, f"{noun} only in a: {sa}")
    else:
        veto(category, f"{noun} only in b: {sb}")


def _same_question(qa: tuple[str, ...], qb: tuple[str, ...]) -> bool:
    """Whether two question forms ask for the same kind of answer.

    A statement ("Show me my invoice") asks what a "what" or "how" question asks; everything else must
    match exactly ("which" and "what" are one kind; see :data:`batchsieve._lexicon.WH_WORDS`).
    """
    if qa == qb:
        return True
    loose = (("statement",), ("what",), ("how",))
    return (qa == ("statement",) and qb in loose) or (qb == ("statement",) and qa in loose)


def _person_rule(veto: Callable[[str, str], None], fa: TextFacts, fb: TextFacts) -> None:
    """Whose thing: possessive and object pronouns must agree once subject pronouns are relabelled."""
    sa, sb = fa.subjects, fb.subjects
    mapping: dict[str, str] = {}
    if sa and sb and sa != sb:
        if len(sa) == 1 and len(sb) == 1:
            (x,), (y,) = sa, sb
            mapping = {x: y, y: x}  # "How do I ..." = "How do you ...": swap the two persons
        else:
            veto("person", f"pronouns differ: {_persons(sa)} in a vs {_persons(sb)} in b")
            return
    if not fa.owners or not fb.owners:
        return
    oa = {mapping.get(p, p) for p, _ in fa.owners}
    ob = {p for p, _ in fb.owners}
    if oa != ob:
        shown_a = ", ".join(repr(s) for _, s in fa.owners)
        shown_b = ", ".join(repr(s) for _, s in fb.owners)
        veto("person", f"person differs: {shown_a} in a vs {shown_b} in b")


def _persons(persons: frozenset[str]) -> str:
    names = {"1": "first person", "2": "second person", "g": "generic 'one'"}
    return " + ".join(names[p] for p in sorted(persons))


#: Markers that play the same role around two swapped words ("10 km to miles" / "10 miles into km").
_SAME_ROLE_MARKER = {"into": "to", "towards": "to", "toward": "to", "onto": "to", "unto": "to"}


def _roles_rule(
    veto: Callable[[str, str], None],
    fa: TextFacts,
    fb: TextFacts,
    symmetric: frozenset[str],
    coordinators: frozenset[str],
) -> None:
    """Swapped roles: two shared words (content words, numbers, units, dates) in opposite orders.

    A swap vetoes when the two words sit around the same non-symmetric marker in both texts ("from A
    to B" / "from B to A", "A hates B" / "B hates A", "A's B" / "B's A") or are adjacent in both ("milk
    chocolate" / "chocolate milk", "my employer sue" / "sue my employer"). "A and B" / "B and A" and "A
    vs B" / "B vs A" are symmetric and allowed, as is a change of construction ("the capital of France"
    / "France's capital"). Markers count up to :data:`_MAX_ROLE_GAP` words apart; farther apart, only a
    marker that occurs once in each text counts.
    """
    ua, ub = fa.unique, fb.unique
    shared = [w for w in ua if w in ub and w not in symmetric and (w in fa.content or w[:1] in _ROLE_PREFIXES)
              and (w in fb.content or w[:1] in _ROLE_PREFIXES)]  # fmt: skip
    if len(shared) < 2:
        return
    sa, sb = fa.sequence, fb.sequence
    adjacent: tuple[str, str] | None = None
    for i, x in enumerate(shared):
        for y in shared[i + 1 :]:
            if (ua[x] < ua[y]) == (ub[x] < ub[y]):
                continue
            lo_a, hi_a = sorted((ua[x], ua[y]))
            lo_b, hi_b = sorted((ub[x], ub[y]))
            mid_a = {_SAME_ROLE_MARKER.get(w, w) for w in sa[lo_a + 1 : hi_a]}
            mid_b = {_SAME_ROLE_MARKER.get(w, w) for w in sb[lo_b + 1 : hi_b]}
            common = mid_a & mid_b
            if common & coordinators and "not" not in common:
                continue  # "real gas and ideal gas" / "ideal gas and real gas"; not "X and not Y"
            markers = common - symmetric
            if hi_a - lo_a > _MAX_ROLE_GAP or hi_b - lo_b > _MAX_ROLE_GAP:
                markers = {m for m in markers if m in ua and m in ub and m not in _LIGHT_WORDS and m.isalpha()}
            first, second = (x, y) if ua[x] < ua[y] else (y, x)
            if markers:
                marker = _shown(sorted(markers)[0], fa)
                one, two = _shown(first, fa), _shown(second, fa)
                veto("roles", f"roles swapped: {one!r} ... {marker!r} ... {two!r} in a, "
                              f"{two!r} ... {marker!r} ... {one!r} in b")  # fmt: skip
                return
            if adjacent is None and not (mid_a - _LIGHT_WORDS) and not (mid_b - _LIGHT_WORDS):
                adjacent = (first, second)
    if adjacent is not None and all(w in fa.content for w in adjacent):
        one, two = _shown(adjacent[0], fa), _shown(adjacent[1], fa)
        veto("roles", f"word order swapped: {one!r} {two!r} in a, {two!r} {one!r} in b")


def _shown(key: str, facts: TextFacts) -> str:
    """How a sequence key is quoted in a reason: its surface word, or the key without its tag."""
    return facts.content.get(key) or facts.shown.get(key) or key.lstrip("#$@")
