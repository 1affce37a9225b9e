"""A person's twin end to end: trained from the store, saved, loaded, asked, and corrected."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.twin.mailboxes import ANN, add_directory, arrive, ingest, item_titled, new_mail
from understudy.errors import InputError, NotFound
from understudy.records import Person
from understudy.store import Store
from understudy.twin.dataset import LATENCY_BUCKETS
from understudy.twin.feedback import apply_feedback
from understudy.twin.model import PersonTwin, load_twin, save_twin, train_twin
from understudy.twin.predict import predict_item


def test_a_saved_twin_loads_with_the_same_answers(ann: Store, twin: PersonTwin) -> None:
    assert save_twin(ann, twin) == 1
    loaded = load_twin(ann, "ann")
    assert loaded.thresholds == twin.thresholds
    assert loaded.filing.folders == twin.filing.folders
    for title in ("Budget Line 35", "Weekly Digest no. 35", "Invoice #1034"):
        item = item_titled(ann, title)
        assert predict_item(ann, loaded, item).as_dict() == predict_item(ann, twin, item).as_dict()
    assert save_twin(ann, loaded) == 2


def test_a_short_history_proves_too_little_to_act_alone(ann: Store, twin: PersonTwin) -> None:
    assert twin.thresholds == {"reply": None, "ignore": None, "file": None}
    prediction = predict_item(ann, twin, item_titled(ann, "Weekly Digest no. 35"))
    assert prediction.autonomous == {"reply": False, "ignore": False, "file": False}


def test_half_a_year_of_habit_lets_the_twin_ignore_the_newsletter_alone(
    store: Store, long_habits_maildir: Path, tmp_path: Path
) -> None:
    add_directory(store)
    root = Path(shutil.copytree(long_habits_maildir, tmp_path / "ann"))
    ingest(store, root)
    twin = train_twin(store, "ann")
    assert twin.thresholds["ignore"] is not None
    mail = new_mail(300)
    boss, news = arrive(store, root, [mail["boss"], mail["news"]])
    assert predict_item(store, twin, news).autonomous["ignore"]
    assert not any(predict_item(store, twin, boss).autonomous.values())


def test_a_prediction_for_new_mail_explains_itself_and_drafts_in_anns_words(
    ann: Store, ann_root: Path, twin: PersonTwin
) -> None:
    (item,) = arrive(ann, ann_root, [new_mail()["newcomer"]])
    prediction = predict_item(ann, twin, item)
    assert set(prediction.distribution) == {"reply", "forward", "delegate", "ignore"}
    assert sum(prediction.distribution.values()) == pytest.approx(1.0)
    assert 0.0 <= prediction.p_reply <= 1.0
    assert prediction.distribution["reply"] == pytest.approx(prediction.p_reply)
    assert prediction.latency in LATENCY_BUCKETS
    assert prediction.confidence == max(prediction.distribution.values())
    assert any("dana@co.example" in line for line in prediction.explanation)
    assert prediction.neighbours
    assert item.id not in {n["item"] for n in prediction.neighbours}
    # Dana is new: the draft is Ann's nearest past reply, greeted and signed her way.
    assert prediction.draft.startswith("Hi Dana,\n\n")
    assert prediction.draft.endswith("\n\nBest,\nAnn")
    assert prediction.draft.count("Best,") == 1


def test_a_known_message_is_never_its_own_neighbour(ann: Store, twin: PersonTwin) -> None:
    item = item_titled(ann, "Budget Line 35")
    prediction = predict_item(ann, twin, item)
    assert prediction.neighbours
    assert item.id not in {n["item"] for n in prediction.neighbours}
    assert any(
        "you replied to" in line and "bo@co.example" in line for line in prediction.explanation
    )


def test_a_correction_is_stored_and_learned_without_retraining(
    ann: Store, ann_root: Path, twin: PersonTwin
) -> None:
    save_twin(ann, twin)
    (item,) = arrive(ann, ann_root, [new_mail()["boss"]])
    before = predict_item(ann, twin, item).p_reply

    decision = apply_feedback(ann, load_twin(ann, "ann"), item, "ignore")

    assert (decision.origin, decision.action, decision.item_id) == ("correction", "ignore", item.id)
    stored = [d for d in ann.list_decisions(person="ann") if d.origin == "correction"]
    assert [(d.item_id, d.action) for d in stored] == [(item.id, "ignore")]
    corrected = load_twin(ann, "ann")
    assert corrected.corrections == 1
    assert corrected.trained_at == twin.trained_at  # learned online, not retrained
    assert predict_item(ann, corrected, item).p_reply < before


def test_a_filing_correction_moves_the_folder(ann: Store, ann_root: Path, twin: PersonTwin) -> None:
    (item,) = arrive(ann, ann_root, [new_mail()["project"]])
    before = predict_item(ann, twin, item).folders.get("Receipts", 0.0)
    apply_feedback(ann, twin, item, "file", target="Receipts")
    after = predict_item(ann, load_twin(ann, "ann"), item).folders.get("Receipts", 0.0)
    assert after > before


def test_a_reply_written_in_a_correction_becomes_a_draft_source(
    ann: Store, ann_root: Path, twin: PersonTwin
) -> None:
    (item,) = arrive(ann, ann_root, [new_mail()["newcomer"]])
    reply = "Hi Dana,\n\nThe hiring plan numbers are final.\n\nBest,\nAnn"
    apply_feedback(ann, twin, item, "reply", text=reply)
    (later,) = arrive(ann, ann_root, [new_mail(45)["newcomer"]])
    draft = predict_item(ann, load_twin(ann, "ann"), later).draft
    assert draft == reply


@pytest.mark.parametrize(
    ("action", "target", "message"),
    [
        ("archive", None, "--action 'archive': use one of reply, ignore"),
        ("file", None, "--action file needs --target FOLDER"),
    ],
)
def test_a_bad_correction_says_what_to_write(
    ann: Store, twin: PersonTwin, action: str, target: str | None, message: str
) -> None:
    item = item_titled(ann, "Budget Line 35")
    with pytest.raises(InputError, match=message.replace("(", r"\(")) as error:
        apply_feedback(ann, twin, item, action, target=target)
    assert "\n" not in str(error.value)
    assert not [d for d in ann.list_decisions(person="ann") if d.origin == "correction"]


def test_errors_say_what_to_do_next(ann: Store) -> None:
    with pytest.raises(NotFound, match="no person 'nobody'; run 'understudy people'"):
        train_twin(ann, "nobody")
    with pytest.raises(NotFound, match="run 'understudy twin train --for ann'"):
        load_twin(ann, "ann")
    ann.upsert_person(Person(id="new", name="New Hire", emails=("new@co.example",)))
    with pytest.raises(NotFound, match=r"no received mail for 'new'.*--owner new"):
        train_twin(ann, "new")
    assert ANN  # Ann herself trains fine
    assert train_twin(ann, "ann").person == "ann"
