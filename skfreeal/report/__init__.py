"""A self-contained HTML report of a FreeAL run.

:func:`build_report` turns a fitted :class:`~skfreeal.FreeALClassifier` (and the
texts it was fitted on) into one HTML page, with its plots embedded as PNG
``data:`` images, so it can be mailed or archived as a single file. It shows
the label distribution after round 0 and after refinement, the per-round
history, the LLM-vs-small-model confusion matrix on the training texts, the
demonstration pool, LLM usage and cost, and, given gold labels, accuracy per
round. For a multi-label fit a table per label replaces the confusion matrix:
the texts that carry it (round 0, final), the clean share of them, how often
the student takes the same decision and, given gold label sets, each label's
accuracy (micro F1 per round). Plots need matplotlib (``pip install 'skfreeal[report]'``).
"""

from ._data import UNKNOWN, report_data, round_labels

__all__ = ["build_report", "write_report", "report_data", "round_labels",
           "check_report_dependencies", "UNKNOWN"]


def check_report_dependencies():
    """Raise ImportError with the install line if matplotlib is missing."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise ImportError("The HTML report needs matplotlib: pip install 'skfreeal[report]'") from None


def build_report(clf, texts, *, gold=None, slm_pred=None, meta=None, title="skfreeal labelling report"):
    """Render the report of a fitted FreeAL classifier as an HTML string.

    Parameters
    ----------
    clf : FreeALClassifier
        Fitted.
    texts : list of str
        The texts ``clf`` was fitted on, in the same order.
    gold : sequence, default=None
        Known label names per text (None where unknown): adds accuracy per round.
        For a :class:`~skfreeal.MultiLabelFreeALClassifier`, label sets (lists
        of names): adds micro F1 per round and each label's accuracy.
    slm_pred : sequence of str, default=None
        The final small model's predictions on ``texts``, when already computed
        (an indicator matrix for label sets); None calls ``clf.predict(texts)``.
    meta : dict, default=None
        Run settings listed at the end of the report.
    title : str, default="skfreeal labelling report"

    Returns
    -------
    html : str
        A complete page with no external reference.
    """
    from . import _plots
    from ._html import render_html
    from ._rounds import _rolled_back

    check_report_dependencies()
    data = report_data(clf, texts, gold=gold, slm_pred=slm_pred)
    row_names = data["distribution"]["names"]
    images = {
        "distribution": _plots.distribution_png(data["distribution"]),
        "confusion": (_plots.confusion_png(data["confusion"], row_names, data["classes"])
                      if data["confusion"] is not None else None),  # None: label sets
        "history": (_plots.history_png(data["history"], data["round_model"])
                    if data["history"] else None),
        "accuracy": (_plots.accuracy_png(data["accuracy"], _rolled_back(data["history"]))
                     if data["accuracy"] else None),
    }
    return render_html(data, dict(meta or {}), images, title=title)


def write_report(path, clf, texts, **kwargs):
    """Write :func:`build_report`'s page to ``path`` atomically.

    Parameters
    ----------
    path : str or path-like
    clf, texts, **kwargs
        As for :func:`build_report`.
    """
    from ..io import atomic_path

    page = build_report(clf, texts, **kwargs)
    with atomic_path(path) as tmp:
        tmp.write_text(page, encoding="utf-8")
