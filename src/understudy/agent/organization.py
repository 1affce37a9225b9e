"""Ask the organization: find who likely knows, ask their understudies in parallel, merge.

Each understudy answers from what both its owner and the asker may read and
what its owner shares; some decline and some do not answer before the
deadline. The merged answer keeps every citation with the understudy it
came from, and says who could not answer or declined to share.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor, TimeoutError, wait
from dataclasses import dataclass, field
from typing import Any, Protocol

from understudy.agent.requests import Origin, Request
from understudy.brain.experts import find_experts
from understudy.records import Principal
from understudy.settings import Settings
from understudy.store import Store

__all__ = ["LocalRelay", "OrgAnswer", "Relay", "ask_organization", "who_knows"]


class Relay(Protocol):
    """How one understudy asks another (in process, or over A2A)."""

    def ask(self, owner: str, question: str, asker: str) -> dict[str, Any]:
        """Return the other understudy's response as plain data."""
        ...


@dataclass
class LocalRelay:
    """Ask understudies served by this same process and store."""

    store: Store
    settings: Settings
    model: Any = None

    def ask(self, owner: str, question: str, asker: str) -> dict[str, Any]:
        """Return the response of ``owner``'s understudy to ``asker``'s understudy."""
        from understudy.agent.understudy import Understudy

        understudy = Understudy(self.store, owner, self.settings, model=self.model)
        request = Request(
            owner=owner, asker=asker, text=question, origin=Origin.AGENT, via=f"understudy:{asker}"
        )
        return understudy.handle(request).as_dict()


@dataclass
class OrgAnswer:
    """What the organization's understudies said."""

    question: str
    asked: list[str]
    answers: list[dict[str, Any]] = field(default_factory=list)
    declined: list[str] = field(default_factory=list)
    nothing: list[str] = field(default_factory=list)
    unanswered: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """Return the merged answer as plain data."""
        return {
            "question": self.question,
            "asked": self.asked,
            "answers": self.answers,
            "declined": self.declined,
            "nothing": self.nothing,
            "unanswered": self.unanswered,
        }


def who_knows(store: Store, searcher: Any, asker: str, question: str, limit: int = 6) -> list[str]:
    """Return the people whose understudies are worth asking: experts, then project members."""
    found = [e.person for e in find_experts(searcher, Principal.person(asker), question, limit)]
    lowered = question.lower()
    for project in store.list_projects():
        if project.id.lower() in lowered or project.name.lower() in lowered:
            found += list(project.members)
    return [p for p in dict.fromkeys(found) if p != asker][:limit]


def ask_organization(
    store: Store,
    relay: Relay,
    searcher: Any,
    asker: str,
    question: str,
    deadline: float = 5.0,
    people: list[str] | None = None,
) -> OrgAnswer:
    """Ask the understudies of those who likely know, in parallel, within ``deadline`` seconds."""
    chosen = people if people is not None else who_knows(store, searcher, asker, question)
    result = OrgAnswer(question=question, asked=chosen)
    if not chosen:
        return result
    pool = ThreadPoolExecutor(max_workers=min(16, len(chosen)))
    futures = {pool.submit(relay.ask, person, question, asker): person for person in chosen}
    done, late = wait(futures, timeout=deadline)
    pool.shutdown(wait=False, cancel_futures=True)
    for future in done:
        person = futures[future]
        try:
            answer = future.result()
        except (TimeoutError, OSError, RuntimeError, ValueError) as exc:
            result.unanswered.append(f"{person} ({type(exc).__name__})")
            continue
        status = answer.get("status")
        if status == "declined":
            result.declined.append(person)
        elif status == "nothing" or not answer.get("citations"):
            result.nothing.append(person)
        else:
            result.answers.append(answer)
    result.unanswered += [futures[f] for f in late]
    order = {p: n for n, p in enumerate(chosen)}
    result.answers.sort(key=lambda a: order.get(str(a.get("owner")), 99))
    return result
