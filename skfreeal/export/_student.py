"""Which network an estimator predicts with, and the label name of each of its outputs."""

from sklearn.utils.validation import check_is_fitted

__all__ = ["fitted_student"]


def fitted_student(estimator):
    """The fitted :class:`~skfreeal.RobustTextClassifier` behind ``estimator``'s ``predict``.

    Parameters
    ----------
    estimator : FreeALClassifier or RobustTextClassifier
        Fitted.

    Returns
    -------
    student : RobustTextClassifier
    label_names : list of str
        The label each output of the student's head stands for: for a
        FreeALClassifier, its label names (a label the LLM never gave has
        no output, as its probability in ``predict_proba`` is zero).

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
        return estimator, [str(c) for c in estimator.classes_]
    if not isinstance(estimator, FreeALClassifier):
        raise TypeError(
            "estimator must be a fitted FreeALClassifier or RobustTextClassifier, got "
            f"{type(estimator).__name__}."
        )
    check_is_fitted(estimator)
    student = estimator.slm_
    if estimator.student_record_ is not None and estimator.student_record_.collapsed:
        raise ValueError(
            "This FreeALClassifier's student collapsed (student_record_.collapsed is "
            "True): predict uses the judge on the embedder's embeddings (slm_ is "
            f"{type(student).__name__}), which is no transformers text classifier to export. "
            "Fit again (more texts or rounds, another random_state) until the student learns."
        )
    if not isinstance(student, RobustTextClassifier):
        raise ValueError(
            "Only a RobustTextClassifier student can be exported; this FreeALClassifier's "
            f"slm_ is {type(student).__name__}."
        )
    names = [str(estimator.classes_[int(c)]) for c in student.classes_]
    return student, names
