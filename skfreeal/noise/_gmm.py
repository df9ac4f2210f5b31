"""Split samples into clean and noisy by a two-component GMM on their losses."""

from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_is_fitted
from sklearn_compat.base import _fit_context
from sklearn_compat.utils.validation import validate_data

__all__ = ["gmm_clean_proba", "GMMNoiseFilter"]


def _check_losses(losses, name="losses"):
    losses = np.asarray(losses, dtype=np.float64)
    if losses.ndim == 2 and losses.shape[1] == 1:
        losses = losses[:, 0]
    if losses.ndim != 1:
        raise ValueError(f"{name} must be 1-D (one loss per sample), got shape {losses.shape}.")
    if losses.size == 0:
        raise ValueError(f"{name} is empty: at least one loss is expected.")
    bad = np.flatnonzero(~np.isfinite(losses))
    if bad.size:
        raise ValueError(
            f"{name} must be finite, got {losses[bad[0]]} at index {bad[0]} "
            f"({bad.size} non-finite value(s) in all)."
        )
    return losses


def normalize_losses(losses):
    """Min-max normalise losses to [0, 1] (all zeros when they are constant)."""
    low, high = losses.min(), losses.max()
    if high - low <= 0:
        return np.zeros_like(losses)
    return (losses - low) / (high - low)


def _fit_gmm(normalized, *, max_iter, tol, reg_covar, random_state):
    from sklearn.mixture import GaussianMixture

    gmm = GaussianMixture(
        n_components=2, max_iter=max_iter, tol=tol, reg_covar=reg_covar, random_state=random_state
    )
    import warnings

    from sklearn.exceptions import ConvergenceWarning

    with warnings.catch_warnings():
        # max_iter=10 is the official setting; its early stop is expected.
        warnings.simplefilter("ignore", ConvergenceWarning)
        gmm.fit(normalized.reshape(-1, 1))
    return gmm


def gmm_clean_proba(losses, *, max_iter=10, tol=1e-2, reg_covar=5e-4, random_state=None):
    """Posterior probability that each sample is clean, from its loss.

    A two-component Gaussian mixture is fitted to the min-max normalised
    losses; a sample's clean probability is its posterior under the
    component with the smaller mean (DivideMix / FreeAL).

    Parameters
    ----------
    losses : array-like of shape (n_samples,)
        Per-sample training losses (e.g. cross-entropy in eval mode).
    max_iter : int, default=10
        EM iterations (FreeAL's official setting).
    tol : float, default=1e-2
        EM convergence threshold.
    reg_covar : float, default=5e-4
        Added to the variances.
    random_state : int, RandomState instance or None, default=None
        Seed of the mixture's initialisation.

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
    losses = _check_losses(losses)
    if losses.size < 2 or np.ptp(losses) == 0:
        return np.ones_like(losses)
    normalized = normalize_losses(losses)
    gmm = _fit_gmm(
        normalized, max_iter=max_iter, tol=tol, reg_covar=reg_covar,
        random_state=check_random_state(random_state).randint(np.iinfo(np.int32).max),
    )
    return gmm.predict_proba(normalized.reshape(-1, 1))[:, int(np.argmin(gmm.means_.ravel()))]


class GMMNoiseFilter(TransformerMixin, BaseEstimator):
    """Clean/noisy split of training samples from their losses, by a 2-component GMM.

    ``fit`` learns the mixture on a vector of per-sample losses; ``transform``
    gives the probability of being clean; ``predict`` the clean mask
    (probability above ``threshold``).

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
    loss_min_, loss_max_ : float
        The range used to normalise losses.
    n_features_in_ : int
        Always 1.

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

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, losses, y=None):
        """Fit the mixture on per-sample losses.

        Parameters
        ----------
        losses : array-like of shape (n_samples,) or (n_samples, 1)
            Per-sample losses.
        y : None
            Ignored.

        Returns
        -------
        self : GMMNoiseFilter
        """
        losses = self._validate_losses(losses, reset=True)
        self.loss_min_, self.loss_max_ = float(losses.min()), float(losses.max())
        if losses.size < 2 or self.loss_max_ == self.loss_min_:
            self.gmm_, self.clean_component_ = None, 0
            return self
        rng = check_random_state(self.random_state)
        self.gmm_ = _fit_gmm(
            normalize_losses(losses), max_iter=self.max_iter, tol=self.tol,
            reg_covar=self.reg_covar, random_state=rng.randint(np.iinfo(np.int32).max),
        )
        self.clean_component_ = int(np.argmin(self.gmm_.means_.ravel()))
        return self

    def transform(self, losses):
        """Probability that each sample is clean.

        Parameters
        ----------
        losses : array-like of shape (n_samples,) or (n_samples, 1)

        Returns
        -------
        proba : ndarray of shape (n_samples, 1)
        """
        return self.predict_proba(losses).reshape(-1, 1)

    def predict_proba(self, losses):
        """Probability that each sample is clean, as a 1-D array.

        Parameters
        ----------
        losses : array-like of shape (n_samples,) or (n_samples, 1)

        Returns
        -------
        proba : ndarray of shape (n_samples,)
        """
        check_is_fitted(self)
        losses = self._validate_losses(losses, reset=False)
        if self.gmm_ is None:
            return np.ones(losses.shape[0])
        span = self.loss_max_ - self.loss_min_
        normalized = np.clip((losses - self.loss_min_) / span, 0.0, 1.0)
        return self.gmm_.predict_proba(normalized.reshape(-1, 1))[:, self.clean_component_]

    def predict(self, losses):
        """Clean mask: ``predict_proba(losses) > threshold``.

        Parameters
        ----------
        losses : array-like of shape (n_samples,) or (n_samples, 1)

        Returns
        -------
        mask : ndarray of shape (n_samples,), dtype=bool
        """
        return self.predict_proba(losses) > self.threshold

    def _validate_losses(self, losses, *, reset):
        losses = np.asarray(losses) if not hasattr(losses, "iloc") else losses
        if getattr(losses, "ndim", 1) == 1:
            losses = np.asarray(losses).reshape(-1, 1)
        # Check finiteness first with a message naming the bad index.
        _check_losses(np.asarray(losses, dtype=np.float64)[:, 0] if np.ndim(losses) == 2 and np.shape(losses)[1] == 1 else losses)
        losses = validate_data(self, losses, reset=reset, dtype=np.float64, ensure_min_samples=1)
        if losses.shape[1] != 1:
            raise ValueError(
                f"losses must be one column (one loss per sample), got shape {losses.shape}."
            )
        return losses[:, 0]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.one_d_array = True
        return tags
