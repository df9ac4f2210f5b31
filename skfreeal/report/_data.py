"""The numbers of a FreeAL report, computed from a fitted classifier.

Pure NumPy: no plotting, no HTML. Works with any object that has the fitted
attributes of :class:`~skfreeal.FreeALClassifier` (``classes_``, ``labels_``,
``transduction_``, ``clean_mask_``, ``history_``, ``usage_``, ``demos_``);
``round_labels_`` (labels after each round), else ``initial_labels_`` (round-0
labels), and the ``eval_accuracy`` of ``history_`` records are used when present.
"""

import numpy as np

__all__ = ["UNKNOWN", "report_data", "round_labels"]

#: Shown for texts without a label (never annotated, or the LLM abstained).
UNKNOWN = "(no label)"


def round_labels(clf):
    """Label ids after each LLM round that the fitted model lets us recover.

    Parameters
    ----------
    clf : fitted FreeAL-like classifier

    Returns
    -------
    rounds : list of (int, ndarray)
        ``(round, label ids)`` pairs, in round order: every round when the model
        has ``round_labels_``; else round 0 (``initial_labels_``) and the last
        round (``labels_``).
    """
    history = getattr(clf, "round_labels_", None)
    if history is not None:
        return [(r, np.asarray(ids)) for r, ids in enumerate(history)]
    rounds = []
    initial = getattr(clf, "initial_labels_", None)
    if initial is not None:
        rounds.append((0, np.asarray(initial)))
    last = int(getattr(clf, "n_rounds_", len(getattr(clf, "history_", [])) or 1)) - 1
    if last > 0 or initial is None:
        rounds.append((max(last, 0), np.asarray(clf.labels_)))
    return rounds


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
        Known label names per text (None where unknown), for accuracy.
    slm_pred : sequence of str, default=None
        The final small model's predicted label names on ``texts``; None calls
        ``clf.predict(texts)``.

    Returns
    -------
    data : dict
        Keys ``classes``, ``n_texts``, ``distribution``, ``history``,
        ``confusion``, ``agreement``, ``demos``, ``usage``, ``accuracy``
        (None without gold), ``notes``.
    """
    classes = [str(c) for c in clf.classes_]
    n_classes = len(classes)
    labels = np.asarray(clf.labels_)
    if len(labels) != len(texts):
        raise ValueError(f"texts has {len(texts)} entries but the model was fitted on {len(labels)}.")
    notes = []

    rounds = round_labels(clf)
    before = _counts(rounds[0][1], n_classes) if rounds and rounds[0][0] == 0 else None
    if before is None:
        notes.append("The model does not expose its round-0 labels; only the final distribution is shown.")
    clean = np.asarray(getattr(clf, "clean_mask_", np.zeros(len(labels), bool)), dtype=bool)
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
        codes = _gold_codes(gold, classes)
        n_outside = int((codes == -2).sum())
        if n_outside:
            notes.append(f"{n_outside} gold label(s) are not among the label names; they count as errors.")
        accuracy = {
            "n_gold": int((codes != -1).sum()),
            "rounds": [(r, _accuracy(ids, codes)) for r, ids in rounds],
            # the small model after each round, when fit was given an eval_set
            "slm_rounds": [
                (h.get("round", i), h["eval_accuracy"])
                for i, h in enumerate(getattr(clf, "history_", [])) if "eval_accuracy" in h
            ],
            "final_llm": _accuracy(labels, codes),
            "final_slm": _accuracy(slm_ids, codes),
        }
        n_hist = len(getattr(clf, "history_", []))
        if getattr(clf, "round_labels_", None) is None and n_hist > 2:
            notes.append(
                "Per-round accuracy covers round 0 and the last round only: the model does not "
                "keep the labels of the rounds in between."
            )

    return {
        "classes": classes,
        "n_texts": len(texts),
        "distribution": distribution,
        "history": [dict(h) for h in getattr(clf, "history_", [])],
        "confusion": confusion.tolist(),
        "agreement": agreement,
        "demos": [(str(t), str(c)) for t, c in getattr(clf, "demos_", [])],
        "usage": dict(getattr(clf, "usage_", {}) or {}),
        "accuracy": accuracy,
        "notes": notes,
    }
