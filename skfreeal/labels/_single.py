"""One of K labels per text: an int64 id, -1 where unknown."""

import numpy as np

from .._validation import check_partial_labels
from ._base import LabelSpace

__all__ = ["SingleLabelSpace"]


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
        proba = np.asarray(proba, dtype=np.float64)
        known = np.all(np.isfinite(proba), axis=1)
        labels = self.unknown(proba.shape[0])
        confidence = np.zeros(proba.shape[0])
        if known.any():
            labels[known] = proba[known].argmax(axis=1)
            confidence[known] = proba[known].max(axis=1)
        return labels, confidence

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
