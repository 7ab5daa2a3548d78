"""Reduce one text to its :class:`TextFacts`: a builder walks the tokens and sorts each word into its kind."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import ClassVar

from ..normalize import normalize_text
from . import lexicon as lx
from ._model import TextFacts
from ._morphology import is_participle, is_plural, lemma, number_value, scale
from ._question import how_phrase_length, question
from ._tokens import is_latin, opener_length, tokens
from ._vocabulary import WORD_SCALES, Vocabulary

# read for every word: module-level names, and plain dict copies of the frozen mappings
_GET_FORMS, _DO_FORMS, _DETERMINERS, _AFTER_MAIN_DO = lx.GET_FORMS, lx.DO_FORMS, lx.DETERMINERS, lx.AFTER_MAIN_DO
_SUBJECTS = dict(lx.SUBJECT_PRONOUNS)
_OWNERS = dict(lx.OWNER_PRONOUNS)
_UNITS_AFTER_NUMBER = dict(lx.UNITS_AFTER_NUMBER)
_US_COUNTRY = re.compile(r"\bU\.?S\.?(?:A\.?)?\b")
_IT_FIELD = re.compile(r"\bIT\b")
#: Words after "one" that make it the pronoun ("one should", "one's"), not the number.
_PRONOUN_ONE_NEXT = ("of", "is", "can", "should", "must", "'s")


def text_facts(text: str, vocab: Vocabulary) -> TextFacts:
    """The :class:`TextFacts` of ``text`` read with ``vocab``."""
    return _FactsBuilder(text, vocab).build()


class _FactsBuilder:
    """Accumulates the facts of one text, token by token; used once, by :func:`text_facts`.

    Each ``_on_*`` method reads the token at index ``i`` (and maybe the ones after it), records what it
    found, and returns the index of the next unread token.
    """

    def __init__(self, text: str, vocab: Vocabulary) -> None:
        self.vocab = vocab
        self.norm = norm = normalize_text(text)
        self.toks = toks = tokens(norm)
        self.words = words = [t if k == "word" else "" for k, t in toks]
        self.start = start = opener_length(words)
        # "what is the best way to" asks "how" (see _question): its words are not content words
        self.skip = start + how_phrase_length(words[start:]) if start < len(toks) and words[start] in (
            "what", "which") else start  # fmt: skip
        # "US" and "IT" in capitals are the country and the field, not the pronouns
        self.us_country = "US" in text and _US_COUNTRY.search(text) is not None
        self.it_field = "IT" in text and _IT_FIELD.search(text) is not None
        special = vocab.special
        self.num_at = [k in ("num", "ord", "time") or (k == "word" and special.get(t, ("",))[0] == "num")
                       for k, t in toks]  # fmt: skip
        self.num_at.append(False)  # num_at[-1] and num_at[len(toks)] read False
        self.numbers: list[tuple[str, str]] = []
        self.units: list[tuple[str, str]] = []
        self.dates: list[tuple[str, str]] = []
        self.times: list[tuple[str, str]] = []
        self.negations: list[tuple[str, str]] = []
        self.owners: list[tuple[str, str]] = []
        self.subjects: set[str] = set()
        self.content: dict[str, str] = {}
        self.shown: dict[str, str] = {}  # sequence key -> surface word, for reasons
        self.forms: list[tuple[str, str]] = []  # (content key, word) right after a determiner
        self.raw: set[str] = set()
        self.seq: list[str] = []
        self.foreign: list[str] = []
        self.symbols: list[str] = []
        self.last_det = -9  # index of the last determiner

    # ----------------------------------------------------------------------------------------------
    def build(self) -> TextFacts:
        toks, handlers, n = self.toks, self._HANDLERS, len(self.toks)
        i = self.start
        while i < n:
            i = handlers.get(toks[i][0], _FactsBuilder._on_mark)(self, i)
        return self._facts()

    def _is_num(self, j: int) -> bool:
        return self.num_at[j] if j >= 0 else False

    def _quantity(self, value: str, surface: str) -> None:
        self.numbers.append((value, surface))
        self.seq.append("#" + value)

    def _unit(self, unit: str, surface: str) -> None:
        self.units.append((unit, surface))
        self.seq.append("$" + unit)

    # ----------------------------------------------------------------------------------------------
    # Tokens other than words
    # ----------------------------------------------------------------------------------------------
    def _on_num(self, i: int) -> int:
        toks = self.toks
        tok = toks[i][1]
        value = number_value(tok)
        if i + 1 < len(toks) and toks[i + 1][0] == "word" and toks[i + 1][1] in lx.SCALE_WORDS:  # "5 million", "10k"
            value = scale(value, lx.SCALE_WORDS[toks[i + 1][1]])
            self._quantity(value, f"{tok} {toks[i + 1][1]}")
            return i + 2
        self._quantity(value, tok)
        return i + 1

    def _on_ord(self, i: int) -> int:
        tok = self.toks[i][1]
        value = "#" + number_value(tok[:-2])
        self._quantity(value, tok)
        return i + 1

    def _on_time(self, i: int) -> int:
        tok = self.toks[i][1]
        hh, _, rest = tok.partition(":")
        value = f"{int(hh)}:{rest}"
        self.times.append((value, tok))
        self.seq.append("@" + value)
        return i + 1

    def _on_code(self, i: int) -> int:
        tok = self.toks[i][1]
        self.content.setdefault(tok, tok)
        self.raw.add(tok)
        self.seq.append(tok)
        return i + 1

    def _on_sym(self, i: int) -> int:
        tok = self.toks[i][1]
        unit = lx.UNITS.get(tok)
        if unit is not None:
            self._unit(unit, tok)
        else:
            self.symbols.append(tok)
            self.seq.append(tok)
        return i + 1

    def _on_mark(self, i: int) -> int:
        """A possessive "'s" or a kept punctuation mark: only a position in the sequence."""
        self.seq.append(self.toks[i][1])
        return i + 1

    # ----------------------------------------------------------------------------------------------
    # Words
    # ----------------------------------------------------------------------------------------------
    def _on_word(self, i: int) -> int:
        tok = self.toks[i][1]
        spec = self.vocab.special.get(tok)
        if spec is not None:
            after = self._SPECIAL[spec[0]](self, i, tok, spec[1])
            if after is not None:
                return after
            self._ambiguous_word(i, tok)
            return i + 1
        if not is_latin(tok):
            self.foreign.append(tok)
            self.seq.append(tok)
        elif tok in _UNITS_AFTER_NUMBER and i >= 1 and self.num_at[i - 1]:  # "5 m", "3 g"
            self._unit(_UNITS_AFTER_NUMBER[tok], tok)
        else:
            self._plain_word(i, tok)
        return i + 1

    def _plain_word(self, i: int, tok: str) -> None:
        """A word no lexicon table claims: a filler, a pronoun, or a content word."""
        words, vocab = self.words, self.vocab
        surface = tok
        if tok == "us" and (self.us_country or (i >= 1 and words[i - 1] == "the")):  # "the US"
            tok = "usa"
        elif tok == "it" and self.it_field:  # "IT jobs": information technology
            tok = "i.t."
        lem = lemma(tok)
        key = vocab.synonyms.get(lem, lem)
        self.seq.append(key)
        self.shown.setdefault(key, surface)
        self.raw.add(lem)
        if tok in vocab.fillers or i < self.skip or (tok in _GET_FORMS and is_participle(words, i + 1)):
            if tok in _DETERMINERS:
                self.last_det = i
            if tok in _SUBJECTS:
                self.subjects.add(_SUBJECTS[tok])
            elif tok in _OWNERS:
                self.owners.append((_OWNERS[tok], tok))
            elif tok in _DO_FORMS and i >= 1 and self._is_content_word(words[i - 1]) and (
                    i + 1 >= len(words) or words[i + 1] in _AFTER_MAIN_DO):  # fmt: skip
                self.content.setdefault("do", tok)  # "What does melanin do?": a main verb
            return
        self.content.setdefault(key, surface)
        if i - self.last_det <= 3 and key not in vocab.plural_neutral:
            self.forms.append((key, tok))
        if tok in _DETERMINERS:  # his, her, their
            self.last_det = i

    def _ambiguous_word(self, i: int, tok: str) -> None:
        """A lexicon word that is not what the lexicon says here ("may" the verb, "march" the noun)."""
        lem = lemma(tok)
        key = self.vocab.synonyms.get(lem, lem)
        self.seq.append(key)
        self.raw.add(lem)
        if tok not in self.vocab.fillers:
            self.content.setdefault(key, tok)
        elif tok in _SUBJECTS:
            self.subjects.add(_SUBJECTS[tok])

    def _is_content_word(self, word: str) -> bool:
        """Whether ``word`` is a plain content word (for the main-verb "do" test)."""
        return bool(word) and word not in self.vocab.fillers and word not in self.vocab.special and word.isalpha()

    # ----------------------------------------------------------------------------------------------
    # Lexicon words, by kind: each returns the next index, or None when the word is ambiguous here
    # (then it is read as a plain word by _ambiguous_word)
    # ----------------------------------------------------------------------------------------------
    def _on_number_words(self, i: int, tok: str, _: str) -> int | None:
        """Spelled-out numbers, summed over the run of number words ("two hundred and five")."""
        toks = self.toks
        if tok == "one" and self._pronoun_one(i):
            self.subjects.add("g")
            self.seq.append("one")
            return i + 1
        total, current, j, parts = 0, 0, i, []
        while j < len(toks) and toks[j][0] == "word":
            w = toks[j][1]
            if w in lx.NUMBER_WORDS:
                current += lx.NUMBER_WORDS[w]
            elif w in WORD_SCALES:
                factor = WORD_SCALES[w]
                if factor >= 1000:
                    total, current = total + max(current, 1) * factor, 0
                else:
                    current = max(current, 1) * factor
            elif not (w == "and" and parts and j + 1 < len(toks) and toks[j + 1][1] in lx.NUMBER_WORDS):
                break
            parts.append(w)
            j += 1
        self._quantity(str(total + current), " ".join(parts))
        return j

    def _pronoun_one(self, i: int) -> bool:
        """Whether "one" at ``i`` is the pronoun ("how does one ...") rather than the number."""
        words = self.words
        prev = words[i - 1] if i > 0 else ""
        nxt = words[i + 1] if i + 1 < len(words) else ""
        return prev in lx.PRONOUN_ONE_AFTER or not nxt or nxt in _PRONOUN_ONE_NEXT

    def _on_ordinal(self, i: int, tok: str, value: str) -> int | None:
        if tok == "second" and self._is_num(i - 1):  # "a 5 second delay": not an ordinal
            return None
        self._quantity(value, tok)
        return i + 1

    def _on_fraction(self, i: int, tok: str, value: str) -> int | None:
        self._quantity(value, tok)
        return i + 1

    def _on_plural_scale(self, i: int, tok: str, value: str) -> int | None:  # "thousands of"
        self._quantity(value, tok)
        return i + 1

    def _on_per(self, i: int, tok: str, _: str) -> int | None:
        if i + 1 < len(self.words) and self.words[i + 1] == "cent":  # "per cent"
            self._unit("percent", f"{tok} cent")
            return i + 2
        return None

    def _on_unit(self, i: int, tok: str, unit: str) -> int | None:
        if self._is_num(i - 1) or tok not in lx.UNITS_NEEDING_NUMBER:
            self._unit(unit, tok)
            return i + 1
        return None

    def _on_month(self, i: int, tok: str, month: str) -> int | None:
        if self._is_num(i - 1) or self._is_num(i + 1) or tok not in lx.AMBIGUOUS_MONTHS:
            self._date(month, tok)
            return i + 1
        return None

    def _on_day(self, i: int, tok: str, day: str) -> int | None:
        if tok in lx.AMBIGUOUS_DAYS:
            return None
        self._date(day, tok)
        return i + 1

    def _on_relative(self, i: int, tok: str, value: str) -> int | None:
        self._date(value, tok)
        return i + 1

    def _date(self, value: str, surface: str) -> None:
        self.dates.append((value, surface))
        self.seq.append("@" + value)

    def _on_clock(self, i: int, tok: str, value: str) -> int | None:
        if self._is_num(i - 1) or tok not in lx.AMBIGUOUS_TIMES:
            self.times.append((value, tok))
            self.seq.append("@" + value)
            return i + 1
        return None

    def _on_negation(self, i: int, tok: str, value: str) -> int | None:
        words = self.words
        surface = f"{words[i - 1]} not" if tok == "not" and i > 0 and words[i - 1] else tok
        self.negations.append((value, surface))
        self.seq.append(value)
        return i + 1

    def _on_like(self, i: int, tok: str, _: str) -> int | None:
        if not self._like_is_filler(i):
            return None
        self.raw.add("like")
        self.seq.append("like")
        return i + 1

    def _like_is_filler(self, i: int) -> bool:
        """Whether "like" at ``i`` is a filler ("what is it like", "would like"), not the verb."""
        words = self.words
        prev = words[i - 1] if i > 0 else ""
        nxt = words[i + 1] if i + 1 < len(words) else ""
        if prev in lx.LIKE_FILLER_AFTER or not nxt:
            return True
        # "What is the weather like in Paris?": a preposition after "what ... <noun>"
        return "what" in words[:i] and prev not in lx.LIKE_VERB_AFTER

    # ----------------------------------------------------------------------------------------------
    def _facts(self) -> TextFacts:
        seq = self.seq
        grammatical: dict[str, set[bool]] = {}
        for key, tok in self.forms:
            grammatical.setdefault(key, set()).add(is_plural(tok))
        positions: dict[str, int] = {}
        repeated: set[str] = set()
        for pos, key in enumerate(seq):
            if key in positions:
                repeated.add(key)
            positions[key] = pos
        for key in repeated:
            del positions[key]
        words = self.words[self.start :]
        asked, asked_surface = question(words, self.norm.endswith("?"))
        return TextFacts(
            norm=self.norm,
            numbers=tuple(sorted(self.numbers)),
            number_order=tuple(k for k in seq if k[:1] == "#"),
            units=tuple(sorted(self.units)),
            dates=tuple(sorted(self.dates)),
            times=tuple(sorted(self.times)),
            negations=tuple(sorted(self.negations)),
            question=asked,
            question_surface=asked_surface,
            past=tuple(w for w in words if w in lx.PAST_AUX),
            plural=frozenset(k for k, f in grammatical.items() if f == {True}),
            singular=frozenset(k for k, f in grammatical.items() if f == {False}),
            subjects=frozenset(self.subjects),
            owners=tuple(self.owners),
            content=self.content,
            shown=self.shown,
            raw_lemmas=frozenset(self.raw),
            sequence=tuple(seq),
            unique=positions,
            foreign=tuple(sorted(self.foreign)),
            symbols=tuple(sorted(self.symbols)),
        )

    # token kind -> handler; lexicon kind -> handler
    _HANDLERS: ClassVar[Mapping[str, Callable[[_FactsBuilder, int], int]]] = {
        "word": _on_word, "num": _on_num, "ord": _on_ord, "time": _on_time, "code": _on_code, "sym": _on_sym,
    }  # fmt: skip
    _SPECIAL: ClassVar[Mapping[str, Callable[[_FactsBuilder, int, str, str], int | None]]] = {
        "num": _on_number_words, "ord": _on_ordinal, "frac": _on_fraction, "pscale": _on_plural_scale,
        "percent": _on_per, "unit": _on_unit, "month": _on_month, "day": _on_day, "relative": _on_relative,
        "time": _on_clock, "neg": _on_negation, "like": _on_like,
    }  # fmt: skip
