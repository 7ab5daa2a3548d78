"""Synonyms, British spellings and multi-word verbs: words mapped to one canonical word before comparison.

A missing synonym costs a merge (one extra handler call); a wrong one can cost a wrong answer, so a group
holds only words that can replace one another in any request. Each word is in one group at most and no
group holds a filler (checked by the tests).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

#: Groups of interchangeable words; the first word of a group is its canonical form.
SYNONYM_GROUPS: tuple[tuple[str, ...], ...] = (
    ("buy", "purchase"),
    ("begin", "start"),
    ("big", "large", "huge"),
    ("film", "movie"),
    ("car", "automobile"),
    ("login", "log-in", "signin", "sign-in", "logon"),
    ("logout", "log-out", "signout", "sign-out", "logoff"),
    ("signup", "sign-up", "register", "registration"),
    ("email", "e-mail", "mail"),
    ("password", "passcode", "pwd"),
    ("phone", "cellphone", "smartphone", "mobile", "cell"),
    ("pc", "computer"),
    ("laptop", "notebook"),
    ("photo", "picture", "pic", "image"),
    ("tv", "television"),
    ("usa", "u.s.a", "u.s", "america", "united-states"),
    ("uk", "britain"),
    ("ai", "artificial-intelligence"),
    ("job", "career"),
    ("fix", "repair", "solve", "resolve", "troubleshoot"),
    ("error", "issue", "problem", "bug"),
    ("invoice", "bill"),
    ("refund", "reimbursement"),
    ("delete", "remove", "erase"),
    ("cancel", "terminate"),
    ("change", "modify", "alter", "update", "edit"),
    ("create", "make"),
    ("find", "locate"),
    ("see", "view", "check", "look"),
    ("weather", "forecast"),
    ("meaning", "definition", "mean", "define"),
    ("use", "utilize", "utilise"),
    ("improve", "enhance"),
    ("learn", "study"),
    ("option", "choice"),
    ("benefit", "advantage"),
    ("difference", "differ", "vs", "versus", "compare", "comparison"),
    ("reason", "cause"),
    ("happen", "occur"),
    ("require", "need"),
    ("money", "cash"),
    ("kid", "child"),
    ("shut", "close"),
    ("hard", "difficult"),
    ("website", "site", "webpage"),
    ("app", "application"),
    ("program", "programme"),
    ("important", "significant"),
    ("famous", "popular", "well-known"),
    ("free", "gratis"),
    ("reset", "recover"),
    ("setting", "preference", "config", "configuration"),
    ("contact", "reach"),
    ("customer", "client"),
    ("address", "location"),
    ("near", "nearby"),
    ("ship", "deliver", "send"),
    ("shipping", "delivery"),
    ("subscription", "plan", "membership"),
    ("cost", "price", "charge", "fee"),
    ("pay", "payment"),
    ("attach", "add"),
    ("tip", "advice", "suggestion", "recommendation"),
    ("rain", "raining", "rainy"),
    ("snow", "snowing", "snowy"),
    ("sunny", "sunshine"),
    ("temperature", "temp"),
    ("symptom", "sign"),
    ("author", "writer"),
    ("prevent", "stop"),
    ("think", "opinion"),
    ("math", "mathematics"),
    ("impact", "effect", "affect"),
    ("legit", "legitimate"),
    ("dictionary", "dict"),
    ("tall", "high"),
    ("tallest", "highest"),
    ("exit", "quit"),
    ("coupon", "promo", "voucher", "discount"),
    ("fast", "quick", "quickly", "rapidly", "speedy", "fastest", "quickest"),
    # evaluative adjectives are interchangeable ("a good laptop" = "the best laptop"), but not optional:
    # "What is a good APR?" asks for a benchmark that "What is APR?" does not
    ("good", "best", "better", "great", "greatest", "amazing", "awesome", "incredible", "interesting",
     "fascinating", "cool", "coolest", "nice", "excellent", "wonderful", "fantastic", "finest", "ideal",
     "recommended", "top"),
    ("easy", "easiest", "simple", "simplest", "easier", "simpler"),
    ("proper", "properly", "correct", "correctly", "right"),
    ("effective", "effectively", "efficient", "efficiently"),
)

#: Word -> the canonical word of its group.
SYNONYMS: Mapping[str, str] = MappingProxyType({word: group[0] for group in SYNONYM_GROUPS for word in group})

#: British and American spellings (British -> American).
SPELLING_VARIANTS: Mapping[str, str] = MappingProxyType({
    "colour": "color", "favourite": "favorite", "favour": "favor", "honour": "honor", "behaviour": "behavior",
    "neighbour": "neighbor", "labour": "labor", "humour": "humor", "flavour": "flavor", "centre": "center",
    "theatre": "theater", "metre": "meter", "litre": "liter", "fibre": "fiber", "defence": "defense",
    "licence": "license", "offence": "offense", "practise": "practice", "grey": "gray", "cheque": "check",
    "programme": "program", "catalogue": "catalog", "dialogue": "dialog", "analogue": "analog",
    "travelling": "traveling", "travelled": "traveled", "cancelled": "canceled", "cancelling": "canceling",
    "modelling": "modeling", "jewellery": "jewelry", "tyre": "tire", "aluminium": "aluminum",
    "mum": "mom", "maths": "math", "aeroplane": "airplane", "enrol": "enroll", "judgement": "judgment",
})  # fmt: skip

#: Multi-word verbs folded into one token before the rules run ("log in" = "login", "turn off" = "disable").
PHRASES: Mapping[tuple[str, str], str] = MappingProxyType({
    ("log", "in"): "login", ("log", "on"): "login", ("sign", "in"): "login", ("logged", "in"): "login",
    ("signed", "in"): "login", ("log", "out"): "logout", ("log", "off"): "logout",
    ("sign", "out"): "logout", ("logged", "out"): "logout", ("signed", "out"): "logout",
    ("sign", "up"): "signup", ("signed", "up"): "signup", ("turn", "on"): "enable",
    ("turn", "off"): "disable", ("switch", "on"): "enable", ("switch", "off"): "disable",
    ("turned", "on"): "enable", ("turned", "off"): "disable", ("switched", "on"): "enable",
    ("switched", "off"): "disable", ("set", "up"): "setup", ("e", "mail"): "email",
    ("web", "site"): "website", ("wi", "fi"): "wifi", ("dark", "theme"): "dark-mode",
    ("out", "there"): "there", ("similar", "to"): "like", ("open", "up"): "open", ("start", "up"): "start",
    ("dark", "mode"): "dark-mode", ("night", "mode"): "dark-mode", ("united", "states"): "united-states",
})  # fmt: skip
