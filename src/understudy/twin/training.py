"""Train the twins of many people: a shared prior first, then each person over it."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, tzinfo

import numpy as np

from understudy.store import Store
from understudy.twin.dataset import build_rows
from understudy.twin.mailbox import load_mailbox
from understudy.twin.model import PersonTwin, save_twin, train_twin
from understudy.twin.reply import PriorModel

__all__ = ["PRIOR_KIND", "PRIOR_OWNER", "load_prior", "train_people", "train_prior"]

PRIOR_OWNER = "_organization"
PRIOR_KIND = "reply-prior"


def people_with_mail(store: Store) -> list[str]:
    """Return the people who own at least one mail source."""
    mail_kinds = {"maildir", "mbox", "eml", "imap"}
    return sorted({s.owner for s in store.list_sources() if s.owner and s.kind in mail_kinds})


def train_prior(store: Store, people: Sequence[str]) -> PriorModel | None:
    """Fit and save the organization's reply prior on everyone's replayed mail."""
    import pickle

    features: list[list[float]] = []
    replied: list[bool] = []
    for person in people:
        for row in build_rows(load_mailbox(store, person)):
            if row.covered:
                features.append(row.features)
                replied.append(row.replied)
    if not features:
        return None
    prior = PriorModel.fit(np.array(features), np.array(replied, dtype=bool))
    if prior is not None:
        summary = {"rows": len(features), "replied": int(sum(replied)), "people": len(people)}
        store.put_model(PRIOR_OWNER, PRIOR_KIND, pickle.dumps(prior), summary)
    return prior


def load_prior(store: Store) -> PriorModel | None:
    """Return the saved organization prior, if one was trained."""
    import pickle

    stored = store.get_model(PRIOR_OWNER, PRIOR_KIND)
    if stored is None:
        return None
    prior = pickle.loads(stored.blob)
    return prior if isinstance(prior, PriorModel) else None


def train_people(
    store: Store,
    people: Sequence[str],
    zone: tzinfo = UTC,
    target: float = 0.95,
    progress: Callable[[str], None] | None = None,
) -> list[PersonTwin]:
    """Train the prior on everyone with mail, then each chosen person's twin; save them."""
    prior = train_prior(store, people_with_mail(store))
    twins = []
    for person in people:
        twin = train_twin(store, person, prior=prior, zone=zone, target=target)
        save_twin(store, twin)
        twins.append(twin)
        if progress is not None:
            progress(person)
    return twins
