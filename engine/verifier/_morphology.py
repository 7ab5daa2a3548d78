"""Morphology: light lemmatisation, grammatical number and participles, and number parsing."""

from __future__ import annotations

import functools
from collections.abc import Sequence

from .lexicon import (
    IRREGULAR_PARTICIPLES,
    IRREGULAR_PLURALS,
    IRREGULAR_VERBS,
    KEEP_FINAL_S,
    NO_STEM,
    SHORTHAND,
    SPELLING_VARIANTS,
)

_VOWELS = frozenset("aeiou")
#: Every irregular form -> its lemma (the three tables share no word, so merging them loses nothing).
_IRREGULAR: dict[str, str] = {**IRREGULAR_VERBS, **IRREGULAR_PLURALS, **SHORTHAND}


@functools.lru_cache(maxsize=1 << 16)
def lemma(word: str) -> str:
    """Light lemmatisation: irregular forms, British spellings, then plural/-ing/-ed/-e/-y suffix rules.

    It need not produce real words, only the same key for the inflections of one word; two different
    words may collide, rarely, and the other rules still apply. Pure, so one cache serves every thread.
    """
    if word in NO_STEM:
        return word
    word = _IRREGULAR.get(word, word)
    word = SPELLING_VARIANTS.get(word, word)
    if word.endswith("'"):
        word = word[:-1]
    if len(word) <= 3 or not word.isalpha():
        return word
    if word[-1] == "s" and not word.endswith(KEEP_FINAL_S):
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
        # "stopp" -> "stop", so "stopped" and "stop" meet
        if len(word) >= 4 and word[-1] == word[-2] and word[-1] not in _VOWELS and word[-1] != "s":
            word = word[:-1]
    return word


def is_plural(tok: str) -> bool:
    """Whether a content word is written in the plural ("invoices", "men"); verbs in -s count too."""
    if tok in IRREGULAR_PLURALS:
        return True
    return len(tok) > 3 and tok[-1] == "s" and not tok.endswith(KEEP_FINAL_S)


def is_participle(words: Sequence[str], i: int) -> bool:
    """Whether ``words[i]`` is a past participle ("get charged", "got declined"): a passive "get"."""
    word = words[i] if i < len(words) else ""
    return (len(word) > 4 and word.endswith("ed")) or word in IRREGULAR_PARTICIPLES


def number_value(text: str) -> str:
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


def scale(value: str, factor: int) -> str:
    """``value`` (canonical number string) times ``factor``, as a canonical string."""
    try:
        if "." in value:
            product = float(value) * factor
            return str(int(product)) if product.is_integer() else repr(product)
        return str(int(value) * factor)
    except ValueError:
        return f"{value}x{factor}"
