"""The person's past messages most like a new one, found in a prebuilt TF-IDF index.

Built once when the twin is trained (and again after corrections add
examples), so a prediction only transforms one text and takes one sparse
product.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer

if TYPE_CHECKING:
    from understudy.twin.model import Example

__all__ = ["NeighbourIndex"]

SAME_SENDER_BONUS = 0.2


@dataclass
class NeighbourIndex:
    """A TF-IDF index over past received messages."""

    vectorizer: TfidfVectorizer
    matrix: Any
    ids: list[int]
    senders: list[str]
    size: int

    @classmethod
    def build(cls, examples: Sequence[Example]) -> NeighbourIndex | None:
        """Index the examples; None when there is no text to index."""
        texts = [f"{e.subject} {e.text}" for e in examples]
        if not any(t.strip() for t in texts):
            return None
        vectorizer = TfidfVectorizer(sublinear_tf=True, stop_words="english")
        try:
            matrix = vectorizer.fit_transform(texts)
        except ValueError:
            return None
        return cls(
            vectorizer=vectorizer,
            matrix=matrix,
            ids=[e.item_id for e in examples],
            senders=[e.sender for e in examples],
            size=len(examples),
        )

    def query(self, text: str, sender: str, exclude: int, top: int = 5) -> list[tuple[int, float]]:
        """Return (example position, similarity) of the nearest past messages."""
        vector = self.vectorizer.transform([text])
        similarity = np.asarray((self.matrix @ vector.T).toarray()).ravel()
        similarity = similarity + SAME_SENDER_BONUS * np.array(
            [s == sender for s in self.senders], dtype=float
        )
        similarity[[i for i, item in enumerate(self.ids) if item == exclude]] = -1.0
        order = np.argsort(-similarity)[:top]
        return [(int(i), float(similarity[i])) for i in order if similarity[i] > 0]
