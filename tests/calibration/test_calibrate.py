"""``batchsieve.calibrate``: the threshold chosen from labelled pairs, the curve, the false merges, bad input."""

from __future__ import annotations

import pytest
from batchsieve import BatchConfig, CalibrationResult, calibrate
from batchsieve.calibration import GRID, MIN_PAIRS_PER_LABEL, read_pairs

from .support import NEGATIVES, POSITIVES, encoder, labelled


def test_hybrid_picks_the_lowest_threshold_within_the_bound_because_the_verifier_vetoes_the_number_pair():
    result = calibrate(labelled(), strategy="hybrid", encoder=encoder(), max_false_merge_rate=0.0)
    assert isinstance(result, CalibrationResult)
    # the only label-0 pair above 0.7025 is vetoed: the lowest grid threshold above 0.7025 merges nothing wrong
    assert result.threshold == 0.705
    assert (result.precision, result.recall, result.false_merge_rate) == (1.0, 1.0, 0.0)
    assert result.false_merges == ()
    assert (result.positives, result.negatives) == (20, 20)
    assert [p.threshold for p in result.curve] == list(GRID)
    at_07 = result.curve[GRID.index(0.7)]
    assert (at_07.false_merges, at_07.true_merges, at_07.false_merge_rate) == (19, 20, 0.95)
    vetoed = next(s for s in result.scores if s.a == "How do I pay 5 invoices?")
    assert not vetoed.allowed and vetoed.reasons == ("number differs: '5' vs '6'",)


def test_embedding_has_no_verifier_so_the_number_pair_sets_its_threshold():
    result = calibrate(labelled(), strategy="embedding", encoder=encoder(), max_false_merge_rate=0.0)
    assert result.threshold == 0.995
    # positives at 0.9975 only (cosines 0.9025 + 0.005 i >= 0.995: i = 19)
    assert result.recall == 1 / 20 and result.precision == 1.0


def test_a_looser_bound_lowers_the_threshold_and_lists_the_false_merges_it_allows():
    result = calibrate(labelled(), strategy="embedding", encoder=encoder(), max_false_merge_rate=0.05)
    assert result.threshold == 0.705  # one false merge in 20 label-0 pairs is within 5%
    assert result.false_merge_rate == 0.05
    assert [(s.a, s.b) for s in result.false_merges] == [NEGATIVES[-1][:2]]
    assert result.precision == 20 / 21 and result.recall == 1.0
    assert "How do I pay 5 invoices?" in result.summary()
    assert result.at(0.9).false_merges == 1 and result.at(0.999).true_merges == 0


def test_tuples_and_dicts_give_the_same_result():
    as_tuples = [(a, b, 1) for a, b, _ in POSITIVES] + [(a, b, 0) for a, b, _ in NEGATIVES]
    one = calibrate(as_tuples, encoder=encoder(), max_false_merge_rate=0.0)
    two = calibrate(iter(labelled()), encoder=encoder(), max_false_merge_rate=0.0)
    assert one.curve == two.curve and one.threshold == two.threshold


def test_exact_pairs_merge_at_every_threshold_and_long_texts_never_merge_semantically():
    pairs = labelled()
    pairs[-1] = {"a": "What is  the capital of Peru?", "b": "what is the capital of peru?", "label": 0}
    long = "x" * 3000
    pairs[0] = {"a": long + " a", "b": long + " b", "label": 1}
    result = calibrate(pairs, encoder=encoder(), max_false_merge_rate=0.05,
                       config=BatchConfig(dedup_max_chars=2048))
    exact = next(s for s in result.scores if s.b == "what is the capital of peru?")
    assert exact.exact and all(exact.merged(t) for t in (0.5, 1.0))
    assert result.curve[-1].false_merges == 1  # even at 1.0
    assert not result.scores[0].semantic and not result.scores[0].merged(0.5)
    with pytest.raises(ValueError, match=r"no threshold keeps the false-merge rate <= 0: even at 1.000 1 of 20"):
        calibrate(pairs, encoder=encoder(), max_false_merge_rate=0.0)


@pytest.mark.parametrize(("row", "message"), [
    ({"a": "x", "label": 1}, r"row 3: missing key\(s\) 'b'"),
    ({"a": "x", "b": "y", "label": 2}, "row 3: label must be 0 or 1, got 2"),
    ({"a": "x", "b": "y", "label": True}, "row 3: label must be 0 or 1, got True"),
    ({"a": "x", "b": "y", "label": 1.0}, "row 3: label must be 0 or 1, got 1.0"),
    ({"a": "x", "b": 5, "label": 1}, "row 3: 'b' must be text, got int"),
    ({"a": "  ", "b": "y", "label": 1}, "row 3: 'a' is empty"),
    (("x", "y"), r"row 3: a pair tuple is \(a, b, label\), got 2 items"),
    ("x y 1", "row 3: a pair is a dict or an"),
])
def test_a_malformed_row_raises_value_error_naming_it(row, message):
    pairs = [*labelled()[:2], row, *labelled()[2:]]
    with pytest.raises(ValueError, match=message):
        calibrate(pairs, encoder=encoder())


def test_too_few_pairs_of_a_label_is_an_error_not_a_meaningless_threshold():
    few = labelled()[: 20 + MIN_PAIRS_PER_LABEL - 1]  # 20 positives, 19 negatives
    with pytest.raises(ValueError, match="at least 20 pairs of each label, got 20 with label 1 and 19 with label 0"):
        calibrate(few, encoder=encoder())


def test_bad_arguments():
    with pytest.raises(ValueError, match="semantic strategy: embedding, hybrid; got 'exact'"):
        calibrate(labelled(), strategy="exact")
    with pytest.raises(ValueError, match=r"max_false_merge_rate must be in \[0, 1\], got 1.5"):
        calibrate(labelled(), max_false_merge_rate=1.5)
    with pytest.raises(TypeError, match="pairs must be an iterable of pairs, got str"):
        read_pairs("a,b,1")
    with pytest.raises(TypeError, match="config must be a BatchConfig, got dict"):
        calibrate(labelled(), config={})


def test_the_plot_is_written(tmp_path):
    result = calibrate(labelled(), encoder=encoder(), max_false_merge_rate=0.0)
    path = result.plot(tmp_path / "curve.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
