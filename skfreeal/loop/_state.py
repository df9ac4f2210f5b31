"""The loop's state: the current label of every training text and how it got there."""

from dataclasses import dataclass, field

import numpy as np

__all__ = ["LabelState"]


@dataclass
class LabelState:
    """The current label of every training text and how it got there.

    Attributes
    ----------
    ids : ndarray of int64
        Label id per text, -1 where unknown.
    n_classes : int
    proba : ndarray of shape (n_texts, n_classes)
        The label distribution behind each label (one-hot for a given label
        or a labeler that gives none, NaN where unknown).
    confidence : ndarray of float64
        The LLM's confidence in the label (1 for given labels, NaN unknown).
    round : ndarray of int64
        Round that set the label (-1: given, or never set).
    n_annotations : ndarray of int64
        LLM annotations made per text.
    fixed : ndarray of bool
        Labels given by the user: never sent to the LLM, never changed.
    """

    ids: np.ndarray
    n_classes: int
    proba: np.ndarray = field(init=False)
    confidence: np.ndarray = field(init=False)
    round: np.ndarray = field(init=False)
    n_annotations: np.ndarray = field(init=False)
    fixed: np.ndarray = field(init=False)

    def __post_init__(self):
        self.ids = np.asarray(self.ids, dtype=np.int64).copy()
        self.fixed = self.ids >= 0
        self.proba = np.full((self.ids.size, self.n_classes), np.nan)
        self.proba[self.fixed] = np.eye(self.n_classes)[self.ids[self.fixed]]
        self.confidence = np.where(self.fixed, 1.0, np.nan)
        self.round = np.full(self.ids.size, -1, dtype=np.int64)
        self.n_annotations = np.zeros(self.ids.size, dtype=np.int64)

    def update(self, answers, round_):
        """Take the LLM's answers (:class:`~skfreeal.loop.Answers`).

        An abstention (-1) keeps the previous label: an earlier answer is
        better than none.

        Returns
        -------
        changed : ndarray of bool, shape (n_texts,)
            Texts whose label the answers changed.
        n_abstain : int
        """
        idx, proba = answers.idx, answers.proba
        new_ids = np.asarray(answers.ids, dtype=np.int64)
        confidence = np.asarray(answers.confidence, dtype=np.float64)
        self.n_annotations[idx] += 1
        answered = new_ids >= 0
        upd = idx[answered]
        changed = np.zeros(self.ids.size, dtype=bool)
        changed[upd] = self.ids[upd] != new_ids[answered]
        self.ids[upd] = new_ids[answered]
        self.confidence[upd] = confidence[answered]
        self.proba[upd] = (np.eye(self.n_classes)[new_ids[answered]] if proba is None
                           else np.asarray(proba, dtype=np.float64)[answered])
        self.round[upd] = round_
        return changed, int((~answered).sum())

    def leaves_one_class(self, answers):
        """Whether taking ``answers`` would leave the labels with fewer than two classes."""
        ids = self.ids.copy()
        new_ids = np.asarray(answers.ids, dtype=np.int64)
        ids[answers.idx[new_ids >= 0]] = new_ids[new_ids >= 0]
        return np.unique(ids[ids >= 0]).size < 2

    def noisy_within_budget(self, clean_mask, max_annotations):
        """Annotated texts judged noisy that may be asked once more."""
        annotated = self.n_annotations > 0
        return annotated & ~clean_mask & ~self.fixed & (self.n_annotations < max_annotations)

    def never_annotated(self):
        """Texts the LLM has not been asked about (and without a given label)."""
        return (self.n_annotations == 0) & ~self.fixed
