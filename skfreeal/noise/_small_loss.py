"""Keep a fixed fraction of smallest-loss samples as clean (Co-teaching style)."""

from numbers import Real

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_is_fitted
from sklearn_compat.base import _fit_context

from ._gmm import _check_losses

__all__ = ["small_loss_clean_mask", "SmallLossNoiseFilter"]


def small_loss_clean_mask(losses, *, keep_ratio=0.7):
    """Mark the ``keep_ratio`` fraction of samples with the smallest loss as clean.

    Parameters
    ----------
    losses : array-like of shape (n_samples,)
        Per-sample losses.
    keep_ratio : float, default=0.7
        Fraction of samples kept (rounded up, at least one).

    Returns
    -------
    mask : ndarray of shape (n_samples,), dtype=bool

    Examples
    --------
    >>> small_loss_clean_mask([0.3, 0.1, 2.0, 0.2], keep_ratio=0.5).tolist()
    [False, True, False, True]
    """
    losses = _check_losses(losses)
    n_keep = max(1, int(np.ceil(keep_ratio * losses.size)))
    order = np.argsort(losses, kind="stable")
    mask = np.zeros(losses.size, dtype=bool)
    mask[order[:n_keep]] = True
    return mask


class SmallLossNoiseFilter(TransformerMixin, BaseEstimator):
    """Clean/noisy split that keeps the smallest-loss fraction of samples.

    A drop-in alternative to :class:`GMMNoiseFilter` when the noise rate is
    roughly known. ``transform`` returns a soft score in [0, 1] (1 for the
    smallest loss), ``predict`` the clean mask.

    Parameters
    ----------
    keep_ratio : float, default=0.7
        Fraction of samples marked clean.

    Attributes
    ----------
    cutoff_ : float
        The largest loss still marked clean on the training losses.
    loss_min_, loss_max_ : float
        Range of the training losses.
    n_features_in_ : int
        Always 1.

    See Also
    --------
    GMMNoiseFilter : Adaptive split by a two-component mixture.

    Examples
    --------
    >>> from skfreeal import SmallLossNoiseFilter
    >>> SmallLossNoiseFilter(keep_ratio=0.5).fit([0.3, 0.1, 2.0, 0.2]).predict([0.3, 0.1, 2.0, 0.2]).tolist()
    [False, True, False, True]
    """

    _parameter_constraints = {"keep_ratio": [Interval(Real, 0, 1, closed="right")]}

    def __init__(self, keep_ratio=0.7):
        self.keep_ratio = keep_ratio

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, losses, y=None):
        """Find the loss cut-off on the training losses.

        Parameters
        ----------
        losses : array-like of shape (n_samples,) or (n_samples, 1)
        y : None
            Ignored.

        Returns
        -------
        self : SmallLossNoiseFilter
        """
        losses = _check_losses(losses)
        self.n_features_in_ = 1
        mask = small_loss_clean_mask(losses, keep_ratio=self.keep_ratio)
        self.cutoff_ = float(losses[mask].max())
        self.loss_min_, self.loss_max_ = float(losses.min()), float(losses.max())
        return self

    def transform(self, losses):
        """Soft clean score, 1 at the smallest training loss, 0 at the largest.

        Parameters
        ----------
        losses : array-like of shape (n_samples,) or (n_samples, 1)

        Returns
        -------
        score : ndarray of shape (n_samples, 1)
        """
        return self.predict_proba(losses).reshape(-1, 1)

    def predict_proba(self, losses):
        """Soft clean score as a 1-D array (see :meth:`transform`)."""
        check_is_fitted(self)
        losses = _check_losses(losses)
        span = self.loss_max_ - self.loss_min_
        if span <= 0:
            return np.ones_like(losses)
        return 1.0 - np.clip((losses - self.loss_min_) / span, 0.0, 1.0)

    def predict(self, losses):
        """Clean mask: losses at or below the training cut-off.

        Parameters
        ----------
        losses : array-like of shape (n_samples,) or (n_samples, 1)

        Returns
        -------
        mask : ndarray of shape (n_samples,), dtype=bool
        """
        check_is_fitted(self)
        return _check_losses(losses) <= self.cutoff_

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.one_d_array = True
        return tags
