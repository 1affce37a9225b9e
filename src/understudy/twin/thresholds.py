"""Certify the confidence above which the twin may act alone (Learn-then-Test).

For candidate thresholds from strict to lenient, test on held-out data the
null hypothesis "precision above this threshold is below the target" with an
exact binomial tail. Fixed-sequence testing keeps the family-wise error at
``delta`` without a multiplicity correction: stop at the first threshold that
cannot be certified; the last certified one is the answer.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.stats import binom

__all__ = ["Certificate", "certify_threshold"]


@dataclass(frozen=True, slots=True)
class Certificate:
    """The lowest certified confidence for a precision target, and its evidence."""

    threshold: float | None
    target: float
    delta: float
    support: int
    precision: float

    @property
    def certified(self) -> bool:
        """Return whether any threshold reached the target on held-out data."""
        return self.threshold is not None


def certify_threshold(
    confidence: NDArray[np.float64],
    correct: NDArray[np.bool_],
    target: float = 0.95,
    delta: float = 0.1,
    min_support: int = 10,
) -> Certificate:
    """Return the lowest threshold whose precision is certified ≥ ``target`` at level ``delta``."""
    confidence = np.asarray(confidence, dtype=float)
    correct = np.asarray(correct, dtype=bool)
    order = np.argsort(-confidence, kind="stable")
    best = Certificate(None, target, delta, 0, 0.0)
    # Above fewer messages than this even a perfect record is no proof (target**k > delta);
    # testing such a threshold would end the sequence before it could certify anything.
    needed = (
        max(min_support, math.ceil(math.log(delta) / math.log(target)))
        if 0 < target < 1 and 0 < delta < 1
        else min_support
    )
    hits = 0
    for k, index in enumerate(order, start=1):
        hits += int(correct[index])
        if k < len(order) and confidence[order[k]] == confidence[index]:
            continue  # a threshold keeps or drops ties together
        if k < needed:
            continue
        # P(at least `hits` correct of k | true precision = target); small means certified.
        p_value = float(binom.sf(hits - 1, k, target))
        if p_value > delta:
            break
        best = Certificate(float(confidence[index]), target, delta, k, hits / k)
    return best
