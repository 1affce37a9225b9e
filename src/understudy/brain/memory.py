"""Measure memory: can search find the turns of a long conversation that answer a question?

A LoCoMo-format file holds conversations between two people over many
sessions, and questions whose ``evidence`` names the turns (``D3:7``) that
answer them. Each conversation becomes one person's history: its own
principal, a source, and one ``message`` item per turn, written as a chat
connector writes messages — the sender's name and the two lines said before
it in the session (``author_name`` and ``context``, which the chunker turns
into a context window), the session as the thread, the session's date as the
title and time. Each question then runs as that person through ``Searcher``;
a question scores the share of its evidence turns among the first k turns
(Recall@k), averaged over the questions with evidence.

Methods compared: keywords, meaning, standardized-score fusion, and a ranker
learned from the other conversations' questions only (leave one conversation
out), which is the reported figure when there are two conversations or more.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from understudy.brain.embeddings import Embedder, embed_pending
from understudy.brain.evaluate import Progress, quiet
from understudy.brain.indexing import chunk_pending
from understudy.brain.rerank import Judgment, Ranker, fit_query_adapter, fit_ranker
from understudy.brain.search import Mode, Pool, Searcher
from understudy.errors import InputError
from understudy.records import Item, Principal, Source, person_reader
from understudy.store import Store

__all__ = [
    "CATEGORIES",
    "Conversation",
    "Question",
    "Turn",
    "evaluate_memory",
    "index_conversation",
    "load_conversations",
]

# LoCoMo's question categories.
CATEGORIES = {
    1: "multi-hop",
    2: "temporal",
    3: "open-domain",
    4: "single-hop",
    5: "adversarial",
}
CUTOFFS = (5, 10)
CONTEXT_TURNS = 2  # earlier lines of the session each turn carries as context
_EVIDENCE = re.compile(r"D:?(\d+):(\d+)")
_DATE_FORMAT = "%I:%M %p on %d %B, %Y"
_FALLBACK_DATE = datetime(2000, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Turn:
    """One line of a conversation."""

    dia_id: str
    speaker: str
    text: str
    session: int
    date: datetime
    date_text: str


@dataclass(frozen=True, slots=True)
class Question:
    """A question about a conversation and the turns that answer it."""

    text: str
    evidence: tuple[str, ...]
    category: int


@dataclass(frozen=True, slots=True)
class Conversation:
    """One LoCoMo conversation: its turns in order, and its questions."""

    index: int
    name: str
    turns: tuple[Turn, ...]
    questions: tuple[Question, ...]
    dropped_evidence: int = 0

    @property
    def person(self) -> str:
        """Return the id of the person whose history this conversation is."""
        return f"locomo-{self.index}"


def load_conversations(path: Path, chosen: Sequence[int] | None = None) -> list[Conversation]:
    """Read a LoCoMo-format file; keep the conversations numbered in ``chosen`` (all if None)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(f"{path}: cannot read it ({exc.strerror})") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: not valid JSON ({exc}); give a LoCoMo-format file") from None
    if not isinstance(data, list):
        raise InputError(f"{path}: expected a list of conversations at the top level")
    if not data:
        raise InputError(f"{path}: holds no conversations; give a LoCoMo-format file")
    wanted = range(len(data)) if chosen is None else chosen
    if not wanted:
        raise InputError(f"{path}: no conversation chosen; it holds 0 to {len(data) - 1}")
    for index in wanted:
        if not 0 <= index < len(data):
            raise InputError(f"{path}: no conversation {index}; it holds 0 to {len(data) - 1}")
    return [_conversation(path, index, data[index]) for index in wanted]


def _conversation(path: Path, index: int, raw: Any) -> Conversation:
    where = f"{path}: conversation {index}"
    if not isinstance(raw, dict) or not isinstance(raw.get("conversation"), dict):
        raise InputError(f"{where}: expected an object with a 'conversation' object")
    if not isinstance(raw.get("qa", []), list):
        raise InputError(f"{where}: 'qa' must be a list of questions")
    turns = _turns(where, raw["conversation"])
    known = {turn.dia_id for turn in turns}
    questions: list[Question] = []
    dropped = 0
    for number, qa in enumerate(raw.get("qa", [])):
        if not isinstance(qa, dict) or not isinstance(qa.get("question"), str):
            raise InputError(f"{where}: question {number} has no 'question' text")
        evidence = qa.get("evidence") or []
        if isinstance(evidence, str):  # one id, not in a list: still one id, not characters
            evidence = [evidence]
        cited = [f"D{a}:{b}" for e in evidence for a, b in _EVIDENCE.findall(str(e))]
        found = tuple(dict.fromkeys(e for e in cited if e in known))
        dropped += len(set(cited) - known)
        category = qa.get("category") or 0
        if not isinstance(category, int) and not str(category).isdigit():
            raise InputError(f"{where}: question {number} has category {category!r}; use 1 to 5")
        if found:
            questions.append(Question(qa["question"], found, int(category)))
    name = str(raw.get("sample_id") or f"conversation-{index}")
    return Conversation(index, name, tuple(turns), tuple(questions), dropped)


def _turns(where: str, conversation: Mapping[str, Any]) -> list[Turn]:
    turns: list[Turn] = []
    session = 1
    while f"session_{session}" in conversation:
        date_text = str(conversation.get(f"session_{session}_date_time") or "")
        try:
            date = datetime.strptime(date_text, _DATE_FORMAT).replace(tzinfo=UTC)
        except ValueError:
            date = _FALLBACK_DATE + timedelta(days=session)
        lines = conversation[f"session_{session}"]
        if not isinstance(lines, list):
            raise InputError(f"{where}: session_{session} must be a list of turns")
        for line in lines:
            if not isinstance(line, dict) or not {"speaker", "dia_id", "text"} <= set(line):
                raise InputError(
                    f"{where}: session_{session} has a turn without speaker/dia_id/text"
                )
            text = str(line["text"])
            if line.get("blip_caption"):
                text += f" [shares {line['blip_caption']}]"
            turns.append(
                Turn(str(line["dia_id"]), str(line["speaker"]), text, session, date, date_text)
            )
        session += 1
    if not turns:
        raise InputError(f"{where}: no sessions (expected session_1, session_2, …)")
    return turns


def index_conversation(store: Store, conversation: Conversation, location: str) -> Principal:
    """Store a conversation's turns as its person's messages; return that person's principal."""
    source = store.add_source(
        Source(kind="locomo", location=location, name=f"locomo-{conversation.index}")
    )
    if source.id is None:  # pragma: no cover - a stored source always has an id
        raise InputError(f"{location}: the source could not be registered")
    readers = frozenset({person_reader(conversation.person)})
    items: list[Item] = []
    earlier: list[str] = []
    for n, turn in enumerate(conversation.turns):
        if n == 0 or conversation.turns[n - 1].session != turn.session:
            earlier = []
        items.append(
            Item(
                source_id=source.id,
                external_id=turn.dia_id,
                kind="message",
                timestamp=turn.date + timedelta(seconds=n),
                readers=readers,
                title=turn.date_text,
                body=turn.text,
                author=turn.speaker.lower(),
                thread_id=f"{conversation.name}/session-{turn.session}",
                metadata={
                    "author_name": turn.speaker,
                    "context": earlier[-CONTEXT_TURNS:],
                    "dia_id": turn.dia_id,
                },
            )
        )
        earlier.append(f"{turn.speaker}: {turn.text}")
    store.put_items(items)
    return Principal.person(conversation.person)


def _recalls(ranked: Sequence[str], evidence: Sequence[str]) -> dict[str, float]:
    wanted = set(evidence)
    return {f"recall@{k}": len(wanted.intersection(ranked[:k])) / len(wanted) for k in CUTOFFS}


def _summary(rows: Sequence[tuple[Question, dict[str, float]]]) -> dict[str, Any]:
    """Return mean recalls overall and per category."""

    def mean(subset: Sequence[tuple[Question, dict[str, float]]]) -> dict[str, float]:
        return {
            f"recall@{k}": round(sum(r[f"recall@{k}"] for _, r in subset) / len(subset), 4)
            if subset
            else 0.0
            for k in CUTOFFS
        }

    by_category: dict[str, Any] = {}
    for category in sorted({q.category for q, _ in rows}):
        subset = [row for row in rows if row[0].category == category]
        name = CATEGORIES.get(category, f"category {category}")
        by_category[str(category)] = {"name": name, **mean(subset), "n": len(subset)}
    return {**mean(rows), "n_questions": len(rows), "by_category": by_category}


def _ranked(searcher: Searcher, pool: Pool, mode: Mode, ranker: Ranker | None) -> list[str]:
    ordered = searcher.order(pool, max(CUTOFFS), mode, ranker)
    return [c.head.external_id for c, _ in ordered if c.head is not None]


def _judgments(pools: Sequence[Pool], questions: Sequence[Question]) -> list[Judgment]:
    judged = []
    for pool, question in zip(pools, questions, strict=True):
        grades = {
            c.item_id: 1
            for c in pool.candidates.values()
            if c.head is not None and c.head.external_id in question.evidence
        }
        judged.append(Judgment(question.text, grades))
    return judged


def evaluate_memory(
    store: Store,
    conversations: Sequence[Conversation],
    embedder: Embedder | None,
    location: str,
    progress: Progress = quiet,
) -> dict[str, Any]:
    """Index each conversation as its own person's history, ask its questions, and report."""
    started = time.monotonic()
    principals = [index_conversation(store, c, location) for c in conversations]
    with progress("chunking", sum(len(c.turns) for c in conversations)) as advance:
        chunk_pending(store, progress=advance)
    if embedder is not None:
        missing = store.count_missing_embeddings(embedder.name)
        with progress(f"embedding ({embedder.name})", missing) as advance:
            embed_pending(store, embedder, progress=advance)
    indexed = time.monotonic()
    searcher = Searcher(store, embedder, ranker=None)
    pools: list[list[Pool]] = []
    with progress("asking", sum(len(c.questions) for c in conversations)) as advance:
        for conversation, principal in zip(conversations, principals, strict=True):
            asked = []
            for question in conversation.questions:
                pool = searcher.candidates(principal, question.text, max(CUTOFFS))
                searcher.add_vector_features(pool)  # the left-out rankers learn from them
                asked.append(pool)
                advance(1)
            pools.append(asked)
    rows = _rows(searcher, conversations, pools)
    methods = {name: _summary([(q, r) for _, q, r in found]) for name, found in rows.items()}
    final = "ranker" if "ranker" in methods else "fusion"
    by_conversation = {
        conversation.name: {
            name: {
                key: value
                for key, value in _summary([(q, r) for n, q, r in found if n == index]).items()
                if key != "by_category"
            }
            for name, found in rows.items()
        }
        for index, conversation in enumerate(conversations)
    }
    return {
        **methods[final],
        "method": final,
        "methods": methods,
        "by_conversation": by_conversation,
        "n_conversations": len(conversations),
        "dropped_evidence": sum(c.dropped_evidence for c in conversations),
        "seconds": {
            "indexing": round(indexed - started, 1),
            "asking": round(time.monotonic() - indexed, 1),
        },
    }


Row = tuple[int, Question, dict[str, float]]


def _rows(
    searcher: Searcher, conversations: Sequence[Conversation], pools: Sequence[Sequence[Pool]]
) -> dict[str, list[Row]]:
    """Return each method's recalls per question; nothing learned sees its own conversation.

    ``ranker`` searches each question again with its query adapter;
    ``ranker without adapter`` ranks the first search's pool.
    """
    modes: dict[str, Mode] = {"keyword": "keyword", "vector": "vector", "fusion": "hybrid"}
    rows: dict[str, list[Row]] = {name: [] for name in modes}
    rankers = _left_out_rankers(searcher, conversations, pools)
    if rankers is not None:
        rows["ranker"], rows["ranker without adapter"] = [], []
    for n, conversation in enumerate(conversations):
        moved = None
        if rankers is not None and rankers[n][0].adapter is not None:
            moved = Searcher(searcher.store, searcher.embedder, searcher.fusion, rankers[n][0])
        for question, pool in zip(conversation.questions, pools[n], strict=True):
            for name, mode in modes.items():
                ranked = _ranked(searcher, pool, mode, None)
                rows[name].append((n, question, _recalls(ranked, question.evidence)))
            if rankers is None:
                continue
            adapted, bare = rankers[n]
            plain = _recalls(_ranked(searcher, pool, "hybrid", bare), question.evidence)
            rows["ranker without adapter"].append((n, question, plain))
            again = pool
            if moved is not None:
                again = moved.candidates(pool.principal, question.text, max(CUTOFFS))
            ranked = _ranked(searcher, again, "hybrid", adapted)
            rows["ranker"].append((n, question, _recalls(ranked, question.evidence)))
    return rows


def _left_out_rankers(
    searcher: Searcher, conversations: Sequence[Conversation], pools: Sequence[Sequence[Pool]]
) -> list[tuple[Ranker, Ranker]] | None:
    """Fit each conversation's rankers (with and without a query adapter) on the others;
    None if there is nothing to learn from."""
    if len(conversations) < 2 or searcher.embedder is None:
        return None
    try:
        return [_left_out_ranker(searcher, conversations, pools, n) for n in range(len(pools))]
    except ValueError:  # fit_ranker: the other conversations' candidates hold no evidence
        return None


def _left_out_ranker(
    searcher: Searcher,
    conversations: Sequence[Conversation],
    pools: Sequence[Sequence[Pool]],
    held: int,
) -> tuple[Ranker, Ranker]:
    """Fit rankers on every conversation's questions but conversation ``held``: one with a
    query adapter learned from them, one without."""
    train_pools = [p for n, asked in enumerate(pools) if n != held for p in asked]
    questions = [q for n, c in enumerate(conversations) if n != held for q in c.questions]
    model = searcher.embedder.name if searcher.embedder is not None else None
    judged = _judgments(train_pools, questions)
    adapter = fit_query_adapter(searcher.store, model, train_pools, judged) if model else None
    bare = fit_ranker(train_pools, judged, model, feedback=False)
    return replace(bare, adapter=adapter), bare
