"""The service-time model and the arrival-rate estimator at their edges: a new model's figures, which
observations are ignored, the first observation's scale, outlier clipping, the rules of a level shift
(same-sign runs only, consistent within a factor of 2, the median ratio, history down-weighted by
``shift_discount``), the second line's size rule, a cost with no characters, and the rate estimator's clip,
quiet discount and simultaneous arrivals. Times are binary fractions where a tie or an exact sum matters."""

from __future__ import annotations

import math

import pytest
from batchsieve.policies.estimators import ArrivalRateEstimator, ServiceTimeModel

A, B = 0.0625, 0.0078125  # a batch of n costs A + B n seconds


def trained(sizes=(4, 8, 12, 16) * 8, **kw) -> ServiceTimeModel:
    model = ServiceTimeModel(32, **kw)
    for n in sizes:
        model.observe(n, 60 * n, A + B * n)
    return model


def test_a_new_model_predicts_nothing_and_has_no_margin():
    model = ServiceTimeModel(32)
    assert model.theta == [0.0, 0.0, 0.0]
    assert (model.size_spread(), model.margin_scale(), model.lines()) == ((0.0, 0.0), 0.0, ((0.0, 0.0),))
    assert model.predict(8, 480) == 0.0
    assert (model.scale_alpha, model.shift_after, model.shift_discount, model.warmup) == (0.1, 3, 0.3, 3)


@pytest.mark.parametrize(("n", "seconds"), [(0, 0.1), (-1, 0.1), (2, math.nan), (2, math.inf), (2, -0.001)])
def test_an_impossible_observation_is_ignored(n, seconds):
    model = ServiceTimeModel(32)
    model.observe(n, 120, seconds)
    assert (model.observations, model.scale, model.theta) == (0, None, [0.0, 0.0, 0.0])


def test_a_zero_second_batch_is_an_observation():
    model = ServiceTimeModel(32)
    model.observe(2, 120, 0.0)
    assert (model.observations, model.scale) == (1, 1e-5)


def test_the_first_observation_sets_the_scale_and_the_characters_per_request():
    model = ServiceTimeModel(32, unit=50.0)
    model.observe(4, 240, 0.125)
    assert (model.scale, model.chars_per_request) == (0.0125, 60.0)
    no_chars = ServiceTimeModel(32, unit=50.0)
    no_chars.observe(4, 0, 0.125)
    assert no_chars.chars_per_request == 50.0  # no characters seen: the unit stays
    one_char = ServiceTimeModel(32, unit=50.0)
    one_char.observe(4, 1, 0.125)
    assert one_char.chars_per_request == 0.25


def test_history_is_forgotten_by_the_forgetting_factor():
    model = ServiceTimeModel(32, forgetting=0.5)
    model.observe(4, 240, 0.125)
    model.observe(4, 240, 0.125)
    assert model._a[0][0] == 1.5  # the fit's total weight: 0.5 * 1 + 1


def test_the_warm_up_observations_are_never_clipped():
    model = ServiceTimeModel(32)
    for seconds in (0.0625, 0.0625, 1.0):  # the third (the warm-up's last) is far off, but not yet an outlier
        model.observe(4, 240, seconds)
    assert model.outliers == 0


def test_an_outlier_counts_as_its_clipped_value():
    model, twin = trained(), trained()
    yhat = twin.predict(8, 480)
    lim = twin.outlier_k * max(twin.scale, 0.01 * yhat)
    model.observe(8, 480, yhat * 0.25)  # far below: clipped to yhat - lim
    twin.observe(8, 480, yhat - lim)
    assert model.outliers == 1 and twin.outliers == 0
    assert model.theta == pytest.approx(twin.theta, rel=1e-12, abs=1e-15)
    assert model.scale == pytest.approx(twin.scale, rel=1e-12)


def outliers(model: ServiceTimeModel, ratios) -> None:
    for r in ratios:
        model.observe(8, 480, model.predict(8, 480) * r)


def test_a_run_of_mixed_signs_is_no_level_shift():
    model = trained()
    outliers(model, (1.15, 0.6, 1.15))  # within a factor of 2 of each other, but not of one sign
    assert (model.level_shifts, model.outliers) == (0, 3)


def test_a_run_spread_by_more_than_a_factor_of_2_is_no_level_shift():
    model = trained()
    outliers(model, (1.5, 4.0, 1.5))
    assert model.level_shifts == 0


def test_a_mixed_run_drops_its_oldest_and_keeps_looking():
    model = trained()
    outliers(model, (1.5, 4.0, 4.0))  # mixed: the 1.5 is dropped
    assert model.level_shifts == 0
    outliers(model, (4.0,))  # 4, 4, 4: a consistent run
    assert model.level_shifts == 1


def test_a_level_shift_rescales_by_the_median_ratio_and_down_weights_the_history():
    model = trained(shift_after=5)
    weight = model._a[0][0]
    ratios, scales = [], []
    for r in (2.0, 2.5, 2.25, 2.125, 2.375):
        yhat = model.predict(8, 480)
        scales.append(max(model.scale, 0.01 * yhat))
        ratios.append(r)
        model.observe(8, 480, yhat * r)
    assert model.level_shifts == 1
    assert model.scale == pytest.approx(scales[-1] * 2.25, rel=1e-12)  # the median of the run's ratios
    decayed = weight * 0.95 ** 4  # the four clipped outliers before the shift were added with forgetting
    assert model._a[0][0] == pytest.approx((decayed + sum(0.95 ** k for k in range(4))) * 0.3 + 5, rel=1e-12)


def test_the_second_line_only_while_sizes_barely_varied_below_a_full_batch():
    assert len(trained((32,) * 6).lines()) == 1  # full batches: nothing larger to guess
    assert len(trained((31,) * 6).lines()) == 2  # one below full: a larger batch is a guess
    assert len(trained((4, 8, 12, 16)).lines()) == 1  # sizes varied: the slope is measured
    single = trained((8,) * 6).lines()
    assert single[1] == (0.0, pytest.approx((A + B * 8) / 8, rel=1e-6))


def test_a_cost_without_characters_is_still_learned():
    model = ServiceTimeModel(32)
    for n in (4, 8, 12, 16) * 3:
        model.observe(n, 0, A + B * n)
    assert model.predict(10, 0) == pytest.approx(A + B * 10, rel=1e-3)


def test_the_rate_estimator_clips_a_pause_and_discounts_a_quiet_stream():
    est = ArrivalRateEstimator()
    assert (est.alpha, est.clip, est.quiet_factor, est.last_gap) == (1 / 32, 10.0, 4.0, 0.0)
    for t in (0.0, 1.0, 41.0):  # gaps 1 then 40: the 40 counts as 10 means
        est.on_arrival(t)
    assert est.mean_gap == 1.0 + (10.0 - 1.0) / 32
    assert est.rate_at(41.0) == 1 / 10.0  # the last gap over the quiet factor 4 is the longest guess


def test_simultaneous_arrivals_are_an_unbounded_rate():
    est = ArrivalRateEstimator()
    est.on_arrival(5.0)
    est.on_arrival(5.0)
    assert est.rate == math.inf and est.rate_at(5.0) == math.inf
