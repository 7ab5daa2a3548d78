"""Grammar words: contractions, negators, question words and auxiliaries, openers, pronouns, and the small
word classes the rules test for (determiners, coordinators, role markers)."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

# --------------------------------------------------------------------------------------------------
# Contractions, expanded before anything else ("don't" -> "do not", "what's" -> "what is").
# --------------------------------------------------------------------------------------------------
CONTRACTIONS: Mapping[str, tuple[str, ...]] = MappingProxyType({
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
})

#: Suffix expansions tried when a word is not in CONTRACTIONS ("isn't" -> "is" + "not").
CONTRACTION_SUFFIXES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("n't", ("not",)),
    ("'re", ("are",)),
    ("'ve", ("have",)),
    ("'ll", ("will",)),
    ("'d", ("would",)),
    ("'m", ("am",)),
)
#: Stems of "n't" contractions that are not the auxiliary itself ("can't" -> "can", "won't" -> "will").
NOT_STEMS: Mapping[str, str] = MappingProxyType({"ca": "can", "wo": "will", "sha": "shall"})
#: Words that expand into a negation before the rules run ("unable" -> "not able").
NEGATION_EXPANSIONS: Mapping[str, tuple[str, ...]] = MappingProxyType({"unable": ("not", "able"), "nope": ("no",)})

# --------------------------------------------------------------------------------------------------
# Negation and tense.
# --------------------------------------------------------------------------------------------------
#: Negators, counted: two texts with a different number of them never merge. Verbs such as "fail" or
#: "stop" are content words, vetoed by the content rule.
COUNTED_NEGATIONS = frozenset({
    "not", "no", "never", "none", "nobody", "nothing", "nowhere", "neither", "nor", "without", "non",
})  # fmt: skip

#: Past-tense auxiliaries: an auxiliary's tense is part of the question ("Who is ..." is not "Who was ...").
PAST_AUX = frozenset({"was", "were", "did", "had"})

# --------------------------------------------------------------------------------------------------
# Question words, leading auxiliaries and openers.
# --------------------------------------------------------------------------------------------------
#: Question words and the kind of answer they ask for. "which"/"what" ask the same thing in a question
#: such as "Which/What was the first novel?", so they share a kind; "whom" is "who".
WH_WORDS: Mapping[str, str] = MappingProxyType({
    "what": "what", "which": "what", "whats": "what", "why": "why", "how": "how", "when": "when",
    "where": "where", "who": "who", "whom": "who", "whose": "whose", "whether": "yes/no",
})  # fmt: skip

#: "how much" and "how many" ask for a quantity, not a manner ("How much do you get paid?" is not "How do you
#: get paid?").
HOW_QUANTITY = frozenset({"much", "many", "long", "far", "often", "old", "big", "tall", "high", "large"})

#: Auxiliaries that open a yes/no question ("Is it safe?", "Can I ...?"), grouped by what they ask.
YESNO_AUX: Mapping[str, str] = MappingProxyType({
    "is": "be", "are": "be", "am": "be", "was": "be", "were": "be", "do": "do", "does": "do", "did": "do",
    "have": "have", "has": "have", "had": "have", "can": "can", "could": "can", "may": "can",
    "might": "might", "should": "should", "shall": "should", "ought": "should", "must": "must",
    "will": "will", "would": "would",
})  # fmt: skip

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

#: Openers of a yes/no question that ask what a single auxiliary asks ("Is it possible to ..." = "Can I ...").
YESNO_PHRASES: Mapping[tuple[str, ...], str] = MappingProxyType({
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
})

# --------------------------------------------------------------------------------------------------
# Pronouns and determiners.
# --------------------------------------------------------------------------------------------------
#: Personal pronouns by person: "1" (I, we), "2" (you), "g" (generic one). Subject pronouns may be
#: relabelled between two requests ("How do I ..." = "How do you ..."), possessives must follow the same
#: relabelling ("my password" / "your password"), so "What is your name?" is not "What is my name?".
SUBJECT_PRONOUNS: Mapping[str, str] = MappingProxyType({"i": "1", "we": "1", "you": "2", "u": "2", "one": "g"})
#: Possessive and object pronouns, by person. All are fillers ("yourselves" is left out: a content word).
OWNER_PRONOUNS: Mapping[str, str] = MappingProxyType({
    "my": "1", "mine": "1", "me": "1", "myself": "1", "our": "1", "ours": "1", "us": "1", "ourselves": "1",
    "your": "2", "yours": "2", "yourself": "2", "ur": "2", "oneself": "g",
})  # fmt: skip
#: Determiners after which singular and plural ask different things ("my invoice" / "my invoices").
DETERMINERS = frozenset({"my", "your", "our", "the", "this", "that", "these", "those", "his", "her", "their"})

# --------------------------------------------------------------------------------------------------
# Verbs whose role depends on the words around them.
# --------------------------------------------------------------------------------------------------
#: Forms of "get": a filler before a past participle ("get charged" is "be charged").
GET_FORMS = frozenset({"get", "gets", "got", "getting", "gotten"})
#: Forms of "do": a content word when it is the main verb ("What does melanin do?").
DO_FORMS = frozenset({"do", "does", "did", "doing", "done"})
#: Words that may follow a main-verb "do" ("What does it do for ...?"); "" is the end of the text.
AFTER_MAIN_DO = frozenset({"", "to", "with", "for", "in", "on", "about", "after", "during", "if", "when"})
#: Words before "like" that keep it a verb in a "what" question ("What do people like about ...?").
LIKE_VERB_AFTER = frozenset({
    "i", "you", "we", "they", "he", "she", "people", "to", "not", "do", "does", "did", "really", "also",
    "who", "that", "which", "guys", "girls", "men", "women", "kids", "children", "cats", "dogs",
})  # fmt: skip
#: Words before "like" that make it a filler ("would like", "what is it like", "feels like").
LIKE_FILLER_AFTER = frozenset({
    "would", "d", "feel", "feels", "felt", "look", "looks", "seem", "seems", "sound", "sounds", "it", "is", "are",
    "was", "were", "be", "being", "something", "anything", "things", "stuff", "just", "exactly",
})  # fmt: skip

# --------------------------------------------------------------------------------------------------
# Word order (the roles rule).
# --------------------------------------------------------------------------------------------------
#: Markers around which two words may swap without changing the question ("A and B" / "B and A").
SYMMETRIC_MARKERS = frozenset({
    "and", "or", "vs", "versus", "between", "&", "the", "a", "an", ",", "difference", "both", "either",
    "neither", "with",
})  # fmt: skip
#: Coordinators: "real gas and ideal gas" / "ideal gas and real gas" ask the same.
COORDINATORS = frozenset({"and", "or", "vs", "versus", "&", ",", "nor"})
#: Words that do not separate two words for the adjacency test of the roles rule ("sue my employer").
LIGHT_WORDS = frozenset({
    "the", "a", "an", "my", "your", "our", "his", "her", "their", "its", "this", "that", "these", "those",
    "me", "i", "you", "we", "us", "him", "them", "it", "some", "any",
})  # fmt: skip
#: Markers that play the same role around two swapped words ("10 km to miles" / "10 miles into km").
SAME_ROLE_MARKER: Mapping[str, str] = MappingProxyType({
    "into": "to", "towards": "to", "toward": "to", "onto": "to", "unto": "to",
})  # fmt: skip
