"""Ann writes differently to her boss, her peers, her reports and outsiders; and has a rhythm."""

from __future__ import annotations

from pathlib import Path

from tests.twin.mailboxes import (
    ANN,
    BOSS,
    CLIENT,
    DAY,
    HOUR,
    MINUTE,
    PEER,
    REPORT,
    T0,
    Habits,
    Mail,
    add_directory,
    arrive,
    ingest,
    write_maildir,
)
from understudy.records import Person
from understudy.store import Store
from understudy.twin.model import PersonTwin, train_twin
from understudy.twin.predict import predict_item

HABITS = {
    # audience: (correspondent, greeting, sign-off)
    "boss": (BOSS, "Hi {name},", "Best,\nAnn"),
    "peer": (PEER, "Hey {name}!", "Cheers,\nAnn"),
    "report": (REPORT, "{name},", "Thanks,\nA."),
    "external": (CLIENT, "Dear {name},", "Kind regards,\nAnn Lee"),
}


def style_mails() -> list[Mail]:
    """Return four weeks in which Ann answers each audience in its own way."""
    habits = Habits()
    for d in range(28):
        for n, (sender, greeting, signoff) in enumerate(HABITS.values()):
            if (d + n) % 2:
                continue
            asked = habits.add(
                Mail(
                    sender,
                    [ANN],
                    f"Question {d}-{n}",
                    "What do you think?",
                    T0 + d * DAY + n * HOUR,
                )
            )
            body = f"I think we should go ahead with plan {d}."
            if sender == CLIENT:
                body += " Our team will send the full proposal and the pricing by Friday."
            habits.reply(asked, 30 * MINUTE, body, greeting, signoff)
    return habits.mails


def test_the_style_is_learned_per_audience(store: Store, tmp_path: Path) -> None:
    add_directory(store)
    ingest(store, write_maildir(tmp_path / "ann", style_mails()))
    style = train_twin(store, "ann").style
    for audience, (_, greeting, signoff) in HABITS.items():
        habit = style.for_audience(audience)
        assert (habit.greeting, habit.signoff) == (greeting, signoff), audience
        assert habit.messages == 14
    assert style.overall.messages == 56
    # Outsiders get the longer, more careful answers.
    assert style.for_audience("external").words_median > style.for_audience("boss").words_median + 5


def test_a_draft_takes_the_habit_of_the_recipients_audience(store: Store, tmp_path: Path) -> None:
    add_directory(store)
    store.upsert_person(
        Person(id="rex", name="Rex Junior", emails=("rex@co.example",), manager="ann")
    )
    root = write_maildir(tmp_path / "ann", style_mails())
    ingest(store, root)
    twin = train_twin(store, "ann")
    when = T0 + 40 * DAY
    report, outsider = arrive(
        store,
        root,
        [
            Mail("rex@co.example", [ANN], "Question from Rex", "What do you think?", when),
            Mail(
                "Olga Outside <olga@partner.example>",
                [ANN],
                "Question from Olga",
                "What do you think?",
                when,
            ),
        ],
    )
    to_report = predict_item(store, twin, report).draft
    assert to_report.startswith("Rex,\n\n")
    assert to_report.endswith("\n\nThanks,\nA.")
    to_outsider = predict_item(store, twin, outsider).draft
    assert to_outsider.startswith("Dear Olga,\n\n")
    assert to_outsider.endswith("\n\nKind regards,\nAnn Lee")


def test_daily_patterns(ann: Store, twin: PersonTwin) -> None:
    patterns = twin.patterns
    # Ann writes between 9:00 and 15:00 on weekdays.
    assert patterns.active_hours is not None
    start, end = patterns.active_hours
    assert 9 <= start <= end <= 15
    assert sum(map(sum, patterns.activity)) == 47  # every message she sent
    # She answers her boss within 25 minutes and her peers within four hours.
    boss, peer = patterns.response["boss"], patterns.response["peer"]
    assert (boss["<=25min"], boss["replies"]) == (1.0, 36)
    assert boss["median_minutes"] <= 25
    assert (peer["<=4h"], peer["median_minutes"]) == (1.0, 180)
    # She accepts Bo's meetings and declines Cleo's.
    assert patterns.meetings["organizer"] == {"bo": {"accept": 3}, "cleo": {"decline": 2}}
    assert patterns.as_dict()["meeting_acceptance"] == patterns.meetings
