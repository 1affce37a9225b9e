"""Who knows about a topic: people ranked by what they wrote or handled on it.

The topic is searched as the asker, so only items the asker may read count.
Writing an item counts most, deciding on it (replying, approving, filing)
next, being addressed on it least; each contribution is weighted by how well
the item matches the topic.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from understudy.brain.search import Searcher
from understudy.records import Principal
from understudy.store import ItemFilter

__all__ = ["Expert", "find_experts"]

WROTE, DECIDED, ADDRESSED = 1.0, 0.6, 0.25


@dataclass(slots=True)
class Expert:
    """A person and the evidence that they know the topic."""

    person: str
    name: str
    score: float
    wrote: list[int] = field(default_factory=list)
    handled: list[int] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        """Return the expert as plain data."""
        return {
            "person": self.person,
            "name": self.name,
            "score": round(self.score, 4),
            "wrote": self.wrote,
            "handled": self.handled,
        }


def find_experts(
    searcher: Searcher,
    principal: Principal,
    topic: str,
    limit: int = 10,
    where: ItemFilter | None = None,
    include_external: bool = False,
) -> list[Expert]:
    """Return people ranked by their part in the items about ``topic`` the asker may read."""
    results = searcher.search(principal, topic, limit=60, where=where, snippets=False)
    store = searcher.store
    scores: dict[str, float] = defaultdict(float)
    wrote: dict[str, list[int]] = defaultdict(list)
    handled: dict[str, list[int]] = defaultdict(list)
    top = results[0].score if results else 1.0
    for result in results:
        item, weight = result.item, result.score / (top or 1.0)
        item_id = item.id or 0
        if item.author:
            scores[item.author] += WROTE * weight
            wrote[item.author].append(item_id)
        for recipient in set(item.recipients) - {item.author}:
            scores[recipient] += ADDRESSED * weight
        # A decision points at the version it was made on; later edits keep it.
        for version in store.item_versions(principal, item_id) or [item_id]:
            for decision in store.list_decisions(item_id=version):
                scores[decision.person] += DECIDED * weight
                if item_id not in handled[decision.person]:
                    handled[decision.person].append(item_id)
    experts: list[Expert] = []
    for person_id, score in sorted(scores.items(), key=lambda pair: -pair[1]):
        person = store.get_person(person_id)
        if person is None or (person.external and not include_external):
            continue
        experts.append(
            Expert(person.id, person.name, score, wrote[person_id][:5], handled[person_id][:5])
        )
        if len(experts) >= limit:
            break
    return experts
