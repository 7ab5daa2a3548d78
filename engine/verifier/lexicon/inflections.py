"""Inflections: the irregular forms, the words the suffix rules must not touch, and the plural tables.

The lemmatiser (:mod:`batchsieve.verifier._morphology`) looks a word up in :data:`NO_STEM`, then in the
three form tables, then applies British -> American spelling and the suffix rules. A word is in one of
:data:`NO_STEM`, :data:`IRREGULAR_VERBS`, :data:`IRREGULAR_PLURALS` and :data:`SHORTHAND` at most
(checked by the tests), so the order of the lookups does not matter.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

#: Irregular verb forms -> the base form.
IRREGULAR_VERBS: Mapping[str, str] = MappingProxyType({
    "went": "go", "gone": "go", "goes": "go", "got": "get", "gotten": "get", "made": "make", "did": "do",
    "done": "do", "had": "have", "ran": "run", "wrote": "write", "written": "write", "bought": "buy",
    "sold": "sell", "took": "take", "taken": "take", "gave": "give", "given": "give", "knew": "know",
    "known": "know", "saw": "see", "seen": "see", "thought": "think", "found": "find", "became": "become",
    "began": "begin", "begun": "begin", "brought": "bring", "built": "build", "caught": "catch",
    "chose": "choose", "chosen": "choose", "came": "come", "drew": "draw", "drawn": "draw", "drove": "drive",
    "driven": "drive", "ate": "eat", "eaten": "eat", "fell": "fall", "fallen": "fall", "felt": "feel",
    "flew": "fly", "flown": "fly", "forgot": "forget", "forgotten": "forget", "grew": "grow",
    "grown": "grow", "held": "hold", "kept": "keep", "led": "lead", "lost": "lose", "meant": "mean",
    "met": "meet", "paid": "pay", "said": "say", "sent": "send", "spent": "spend", "stood": "stand",
    "taught": "teach", "told": "tell", "understood": "understand", "won": "win", "wore": "wear",
    "worn": "wear", "broke": "break", "broken": "break", "spoke": "speak", "spoken": "speak",
    "stole": "steal", "stolen": "steal", "woke": "wake", "woken": "wake", "hid": "hide",
    "hidden": "hide", "shook": "shake", "shaken": "shake", "rode": "ride", "ridden": "ride",
    "rang": "ring", "rung": "ring", "sang": "sing", "sung": "sing", "swam": "swim", "swum": "swim",
    "threw": "throw", "thrown": "throw", "lent": "lend", "dealt": "deal", "fought": "fight",
    "sought": "seek", "slept": "sleep",
})  # fmt: skip

#: Irregular plural nouns -> the singular (the lemma, and the singular/plural rule).
IRREGULAR_PLURALS: Mapping[str, str] = MappingProxyType({
    "feet": "foot", "teeth": "tooth", "men": "man", "women": "woman", "children": "child",
    "mice": "mouse", "geese": "goose", "people": "person", "indices": "index", "analyses": "analysis",
    "criteria": "criterion", "phenomena": "phenomenon", "lives": "life", "wives": "wife",
    "knives": "knife", "leaves": "leaf", "wolves": "wolf", "halves": "half", "shelves": "shelf",
})  # fmt: skip

#: Chat shorthand -> the word it stands for.
SHORTHAND: Mapping[str, str] = MappingProxyType({
    "im": "i", "ive": "i", "u": "you", "ur": "your", "r": "are", "pls": "please", "plz": "please",
    "thx": "thanks", "coz": "because", "cuz": "because", "bcoz": "because", "tho": "though",
    "thru": "through", "till": "until", "til": "until",
})  # fmt: skip

#: Words the suffix rules must leave alone ("https" is not the plural of "http", "news" not of "new",
#: "left" is not "leave"). "data" is a mass noun: singular for the singular/plural rule.
NO_STEM = frozenset({
    "https", "news", "series", "species", "physics", "economics", "politics", "mathematics", "ethics",
    "always", "perhaps", "sometimes", "nowadays", "besides", "towards", "whereas", "various", "famous",
    "business", "boss", "bus", "gas", "plus", "minus", "bonus", "status", "campus", "virus", "canvas",
    "atlas", "alias", "chaos", "lens", "jeans", "diabetes", "herpes", "measles", "mumps", "rabies",
    "windows", "ios", "macos", "aws", "gcp", "dos", "sms", "mms", "dns", "gps", "css", "js", "sas",
    "less", "unless", "yes", "this", "his", "its", "hers", "ours", "yours", "theirs", "was", "does", "has",
    "is", "us", "thus", "kudos", "data", "left", "id", "cos",
})  # fmt: skip

#: Endings whose final "s" is not a plural ("boss", "virus", "famous", "physics", "analysis").
KEEP_FINAL_S: tuple[str, ...] = (
    "ss", "us", "ous", "ics", "sis", "xis", "tis", "nis", "ris", "vis", "lis", "this", "his",
)  # fmt: skip

#: Nouns whose singular and plural ask the same ("What is the difference ..." = "What are the differences
#: ..."): exempt from the singular/plural rule. Fillers need no entry: they never reach that rule.
PLURAL_NEUTRAL = frozenset({
    "difference", "similarity", "advantage", "disadvantage", "benefit", "drawback", "pro", "con", "cause",
    "effect", "symptom", "sign", "reason", "example", "step", "tip", "type", "kind", "feature", "rule",
    "requirement", "option", "alternative", "consequence", "risk", "side", "use", "application",
    "fact", "detail", "information", "news", "result", "change", "solution",
})  # fmt: skip

#: Irregular past participles ("get stolen", "got hidden"), for the passive "get".
IRREGULAR_PARTICIPLES = frozenset({
    "stolen", "broken", "taken", "given", "written", "hidden", "eaten", "beaten", "bitten", "chosen",
    "driven", "forgotten", "frozen", "shaken", "spoken", "sworn", "torn", "woken", "worn", "thrown",
    "shown", "known", "drawn", "grown", "blown", "caught", "paid", "sold", "sent", "lost", "hurt", "hit",
    "stuck", "fired", "banned", "done", "made", "told", "left", "kept", "held", "bought",
})  # fmt: skip
