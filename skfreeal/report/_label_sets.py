"""The numbers of a multi-label FreeAL report: per-label counts, clean fractions and accuracy.

Pure NumPy, as :mod:`._data`, for a fitted
:class:`~skfreeal.MultiLabelFreeALClassifier` (its ``label_ids_`` and
``round_labels_`` are indicator rows, a row of -1 where unknown). A text
carries any number of labels, so there is no confusion matrix: each label
gets its own row (texts that carry it after round 0 and at the end, the
clean share of them, how often the student takes the same decision on it,
and, given gold label sets, the accuracy of that decision).
"""

import numpy as np

from ._rounds import _history_rows, _judged_rounds, _round_model

__all__ = ["label_set_report_data"]


def label_set_report_data(clf, texts, *, gold=None, slm_pred=None, unknown="(no label)"):
    """Everything the report shows for label sets, in :func:`~._data.report_data`'s keys.

    Parameters
    ----------
    clf : fitted MultiLabelFreeALClassifier
    texts : list of str
        The training texts, in the order ``fit`` saw them.
    gold : sequence, default=None
        Each text's gold label set (a list of names, or an indicator row),
        None where unknown.
    slm_pred : array-like of shape (n_texts, n_labels), default=None
        The final student's indicator matrix on ``texts``; None calls
        ``clf.predict(texts)``.
    unknown : str
        The name of the row of texts without a label set.

    Returns
    -------
    data : dict
        :func:`~._data.report_data`'s keys (``distribution`` counts texts
        per label, so its rows may sum past ``n_texts``; ``confusion`` is
        None; ``agreement`` is the share of the labelled texts whose whole
        set the student predicts; ``accuracy`` holds micro F1, its
        ``metric`` says so), plus ``n_labelled`` and ``per_label``: one
        dict per label with ``label``, ``round0``, ``final``,
        ``clean_fraction`` (of the texts that carry it), ``agreement`` (the
        student's decision on it equals the label's, on the labelled texts)
        and, with gold, ``llm_accuracy`` and ``slm_accuracy`` (the share of
        the texts with a gold set whose decision on that label is right).
    """
    space = clf.label_space_
    classes = [str(c) for c in clf.classes_]
    labels = space.asarray(clf.label_ids_)
    if len(labels) != len(texts):
        raise ValueError(f"texts has {len(texts)} entries but the model was fitted on "
                         f"{len(labels)}.")
    known = space.is_known(labels)
    clean = np.asarray(clf.clean_mask_, dtype=bool) & known
    first = space.asarray(clf.round_labels_[0])
    pred = space.asarray(clf.predict(texts) if slm_pred is None else slm_pred)
    carries = labels == 1
    per_label = [{
        "label": name,
        "round0": int(np.sum(first[:, k] == 1)),
        "final": int(carries[:, k].sum()),
        "clean_fraction": _share(clean[carries[:, k]]),
        "agreement": _share(pred[known, k] == labels[known, k]),
    } for k, name in enumerate(classes)]
    distribution = {
        "names": classes + [unknown],
        "before": [row["round0"] for row in per_label] + [int((~space.is_known(first)).sum())],
        "after": [row["final"] for row in per_label] + [int((~known).sum())],
        "after_clean": [int(np.sum(carries[clean, k])) for k in range(len(classes))] + [0],
    }
    notes, accuracy = [], None
    if gold is not None:
        if len(gold) != len(texts):
            raise ValueError(f"gold has {len(gold)} entries but texts has {len(texts)}.")
        accuracy = _gold_scores(clf, space, space.encode(gold, len(texts), name="gold"),
                                labels, pred, per_label)
    return {
        "classes": classes,
        "n_texts": len(texts),
        "n_labelled": int(known.sum()),
        "distribution": distribution,
        "history": _history_rows(clf),
        "confusion": None,
        "per_label": per_label,
        "agreement": _share(space.agree(pred[known], labels[known])),
        "clean_fraction": _share(clean[known]),
        "round_model": _round_model(clf),
        "demos": [(str(t), "; ".join(map(str, s))) for t, s in clf.demos_],
        "usage": dict(clf.usage_),
        "accuracy": accuracy,
        "notes": notes,
    }


def _share(mask):
    """The mean of a boolean array, None when it is empty."""
    return float(np.mean(mask)) if np.size(mask) else None


def _gold_scores(clf, space, gold, labels, pred, per_label):
    """Micro F1 per round and at the end; each label's accuracy added to ``per_label``."""
    has = space.is_known(gold)
    for k, row in enumerate(per_label):
        # a text the LLM left without a label set carries none of the labels here
        row["llm_accuracy"] = _share((labels[has, k] == 1) == (gold[has, k] == 1))
        row["slm_accuracy"] = _share((pred[has, k] == 1) == (gold[has, k] == 1))

    def micro(rows):
        return space.score(np.maximum(space.asarray(rows)[has], 0), gold[has]) if has.any() \
            else None

    return {
        "metric": "micro F1",
        "n_gold": int(has.sum()),
        "rounds": [(r, micro(ids)) for r, ids in enumerate(clf.round_labels_)],
        "slm_rounds": _judged_rounds(clf),
        "final_llm": micro(labels),
        "final_slm": micro(pred),
        "round_model": _round_model(clf),
    }
