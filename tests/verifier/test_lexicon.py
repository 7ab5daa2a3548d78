"""The lexicon's invariants: frozen tables, no duplicate or contradictory entries, every word where one
table says it is. A broken invariant is a word the verifier reads two ways."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from types import MappingProxyType

import pytest
from batchsieve.verifier import lexicon as lx
from batchsieve.verifier._morphology import lemma
from batchsieve.verifier._vocabulary import SPECIAL_WORDS

TABLES = {name: getattr(lx, name) for name in lx.__all__}
GROUP_MEMBERS = Counter(w for group in lx.SYNONYM_GROUPS for w in group)
#: Tables whose words feed the lemmatiser: a word in two of them is read two ways.
LEMMA_TABLES = {"NO_STEM": lx.NO_STEM, "IRREGULAR_VERBS": lx.IRREGULAR_VERBS,
                "IRREGULAR_PLURALS": lx.IRREGULAR_PLURALS, "SHORTHAND": lx.SHORTHAND}  # fmt: skip


def _words(table: object) -> list[str]:
    """Every word of a table (keys of a mapping, words of phrase tuples)."""
    items = table.keys() if isinstance(table, Mapping) else table
    out: list[str] = []
    for item in items:
        out.extend(item if isinstance(item, tuple) else [item])
    return [w for w in out if isinstance(w, str)]


@pytest.mark.parametrize("name", sorted(TABLES))
def test_every_table_is_frozen(name):
    table = TABLES[name]
    assert isinstance(table, (frozenset, tuple, MappingProxyType, str)), type(table)
    if isinstance(table, MappingProxyType):
        for value in table.values():
            assert not isinstance(value, (list, dict, set)), value


@pytest.mark.parametrize("name", sorted(n for n, t in TABLES.items() if not isinstance(t, str)))
def test_words_are_lower_case_and_stripped(name):
    for word in _words(TABLES[name]):
        if name == "AFTER_MAIN_DO" and word == "":  # "" stands for the end of the text
            continue
        assert word == word.casefold().strip() and word, (name, word)


def test_no_duplicate_antonym_pair_in_either_order():
    counts = Counter(frozenset(pair) for pair in lx.ANTONYM_PAIRS)
    assert [tuple(sorted(p)) for p, n in counts.items() if n > 1] == []
    assert all(x != y for x, y in lx.ANTONYM_PAIRS)


def test_no_antonym_pair_inside_one_synonym_group():
    syn = lx.SYNONYMS
    same = [(x, y) for x, y in lx.ANTONYM_PAIRS if syn.get(x, x) == syn.get(y, y)]
    keyed = {lemma(w): lemma(c) for w, c in syn.items()}
    same += [(x, y) for x, y in lx.ANTONYM_PAIRS if keyed.get(lemma(x), lemma(x)) == keyed.get(lemma(y), lemma(y))]
    assert same == []


def test_each_word_in_at_most_one_synonym_group():
    assert sorted(w for w, n in GROUP_MEMBERS.items() if n > 1) == []
    assert all(len(group) >= 2 for group in lx.SYNONYM_GROUPS)
    expected = {w: group[0] for group in lx.SYNONYM_GROUPS for w in group}
    assert dict(lx.SYNONYMS) == expected


def test_no_word_is_both_a_filler_and_a_synonym_group_member():
    assert sorted(lx.FILLERS & set(GROUP_MEMBERS)) == []


def test_no_synonym_is_a_word_the_lexicon_always_reads_as_something_else():
    # a unit, date or number word never reaches the synonym table unless it is ambiguous there
    claimed = [w for w in GROUP_MEMBERS if w in SPECIAL_WORDS and SPECIAL_WORDS[w][0] in ("unit", "num", "frac")
               and w not in lx.UNITS_NEEDING_NUMBER]  # fmt: skip
    assert claimed == []


def test_no_word_in_two_irregular_tables():
    names = sorted(LEMMA_TABLES)
    overlaps = {(a, b): sorted(set(LEMMA_TABLES[a]) & set(LEMMA_TABLES[b]))
                for i, a in enumerate(names) for b in names[i + 1:]}  # fmt: skip
    assert {k: v for k, v in overlaps.items() if v} == {}


def test_irregular_forms_map_to_base_forms_not_to_other_forms():
    forms = {**lx.IRREGULAR_VERBS, **lx.IRREGULAR_PLURALS, **lx.SHORTHAND}
    assert [(w, base) for w, base in forms.items() if w == base or base in forms] == []


def test_contractions_are_expanded_before_the_lemmatiser_sees_them():
    assert sorted(set(lx.CONTRACTIONS) & {w for t in LEMMA_TABLES.values() for w in t}) == []


def test_each_unit_spelling_names_one_unit():
    spellings = Counter(s for group in lx.UNIT_SPELLINGS.values() for s in group)
    assert sorted(s for s, n in spellings.items() if n > 1) == []
    assert lx.UNITS.keys() == {*spellings, lx.POUND}


def test_units_needing_a_number_are_units_and_bare_units_are_not_lexicon_units():
    assert sorted(lx.UNITS_NEEDING_NUMBER - set(lx.UNITS)) == []
    assert sorted(set(lx.UNITS_AFTER_NUMBER) & set(SPECIAL_WORDS)) == []  # else the special reading wins


def test_ambiguous_words_are_in_their_tables():
    assert sorted(lx.AMBIGUOUS_MONTHS - set(lx.MONTHS)) == []
    assert sorted(lx.AMBIGUOUS_DAYS - set(lx.DAY_WORDS)) == []
    assert sorted(lx.AMBIGUOUS_TIMES - set(lx.TIME_WORDS)) == []


def test_date_time_and_number_tables_are_disjoint():
    tables = [set(lx.MONTHS), set(lx.DAY_WORDS), set(lx.TIME_WORDS), set(lx.RELATIVE_TIME), set(lx.NUMBER_WORDS),
              set(lx.SCALE_WORDS), set(lx.ORDINAL_WORDS), set(lx.FRACTION_WORDS)]  # fmt: skip
    for i, a in enumerate(tables):
        for b in tables[i + 1 :]:
            assert a & b == set()


def test_fillers_that_are_lexicon_words_are_read_by_context():
    # "may", "am", "now": ambiguous; "one": the pronoun or the number; "per": "per cent" or a filler
    context = lx.AMBIGUOUS_MONTHS | lx.AMBIGUOUS_DAYS | lx.AMBIGUOUS_TIMES | {"one", "per"}
    assert sorted(w for w in lx.FILLERS if w in SPECIAL_WORDS and w not in context) == []


def test_grammar_words_are_fillers_and_negators_are_not():
    for table in (lx.WH_WORDS, lx.YESNO_AUX, lx.SUBJECT_PRONOUNS, lx.OWNER_PRONOUNS, lx.PAST_AUX):
        assert sorted(set(table) - lx.FILLERS) == []
    assert sorted(lx.PAST_AUX - set(lx.YESNO_AUX)) == []
    assert sorted(lx.COUNTED_NEGATIONS & lx.FILLERS) == []


def test_plural_neutral_words_can_reach_the_plural_rule():
    assert sorted(lx.PLURAL_NEUTRAL & lx.FILLERS) == []


@pytest.mark.parametrize("name", ["POLITE_OPENERS", "HOW_PHRASES", "CONTRACTION_SUFFIXES", "NEGATING_PREFIXES",
                                  "KEEP_FINAL_S", "SYNONYM_GROUPS", "ANTONYM_PAIRS"])  # fmt: skip
def test_sequences_hold_no_duplicates(name):
    table = TABLES[name]
    assert [item for item, n in Counter(table).items() if n > 1] == []


def test_phrases_are_word_pairs_that_fold_into_one_word():
    assert all(len(pair) == 2 and " " not in folded for pair, folded in lx.PHRASES.items())


def test_decisions_on_the_reported_defects():
    # one antonym entry each for import/export and hide/show
    assert sum(frozenset(p) == {"import", "export"} for p in lx.ANTONYM_PAIRS) == 1
    assert sum(frozenset(p) == {"hide", "show"} for p in lx.ANTONYM_PAIRS) == 1
    # "show" and "display" are request verbs ("Show me my invoice" = "my invoice"): fillers only
    assert {"show", "display"} <= lx.FILLERS and not {"show", "display"} & set(lx.SYNONYMS)
    # a receipt is not an invoice; an invoice is a bill
    assert lx.SYNONYMS["invoice"] == lx.SYNONYMS["bill"] and "receipt" not in lx.SYNONYMS
    # "data" is a mass noun: left alone by the suffix rules, not an irregular plural
    assert "data" in lx.NO_STEM and "data" not in lx.IRREGULAR_PLURALS
