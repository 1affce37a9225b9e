"""Where will the person file a message? A text classifier over their own folders.

Each message becomes a bag of tokens: who sent it (address and domain), who
else got it, the subject (twice: subjects name topics) and the start of the
body. A multinomial logistic regression over TF-IDF weights learns the
person's folders; the sender alone is one of its strongest features, so it
contains the sender→folder rule and can do better where a sender's mail goes
to several folders. Its top probability is calibrated on held-out data into
``p_folder``: the chance the predicted folder is right.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.svm import LinearSVC

from understudy.twin.calibration import Calibrator
from understudy.twin.mailbox import Message

__all__ = ["FilingPropensity", "FolderModel", "folder_document"]

MIN_FOLDER_MESSAGES = 3
_WORD = re.compile(r"[a-z0-9][a-z0-9'_-]+")


def folder_document(message: Message) -> str:
    """Return the tokens the filing model reads for one message."""
    sender = message.sender or "unknown"
    domain = sender.rsplit("@", 1)[-1]
    people = [f"to:{a}" for a in message.to[:8]] + [f"cc:{a}" for a in message.cc[:8]]
    subject = " ".join(_WORD.findall(message.subject.lower()))
    body = " ".join(_WORD.findall(message.text[:2000].lower()))
    return " ".join(
        [f"from:{sender}", f"from:{sender}", f"domain:{domain}", *people, subject, subject, body]
    )


@dataclass
class FolderModel:
    """A person's filing model and its calibrated confidence.

    A linear SVM over the message's tokens picks the folder (it measured
    better than a logistic regression and than the sender→folder rule); the
    margin between the best and the second-best folder, calibrated on
    held-out mail, is the chance the pick is right.
    """

    folders: tuple[str, ...] = ()
    vectorizer: TfidfVectorizer | None = None
    model: LinearSVC | None = None
    only: str | None = None
    calibrator: Calibrator = field(default_factory=Calibrator)

    def fit(self, messages: Sequence[Message], folders: Sequence[str]) -> FolderModel:
        """Fit on filed messages and the folder each went to."""
        counts = Counter(folders)
        keep = [i for i, f in enumerate(folders) if counts[f] >= MIN_FOLDER_MESSAGES]
        self.folders = tuple(sorted({folders[i] for i in keep}))
        if len(self.folders) == 1:
            self.only = self.folders[0]
        if len(self.folders) < 2:
            return self
        self.vectorizer = TfidfVectorizer(
            token_pattern=r"[^\s]+", sublinear_tf=True, min_df=1, max_features=50_000
        )
        x = self.vectorizer.fit_transform([folder_document(messages[i]) for i in keep])
        self.model = LinearSVC(C=1.0)
        self.model.fit(x, [folders[i] for i in keep])
        return self

    def _scores(self, messages: Sequence[Message]) -> NDArray[np.float64]:
        if self.model is None or self.vectorizer is None:
            raise ValueError("no folder model")
        x = self.vectorizer.transform([folder_document(m) for m in messages])
        scores = np.asarray(self.model.decision_function(x), dtype=float)
        if scores.ndim == 1:  # two folders: one score, positive for the second
            scores = np.column_stack([-scores, scores])
        return scores

    def raw(self, messages: Sequence[Message]) -> tuple[list[str | None], NDArray[np.float64]]:
        """Return the predicted folder and an uncalibrated confidence for each message."""
        if self.model is None or self.vectorizer is None:
            confidence = 1.0 if self.only else 0.0
            return [self.only] * len(messages), np.full(len(messages), confidence)
        if not messages:
            return [], np.zeros(0)
        scores = self._scores(messages)
        order = np.argsort(-scores, axis=1)
        rows = np.arange(len(scores))
        margin = scores[rows, order[:, 0]] - scores[rows, order[:, 1]]
        labels = [str(self.model.classes_[i]) for i in order[:, 0]]
        return list(labels), 1.0 / (1.0 + np.exp(-2.0 * margin))

    def calibrate(self, messages: Sequence[Message], folders: Sequence[str]) -> None:
        """Fit the confidence calibration on held-out filed messages."""
        predicted, confidence = self.raw(messages)
        correct = np.array([p == f for p, f in zip(predicted, folders, strict=True)], dtype=bool)
        self.calibrator = Calibrator.fit(confidence, correct)

    def predict(self, messages: Sequence[Message]) -> tuple[list[str | None], NDArray[np.float64]]:
        """Return the predicted folder and the calibrated chance it is right."""
        predicted, confidence = self.raw(messages)
        if self.calibrator.method == "identity":
            return predicted, confidence
        return predicted, self.calibrator(confidence)

    def update(self, message: Message, folder: str, rate: float = 0.5) -> bool:
        """Move the model toward a corrected folder (a perceptron step); False if it is new."""
        if self.model is None or self.vectorizer is None or folder not in self.folders:
            return False
        x = self.vectorizer.transform([folder_document(message)])
        columns, values = x.indices, x.data
        classes = list(self.model.classes_)
        scores = self._scores([message])[0]
        predicted = classes[int(np.argmax(scores))]
        if predicted == folder:
            return True
        if len(classes) == 2:
            sign = 1.0 if folder == classes[1] else -1.0
            self.model.coef_[0, columns] += rate * sign * values
            self.model.intercept_[0] += rate * sign
            return True
        target, wrong = classes.index(folder), classes.index(predicted)
        self.model.coef_[target, columns] += rate * values
        self.model.coef_[wrong, columns] -= rate * values
        self.model.intercept_[target] += rate
        self.model.intercept_[wrong] -= rate
        return True

    def distribution(self, message: Message, top: int = 3) -> dict[str, float]:
        """Return the most likely folders of one message with softmax weights."""
        if self.model is None or self.vectorizer is None:
            return {self.only: 1.0} if self.only else {}
        scores = self._scores([message])[0]
        weights = np.exp(scores - scores.max())
        weights /= weights.sum()
        order = np.argsort(-weights)[:top]
        return {str(self.model.classes_[i]): float(weights[i]) for i in order}


@dataclass
class FilingPropensity:
    """Will the person file this message at all? Filed against left in the inbox."""

    vectorizer: TfidfVectorizer | None = None
    model: LogisticRegression | None = None
    base_rate: float = 0.0
    calibrator: Calibrator = field(default_factory=Calibrator)

    def fit(self, messages: Sequence[Message], filed: Sequence[bool]) -> FilingPropensity:
        """Fit on received messages and whether each was filed."""
        labels = np.asarray(filed, dtype=bool)
        self.base_rate = float((labels.sum() + 0.5) / (len(labels) + 1.0)) if len(labels) else 0.0
        if labels.sum() >= 5 and (~labels).sum() >= 5:
            self.vectorizer = TfidfVectorizer(
                token_pattern=r"[^\s]+", sublinear_tf=True, min_df=1, max_features=50_000
            )
            x = self.vectorizer.fit_transform([folder_document(m) for m in messages])
            self.model = LogisticRegression(C=5.0, max_iter=3000, class_weight="balanced")
            self.model.fit(x, labels)
        return self

    def raw(self, messages: Sequence[Message]) -> NDArray[np.float64]:
        """Return uncalibrated chances that each message gets filed."""
        if self.model is None or self.vectorizer is None or not messages:
            return np.full(len(messages), self.base_rate)
        x = self.vectorizer.transform([folder_document(m) for m in messages])
        return np.asarray(self.model.predict_proba(x)[:, 1], dtype=float)

    def calibrate(self, messages: Sequence[Message], filed: Sequence[bool]) -> None:
        """Fit the calibration on held-out received messages."""
        if messages and self.model is not None:
            self.calibrator = Calibrator.fit(self.raw(messages), np.asarray(filed, dtype=bool))

    def predict(self, messages: Sequence[Message]) -> NDArray[np.float64]:
        """Return calibrated chances that each message gets filed."""
        raw = self.raw(messages)
        return raw if self.calibrator.method == "identity" else self.calibrator(raw)
