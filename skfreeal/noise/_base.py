"""The base class of the noise filters: validation, tags and the scikit-learn verbs."""


import numpy as np
from scipy.sparse import issparse
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted
from sklearn_compat.base import _fit_context
from sklearn_compat.utils.validation import validate_data

__all__ = ["BaseNoiseFilter", "check_losses"]


def check_losses(losses, name="losses"):
    """Per-sample losses as a 2-D float array, one row per sample.

    A 1-D array is one loss per sample; a 2-D one holds several loss
    measures per sample (one column each, e.g. the losses of two views).

    Raises
    ------
    ValueError
        If the array is empty, 3-D or holds a non-finite value (its index
        is named).
    """
    losses = np.asarray(losses)
    if np.iscomplexobj(losses):
        raise ValueError(f"Complex data not supported: {name} must be real, got {losses.dtype}.")
    losses = losses.astype(np.float64)
    if losses.ndim == 1:
        losses = losses.reshape(-1, 1)
    if losses.ndim != 2:
        raise ValueError(
            f"{name} must be 1-D (one loss per sample) or 2-D (one column per loss "
            f"measure), got shape {losses.shape}."
        )
    if losses.shape[0] == 0:
        raise ValueError(f"{name} is empty (shape {losses.shape}): at least one loss is expected.")
    if losses.shape[1] == 0:
        raise ValueError(
            f"{name} has 0 feature(s) (shape={losses.shape}) while a minimum of 1 is required: "
            "give at least one loss per sample."
        )
    bad = np.argwhere(~np.isfinite(losses))
    if bad.size:
        row = int(bad[0][0])
        raise ValueError(
            f"{name} must be finite (no NaN or inf), got {losses[tuple(bad[0])]} at index {row} "
            f"({len(bad)} non-finite value(s) in all)."
        )
    return losses


class BaseNoiseFilter(TransformerMixin, BaseEstimator):
    """Base class of the noise filters.

    A noise filter learns from per-sample training losses which samples
    carry a clean label. Subclasses implement ``_fit(losses, y)`` and
    ``_score(losses)`` (a clean score per sample, higher is cleaner) on
    validated 2-D losses, and may override ``_clean(losses, scores)`` (by
    default ``scores > self.threshold``). This class gives them the
    scikit-learn verbs:

    - ``fit(losses, y=None)``: 1-D losses (one per sample) or 2-D (several
      loss measures per sample); ``y``, the noisy labels, may be used by a
      class-aware filter;
    - ``score_samples(losses)``: the 1-D clean score, as scikit-learn's
      outlier detectors give theirs;
    - ``predict(losses)``: the boolean clean mask;
    - ``transform(losses)``: the clean score as one column, for pipelines.
    """

    def _fit(self, losses, y):  # pragma: no cover - abstract
        raise NotImplementedError

    def _score(self, losses):  # pragma: no cover - abstract
        raise NotImplementedError

    def _clean(self, losses, scores):
        return scores > self.threshold

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, losses, y=None):
        """Learn the clean/noisy split from per-sample losses.

        Parameters
        ----------
        losses : array-like of shape (n_samples,) or (n_samples, n_losses)
            Per-sample training losses (e.g. cross-entropy in eval mode).
        y : array-like of shape (n_samples,), default=None
            The (noisy) labels of the samples.

        Returns
        -------
        self : object
        """
        losses = self._validate_losses(losses, reset=True)
        if y is not None:
            y = np.asarray(y)
            if y.shape[0] != losses.shape[0]:
                raise ValueError(
                    f"y has {y.shape[0]} labels but losses has {losses.shape[0]} samples; "
                    "they must match."
                )
        self._fit(losses, y)
        return self

    def score_samples(self, losses):
        """Clean score of each sample, higher is cleaner.

        Parameters
        ----------
        losses : array-like of shape (n_samples,) or (n_samples, n_losses)
            Losses of the samples to score, in the form ``fit`` saw.

        Returns
        -------
        scores : ndarray of shape (n_samples,)
            For the GMM, the posterior probability of the low-loss component.
        """
        check_is_fitted(self)
        return self._score(self._validate_losses(losses, reset=False))

    def predict(self, losses):
        """Clean mask of the samples.

        Parameters
        ----------
        losses : array-like of shape (n_samples,) or (n_samples, n_losses)
            Losses of the samples to split.

        Returns
        -------
        mask : ndarray of shape (n_samples,), dtype=bool
            True for the samples judged clean.
        """
        check_is_fitted(self)
        losses = self._validate_losses(losses, reset=False)
        return np.asarray(self._clean(losses, self._score(losses)), dtype=bool)

    def transform(self, losses):
        """The clean score as one column (see :meth:`score_samples`).

        Parameters
        ----------
        losses : array-like of shape (n_samples,) or (n_samples, n_losses)

        Returns
        -------
        scores : ndarray of shape (n_samples, 1)
        """
        return self.score_samples(losses).reshape(-1, 1)

    def get_feature_names_out(self, input_features=None):
        """The name of the one output column, ``clean_score``."""
        check_is_fitted(self)
        return np.asarray(["clean_score"], dtype=object)

    def _validate_losses(self, losses, *, reset):
        if hasattr(losses, "iloc") and getattr(losses, "ndim", 2) == 1:
            losses = losses.to_numpy()  # a pandas Series: one loss per sample, like a 1-D array
        if not hasattr(losses, "iloc") and not issparse(losses):
            losses = check_losses(losses)  # first, for its messages naming the bad sample
        losses = validate_data(self, losses, reset=reset, dtype=np.float64)
        return check_losses(losses)
