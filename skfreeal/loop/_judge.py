"""Train a model of the loop (a round's judge, or the final student) and read its view of the texts."""

from dataclasses import dataclass

import numpy as np
from sklearn.base import clone

from .._console import quiet_transformers
from ..base import RobustStudentMixin

# How much more often than a constant answer a collapsed student may agree with its labels.
NEAR_CONSTANT = 0.05

__all__ = ["NEAR_CONSTANT", "JudgeView", "full_proba", "learned_nothing", "model_embeddings",
           "model_proba", "per_label_proba", "train_and_view"]


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
    pred : ndarray
        Its label of each training text (the label space's labels).
    eval_accuracy : float or None
        Accuracy on the monitoring ``eval_set``, when there is one.
    """

    proba: np.ndarray
    losses: np.ndarray
    clean_mask: np.ndarray
    pred: np.ndarray
    eval_accuracy: float = None


def full_proba(student, proba, n_classes):
    """The student's probabilities laid out over all classes (some may be unseen)."""
    proba = np.asarray(proba, dtype=np.float64)
    full = np.zeros((proba.shape[0], n_classes))
    full[:, np.asarray(student.classes_).astype(np.int64)] = proba
    return full


def per_label_proba(model, proba, n_labels):
    """A multi-label model's probability of each label, shape ``(n_samples, n_labels)``.

    ``proba`` is an ``(n_samples, n_labels)`` array (one-vs-rest) or, as a
    :class:`~sklearn.multioutput.MultiOutputClassifier` gives it, one
    ``(n_samples, n_classes)`` array per label, whose column of class 1 is
    the label's (0 when the label was never seen carried).
    """
    if not isinstance(proba, list):
        return np.asarray(proba, dtype=np.float64).reshape(-1, n_labels)
    classes = getattr(model, "classes_", None)
    classes = [[0, 1]] * n_labels if classes is None else classes
    columns = []
    for p, seen in zip(proba, classes):
        one = np.flatnonzero(np.asarray(seen) == 1)
        p = np.asarray(p, dtype=np.float64)
        columns.append(p[:, one[0]] if one.size else np.zeros(len(p)))
    return np.column_stack(columns)


def model_proba(model, inputs, space):
    """A fitted model's probabilities of ``inputs`` as rows of ``space`` (every label a column)."""
    proba = model.predict_proba(inputs)
    if space.exclusive:
        return full_proba(model, proba, space.n_labels)
    return per_label_proba(model, proba, space.n_labels)


def _check_two_classes(y, space):
    counts = space.counts(y)
    if np.count_nonzero(counts) >= 2:
        return
    seen = {str(name): int(c) for name, c in zip(space.names, counts) if c}
    what = seen if seen else "every answer was an abstention"
    unknown = int(np.sum(~space.is_known(y)))
    raise ValueError(
        f"The LLM's labels hold fewer than two classes ({what}; {unknown} unknown "
        f"of {y.size}), so the student cannot learn to tell labels apart. Give more (or more "
        "varied) texts, clearer label names or label descriptions, or a stronger labeler."
    )


def learned_nothing(view, y, space):
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
    y : ndarray
        The labels it was trained on (unknown where none).
    space : LabelSpace

    Returns
    -------
    bool
    """
    known = space.is_known(y)
    if not known.any():
        return False
    pred, labels = view.pred[known], y[known]
    agreement = np.mean(space.agree(pred, labels))
    counts = space.counts(labels)
    majority = space.majority_share(labels)
    balanced = np.mean(space.recall(pred, labels))
    halfway = (1.0 / np.count_nonzero(counts) + 1.0) / 2.0
    return bool(agreement <= majority + NEAR_CONSTANT and balanced <= halfway)


def train_and_view(student, texts, y, *, space, noise_filter, eval_set=None):
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
    y : ndarray of shape (n_samples,)
        The labels (the label space's, unknown where none).
    space : LabelSpace
        What a label is (and the label names, for messages and the eval set).
    noise_filter : noise filter
        Used for a plain student (a robust one has its own).
    eval_set : tuple (texts, label names) or None
        Scored after training, for ``history_`` only.

    Returns
    -------
    view : JudgeView
    """
    _check_two_classes(y, space)
    known = np.flatnonzero(space.is_known(y))
    robust = isinstance(student, RobustStudentMixin)
    with quiet_transformers():  # no "Loading weights" bar each round
        if robust:
            student.fit(texts, y)
        else:
            student.fit([texts[i] for i in known], y[known])
    proba = model_proba(student, texts, space)
    losses = np.full(len(texts), np.nan)
    clean = np.zeros(len(texts), dtype=bool)
    if robust:
        losses[known] = np.asarray(student.sample_losses_, dtype=np.float64)[known]
        clean[known] = np.asarray(student.clean_mask_, dtype=bool)[known]
    else:
        losses[known] = space.losses(proba[known], y[known])
        clean[known] = clone(noise_filter).fit(losses[known], y[known]).predict(losses[known])
    accuracy = None
    if eval_set is not None:
        eval_texts, eval_y = eval_set
        eval_proba = model_proba(student, eval_texts, space)
        accuracy = space.score(space.from_proba(eval_proba)[0], eval_y)
    return JudgeView(proba=proba, losses=losses, clean_mask=clean,
                     pred=space.from_proba(proba)[0], eval_accuracy=accuracy)


def model_embeddings(student, texts, fallback):
    """A robust student's own embeddings of ``texts``, else ``fallback``."""
    if isinstance(student, RobustStudentMixin):
        return student.embed(texts)
    return fallback
