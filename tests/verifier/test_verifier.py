"""MergeVerifier: every veto category with explicit pairs and reasons, rewordings allowed, explain(),
encoder flags, and property tests (identity, symmetry, never raises)."""

from __future__ import annotations

import threading

import pytest
from batchsieve.verifier import CATEGORIES, MergeVerifier, TextFacts, Verdict
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

V = MergeVerifier()

# (a, b, category, substring of the reason)
VETOES = [
    # numbers and quantities
    ("I am 37 weeks pregnant, is it safe to fly?", "I am 35 weeks pregnant, is it safe to fly?", "number",
     "number differs: '37' vs '35'"),
    ("Can I return an item after two weeks?", "Can I return an item after three weeks?", "number",
     "number differs: 'two' vs 'three'"),
    ("What was the first iPhone?", "What was the second iPhone?", "number", "'first' vs 'second'"),
    ("What is the 3rd largest city?", "What is the 2nd largest city?", "number", "'3rd' vs '2nd'"),
    ("What is half of 250?", "What is a quarter of 250?", "number", "'half' vs 'quarter'"),
    ("Give me a 1,000 word outline", "Give me a 10,000 word outline", "number", "'1,000' vs '10,000'"),
    ("What happened in 1945?", "What happened in 1944?", "number", "'1945' vs '1944'"),
    ("Show me my last 5 invoices", "Show me my invoices", "number", "number only in a: '5'"),
    ("My order has 12 items but I was charged for 13", "My order has 13 items but I was charged for 12",
     "number", "numbers in a different order"),
    # units and currencies
    ("Convert 10 km to meters", "Convert 10 km to feet", "unit", "unit differs: 'meters' vs 'feet'"),
    ("Convert 50 USD to EUR", "Convert 50 USD to GBP", "unit", "'eur' vs 'gbp'"),
    ("Increase my storage by 50 GB", "Increase my storage by 50%", "unit", "'gb' vs '%'"),
    ("Is 5 kg too heavy?", "Is 5 lbs too heavy?", "unit", "'kg' vs 'lbs'"),
    # dates and times
    ("What's the weather in Paris on Monday?", "What's the weather in Paris on Tuesday?", "date",
     "date differs: 'monday' vs 'tuesday'"),
    ("Will it rain tomorrow in Seattle?", "Will it rain today in Seattle?", "date", "'tomorrow' vs 'today'"),
    ("What is the forecast for this weekend?", "What is the forecast for next weekend?", "date",
     "date only in b: 'next'"),
    ("Show me my invoices from January", "Show me my invoices from February", "date", "'january' vs 'february'"),
    ("Set an alarm for 6 am", "Set an alarm for 6 pm", "time", "time differs: 'am' vs 'pm'"),
    ("Set an alarm for 5pm", "Set an alarm for 5 am", "time", "time differs: 'pm' vs 'am'"),
    ("Remind me at 7:30", "Remind me at 7:45", "time", "'7:30' vs '7:45'"),
    ("Is the pharmacy open at midnight?", "Is the pharmacy open at noon?", "time", "'midnight' vs 'noon'"),
    # negation
    ("Show me my invoice", "Don't show me my invoice", "negation", "negation differs: none in a vs 'do not' in b"),
    ("Why does my code compile?", "Why doesn't my code compile?", "negation", "'does not' in b"),
    ("Send me email notifications", "Never send me email notifications", "negation", "'never' in b"),
    ("Can I use the app without an account?", "Can I use the app with an account?", "negation", "'without' in a"),
    # polarity: antonyms and negating prefixes
    ("How do I enable two-factor authentication?", "How do I disable two-factor authentication?", "polarity",
     "opposite meaning: 'enable' vs 'disable'"),
    ("How do I turn on dark mode?", "How do I turn off dark mode?", "polarity", "opposite meaning"),
    ("Should I buy Tesla stock now?", "Should I sell Tesla stock now?", "polarity", "'buy' vs 'sell'"),
    ("How do I lock my account?", "How do I unlock my account?", "polarity", "'lock' vs 'unlock'"),
    ("How do I install Docker?", "How do I uninstall Docker?", "polarity", "'install' vs 'uninstall'"),
    ("Should I take it before eating?", "Should I take it after eating?", "polarity", "'before' vs 'after'"),
    ("How do I increase the font size?", "How do I decrease the font size?", "polarity", "'increase' vs 'decrease'"),
    ("What are the advantages of remote work?", "What are the disadvantages of remote work?", "polarity",
     "'advantages' vs 'disadvantages'"),
    # swapped roles
    ("How do I convert USD to EUR?", "How do I convert EUR to USD?", "roles", "roles swapped"),
    ("Flights from London to Paris", "Flights from Paris to London", "roles", "'london' ... 'to' ... 'paris'"),
    ("Why do cats hate dogs?", "Why do dogs hate cats?", "roles", "roles swapped"),
    ("What does Trump think of Clinton?", "What does Clinton think of Trump?", "roles", "roles swapped"),
    ("Is Python faster than Java?", "Is Java faster than Python?", "roles", "roles swapped"),
    ("Is chocolate milk healthy?", "Is milk chocolate healthy?", "roles", "word order swapped"),
    ("Can my employer sue me?", "Can I sue my employer?", "roles", "word order swapped"),
    ("Is my wife's friend invited?", "Is my friend's wife invited?", "roles", "roles swapped"),
    ("How do I redirect HTTP to HTTPS?", "How do I redirect HTTPS to HTTP?", "roles", "roles swapped"),
    # question words
    ("Is Israel a country?", "Why is Israel a country?", "question", "question word differs: 'is' vs 'why'"),
    ("Can I change my username?", "How can I change my username?", "question", "'can' vs 'how'"),
    ("Where can I buy a SIM card?", "When can I buy a SIM card?", "question", "'where' vs 'when'"),
    ("Does the API support pagination?", "How does the API support pagination?", "question", "'does' vs 'how'"),
    ("What is the KVPY exam?", "What is the KVPY exam for?", "question", "'what ... for'"),
    # tense
    ("Who was the president of Brazil?", "Who is the president of Brazil?", "tense",
     "tense differs: 'was' in a vs 'present' in b"),
    # person
    ("What is your name?", "What is my name?", "person", "person differs: 'your' in a vs 'my' in b"),
    ("How do I add a form to your website?", "How do I add a form to my website?", "person", "person differs"),
    # grammatical number after a determiner
    ("Show me my invoice", "Show me my invoices", "plural", "singular vs plural: 'invoice' vs 'invoices'"),
    # content words present in one text only
    ("How do I cancel my subscription?", "How do I cancel my premium subscription?", "content",
     "word only in b: 'premium'"),
    ("What is the weather in Paris?", "What is the weather in Paris, Texas?", "content", "'texas'"),
    ("Who is the president of Brazil?", "Who is the vice president of Brazil?", "content", "'vice'"),
    ("What does he think of me?", "What does she think of me?", "content", "word only in a: 'he'"),
    # scripts and symbols the tokenizer cannot see
    ("我喜欢猫", "我喜欢狗", "script", "non-Latin text differs: '我喜欢猫' vs '我喜欢狗'"),
    ("What is the meaning of Привет?", "What is the meaning of Пока?", "script", "'привет' vs 'пока'"),
    ("🍕 delivery near me", "🍔 delivery near me", "symbol", "symbol differs: '🍕' vs '🍔'"),
    ("Rate my pizza 🍕🍕🍕", "Rate my pizza 🍕", "symbol", "symbol only in a"),
    ("How do I learn C++?", "How do I learn C#?", "content", "'c++'"),
    ("What is APR?", "What is a good APR?", "content", "word only in b: 'good'"),
    ("Is actress Katrina Kaif on Quora?", "Is Katrina Kaif an actress?", "content", "'quora'"),
    ("What are the top IT job sites?", "What are the top job sites?", "content", "word only in a: 'it'"),
    ("How much do you get paid for YouTube views?", "How do you get paid for YouTube views?", "question",
     "'how much' vs 'how'"),
]  # fmt: skip

REWORDINGS = [
    ("How do I reset my password?", "How can I reset my password?"),
    ("How do I reset my password?", "How do you reset your password?"),
    ("Which was the first novel?", "What was the first novel?"),
    ("What is the capital of France?", "What is France's capital?"),
    ("How do I turn off notifications?", "How do I disable notifications?"),
    ("How do I log out of my account?", "How do I sign out of my account?"),
    ("Why can't I log in?", "Why am I unable to log in?"),
    ("I can't log in to my account", "I cannot log in to my account"),
    ("Convert 100 dollars to euros", "Convert $100 to EUR"),
    ("twenty five dollars", "25 USD"),
    ("Set a timer for 10 minutes", "Set a 10 minute timer"),
    ("Flights from London to Paris", "Flights to Paris from London"),
    ("What is the difference between Python and Java?", "What is the difference between Java and Python?"),
    ("Python vs Java: which is faster?", "Java vs Python: which is faster?"),
    ("Is it going to rain tomorrow?", "Will it rain tomorrow?"),
    ("Can I change my username?", "Is it possible to change my username?"),
    ("What is the best way to learn Python?", "How do I learn Python?"),
    ("What's the weather in Paris today?", "What is the weather like in Paris today?"),
    ("Can you tell me the weather in Rome?", "What is the weather in Rome?"),
    ("How do I remove duplicates from a list?", "How can I delete duplicates from a list?"),
    ("Show me my invoice", "Please show me my invoice"),
    ("How does one learn Python?", "How do I learn Python?"),
    ("What are some interesting facts about NASA?", "What are some fascinating facts about NASA?"),
    ("What is the best way to prepare for the exam?", "How should I prepare for the exam?"),
]


@pytest.mark.parametrize(("a", "b", "category", "reason"), VETOES)
def test_each_category_vetoes_with_its_reason(a, b, category, reason):
    verdict = V.check(a, b)
    assert not verdict.ok
    assert category in verdict.categories, verdict
    assert any(reason in r for r in verdict.reasons), verdict.reasons
    assert len(verdict.reasons) == len(verdict.categories)
    assert set(verdict.categories) <= set(CATEGORIES)


@pytest.mark.parametrize(("a", "b"), REWORDINGS)
def test_true_rewordings_are_allowed(a, b):
    verdict = V.check(a, b)
    assert verdict.ok, verdict.reasons
    assert verdict.reasons == ()
    assert bool(verdict) is True


def test_every_category_is_exercised():
    assert {c for *_, c, _ in VETOES} | {"flag"} == set(CATEGORIES)


def test_identical_after_normalisation_always_merges_even_with_flags():
    assert V.check("Show me my invoice", "  show ME my   invoice ", a_unknown=True, b_truncated=True).ok


@pytest.mark.parametrize("flag", ["a_unknown", "b_unknown", "a_truncated", "b_truncated"])
def test_encoder_flags_veto(flag):
    verdict = V.check("How do I reset my password?", "How can I reset my password?", **{flag: True})
    assert not verdict.ok
    assert verdict.categories == ("flag",)
    side = flag[0]
    word = "[UNK]" if "unknown" in flag else "truncated"
    assert word in verdict.reasons[0] and f" {side} " in verdict.reasons[0]


def test_every_veto_is_reported_not_just_the_first():
    verdict = V.check("Who was the CEO of Apple in 2010?", "Why is the CTO of Apple in 2012?")
    assert {"number", "question", "tense", "content"} <= set(verdict.categories)


def test_explain_merge_and_no_merge():
    text = V.explain("Show me my invoice", "Don't show me my invoice", cosine=0.939, threshold=0.9)
    assert "NO MERGE: vetoed by the verifier" in text
    assert "cosine 0.939 >= threshold 0.900" in text
    assert "[negation] negation differs" in text
    text = V.explain("How do I reset my password?", "How can I reset my password?", cosine=0.99, threshold=0.98)
    assert text.splitlines()[2] == "MERGE"
    assert "no difference found" in text
    text = V.explain("What's the weather?", "How's the weather today?", cosine=0.811, threshold=0.98)
    assert "NO MERGE: below the threshold" in text and "cosine 0.811 < threshold 0.980" in text
    assert "MERGE: identical after normalisation" in V.explain("Hi there", "hi  THERE")
    assert V.explain("Show me my invoice", "Show me my invoices").splitlines()[2] == "VETOED by the verifier"
    flagged = V.explain("How do I reset my password?", "How can I reset my password?", b_truncated=True)
    assert "[flag] truncated: b" in flagged


def test_facts_can_be_reused_and_mixed_with_text():
    fa = V.facts("I am 37 weeks pregnant")
    assert isinstance(fa, TextFacts)
    assert [c for c, _ in fa.numbers] == ["37"]
    assert V.check(fa, "I am 35 weeks pregnant") == V.check("I am 37 weeks pregnant", "I am 35 weeks pregnant")


def test_rules_can_be_selected_and_lexicon_extended():
    only_numbers = MergeVerifier(rules=["number"])
    assert only_numbers.check("How do I cancel my plan?", "How do I cancel my premium plan?").ok
    assert not only_numbers.check("2 rooms", "3 rooms").ok
    assert not only_numbers.check("same text?", "same text!", a_unknown=True).ok  # flags always apply
    with pytest.raises(ValueError, match="unknown verifier rules"):
        MergeVerifier(rules=["numbers"])
    assert not V.check("What is the fee?", "What is the toll?").ok
    domain = MergeVerifier(extra_synonyms={"toll": "fee"}, extra_fillers=["kindly"])
    assert domain.check("What is the fee?", "What is the toll?").ok


def test_thread_safe():
    """Four threads checking the same pairs get the single-threaded verdicts (its speed, ~50 us per short
    pair, is measured by benchmarks/timing_checks.py, not asserted here)."""
    pairs = [(a, b) for a, b, *_ in VETOES] + REWORDINGS
    expected = [V.check(a, b) for a, b in pairs]
    errors: list[str] = []

    def work() -> None:
        for _ in range(5):
            for (a, b), want in zip(pairs, expected, strict=True):
                if V.check(a, b) != want:
                    errors.append(a)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sum(not v.ok for v in expected) == len(VETOES)  # the pairs really are mixed verdicts


def test_verdict_is_a_small_value():
    assert Verdict(True) == Verdict(True, (), ())
    assert not Verdict(False, ("x",), ("content",))


_texts = st.text(max_size=80) | st.sampled_from([a for a, *_ in VETOES] + [b for _, b in REWORDINGS])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(a=_texts, b=_texts, ua=st.booleans(), tb=st.booleans())
def test_symmetric_and_never_raises(a, b, ua, tb):
    ab = V.check(a, b, a_unknown=ua, b_truncated=tb)
    ba = V.check(b, a, b_unknown=ua, a_truncated=tb)
    assert ab.ok == ba.ok
    assert sorted(ab.categories) == sorted(ba.categories)
    explained = V.explain(a, b, cosine=0.5, threshold=0.9)
    assert explained.startswith(f"a: {a!r}\nb: {b!r}\n")
    identical = V.facts(a).norm == V.facts(b).norm
    assert explained.endswith("MERGE: identical after normalisation (exact match)") == identical


@settings(max_examples=300, deadline=None)
@given(a=st.text(max_size=120))
def test_a_text_always_merges_with_itself(a):
    assert V.check(a, a).ok
    assert V.check(a, a, a_unknown=True, b_truncated=True).ok


def test_swapped_roles_around_equivalent_direction_markers_are_vetoed():
    v = MergeVerifier()
    for a, b in [("Convert 10 kilometres to miles", "Convert 10 miles into kilometres"),
                 ("Translate English to French", "Translate French into English")]:
        verdict = v.check(a, b)
        assert not verdict.ok and verdict.categories == ("roles",), (a, b, verdict)
