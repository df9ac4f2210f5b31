"""Book-keeping of FreeAL's rounds: the labels of the texts, and one record per round."""

import time
from dataclasses import dataclass, field

import numpy as np

__all__ = ["LabelState", "RoundRecorder", "labeler_usage"]

_USAGE_KEYS = ("calls", "prompt_tokens", "completion_tokens", "cache_hits", "cost", "failed")


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
        """Take the LLM's answers (:class:`~skfreeal._steps.Answers`).

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


def labeler_usage(labeler):
    """The labeler's cumulated usage as a dict (zeros when it keeps none)."""
    usage = getattr(labeler, "usage_", None)
    if usage is None:
        return dict.fromkeys(_USAGE_KEYS, 0)
    if hasattr(usage, "as_dict"):
        usage = usage.as_dict()
    return {k: usage.get(k, 0) for k in _USAGE_KEYS}


class RoundRecorder:
    """Times each round's LLM and student phases and writes its ``history_`` record.

    Parameters
    ----------
    labeler : labeler
        Whose ``usage_`` is diffed per round.
    """

    def __init__(self, labeler):
        self.labeler = labeler
        self.history = []
        self.round_labels = []
        self.round_clean_masks = []
        self._first = labeler_usage(labeler)
        self.start()

    def start(self):
        """Mark the start of a round (its pool and LLM phase)."""
        self._t0 = self._t_llm = time.perf_counter()
        self._usage0 = labeler_usage(self.labeler)

    def llm_done(self):
        """Mark the end of the LLM phase (the student phase follows)."""
        self._t_llm = time.perf_counter()

    def record(self, *, round_, annotated, n_abstain, changed, labels, view):
        """Write the record of the round that just ended.

        Parameters
        ----------
        round_ : int
        annotated : ndarray of bool
            Texts the LLM annotated this round.
        n_abstain : int
        changed : ndarray of bool
            Texts whose label changed.
        labels : ndarray of int64
            Every text's label after the round.
        view : StudentView
            The student's view after the round.
        """
        end = time.perf_counter()
        usage = labeler_usage(self.labeler)
        labelled = labels >= 0
        entry = {
            "round": int(round_),
            "n_annotated": int(np.sum(annotated)),
            "n_abstain": int(n_abstain),
            "n_changed": int(np.sum(changed)),
            "n_labelled": int(labelled.sum()),
            "clean_fraction": float(view.clean_mask[labelled].mean()) if labelled.any() else 0.0,
            "llm_slm_agreement": (
                float((view.pred[labelled] == labels[labelled]).mean()) if labelled.any() else 0.0
            ),
        }
        entry.update({k: usage[k] - self._usage0[k] for k in _USAGE_KEYS})
        entry["llm_seconds"] = round(self._t_llm - self._t0, 3)
        entry["slm_seconds"] = round(end - self._t_llm, 3)
        entry["seconds"] = round(end - self._t0, 3)
        if view.eval_accuracy is not None:
            entry["eval_accuracy"] = view.eval_accuracy
        self.history.append(entry)
        self.round_labels.append(labels.copy())
        self.round_clean_masks.append(view.clean_mask.copy())
        return entry

    def total(self):
        """The labeler's usage since this recorder was created."""
        usage = labeler_usage(self.labeler)
        return {k: usage[k] - self._first[k] for k in _USAGE_KEYS}
