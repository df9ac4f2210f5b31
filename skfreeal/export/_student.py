"""Which network an estimator predicts with, the label of each output, and its decision rule."""

from sklearn.utils.validation import check_is_fitted

__all__ = ["fitted_student"]


def fitted_student(estimator):
    """The fitted :class:`~skfreeal.RobustTextClassifier` behind ``estimator``'s ``predict``.

    Parameters
    ----------
    estimator : FreeALClassifier, MultiLabelFreeALClassifier or RobustTextClassifier
        Fitted.

    Returns
    -------
    student : RobustTextClassifier
    label_names : list of str
        The label each output of the student's head stands for: for a
        FreeALClassifier, its label names (a label the LLM never gave has
        no output, as its probability in ``predict_proba`` is zero).
    label_sets : dict or None
        None for one label a text. For label sets (a student fitted on an
        indicator matrix), how ``predict`` turns the sigmoid scores into
        sets: ``thresholds`` (a dict of label name to the score a label
        needs) and ``min_labels`` (a text whose scores pass fewer
        thresholds gets its most probable labels up to that many).

    Raises
    ------
    sklearn.exceptions.NotFittedError
        ``estimator`` is not fitted.
    ValueError
        The FreeALClassifier's student collapsed, so that the judge predicts
        on the embedder's embeddings, or its student is not a
        RobustTextClassifier.
    TypeError
        ``estimator`` is neither.
    """
    from .._freeal import FreeALClassifier
    from ..slm import RobustTextClassifier

    if isinstance(estimator, RobustTextClassifier):
        check_is_fitted(estimator)
        names = [str(c) for c in estimator.classes_]
        return estimator, names, _label_sets(estimator, names, estimator.threshold, 0)
    if not isinstance(estimator, FreeALClassifier):
        raise TypeError(
            "estimator must be a fitted FreeALClassifier or RobustTextClassifier, got "
            f"{type(estimator).__name__}."
        )
    check_is_fitted(estimator)
    student, kind = estimator.slm_, type(estimator).__name__
    if estimator.student_record_ is not None and estimator.student_record_.collapsed:
        raise ValueError(
            f"This {kind}'s student collapsed (student_record_.collapsed is "
            "True): predict uses the judge on the embedder's embeddings (slm_ is "
            f"{type(student).__name__}), which is no transformers text classifier to export. "
            "Fit again (more texts or rounds, another random_state) until the student learns."
        )
    if not isinstance(student, RobustTextClassifier):
        raise ValueError(
            f"Only a RobustTextClassifier student can be exported; this {kind}'s "
            f"slm_ is {type(student).__name__}."
        )
    outputs = [int(c) for c in student.classes_]
    names = [str(estimator.classes_[c]) for c in outputs]
    if estimator.label_space_.exclusive:
        return student, names, None
    # predict's rule (MultiLabelFreeALClassifier._decision_space)
    return student, names, _label_sets(student, names, estimator.threshold_[outputs],
                                       estimator.label_space_.min_labels)


def _label_sets(student, names, threshold, min_labels):
    """The decision rule of a multi-label student's outputs (None for one label a text)."""
    import numpy as np

    if not getattr(student, "multilabel_", False):
        return None
    thresholds = np.broadcast_to(np.asarray(threshold, dtype=float), (len(names),))
    return {"thresholds": {n: float(t) for n, t in zip(names, thresholds)},
            "min_labels": int(min_labels)}
