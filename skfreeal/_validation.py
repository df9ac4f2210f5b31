"""Input checks shared by every estimator of the package, the labelers and the CLI.

One checker per kind of input, so that a value refused in one place is
refused everywhere, before anything is embedded or paid for.
"""

import re
import unicodedata
from collections.abc import Iterable, Mapping, Set
from numbers import Integral, Real

import numpy as np

__all__ = [
    "check_eval_set",
    "check_fit_texts",
    "check_label_names",
    "label_descriptions",
    "check_partial_indicator",
    "check_partial_labels",
    "check_texts",
    "is_indicator_target",
    "label_key",
]


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
        If ``X`` is a bare string, a mapping or a set (its order is not the
        caller's, or its keys would be taken for the texts), or holds a
        non-text item.
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
    if isinstance(X, Mapping):
        raise TypeError(
            f"{name} must be an iterable of texts, got a {type(X).__name__}: its keys would be "
            f"taken for the texts. Pass list({name}.values()) or list({name}.keys())."
        )
    if isinstance(X, Set):
        raise TypeError(
            f"{name} must be an ordered iterable of texts, got a {type(X).__name__}, whose order "
            "is arbitrary: the results could not be matched to the texts. Pass a list."
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


def check_fit_texts(X, *, name="X"):
    """Validate the training texts of a FreeAL fit: at least two distinct texts.

    What :func:`check_texts` checks, plus what the loop needs before it pays
    for a call: with one distinct text the LLM's labels cannot hold two
    classes, and the student, the noise filter and the demonstration pool
    have nothing to compare.

    Parameters
    ----------
    X : iterable of str
    name : str, default="X"

    Returns
    -------
    texts : list of str

    Raises
    ------
    ValueError
        If ``X`` holds fewer than two distinct non-empty texts.

    Examples
    --------
    >>> check_fit_texts(["good", "bad"])
    ['good', 'bad']
    """
    texts = check_texts(X, name=name)
    distinct = {text.strip() for text in texts if text.strip()}
    if len(distinct) < 2:
        shown = f"{len(texts)} text(s), {len(distinct)} distinct and non-empty"
        raise ValueError(
            f"{name} must hold at least two distinct texts for FreeAL to label and learn from, "
            f"got {shown}: the LLM's labels could not hold two classes. No LLM call was made."
        )
    return texts


def label_key(label):
    """The form in which two label names count as the same name.

    Lower-case words, ``&`` read as ``and``; punctuation and spacing are
    ignored (an LLM's answer cannot tell ``"very good"`` from
    ``"very-good"``). A name of symbols only is its stripped self.

    Examples
    --------
    >>> label_key("Society & Culture") == label_key("society and culture")
    True
    """
    words = re.findall(r"[^\W_]+", label.replace("&", " and ").lower())
    return " ".join(words) or label.strip()


def check_label_names(labels, *, name="labels"):
    """Validate label names and return them as a list of ``str``.

    The one check of label names, used by :class:`~skfreeal.FreeALClassifier`,
    the labelers and the command line, so that a name refused in one place
    is refused everywhere before any text is embedded or sent to an LLM.

    Parameters
    ----------
    labels : sequence of str
        At least two names, each a non-empty single line of text, distinct
        once case, spacing and punctuation are ignored (an answer could not
        tell such names apart).
    name : str, default="labels"
        The parameter name used in error messages.

    Returns
    -------
    labels : list of str

    Raises
    ------
    TypeError
        If ``labels`` is a single string, None, or holds a non-string.
    ValueError
        If there are fewer than two names, an empty or multi-line name, or
        two names that cannot be told apart.

    Examples
    --------
    >>> check_label_names(["negative", "positive"])
    ['negative', 'positive']
    """
    if labels is None:
        raise TypeError(
            f"{name} is None: give the label names, e.g. {name}=['negative', 'positive']."
        )
    if isinstance(labels, (str, bytes)):
        raise TypeError(f"{name} must be a list of label names, got a single string {labels!r}.")
    if not isinstance(labels, Iterable):
        raise TypeError(f"{name} must be a list of label names, got {type(labels).__name__}.")
    names = [str(v) if isinstance(v, np.str_) else v for v in labels]
    if len(names) < 2:
        raise ValueError(f"{name} must hold at least two label names, got {names!r}.")
    seen = {}
    for i, label in enumerate(names):
        if not isinstance(label, str) or not label.strip():
            raise ValueError(f"{name}[{i}] must be a non-empty str, got {label!r}.")
        if any(unicodedata.category(c).startswith("C") for c in label):
            raise ValueError(
                f"{name}[{i}] must be one line of text without control characters, got "
                f"{label!r}: it goes into the LLM's prompt verbatim."
            )
        key = label_key(label)
        if key in seen:
            j = seen[key]
            raise ValueError(
                f"{name} must be distinct names: {name}[{i}]={label!r} cannot be told apart "
                f"from {name}[{j}]={names[j]!r} in an answer (case, spacing and punctuation "
                "are ignored)."
            )
        seen[key] = i
    return names


def label_descriptions(labels, *, name="labels"):
    """The descriptions of label names given as a mapping ``{name: description}``.

    Parameters
    ----------
    labels : sequence of str or mapping of str to str
        The label names, or each name with a short description for the LLM.
    name : str, default="labels"
        The parameter name used in error messages.

    Returns
    -------
    descriptions : dict of str to str or None
        None when ``labels`` is a plain sequence of names.

    Raises
    ------
    ValueError
        If a description is not a non-empty single line of text.

    Examples
    --------
    >>> label_descriptions({"billing": "invoices, refunds", "login": "passwords, 2FA"})
    {'billing': 'invoices, refunds', 'login': 'passwords, 2FA'}
    >>> label_descriptions(["billing", "login"]) is None
    True
    """
    if not isinstance(labels, Mapping):
        return None
    out = {}
    for label, text in labels.items():
        if not isinstance(text, str) or not text.strip() or "\n" in text.strip():
            raise ValueError(
                f"{name}[{label!r}] must describe the label in one line of text (the LLM "
                f"reads it in its prompt), got {text!r}.")
        out[str(label)] = text.strip()
    return out


def check_partial_labels(y, n_samples, *, classes=None, name="y"):
    """Validate labels where ``-1`` or ``None`` (or NaN) means "no label".

    Parameters
    ----------
    y : array-like of shape (n_samples,)
        Class labels of any hashable type; ``-1``, ``None`` and NaN mark
        unlabelled samples.
    n_samples : int
        The expected length.
    classes : sequence of str, default=None
        The known classes. When given, each label must be one of them (by
        name) or a class id in ``[0, len(classes))``, and ``classes`` is
        returned as it is; when None, the classes are the sorted distinct
        labels of ``y``.
    name : str, default="y"
        The parameter name used in error messages.

    Returns
    -------
    classes : ndarray
        The classes (unlabelled markers excluded).
    y_encoded : ndarray of shape (n_samples,), dtype=int64
        Index into ``classes`` for each sample, ``-1`` when unlabelled.

    Examples
    --------
    >>> classes, codes = check_partial_labels(["b", None, "a", -1], 4)
    >>> classes.tolist(), codes.tolist()
    (['a', 'b'], [1, -1, 0, -1])
    >>> check_partial_labels(["pos", 0, None], 3, classes=["neg", "pos"])[1].tolist()
    [1, 0, -1]
    """
    if isinstance(y, (str, bytes)):
        raise TypeError(f"{name} must be an array-like of labels, got a single string {y!r}.")
    values = list(y)
    if len(values) != n_samples:
        raise ValueError(
            f"{name} has {len(values)} entries but X has {n_samples} texts; they must match."
        )
    missing = np.array([_is_missing(v) for v in values], dtype=bool)
    if classes is not None:
        return _encode_known(values, missing, list(classes), name)
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


def is_indicator_target(y):
    """Whether ``y`` is a 2-D target with several columns: scikit-learn's multi-label form.

    A column vector, shape ``(n, 1)``, is not one (scikit-learn reads it
    as one label per sample), nor is a sequence of label names.
    """
    from scipy.sparse import issparse

    if issparse(y):
        return y.shape[1] > 1
    if isinstance(y, (str, bytes)):
        return False
    shape = getattr(y, "shape", None)
    if shape is None:
        try:
            shape = np.asarray(y, dtype=object).shape
        except ValueError:  # ragged rows: label sets, not an indicator matrix
            return False
    return len(shape) == 2 and shape[1] > 1


def check_partial_indicator(y, n_samples, *, name="y"):
    """Validate an indicator matrix of labels where a row of -1 (or NaN) means "no labels".

    Parameters
    ----------
    y : array-like or sparse matrix of shape (n_samples, n_labels)
        1 where a sample carries the label, 0 where not; a row of -1 or NaN
        marks an unlabelled sample.
    n_samples : int
        The expected number of rows.
    name : str, default="y"
        The parameter name used in error messages.

    Returns
    -------
    y : ndarray of shape (n_samples, n_labels), dtype=float32
        The rows in {0, 1}, unlabelled rows all -1.

    Examples
    --------
    >>> check_partial_indicator([[1, 0, 1], [-1, -1, -1]], 2).tolist()
    [[1.0, 0.0, 1.0], [-1.0, -1.0, -1.0]]
    """
    from scipy.sparse import issparse

    values = y.toarray() if issparse(y) else np.asarray(y)
    if values.ndim != 2 or values.shape[0] != n_samples:
        raise ValueError(
            f"{name} must be an indicator matrix of shape ({n_samples}, n_labels), one row per "
            f"text, got shape {values.shape}.")
    try:
        values = values.astype(np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must hold 0 and 1 (and -1 or NaN for unlabelled rows), got "
                         f"values of dtype {values.dtype}.") from None
    values = np.where(np.isnan(values), -1.0, values)
    bad = np.argwhere(~np.isin(values, (0.0, 1.0, -1.0)))
    if bad.size:
        i, k = bad[0]
        raise ValueError(f"{name}[{i}, {k}] = {values[i, k]:g}: an indicator matrix holds 0 "
                         "and 1 (a row of -1 or NaN for an unlabelled text).")
    missing = values < 0
    partial = np.flatnonzero(missing.any(axis=1) & ~missing.all(axis=1))
    if partial.size:
        raise ValueError(
            f"{name}[{partial[0]}] = {values[partial[0]].tolist()} mixes known and unknown "
            f"labels ({partial.size} such row(s)): a row is labelled in full, or all -1.")
    return values.astype(np.float32)


def check_eval_set(eval_set, classes):
    """Validate a monitoring set ``(X_eval, y_eval)`` of texts and gold label names.

    Parameters
    ----------
    eval_set : tuple (X_eval, y_eval) or None
    classes : sequence of str
        The label names ``y_eval`` must come from.

    Returns
    -------
    eval_set : tuple (list of str, ndarray of str) or None
    """
    if eval_set is None:
        return None
    if not isinstance(eval_set, (tuple, list)) or len(eval_set) != 2:
        raise TypeError(
            f"eval_set must be a pair (X_eval, y_eval), got {type(eval_set).__name__}."
        )
    texts = check_texts(eval_set[0], name="eval_set[0]")
    if isinstance(eval_set[1], (str, bytes)):
        raise TypeError("eval_set[1] must be the label names of eval_set[0], got a single string.")
    labels = np.asarray([str(v) for v in eval_set[1]], dtype=object)
    if labels.shape[0] != len(texts):
        raise ValueError(
            f"eval_set[1] has {labels.shape[0]} labels but eval_set[0] has {len(texts)} texts; "
            "they must match."
        )
    unknown = sorted(set(labels) - set(classes))
    if unknown:
        raise ValueError(f"eval_set[1] holds labels not in labels {list(classes)}: {unknown[:5]}.")
    return texts, labels


def _encode_known(values, missing, classes, name):
    lookup = {label: i for i, label in enumerate(classes)}
    codes = np.full(len(values), -1, dtype=np.int64)
    for i, value in enumerate(values):
        if missing[i]:
            continue
        value = value.item() if isinstance(value, np.generic) else value
        if isinstance(value, Integral) and not isinstance(value, bool) and 0 <= value < len(classes):
            codes[i] = int(value)
        elif isinstance(value, str) and value in lookup:
            codes[i] = lookup[value]
        else:
            raise ValueError(
                f"{name}[{i}] = {value!r} is not one of labels {classes} "
                "(use -1 or None for unlabelled texts)."
            )
    return np.asarray(classes, dtype=object), codes


def _is_missing(value):
    if value is None:
        return True
    if isinstance(value, (float, np.floating)) and np.isnan(value):
        return True
    # -1 marks an unlabelled text, also as a float (a column that mixes -1 and NaN)
    if isinstance(value, (Real, np.number)) and not isinstance(value, bool) and value == -1:
        return True
    return False


def _short(value, limit=40):
    text = str(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
