"""Input checks shared by every estimator of the package."""

from collections.abc import Iterable
from numbers import Integral

import numpy as np

__all__ = ["check_texts", "check_partial_labels"]


def check_texts(X, *, name="X", allow_empty_strings=True):
    """Validate a collection of texts and return it as a list of ``str``.

    Parameters
    ----------
    X : iterable of str
        The texts. A bare string, an empty collection and non-text items are
        rejected; a 2-D array or DataFrame with a single column is accepted.
    name : str, default="X"
        The parameter name used in error messages.
    allow_empty_strings : bool, default=True
        Whether ``""`` (or whitespace only) is accepted as a text.

    Returns
    -------
    texts : list of str

    Raises
    ------
    TypeError
        If ``X`` is a bare string or holds a non-text item.
    ValueError
        If ``X`` is empty, or has more than one column.

    Examples
    --------
    >>> check_texts(["good", "bad"])
    ['good', 'bad']
    """
    if isinstance(X, (str, bytes)):
        raise TypeError(
            f"{name} must be an iterable of texts, got a single {type(X).__name__}: "
            f"{_short(X)!r}. Wrap it in a list: [{_short(X)!r}]."
        )
    if hasattr(X, "iloc") and getattr(X, "ndim", 1) == 2:  # DataFrame
        if X.shape[1] != 1:
            raise ValueError(
                f"{name} must hold a single text column, got a frame of shape {X.shape}."
            )
        X = X.iloc[:, 0]
    if isinstance(X, np.ndarray) and X.ndim == 2:
        if X.shape[1] != 1:
            raise ValueError(
                f"{name} must hold a single text column, got an array of shape {X.shape}."
            )
        X = X[:, 0]
    if not isinstance(X, Iterable):
        raise TypeError(
            f"{name} must be an iterable of texts, got {type(X).__name__}."
        )
    texts = list(X)
    if len(texts) == 0:
        raise ValueError(f"{name} is empty: at least one text is expected.")
    for i, text in enumerate(texts):
        if isinstance(text, np.str_):
            texts[i] = text = str(text)
        if not isinstance(text, str):
            raise TypeError(
                f"{name}[{i}] must be a str, got {type(text).__name__}: {_short(text)!r}."
            )
        if not allow_empty_strings and not text.strip():
            raise ValueError(f"{name}[{i}] is an empty text.")
    return texts


def check_partial_labels(y, n_samples, *, name="y"):
    """Validate labels where ``-1`` or ``None`` (or NaN) means "no label".

    Parameters
    ----------
    y : array-like of shape (n_samples,)
        Class labels of any hashable type; ``-1``, ``None`` and NaN mark
        unlabelled samples.
    n_samples : int
        The expected length.
    name : str, default="y"
        The parameter name used in error messages.

    Returns
    -------
    classes : ndarray
        The sorted distinct labels (unlabelled markers excluded).
    y_encoded : ndarray of shape (n_samples,), dtype=int64
        Index into ``classes`` for each sample, ``-1`` when unlabelled.

    Examples
    --------
    >>> classes, codes = check_partial_labels(["b", None, "a", -1], 4)
    >>> list(classes), codes.tolist()
    (['a', 'b'], [1, -1, 0, -1])
    """
    if isinstance(y, (str, bytes)):
        raise TypeError(f"{name} must be an array-like of labels, got a single string {y!r}.")
    values = list(y)
    if len(values) != n_samples:
        raise ValueError(
            f"{name} has {len(values)} entries but X has {n_samples} texts; they must match."
        )
    missing = np.array([_is_missing(v) for v in values], dtype=bool)
    known = [v.item() if isinstance(v, np.generic) else v for v, m in zip(values, missing) if not m]
    types = {type(v) for v in known}
    if any(issubclass(t, Integral) and not issubclass(t, bool) for t in types) and any(
        issubclass(t, str) for t in types
    ):
        raise TypeError(f"{name} mixes integer and string labels: {sorted(map(str, types))}.")
    classes = np.array(sorted(set(known))) if known else np.array([])
    lookup = {c.item() if isinstance(c, np.generic) else c: i for i, c in enumerate(classes)}
    codes = np.full(n_samples, -1, dtype=np.int64)
    codes[~missing] = [lookup[v] for v in known]
    return classes, codes


def _is_missing(value):
    if value is None:
        return True
    if isinstance(value, (float, np.floating)) and np.isnan(value):
        return True
    if isinstance(value, (Integral, np.integer)) and not isinstance(value, bool) and value == -1:
        return True
    return False


def _short(value, limit=40):
    text = str(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
