"""Query strategies: which texts the LLM annotates next in FreeAL's large-data mode.

With ``label_fraction < 1`` the LLM annotates a fraction of the texts in
round 0 and a new fraction in each later round (the paper's "P%" variant).
A query strategy picks that new fraction among the texts never annotated.
Round 0 is always drawn at random (there is no student yet); the strings
``"random"`` and ``"uncertainty"`` of
:class:`~skfreeal.FreeALClassifier`'s ``query_strategy`` stand for the two
classes below. Any object with ``select(candidates, n, *, proba=None,
random_state=None)`` may be passed instead (see
:class:`skfreeal.base.QueryStrategy`).
"""

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import StrOptions, validate_params

__all__ = ["RandomQuery", "UncertaintyQuery", "uncertainty_scores"]


def _check_candidates(candidates, n):
    candidates = np.asarray(candidates, dtype=np.int64).ravel()
    return candidates, min(int(n), candidates.size)


class RandomQuery(BaseEstimator):
    """Pick the next texts uniformly at random (the paper's choice).

    Examples
    --------
    >>> RandomQuery().select([3, 5, 8], 2, random_state=0).tolist()
    [8, 5]
    """

    def select(self, candidates, n, *, proba=None, random_state=None):
        """``n`` indices drawn without replacement from ``candidates``.

        Parameters
        ----------
        candidates : array-like of int
            Indices of the texts that may be picked.
        n : int
            How many to pick (fewer when there are fewer candidates).
        proba : ndarray, default=None
            Ignored.
        random_state : int, RandomState instance or None, default=None

        Returns
        -------
        indices : ndarray of int64
        """
        candidates, n = _check_candidates(candidates, n)
        if n == 0:
            return np.zeros(0, dtype=np.int64)
        return check_random_state(random_state).choice(candidates, n, replace=False)


@validate_params({"proba": ["array-like"], "measure": [StrOptions({"margin", "entropy",
                                                                   "least_confident"})]},
                 prefer_skip_nested_validation=True)
def uncertainty_scores(proba, measure="margin"):
    """How unsure a classifier is of each sample, higher is more unsure.

    Parameters
    ----------
    proba : array-like of shape (n_samples, n_classes)
    measure : {"margin", "entropy", "least_confident"}, default="margin"
        ``margin``: one minus the gap between the two most probable
        classes; ``entropy``: the entropy of the distribution;
        ``least_confident``: one minus the top probability.

    Returns
    -------
    scores : ndarray of shape (n_samples,)

    Examples
    --------
    >>> uncertainty_scores([[0.9, 0.1], [0.55, 0.45]]).round(2).tolist()
    [0.2, 0.9]
    """
    proba = np.asarray(proba, dtype=np.float64)
    if measure == "entropy":
        return -(proba * np.log(np.clip(proba, 1e-12, None))).sum(axis=1)
    if measure == "least_confident":
        return 1.0 - proba.max(axis=1)
    top2 = np.sort(proba, axis=1)[:, -2:]
    return 1.0 - (top2[:, -1] - top2[:, 0])


class UncertaintyQuery(BaseEstimator):
    """Pick the texts the student is least sure of (uncertainty sampling).

    Parameters
    ----------
    measure : {"margin", "entropy", "least_confident"}, default="margin"
        See :func:`uncertainty_scores`; ties keep the texts' order.

    Examples
    --------
    >>> import numpy as np
    >>> proba = np.array([[0.9, 0.1], [0.5, 0.5], [0.6, 0.4]])
    >>> UncertaintyQuery().select([0, 1, 2], 2, proba=proba).tolist()
    [1, 2]
    """

    _parameter_constraints = {"measure": [StrOptions({"margin", "entropy", "least_confident"})]}

    def __init__(self, measure="margin"):
        self.measure = measure

    def select(self, candidates, n, *, proba=None, random_state=None):
        """The ``n`` most uncertain of ``candidates``.

        Parameters
        ----------
        candidates : array-like of int
        n : int
        proba : ndarray of shape (n_samples, n_classes)
            The student's probabilities of every training text.
        random_state : None
            Ignored.

        Returns
        -------
        indices : ndarray of int64
        """
        self._validate_params()
        candidates, n = _check_candidates(candidates, n)
        if n == 0:
            return np.zeros(0, dtype=np.int64)
        if proba is None:
            raise ValueError("UncertaintyQuery needs the student's probabilities (proba=...).")
        scores = uncertainty_scores(np.asarray(proba)[candidates], self.measure)
        return candidates[np.argsort(-scores, kind="stable")[:n]]
