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

    Attributes
    ----------
    exclusive : bool
        True when a text carries exactly one label, so that a row of
        probabilities is one distribution over the labels (calibration
        divides a tilt out of it, a model's probabilities are a softmax);
        False when each label has its own probability (a set of labels).
    """

    exclusive = True

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

    @abstractmethod
    def asarray(self, labels):
        """The label array of texts whose labels come one a text in a sequence.

        Parameters
        ----------
        labels : sequence
            One label of this space per text (e.g. gathered in a list).

        Returns
        -------
        labels : ndarray
            This space's label array, one entry per text (also for none).
        """

    @abstractmethod
    def fuse(self, llm_proba, judge_proba, rule):
        """Combine the LLM's and the judge's label distributions of the same texts.

        Parameters
        ----------
        llm_proba, judge_proba : array-like of shape (n_texts, n_labels)
            The two distributions (rows of NaN in ``llm_proba``: no answer).
        rule : {"llm", "product"}
            How (see :func:`~skfreeal.calibration.fuse_distributions`).

        Returns
        -------
        fused : ndarray of shape (n_texts, n_labels)
        """

    @abstractmethod
    def answer_instruction(self):
        """The line of the LLM's system prompt that says what an answer is.

        Returns
        -------
        instruction : str
        """

    @abstractmethod
    def format_answer(self, label):
        """The LLM's answer that gives one text's ``label`` (a demonstration's answer turn).

        Parameters
        ----------
        label : label of this space
            One text's label (known).

        Returns
        -------
        answer : str
        """

    @abstractmethod
    def parse_answer(self, answer):
        """Read one text's label from what the LLM answered.

        Parameters
        ----------
        answer : str or None
            The LLM's answer (structured or free text).

        Returns
        -------
        label : label of this space
            Unknown when the answer gives no label of this space.
        span : tuple of (int, int) or None
            Where in ``answer`` the label is written (its token
            probabilities spread the label's distribution), None when
            nowhere or unknown.
        """

    @abstractmethod
    def check_label(self, label, *, where):
        """One text's label as a user gives it (a demonstration's), as this space's label.

        Parameters
        ----------
        label : object
            The label given (e.g. a name or an id).
        where : str
            What holds it, named in the error (``"demos[3]"``).

        Returns
        -------
        label : label of this space

        Raises
        ------
        TypeError, ValueError
            Naming ``where``, the label and the label names.
        """

    @abstractmethod
    def longest_answer(self):
        """The longest answer :meth:`format_answer` can write (the answer's token budget).

        Returns
        -------
        answer : str
        """

    def keep(self, labels, mask):
        """The labels of the texts in ``mask``, unknown for the others.

        Parameters
        ----------
        labels : array-like
            This space's labels.
        mask : array-like of bool, shape (n_texts,)

        Returns
        -------
        labels : ndarray
        """
        labels, mask = self.asarray(labels), np.asarray(mask, dtype=bool)
        out = self.unknown(len(mask))
        out[mask] = labels[mask]
        return out

    def majority_share(self, labels):
        """Share of the known texts whose label is the most frequent one (0: none known).

        What always answering that label would agree with; for label sets,
        the most frequent set.

        Parameters
        ----------
        labels : array-like
            This space's labels.

        Returns
        -------
        share : float
        """
        labels = self.asarray(labels)
        known = labels[self.is_known(labels)]
        if len(known) == 0:
            return 0.0
        return np.unique(known, axis=0, return_counts=True)[1].max() / len(known)

    def per_label_indices(self, labels):
        """Indices of the texts that carry each label some text carries, in label order.

        A text is in the group of every label it carries (balanced
        retrieval takes a share of each group).

        Parameters
        ----------
        labels : array-like
            This space's labels.

        Returns
        -------
        groups : list of ndarray of int64
            One array of text indices per label present (unknown texts in none).
        """
        labels = np.asarray(labels)
        return [np.flatnonzero(self.carriers(labels, label))
                for label in np.flatnonzero(self.counts(labels))]

    def n_present(self, labels):
        """How many of the label names some text carries."""
        return int(np.count_nonzero(self.counts(labels)))

    def __repr__(self):
        return f"{type(self).__name__}({self.names.tolist()!r})"

