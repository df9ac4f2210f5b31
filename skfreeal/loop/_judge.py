"""Train a model of the loop (a round's judge, or the final student) and read its view of the texts."""

from dataclasses import dataclass

import numpy as np
from sklearn.base import clone

from .._console import quiet_transformers
from ..base import RobustStudentMixin

# How much more often than a constant answer a collapsed student may agree with its labels.
NEAR_CONSTANT = 0.05

__all__ = ["NEAR_CONSTANT", "JudgeView", "full_proba", "learned_nothing", "model_embeddings",
           "train_and_view"]


@dataclass
class JudgeView:
    """What a trained model (a round's judge, or the final student) makes of the training texts.

    Attributes
    ----------
    proba : ndarray of shape (n_samples, n_classes)
        Its class probabilities of every training text (one column per label).
    losses : ndarray of shape (n_samples,)
        Its loss against each text's current label, NaN where unlabelled.
    clean_mask : ndarray of shape (n_samples,), dtype=bool
        The labelled texts judged clean.
    eval_accuracy : float or None
        Accuracy on the monitoring ``eval_set``, when there is one.
    """

    proba: np.ndarray
    losses: np.ndarray
    clean_mask: np.ndarray
    eval_accuracy: float = None

    @property
    def pred(self):
        """The model's label of each training text."""
        return self.proba.argmax(axis=1)


def full_proba(student, proba, n_classes):
    """The student's probabilities laid out over all classes (some may be unseen)."""
    proba = np.asarray(proba, dtype=np.float64)
    full = np.zeros((proba.shape[0], n_classes))
    full[:, np.asarray(student.classes_).astype(np.int64)] = proba
    return full


def _check_two_classes(y, classes):
    seen = np.unique(y[y >= 0])
    if seen.size >= 2:
        return
    counts = {str(classes[c]): int(np.sum(y == c)) for c in seen}
    what = counts if counts else "every answer was an abstention"
    raise ValueError(
        f"The LLM's labels hold fewer than two classes ({what}; {int(np.sum(y < 0))} unknown "
        f"of {y.size}), so the student cannot learn to tell labels apart. Give more (or more "
        "varied) texts, clearer label names or label descriptions, or a stronger labeler."
    )


def learned_nothing(view, y):
    """Whether a model fits its own training labels no better than a constant does.

    Two signs together, both in-sample and with no gold label: the
    student's labels of the labelled training texts agree with those labels
    at most ``NEAR_CONSTANT`` (5 points) more often than always answering
    their most frequent label would (a student that answers one label but
    for a few texts is no better: on 200 near-balanced tweet labels one
    agreed on 0.51 of them and scored 0.50 on test), *and* its balanced
    agreement (the mean, over the labels present, of the
    share of each label's texts it gives that label) is no better than
    halfway between a constant's (``1 / k`` for ``k`` labels) and a perfect
    fit's. A run that diverged (e.g. to one class) meets both; a sound
    student of skewed, noisy labels can fall short of the majority share
    while still recovering every label, and is spared by the second sign.

    Parameters
    ----------
    view : JudgeView
    y : ndarray of shape (n_samples,), dtype=int64
        The labels it was trained on, -1 where unknown.

    Returns
    -------
    bool
    """
    known = y >= 0
    if not known.any():
        return False
    pred, labels = view.pred[known], y[known]
    agreement = np.mean(pred == labels)
    majority = np.bincount(labels).max() / labels.size
    present = np.unique(labels)
    balanced = np.mean([np.mean(pred[labels == c] == c) for c in present])
    halfway = (1.0 / present.size + 1.0) / 2.0
    return bool(agreement <= majority + NEAR_CONSTANT and balanced <= halfway)


def train_and_view(student, texts, y, *, classes, noise_filter, eval_set=None):
    """Fit ``student`` (a judge or the student) on the labels ``y``; return its view of ``texts``.

    A :class:`~skfreeal.base.RobustStudentMixin` is fitted on every text
    (``-1`` for the unlabelled ones, which its consistency loss uses) and
    gives its own losses and clean split. Any other classifier is fitted on
    the labelled texts only; its losses are ``-log p(label)`` and the
    ``noise_filter`` (cloned) splits them.

    Parameters
    ----------
    student : classifier
        Fitted in place (FreeAL passes its own clone).
    texts : list of str or ndarray
        What it learns from: the texts, or (a probe judge) their embeddings.
    y : ndarray of shape (n_samples,), dtype=int64
        Label ids, -1 where unknown.
    classes : ndarray of str
        The label names (for messages and the eval set).
    noise_filter : noise filter
        Used for a plain student (a robust one has its own).
    eval_set : tuple (texts, label names) or None
        Scored after training, for ``history_`` only.

    Returns
    -------
    view : JudgeView
    """
    _check_two_classes(y, classes)
    known = np.flatnonzero(y >= 0)
    robust = isinstance(student, RobustStudentMixin)
    with quiet_transformers():  # no "Loading weights" bar each round
        if robust:
            student.fit(texts, y)
        else:
            student.fit([texts[i] for i in known], y[known])
    proba = full_proba(student, student.predict_proba(texts), len(classes))
    losses = np.full(len(texts), np.nan)
    clean = np.zeros(len(texts), dtype=bool)
    if robust:
        losses[known] = np.asarray(student.sample_losses_, dtype=np.float64)[known]
        clean[known] = np.asarray(student.clean_mask_, dtype=bool)[known]
    else:
        picked = proba[known, y[known]]
        losses[known] = -np.log(np.clip(picked, 1e-12, None))
        clean[known] = clone(noise_filter).fit(losses[known], y[known]).predict(losses[known])
    accuracy = None
    if eval_set is not None:
        eval_texts, eval_y = eval_set
        pred = full_proba(student, student.predict_proba(eval_texts), len(classes)).argmax(1)
        accuracy = float(np.mean(np.asarray(classes)[pred] == eval_y))
    return JudgeView(proba=proba, losses=losses, clean_mask=clean, eval_accuracy=accuracy)


def model_embeddings(student, texts, fallback):
    """A robust student's own embeddings of ``texts``, else ``fallback``."""
    if isinstance(student, RobustStudentMixin):
        return student.embed(texts)
    return fallback
