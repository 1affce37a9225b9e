"""Calibrated probabilities mean what they say, and calibration never reorders messages."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import roc_auc_score

from understudy.twin.calibration import (
    REPLY_PLATT_C,
    Calibrator,
    expected_calibration_error,
    reliability_bins,
)


def sample(
    n: int, seed: int, slope: float = 1.0, shift: float = 0.0
) -> tuple[np.ndarray, np.ndarray]:
    """Return raw scores and outcomes where P(outcome) = sigmoid(slope * score + shift)."""
    rng = np.random.default_rng(seed)
    scores = rng.normal(0, 2, n)
    outcomes = rng.random(n) < 1 / (1 + np.exp(-(slope * scores + shift)))
    return scores, outcomes


def test_small_slices_get_platt_and_large_ones_isotonic() -> None:
    assert Calibrator.fit(*sample(80, 1)).method == "platt"
    assert Calibrator.fit(*sample(2000, 2)).method == "isotonic"


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.sampled_from([2, 5, 30, 150, 600]),
    rate=st.floats(0.0, 1.0),
    ties=st.booleans(),
)
def test_calibration_never_reorders_scores(seed: int, n: int, rate: float, ties: bool) -> None:
    rng = np.random.default_rng(seed)
    scores = rng.normal(0, 3, n)
    if ties:
        scores = np.round(scores)
    labels = rng.random(n) < rate
    calibrator = Calibrator.fit(scores, labels, fallback=(scores, labels))
    grid = np.sort(np.concatenate([scores, rng.normal(0, 10, 200), [-1e6, 0.0, 1e6]]))
    calibrated = calibrator(grid)
    assert np.all(np.diff(calibrated) >= 0), calibrator.method
    assert np.all((calibrated >= 0) & (calibrated <= 1))


def test_calibration_keeps_the_ranking_and_fixes_overconfidence() -> None:
    # Scores three times too confident: sigmoid(score) overstates every probability.
    scores, outcomes = sample(4000, 3, slope=1 / 3)
    fresh_scores, fresh_outcomes = sample(4000, 4, slope=1 / 3)
    raw = 1 / (1 + np.exp(-fresh_scores))
    for size in (120, 4000):
        calibrator = Calibrator.fit(scores[:size], outcomes[:size])
        calibrated = calibrator(fresh_scores)
        assert expected_calibration_error(raw, fresh_outcomes) > 0.1
        assert expected_calibration_error(calibrated, fresh_outcomes) < 0.05, calibrator.method
        assert roc_auc_score(fresh_outcomes, calibrated) == roc_auc_score(fresh_outcomes, raw)


def test_a_slice_without_both_outcomes_falls_back_to_the_training_rows() -> None:
    train = sample(500, 5)
    calibrator = Calibrator.fit(np.array([1.0, 2.0]), np.array([True, True]), fallback=train)
    assert calibrator.method == "platt"
    assert calibrator(np.array([-4.0]))[0] < 0.1 < 0.9 < calibrator(np.array([4.0]))[0]


def test_ece_is_small_for_calibrated_and_large_for_miscalibrated_probabilities() -> None:
    rng = np.random.default_rng(6)
    probabilities = rng.random(20_000)
    honest = rng.random(20_000) < probabilities
    assert expected_calibration_error(probabilities, honest) < 0.02
    boastful = rng.random(20_000) < probabilities**4
    assert expected_calibration_error(probabilities, boastful) > 0.2
    assert expected_calibration_error(np.full(1000, 0.9), rng.random(1000) < 0.3) > 0.55


def test_reliability_bins_count_every_message() -> None:
    rng = np.random.default_rng(7)
    probabilities = np.concatenate([rng.random(997), [0.0, 1.0, 0.5]])
    outcomes = rng.random(1000) < probabilities
    bins = reliability_bins(probabilities, outcomes, bins=15)
    assert sum(count for _, _, count in bins) == 1000
    assert len(bins) == 15
    assert all(0 <= predicted <= 1 and 0 <= observed <= 1 for predicted, observed, _ in bins)
    assert [predicted for predicted, _, _ in bins] == sorted(predicted for predicted, _, _ in bins)
    assert reliability_bins(np.zeros(0), np.zeros(0, dtype=bool)) == []


def test_a_dozen_replies_do_not_make_platt_certain() -> None:
    # Six replies that happen to be the six top scores: a slice this small
    # cannot show that the top score is a sure reply, so Platt stays modest.
    rng = np.random.default_rng(0)
    scores = rng.normal(size=60)
    replied = np.zeros(60, dtype=bool)
    replied[np.argsort(-scores)[:6]] = True
    calibrator = Calibrator.fit(scores, replied, platt_c=REPLY_PLATT_C)
    assert calibrator.method == "platt"
    assert calibrator(np.array([scores.max()]))[0] < 0.5
    # Filing keeps the plain fit: its autonomy needs confident folders.
    assert Calibrator.fit(scores, replied)(np.array([scores.max()]))[0] > 0.6
