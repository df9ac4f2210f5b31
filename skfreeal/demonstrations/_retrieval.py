"""Retrieve in-context demonstrations for each text by embedding similarity."""

from numbers import Integral

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_is_fitted
from sklearn_compat.base import _fit_context

from ..labels import SingleLabelSpace

__all__ = ["KNNRetriever", "knn_demo_indices"]

_WORST = -np.finfo(np.float32).max  # the lowest score of an item that may be shown


def knn_demo_indices(query_embeddings, pool_embeddings, k, *, pool_labels=None,
                     balanced=False, exclude=None, chunk_size=2048, space=None):
    """The ``k`` most similar pool items for each query, most similar last.

    Similarity is the dot product, i.e. cosine similarity for L2-normalised
    embeddings. The most similar demonstration is placed last so that it sits
    next to the query in the prompt.

    Parameters
    ----------
    query_embeddings : ndarray of shape (n_queries, n_features)
    pool_embeddings : ndarray of shape (n_pool, n_features)
    k : int
        Demonstrations per query (capped at the pool size).
    pool_labels : array-like, default=None
        Label of each pool item (in ``space``); needed when ``balanced``.
    balanced : bool, default=False
        Take about ``k / n_classes`` nearest items from each class, so that
        every label is shown (guards the LLM against majority bias).
    exclude : ndarray of shape (n_queries,), default=None
        For each query, a pool index it must not retrieve (the query itself
        when the pool is drawn from the queries), or -1.
    chunk_size : int, default=2048
        Queries scored at once (bounds memory on large data).
    space : LabelSpace, default=None
        What a label is (:mod:`skfreeal.labels`): the classes of ``balanced``
        are its :meth:`~skfreeal.labels.LabelSpace.per_label_indices`. None:
        one label per item, each distinct value of ``pool_labels`` a class.

    Returns
    -------
    indices : ndarray of shape (n_queries, min(k, n_pool)), dtype=int64

    Examples
    --------
    >>> import numpy as np
    >>> pool = np.eye(3)
    >>> knn_demo_indices(np.array([[1.0, 0.1, 0.0]]), pool, 2).tolist()
    [[1, 0]]
    """
    query_embeddings = np.asarray(query_embeddings, dtype=np.float32)
    pool_embeddings = np.asarray(pool_embeddings, dtype=np.float32)
    n_pool = pool_embeddings.shape[0]
    if k < 0:
        raise ValueError(f"k must be non-negative, got {k!r}.")
    if balanced and pool_labels is None:
        raise ValueError("balanced=True needs pool_labels.")
    # A query whose own item is excluded has one candidate fewer; a pool no
    # query excludes from can be shown whole.
    excludes_any = exclude is not None and bool((np.asarray(exclude) >= 0).any())
    k = min(k, n_pool - (1 if excludes_any and n_pool > 0 else 0))
    n_queries = query_embeddings.shape[0]
    out = np.zeros((n_queries, max(k, 0)), dtype=np.int64)
    if k <= 0:
        return out
    groups = None
    if balanced:
        if space is None:  # any values, one a pool item: ids of their sorted distinct values
            classes, pool_labels = np.unique(np.asarray(pool_labels), return_inverse=True)
            space = SingleLabelSpace(classes)
        groups = space.per_label_indices(pool_labels)
    for start in range(0, n_queries, chunk_size):
        sims = query_embeddings[start:start + chunk_size] @ pool_embeddings.T
        # -inf marks the excluded items alone: a NaN score (a degenerate
        # embedding) ranks below every real one, an overflow stays finite.
        np.nan_to_num(sims, copy=False, nan=_WORST, posinf=-_WORST, neginf=_WORST)
        if exclude is not None:
            rows = np.arange(sims.shape[0])
            excl = np.asarray(exclude[start:start + chunk_size])
            valid = excl >= 0
            sims[rows[valid], excl[valid]] = -np.inf
        for row, sim in enumerate(sims):
            out[start + row] = (
                _balanced_top(sim, groups, k) if balanced else _top(sim, k)
            )
    return out


def _top(sim, k):
    part = np.argpartition(-sim, k - 1)[:k]
    return part[np.argsort(sim[part], kind="stable")]  # ascending: most similar last


def _balanced_top(sim, groups, k):
    picked = []
    # An excluded item (similarity -inf, e.g. the query itself) is never shown.
    groups = [g[~np.isneginf(sim[g])] for g in groups]
    groups = [g for g in groups if g.size]
    quota, extra = divmod(k, len(groups))
    # Groups whose best item is most similar get the leftover slots.
    order = np.argsort([-sim[g].max() for g in groups], kind="stable")
    for rank, gi in enumerate(order):
        g = groups[gi]
        take = min(g.size, quota + (1 if rank < extra else 0))
        if take:
            picked.append(g[np.argsort(-sim[g], kind="stable")[:take]])
    picked = np.concatenate(picked)
    if picked.size < k:  # small classes: fill with the best remaining items
        rest = np.setdiff1d(np.flatnonzero(~np.isneginf(sim)), picked)
        picked = np.concatenate([picked, rest[np.argsort(-sim[rest])[: k - picked.size]]])
    return picked[np.argsort(sim[picked], kind="stable")]


class KNNRetriever(BaseEstimator):
    """Each text's nearest demonstrations in embedding space (FreeAL's retrieval).

    ``fit`` indexes the pool's embeddings (and labels); ``kneighbors``
    returns, per query, the indices of the ``n_neighbors`` most similar pool
    items, most similar last (next to the query in the prompt). Similarity
    is the dot product: cosine similarity for normalised embeddings.

    Parameters
    ----------
    balanced : bool, default=False
        Take about ``n_neighbors / n_classes`` nearest items from each
        class, so that every label is shown (guards the LLM against a
        majority bias).
    chunk_size : int, default=2048
        Queries scored at once (bounds memory on large data).

    Attributes
    ----------
    pool_embeddings_ : ndarray of shape (n_pool, n_features)
    pool_labels_ : ndarray
        The pool's labels, one per item.
    label_space_ : LabelSpace or None
        The ``space`` given to :meth:`fit`.

    See Also
    --------
    knn_demo_indices : The function underneath.

    Examples
    --------
    >>> import numpy as np
    >>> retriever = KNNRetriever().fit(np.eye(3), [0, 1, 1])
    >>> retriever.kneighbors(np.array([[1.0, 0.1, 0.0]]), 2).tolist()
    [[1, 0]]
    """

    _parameter_constraints = {
        "balanced": ["boolean"],
        "chunk_size": [Interval(Integral, 1, None, closed="left")],
    }

    def __init__(self, *, balanced=False, chunk_size=2048):
        self.balanced = balanced
        self.chunk_size = chunk_size

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, embeddings, labels, *, space=None):
        """Index the demonstration pool.

        Parameters
        ----------
        embeddings : array-like of shape (n_pool, n_features)
        labels : array-like
            Label of each pool item (a label id, without ``space``).
        space : LabelSpace, default=None
            What a label is, for ``balanced`` (see :func:`knn_demo_indices`).

        Returns
        -------
        self : KNNRetriever
        """
        self.pool_embeddings_ = np.asarray(embeddings, dtype=np.float32)
        self.pool_labels_ = np.asarray(labels)
        self.label_space_ = space
        if self.pool_embeddings_.ndim != 2 or len(self.pool_labels_) != len(self.pool_embeddings_):
            raise ValueError(
                f"embeddings must be 2-D with one row per label, got shape "
                f"{self.pool_embeddings_.shape} and {len(self.pool_labels_)} labels."
            )
        return self

    def kneighbors(self, embeddings, n_neighbors, *, exclude=None):
        """Pool indices of each query's nearest demonstrations, most similar last.

        Parameters
        ----------
        embeddings : array-like of shape (n_queries, n_features)
        n_neighbors : int
            Demonstrations per query (capped at the pool size).
        exclude : array-like of shape (n_queries,), default=None
            A pool index each query must not get (itself), or -1.

        Returns
        -------
        indices : ndarray of shape (n_queries, k), dtype=int64
        """
        check_is_fitted(self)
        return knn_demo_indices(
            embeddings, self.pool_embeddings_, n_neighbors, pool_labels=self.pool_labels_,
            balanced=self.balanced, exclude=exclude, chunk_size=self.chunk_size,
            space=self.label_space_,
        )
