"""Split samples into clean and noisy by a two-component GMM on their losses."""

import warnings
from numbers import Integral, Real

import numpy as np
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval

from .._seeds import draw_seed
from ._base import BaseNoiseFilter, check_losses

__all__ = [
    "GMMNoiseFilter",
    "fit_loss_mixture",
    "gmm_clean_proba",
    "mixture_clean_proba",
    "normalize_losses",
]


def normalize_losses(losses, low=None, high=None):
    """Min-max normalise each loss column to [0, 1] (zeros where a column is constant).

    Parameters
    ----------
    losses : ndarray of shape (n_samples,) or (n_samples, n_losses)
    low, high : ndarray of shape (n_losses,), default=None
        The range to map to [0, 1]; None: the columns' own. Values outside
        it are clipped.

    Returns
    -------
    normalized : ndarray of the shape of ``losses``
    """
    losses = np.asarray(losses, dtype=np.float64)
    low = losses.min(axis=0) if low is None else low
    high = losses.max(axis=0) if high is None else high
    span = np.where(high - low > 0, high - low, 1.0)
    return np.where(high - low > 0, np.clip((losses - low) / span, 0.0, 1.0), 0.0)


def _fit_gmm(normalized, *, max_iter, tol, reg_covar, random_state):
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.mixture import GaussianMixture

    gmm = GaussianMixture(
        n_components=2, max_iter=max_iter, tol=tol, reg_covar=reg_covar, random_state=random_state
    )
    with warnings.catch_warnings():
        # max_iter=10 is the official setting; its early stop is expected.
        warnings.simplefilter("ignore", ConvergenceWarning)
        gmm.fit(normalized)
    return gmm


def fit_loss_mixture(losses, *, max_iter=10, tol=1e-2, reg_covar=5e-4, random_state=None):
    """Fit the two-component mixture of normalised losses.

    Parameters
    ----------
    losses : ndarray of shape (n_samples, n_losses)
        Validated losses (see :func:`~skfreeal.noise.check_losses`).
    max_iter, tol, reg_covar, random_state
        See :func:`gmm_clean_proba`.

    Returns
    -------
    gmm : sklearn.mixture.GaussianMixture or None
        None when fewer than two samples or constant losses leave nothing to split.
    clean_component : int
        The component with the smaller mean loss (summed over the columns).
    low, high : ndarray of shape (n_losses,)
        The normalisation range.
    """
    low, high = losses.min(axis=0), losses.max(axis=0)
    if losses.shape[0] < 2 or np.all(high == low):
        return None, 0, low, high
    seed = draw_seed(check_random_state(random_state))
    gmm = _fit_gmm(normalize_losses(losses), max_iter=max_iter, tol=tol, reg_covar=reg_covar,
                   random_state=seed)
    return gmm, int(np.argmin(gmm.means_.sum(axis=1))), low, high


def mixture_clean_proba(gmm, clean_component, losses, low, high):
    """Posterior of the clean component for each sample (1 when there is no mixture)."""
    if gmm is None:
        return np.ones(losses.shape[0])
    return gmm.predict_proba(normalize_losses(losses, low, high))[:, clean_component]


def gmm_clean_proba(losses, *, max_iter=10, tol=1e-2, reg_covar=5e-4, random_state=None):
    """Posterior probability that each sample is clean, from its loss.

    A two-component Gaussian mixture is fitted to the min-max normalised
    losses; a sample's clean probability is its posterior under the
    component with the smaller mean (DivideMix / FreeAL).

    Parameters
    ----------
    losses : array-like of shape (n_samples,) or (n_samples, n_losses)
        Per-sample training losses (e.g. cross-entropy in eval mode).
    max_iter, tol, reg_covar, random_state
        The mixture's settings, as in :class:`GMMNoiseFilter` (defaults:
        FreeAL's official ``max_iter=10, tol=1e-2, reg_covar=5e-4``).

    Returns
    -------
    proba : ndarray of shape (n_samples,)

    Examples
    --------
    >>> import numpy as np
    >>> losses = np.r_[np.full(8, 0.1), np.full(2, 3.0)]
    >>> (gmm_clean_proba(losses, random_state=0) > 0.7).tolist()
    [True, True, True, True, True, True, True, True, False, False]
    """
    losses = check_losses(losses)
    fitted = fit_loss_mixture(
        losses, max_iter=max_iter, tol=tol, reg_covar=reg_covar, random_state=random_state
    )
    return mixture_clean_proba(fitted[0], fitted[1], losses, *fitted[2:])


class GMMNoiseFilter(BaseNoiseFilter):
    """Clean/noisy split of training samples from their losses, by a 2-component GMM.

    ``fit`` learns the mixture on per-sample losses (min-max normalised);
    ``score_samples`` gives each sample's posterior probability under the
    low-loss component; ``predict`` the clean mask (probability above
    ``threshold``). With several loss columns the mixture is fitted in that
    space and the clean component is the one of smaller summed mean.

    Parameters
    ----------
    threshold : float, default=0.7
        A sample is clean when its clean probability exceeds this.
    max_iter : int, default=10
        EM iterations (FreeAL's official setting).
    tol : float, default=1e-2
        EM convergence threshold.
    reg_covar : float, default=5e-4
        Added to the variances.
    random_state : int, RandomState instance or None, default=None
        Seed of the mixture's initialisation.

    Attributes
    ----------
    gmm_ : sklearn.mixture.GaussianMixture or None
        The fitted mixture (None when the losses were constant).
    clean_component_ : int
        Index of the low-mean (clean) component.
    n_iter_ : int
        EM iterations the mixture ran (0 when the losses were constant).
    loss_min_, loss_max_ : ndarray of shape (n_features_in_,)
        The range used to normalise each loss column.
    n_features_in_ : int
        Loss columns (1 for one loss per sample).

    See Also
    --------
    gmm_clean_proba : The function underneath.
    SmallLossNoiseFilter : Keep a fixed fraction of smallest-loss samples.

    Examples
    --------
    >>> import numpy as np
    >>> from skfreeal import GMMNoiseFilter
    >>> losses = np.r_[np.full(8, 0.1), np.full(2, 3.0)]
    >>> GMMNoiseFilter(random_state=0).fit(losses).predict(losses).sum()
    np.int64(8)
    """

    _parameter_constraints = {
        "threshold": [Interval(Real, 0, 1, closed="both")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "reg_covar": [Interval(Real, 0, None, closed="left")],
        "random_state": ["random_state"],
    }

    def __init__(self, threshold=0.7, *, max_iter=10, tol=1e-2, reg_covar=5e-4, random_state=None):
        self.threshold = threshold
        self.max_iter = max_iter
        self.tol = tol
        self.reg_covar = reg_covar
        self.random_state = random_state

    def _fit(self, losses, y):
        self.gmm_, self.clean_component_, self.loss_min_, self.loss_max_ = fit_loss_mixture(
            losses, max_iter=self.max_iter, tol=self.tol, reg_covar=self.reg_covar,
            random_state=self.random_state,
        )
        self.n_iter_ = 0 if self.gmm_ is None else int(self.gmm_.n_iter_)

    def _score(self, losses):
        return mixture_clean_proba(
            self.gmm_, self.clean_component_, losses, self.loss_min_, self.loss_max_
        )
