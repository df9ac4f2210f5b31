"""Pick a clean, representative demonstration pool (FreeAL, paper §3.3)."""

import numpy as np
from sklearn.utils import check_random_state

from .._fractions import ceil_share
from .._seeds import draw_seed
from ..labels import SingleLabelSpace

__all__ = ["select_demo_pool", "k_medoids"]


# Candidates FasterPAM runs on at most: its distance matrix is dense (n² floats;
# 3,000 candidates take 72 MB, 50,000 would take 20 GB).
MAX_MEDOID_CANDIDATES = 3000


def k_medoids(embeddings, n_medoids, *, random_state=None,
              max_samples=MAX_MEDOID_CANDIDATES):
    """Indices of ``n_medoids`` true medoids of the rows of ``embeddings``.

    Runs FasterPAM (the ``kmedoids`` package) on cosine distances, so every
    returned index is an actual sample: the most central text of its cluster.
    Above ``max_samples`` rows it runs on a random sample of that many
    (CLARA's approximation), so that memory stays bounded on large data.

    Parameters
    ----------
    embeddings : ndarray of shape (n_samples, n_features)
    n_medoids : int
        Number of medoids; all samples are returned when there are no more
        than that.
    random_state : int, RandomState instance or None, default=None
        Seed of FasterPAM's random initialisation and swaps, and of the
        sample drawn above ``max_samples`` rows.
    max_samples : int, default=3000
        Rows FasterPAM sees at most.

    Returns
    -------
    medoids : ndarray of shape (min(n_medoids, n_samples),), dtype=int64
        Sorted indices into ``embeddings``.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[1, 0], [0.99, 0.1], [0, 1], [0.1, 0.99]])
    >>> k_medoids(X, 2, random_state=0).size
    2
    """
    embeddings = np.asarray(embeddings, dtype=np.float64)
    n_samples = embeddings.shape[0]
    if n_medoids >= n_samples:
        return np.arange(n_samples, dtype=np.int64)
    import kmedoids

    rng = check_random_state(random_state)
    seed = draw_seed(rng)
    rows = np.arange(n_samples)
    if n_samples > max(max_samples, n_medoids):
        rows = np.sort(rng.choice(n_samples, max(max_samples, n_medoids), replace=False))
    chosen = embeddings[rows] if rows.size < n_samples else embeddings
    norms = np.linalg.norm(chosen, axis=1, keepdims=True)
    unit = chosen / np.where(norms > 0, norms, 1.0)
    distances = unit @ unit.T
    np.subtract(1.0, distances, out=distances)  # in place: one n² matrix, not three
    np.clip(distances, 0.0, None, out=distances)
    np.fill_diagonal(distances, 0.0)
    result = kmedoids.fasterpam(distances, n_medoids, init="build", random_state=seed)
    return np.sort(rows[np.asarray(result.medoids, dtype=np.int64)])


def select_demo_pool(
    embeddings, losses, labels, *, clean_mask=None, top_percent=0.2, per_class=10,
    random_state=None, space=None,
):
    """Choose the demonstration pool: per class, small loss first, then medoids.

    For each class, among the candidate samples of that class (clean ones when
    ``clean_mask`` is given), keep the ``top_percent`` fraction with the
    smallest loss (at least ``per_class``), then return the ``per_class``
    k-medoids of their embeddings. A class with no clean candidate falls back
    to its smallest-loss samples, so that every class present in ``labels``
    keeps demonstrations.

    Parameters
    ----------
    embeddings : ndarray of shape (n_samples, n_features)
        Sample embeddings (the SLM's, in FreeAL).
    losses : ndarray of shape (n_samples,)
        Per-sample losses against ``labels``.
    labels : ndarray of shape (n_samples,)
        Each sample's label in ``space`` (by default a class id, ``-1`` for
        none); samples without a label are never chosen.
    clean_mask : ndarray of shape (n_samples,) of bool, default=None
        Which samples are candidates. None: all labelled samples.
    top_percent : float, default=0.2
        Fraction (R) of each class's candidates kept by smallest loss.
    per_class : int, default=10
        Medoids (demonstrations) per class.
    random_state : int, RandomState instance or None, default=None
        Seed of the k-medoids search.
    space : LabelSpace, default=None
        What a label is (:mod:`skfreeal.labels`): a sample is a candidate
        for every label it carries. None: one class id per sample.

    Returns
    -------
    indices : ndarray of int64
        Indices of the chosen samples, grouped by class, each once.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.RandomState(0)
    >>> emb, loss = rng.randn(40, 8), rng.rand(40)
    >>> labels = np.repeat([0, 1], 20)
    >>> idx = select_demo_pool(emb, loss, labels, top_percent=0.5, per_class=3, random_state=0)
    >>> np.bincount(labels[idx]).tolist()
    [3, 3]
    """
    embeddings = np.asarray(embeddings)
    losses = np.asarray(losses, dtype=np.float64)
    labels = np.asarray(labels)
    n = labels.shape[0]
    if embeddings.shape[0] != n or losses.shape[0] != n:
        raise ValueError(
            f"embeddings ({embeddings.shape[0]}), losses ({losses.shape[0]}) and labels ({n}) "
            "must have one row per sample."
        )
    if not 0 < top_percent <= 1:
        raise ValueError(f"top_percent must be in (0, 1], got {top_percent!r}.")
    if per_class < 1:
        raise ValueError(f"per_class must be a positive integer, got {per_class!r}.")
    if space is None:  # one class id per sample
        space = SingleLabelSpace(np.arange(int(labels.max(initial=-1)) + 1))
    candidates = space.is_known(labels) & np.isfinite(losses)
    clean = candidates if clean_mask is None else candidates & np.asarray(clean_mask, bool)
    rng = check_random_state(random_state)
    chosen = []
    for cls in range(space.n_labels):
        carries = space.carriers(labels, cls)
        if not (candidates & carries).any():
            continue
        pool = np.flatnonzero(clean & carries)
        if pool.size == 0:  # no clean sample of this class: fall back to all of it
            pool = np.flatnonzero(candidates & carries)
        n_keep = min(pool.size, max(per_class, ceil_share(top_percent, pool.size)))
        pool = pool[np.argsort(losses[pool], kind="stable")[:n_keep]]
        medoids = k_medoids(embeddings[pool], per_class, random_state=rng)
        chosen.append(pool[medoids])
    return _each_once(chosen)


def _each_once(chosen):
    """The chosen indices in order, each once: a sample that carries several labels may be
    chosen for each of them."""
    if not chosen:
        return np.zeros(0, dtype=np.int64)
    idx = np.concatenate(chosen).astype(np.int64)
    return idx[np.sort(np.unique(idx, return_index=True)[1])]
