"""The base of the transformers of texts that learn nothing from them (embedder, augmenters)."""

from sklearn.base import BaseEstimator, TransformerMixin
from sklearn_compat.base import _fit_context

from .._validation import check_texts

__all__ = []


class _TextTransformer(TransformerMixin, BaseEstimator):
    """A transformer whose input is a list of texts and whose ``fit`` learns nothing.

    ``fit`` checks the parameters and the texts when given, then calls
    :meth:`_prepare` for what ``transform`` needs (a model to load, or
    nothing).
    """

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X=None, y=None):
        """Check the parameters, then make ready to transform (nothing is learned from ``X``).

        Parameters
        ----------
        X : iterable of str, default=None
            Ignored apart from validation.
        y : None
            Ignored.

        Returns
        -------
        self
        """
        if X is not None:
            check_texts(X)
        self._prepare()
        return self

    def _prepare(self):
        """Build what ``transform`` needs (default: nothing)."""

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True
        tags.input_tags.two_d_array = False
        return tags
