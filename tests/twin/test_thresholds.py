"""Learn-then-Test: a certified threshold keeps its precision promise on mail it has not seen."""

from __future__ import annotations

import numpy as np
import pytest

from understudy.twin.thresholds import certify_threshold

TARGET, DELTA, TRIALS = 0.95, 0.1, 200


def draw(rng: np.random.Generator, n: int, floor: float) -> tuple[np.ndarray, np.ndarray]:
    """Return confidences ~ U(0, 1) and outcomes right with probability floor + (1 - floor) c."""
    confidence = rng.random(n)
    return confidence, rng.random(n) < floor + (1 - floor) * confidence


def test_certified_thresholds_reach_the_target_on_fresh_data() -> None:
    # Precision above t is 0.85 + 0.15 t: the target is met from t = 2/3 up.
    rng = np.random.default_rng(11)
    certified = failures = 0
    for _ in range(TRIALS):
        certificate = certify_threshold(*draw(rng, 400, 0.7), target=TARGET, delta=DELTA)
        if certificate.threshold is None:
            continue
        certified += 1
        assert certificate.precision >= TARGET
        fresh, right = draw(rng, 20_000, 0.7)
        if right[fresh >= certificate.threshold].mean() < TARGET:
            failures += 1
    assert certified >= TRIALS // 4  # the promise is not kept by never acting
    assert failures / TRIALS <= DELTA + 0.03


@pytest.mark.parametrize(("precision", "allowed"), [(0.8, 0.0), (0.9, DELTA)])
def test_no_threshold_is_certified_when_precision_is_below_target(
    precision: float, allowed: float
) -> None:
    rng = np.random.default_rng(12)
    certified = 0
    for _ in range(TRIALS):
        confidence = rng.random(400)
        right = rng.random(400) < precision
        certified += certify_threshold(confidence, right, TARGET, DELTA).certified
    assert certified / TRIALS <= allowed


def test_a_perfect_record_needs_enough_messages_to_be_proof() -> None:
    # 0.95 ** 45 < 0.1 < 0.95 ** 44: 45 right answers in a row are the least proof.
    for n, certified in ((44, False), (45, True), (300, True)):
        confidence = np.linspace(0.5, 1.0, n)
        certificate = certify_threshold(confidence, np.ones(n, dtype=bool), TARGET, DELTA)
        assert certificate.certified is certified
        if certified:
            assert certificate.threshold == pytest.approx(0.5)
            assert (certificate.support, certificate.precision) == (n, 1.0)


def test_the_threshold_stops_where_the_mistakes_begin() -> None:
    confidence = np.linspace(1.0, 0.0, 200)
    right = np.arange(200) < 120  # the 120 most confident are right, the rest wrong
    certificate = certify_threshold(confidence, right, TARGET, DELTA)
    assert certificate.threshold is not None
    # A mistake or two past the edge are within the target; many are not.
    assert 120 <= certificate.support < 126
    assert certificate.threshold == confidence[certificate.support - 1]
    assert certificate.precision >= TARGET


def test_ties_are_kept_or_dropped_together() -> None:
    confidence = np.array([0.9] * 60 + [0.5] * 60)
    right = np.array([True] * 60 + [True] * 30 + [False] * 30)
    certificate = certify_threshold(confidence, right, TARGET, DELTA)
    assert (certificate.threshold, certificate.support) == (0.9, 60)
