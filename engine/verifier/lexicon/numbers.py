"""Number words: cardinals, scales, ordinals, fractions and multipliers."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

NUMBER_WORDS: Mapping[str, int] = MappingProxyType({
    "zero": 0, "nil": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14,
    "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20,
    "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90,
    "dozen": 12,
})  # fmt: skip

SCALE_WORDS: Mapping[str, int] = MappingProxyType({
    "hundred": 100, "thousand": 1_000, "k": 1_000, "lakh": 100_000, "million": 1_000_000,
    "mn": 1_000_000, "crore": 10_000_000, "billion": 1_000_000_000, "bn": 1_000_000_000,
    "trillion": 1_000_000_000_000,
})  # fmt: skip

ORDINAL_WORDS: Mapping[str, int] = MappingProxyType({
    "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7,
    "eighth": 8, "ninth": 9, "tenth": 10, "eleventh": 11, "twelfth": 12, "thirteenth": 13,
    "fourteenth": 14, "fifteenth": 15, "sixteenth": 16, "seventeenth": 17, "eighteenth": 18,
    "nineteenth": 19, "twentieth": 20, "thirtieth": 30, "fortieth": 40, "fiftieth": 50,
    "hundredth": 100, "thousandth": 1000, "millionth": 1_000_000,
})  # fmt: skip

#: Fractions and multipliers: quantities even without a digit.
FRACTION_WORDS: Mapping[str, str] = MappingProxyType({
    "half": "1/2", "halves": "1/2", "quarter": "1/4", "quarters": "1/4", "double": "x2", "twice": "x2",
    "triple": "x3", "thrice": "x3", "quadruple": "x4", "single": "x1", "once": "x1",
})  # fmt: skip

#: Ordinal suffixes after digits: "1st", "22nd", "3rd", "4th".
ORDINAL_SUFFIXES = frozenset({"st", "nd", "rd", "th"})

#: Words after which "one" is a pronoun ("how does one ..."), not the number 1.
PRONOUN_ONE_AFTER = frozenset({
    "does", "do", "did", "can", "could", "should", "would", "will", "shall", "may", "might", "must",
    "if", "when", "that", "which", "this", "no", "any", "every", "each", "some", "someone",
    "anyone", "everyone", "little", "only", "new", "old", "right", "wrong", "best", "better",
    "other", "another", "such", "last", "next", "first", "one", "why", "how", "where", "what",
})  # fmt: skip
