"""Opposite meanings: antonym pairs and negating prefixes (the polarity rule).

Either word of a pair in one request and its opposite in the other vetoes the merge with an explicit
"opposite meaning" reason. Pairs are compared on lemmas after synonym mapping, so a pair is listed once
(in either order) and never joins two words of one synonym group (checked by the tests).
"""

from __future__ import annotations

#: Pairs of words with opposite meaning. Either word in one request and its opposite in the other vetoes
#: the merge with an explicit "opposite meaning" reason (the content-word rule would veto it anyway).
ANTONYM_PAIRS: tuple[tuple[str, str], ...] = (
    ("on", "off"), ("enable", "disable"), ("enabled", "disabled"), ("activate", "deactivate"),
    ("before", "after"), ("increase", "decrease"), ("increase", "reduce"), ("up", "down"),
    ("upgrade", "downgrade"), ("upload", "download"), ("more", "less"), ("more", "fewer"),
    ("most", "least"), ("max", "min"), ("maximum", "minimum"), ("maximize", "minimize"),
    ("open", "close"), ("open", "closed"), ("buy", "sell"), ("lend", "borrow"), ("give", "take"),
    ("in", "out"), ("inside", "outside"), ("into", "out"), ("start", "stop"), ("start", "end"),
    ("begin", "end"), ("add", "remove"), ("add", "delete"), ("add", "subtract"), ("import", "export"),
    ("login", "logout"), ("sign-in", "sign-out"), ("high", "low"), ("higher", "lower"),
    ("highest", "lowest"), ("best", "worst"), ("better", "worse"), ("good", "bad"), ("true", "false"),
    ("yes", "no"), ("allow", "block"), ("allow", "deny"), ("allow", "forbid"), ("accept", "reject"),
    ("accept", "decline"), ("approve", "reject"), ("approve", "deny"), ("win", "lose"),
    ("winner", "loser"), ("hot", "cold"), ("warm", "cool"), ("cheap", "expensive"),
    ("cheapest", "expensive"), ("fast", "slow"), ("faster", "slower"), ("fastest", "slowest"),
    ("first", "last"), ("early", "late"), ("earlier", "later"), ("above", "below"), ("over", "under"),
    ("push", "pull"), ("send", "receive"), ("sent", "received"), ("incoming", "outgoing"),
    ("inbound", "outbound"), ("positive", "negative"), ("left", "right"), ("north", "south"),
    ("east", "west"), ("male", "female"), ("man", "woman"), ("men", "women"), ("boy", "girl"),
    ("husband", "wife"), ("father", "mother"), ("son", "daughter"), ("brother", "sister"),
    ("rich", "poor"), ("big", "small"), ("large", "small"), ("long", "short"), ("longer", "shorter"),
    ("old", "new"), ("old", "young"), ("older", "younger"), ("light", "dark"), ("heavy", "light"),
    ("easy", "hard"), ("easy", "difficult"), ("pros", "cons"), ("advantage", "disadvantage"),
    ("benefit", "drawback"), ("include", "exclude"), ("including", "excluding"), ("encrypt", "decrypt"),
    ("compress", "decompress"), ("encode", "decode"), ("ascending", "descending"), ("public", "private"),
    ("internal", "external"), ("input", "output"), ("client", "server"), ("read", "write"),
    ("lock", "unlock"), ("mute", "unmute"), ("follow", "unfollow"),
    ("subscribe", "unsubscribe"), ("install", "uninstall"), ("like", "dislike"), ("love", "hate"),
    ("agree", "disagree"), ("connect", "disconnect"), ("mount", "unmount"), ("pause", "resume"),
    ("pause", "play"), ("freeze", "unfreeze"), ("hide", "show"), ("hidden", "visible"),
    ("always", "never"), ("always", "sometimes"), ("all", "some"), ("all", "none"), ("everyone", "nobody"),
    ("success", "failure"), ("succeed", "fail"), ("pass", "fail"), ("valid", "invalid"),
    ("legal", "illegal"), ("possible", "impossible"), ("correct", "incorrect"), ("safe", "unsafe"),
    ("safe", "dangerous"), ("healthy", "unhealthy"), ("strong", "weak"), ("strength", "weakness"),
    ("wet", "dry"), ("full", "empty"), ("thick", "thin"), ("wide", "narrow"), ("deep", "shallow"),
    ("near", "far"), ("nearest", "farthest"), ("inner", "outer"), ("front", "back"), ("top", "bottom"),
    ("upper", "lower"), ("upstairs", "downstairs"), ("arrive", "depart"), ("arrival", "departure"),
    ("debit", "credit"), ("deposit", "withdraw"), ("income", "expense"),
    ("profit", "loss"), ("gain", "lose"), ("gain", "loss"), ("asset", "liability"), ("bull", "bear"),
    ("bullish", "bearish"), ("attack", "defend"), ("offense", "defense"), ("war", "peace"),
    ("past", "future"), ("ancient", "modern"), ("same", "different"), ("similar", "different"),
    ("cause", "effect"), ("question", "answer"), ("ask", "answer"), ("teach", "learn"),
    ("teacher", "student"), ("employer", "employee"), ("buyer", "seller"), ("landlord", "tenant"),
    ("parent", "child"), ("doctor", "patient"), ("host", "guest"), ("sender", "recipient"),
    ("major", "minor"), ("plus", "minus"), ("multiply", "divide"),
    ("sum", "difference"), ("odd", "even"), ("happy", "sad"), ("love", "hatred"), ("friend", "enemy"),
    ("victory", "defeat"), ("sunrise", "sunset"), ("day", "night"), ("heaven", "hell"),
    ("mac", "windows"), ("android", "ios"), ("iphone", "android"),
)  # fmt: skip

#: Prefixes that turn a word into its opposite ("lock"/"unlock", "like"/"dislike", "valid"/"invalid").
NEGATING_PREFIXES: tuple[str, ...] = ("un", "dis", "in", "im", "il", "ir", "non", "de", "anti", "non-", "a")
