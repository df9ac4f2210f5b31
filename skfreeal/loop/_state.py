"""The loop's state: the current label of every training text and how it got there."""

import copy
from dataclasses import dataclass, field

import numpy as np

__all__ = ["LabelState"]

# What a rolled-back round gives back; n_annotations stays: its requests were made.
_LABEL_FIELDS = ("labels", "proba", "confidence", "round")


@dataclass
class LabelState:
    """The current label of every training text and how it got there.

    Every label goes through ``space`` (:class:`~skfreeal.labels.LabelSpace`):
    the state never assumes what a label is.

    Attributes
    ----------
    labels : ndarray
        The label of each text (``space``'s labels; unknown where none).
    space : LabelSpace
    proba : ndarray of shape (n_texts, n_labels)
        The label distribution behind each label (the space's one-hot row
        for a given label or a labeler that gives none, NaN where unknown).
    confidence : ndarray of float64
        The LLM's confidence in the label (1 for given labels, NaN unknown).
    round : ndarray of int64
        Round that set the label (-1: given, or never set).
    n_annotations : ndarray of int64
        LLM annotations made per text.
    fixed : ndarray of bool
        Labels given by the user: never sent to the LLM, never changed.
    """

    labels: np.ndarray
    space: object
    proba: np.ndarray = field(init=False)
    confidence: np.ndarray = field(init=False)
    round: np.ndarray = field(init=False)
    n_annotations: np.ndarray = field(init=False)
    fixed: np.ndarray = field(init=False)

    def __post_init__(self):
        self.labels = np.array(self.labels, copy=True)
        n = len(self.labels)
        self.fixed = self.space.is_known(self.labels)
        self.proba = np.full((n, self.space.n_labels), np.nan)
        self.proba[self.fixed] = self.space.one_hot(self.labels[self.fixed])
        self.confidence = np.where(self.fixed, 1.0, np.nan)
        self.round = np.full(n, -1, dtype=np.int64)
        self.n_annotations = np.zeros(n, dtype=np.int64)

    @property
    def known(self):
        """Texts with a label."""
        return self.space.is_known(self.labels)

    def update(self, answers, round_):
        """Take the LLM's answers (:class:`~skfreeal.loop._annotate.Answers`).

        An abstention (an unknown answer) keeps the previous label: an
        earlier answer is better than none.

        Returns
        -------
        changed : ndarray of bool, shape (n_texts,)
            Texts whose label the answers changed.
        n_abstain : int
        """
        idx, proba, new = answers.idx, answers.proba, np.asarray(answers.labels)
        confidence = np.asarray(answers.confidence, dtype=np.float64)
        self.n_annotations[idx] += 1
        answered = self.space.is_known(new)
        upd = idx[answered]
        changed = np.zeros(len(self.labels), dtype=bool)
        changed[upd] = ~self.space.agree(self.labels[upd], new[answered])
        self.labels[upd] = new[answered]
        self.confidence[upd] = confidence[answered]
        self.proba[upd] = (self.space.one_hot(new[answered]) if proba is None
                           else np.asarray(proba, dtype=np.float64)[answered])
        self.round[upd] = round_
        return changed, int((~answered).sum())

    def snapshot(self):
        """A copy of the labels, to :meth:`restore` should the next round be rolled back."""
        kept = copy.copy(self)
        for name in _LABEL_FIELDS:
            setattr(kept, name, getattr(self, name).copy())
        return kept

    def restore(self, snapshot):
        """Take back the labels of ``snapshot`` (:meth:`snapshot`).

        The annotation counts are left as they are: the rolled-back round's
        requests were made, and a text asked in it is not asked again
        beyond ``max_annotations``.
        """
        for name in _LABEL_FIELDS:
            setattr(self, name, getattr(snapshot, name).copy())

    def leaves_one_class(self, answers):
        """Whether taking ``answers`` would leave the texts with fewer than two labels in use."""
        labels, new = self.labels.copy(), np.asarray(answers.labels)
        answered = self.space.is_known(new)
        labels[answers.idx[answered]] = new[answered]
        return self.space.n_present(labels) < 2

    def noisy_within_budget(self, clean_mask, max_annotations):
        """Annotated texts judged noisy that may be asked once more."""
        annotated = self.n_annotations > 0
        return annotated & ~clean_mask & ~self.fixed & (self.n_annotations < max_annotations)

    def never_annotated(self):
        """Texts the LLM has not been asked about (and without a given label)."""
        return (self.n_annotations == 0) & ~self.fixed
