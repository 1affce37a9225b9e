"""Answers with numbered citations, built only from what the asker may read.

Without a language model the answer is extractive: the sentences of the best
search results that speak most to the question, deduplicated, grouped by the
item they come from, each cited. With a model (``Synthesizer``), the model
writes the answer from the same numbered passages; every sentence must cite
a passage that supports it, which is checked, and unsupported sentences are
dropped.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Protocol

from understudy.brain.search import Result, Searcher, query_terms
from understudy.records import Principal
from understudy.store import ItemFilter

__all__ = ["Answer", "Citation", "Passage", "Synthesizer", "answer_question", "supported"]

MIN_COVERAGE = 0.45
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(])|\n{2,}|\n(?=[-*•] )")
_CITE = re.compile(r"\[(\d+)\]")
_WORD = re.compile(r"\w+")


@dataclass(frozen=True, slots=True)
class Citation:
    """One numbered source of an answer."""

    number: int
    item_id: int
    title: str
    kind: str
    snippet: str


@dataclass(frozen=True, slots=True)
class Passage:
    """A numbered piece of text the answer may use."""

    number: int
    text: str


@dataclass(slots=True)
class Answer:
    """An answer whose every sentence carries a citation."""

    question: str
    text: str
    sentences: list[tuple[str, list[int]]] = field(default_factory=list)
    citations: list[Citation] = field(default_factory=list)
    mode: str = "extractive"
    dropped: list[str] = field(default_factory=list)
    found: list[int] = field(default_factory=list)  # every item the search returned, cited or not

    @property
    def items(self) -> list[int]:
        """Return the ids of the cited items."""
        return [c.item_id for c in self.citations]

    def as_dict(self) -> dict[str, object]:
        """Return the answer as plain data."""
        return {
            "question": self.question,
            "answer": self.text,
            "mode": self.mode,
            "sentences": [{"text": s, "citations": c} for s, c in self.sentences],
            "citations": [
                {
                    "n": c.number,
                    "item": c.item_id,
                    "title": c.title,
                    "kind": c.kind,
                    "snippet": c.snippet,
                }
                for c in self.citations
            ],
            "dropped": self.dropped,
        }


class Synthesizer(Protocol):
    """A language model that writes an answer from numbered passages."""

    def synthesize(self, question: str, passages: Sequence[Passage]) -> str:
        """Return an answer whose sentences cite passages as [n]."""
        ...


def _sentences(text: str) -> list[str]:
    parts = [" ".join(p.split()) for p in _SENTENCE.split(text)]
    return [p for p in parts if 30 <= len(p) <= 600 and len(p.split()) >= 6]


def _hits(sentence: str, terms: Sequence[str], weights: dict[str, float]) -> tuple[float, int]:
    """Return the weight of the question's terms a sentence holds, and its distinct words.

    A long term also counts when a word shares its first five letters (a stem).
    """
    found = _WORD.findall(sentence)
    words = {w.lower() for w in found}
    stems = {w[:5] for w in words if len(w) >= 5}
    hit = sum(weights.get(t, 1.0) for t in terms if t in words or (len(t) > 5 and t[:5] in stems))
    return hit, len(words)


def _overlap(a: str, b: str) -> float:
    left, right = set(_WORD.findall(a.lower())), set(_WORD.findall(b.lower()))
    return len(left & right) / max(1, len(left | right))


def _candidates(results: Sequence[Result], question: str) -> list[tuple[float, str, Result]]:
    terms = query_terms(question)
    counts: Counter[str] = Counter()
    texts = [r.item.body[:6000] for r in results]
    for text in texts:
        counts.update({w.lower() for w in _WORD.findall(text)})
    weights = {t: math.log(1 + len(results) / (1 + counts[t])) + 0.5 for t in terms}
    total = sum(weights.values()) or 1.0
    scored: list[tuple[float, str, Result]] = []
    for rank, (result, text) in enumerate(zip(results, texts, strict=True)):
        for sentence in _sentences(text):
            hit, distinct = _hits(sentence, terms, weights)
            value = hit / math.sqrt(max(8, distinct))
            # A sentence must speak to most of the question (its rarest words weigh
            # most); one shared common word is not an answer.
            covered = value * math.sqrt(max(8, len(_WORD.findall(sentence))))
            if value > 0 and covered / total >= MIN_COVERAGE:
                scored.append((value * (1.0 / (1 + 0.15 * rank)), sentence, result))
    scored.sort(key=lambda entry: -entry[0])
    return scored


def answer_question(
    searcher: Searcher,
    principal: Principal,
    question: str,
    where: ItemFilter | None = None,
    max_sentences: int = 5,
    synthesizer: Synthesizer | None = None,
) -> Answer:
    """Answer ``question`` from what ``principal`` may read, citing every sentence."""
    # Snippets only for the results cited: the others are never shown.
    results = searcher.search(principal, question, limit=8, where=where, snippets=False)
    chosen: list[tuple[str, Result]] = []
    candidates = _candidates(results, question)
    floor = candidates[0][0] * 0.4 if candidates else 0.0
    for value, sentence, result in candidates:
        if value < floor:
            break
        if any(_overlap(sentence, s) > 0.6 for s, _ in chosen):
            continue
        chosen.append((sentence, result))
        if len(chosen) >= max_sentences:
            break
    cited = list({id(r): r for _, r in chosen}.values())
    fetched = searcher.with_snippets(principal, question, cited)
    shown = {id(r): s for r, s in zip(cited, fetched, strict=True)}
    chosen = [(sentence, shown[id(result)]) for sentence, result in chosen]
    citations: dict[int, Citation] = {}
    for _, result in chosen:
        item = result.item
        if item.id is not None and item.id not in citations:
            citations[item.id] = Citation(
                len(citations) + 1, item.id, item.title, item.kind, result.snippet
            )
    found = [r.item.id for r in results if r.item.id is not None]
    if synthesizer is not None and chosen:
        return replace(_synthesized(question, chosen, citations, synthesizer), found=found)
    order = sorted(chosen, key=lambda pair: citations[pair[1].item.id or 0].number)
    sentences = [(s, [citations[r.item.id or 0].number]) for s, r in order]
    text = (
        " ".join(f"{s} [{n[0]}]" for s, n in sentences)
        or "I found nothing you may read about that."
    )
    return Answer(question, text, sentences, list(citations.values()), found=found)


_NUMBER = re.compile(r"\d[\d,.]*%?")


def supported(sentence: str, passage: str, threshold: float = 0.5) -> bool:
    """Return whether ``passage`` backs ``sentence``: its numbers and most of its words."""
    claim = _CITE.sub("", sentence)
    source = passage.lower()
    numbers = [n.rstrip(".,") for n in _NUMBER.findall(claim)]
    if any(n and n not in source for n in numbers):
        return False
    words = [w for w in query_terms(claim) if len(w) > 2 and not w.isdigit()]
    if not words:
        return bool(numbers)
    present = sum(1 for w in words if w in source or (len(w) > 5 and w[:5] in source))
    return present / len(words) >= threshold


def _synthesized(
    question: str,
    chosen: list[tuple[str, Result]],
    citations: dict[int, Citation],
    synthesizer: Synthesizer,
) -> Answer:
    texts: dict[int, list[str]] = {}
    for sentence, result in chosen:
        number = citations[result.item.id or 0].number
        texts.setdefault(number, [result.snippet]).append(sentence)
    passages = [Passage(n, " ".join(t)) for n, t in sorted(texts.items())]
    by_number = {p.number: p.text for p in passages}
    draft = synthesizer.synthesize(question, passages)
    kept: list[tuple[str, list[int]]] = []
    dropped: list[str] = []
    for sentence in _sentences(draft) or [draft.strip()]:
        cited = [int(n) for n in _CITE.findall(sentence) if int(n) in by_number]
        if cited and all(supported(sentence, by_number[n]) for n in cited):
            kept.append((_CITE.sub("", sentence).strip(), cited))
        elif sentence.strip():
            dropped.append(sentence.strip())
    used = {n for _, cited in kept for n in cited}
    text = " ".join(f"{s} " + "".join(f"[{n}]" for n in c) for s, c in kept)
    if not kept:
        text = "I could not write an answer that the sources support."
    listed = [c for c in citations.values() if c.number in used]
    return Answer(question, text.strip(), kept, listed, mode="synthesized", dropped=dropped)
