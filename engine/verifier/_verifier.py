""":class:`MergeVerifier`: the rules of :mod:`batchsieve.verifier.rules` applied to two texts' facts."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from .._checks import check_str
from ._facts import text_facts
from ._model import CATEGORIES, TextFacts, Verdict
from ._vocabulary import Vocabulary
from .rules import RULES, Comparison


class MergeVerifier:
    """Decide whether two requests that embed close together really ask the same thing.

    ``check(a, b)`` returns a :class:`Verdict`; ``explain(a, b)`` says in words why two requests did or
    did not merge. Every rule is symmetric, so ``check(a, b).ok == check(b, a).ok``, and identical
    texts (after :func:`~batchsieve.normalize.normalize_text`) always merge.

    ``rules`` selects the categories to apply (default: all of :data:`CATEGORIES`); the ``flag`` rule
    (unknown tokens, truncation) cannot be switched off. ``extra_fillers`` and ``extra_synonyms``
    extend the lexicon for a domain (e.g. ``extra_synonyms={"cost": "price"}`` makes "cost" mean
    "price").
    """

    def __init__(
        self,
        *,
        rules: Iterable[str] | None = None,
        extra_fillers: Iterable[str] = (),
        extra_synonyms: Mapping[str, str] | None = None,
    ) -> None:
        chosen = frozenset(CATEGORIES if rules is None else rules) | {"flag"}
        unknown = chosen - set(CATEGORIES)
        if unknown:
            raise ValueError(f"unknown verifier rules: {sorted(unknown)}; choose from {CATEGORIES}")
        if isinstance(extra_fillers, str):  # would add each of its letters as a filler
            raise TypeError(f"extra_fillers must be an iterable of str, not a str, got {extra_fillers!r}")
        fillers = [check_str("extra_fillers item", w) for w in extra_fillers]
        if extra_synonyms is not None and not isinstance(extra_synonyms, Mapping):
            raise TypeError(
                f"extra_synonyms must be a mapping or None, got {type(extra_synonyms).__name__} {extra_synonyms!r}"
            )
        synonyms = {check_str("extra_synonyms key", w): check_str(f"extra_synonyms[{w!r}]", c)
                    for w, c in (extra_synonyms or {}).items()}  # fmt: skip
        self._rules = chosen
        self._active = tuple(rule for rule in RULES if rule.category in chosen)
        self._vocab = Vocabulary.build(fillers, synonyms)

    @property
    def rules(self) -> frozenset[str]:
        """The rule categories this verifier applies."""
        return self._rules

    def facts(self, text: str) -> TextFacts:
        """Extract the :class:`TextFacts` of ``text``.

        Pure: the same text always gives the same facts. Pass facts to :meth:`check` to compare one text
        with many others without analysing it again.
        """
        return text_facts(text, self._vocab)

    def check(
        self,
        a: str | TextFacts,
        b: str | TextFacts,
        *,
        a_unknown: bool = False,
        b_unknown: bool = False,
        a_truncated: bool = False,
        b_truncated: bool = False,
    ) -> Verdict:
        """Whether ``a`` and ``b`` may merge, with every reason against it.

        ``a``/``b`` are texts or their :meth:`facts`. ``*_unknown`` and ``*_truncated`` are the encoder's
        flags for each text: its tokenizer produced ``[UNK]`` tokens, or the text was cut at the encoder's
        maximum length. Either flag vetoes the merge unless the two texts are identical after
        normalisation.
        """
        fa = a if isinstance(a, TextFacts) else self.facts(a)
        fb = b if isinstance(b, TextFacts) else self.facts(b)
        if fa.norm == fb.norm:
            return Verdict(True)
        pair = Comparison(fa, fb, self._vocab, a_unknown, b_unknown, a_truncated, b_truncated)
        reasons: list[str] = []
        categories: list[str] = []
        for rule in self._active:
            for reason in rule.find(pair):
                reasons.append(reason)
                categories.append(rule.category)
        return Verdict(not reasons, tuple(reasons), tuple(categories))

    def explain(
        self, a: str, b: str, cosine: float | None = None, threshold: float | None = None, **flags: bool
    ) -> str:
        """Say in words why ``a`` and ``b`` did or did not merge.

        With ``cosine`` and ``threshold`` (the embedding similarity and the strategy's threshold), the
        explanation covers the whole hybrid decision: exact match, then the threshold, then the verifier.
        ``flags`` are the encoder flags of :meth:`check` (``a_unknown=...``, ...).
        """
        head = f"a: {a!r}\nb: {b!r}\n"
        fa, fb = self.facts(a), self.facts(b)
        if fa.norm == fb.norm:
            return head + "MERGE: identical after normalisation (exact match)"
        verdict = self.check(fa, fb, **flags)
        lines: list[str] = []
        candidate = True
        if cosine is not None:
            if threshold is None:
                lines.append(f"cosine {cosine:.3f}")
            elif cosine >= threshold:
                lines.append(f"cosine {cosine:.3f} >= threshold {threshold:.3f}: an embedding candidate")
            else:
                candidate = False
                lines.append(f"cosine {cosine:.3f} < threshold {threshold:.3f}: not an embedding candidate")
        if verdict.ok:
            lines.append("verifier: no difference found in numbers, units, dates, times, negation, polarity, "
                         "roles, question form, tense, person, content words, scripts or symbols")  # fmt: skip
        else:
            count = len(verdict.reasons)
            lines.append(f"verifier vetoes ({count} reason{'s' if count > 1 else ''}):")
            lines.extend(f"  - [{c}] {r}" for c, r in zip(verdict.categories, verdict.reasons, strict=True))
        if cosine is None or threshold is None:
            decision = "ALLOWED: the verifier finds no difference" if verdict.ok else "VETOED by the verifier"
        elif not candidate:
            decision = "NO MERGE: below the threshold"
        else:
            decision = "MERGE" if verdict.ok else "NO MERGE: vetoed by the verifier"
        return head + decision + "\n" + "\n".join(lines)
