"""What a label is, declared once: the contract every label space keeps."""

from abc import ABC, abstractmethod

import numpy as np

__all__ = ["LabelSpace"]


class LabelSpace(ABC):
    """The labels of one task: how they are stored, read, compared and shown.

    The loop never assumes "one integer per text": it asks its label space.
    A label array holds one label per text (its first axis); what a label is
    (an id, a set of ids, a sequence) is the space's business.
    :class:`SingleLabelSpace` is one of K names per text; a multi-label
    space is a set of K names per text, added beside it.

    Parameters
    ----------
    names : sequence of str
        The label names, in the order of their ids.
    """

    def __init__(self, names):
        self.names = np.asarray(names, dtype=object)

    @property
    def n_labels(self):
        """Number of label names."""
        return len(self.names)

    @abstractmethod
    def unknown(self, n):
        """Labels of ``n`` texts, every one unknown."""

    @abstractmethod
    def is_known(self, labels):
        """Boolean mask: which texts have a label."""

    @abstractmethod
    def encode(self, y, n_samples, *, name="y"):
        """The user's labels (names or ids, a marker for none) as this space's labels."""

    @abstractmethod
    def decode(self, labels):
        """Labels as the user reads them (``transduction_``): names, None where unknown."""

    @abstractmethod
    def one_hot(self, labels):
        """A probability row per known label (its distribution when it is certain)."""

    @abstractmethod
    def from_proba(self, proba):
        """``(labels, confidence)`` from label distributions (rows of NaN: unknown)."""

    @abstractmethod
    def agree(self, a, b):
        """Boolean mask: texts whose labels are the same in ``a`` and ``b``."""

    @abstractmethod
    def carriers(self, labels, label):
        """Boolean mask: the texts whose label is, or includes, the label id ``label``."""

    @abstractmethod
    def counts(self, labels):
        """Texts that carry each label (unknown ones excluded), shape ``(n_labels,)``."""

    @abstractmethod
    def losses(self, proba, labels):
        """Per-text loss of a model's probabilities against known ``labels`` (``-log p``)."""

    @abstractmethod
    def recall(self, pred, labels):
        """Per label present in ``labels``: the share of its texts ``pred`` also gives it."""

    @abstractmethod
    def score(self, pred, gold):
        """Agreement of ``pred`` (labels) with ``gold`` (label names as the user gives them)."""

    def n_present(self, labels):
        """How many of the label names some text carries."""
        return int(np.count_nonzero(self.counts(labels)))

    def __repr__(self):
        return f"{type(self).__name__}({self.names.tolist()!r})"
