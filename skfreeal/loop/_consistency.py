"""A gold-free figure of how good a round's labels are: how well they predict each other.

:func:`label_consistency` is the signal that decides whether a round's new
labels are kept (``RoundPolicy(rollback_tolerance=...)``): the share of the
labelled texts whose label a probe trained on the *other* texts' labels
gives them (k-fold, out of fold). Labels that agree with each other on
similar texts are more learnable; a round whose new answers contradict the
labels of the texts around them (answers scrambled, demonstrations that
misled the LLM) lowers it.

Why out of fold, and not the judge's own agreement with its labels
(``history_[r].judge_agreement``): that one is measured on the texts the
judge was trained on, so a model that can fit anything (the fine-tuned
student agreed with 0.95 of the 0.5B LLM's tweet labels) scores high on any
labels. Why a probe on the retrieval embeddings: the probe judge is one
(its own clone is used), and with the student judging, fine-tuning k more
students would cost k rounds; a logistic regression on the embeddings
already computed costs seconds.

Limits (see :class:`~skfreeal.loop.RoundPolicy`): learnable is not right.
Labels pulled towards the previous judge (``label_fusion="product"``) are
more learnable by a probe of the same embeddings whether or not they are
more often right, so this catches rounds that make the labels less
coherent, not rounds that confirm the judge's own errors.
"""

import warnings

import numpy as np
from sklearn.base import clone

from ._judge import model_proba

__all__ = ["N_FOLDS", "consistency_probe", "label_consistency"]

# Folds of the out-of-fold figure: each probe learns from 4/5 of the texts.
N_FOLDS = 5


def consistency_probe(judge, judge_is_student, space):
    """The model whose out-of-fold agreement is measured, or None when there is none.

    The judge itself when it is a classifier of the retrieval embeddings;
    a logistic regression of them when the student judges a single-label
    task; None when the student judges a multi-label one (no signal, no
    rollback).
    """
    if not judge_is_student:
        return judge
    if not space.exclusive:
        return None
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(max_iter=1000)


def label_consistency(probe, inputs, labels, on, space):
    """Out-of-fold agreement of ``labels`` with themselves on the texts ``on``.

    The texts ``on`` are split into :data:`N_FOLDS` folds (shuffled with a
    fixed seed, so that the same texts always get the same folds and the
    fit's own random draws are untouched); a clone of ``probe`` trained on
    the other folds' labels labels each fold.

    Parameters
    ----------
    probe : classifier
        Trained on ``inputs`` (cloned for each fold).
    inputs : ndarray of shape (n_texts, dim)
        The retrieval embeddings.
    labels : ndarray
        Every text's label (``space``'s).
    on : ndarray of bool, shape (n_texts,)
        The texts measured on (all labelled).
    space : LabelSpace

    Returns
    -------
    consistency : float or None
        The share of the texts ``on`` whose out-of-fold label is their
        label; None with fewer than two such texts.
    """
    from sklearn.model_selection import KFold

    idx = np.flatnonzero(on)
    if idx.size < 2:
        return None
    folds = KFold(n_splits=min(N_FOLDS, idx.size), shuffle=True, random_state=0)
    agree = np.zeros(idx.size, dtype=bool)
    for train, test in folds.split(idx):
        fit_on, measured = idx[train], idx[test]
        agree[test] = space.agree(_fold_pred(probe, inputs, labels, fit_on, measured, space),
                                  labels[measured])
    return float(agree.mean())


def _fold_pred(probe, inputs, labels, fit_on, measured, space):
    """The labels of ``measured`` from a probe trained on ``fit_on``."""
    y = labels[fit_on]
    if space.n_present(y) < 2:  # one label to learn: a constant answer is all there is
        return np.repeat(y[:1], len(measured), axis=0)
    model = clone(probe)
    # A measurement, not the user's model: a fold's convergence or missing-label warnings
    # say nothing the user can act on.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(inputs[fit_on], y)
    return space.from_proba(model_proba(model, inputs[measured], space))[0]
