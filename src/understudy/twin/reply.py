"""Will the person reply, and how fast? One model per person over a global prior.

The person's model is a strongly regularized logistic regression over the
features that measured robust across people (``REPLY_FEATURES``). A prior
model, fitted on other people's rows, carries a newcomer; the person's own
model takes over as their replies accumulate: the two standardized logits are
blended with weight ``positives / (positives + PRIOR_STRENGTH)``.

The prior adds a small gradient-boosted tree ensemble over every feature but
the person-level reply rates (``PRIOR_FEATURES``) to a regression over
``REPLY_FEATURES``: pooled over many people, the trees have the rows to learn
interactions (direct *and* a known correspondent) that one person's few
replies cannot, and without the person-level rates they learn which message a
person answers rather than who answers more. A correction
moves the score through a small online layer, without a retrain.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler
from threadpoolctl import ThreadpoolController  # type: ignore[import-untyped]

from understudy.twin.calibration import REPLY_PLATT_C, Calibrator
from understudy.twin.dataset import LATENCY_BUCKETS
from understudy.twin.features import FEATURE_NAMES

__all__ = [
    "PRIOR_FEATURES",
    "PRIOR_STRENGTH",
    "REPLY_FEATURES",
    "LatencyModel",
    "PriorModel",
    "ReplyModel",
    "TextModel",
    "reply_document",
]

Array = NDArray[np.float64]

REPLY_FEATURES: tuple[str, ...] = (
    "direct",
    "days_since_sent_to_sender_log",
    "sender_reply_rate",
    "sent_to_sender_log",
    "thread_participated",
    "reply_subject",
    "sole_recipient",
    "bulk",
    "sender_automated",
    "topic_sent_recently",
    "thread_length_log",
    "recipients_log",
    "owner_active_3h",
    "topic_sent_to_sender",
    "topic_from_sender_log",
    "empty_subject",
)
# Rates of the person as a whole: across people they tell who replies more,
# which says nothing about which message one person answers.
PRIOR_EXCLUDED = frozenset({"global_reply_rate", "owner_recent_reply_rate"})
PRIOR_FEATURES: tuple[str, ...] = tuple(n for n in FEATURE_NAMES if n not in PRIOR_EXCLUDED)
PRIOR_STRENGTH = 60.0
TEXT_WEIGHT = 0.6
PERSON_C = 0.001
PRIOR_C = 0.1
# Few shallow trees, large leaves, a slow rate: a few thousand pooled rows with a
# few hundred replies support no more.
PRIOR_TREES = {
    "max_iter": 50,
    "learning_rate": 0.05,
    "max_leaf_nodes": 8,
    "min_samples_leaf": 40,
    "l2_regularization": 1.0,
    "early_stopping": False,
}
_COLUMNS = [FEATURE_NAMES.index(name) for name in REPLY_FEATURES]
_PRIOR_COLUMNS = [FEATURE_NAMES.index(name) for name in PRIOR_FEATURES]


def _select(features: Array) -> Array:
    return np.asarray(features, dtype=float)[:, _COLUMNS]


def _logit(p: Array) -> Array:
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return np.asarray(np.log(p / (1 - p)), dtype=float)


@dataclass
class PriorModel:
    """A reply model fitted on many people's rows: the cold-start prior.

    Two views of the pooled rows, each standardized and summed: trees over
    ``PRIOR_FEATURES`` and a regression over ``REPLY_FEATURES``. Either alone
    ranks some people's mail better; the sum ranked every Enron person's at
    least as well as the better of the two.
    """

    model: HistGradientBoostingClassifier
    linear_scaler: StandardScaler | None = None
    linear: LogisticRegression | None = None
    norms: tuple[float, float, float, float] = (0.0, 1.0, 0.0, 1.0)
    features: tuple[str, ...] = PRIOR_FEATURES

    @classmethod
    def fit(cls, features: Array, replied: NDArray[np.bool_]) -> PriorModel | None:
        """Fit on pooled rows; None when they hold no replies (or nothing else)."""
        y = np.asarray(replied, dtype=bool)
        if y.sum() < 3 or (~y).sum() < 3:
            return None
        model = HistGradientBoostingClassifier(**PRIOR_TREES)
        with _one_thread():
            model.fit(_prior_select(features), y)
        scaler = StandardScaler().fit(_select(features))
        linear = LogisticRegression(C=PRIOR_C, max_iter=3000, class_weight="balanced")
        linear.fit(scaler.transform(_select(features)), y)
        prior = cls(model=model, linear_scaler=scaler, linear=linear)
        trees, regression = prior._views(features)
        prior.norms = (
            float(trees.mean()),
            float(trees.std()) or 1.0,
            float(regression.mean()),
            float(regression.std()) or 1.0,
        )
        return prior

    def _views(self, features: Array) -> tuple[Array, Array]:
        with _one_thread():
            trees = np.asarray(self.model.decision_function(_prior_select(features)), dtype=float)
        if self.linear is None or self.linear_scaler is None:
            return trees, np.zeros(len(trees))
        x = self.linear_scaler.transform(_select(features))
        return trees, np.asarray(self.linear.decision_function(x), dtype=float)

    def logit(self, features: Array) -> Array:
        """Return the prior's score: higher means likelier reply."""
        scaler = self.__dict__.get("scaler")
        if scaler is not None:
            # A prior saved before the trees: a regression over REPLY_FEATURES.
            old = self.model.decision_function(scaler.transform(_select(features)))
            return np.asarray(old, dtype=float)
        trees, regression = self._views(features)
        mean_t, std_t, mean_r, std_r = self.norms
        return np.asarray((trees - mean_t) / std_t + (regression - mean_r) / std_r, dtype=float)


def _prior_select(features: Array) -> Array:
    return np.asarray(features, dtype=float)[:, _PRIOR_COLUMNS]


_threads: list[ThreadpoolController] = []


def _one_thread() -> Any:
    """Run the trees on one thread: on a busy machine OpenMP's threads wait on each
    other (a 0.2 s fit took 15 s at load 5 on 2 cores), and the trees are small."""
    if not _threads:
        _threads.append(ThreadpoolController())
    return _threads[0].limit(limits=1, user_api="openmp")


@dataclass
class ReplyModel:
    """One person's reply model: their own regression blended with the prior."""

    prior: PriorModel | None = None
    scaler: StandardScaler | None = None
    model: LogisticRegression | None = None
    positives: int = 0
    norms: dict[str, tuple[float, float]] = field(default_factory=dict)
    calibrator: Calibrator = field(default_factory=Calibrator)
    corrections: Array | None = None
    text: TextModel | None = None

    def fit(
        self, features: Array, replied: NDArray[np.bool_], texts: Sequence[str] | None = None
    ) -> ReplyModel:
        """Fit the person's own model on their training rows (and their texts, if given)."""
        y = np.asarray(replied, dtype=bool)
        self.text = TextModel.fit(texts, y) if texts is not None else None
        self.positives = int(y.sum())
        if len(y):
            self.scaler = StandardScaler().fit(_select(features))
        if self.positives >= 3 and (~y).sum() >= 3 and self.scaler is not None:
            self.model = LogisticRegression(C=PERSON_C, max_iter=3000)
            self.model.fit(self.scaler.transform(_select(features)), y)
        self.norms = {}
        for name, values in self._parts(features).items():
            self.norms[name] = (float(values.mean()), float(values.std()) or 1.0)
        return self

    def _parts(self, features: Array) -> dict[str, Array]:
        parts: dict[str, Array] = {}
        if self.model is not None and self.scaler is not None:
            x = self.scaler.transform(_select(features))
            parts["person"] = np.asarray(self.model.decision_function(x), dtype=float)
        if self.prior is not None:
            parts["prior"] = self.prior.logit(features)
        if not parts:
            parts["rule"] = _fallback(features)
        return parts

    def score(self, features: Array, texts: Sequence[str] | None = None) -> Array:
        """Return the blended, standardized score (higher means likelier reply)."""
        if len(features) == 0:
            return np.zeros(0)
        parts = self._parts(np.atleast_2d(features))
        weight = self.positives / (self.positives + PRIOR_STRENGTH)
        weights = {"person": weight if "prior" in parts else 1.0, "prior": 1 - weight, "rule": 1.0}
        total = np.zeros(len(next(iter(parts.values()))))
        for name, values in parts.items():
            mean, std = self.norms.get(name, (0.0, 1.0))
            total += weights[name] * (values - mean) / std
        if self.text is not None and texts is not None:
            total += TEXT_WEIGHT * self.text.score(texts)
        if self.corrections is not None and self.scaler is not None:
            x = self.scaler.transform(_select(np.atleast_2d(features)))
            total += x @ self.corrections[:-1] + self.corrections[-1]
        return total

    def calibrate(
        self,
        features: Array,
        replied: NDArray[np.bool_],
        fallback: tuple[Array, NDArray[np.bool_]] | None = None,
        texts: Sequence[str] | None = None,
        fallback_texts: Sequence[str] | None = None,
    ) -> None:
        """Fit the calibrator on a held-out slice (``fallback``: the training rows)."""
        backup = None
        if fallback is not None:
            backup = (self.score(fallback[0], fallback_texts), fallback[1])
        self.calibrator = Calibrator.fit(
            self.score(features, texts), replied, backup, platt_c=REPLY_PLATT_C
        )

    def predict(self, features: Array, texts: Sequence[str] | None = None) -> Array:
        """Return calibrated reply probabilities."""
        return self.calibrator(self.score(features, texts))

    def update(
        self,
        features: Sequence[float],
        replied: bool,
        rate: float = 2.0,
        texts: Sequence[str] | None = None,
    ) -> None:
        """Move the score toward a corrected outcome, in proportion to the surprise.

        Corrections live in a small linear layer on top of the blended score,
        so they count whether the person's own model or the prior speaks. A
        fully surprising correction moves that message's score by ``rate``
        (in units of the score's spread) and messages like it by less: one
        correction nudges a habit; several change it.
        """
        if self.scaler is None:
            return
        row = np.atleast_2d(np.asarray(features, dtype=float))
        x = self.scaler.transform(_select(row))[0]
        if self.corrections is None:
            self.corrections = np.zeros(len(x) + 1)
        p = float(self.predict(row, texts)[0])
        change = rate * (float(replied) - p)
        norm = float(x @ x) + 1.0
        self.corrections[:-1] += change * x / norm
        self.corrections[-1] += change / norm


@dataclass
class TextModel:
    """What the person answers, by its words: a regression over sender, subject and body."""

    vectorizer: TfidfVectorizer
    model: LogisticRegression
    mean: float
    spread: float

    @classmethod
    def fit(cls, texts: Sequence[str], replied: NDArray[np.bool_]) -> TextModel | None:
        """Fit on the training rows' texts; None with too few replies to learn from."""
        y = np.asarray(replied, dtype=bool)
        if y.sum() < 5 or (~y).sum() < 5:
            return None
        vectorizer = TfidfVectorizer(
            sublinear_tf=True, min_df=2, token_pattern=r"[^\s]+", max_features=40_000
        )
        try:
            x = vectorizer.fit_transform(texts)
        except ValueError:
            return None
        model = LogisticRegression(C=1.0, max_iter=3000, class_weight="balanced").fit(x, y)
        train = np.asarray(model.decision_function(x), dtype=float)
        return cls(vectorizer, model, float(train.mean()), float(train.std()) or 1.0)

    def score(self, texts: Sequence[str]) -> Array:
        """Return the standardized text score of each message."""
        raw = np.asarray(
            self.model.decision_function(self.vectorizer.transform(texts)), dtype=float
        )
        return (raw - self.mean) / self.spread


def reply_document(sender: str, subject: str, text: str) -> str:
    """Return the words the text model reads for one message."""
    domain = sender.rsplit("@", 1)[-1]
    return f"from:{sender} domain:{domain} {subject.lower()} {text[:1500].lower()}"


def _fallback(features: Array) -> Array:
    """Score by a fixed rule when no model exists: direct mail from people you answer."""
    x = np.atleast_2d(features)
    names = {name: x[:, FEATURE_NAMES.index(name)] for name in REPLY_FEATURES}
    return np.asarray(
        names["direct"]
        + 2 * names["sender_reply_rate"]
        - 0.3 * names["days_since_sent_to_sender_log"]
        - names["bulk"]
        - names["sender_automated"],
        dtype=float,
    )


@dataclass
class LatencyModel:
    """How fast the person replies: ≤ 25 min, ≤ 4 h, or later."""

    scaler: StandardScaler | None = None
    model: LogisticRegression | None = None
    majority: str = LATENCY_BUCKETS[2]

    def fit(self, features: Array, buckets: Sequence[str]) -> LatencyModel:
        """Fit on replied rows and their latency buckets."""
        if buckets:
            counts = {b: list(buckets).count(b) for b in LATENCY_BUCKETS}
            self.majority = max(counts, key=lambda b: counts[b])
        if len(buckets) >= 6 and len(set(buckets)) >= 2:
            self.scaler = StandardScaler().fit(features)
            self.model = LogisticRegression(C=0.1, max_iter=3000, class_weight="balanced")
            self.model.fit(self.scaler.transform(features), list(buckets))
        return self

    def predict(self, features: Array) -> list[str]:
        """Return the expected latency bucket for each row."""
        x = np.atleast_2d(features)
        if self.model is None or self.scaler is None:
            return [self.majority] * len(x)
        return [str(b) for b in self.model.predict(self.scaler.transform(x))]

    def distribution(self, features: Sequence[float]) -> dict[str, float]:
        """Return the probability of each latency bucket for one row."""
        if self.model is None or self.scaler is None:
            return {b: float(b == self.majority) for b in LATENCY_BUCKETS}
        x = self.scaler.transform(np.atleast_2d(np.asarray(features, dtype=float)))
        probabilities = self.model.predict_proba(x)[0]
        found = {str(c): float(p) for c, p in zip(self.model.classes_, probabilities, strict=True)}
        return {b: found.get(b, 0.0) for b in LATENCY_BUCKETS}
