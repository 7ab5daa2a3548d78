"""A rule-based verifier that vetoes semantic merges of requests that ask different things.

A sentence encoder puts "Show me my invoice" and "Don't show me my invoice" at cosine 0.94, and two
requests that differ only in an emoji the tokenizer maps to ``[UNK]`` at cosine 1.0. Under the
``"hybrid"`` strategy every pair of requests that the embeddings would merge goes through
:class:`MergeVerifier` first, and the merge happens only when the verifier finds no difference in what
the two requests ask. A merged request gets another request's answer, so the verifier is built to say
"no" whenever it is unsure: a missed merge costs one handler call, a false one a wrong answer.

Each text is reduced once to :class:`TextFacts` (its numbers, units, dates, times, negations, question
form, tense, pronouns, content words in order, non-Latin words and symbols); two texts' facts are then
compared rule by rule (:data:`~batchsieve.verifier.rules.RULES`, one rule per category, in this order),
and every rule that fires adds a human-readable reason to the :class:`Verdict`:

==============  =================================================================================
category        vetoes when the two texts differ in ...
==============  =================================================================================
``flag``        the encoder's report: a text held ``[UNK]`` tokens or was truncated
``number``      numbers and quantities: digits, number words, ordinals, fractions, years, their order
``unit``        units and currencies (km / miles, $ / €, %, °C / °F, GB / MB)
``date``        months, weekdays, today / tomorrow, seasons, holidays, next / last
``time``        times of day (am / pm, morning / evening, 5:30, time zones)
``negation``    the number of negations (not, n't, never, no, without, ...)
``polarity``    a word and its opposite (enable / disable, on / off, lock / unlock, buy / sell)
``roles``       the order of two shared words around the same marker ("from A to B" / "from B to A",
                "A hates B" / "B hates A", "A's B" / "B's A") or of two adjacent words
``question``    the question word or the yes/no auxiliary ("Is X ...?" / "Why is X ...?"; "how much"
                is not "how"; "which" and "what" are one kind; "what is the best way to" is "how")
``tense``       the number of past-tense auxiliaries ("Who was ..." / "Who is ...")
``person``      whose thing it is ("What is your name?" / "What is my name?"); "How do I ..." and
                "How do you ..." are the same question, so subject pronouns may be relabelled
``plural``      singular versus plural after a determiner ("my invoice" / "my invoices")
``content``     a content word (not a filler, not a synonym) present in only one text
``script``      words in a non-Latin script (the encoder often cannot see them)
``symbol``      symbols and emoji
==============  =================================================================================

Identical texts (after :func:`~batchsieve.normalize.normalize_text`) always merge; the encoder's flags
veto every other pair that carries them. The word lists live in :mod:`batchsieve.verifier.lexicon`.
The verifier has no mutable state after construction (the only cache is :func:`functools.lru_cache` on
a pure function), so one instance may serve many threads.

Layout: ``_model`` (the values), ``_tokens`` and ``_morphology`` (tokens, lemmas, plurals, numbers),
``_question`` (question form), ``_vocabulary`` (the lexicon as one verifier reads it), ``_facts`` (one
text -> :class:`TextFacts`), ``rules`` (the registry), ``_verifier`` (:class:`MergeVerifier`).
"""

from __future__ import annotations

from ._model import CATEGORIES, TextFacts, Verdict
from ._verifier import MergeVerifier
from .rules import RULES, Comparison, Rule

__all__ = ["CATEGORIES", "RULES", "Comparison", "MergeVerifier", "Rule", "TextFacts", "Verdict"]
