"""The pooled prior learns which message a person answers, not who answers more."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from understudy.twin.features import FEATURE_NAMES
from understudy.twin.reply import PRIOR_FEATURES, PriorModel

Array = NDArray[np.float64]


def _rows(n: int = 3000, seed: int = 0) -> tuple[Array, NDArray[np.bool_]]:
    """Pooled rows: a reply needs direct mail *and* a sender the person writes to."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, len(FEATURE_NAMES)))
    direct = rng.random(n) < 0.5
    known = rng.random(n) < 0.5
    x[:, FEATURE_NAMES.index("direct")] = direct
    x[:, FEATURE_NAMES.index("sent_to_sender_log")] = known * rng.uniform(0.5, 3.0, n)
    replied = direct & known & (rng.random(n) < 0.6)
    return x, replied


def test_the_prior_ranks_mail_by_what_it_is() -> None:
    x, replied = _rows()
    prior = PriorModel.fit(x, replied)
    assert prior is not None

    def score(direct: float, known: float) -> Array:
        rows = x[:3].copy()
        rows[:, FEATURE_NAMES.index("direct")] = direct
        rows[:, FEATURE_NAMES.index("sent_to_sender_log")] = known
        return prior.logit(rows)

    assert (score(1.0, 2.0) > score(1.0, 0.0) + 1.0).all()
    assert (score(1.0, 2.0) > score(0.0, 2.0) + 1.0).all()


def test_the_prior_ignores_how_often_the_person_replies() -> None:
    x, replied = _rows()
    # Across people, the person-level rate tells who replies more: here it gives
    # the answer away, and the prior must still not use it.
    for name in ("global_reply_rate", "owner_recent_reply_rate"):
        assert name not in PRIOR_FEATURES
        x[:, FEATURE_NAMES.index(name)] = replied
    prior = PriorModel.fit(x, replied)
    assert prior is not None
    flipped = x.copy()
    for name in ("global_reply_rate", "owner_recent_reply_rate"):
        flipped[:, FEATURE_NAMES.index(name)] = 1.0 - flipped[:, FEATURE_NAMES.index(name)]
    np.testing.assert_allclose(prior.logit(x), prior.logit(flipped))


def test_no_prior_without_replies_to_learn_from() -> None:
    x, _ = _rows(200)
    assert PriorModel.fit(x, np.zeros(len(x), dtype=bool)) is None


def test_a_prior_saved_before_the_trees_still_scores() -> None:
    # Twins pickled earlier hold a regression prior over REPLY_FEATURES.
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    from understudy.twin.reply import REPLY_FEATURES

    x, replied = _rows()
    columns = [FEATURE_NAMES.index(name) for name in REPLY_FEATURES]
    scaler = StandardScaler().fit(x[:, columns])
    regression = LogisticRegression().fit(scaler.transform(x[:, columns]), replied)
    old = PriorModel.__new__(PriorModel)
    old.__dict__.update({"scaler": scaler, "model": regression})
    np.testing.assert_allclose(
        old.logit(x[:5]), regression.decision_function(scaler.transform(x[:5, columns]))
    )
