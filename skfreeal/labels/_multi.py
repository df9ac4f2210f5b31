"""A set of the K labels per text: an indicator row of {0, 1}, a row of -1 where unknown."""

import json
import re
from numbers import Integral, Real

import numpy as np

from ._base import LabelSpace

__all__ = ["MultiLabelSpace"]


class MultiLabelSpace(LabelSpace):
    """Any number of the label names per text, stored as an indicator row.

    A text's label is a row of ``n_labels`` values, 1 for each name it
    carries and 0 for the others (int8); a row of -1 is unknown. A label
    array is of shape ``(n_texts, n_labels)``, scikit-learn's multi-label
    indicator matrix with unknown rows marked. A row of probabilities gives
    one probability per label (not a distribution over the labels: the rows
    need not sum to one).

    Parameters
    ----------
    names : sequence of str
        The label names, in the order of the columns.
    threshold : float or array-like of shape (n_labels,), default=0.5
        A text carries a label whose probability is at least this (one
        threshold for every label, or one per label).
    min_labels : int, default=1
        Labels each text carries at least: a text whose probabilities pass
        fewer thresholds gets its most probable ones. 0 when the task allows
        a text none.

    Examples
    --------
    >>> space = MultiLabelSpace(["billing", "login", "refund"])
    >>> labels = space.encode([["billing", "refund"], None, ["login"]], 3)
    >>> labels.tolist()
    [[1, 0, 1], [-1, -1, -1], [0, 1, 0]]
    >>> space.decode(labels).tolist()
    [('billing', 'refund'), None, ('login',)]
    >>> space.from_proba([[0.9, 0.2, 0.6], [0.1, 0.3, 0.2]])[0].tolist()
    [[1, 0, 1], [0, 1, 0]]
    """

    UNKNOWN = -1
    exclusive = False

    def __init__(self, names, *, threshold=0.5, min_labels=1):
        super().__init__(names)
        k = self.n_labels
        threshold_ = np.asarray(threshold, dtype=np.float64)
        if threshold_.shape not in ((), (k,)) or not np.all((threshold_ > 0) & (threshold_ < 1)):
            raise ValueError(f"threshold must be a float in (0, 1) or one per label ({k}), "
                             f"got {threshold!r}.")
        if (isinstance(min_labels, (bool, np.bool_)) or not isinstance(min_labels, Integral)
                or not 0 <= min_labels <= k):
            raise ValueError(f"min_labels must be an int in [0, {k}], got {min_labels!r}.")
        self.threshold = threshold if isinstance(threshold, Real) else threshold_
        self.min_labels = int(min_labels)

    def _rows(self, labels):
        return np.asarray(labels).reshape(-1, self.n_labels)

    def unknown(self, n):
        return np.full((n, self.n_labels), self.UNKNOWN, dtype=np.int8)

    def is_known(self, labels):
        return np.all(self._rows(labels) >= 0, axis=1)

    def encode(self, y, n_samples, *, name="y"):
        """Label sets (lists of names) or indicator rows; None or a row of -1: unknown."""
        if isinstance(y, (str, bytes)) or not hasattr(y, "__len__"):
            raise TypeError(f"{name} must hold one label set per text (a list of label names "
                            f"or an indicator row), got {type(y).__name__}.")
        if len(y) != n_samples:
            raise ValueError(f"{name} has {len(y)} entries but there are {n_samples} texts; "
                             "they must match.")
        out = self.unknown(n_samples)
        for i, label in enumerate(y):
            if label is None or (isinstance(label, Integral) and label == self.UNKNOWN):
                continue
            row = self.check_label(label, where=f"{name}[{i}]", unknown_ok=True)
            out[i] = row
        return out

    def decode(self, labels):
        """Tuples of the names each text carries, None where unknown."""
        labels = self._rows(labels)
        out = np.empty(len(labels), dtype=object)
        for i, row in enumerate(labels):
            out[i] = tuple(self.names[row == 1]) if np.all(row >= 0) else None
        return out

    def one_hot(self, labels):
        """The indicator rows as per-label probabilities (1 for a label carried, else 0)."""
        return self._rows(labels).astype(np.float64)

    def from_proba(self, proba):
        """Labels passing their threshold (at least ``min_labels``), and their mean certainty.

        The confidence of a text is the mean over the labels of the
        probability of the decision taken (``p`` for a label carried,
        ``1 - p`` for one left out); 0 where unknown (a row with NaN).
        """
        proba = np.asarray(proba, dtype=np.float64).reshape(-1, self.n_labels)
        known = np.all(np.isfinite(proba), axis=1)
        labels = self.unknown(len(proba))
        confidence = np.zeros(len(proba))
        p = proba[known]
        on = p >= self.threshold
        if self.min_labels:
            top = np.argsort(-p, axis=1, kind="stable")[:, :self.min_labels]
            short = on.sum(axis=1) < self.min_labels
            on[np.flatnonzero(short)[:, None], top[short]] = True
        labels[known] = on
        confidence[known] = np.where(on, p, 1.0 - p).mean(axis=1)
        return labels, confidence

    def agree(self, a, b):
        """Texts whose label sets are equal (every label the same)."""
        return np.all(self._rows(a) == self._rows(b), axis=1)

    def carriers(self, labels, label):
        return self._rows(labels)[:, label] == 1

    def counts(self, labels):
        return np.sum(self._rows(labels) == 1, axis=0)

    def losses(self, proba, labels):
        """Mean binary cross-entropy over the labels, per text."""
        p = np.clip(np.asarray(proba, dtype=np.float64).reshape(-1, self.n_labels),
                    1e-12, 1 - 1e-12)
        y = self._rows(labels) == 1
        return -np.where(y, np.log(p), np.log1p(-p)).mean(axis=1)

    def recall(self, pred, labels):
        pred, labels = self._rows(pred), self._rows(labels)
        return np.array([np.mean(pred[labels[:, k] == 1, k] == 1)
                         for k in np.flatnonzero(self.counts(labels))])

    def score(self, pred, gold):
        """Micro-averaged F1 of the label sets ``pred`` against ``gold``.

        Micro F1 pools every (text, label) decision, so frequent labels
        weigh more and a text with no gold label still counts its false
        positives (samples F1 would be undefined for it). ``gold``: label
        sets (lists of names) or indicator rows.
        """
        pred = self._rows(pred) == 1
        gold = self.encode(gold, len(pred), name="gold") == 1
        tp = np.sum(pred & gold)
        wrong = np.sum(pred != gold)
        return 1.0 if tp + wrong == 0 else float(2 * tp / (2 * tp + wrong))

    def asarray(self, labels):
        return np.asarray(labels, dtype=np.int8).reshape(-1, self.n_labels)

    def fuse(self, llm_proba, judge_proba, rule):
        """Per label: ``"product"`` of the two yes-probabilities normalised against the two
        no-probabilities, ``"mean"`` their mean, ``"llm"`` the LLM's (never across labels)."""
        llm = np.asarray(llm_proba, dtype=np.float64)
        if rule == "llm":
            return llm.copy()
        judge = np.clip(np.asarray(judge_proba, dtype=np.float64), 1e-6, 1 - 1e-6)
        if rule == "mean":
            return (llm + judge) / 2
        if rule != "product":
            raise ValueError(f"rule must be 'llm', 'product' or 'mean', got {rule!r}.")
        yes = llm * judge
        return yes / (yes + (1.0 - llm) * (1.0 - judge))

    def answer_instruction(self):
        none = "[] when none does" if self.min_labels == 0 else "at least one"
        return f"Answer with a JSON list of every label that applies ({none}) and nothing else."

    def format_answer(self, label):
        """A JSON list of the label names carried: ``["billing", "refund"]``."""
        return json.dumps(self.names[self._rows(label)[0] == 1].tolist(), ensure_ascii=False)

    def longest_answer(self):
        """The answer that names every label."""
        return self.format_answer(np.ones(self.n_labels, dtype=np.int8))

    def parse_answer(self, answer):
        """A JSON list of names (or ``{"labels": [...]}``), else the names a free text holds.

        Names match whole words, ignoring case; a name inside a longer name
        found there is not counted again. An answer with no label name (or
        an empty list while ``min_labels`` asks for one) is unknown. The
        span is None: no single place of the answer writes a label set.
        """
        text = (answer or "").strip()
        parsed = self._parse_json(text)
        found = parsed if parsed is not None else self._names_in(text)
        # Only an explicit empty list says "none"; a free text naming no label abstains.
        if len(found) < self.min_labels or (not found and parsed is None):
            return self.unknown(1)[0], None
        row = np.zeros(self.n_labels, dtype=np.int8)
        row[sorted(found)] = 1
        return row, None

    def _parse_json(self, text):
        """Ids of the names of a JSON list in ``text`` (None: no JSON list of names)."""
        start, end = text.find("["), text.rfind("]")
        candidates = [text[start:end + 1]] if 0 <= start < end else []
        if text.startswith("{"):
            candidates.insert(0, text)
        lookup = {name.casefold(): k for k, name in enumerate(self.names.tolist())}
        for candidate in candidates:
            try:
                value = json.loads(candidate)
            except ValueError:
                continue
            if isinstance(value, dict):
                value = value.get("labels")
            if isinstance(value, list) and all(isinstance(v, str) for v in value):
                ids = {lookup.get(v.strip().casefold()) for v in value}
                if None not in ids:
                    return ids
        return None

    def _names_in(self, text):
        """Ids of the names written in a free text (longest first, whole words)."""
        order = sorted(range(self.n_labels), key=lambda k: -len(self.names[k]))
        found = set()
        for k in order:
            pattern = r"(?<!\w)" + re.escape(self.names[k]) + r"(?!\w)"
            text, n = re.subn(pattern, " ", text, flags=re.IGNORECASE)
            if n:
                found.add(k)
        return found

    def check_label(self, label, *, where, unknown_ok=False):
        """A label set (a list of names) or an indicator row, as an indicator row."""
        names = self.names.tolist()
        if isinstance(label, (str, bytes)) or not hasattr(label, "__iter__"):
            raise TypeError(f"{where} must be a label set (a list of label names) or an "
                            f"indicator row of {len(names)} values, got {label!r:.80}.")
        items = list(label)
        row = np.zeros(len(names), dtype=np.int8)
        if items and all(isinstance(v, str) for v in items):
            unknown = sorted(set(items) - set(names))
            if unknown:
                raise ValueError(f"{where} has labels {unknown}, which are not in "
                                 f"labels={names}.")
            row[[names.index(v) for v in items]] = 1
        elif items:
            values = np.asarray(items)
            if (values.shape != (len(names),) or values.dtype.kind not in "biu"
                    or not (set(values.tolist()) <= {0, 1}
                            or (unknown_ok and set(values.tolist()) == {-1}))):
                raise ValueError(f"{where} must be a list of label names or an indicator row "
                                 f"of {len(names)} values in {{0, 1}} for labels={names}, "
                                 f"got {label!r:.80}.")
            row[:] = values
        if row.min() >= 0 and row.sum() < self.min_labels:
            raise ValueError(f"{where} is an empty label set, but min_labels={self.min_labels} "
                             "gives every text a label (use MultiLabelSpace(..., min_labels=0) "
                             "to allow none).")
        return row

    def __repr__(self):
        default = np.all(np.asarray(self.threshold) == 0.5) and self.min_labels == 1
        extra = "" if default else (
            f", threshold={self.threshold!r}, min_labels={self.min_labels}")
        return f"{type(self).__name__}({self.names.tolist()!r}{extra})"
