"""Dates and times of day: months, weekdays, holidays, seasons, relative-time words, clock words, time zones."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

MONTHS: Mapping[str, str] = MappingProxyType({
    "january": "january", "jan": "january", "february": "february", "feb": "february",
    "march": "march", "mar": "march", "april": "april", "apr": "april", "may": "may",
    "june": "june", "jun": "june", "july": "july", "jul": "july", "august": "august", "aug": "august",
    "september": "september", "sep": "september", "sept": "september", "october": "october",
    "oct": "october", "november": "november", "nov": "november", "december": "december",
    "dec": "december",
})  # fmt: skip
#: Month names that are common English words too: months only next to a number.
AMBIGUOUS_MONTHS = frozenset({"march", "mar", "may", "jun", "dec", "oct", "sep", "jan", "aug", "apr"})

DAY_WORDS: Mapping[str, str] = MappingProxyType({
    "monday": "monday", "mon": "monday", "tuesday": "tuesday", "tue": "tuesday", "tues": "tuesday",
    "wednesday": "wednesday", "wed": "wednesday", "thursday": "thursday", "thu": "thursday",
    "thurs": "thursday", "friday": "friday", "fri": "friday", "saturday": "saturday", "sat": "saturday",
    "sunday": "sunday", "sun": "sunday", "today": "today", "tomorrow": "tomorrow", "tmrw": "tomorrow",
    "yesterday": "yesterday", "tonight": "tonight", "weekend": "weekend", "weekday": "weekday",
    "now": "now", "currently": "now", "nowadays": "now", "tmr": "tomorrow",
    "christmas": "christmas", "xmas": "christmas", "easter": "easter", "diwali": "diwali",
    "thanksgiving": "thanksgiving", "halloween": "halloween",
    "spring": "spring", "summer": "summer", "autumn": "autumn", "fall": "autumn", "winter": "winter",
})  # fmt: skip
#: Day words that are common English words too ("sun", "fall", "now"): never read as dates.
AMBIGUOUS_DAYS = frozenset({"sun", "sat", "wed", "mon", "fri", "fall", "spring", "now", "currently"})

TIME_WORDS: Mapping[str, str] = MappingProxyType({
    "am": "am", "a.m.": "am", "pm": "pm", "p.m.": "pm", "morning": "morning", "afternoon": "afternoon",
    "evening": "evening", "night": "night", "midnight": "midnight", "noon": "noon", "midday": "noon",
    "dawn": "dawn", "dusk": "dusk", "sunrise": "sunrise", "sunset": "sunset", "o'clock": "o'clock",
    "oclock": "o'clock", "a.m": "am", "p.m": "pm", "utc": "utc", "gmt": "utc", "est": "est", "pst": "pst", "ist": "ist",
    "cet": "cet", "bst": "bst", "edt": "edt", "pdt": "pdt",
})  # fmt: skip
#: Time words that are English words too; "am" is a verb unless a number precedes it.
AMBIGUOUS_TIMES = frozenset({"am", "est"})

#: Relative-time qualifiers: "next week" is not "last week". Treated like date words.
RELATIVE_TIME = frozenset({
    "next", "last", "previous", "past", "upcoming", "coming", "following", "ago", "later", "earlier",
    "recent", "recently", "future", "current",
})  # fmt: skip
