"""The rule registry: one rule per category in the order of CATEGORIES, and check() walks exactly the
rules chosen with ``rules=``."""

from __future__ import annotations

import pytest
from batchsieve.verifier import CATEGORIES, RULES, MergeVerifier, Rule
from batchsieve.verifier.rules import Comparison

V = MergeVerifier()
#: A pair that every category but ``flag`` vetoes once flags are passed; each rule is seen firing.
EVERYTHING = ("Who was the CEO of Apple in 2010 at 5 pm on Monday, not in km? 我 🍕 my invoices",
              "Why is the CTO of Banana in 2012 at 6 pm on Tuesday in miles? 你 🍔 your invoice")  # fmt: skip


def test_registry_order_is_the_category_order():
    assert tuple(rule.category for rule in RULES) == CATEGORIES
    assert all(isinstance(rule, Rule) and callable(rule.find) for rule in RULES)


def test_each_category_has_exactly_one_rule():
    categories = [rule.category for rule in RULES]
    assert sorted(categories) == sorted(set(categories)) == sorted(CATEGORIES)


def test_a_rule_yields_reasons_from_the_facts_of_both_texts():
    pair = Comparison(V.facts("2 rooms"), V.facts("3 rooms"), V._vocab)
    number = next(rule for rule in RULES if rule.category == "number")
    assert list(number.find(pair)) == ["number differs: '2' vs '3'"]
    flag = RULES[0]
    assert list(flag.find(Comparison(pair.a, pair.b, V._vocab, b_truncated=True))) == [
        "truncated: b is longer than the encoder's window; its tail was not embedded"
    ]


def test_reasons_come_in_registry_order():
    verdict = V.check(*EVERYTHING, a_unknown=True)
    order = [CATEGORIES.index(c) for c in verdict.categories]
    assert order == sorted(order)
    assert {"flag", "number", "date", "question", "tense", "content", "script", "symbol"} <= set(
        verdict.categories)


@pytest.mark.parametrize("category", [c for c in CATEGORIES if c != "flag"])
def test_disabling_a_rule_skips_it_and_only_it(category):
    full = V.check(*EVERYTHING)
    without = MergeVerifier(rules=[c for c in CATEGORIES if c != category]).check(*EVERYTHING)
    assert category not in without.categories
    kept = [(c, r) for c, r in zip(full.categories, full.reasons, strict=True) if c != category]
    if category != "polarity":  # polarity hands the words it reports over to the content rule when off
        assert list(zip(without.categories, without.reasons, strict=True)) == kept
    only = MergeVerifier(rules=[category])
    assert only.rules == {"flag", category}
    assert set(only.check(*EVERYTHING).categories) <= {"flag", category}


def test_the_flag_rule_cannot_be_disabled():
    verifier = MergeVerifier(rules=[])
    assert verifier.rules == {"flag"}
    assert verifier.check("a b", "a c").ok
    assert verifier.check("a b", "a c", a_unknown=True).categories == ("flag",)


def test_polarity_reports_its_words_once():
    verdict = V.check("How do I lock my account?", "How do I unlock my account?")
    assert verdict.categories == ("polarity",)
    verdict = MergeVerifier(rules=["content"]).check("How do I lock my account?", "How do I unlock my account?")
    assert verdict.categories == ("content", "content")


def test_constructor_checks_its_arguments():
    with pytest.raises(ValueError, match="unknown verifier rules"):
        MergeVerifier(rules=["number", "colour"])
    with pytest.raises(TypeError, match="extra_fillers must be an iterable of str"):
        MergeVerifier(extra_fillers="kindly")
    with pytest.raises(TypeError, match="extra_fillers item must be a str"):
        MergeVerifier(extra_fillers=["kindly", 3])
    with pytest.raises(TypeError, match="extra_synonyms must be a mapping"):
        MergeVerifier(extra_synonyms=[("toll", "fee")])
    with pytest.raises(TypeError, match="must be a str"):
        MergeVerifier(extra_synonyms={"toll": 3})
