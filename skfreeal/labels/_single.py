"""One of K labels per text: an int64 id, -1 where unknown."""

from numbers import Integral

import numpy as np

from .._validation import check_partial_labels
from ..calibration import fuse_distributions, most_probable
from ._base import LabelSpace

__all__ = ["SingleLabelSpace", "as_label_space"]


class SingleLabelSpace(LabelSpace):
    """One label name per text, stored as its id (-1: unknown).

    Examples
    --------
    >>> space = SingleLabelSpace(["negative", "positive"])
    >>> labels = space.encode(["positive", None, 0], 3)
    >>> labels.tolist(), space.decode(labels).tolist()
    ([1, -1, 0], ['positive', None, 'negative'])
    >>> space.from_proba([[0.3, 0.7], [float("nan")] * 2])[0].tolist()
    [1, -1]
    """

    UNKNOWN = -1

    def unknown(self, n):
        return np.full(n, self.UNKNOWN, dtype=np.int64)

    def is_known(self, labels):
        return np.asarray(labels) >= 0

    def encode(self, y, n_samples, *, name="y"):
        return check_partial_labels(y, n_samples, classes=list(self.names), name=name)[1]

    def decode(self, labels):
        labels = np.asarray(labels)
        return np.array([self.names[c] if c >= 0 else None for c in labels], dtype=object)

    def one_hot(self, labels):
        return np.eye(self.n_labels)[np.asarray(labels, dtype=np.int64)]

    def from_proba(self, proba):
        return most_probable(proba)

    def agree(self, a, b):
        return np.asarray(a) == np.asarray(b)

    def losses(self, proba, labels):
        picked = np.asarray(proba)[np.arange(len(labels)), np.asarray(labels, dtype=np.int64)]
        return -np.log(np.clip(picked, 1e-12, None))

    def recall(self, pred, labels):
        pred, labels = np.asarray(pred), np.asarray(labels)
        return np.array([np.mean(pred[labels == c] == c) for c in np.unique(labels)])

    def score(self, pred, gold):
        """Accuracy: the share of texts whose label name is the gold one."""
        return float(np.mean(self.decode(pred) == np.asarray(gold, dtype=object)))

    def carriers(self, labels, label):
        return np.asarray(labels) == label

    def counts(self, labels):
        labels = np.asarray(labels, dtype=np.int64)
        return np.bincount(labels[labels >= 0], minlength=self.n_labels)

    def asarray(self, labels):
        return np.asarray(labels, dtype=np.int64)

    def fuse(self, llm_proba, judge_proba, rule):
        return fuse_distributions(llm_proba, judge_proba, rule)

    def answer_instruction(self):
        return "Answer with exactly one label and nothing else."

    def longest_answer(self):
        """The longest label name (in UTF-8 bytes)."""
        return max(self.names.tolist(), key=lambda name: len(name.encode("utf-8")))

    def format_answer(self, label):
        """The label's name."""
        return self.names[label]

    def parse_answer(self, answer):
        """A structured ``{"label": name}``, else the one label a free text names (-1: none).

        See :func:`~skfreeal.labelers.parse_label` for the free text.
        """
        # Imported here: the labelers import this package at module level.
        from ..labelers._parsing import parse_label, parse_structured_label

        names = self.names.tolist()
        label, span = parse_structured_label(answer, names)
        if label < 0:
            label, span = parse_label(answer, names)
        return label, span

    def check_label(self, label, *, where):
        """A label name or id, as its id."""
        names = self.names.tolist()
        if isinstance(label, str):
            if label not in names:
                raise ValueError(f"{where} has label {label!r}, which is not in labels={names}.")
            return names.index(label)
        if isinstance(label, (bool, np.bool_)) or not isinstance(label, (Integral, np.integer)):
            raise TypeError(f"{where} label must be an int id or a label name, got {label!r}.")
        if not 0 <= int(label) < len(names):
            raise ValueError(
                f"{where} has label id {int(label)}, outside [0, {len(names)}) "
                f"for labels={names}."
            )
        return int(label)


def as_label_space(labels):
    """A label space, given one or the label names of a single-label task.

    Functions that take ``labels`` (the names) also take a
    :class:`LabelSpace` this way: a list of names is one label of them per
    text (:class:`~skfreeal.labels.SingleLabelSpace`).

    Parameters
    ----------
    labels : LabelSpace or sequence of str

    Returns
    -------
    space : LabelSpace

    Examples
    --------
    >>> as_label_space(["neg", "pos"])
    SingleLabelSpace(['neg', 'pos'])
    """
    if isinstance(labels, LabelSpace):
        return labels
    return SingleLabelSpace(labels)
