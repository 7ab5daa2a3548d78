"""A rule-based verifier that vetoes semantic merges of requests that ask different things.

A sentence encoder puts "Show me my invoice" and "Don't show me my invoice" at cosine 0.94, and two
requests that differ only in an emoji the tokenizer maps to ``[UNK]`` at cosine 1.0. Under the
``"hybrid"`` strategy every pair of requests that the embeddings would merge goes through
:class:`MergeVerifier` first, and the merge happens only when the verifier finds no difference in what
the two requests ask. A merged request gets another request's answer, so the verifier is built to say
"no" whenever it is unsure: a missed merge costs one handler call, a false one a wrong answer.

Each text is reduced to :class:`TextFacts` (its numbers, units, dates, times, negations, question
form, tense, content words in order, non-Latin words and symbols); two texts' facts are then compared
rule by rule, and every rule that fires adds a human-readable reason to the :class:`Verdict`:

====================  ===========================================================================
category              vetoes when the two texts differ in ...
====================  ===========================================================================
``flag``              the encoder's report: a text held ``[UNK]`` tokens or was truncated
``number``            numbers and quantities: digits, number words, ordinals, fractions, years
``unit``              units and currencies (km / miles, $ / €, %, °C / °F, GB / MB)
``date``              months, weekdays, today / tomorrow, seasons, next / last
``time``              times of day (am / pm, morning / evening, 5:30)
``negation``          the number of negations (not, n't, never, no, without, ...)
``polarity``          a word and its opposite (enable / disable, on / off, lock / unlock)
``roles``             the order of two shared content words around the same marker
                      ("from A to B" / "from B to A", "A hates B" / "B hates A")
``question``          the question word or the yes/no auxiliary ("Is X ...?" / "Why is X ...?")
``tense``             past versus non-past auxiliaries ("Who was ..." / "Who is ...")
``content``           a content word (not a filler, not a synonym) present in only one text
``script``            words in a non-Latin script (the encoder often cannot see them)
``symbol``            symbols and emoji
====================  ===========================================================================

The word lists live in :mod:`batchsieve._lexicon`. The verifier has no mutable state after
construction, so one instance may serve many threads.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from . import _lexicon as lx
from .normalize import normalize_text

__all__ = ["CATEGORIES", "MergeVerifier", "TextFacts", "Verdict"]

#: Veto categories, in the order the rules run.
CATEGORIES: tuple[str, ...] = (
    "flag", "number", "unit", "date", "time", "negation", "polarity", "roles", "question", "tense",
    "content", "script", "symbol",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Verdict:
    """The verifier's answer for one pair of texts.

    ``ok`` is ``True`` when the merge is allowed; ``reasons`` lists every veto, human-readable, and
    ``categories`` the category of each reason (same order, one of :data:`CATEGORIES`).
    """

    ok: bool
    reasons: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return self.ok


@dataclass(frozen=True, slots=True)
class TextFacts:
    """What the verifier extracts from one text (see :meth:`MergeVerifier.facts`).

    Multisets are sorted tuples of ``(canonical, surface)`` pairs: the canonical form is compared, the
    surface form (as written, case-folded) is quoted in reasons.
    """

    norm: str
    numbers: tuple[tuple[str, str], ...]
    units: tuple[tuple[str, str], ...]
    dates: tuple[tuple[str, str], ...]
    times: tuple[tuple[str, str], ...]
    negations: tuple[tuple[str, str], ...]
    question: tuple[str, ...]  # question kinds ("what", "why", ..., "yes/no:can", "statement")
    question_surface: str
    past: str  # the past-tense auxiliary, "" when none
    content: tuple[tuple[str, str], ...]  # (canonical lemma, surface), each lemma once, in text order
    raw_lemmas: frozenset[str]  # lemmas before synonym mapping (for the opposite-meaning rule)
    sequence: tuple[str, ...]  # every token's canonical lemma, in order (for the roles rule)
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
_DIGIT_SUFFIX_RE = re.compile(r"^(\d+)(st|nd|rd|th)$")
_SYMMETRIC_MARKERS = frozenset({"and", "or", "vs", "versus", "between", "&", "the", "a", "an", ",", "difference"})
_MAX_ROLE_GAP = 5
_ROLE_PREFIXES = frozenset("#$@")
#: Words that do not separate two words for the adjacency test of the roles rule ("sue my employer").
_LIGHT_WORDS = frozenset({
    "the", "a", "an", "my", "your", "our", "his", "her", "their", "its", "this", "that", "these", "those",
    "me", "i", "you", "we", "us", "him", "them", "it", "some", "any",
})  # fmt: skip
_NEGATION_EXPANSIONS: dict[str, tuple[str, ...]] = {
    "unable": ("not", "able"),
    "nope": ("no",),
}



def _is_latin(word: str) -> bool:
    """True when every letter of ``word`` is ASCII or Latin-1/Latin Extended."""
    return word.isascii() or all(ord(ch) < 0x0250 or not ch.isalpha() for ch in word)


def _number_value(text: str) -> str:
    """Canonical string of a digit token: thousands separators dropped, trailing zeros trimmed."""
    if "," in text:
        parts = text.split(",")
        if all(len(p) == 3 for p in parts[1:]):
            text = "".join(parts)
        else:
            text = text.replace(",", ".", 1).replace(",", "")
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
        return value + f"x{factor}"


def _lemma(word: str) -> str:
    """Light lemmatisation: irregular forms, British spellings, then plural/-ing/-ed/-e/-y suffix rules.

    It need not produce real words, only the same key for the inflections of one word; a collision of
    two different words is possible but rare, and the other rules still apply.
    """
    word = lx.IRREGULAR.get(word, word)
    word = lx.SPELLING_VARIANTS.get(word, word)
    if word.endswith("'s"):
        word = word[:-2]
    elif word.endswith("'"):
        word = word[:-1]
    if len(word) <= 3 or not word.isalpha():
        return word
    if word.endswith("s") and not word.endswith(("ss", "us", "is", "ous", "ics")):
        word = word[:-1]
    if word.endswith("ing") and len(word) >= 6:
        word = word[:-3]
    elif word.endswith("ed") and len(word) >= 5:
        word = word[:-2]
    if len(word) >= 4:
        if word.endswith("e"):
            word = word[:-1]
        elif word.endswith("y"):
            word = word[:-1] + "i"
        if len(word) >= 4 and word[-1] == word[-2] and word[-1] not in _VOWELS and word[-1] != "s":
            word = word[:-1]
    return word


def _tokens(norm: str) -> list[tuple[str, str]]:
    """Split a normalised text into ``(kind, text)`` tokens; contractions are expanded."""
    out: list[tuple[str, str]] = []
    for m in _TOKEN_RE.finditer(norm.translate(_APOSTROPHES)):
        kind = m.lastgroup or "sym"
        tok = m.group()
        if kind == "word":
            tok = tok.strip(".'-") or tok
            if tok in lx.CONTRACTIONS:
                out.extend(("word", t) for t in lx.CONTRACTIONS[tok])
                continue
            if tok in _NEGATION_EXPANSIONS:
                out.extend(("word", t) for t in _NEGATION_EXPANSIONS[tok])
                continue
            for suffix, expansion in lx.CONTRACTION_SUFFIXES:
                if tok.endswith(suffix) and len(tok) > len(suffix):
                    stem = tok[: -len(suffix)]
                    if suffix == "n't" and stem == "ca":
                        stem = "can"
                    elif suffix == "n't" and stem == "wo":
                        stem = "will"
                    out.append(("word", stem))
                    out.extend(("word", t) for t in expansion)
                    break
            else:
                if (tok.endswith("'s") and tok[:-2] in lx.WH_WORDS) or tok in ("it's", "that's", "there's", "here's", "he's", "she's"):  # what's, who's, how's, where's
                    out.append(("word", tok[:-2]))
                    out.append(("word", "is"))
                elif tok.endswith("'s"):
                    out.append(("word", tok[:-2]))
                    out.append(("poss", "'s"))
                elif "-" in tok and tok not in lx.SYNONYMS:
                    out.extend(("word", part) for part in tok.split("-") if part)
                else:
                    out.append(("word", tok))
        elif kind == "sym":
            if tok in _PUNCT_KEEP or unicodedata.category(tok)[0] == "S":
                out.append(("sym", tok))
            elif tok in ",;:":
                out.append(("punct", tok))
        else:
            out.append((kind, tok))
    return out


def _fold(tokens: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Join tokens that belong together: "2" + "nd" is an ordinal, "log" + "in" is "login"."""
    out: list[tuple[str, str]] = []
    for kind, tok in tokens:
        if out and kind == "word":
            prev_kind, prev = out[-1]
            if prev_kind == "num" and tok in lx.ORDINAL_SUFFIXES:
                out[-1] = ("ord", prev)
                continue
            if prev_kind == "word" and (prev, tok) in lx.PHRASES:
                out[-1] = ("word", lx.PHRASES[(prev, tok)])
                continue
        out.append((kind, tok))
    return out


# --------------------------------------------------------------------------------------------------
# The verifier
# --------------------------------------------------------------------------------------------------
class MergeVerifier:
    """Decide whether two requests that embed close together really ask the same thing.

    ``check(a, b)`` returns a :class:`Verdict`; ``explain(a, b)`` says in words why two requests did or
    did not merge. Every rule is symmetric, so ``check(a, b).ok == check(b, a).ok``. Identical texts
    (after :func:`~batchsieve.normalize.normalize_text`) always merge.

    ``rules`` selects the categories to apply (default: all of :data:`CATEGORIES`); the ``flag`` rule
    (unknown tokens, truncation) cannot be switched off. ``extra_fillers`` and ``extra_synonyms``
    extend the lexicon for a domain (e.g. ``extra_synonyms={"invoice": "bill"}``).
    """

    def __init__(
        self,
        *,
        rules: Iterable[str] | None = None,
        extra_fillers: Iterable[str] = (),
        extra_synonyms: dict[str, str] | None = None,
    ) -> None:
        chosen = frozenset(CATEGORIES if rules is None else rules) | {"flag"}
        unknown = chosen - set(CATEGORIES)
        if unknown:
            raise ValueError(f"unknown verifier rules: {sorted(unknown)}; choose from {CATEGORIES}")
        self._rules = chosen
        self._fillers = lx.FILLERS | frozenset(w.casefold() for w in extra_fillers)
        synonyms = dict(lx.SYNONYMS)
        for word, canon in (extra_synonyms or {}).items():
            synonyms[word.casefold()] = synonyms.get(canon.casefold(), canon.casefold())
        self._synonyms = {_lemma(w): _lemma(c) for w, c in synonyms.items()}
        self._antonyms = frozenset(
            pair for x, y in lx.ANTONYM_PAIRS for pair in ((_lemma(x), _lemma(y)), (_lemma(y), _lemma(x)))
        )

    @property
    def rules(self) -> frozenset[str]:
        """The rule categories this verifier applies."""
        return self._rules

    # ----------------------------------------------------------------------------------------------
    # Facts of one text
    # ----------------------------------------------------------------------------------------------
    def facts(self, text: str) -> TextFacts:
        """Extract the :class:`TextFacts` of ``text`` (pure: the same text always gives the same facts)."""
        norm = normalize_text(text)
        toks = _fold(_tokens(norm))
        n = len(toks)
        numbers: list[tuple[str, str]] = []
        units: list[tuple[str, str]] = []
        dates: list[tuple[str, str]] = []
        times: list[tuple[str, str]] = []
        negations: list[tuple[str, str]] = []
        content: dict[str, str] = {}
        raw: set[str] = set()
        sequence: list[str] = []
        foreign: list[str] = []
        symbols: list[str] = []
        words = [t if k == "word" else "" for k, t in toks]
        is_num = [k in ("num", "ord", "time") or (k == "word" and t in lx.NUMBER_WORDS) for k, t in toks]

        i = 0
        while i < n:
            kind, tok = toks[i]
            prev_num = i > 0 and is_num[i - 1]
            next_num = i + 1 < n and is_num[i + 1]
            if kind == "num":
                value = _number_value(tok)
                # "5 million", "10k"
                if i + 1 < n and toks[i + 1][1] in lx.SCALE_WORDS and toks[i + 1][0] == "word":
                    value = _scale(value, lx.SCALE_WORDS[toks[i + 1][1]])
                    numbers.append((value, f"{tok} {toks[i + 1][1]}"))
                    sequence.append("#" + value)
                    i += 2
                    continue
                numbers.append((value, tok))
                sequence.append("#" + value)
            elif kind == "ord":
                numbers.append(("#" + _number_value(tok), tok))
                sequence.append("##" + tok)
            elif kind == "time":
                hh, _, rest = tok.partition(":")
                times.append((f"{int(hh)}:{rest}", tok))
                sequence.append("@" + tok)
            elif kind == "code":
                content.setdefault(tok, tok)
                raw.add(tok)
                sequence.append(tok)
            elif kind == "poss":
                sequence.append("'s")
            elif kind == "punct":
                sequence.append(tok)
            elif kind == "sym":
                if tok in lx.UNITS:
                    units.append((lx.UNITS[tok], tok))
                    sequence.append("$" + lx.UNITS[tok])
                else:
                    symbols.append(tok)
                    sequence.append(tok)
            else:  # a word
                consumed = self._word(
                    toks, words, i, prev_num, next_num, numbers, units, dates, times, negations, content,
                    raw, sequence, foreign,
                )  # fmt: skip
                i += consumed
                continue
            i += 1

        question, question_surface = self._question(words)
        past = next((w for w in words if w in lx.PAST_AUX), "")
        return TextFacts(
            norm=norm,
            numbers=tuple(sorted(numbers)),
            units=tuple(sorted(units)),
            dates=tuple(sorted(dates)),
            times=tuple(sorted(times)),
            negations=tuple(sorted(negations)),
            question=question,
            question_surface=question_surface,
            past=past,
            content=tuple(content.items()),
            raw_lemmas=frozenset(raw),
            sequence=tuple(sequence),
            foreign=tuple(sorted(foreign)),
            symbols=tuple(sorted(symbols)),
        )

    def _word(
        self,
        toks: Sequence[tuple[str, str]],
        words: Sequence[str],
        i: int,
        prev_num: bool,
        next_num: bool,
        numbers: list[tuple[str, str]],
        units: list[tuple[str, str]],
        dates: list[tuple[str, str]],
        times: list[tuple[str, str]],
        negations: list[tuple[str, str]],
        content: dict[str, str],
        raw: set[str],
        sequence: list[str],
        foreign: list[str],
    ) -> int:
        """Classify the word at ``toks[i]``; return how many tokens it consumed."""
        tok = toks[i][1]
        if not _is_latin(tok):
            foreign.append(tok)
            sequence.append(tok)
            return 1
        # number words: "twenty five", "two hundred and fifty", "a hundred", "five million"
        if tok in lx.NUMBER_WORDS or (tok in lx.SCALE_WORDS and tok not in ("k", "mn", "bn")):
            prev = words[i - 1] if i > 0 else ""
            if tok == "one" and (prev in lx.PRONOUN_ONE_AFTER or not (i + 1 < len(words) and words[i + 1])):
                sequence.append("one")
                return 1
            total, current, j, parts = 0, 0, i, []
            while j < len(toks) and toks[j][0] == "word":
                w = toks[j][1]
                if w in lx.NUMBER_WORDS:
                    current += lx.NUMBER_WORDS[w]
                elif w in lx.SCALE_WORDS and w not in ("k", "mn", "bn"):
                    scale = lx.SCALE_WORDS[w]
                    if scale >= 1000:
                        total += max(current, 1) * scale
                        current = 0
                    else:
                        current = max(current, 1) * scale
                elif w == "and" and parts and j + 1 < len(toks) and toks[j + 1][1] in lx.NUMBER_WORDS:
                    pass
                else:
                    break
                parts.append(w)
                j += 1
            value = str(total + current)
            numbers.append((value, " ".join(parts)))
            sequence.append("#" + value)
            return j - i
        if tok in lx.ORDINAL_WORDS and not (tok == "second" and prev_num):
            value = "#" + str(lx.ORDINAL_WORDS[tok])
            numbers.append((value, tok))
            sequence.append(value)
            return 1
        if tok in lx.FRACTION_WORDS:
            numbers.append((lx.FRACTION_WORDS[tok], tok))
            sequence.append("#" + lx.FRACTION_WORDS[tok])
            return 1
        plural_scale = tok[:-1] if tok.endswith("s") else ""
        if plural_scale in lx.SCALE_WORDS and plural_scale not in ("k", "mn", "bn"):  # "thousands of"
            numbers.append((plural_scale + "s", tok))
            sequence.append("#" + plural_scale + "s")
            return 1
        # units: "5 km", "10 miles", "in 3 hours"; single letters only right after a number
        if prev_num and tok in lx.UNITS_AFTER_NUMBER:
            units.append((lx.UNITS_AFTER_NUMBER[tok], tok))
            sequence.append("$" + lx.UNITS_AFTER_NUMBER[tok])
            return 1
        singular = tok[:-1] if tok.endswith("s") and len(tok) > 3 else tok
        if tok in ("per", "a", "an") and i + 1 < len(words) and words[i + 1] in ("cent",):
            units.append(("percent", f"{tok} cent"))
            sequence.append("$percent")
            return 2
        unit = lx.UNITS.get(tok) or lx.UNITS.get(singular)
        if unit is not None and (tok not in ("mo", "mi", "min", "in", "rs", "won", "gig", "cup", "stone")
                                 or prev_num):  # fmt: skip
            units.append((unit, tok))
            sequence.append("$" + unit)
            return 1
        # dates and times
        month = lx.MONTHS.get(tok)
        if month is not None and (tok not in lx.AMBIGUOUS_MONTHS or prev_num or next_num):
            dates.append((month, tok))
            sequence.append("@" + month)
            return 1
        day = lx.DAY_WORDS.get(tok) or lx.DAY_WORDS.get(singular)
        if day is not None and tok not in lx.AMBIGUOUS_DAYS:
            dates.append((day, tok))
            sequence.append("@" + day)
            return 1
        if tok in lx.RELATIVE_TIME:
            dates.append((tok, tok))
            sequence.append("@" + tok)
            return 1
        t = lx.TIME_WORDS.get(tok) or lx.TIME_WORDS.get(singular)
        if t is not None and (tok not in lx.AMBIGUOUS_TIMES or prev_num):
            times.append((t, tok))
            sequence.append("@" + t)
            return 1
        # negation
        if tok in lx.COUNTED_NEGATIONS:
            surface = tok
            if tok == "not" and i > 0 and toks[i - 1][0] == "word":
                surface = f"{toks[i - 1][1]} not"
            negations.append(("not", surface))
            sequence.append("not")
            return 1
        # fillers and content words
        lemma = _lemma(tok)
        sequence_lemma = self._synonyms.get(lemma, lemma)
        sequence.append(sequence_lemma)
        if tok in self._fillers:
            raw.add(lemma)  # still visible to the opposite-meaning rule
            return 1
        raw.add(lemma)
        content.setdefault(sequence_lemma, tok)
        return 1

    @staticmethod
    def _question(words: Sequence[str]) -> tuple[tuple[str, ...], str]:
        """The question kinds of a text and the words that show them."""
        ws = [w for w in words if w]
        # drop polite openers: "Can you tell me why ..." asks "why"
        for opener in lx.POLITE_OPENERS:
            if tuple(ws[: len(opener)]) == opener:
                ws = ws[len(opener) :]
                break
        if len(ws) > 1 and ws[0] == "do" and ws[1] == "not":  # "Don't show me ...": an imperative
            ws = ws[2:]
        for phrase, aux in lx.YESNO_PHRASES.items():
            if tuple(ws[: len(phrase)]) == phrase:
                kinds = sorted({lx.WH_WORDS[w] for w in ws if w in lx.WH_WORDS})
                return (f"yes/no:{aux}", *kinds), " ".join(phrase)
        for phrase in lx.HOW_PHRASES:
            if tuple(ws[: len(phrase)]) == phrase:
                rest = [w for w in ws[len(phrase) :] if w in lx.WH_WORDS and lx.WH_WORDS[w] != "how"]
                kinds = sorted({"how", *(lx.WH_WORDS[w] for w in rest)})
                return tuple(kinds), " ".join([*phrase, *rest])
        wh_pos = [k for k, w in enumerate(ws) if w in lx.WH_WORDS]
        kinds = sorted({lx.WH_WORDS[ws[k]] for k in wh_pos})
        surface = list(dict.fromkeys(ws[k] for k in wh_pos))
        if ws and ws[0] in lx.YESNO_AUX and (not wh_pos or wh_pos[0] > 3):
            return (f"yes/no:{lx.YESNO_AUX[ws[0]]}", *kinds), " ".join([ws[0], *surface])
        if kinds:
            return tuple(kinds), " ".join(surface)
        return ("statement",), ""

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

        ``a``/``b`` are texts or their :meth:`facts` (pass facts to avoid re-analysing a text that is
        compared with many others). ``*_unknown`` and ``*_truncated`` are the encoder's flags for each
        text: its tokenizer produced ``[UNK]`` tokens, or the text was cut at the encoder's maximum
        length. Either flag vetoes the merge unless the two texts are identical after normalisation.
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
            if len(fa.numbers) > 1 and [c for c, _ in fa.numbers] == [c for c, _ in fb.numbers]:
                order_a = [k for k in fa.sequence if k[:1] == "#"]
                order_b = [k for k in fb.sequence if k[:1] == "#"]
                if order_a != order_b:
                    shown_a = ", ".join(k.lstrip("#") for k in order_a)
                    shown_b = ", ".join(k.lstrip("#") for k in order_b)
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

        ca = dict(fa.content)
        cb = dict(fb.content)
        only_a = [w for w in ca if w not in cb]
        only_b = [w for w in cb if w not in ca]
        if "polarity" in rules:
            self._polarity(veto, fa, fb, ca, cb, only_a, only_b)
        if "roles" in rules:
            _roles_rule(veto, fa, fb, ca, cb)
        if "question" in rules and not _same_question(fa.question, fb.question):
            sa = fa.question_surface or "(no question word)"
            sb = fb.question_surface or "(no question word)"
            veto("question", f"question word differs: {sa!r} vs {sb!r}")
        if "tense" in rules and bool(fa.past) != bool(fb.past):
            veto("tense", f"tense differs: {fa.past or 'present'!r} vs {fb.past or 'present'!r}")
        if "content" in rules:
            for side, only, facts_map in (("a", only_a, ca), ("b", only_b, cb)):
                if only:
                    listed = ", ".join(repr(facts_map[w]) for w in only)
                    plural = "s" if len(only) > 1 else ""
                    veto("content", f"word{plural} only in {side}: {listed}")
        if "script" in rules and fa.foreign != fb.foreign:
            _multiset_rule(veto, "script", "non-Latin text", _pairs(fa.foreign), _pairs(fb.foreign))
        if "symbol" in rules and fa.symbols != fb.symbols:
            _multiset_rule(veto, "symbol", "symbol", _pairs(fa.symbols), _pairs(fb.symbols))
        return Verdict(not reasons, tuple(reasons), tuple(cats))

    def _polarity(
        self,
        veto,
        fa: TextFacts,
        fb: TextFacts,
        ca: dict[str, str],
        cb: dict[str, str],
        only_a: list[str],
        only_b: list[str],
    ) -> None:
        """Opposite meanings: antonym pairs across the texts, and negating prefixes (lock / unlock)."""
        ra_only = fa.raw_lemmas - fb.raw_lemmas
        rb_only = fb.raw_lemmas - fa.raw_lemmas
        found: list[tuple[str, str]] = []
        for x in sorted(ra_only):
            for y in sorted(rb_only):
                if (x, y) in self._antonyms or _negated_by_prefix(x, y) or _negated_by_prefix(y, x):
                    found.append((x, y))
        for x, y in found:
            sx = ca.get(self._synonyms.get(x, x), x)
            sy = cb.get(self._synonyms.get(y, y), y)
            veto("polarity", f"opposite meaning: {sx!r} vs {sy!r}")
            # the content rule need not report these words again
            for lst, w in ((only_a, self._synonyms.get(x, x)), (only_b, self._synonyms.get(y, y))):
                if w in lst:
                    lst.remove(w)

    def explain(self, a: str, b: str, cosine: float | None = None, threshold: float | None = None, **flags) -> str:
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
        embedding_ok = True
        if cosine is not None:
            if threshold is None:
                lines.append(f"cosine {cosine:.3f}")
            elif cosine >= threshold:
                lines.append(f"cosine {cosine:.3f} >= threshold {threshold:.3f}: embedding candidate")
            else:
                embedding_ok = False
                lines.append(f"cosine {cosine:.3f} < threshold {threshold:.3f}: not a candidate")
        if verdict.ok:
            lines.append("verifier: no difference found in numbers, units, dates, times, negation, "
                         "polarity, roles, question form, tense, content words, scripts or symbols")  # fmt: skip
        else:
            lines.append(f"verifier vetoes ({len(verdict.reasons)} reason{'s' * (len(verdict.reasons) > 1)}):")
            lines.extend(f"  - [{c}] {r}" for c, r in zip(verdict.categories, verdict.reasons, strict=True))
        merged = embedding_ok and verdict.ok and cosine is not None and threshold is not None
        if cosine is None or threshold is None:
            decision = "ALLOWED (the verifier finds no difference)" if verdict.ok else "VETOED"
        else:
            decision = "MERGE" if merged else "NO MERGE"
        return head + decision + "\n" + "\n".join(lines)


# --------------------------------------------------------------------------------------------------
# Rule helpers
# --------------------------------------------------------------------------------------------------
def _pairs(items: Sequence[str]) -> tuple[tuple[str, str], ...]:
    return tuple((x, x) for x in items)


def _multiset_rule(veto, category: str, noun: str, a: Sequence[tuple[str, str]], b: Sequence[tuple[str, str]]) -> None:
    """Veto when the canonical values of ``a`` and ``b`` differ as multisets."""
    if [c for c, _ in a] == [c for c, _ in b]:
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


def _negated_by_prefix(x: str, y: str) -> bool:
    """True when ``x`` is ``y`` with a negating prefix ("unlock" / "lock", "invalid" / "valid")."""
    if len(y) < 3:
        return False
    return any(x == p + y or x == p + "-" + y for p in lx.NEGATING_PREFIXES)


def _same_question(qa: tuple[str, ...], qb: tuple[str, ...]) -> bool:
    """Whether two question forms ask for the same kind of answer.

    A statement ("Show me my invoice") asks what a "what" or "how" question asks; everything else must
    match exactly.
    """
    if qa == qb:
        return True
    loose = {("statement",), ("what",), ("how",)}
    return (qa == ("statement",) and qb in loose) or (qb == ("statement",) and qa in loose)


def _roles_rule(veto, fa: TextFacts, fb: TextFacts, ca: dict[str, str], cb: dict[str, str]) -> None:
    """Swapped roles: two shared words (content words, numbers, units, dates) in opposite orders.

    A swap vetoes when the words sit around the same non-symmetric marker in both texts ("from A to B"
    / "from B to A", "A hates B" / "B hates A", "A's B" / "B's A") or are adjacent in both ("milk
    chocolate" / "chocolate milk"). "A and B" / "B and A" and "A vs B" / "B vs A" are symmetric and
    allowed, as is a change of construction ("the capital of France" / "France's capital").
    """
    sa, sb = fa.sequence, fb.sequence
    ca_keys = ca.keys() | {w for w in sa if w[:1] in _ROLE_PREFIXES}
    shared = [w for w in dict.fromkeys(sa) if w in ca_keys and sa.count(w) == 1 and sb.count(w) == 1
              and (w in cb or w[:1] in _ROLE_PREFIXES)]  # fmt: skip
    if len(shared) < 2:
        return
    pos_a = {w: sa.index(w) for w in shared}
    pos_b = {w: sb.index(w) for w in shared}
    adjacent: tuple[str, str] | None = None
    for i, x in enumerate(shared):
        for y in shared[i + 1 :]:
            if (pos_a[x] < pos_a[y]) == (pos_b[x] < pos_b[y]):
                continue
            lo_a, hi_a = sorted((pos_a[x], pos_a[y]))
            lo_b, hi_b = sorted((pos_b[x], pos_b[y]))
            if hi_a - lo_a > _MAX_ROLE_GAP + 1 or hi_b - lo_b > _MAX_ROLE_GAP + 1:
                continue
            mid_a = set(sa[lo_a + 1 : hi_a])
            mid_b = set(sb[lo_b + 1 : hi_b])
            markers = (mid_a & mid_b) - _SYMMETRIC_MARKERS
            first, second = (x, y) if pos_a[x] < pos_a[y] else (y, x)
            if markers:
                marker = sorted(markers)[0]
                veto("roles", f"roles swapped: {_shown(first, ca)!r} {marker} {_shown(second, ca)!r} in a, "
                              f"{_shown(second, ca)!r} {marker} {_shown(first, ca)!r} in b")  # fmt: skip
                return
            if not (mid_a - _LIGHT_WORDS) and not (mid_b - _LIGHT_WORDS) and adjacent is None:
                adjacent = (first, second)
    if adjacent is not None:
        first, second = adjacent
        veto("roles", f"word order swapped: {_shown(first, ca)!r} {_shown(second, ca)!r} in a, "
                      f"{_shown(second, ca)!r} {_shown(first, ca)!r} in b")  # fmt: skip


def _shown(key: str, surfaces: dict[str, str]) -> str:
    """How a sequence key is quoted in a reason: its surface word, or the key without its tag."""
    if key in surfaces:
        return surfaces[key]
    return key.lstrip("#$@")
