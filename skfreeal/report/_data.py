"""The numbers of a FreeAL report, computed from a fitted classifier.

Pure NumPy: no plotting, no HTML. Reads the fitted attributes of
:class:`~skfreeal.FreeALClassifier` (``classes_``, ``label_ids_``,
``round_labels_``, ``transduction_``, ``clean_mask_``, ``history_``,
``usage_``, ``demos_``); the ``eval_accuracy`` of ``history_`` records is
used when present.
"""

import numpy as np

from ._label_sets import label_set_report_data
from ._rounds import _history_rows, _judged_rounds, _round_model

__all__ = ["UNKNOWN", "report_data", "round_labels"]

#: Shown for texts without a label (never annotated, or the LLM abstained).
UNKNOWN = "(no label)"


def round_labels(clf):
    """Label ids after each LLM round.

    Parameters
    ----------
    clf : fitted FreeALClassifier

    Returns
    -------
    rounds : list of (int, ndarray)
        ``(round, label ids)`` pairs, in round order.
    """
    return [(r, np.asarray(ids)) for r, ids in enumerate(clf.round_labels_)]


def _counts(ids, n_classes):
    ids = np.asarray(ids)
    counts = np.bincount(ids[ids >= 0], minlength=n_classes)[:n_classes]
    return [int(c) for c in counts] + [int((ids < 0).sum())]


def _gold_codes(gold, classes):
    """Gold labels as ids into ``classes``: -1 missing, -2 a name not in ``classes``."""
    lookup = {c: i for i, c in enumerate(classes)}
    codes = np.full(len(gold), -1, dtype=np.int64)
    for i, g in enumerate(gold):
        if g is None or (isinstance(g, float) and np.isnan(g)) or not str(g).strip():
            continue
        codes[i] = lookup.get(str(g).strip(), -2)
    return codes


def _accuracy(pred_ids, gold_codes):
    known = gold_codes != -1
    if not known.any():
        return None
    return float(np.mean(np.asarray(pred_ids)[known] == gold_codes[known]))


def report_data(clf, texts, *, gold=None, slm_pred=None):
    """Everything the report shows, as plain Python values.

    Parameters
    ----------
    clf : fitted FreeAL-like classifier
    texts : list of str
        The training texts, in the order ``fit`` saw them.
    gold : sequence, default=None
        Known label names per text (None where unknown), for accuracy; for a
        multi-label fit, label sets (see
        :func:`~skfreeal.report._label_sets.label_set_report_data`, which
        answers for a fit whose label space is not exclusive).
    slm_pred : sequence of str, default=None
        The final small model's predicted label names on ``texts``
        (an indicator matrix for label sets); None calls
        ``clf.predict(texts)``.

    Returns
    -------
    data : dict
        Keys ``classes``, ``n_texts``, ``distribution``, ``history``,
        ``confusion``, ``agreement``, ``clean_fraction`` (the final small
        model's), ``round_model`` (what judged the rounds, whose figures
        ``history`` holds: ``"judge"`` or ``"small model"``), ``demos``,
        ``usage``, ``accuracy`` (None without gold), ``notes``.
    """
    space = getattr(clf, "label_space_", None)  # a FreeAL-like object may not name its space
    if space is not None and not space.exclusive:
        return label_set_report_data(clf, texts, gold=gold, slm_pred=slm_pred, unknown=UNKNOWN)
    classes = [str(c) for c in clf.classes_]
    n_classes = len(classes)
    labels = np.asarray(clf.label_ids_)
    if len(labels) != len(texts):
        raise ValueError(f"texts has {len(texts)} entries but the model was fitted on {len(labels)}.")
    notes = []
    round_model = _round_model(clf)

    rounds = round_labels(clf)
    before = _counts(rounds[0][1], n_classes)
    clean = np.asarray(clf.clean_mask_, dtype=bool)
    distribution = {
        "names": classes + [UNKNOWN],
        "before": before,
        "after": _counts(labels, n_classes),
        "after_clean": _counts(np.where(clean, labels, -1), n_classes)[:-1] + [0],
    }

    if slm_pred is None:
        slm_pred = clf.predict(texts)
    lookup = {c: i for i, c in enumerate(classes)}
    slm_ids = np.array([lookup.get(str(p), -1) for p in slm_pred], dtype=np.int64)
    confusion = np.zeros((n_classes + 1, n_classes), dtype=np.int64)
    rows = np.where(labels >= 0, labels, n_classes)
    np.add.at(confusion, (rows[slm_ids >= 0], slm_ids[slm_ids >= 0]), 1)
    labelled = labels >= 0
    agreement = float(np.mean(slm_ids[labelled] == labels[labelled])) if labelled.any() else None

    accuracy = None
    if gold is not None:
        if len(gold) != len(texts):
            raise ValueError(f"gold has {len(gold)} entries but texts has {len(texts)}.")
        accuracy = _gold_accuracy(clf, _gold_codes(gold, classes), rounds, labels, slm_ids,
                                  round_model, notes)

    return {
        "classes": classes,
        "n_texts": len(texts),
        "distribution": distribution,
        "history": _history_rows(clf),
        "confusion": confusion.tolist(),
        "agreement": agreement,
        "clean_fraction": float(np.mean(clean[labelled])) if labelled.any() else None,
        "round_model": round_model,
        "demos": [(str(t), str(c)) for t, c in clf.demos_],
        "usage": dict(clf.usage_),
        "accuracy": accuracy,
        "notes": notes,
    }


def _gold_accuracy(clf, codes, rounds, labels, slm_ids, round_model, notes):
    """The report's ``accuracy`` against the gold ids ``codes``; a note when some are unknown."""
    n_outside = int((codes == -2).sum())
    if n_outside:
        notes.append(f"{n_outside} gold label(s) are not among the label names; they count as errors.")
    return {
        "n_gold": int((codes != -1).sum()),
        "rounds": [(r, _accuracy(ids, codes)) for r, ids in rounds],
        # the round's judge (the small model with judge=None) after each round, when
        # fit was given an eval_set
        "slm_rounds": _judged_rounds(clf),
        "final_llm": _accuracy(labels, codes),
        "final_slm": _accuracy(slm_ids, codes),
        "round_model": round_model,
    }
