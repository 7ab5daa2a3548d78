"""Tokenisation: a normalised text -> ``(kind, text)`` tokens, contractions expanded, multi-word units joined."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

from .lexicon import (
    CONTRACTION_SUFFIXES,
    CONTRACTIONS,
    NEGATION_EXPANSIONS,
    NOT_STEMS,
    ORDINAL_SUFFIXES,
    PHRASES,
    POLITE_OPENERS,
    SYNONYMS,
    WH_WORDS,
)

Token = tuple[str, str]

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
#: Punctuation kept as a symbol token (currencies, %, degrees, operators); other punctuation is dropped.
_PUNCT_KEEP = frozenset("$€£¥₹¢%°℃℉+#&@=<>*^~|§©®™")
#: "'s" after these is "is", not a possessive ("what's", "it's").
_IS_CONTRACTED = frozenset(f"{w}'s" for w in WH_WORDS) | {"it's", "that's", "there's", "here's", "he's", "she's"}

# plain dict copies of the frozen tables read for every word (a dict lookup is faster than a proxy's)
_CONTRACTIONS = dict(CONTRACTIONS)
_NEGATION_EXPANSIONS = dict(NEGATION_EXPANSIONS)
_PHRASES = dict(PHRASES)
# polite openers by first word, for a quick prefix test
_OPENERS: dict[str, tuple[tuple[str, ...], ...]] = {}
for _opener in POLITE_OPENERS:
    _OPENERS[_opener[0]] = (*_OPENERS.get(_opener[0], ()), _opener)
del _opener


def is_latin(word: str) -> bool:
    """True when every letter of ``word`` is ASCII or Latin-1/Latin Extended."""
    return word.isascii() or all(ord(ch) < 0x0250 or not ch.isalpha() for ch in word)


def _split_word(tok: str, out: list[Token]) -> None:
    """Append the tokens of one word: contractions expanded, possessives and hyphens split."""
    tok = tok.strip(".'-") or tok
    if "'" not in tok and "-" not in tok:
        expansion = _NEGATION_EXPANSIONS.get(tok) or _CONTRACTIONS.get(tok)
        if expansion:
            out.extend(("word", t) for t in expansion)
        else:
            out.append(("word", tok))
        return
    expansion = _CONTRACTIONS.get(tok)
    if expansion:
        out.extend(("word", t) for t in expansion)
        return
    for suffix, tail in CONTRACTION_SUFFIXES:
        if tok.endswith(suffix) and len(tok) > len(suffix):
            stem = tok[: -len(suffix)]
            if suffix == "n't":
                stem = NOT_STEMS.get(stem, stem)
            out.append(("word", stem))
            out.extend(("word", t) for t in tail)
            return
    if tok in _IS_CONTRACTED:  # what's, who's, it's: "is"
        out.append(("word", tok[:-2]))
        out.append(("word", "is"))
    elif tok.endswith("'s"):
        out.append(("word", tok[:-2]))
        out.append(("poss", "'s"))
    elif "-" in tok and tok not in SYNONYMS:  # a hyphenated synonym ("sign-in") stays one word
        out.extend(("word", part) for part in tok.split("-") if part)
    else:
        out.append(("word", tok.replace("'", "")))


def tokens(norm: str) -> list[Token]:
    """Split a normalised text into ``(kind, text)`` tokens, then join multi-token units.

    Kinds: ``word``, ``num``, ``ord`` (2nd), ``time`` (5:30), ``code`` (c++, c#), ``poss`` ('s),
    ``punct`` (, ; :) and ``sym`` (symbols and emoji). Other punctuation is dropped.
    """
    out: list[Token] = []
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
                if prev_kind == "num" and word in ORDINAL_SUFFIXES:
                    out[before - 1 :] = [("ord", prev + word)]
                elif prev_kind == "word" and (prev, word) in _PHRASES:
                    out[before - 1 :] = [("word", _PHRASES[(prev, word)])]
        elif kind == "sym":
            if tok in _PUNCT_KEEP or unicodedata.category(tok)[0] == "S":
                out.append(("sym", tok))
            elif tok in ",;:":
                out.append(("punct", tok))
        else:
            out.append((kind or "sym", tok))
    return out


def opener_length(words: Sequence[str]) -> int:
    """How many leading words form a polite opener ("can you tell me", "please") to be ignored."""
    if not words:
        return 0
    for opener in _OPENERS.get(words[0], ()):
        size = len(opener)
        if len(words) > size and tuple(words[:size]) == opener:
            return size
    return 0
