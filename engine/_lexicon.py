"""Word lists behind :class:`~batchsieve.verifier.MergeVerifier`.

Everything here is a plain, frozen Python constant, so the verifier's rules can be read (and argued
with) in one place. Words are lower-case; the verifier case-folds text before looking them up.

The lists are deliberately small: a word that is *not* listed as a filler or a synonym counts as a
content word, and a content word present in only one of two requests blocks their merge. A missing
synonym costs a merge (one extra handler call); a wrong synonym or filler can cost a wrong answer, so an
entry goes in only when swapping the two words never changes what a request asks.
"""

from __future__ import annotations

# --------------------------------------------------------------------------------------------------
# Contractions, expanded before anything else ("don't" -> "do not", "what's" -> "what is").
# --------------------------------------------------------------------------------------------------
CONTRACTIONS: dict[str, tuple[str, ...]] = {
    "can't": ("can", "not"),
    "cannot": ("can", "not"),
    "won't": ("will", "not"),
    "shan't": ("shall", "not"),
    "ain't": ("is", "not"),
    "let's": ("let", "us"),
    "i'm": ("i", "am"),
    "gonna": ("going", "to"),
    "wanna": ("want", "to"),
    "gotta": ("got", "to"),
}

#: Suffix expansions tried when a word is not in CONTRACTIONS ("isn't" -> "is" + "not").
CONTRACTION_SUFFIXES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("n't", ("not",)),
    ("'re", ("are",)),
    ("'ve", ("have",)),
    ("'ll", ("will",)),
    ("'d", ("would",)),
    ("'m", ("am",)),
)

# --------------------------------------------------------------------------------------------------
# Numbers.
# --------------------------------------------------------------------------------------------------
NUMBER_WORDS: dict[str, int] = {
    "zero": 0, "nil": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14,
    "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20,
    "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90,
    "dozen": 12,
}  # fmt: skip

SCALE_WORDS: dict[str, int] = {
    "hundred": 100, "thousand": 1_000, "k": 1_000, "lakh": 100_000, "million": 1_000_000,
    "mn": 1_000_000, "crore": 10_000_000, "billion": 1_000_000_000, "bn": 1_000_000_000,
    "trillion": 1_000_000_000_000,
}  # fmt: skip

ORDINAL_WORDS: dict[str, int] = {
    "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7,
    "eighth": 8, "ninth": 9, "tenth": 10, "eleventh": 11, "twelfth": 12, "thirteenth": 13,
    "fourteenth": 14, "fifteenth": 15, "sixteenth": 16, "seventeenth": 17, "eighteenth": 18,
    "nineteenth": 19, "twentieth": 20, "thirtieth": 30, "fortieth": 40, "fiftieth": 50,
    "hundredth": 100, "thousandth": 1000, "millionth": 1_000_000,
}  # fmt: skip

#: Fractions and multipliers: quantities even without a digit.
FRACTION_WORDS: dict[str, str] = {
    "half": "1/2", "halves": "1/2", "quarter": "1/4", "quarters": "1/4", "double": "x2", "twice": "x2",
    "triple": "x3", "thrice": "x3", "quadruple": "x4", "single": "x1", "once": "x1",
}  # fmt: skip

#: Ordinal suffixes after digits: "1st", "22nd", "3rd", "4th".
ORDINAL_SUFFIXES = frozenset({"st", "nd", "rd", "th"})

#: Words after which "one" is a pronoun ("how does one ..."), not the number 1.
PRONOUN_ONE_AFTER = frozenset({
    "does", "do", "did", "can", "could", "should", "would", "will", "shall", "may", "might", "must",
    "if", "when", "that", "which", "this", "no", "any", "every", "each", "some", "someone",
    "anyone", "everyone", "little", "only", "new", "old", "right", "wrong", "best", "better",
    "other", "another", "such", "last", "next", "first", "one", "why", "how", "where", "what",
})  # fmt: skip

# --------------------------------------------------------------------------------------------------
# Units, currencies and symbols that stand for them. Canonical name -> spellings.
# --------------------------------------------------------------------------------------------------
_UNIT_SPELLINGS: dict[str, tuple[str, ...]] = {
    # length
    "millimetre": ("mm", "millimeter", "millimetre"),
    "centimetre": ("cm", "centimeter", "centimetre"),
    "metre": ("meter", "metre", "mtr"),
    "kilometre": ("km", "kms", "kilometer", "kilometre", "klick"),
    "inch": ("inch", "inches"),
    "foot": ("ft", "foot", "feet"),
    "yard": ("yd", "yard", "yards"),
    "mile": ("mi", "mile", "miles"),
    # mass
    "milligram": ("mg", "milligram", "milligramme"),
    "gram": ("gram", "gramme", "gm", "gms"),
    "kilogram": ("kg", "kgs", "kilogram", "kilogramme", "kilo"),
    "tonne": ("tonne", "ton"),
    "ounce": ("oz", "ounce"),
    "pound-mass": ("lb", "lbs"),
    "stone": ("stone",),
    # volume
    "millilitre": ("ml", "millilitre", "milliliter"),
    "litre": ("litre", "liter", "ltr"),
    "gallon": ("gal", "gallon"),
    "cup": ("cup",),
    "teaspoon": ("tsp", "teaspoon"),
    "tablespoon": ("tbsp", "tablespoon"),
    # temperature
    "celsius": ("celsius", "centigrade", "°c", "℃"),
    "fahrenheit": ("fahrenheit", "°f", "℉"),
    "kelvin": ("kelvin",),
    "degree": ("degree", "deg", "°"),
    # time spans
    "millisecond": ("ms", "millisecond", "msec"),
    "second": ("sec", "secs", "seconds"),
    "minute": ("minute", "mins"),
    "hour": ("hour", "hr", "hrs"),
    "day": ("day",),
    "week": ("week", "wk", "wks"),
    "fortnight": ("fortnight",),
    "month": ("month", "mo"),
    "year": ("year", "yr", "yrs"),
    "decade": ("decade",),
    "century": ("century",),
    # data, frequency, power, speed
    "bit": ("bit",),
    "byte": ("byte",),
    "kilobyte": ("kb", "kilobyte"),
    "megabyte": ("mb", "megabyte", "mbs"),
    "gigabyte": ("gb", "gigabyte", "gigs", "gbs", "gig"),
    "terabyte": ("tb", "terabyte"),
    "megabit": ("mbps", "megabit"),
    "gigabit": ("gbps", "gigabit"),
    "hertz": ("hz", "hertz"),
    "megahertz": ("mhz", "megahertz"),
    "gigahertz": ("ghz", "gigahertz"),
    "watt": ("watt", "watts"),
    "kilowatt": ("kw", "kilowatt"),
    "kilowatt-hour": ("kwh",),
    "volt": ("volt", "volts"),
    "ampere": ("amp", "amps", "ampere", "mah"),
    "mph": ("mph",),
    "km/h": ("kmh", "kph", "kmph"),
    "pixel": ("px", "pixel", "megapixel", "mp"),
    "dpi": ("dpi",),
    "percent": ("percent", "per cent", "percentage", "pct", "%"),
    # money
    "dollar": ("$", "usd", "dollar", "buck"),
    "euro": ("€", "eur", "euro"),
    "pound-sterling": ("£", "gbp", "sterling", "quid"),
    "rupee": ("₹", "inr", "rs", "rupee"),
    "yen": ("¥", "jpy", "yen"),
    "yuan": ("cny", "yuan", "rmb", "renminbi"),
    "cent": ("cent", "¢"),
    "bitcoin": ("btc", "bitcoin"),
    "won": ("krw",),
}

UNITS: dict[str, str] = {spelling: unit for unit, spellings in _UNIT_SPELLINGS.items() for spelling in spellings}
#: "pound" is a weight or a currency: either way it differs from the other units, so it gets its own name.
UNITS["pound"] = "pound"
#: Spellings that are units only right after a number ("5 m", "3 g", "10 s"); elsewhere they are letters.
UNITS_AFTER_NUMBER: dict[str, str] = {
    "m": "metre", "g": "gram", "h": "hour", "l": "litre", "w": "watt", "v": "volt", "c": "celsius",
    "f": "fahrenheit", "min": "minute", "yo": "year", "x": "times",
}  # fmt: skip

# --------------------------------------------------------------------------------------------------
# Dates and times of day.
# --------------------------------------------------------------------------------------------------
MONTHS: dict[str, str] = {
    "january": "january", "jan": "january", "february": "february", "feb": "february",
    "march": "march", "mar": "march", "april": "april", "apr": "april", "may": "may",
    "june": "june", "jun": "june", "july": "july", "jul": "july", "august": "august", "aug": "august",
    "september": "september", "sep": "september", "sept": "september", "october": "october",
    "oct": "october", "november": "november", "nov": "november", "december": "december",
    "dec": "december",
}  # fmt: skip
#: Month names that are common English words too: months only next to a number.
AMBIGUOUS_MONTHS = frozenset({"march", "mar", "may", "jun", "dec", "oct", "sep", "jan", "aug", "apr"})

DAY_WORDS: dict[str, str] = {
    "monday": "monday", "mon": "monday", "tuesday": "tuesday", "tue": "tuesday", "tues": "tuesday",
    "wednesday": "wednesday", "wed": "wednesday", "thursday": "thursday", "thu": "thursday",
    "thurs": "thursday", "friday": "friday", "fri": "friday", "saturday": "saturday", "sat": "saturday",
    "sunday": "sunday", "sun": "sunday", "today": "today", "tomorrow": "tomorrow", "tmrw": "tomorrow",
    "yesterday": "yesterday", "tonight": "tonight", "weekend": "weekend", "weekday": "weekday",
    "now": "now", "currently": "now", "nowadays": "now", "tmr": "tomorrow",
    "christmas": "christmas", "xmas": "christmas", "easter": "easter", "diwali": "diwali",
    "thanksgiving": "thanksgiving", "halloween": "halloween",
    "spring": "spring", "summer": "summer", "autumn": "autumn", "fall": "autumn", "winter": "winter",
}  # fmt: skip
#: Day words that are common English words too: dates only next to a number or a date word.
AMBIGUOUS_DAYS = frozenset({"sun", "sat", "wed", "mon", "fri", "fall", "spring", "now", "currently"})

TIME_WORDS: dict[str, str] = {
    "am": "am", "a.m.": "am", "pm": "pm", "p.m.": "pm", "morning": "morning", "afternoon": "afternoon",
    "evening": "evening", "night": "night", "midnight": "midnight", "noon": "noon", "midday": "noon",
    "dawn": "dawn", "dusk": "dusk", "sunrise": "sunrise", "sunset": "sunset", "o'clock": "o'clock",
    "oclock": "o'clock", "a.m": "am", "p.m": "pm", "utc": "utc", "gmt": "utc", "est": "est", "pst": "pst", "ist": "ist",
    "cet": "cet", "bst": "bst", "edt": "edt", "pdt": "pdt",
}  # fmt: skip
#: Time words that are English words too; "am" is a verb unless a number precedes it.
AMBIGUOUS_TIMES = frozenset({"am", "est"})

#: Relative-time qualifiers: "next week" is not "last week". Treated like date words.
RELATIVE_TIME = frozenset({
    "next", "last", "previous", "past", "upcoming", "coming", "following", "ago", "later", "earlier",
    "recent", "recently", "future", "current",
})  # fmt: skip

# --------------------------------------------------------------------------------------------------
# Negation and polarity.
# --------------------------------------------------------------------------------------------------
#: Negators, counted: two texts with a different number of them never merge. Verbs such as "fail" or
#: "stop" are content words, vetoed by the content rule.
COUNTED_NEGATIONS = frozenset({
    "not", "no", "never", "none", "nobody", "nothing", "nowhere", "neither", "nor", "without", "non",
})  # fmt: skip

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
    ("import", "export"), ("lock", "unlock"), ("mute", "unmute"), ("follow", "unfollow"),
    ("subscribe", "unsubscribe"), ("install", "uninstall"), ("like", "dislike"), ("love", "hate"),
    ("agree", "disagree"), ("connect", "disconnect"), ("mount", "unmount"), ("pause", "resume"),
    ("pause", "play"), ("freeze", "unfreeze"), ("hide", "show"), ("hidden", "visible"), ("show", "hide"),
    ("always", "never"), ("always", "sometimes"), ("all", "some"), ("all", "none"), ("everyone", "nobody"),
    ("success", "failure"), ("succeed", "fail"), ("pass", "fail"), ("valid", "invalid"),
    ("legal", "illegal"), ("possible", "impossible"), ("correct", "incorrect"), ("safe", "unsafe"),
    ("safe", "dangerous"), ("healthy", "unhealthy"), ("strong", "weak"), ("strength", "weakness"),
    ("wet", "dry"), ("full", "empty"), ("thick", "thin"), ("wide", "narrow"), ("deep", "shallow"),
    ("near", "far"), ("nearest", "farthest"), ("inner", "outer"), ("front", "back"), ("top", "bottom"),
    ("upper", "lower"), ("upstairs", "downstairs"), ("arrive", "depart"), ("arrival", "departure"),
    ("import", "export"), ("debit", "credit"), ("deposit", "withdraw"), ("income", "expense"),
    ("profit", "loss"), ("gain", "lose"), ("gain", "loss"), ("asset", "liability"), ("bull", "bear"),
    ("bullish", "bearish"), ("attack", "defend"), ("offense", "defense"), ("war", "peace"),
    ("past", "future"), ("ancient", "modern"), ("same", "different"), ("similar", "different"),
    ("cause", "effect"), ("question", "answer"), ("ask", "answer"), ("teach", "learn"),
    ("teacher", "student"), ("employer", "employee"), ("buyer", "seller"), ("landlord", "tenant"),
    ("parent", "child"), ("doctor", "patient"), ("host", "guest"), ("sender", "recipient"),
    ("import", "export"), ("major", "minor"), ("plus", "minus"), ("multiply", "divide"),
    ("sum", "difference"), ("odd", "even"), ("happy", "sad"), ("love", "hatred"), ("friend", "enemy"),
    ("victory", "defeat"), ("sunrise", "sunset"), ("day", "night"), ("heaven", "hell"),
    ("mac", "windows"), ("android", "ios"), ("iphone", "android"),
)  # fmt: skip

#: Prefixes that turn a word into its opposite ("lock"/"unlock", "like"/"dislike", "valid"/"invalid").
NEGATING_PREFIXES: tuple[str, ...] = ("un", "dis", "in", "im", "il", "ir", "non", "de", "anti", "non-", "a")

# --------------------------------------------------------------------------------------------------
# Question words and leading auxiliaries.
# --------------------------------------------------------------------------------------------------
#: Question words and the kind of answer they ask for. "which"/"what" ask the same thing in a question
#: such as "Which/What was the first novel?", so they share a kind; "whom" is "who".
WH_WORDS: dict[str, str] = {
    "what": "what", "which": "what", "whats": "what", "why": "why", "how": "how", "when": "when",
    "where": "where", "who": "who", "whom": "who", "whose": "whose", "whether": "yes/no",
}  # fmt: skip

#: "how much" and "how many" ask for a quantity, not a manner ("How much do you get paid?" is not "How do you
#: get paid?").
HOW_QUANTITY = frozenset({"much", "many", "long", "far", "often", "old", "big", "tall", "high", "large"})

#: Auxiliaries that open a yes/no question ("Is it safe?", "Can I ...?"), grouped by what they ask.
YESNO_AUX: dict[str, str] = {
    "is": "be", "are": "be", "am": "be", "was": "be", "were": "be", "do": "do", "does": "do", "did": "do",
    "have": "have", "has": "have", "had": "have", "can": "can", "could": "can", "may": "can",
    "might": "might", "should": "should", "shall": "should", "ought": "should", "must": "must",
    "will": "will", "would": "would",
}  # fmt: skip

#: Multi-word openers that ask the same as a single question word.
#: Matched on lemmas at the start of the question, after the opener "can you tell me" etc. is dropped.
HOW_PHRASES: tuple[tuple[str, ...], ...] = (
    ("what", "is", "the", "best", "way", "to"),
    ("what", "is", "the", "easiest", "way", "to"),
    ("what", "is", "the", "way", "to"),
    ("what", "is", "a", "good", "way", "to"),
    ("what", "are", "the", "ways", "to"),
    ("what", "are", "some", "ways", "to"),
    ("what", "are", "ways", "to"),
    ("what", "are", "the", "steps", "to"),
    ("what", "should", "i", "do", "to"),
    ("what", "can", "i", "do", "to"),
    ("what", "do", "i", "do", "to"),
    ("what", "is", "the", "procedure", "to"),
    ("what", "is", "the", "process", "to"),
    ("what", "is", "the", "method", "to"),
    ("in", "what", "way"),
)

#: "what is the best way to" asks "how": the words allowed between "what is/are" and the noun ...
HOW_PHRASE_FILLERS = frozenset({
    "the", "a", "an", "some", "best", "easiest", "good", "right", "proper", "correct", "simplest",
    "most", "effective", "efficient", "possible", "different", "various", "other", "better", "ideal",
    "recommended", "fastest", "quickest", "smartest", "cheapest",
})  # fmt: skip
#: ... and the nouns that make it a "how" question.
HOW_PHRASE_NOUNS = frozenset({
    "way", "ways", "method", "methods", "steps", "step", "tips", "procedure", "process", "technique",
    "techniques", "strategy", "strategies", "approach", "approaches",
})  # fmt: skip

#: Openers dropped before the question is classified ("Can you tell me why ..." asks "why").
POLITE_OPENERS: tuple[tuple[str, ...], ...] = (
    ("can", "you", "tell", "me"),
    ("could", "you", "tell", "me"),
    ("can", "you", "explain"),
    ("could", "you", "explain"),
    ("can", "you", "show", "me"),
    ("could", "you", "show", "me"),
    ("can", "you", "help", "me"),
    ("could", "you", "help", "me"),
    ("can", "someone", "tell", "me"),
    ("can", "anyone", "tell", "me"),
    ("can", "somebody", "tell", "me"),
    ("can", "someone", "explain"),
    ("can", "anyone", "explain"),
    ("do", "you", "know"),
    ("does", "anyone", "know"),
    ("does", "anybody", "know"),
    ("does", "someone", "know"),
    ("i", "want", "to", "know"),
    ("i", "would", "like", "to", "know"),
    ("i", "wonder"),
    ("please", "tell", "me"),
    ("please", "explain"),
    ("tell", "me"),
    ("in", "your", "opinion"),
    ("in", "your", "view"),
    ("according", "to", "you"),
    ("explain",),
    ("please",),
)

# --------------------------------------------------------------------------------------------------
# Tense: an auxiliary's tense is part of the question ("Who is ..." is not "Who was ...").
# --------------------------------------------------------------------------------------------------
PAST_AUX = frozenset({"was", "were", "did", "had"})

# --------------------------------------------------------------------------------------------------
# Fillers: words whose presence or absence never changes what a request asks.
# --------------------------------------------------------------------------------------------------
FILLERS = frozenset({
    # articles, determiners
    "a", "an", "the", "this", "that", "these", "those", "some", "any", "such", "certain",
    # first and second person (requests are asked by someone: "how do I" = "how do you" = "how does one")
    "i", "me", "my", "mine", "myself", "you", "your", "yours", "yourself", "we", "us", "our", "ours",
    "ourselves", "one", "oneself", "u", "ur",
    # auxiliaries and copulas (tense and question form are checked by their own rules)
    "is", "are", "am", "was", "were", "be", "been", "being", "do", "does", "did", "done", "doing",
    "have", "has", "had", "having", "can", "could", "may", "might", "should", "shall", "would", "will",
    "must", "ought",
    # question words (checked by the question rule)
    "what", "which", "whats", "why", "how", "when", "where", "who", "whom", "whose", "whether",
    # connectives and light prepositions
    "and", "or", "but", "so", "then", "if", "as", "of", "to", "for", "at", "by", "with", "about", "it",
    "its", "it's", "there", "here", "than", "also", "too", "yet", "via", "per", "upon", "onto", "in", "on",
    "into", "from", "within", "using",
    # politeness and hedges
    "please", "pls", "plz", "kindly", "thanks", "thank", "hi", "hello", "hey", "dear", "sir", "madam",
    "really", "actually", "exactly", "basically", "simply", "just", "truly", "ever", "even", "still",
    "quite", "rather", "perhaps", "maybe", "possibly", "possible", "literally", "generally", "usually",
    "typically", "normally", "anyway", "anyways", "ok", "okay", "well", "now", "currently",
    "tell", "know", "explain", "question", "answer", "want", "wonder", "i'd", "idea",
    "thing", "things", "something", "anything", "way", "ways", "method", "methods",
    "lot", "lots", "much", "many", "various", "different", "other", "etc", "very", "between",
    "go", "going", "able", "try", "trying", "become", "becoming", "became", "show", "display",
})  # fmt: skip


# --------------------------------------------------------------------------------------------------
# Synonyms: word -> canonical word. Both texts are mapped before comparison.
# --------------------------------------------------------------------------------------------------
_SYNONYM_GROUPS: tuple[tuple[str, ...], ...] = (
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
    ("ml", "machine-learning"),
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
    ("see", "view", "check", "show", "display", "look"),
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
    ("receipt", "invoice"),
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
SYNONYMS: dict[str, str] = {}
for _group in _SYNONYM_GROUPS:
    for _word in _group:
        SYNONYMS.setdefault(_word, _group[0])
del _group, _word

# --------------------------------------------------------------------------------------------------
# Light lemmatisation: irregular forms, then suffix rules in verifier.py.
# --------------------------------------------------------------------------------------------------
IRREGULAR: dict[str, str] = {
    "feet": "foot", "teeth": "tooth", "men": "man", "women": "woman", "children": "child",
    "mice": "mouse", "geese": "goose", "people": "person", "went": "go", "gone": "go", "goes": "go",
    "got": "get", "gotten": "get", "made": "make", "did": "do", "done": "do", "does": "do", "had": "have",
    "has": "have", "ran": "run", "wrote": "write", "written": "write", "bought": "buy", "sold": "sell",
    "took": "take", "taken": "take", "gave": "give", "given": "give", "knew": "know", "known": "know",
    "saw": "see", "seen": "see", "thought": "think", "found": "find", "became": "become", "began": "begin",
    "begun": "begin", "brought": "bring", "built": "build", "caught": "catch", "chose": "choose",
    "chosen": "choose", "came": "come", "drew": "draw", "drawn": "draw", "drove": "drive",
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
    "sought": "seek", "slept": "sleep", "left": "left", "indices": "index", "analyses": "analysis",
    "data": "data", "criteria": "criterion", "phenomena": "phenomenon", "lives": "life", "wives": "wife",
    "knives": "knife", "leaves": "leaf", "wolves": "wolf", "halves": "half", "shelves": "shelf",
    "i'm": "i", "im": "i", "ive": "i", "id": "id", "u": "you", "ur": "your", "r": "are", "pls": "please",
    "plz": "please", "thx": "thanks", "coz": "because", "cuz": "because", "bcoz": "because",
    "cos": "cos", "tho": "though", "thru": "through", "till": "until", "til": "until",
}  # fmt: skip

#: Words the suffix rules must leave alone ("https" is not the plural of "http", "news" not of "new").
NO_STEM = frozenset({
    "https", "news", "series", "species", "physics", "economics", "politics", "mathematics", "ethics",
    "always", "perhaps", "sometimes", "nowadays", "besides", "towards", "whereas", "various", "famous",
    "business", "boss", "bus", "gas", "plus", "minus", "bonus", "status", "campus", "virus", "canvas",
    "atlas", "alias", "chaos", "lens", "jeans", "diabetes", "herpes", "measles", "mumps", "rabies",
    "windows", "ios", "macos", "aws", "gcp", "dos", "sms", "mms", "dns", "gps", "css", "js", "sas",
    "less", "unless", "yes", "this", "his", "its", "hers", "ours", "yours", "theirs", "was", "does", "has",
    "is", "us", "thus", "kudos", "data",
})  # fmt: skip

#: Irregular plurals (for the singular/plural rule).
IRREGULAR_PLURALS = frozenset({
    "feet", "teeth", "men", "women", "children", "mice", "geese", "people", "indices", "analyses", "criteria",
    "phenomena", "lives", "wives", "knives", "leaves", "wolves", "halves", "shelves", "data",
})  # fmt: skip

#: Nouns whose singular and plural ask the same ("What is the difference ..." = "What are the differences
#: ..."): exempt from the singular/plural rule.
PLURAL_NEUTRAL = frozenset({
    "difference", "similarity", "advantage", "disadvantage", "benefit", "drawback", "pro", "con", "cause",
    "effect", "symptom", "sign", "reason", "example", "step", "tip", "type", "kind", "feature", "rule",
    "requirement", "option", "alternative", "consequence", "risk", "side", "use", "application", "way",
    "method", "idea", "fact", "detail", "information", "news", "result", "change", "solution",
})  # fmt: skip

#: Irregular past participles ("get stolen", "got hidden"), for the passive "get".
IRREGULAR_PARTICIPLES = frozenset({
    "stolen", "broken", "taken", "given", "written", "hidden", "eaten", "beaten", "bitten", "chosen",
    "driven", "forgotten", "frozen", "shaken", "spoken", "sworn", "torn", "woken", "worn", "thrown",
    "shown", "known", "drawn", "grown", "blown", "caught", "paid", "sold", "sent", "lost", "hurt", "hit",
    "stuck", "fired", "banned", "done", "made", "told", "left", "kept", "held", "bought",
})  # fmt: skip

#: British and American spellings (British -> American).
SPELLING_VARIANTS: dict[str, str] = {
    "colour": "color", "favourite": "favorite", "favour": "favor", "honour": "honor", "behaviour": "behavior",
    "neighbour": "neighbor", "labour": "labor", "humour": "humor", "flavour": "flavor", "centre": "center",
    "theatre": "theater", "metre": "meter", "litre": "liter", "fibre": "fiber", "defence": "defense",
    "licence": "license", "offence": "offense", "practise": "practice", "grey": "gray", "cheque": "check",
    "programme": "program", "catalogue": "catalog", "dialogue": "dialog", "analogue": "analog",
    "travelling": "traveling", "travelled": "traveled", "cancelled": "canceled", "cancelling": "canceling",
    "modelling": "modeling", "jewellery": "jewelry", "tyre": "tire", "aluminium": "aluminum",
    "mum": "mom", "maths": "math", "aeroplane": "airplane", "enrol": "enroll", "judgement": "judgment",
}  # fmt: skip

#: Multi-word verbs folded into one token before the rules run ("log in" = "login", "turn off" = "disable").
PHRASES: dict[tuple[str, str], str] = {
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
}  # fmt: skip

#: Openers of a yes/no question that ask what a single auxiliary asks ("Is it possible to ..." = "Can I ...").
YESNO_PHRASES: dict[tuple[str, ...], str] = {
    ("is", "it", "possible", "to"): "can",
    ("is", "there", "a", "way", "to"): "can",
    ("is", "there", "any", "way", "to"): "can",
    ("am", "i", "able", "to"): "can",
    ("are", "we", "able", "to"): "can",
    ("is", "it", "going", "to"): "will",
    ("are", "you", "going", "to"): "will",
    ("am", "i", "going", "to"): "will",
    ("are", "they", "going", "to"): "will",
    ("is", "he", "going", "to"): "will",
    ("is", "she", "going", "to"): "will",
}

#: Personal pronouns by person: "1" (I, we), "2" (you), "g" (generic one). Subject pronouns may be
#: relabelled between two requests ("How do I ..." = "How do you ..."), possessives must follow the same
#: relabelling ("my password" / "your password"), so "What is your name?" is not "What is my name?".
SUBJECT_PRONOUNS: dict[str, str] = {"i": "1", "we": "1", "you": "2", "u": "2", "one": "g"}
OWNER_PRONOUNS: dict[str, str] = {
    "my": "1", "mine": "1", "me": "1", "myself": "1", "our": "1", "ours": "1", "us": "1", "ourselves": "1",
    "your": "2", "yours": "2", "yourself": "2", "yourselves": "2", "ur": "2", "oneself": "g",
}  # fmt: skip
