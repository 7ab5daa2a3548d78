"""Word lists behind :class:`~batchsieve.verifier.MergeVerifier`, one topic per module.

Every table is a plain literal frozen at import (``frozenset``, ``tuple`` or ``types.MappingProxyType``),
so the rules' vocabulary can be read (and argued with) in one place, and ``tests/verifier/test_lexicon.py``
checks its invariants. Words are lower-case; the verifier case-folds text before looking them up.

==================  ======================================================================
module              holds
==================  ======================================================================
``numbers``         number words, scales, ordinals, fractions
``units``           units and currencies, and the spellings that need a number before them
``dates``           months, days, holidays, seasons, relative-time words, times of day
``grammar``         contractions, negators, question words, auxiliaries, openers, pronouns,
                    and the word classes the rules test for
``fillers``         words whose presence never changes what a request asks
``synonyms``        synonym groups, British spellings, multi-word verbs
``antonyms``        antonym pairs and negating prefixes
``inflections``     irregular forms, words the suffix rules leave alone, plural tables
==================  ======================================================================

The lists are deliberately small: a word that is *not* listed as a filler or a synonym counts as a
content word, and a content word present in only one of two requests blocks their merge. A missing
synonym costs a merge (one extra handler call); a wrong synonym or filler can cost a wrong answer, so an
entry goes in only when swapping the two words never changes what a request asks.
"""

from __future__ import annotations

from .antonyms import (
    ANTONYM_PAIRS,
    NEGATING_PREFIXES,
)
from .dates import (
    AMBIGUOUS_DAYS,
    AMBIGUOUS_MONTHS,
    AMBIGUOUS_TIMES,
    DAY_WORDS,
    MONTHS,
    RELATIVE_TIME,
    TIME_WORDS,
)
from .fillers import (
    FILLERS,
)
from .grammar import (
    AFTER_MAIN_DO,
    CONTRACTION_SUFFIXES,
    CONTRACTIONS,
    COORDINATORS,
    COUNTED_NEGATIONS,
    DETERMINERS,
    DO_FORMS,
    GET_FORMS,
    HOW_PHRASE_FILLERS,
    HOW_PHRASE_NOUNS,
    HOW_PHRASES,
    HOW_QUANTITY,
    LIGHT_WORDS,
    LIKE_FILLER_AFTER,
    LIKE_VERB_AFTER,
    NEGATION_EXPANSIONS,
    NOT_STEMS,
    OWNER_PRONOUNS,
    PAST_AUX,
    POLITE_OPENERS,
    SAME_ROLE_MARKER,
    SUBJECT_PRONOUNS,
    SYMMETRIC_MARKERS,
    WH_WORDS,
    YESNO_AUX,
    YESNO_PHRASES,
)
from .inflections import (
    IRREGULAR_PARTICIPLES,
    IRREGULAR_PLURALS,
    IRREGULAR_VERBS,
    KEEP_FINAL_S,
    NO_STEM,
    PLURAL_NEUTRAL,
    SHORTHAND,
)
from .numbers import (
    FRACTION_WORDS,
    NUMBER_WORDS,
    ORDINAL_SUFFIXES,
    ORDINAL_WORDS,
    PRONOUN_ONE_AFTER,
    SCALE_WORDS,
)
from .synonyms import (
    PHRASES,
    SPELLING_VARIANTS,
    SYNONYM_GROUPS,
    SYNONYMS,
)
from .units import (
    POUND,
    UNIT_SPELLINGS,
    UNITS,
    UNITS_AFTER_NUMBER,
    UNITS_NEEDING_NUMBER,
)

__all__ = [
    "AFTER_MAIN_DO",
    "AMBIGUOUS_DAYS",
    "AMBIGUOUS_MONTHS",
    "AMBIGUOUS_TIMES",
    "ANTONYM_PAIRS",
    "CONTRACTIONS",
    "CONTRACTION_SUFFIXES",
    "COORDINATORS",
    "COUNTED_NEGATIONS",
    "DAY_WORDS",
    "DETERMINERS",
    "DO_FORMS",
    "FILLERS",
    "FRACTION_WORDS",
    "GET_FORMS",
    "HOW_PHRASES",
    "HOW_PHRASE_FILLERS",
    "HOW_PHRASE_NOUNS",
    "HOW_QUANTITY",
    "IRREGULAR_PARTICIPLES",
    "IRREGULAR_PLURALS",
    "IRREGULAR_VERBS",
    "KEEP_FINAL_S",
    "LIGHT_WORDS",
    "LIKE_FILLER_AFTER",
    "LIKE_VERB_AFTER",
    "MONTHS",
    "NEGATING_PREFIXES",
    "NEGATION_EXPANSIONS",
    "NOT_STEMS",
    "NO_STEM",
    "NUMBER_WORDS",
    "ORDINAL_SUFFIXES",
    "ORDINAL_WORDS",
    "OWNER_PRONOUNS",
    "PAST_AUX",
    "PHRASES",
    "PLURAL_NEUTRAL",
    "POLITE_OPENERS",
    "POUND",
    "PRONOUN_ONE_AFTER",
    "RELATIVE_TIME",
    "SAME_ROLE_MARKER",
    "SCALE_WORDS",
    "SHORTHAND",
    "SPELLING_VARIANTS",
    "SUBJECT_PRONOUNS",
    "SYMMETRIC_MARKERS",
    "SYNONYMS",
    "SYNONYM_GROUPS",
    "TIME_WORDS",
    "UNITS",
    "UNITS_AFTER_NUMBER",
    "UNITS_NEEDING_NUMBER",
    "UNIT_SPELLINGS",
    "WH_WORDS",
    "YESNO_AUX",
    "YESNO_PHRASES",
]
