"""The models learn the habits: whom Ann answers, where she files, and a prior for newcomers."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tests.twin.mailboxes import (
    BOSS,
    DAY,
    NEWS,
    PEER,
    T0,
    Mail,
    arrive,
    ingest,
    new_mail,
    write_maildir,
)
from understudy.records import Person
from understudy.store import Store
from understudy.twin.dataset import build_rows
from understudy.twin.feedback import apply_feedback
from understudy.twin.mailbox import load_mailbox
from understudy.twin.model import PersonTwin, train_twin
from understudy.twin.predict import predict_item
from understudy.twin.reply import ReplyModel
from understudy.twin.training import load_prior, train_prior

ZED = "zed@co.example"


def test_the_boss_comes_before_the_newsletter(ann: Store, ann_root: Path, twin: PersonTwin) -> None:
    mail = new_mail()
    boss, news = arrive(ann, ann_root, [mail["boss"], mail["news"]])
    p_boss = predict_item(ann, twin, boss)
    p_news = predict_item(ann, twin, news)
    assert p_boss.p_reply > 0.6
    assert p_news.p_reply < 0.2
    assert p_boss.latency == "<=25min"
    assert max(p_news.distribution, key=p_news.distribution.__getitem__) == "ignore"


def test_mail_is_filed_where_ann_files_it(ann: Store, ann_root: Path, twin: PersonTwin) -> None:
    assert set(twin.filing.folders) == {"Receipts", "Projects"}
    mail = new_mail()
    invoice, project = arrive(ann, ann_root, [mail["invoice"], mail["project"]])
    filed = predict_item(ann, twin, invoice)
    assert (filed.folder, max(filed.folders, key=filed.folders.__getitem__)) == ("Receipts",) * 2
    assert filed.p_folder > 0.5
    assert any("in Receipts" in line for line in filed.explanation)
    assert predict_item(ann, twin, project).folder == "Projects"


def zed_mail(days: int = 36) -> list[Mail]:
    """Return the mail of Zed, who reads everything and answers nothing."""
    mails = []
    for d in range(days):
        day = T0 + d * DAY
        mails.append(
            Mail(
                BOSS,
                [ZED],
                f"Plan {d}",
                "Zed, can you check the plan?",
                day,
                message_id=f"<zb{d}@x>",
            )
        )
        mails.append(
            Mail(
                NEWS,
                [ZED, "list@letters.example"],
                f"Digest {d}",
                "News. Unsubscribe.",
                day,
                message_id=f"<zn{d}@x>",
            )
        )
        if d % 7 == 4:
            mails.append(
                Mail(ZED, [PEER], f"Weekly status {d}", "All fine.", day, ("Sent",), f"<zs{d}@x>")
            )
    return mails


def test_the_prior_carries_a_person_who_never_replies(
    ann: Store, ann_root: Path, tmp_path: Path
) -> None:
    ann.upsert_person(Person(id="zed", name="Zed Zero", emails=(ZED,), manager="bo"))
    zed_root = write_maildir(tmp_path / "zed", zed_mail())
    ingest(ann, zed_root, owner="zed")
    assert train_prior(ann, ["ann", "zed"]) is not None

    twin = train_twin(ann, "zed", prior=load_prior(ann))
    boss, news = arrive(
        ann,
        zed_root,
        [
            Mail(BOSS, [ZED], "Plan 40", "Zed, can you check the plan?", T0 + 40 * DAY),
            Mail(
                NEWS,
                [ZED, "list@letters.example"],
                "Digest 40",
                "News. Unsubscribe.",
                T0 + 40 * DAY,
            ),
        ],
    )
    assert twin.reply.positives == 0
    assert predict_item(ann, twin, boss).p_reply > predict_item(ann, twin, news).p_reply


def test_a_correction_moves_the_reply_model_toward_it(ann: Store) -> None:
    rows = build_rows(load_mailbox(ann, "ann"))
    features = np.array([row.features for row in rows])
    model = ReplyModel().fit(features, np.array([row.replied for row in rows]))
    model.calibrate(features, np.array([row.replied for row in rows]))
    news = next(row.features for row in rows if row.message.sender == NEWS)
    boss = next(row.features for row in rows if row.message.sender == BOSS)

    before = model.predict(np.array([news, boss]))
    model.update(news, replied=True)
    assert model.predict(np.array([news]))[0] > before[0]
    model.update(boss, replied=False)
    assert model.predict(np.array([boss]))[0] < before[1]


def test_one_correction_does_not_overturn_weeks_of_habit(
    ann: Store, ann_root: Path, twin: PersonTwin
) -> None:
    mail = new_mail()
    boss, news, later = arrive(ann, ann_root, [mail["boss"], mail["news"], new_mail(41)["boss"]])
    apply_feedback(ann, twin, boss, "ignore")
    assert predict_item(ann, twin, boss).p_reply < 0.6  # it learned ...
    # ... but one ignored message from the boss does not make the newsletter worth answering.
    assert predict_item(ann, twin, later).p_reply > predict_item(ann, twin, news).p_reply


def test_mail_ann_never_files_gets_no_confident_folder(
    ann: Store, ann_root: Path, twin: PersonTwin
) -> None:
    (boss,) = arrive(ann, ann_root, [new_mail()["boss"]])
    prediction = predict_item(ann, twin, boss)
    assert prediction.folder is None or prediction.p_folder < 0.5
