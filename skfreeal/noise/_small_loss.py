"""Keep a fixed fraction of smallest-loss samples as clean (Co-teaching style)."""

from numbers import Real

import numpy as np
from sklearn.utils._param_validation import Interval

from .._fractions import ceil_share
from ._base import BaseNoiseFilter, check_losses
from ._gmm import normalize_losses

__all__ = ["small_loss_clean_mask", "SmallLossNoiseFilter"]


def _combined(losses, low=None, high=None):
    """One loss per sample: the mean of the min-max normalised loss columns."""
    if losses.shape[1] == 1:
        return losses[:, 0]
    return normalize_losses(losses, low, high).mean(axis=1)


def small_loss_clean_mask(losses, *, keep_ratio=0.7):
    """Mark the ``keep_ratio`` fraction of samples with the smallest loss as clean.

    Parameters
    ----------
    losses : array-like of shape (n_samples,) or (n_samples, n_losses)
        Per-sample losses (several columns are min-max normalised and averaged).
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
    loss = _combined(check_losses(losses))
    n_keep = max(1, ceil_share(keep_ratio, loss.size))
    order = np.argsort(loss, kind="stable")
    mask = np.zeros(loss.size, dtype=bool)
    mask[order[:n_keep]] = True
    return mask


class SmallLossNoiseFilter(BaseNoiseFilter):
    """Clean/noisy split that keeps the smallest-loss fraction of samples.

    A drop-in alternative to :class:`GMMNoiseFilter` when the noise rate is
    roughly known. ``score_samples`` is a soft score in [0, 1] (1 for the
    smallest training loss), ``predict`` the clean mask.

    Parameters
    ----------
    keep_ratio : float, default=0.7
        Fraction of samples marked clean.

    Attributes
    ----------
    cutoff_ : float
        The largest loss still marked clean on the training losses.
    loss_min_, loss_max_ : ndarray of shape (n_features_in_,)
        Range of each training loss column.
    n_features_in_ : int
        Loss columns (1 for one loss per sample).

    See Also
    --------
    GMMNoiseFilter : Adaptive split by a two-component mixture.

    Examples
    --------
    >>> from skfreeal import SmallLossNoiseFilter
    >>> losses = [0.3, 0.1, 2.0, 0.2]
    >>> SmallLossNoiseFilter(keep_ratio=0.5).fit(losses).predict(losses).tolist()
    [False, True, False, True]
    """

    _parameter_constraints = {"keep_ratio": [Interval(Real, 0, 1, closed="right")]}

    def __init__(self, keep_ratio=0.7):
        self.keep_ratio = keep_ratio

    def _fit(self, losses, y):
        self.loss_min_, self.loss_max_ = losses.min(axis=0), losses.max(axis=0)
        loss = _combined(losses, self.loss_min_, self.loss_max_)
        self.cutoff_ = float(loss[small_loss_clean_mask(loss, keep_ratio=self.keep_ratio)].max())

    def _score(self, losses):
        loss = _combined(losses, self.loss_min_, self.loss_max_)
        if losses.shape[1] > 1:  # already normalised to [0, 1]
            return 1.0 - loss
        low, high = float(self.loss_min_[0]), float(self.loss_max_[0])
        if high <= low:
            return np.ones(loss.shape[0])
        return 1.0 - np.clip((loss - low) / (high - low), 0.0, 1.0)

    def _clean(self, losses, scores):
        return _combined(losses, self.loss_min_, self.loss_max_) <= self.cutoff_
