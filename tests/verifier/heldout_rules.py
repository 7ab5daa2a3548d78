"""Independent rules for the held-out check: when two questions certainly differ in a number or a negation.

Written for the test, not taken from the verifier: deliberately narrow, so that a pair they flag is one the
verifier must veto whatever its own rules look like. A pair they cannot judge (numbers spelled out, digits
glued to letters, a second way of saying "not") is simply not flagged.
"""

from __future__ import annotations

import re
from collections import Counter
from decimal import Decimal, InvalidOperation

_TOKEN = re.compile(r"[^\W_]+(?:[.,][0-9]+)*")
_NUMBER = re.compile(r"[0-9]+(?:[.,][0-9]+)*")
#: words that can stand for a number: a pair using one is not judged (the verifier may read it as a number)
_NUMBER_WORDS_TEXT = """
zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen seventeen
eighteen nineteen twenty thirty forty fifty sixty seventy eighty ninety hundred hundreds thousand thousands million
millions billion billions trillion dozen dozens first second third fourth fifth sixth seventh eighth ninth tenth
once twice thrice half quarter single double triple k lakh lakhs crore crores
"""
_NUMBER_WORDS = frozenset(_NUMBER_WORDS_TEXT.split())
# a word of its own (after a space or at the start): "placed.not" glued by a period is not judged
_NEGATION = re.compile(r"(?:^|(?<=\s))(?:not|never|cannot)\b|\b[a-z]+n[’']t\b")
#: other ways to say "not" (or to deny): a pair where the side without a negation uses one is not judged
_DENIAL = re.compile(r"\b(?:no|none|nothing|nobody|nowhere|neither|nor|without|unable|impossible|fail|fails|failed|"
                     r"failing|lack|lacks|lacking|stop|stopped|stops|refuse|refused|instead|rather|except|unless|"
                     r"avoid|prevent|against|anti|non|dis|un)\b")


def _numbers(text: str) -> Counter[str] | None:
    """The plain numbers of ``text`` (thousands separators dropped), or None when a number may hide in a word."""
    out: Counter[str] = Counter()
    for token in _TOKEN.findall(text.lower()):
        if token in _NUMBER_WORDS:
            return None
        if any(c.isdigit() for c in token):
            if not _NUMBER.fullmatch(token):
                return None  # digits glued to letters: "10k", "1st", "i7", "h1b"
            out[_value(token)] += 1
    return out


def _value(token: str) -> str:
    """A number's value, so that 7.0 and 7, or 1,000 and 1000, are one number; "1.2.3" stays as written."""
    try:
        return str(Decimal(token.replace(",", "")).normalize())
    except InvalidOperation:
        return token


def differs_in_numbers(a: str, b: str) -> bool:
    """Both texts state their numbers in digits only, and the numbers differ (as multisets)."""
    na, nb = _numbers(a), _numbers(b)
    return na is not None and nb is not None and na != nb


def differs_in_negation(a: str, b: str) -> bool:
    """One text says "not" ("n't", "never", "cannot") and the other has no negation or denial at all."""
    la, lb = a.lower(), b.lower()
    ga, gb = bool(_NEGATION.search(la)), bool(_NEGATION.search(lb))
    if ga == gb:
        return False
    plain = lb if ga else la
    return _DENIAL.search(plain) is None
