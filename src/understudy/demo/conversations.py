"""Mail threads: who starts which conversation, and how each person responds.

Responses follow the habits: a recipient ignores, delegates or answers
according to the category of the message and the class of its sender, with a
latency drawn from their range for that class, counted in working minutes.
Replies quote what they answer and carry In-Reply-To and References.
"""

from __future__ import annotations

import html
import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from understudy.demo.clock import add_work_minutes
from understudy.demo.habits import sender_class
from understudy.demo.story import Mail, MailPart, Timeline
from understudy.demo.texts import Topic
from understudy.demo.writing import compose, forward_block, quote, reply_subject

__all__ = ["Conversations", "Thread"]

_KEEP_CATEGORY = ("board", "customer", "conversation")
_OUTSIDE_HOURS = (9, 17)


def _html(text: str) -> str:
    """Return an HTML version of a plain-text message, paragraph by paragraph."""
    paragraphs = "".join(
        "<p>" + html.escape(block).replace("\n", "<br>") + "</p>" for block in text.split("\n\n")
    )
    return f"<html><body>{paragraphs}</body></html>"


@dataclass(frozen=True, slots=True)
class Thread:
    """A conversation being played out: its topic, filled slots and project."""

    topic: Topic
    slots: Mapping[str, str]
    project: str | None = None


@dataclass(slots=True)
class Conversations:
    """Open threads and play out everyone's responses to them."""

    tl: Timeline
    rng: random.Random = field(init=False)

    def __post_init__(self) -> None:
        self.rng = self.tl.rng("conversations")

    def open(
        self,
        thread: Thread,
        sender: str,
        to: tuple[str, ...],
        cc: tuple[str, ...],
        at: datetime,
        attachments: tuple[MailPart, ...] = (),
        answered: bool = True,
    ) -> Mail:
        """Send the first message of ``thread`` and play out the responses."""
        topic = thread.topic
        text = topic.opener.format_map(thread.slots)
        body = compose(self.tl.company, self.tl.habits, sender, to, text)
        mail = self.tl.add(
            Mail(
                id=self.tl.message_id(at, sender),
                sender=sender,
                to=to,
                cc=cc,
                subject=topic.subject.format_map(thread.slots),
                body=body,
                at=at,
                category=topic.category,
                project=thread.project,
                attachments=attachments,
                html=_html(body) if topic.category == "fyi" else None,
            )
        )
        if answered:
            self.follow(thread, mail, 0)
        else:
            self.tl.silenced.add(mail.id)
        return mail

    def follow(self, thread: Thread, mail: Mail, depth: int, answer: int | None = None) -> None:
        """Let the recipients of ``mail`` respond to it, as their habits say.

        ``answer`` is which of the topic's replies ``mail`` carries, so that the
        opener's closing line fits it.
        """
        if depth >= 2 or mail.id in self.tl.silenced:
            return
        responses = 0
        for party in mail.to + mail.cc:
            if party == mail.sender or responses >= 2:
                continue
            outcome = self._decide(party, mail, depth)
            if outcome is None:
                continue
            action, at = outcome
            if action == "delegate":
                self._delegate(thread, party, mail, at)
            elif depth == 0 and thread.topic.replies:
                picked = self.rng.randrange(len(thread.topic.replies))
                self.reply(thread, party, mail, at, thread.topic.replies[picked], depth, picked)
            elif depth > 0 and thread.topic.closer(answer):
                self.reply(thread, party, mail, at, thread.topic.closer(answer), depth)
            else:
                continue
            responses += 1

    def _decide(self, party: str, mail: Mail, depth: int) -> tuple[str, datetime] | None:
        company = self.tl.company
        if not company.is_internal(party):
            return self._outside_decision(party, mail, depth)
        habits = self.tl.habits[party]
        if mail.category in habits.ignores:
            return None
        if party not in mail.to and self.rng.random() >= habits.replies_when_cc:
            return None
        if mail.category == "fyi" and self.rng.random() >= 0.15:
            return None
        action = "reply"
        if depth == 0 and habits.delegates.get(mail.category, mail.sender) != mail.sender:
            action = "delegate"
        rule = habits.replies[sender_class(company, habits, mail.sender)]
        if action == "reply" and self.rng.random() >= rule.probability:
            return None
        latency = self.rng.randint(rule.min_minutes, max(rule.min_minutes, rule.max_minutes))
        at = add_work_minutes(mail.at, latency, habits.start_hour, habits.end_hour)
        return (action, at) if at < self.tl.clock.end else None

    def _outside_decision(self, party: str, mail: Mail, depth: int) -> tuple[str, datetime] | None:
        role = self.tl.company.outsider(party).role
        chance = {"board": 0.8, "customer": 0.75}.get(role, 0.5) * (1.0 if depth == 0 else 0.5)
        if self.rng.random() >= chance:
            return None
        latency = self.rng.randint(40, 900)
        at = add_work_minutes(mail.at, latency, *_OUTSIDE_HOURS)
        return ("reply", at) if at < self.tl.clock.end else None

    def reply(
        self,
        thread: Thread,
        party: str,
        mail: Mail,
        at: datetime,
        line: str,
        depth: int,
        answer: int | None = None,
    ) -> Mail:
        """Send ``party``'s answer ``line`` to ``mail`` at ``at``, then let the thread go on."""
        to = (mail.sender,)
        cc = (
            ()
            if party not in mail.to
            else tuple(p for p in mail.recipients if p not in (party, mail.sender))
        )
        text = line.format_map(thread.slots)
        body = compose(self.tl.company, self.tl.habits, party, to, text)
        category = (
            thread.topic.category if thread.topic.category in _KEEP_CATEGORY else "conversation"
        )
        reply = self.tl.add(
            Mail(
                id=self.tl.message_id(at, party),
                sender=party,
                to=to,
                cc=cc,
                subject=reply_subject(mail.subject),
                body=body + "\n\n" + quote(self.tl.company, mail),
                at=at,
                category=category,
                project=thread.project,
                in_reply_to=mail.id,
                references=(*mail.references, mail.id),
            )
        )
        self.tl.mark(party, mail.id, "R")
        self.follow(thread, reply, depth + 1, answer)
        return reply

    def _delegate(self, thread: Thread, party: str, mail: Mail, at: datetime) -> None:
        company, habits = self.tl.company, self.tl.habits[party]
        delegate = habits.delegates[mail.category]
        body = compose(company, self.tl.habits, party, (delegate,), habits.delegate_line)
        forward = self.tl.add(
            Mail(
                id=self.tl.message_id(at, party),
                sender=party,
                to=(delegate,),
                cc=(),
                subject=reply_subject(mail.subject, "Fwd"),
                body=body + "\n\n" + forward_block(company, mail),
                at=at,
                category="forward",
                project=thread.project,
                in_reply_to=mail.id,
                references=(*mail.references, mail.id),
                attachments=mail.attachments,
            )
        )
        self.tl.mark(party, mail.id, "P")
        self._take_over(thread, delegate, party, mail, forward)

    def _take_over(
        self, thread: Thread, delegate: str, boss: str, mail: Mail, forward: Mail
    ) -> None:
        """Have the delegate answer the original sender, copying whoever delegated."""
        habits = self.tl.habits[delegate]
        rule = habits.replies["manager"]
        latency = self.rng.randint(rule.min_minutes, rule.max_minutes)
        at = add_work_minutes(forward.at, latency, habits.start_hour, habits.end_hour)
        if at >= self.tl.clock.end or not thread.topic.replies:
            return
        picked = self.rng.randrange(len(thread.topic.replies))
        text = thread.topic.replies[picked].format_map(thread.slots)
        body = compose(self.tl.company, self.tl.habits, delegate, (mail.sender,), text)
        reply = self.tl.add(
            Mail(
                id=self.tl.message_id(at, delegate),
                sender=delegate,
                to=(mail.sender,),
                cc=(boss,),
                subject=reply_subject(mail.subject),
                body=body + "\n\n" + quote(self.tl.company, mail),
                at=at,
                category="conversation",
                project=thread.project,
                in_reply_to=mail.id,
                references=(*mail.references, mail.id),
            )
        )
        self.tl.mark(delegate, forward.id, "R")
        self.follow(thread, reply, 1, picked)
