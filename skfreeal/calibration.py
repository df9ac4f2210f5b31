"""Label distributions: prior calibration without gold labels, LLM/student fusion, and
the per-label thresholds of label sets.

An LLM asked to pick a label is tilted towards some labels whatever the text
(the label it saw last, the more frequent word, ...). Two gold-free remedies
divide that tilt out of each text's label distribution before the argmax:

- **batch calibration** (Zhou et al., 2023): the tilt is the mean label
  distribution over the texts annotated with the same kind of prompt; no
  extra call;
- **contextual calibration** (Zhao et al., 2021): the tilt is the
  distribution the LLM gives to content-free inputs (``"N/A"``, an empty
  text, ``"[MASK]"``) in the same prompt; a few extra calls.

A set of labels judged one label at a time (a probability per label, the
rows not summing to one) has a tilt per label: the model says "yes" to some
labels more readily than to others whatever the text. Only contextual
calibration applies to it (:func:`label_set_prior`,
:func:`calibrate_label_sets`), and only the tilt *between* the labels is
divided out:

- each label's probability is a yes/no distribution of its own, and label
  ``k``'s tilt is its mean P(yes) on the content-free inputs; the part
  of it shared by every label (their mean log-odds) is kept, so a label
  the model says yes to more readily than to the others on a text with no
  content loses that excess, and the others gain what it loses;
- the absolute level is not divided out: a model that says no to every
  label on ``"N/A"`` is right to, and dividing that out (Zhao et al.'s
  uniform target, P(yes) = 1/2 on the content-free inputs) would give
  every label to any text that hints at it, rare labels most;
- batch calibration is left out: a label's mean P(yes) over a batch is
  its frequency in the data times the tilt, and without gold labels the two
  cannot be told apart, so dividing it out (absolutely, or between the
  labels) would push every label towards the same frequency, wrong where
  labels are rare. A content-free input has no frequency to confound.

Pure functions of probability arrays; the labelers and
:class:`~skfreeal.FreeALClassifier` call them.
"""

import numpy as np

__all__ = [
    "CONTENT_FREE_INPUTS",
    "batch_prior",
    "calibrate",
    "calibrate_label_sets",
    "frequency_thresholds",
    "fuse_distributions",
    "label_set_prior",
    "most_probable",
    "normalize_rows",
]

#: Inputs that carry no content, for contextual calibration.
CONTENT_FREE_INPUTS = ("N/A", "[MASK]", "")


def normalize_rows(proba):
    """Rows scaled to sum to one; a row of zeros or NaN stays NaN (no distribution).

    Examples
    --------
    >>> normalize_rows([[2.0, 2.0], [0.0, 0.0]]).tolist()
    [[0.5, 0.5], [nan, nan]]
    """
    proba = np.asarray(proba, dtype=np.float64)
    total = np.nansum(proba, axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, proba / total, np.nan)


def calibrate(proba, prior):
    """Divide a tilt out of label distributions: ``p(y|x) / prior(y)``, renormalised.

    Parameters
    ----------
    proba : array-like of shape (n_samples, n_classes)
        Label distributions; rows of NaN (no answer) stay NaN.
    prior : array-like of shape (n_classes,) or None
        The tilt: the mean distribution of a batch (batch calibration) or
        the distribution of content-free inputs (contextual calibration).
        None leaves ``proba`` as it is. Zero entries are floored at 1e-6 of
        the largest, so that a label the LLM never gives can still win when
        a text makes it likely.

    Returns
    -------
    calibrated : ndarray of shape (n_samples, n_classes)

    Examples
    --------
    >>> p = np.array([[0.7, 0.3], [0.9, 0.1], [0.6, 0.4]])
    >>> calibrate(p, p.mean(axis=0)).argmax(axis=1).tolist()   # the LLM's tilt to label 0 removed
    [1, 0, 1]
    """
    proba, prior = _checked_prior(proba, prior, "class")
    if prior is None or prior.max() <= 0:
        return proba.copy()
    return normalize_rows(proba / np.maximum(prior, 1e-6 * prior.max()))


def _checked_prior(proba, prior, entry):
    """``proba`` as floats, and ``prior`` of one ``entry`` per column (None: no finite tilt)."""
    proba = np.asarray(proba, dtype=np.float64)
    if prior is None:
        return proba, None
    prior = np.asarray(prior, dtype=np.float64)
    if prior.shape != (proba.shape[1],):
        raise ValueError(
            f"prior must have one entry per {entry} ({proba.shape[1]}), got shape {prior.shape}."
        )
    return proba, (prior if np.all(np.isfinite(prior)) else None)


def batch_prior(proba, *, pseudo_count=5.0):
    """The mean label distribution of a batch, shrunk towards uniform for small batches.

    A batch of a few texts says little about the LLM's tilt (one text's own
    distribution is no tilt at all): the mean of the ``n`` rows that have a
    distribution is averaged with the uniform distribution weighted as
    ``pseudo_count`` texts per label.

    Parameters
    ----------
    proba : array-like of shape (n_samples, n_classes)
        Label distributions; NaN rows are left out.
    pseudo_count : float, default=5.0
        Uniform pseudo-texts per label.

    Returns
    -------
    prior : ndarray of shape (n_classes,) or None
        None when no row has a distribution.

    Examples
    --------
    >>> batch_prior([[0.9, 0.1]]).round(3).tolist()      # one text: almost no tilt
    [0.536, 0.464]
    >>> batch_prior([[0.9, 0.1]] * 1000).round(2).tolist()
    [0.9, 0.1]
    """
    proba = np.asarray(proba, dtype=np.float64)
    known = np.all(np.isfinite(proba), axis=1)
    if not known.any():
        return None
    n_classes = proba.shape[1]
    weight = pseudo_count * n_classes
    return (proba[known].sum(axis=0) + weight / n_classes) / (known.sum() + weight)


def label_set_prior(proba, *, pseudo_count=5.0):
    """Each label's mean P(yes) over answers, shrunk towards the mean over the labels.

    The tilt of a set of labels judged one at a time (for contextual
    calibration: the answers to the content-free inputs). A few answers say
    little about it: label ``k``'s mean over the ``n`` rows that have an
    answer is averaged with the mean over every label, weighted as
    ``pseudo_count`` answers per outcome (yes, no), as
    :func:`batch_prior` weighs a distribution over two labels. So the tilt
    between the labels is damped, never the level they share, which
    :func:`calibrate_label_sets` keeps anyway.

    Parameters
    ----------
    proba : array-like of shape (n_answers, n_labels)
        Each answer's probability of each label (rows need not sum to
        one); rows with a NaN are left out.
    pseudo_count : float, default=5.0
        Pseudo-answers per outcome, at the mean over the labels.

    Returns
    -------
    prior : ndarray of shape (n_labels,) or None
        None when no row has an answer.

    Examples
    --------
    >>> content_free = [[0.9, 0.2, 0.2], [0.7, 0.1, 0.3], [0.8, 0.2, 0.1]]
    >>> label_set_prior(content_free, pseudo_count=0).round(3).tolist()
    [0.8, 0.167, 0.2]
    >>> label_set_prior(content_free).round(3).tolist()    # 3 answers: damped
    [0.484, 0.338, 0.345]
    """
    proba = np.asarray(proba, dtype=np.float64)
    known = np.all(np.isfinite(proba), axis=1)
    if not known.any():
        return None
    weight = 2.0 * pseudo_count
    return (proba[known].sum(axis=0) + weight * proba[known].mean()) / (known.sum() + weight)


def calibrate_label_sets(proba, prior):
    """Divide each label's tilt, relative to the mean over the labels, out of its P(yes).

    Label ``k``'s probability ``p`` is a yes/no distribution ``(p, 1 - p)``;
    it is divided by its tilt ``(t_k, 1 - t_k)`` and multiplied by the
    reference ``(t, 1 - t)`` whose log-odds are the mean over the labels
    of the tilts' log-odds, then renormalised. In log-odds::

        logit p'_k = logit p_k - (logit t_k - mean_j logit t_j)

    A label at the mean tilt is left as it is, one said yes to more readily
    than the others loses the excess, and a text as void as the
    content-free inputs gets the same P(yes) for every label (the
    reference), not 1/2: see :mod:`skfreeal.calibration` for why the
    shared level is kept. A probability of 0 or 1 (a written answer's
    one-hot row) stays as it is.

    Parameters
    ----------
    proba : array-like of shape (n_samples, n_labels)
        Each text's probability of each label; rows with a NaN (no answer)
        stay NaN.
    prior : array-like of shape (n_labels,) or None
        Each label's tilt, a P(yes) (:func:`label_set_prior` of the
        content-free answers). None leaves ``proba`` as it is, so does a
        prior equal for every label. Entries are clipped to
        ``[1e-6, 1 - 1e-6]``.

    Returns
    -------
    calibrated : ndarray of shape (n_samples, n_labels)

    Examples
    --------
    The model says yes to label 0 on content-free inputs far more readily
    than to the others; its excess is removed and the other labels gain:

    >>> p = np.array([[0.7, 0.6, 0.1], [0.6, 0.1, 0.2]])
    >>> calibrate_label_sets(p, [0.8, 0.167, 0.2]).round(2).tolist()
    [[0.25, 0.81, 0.21], [0.18, 0.24, 0.37]]
    >>> calibrate_label_sets(p, [0.3, 0.3, 0.3]).round(2).tolist()  # no tilt between labels
    [[0.7, 0.6, 0.1], [0.6, 0.1, 0.2]]
    """
    proba, prior = _checked_prior(proba, prior, "label")
    if prior is None:
        return proba.copy()
    tilt = np.clip(prior, 1e-6, 1 - 1e-6)
    log_odds = np.log(tilt) - np.log1p(-tilt)
    factor = np.exp(log_odds.mean() - log_odds)  # the odds of yes are multiplied by it
    yes = proba * factor
    return yes / (yes + (1.0 - proba))


def fuse_distributions(llm_proba, student_proba, rule):
    """Combine the LLM's and the student's label distributions of the same texts.

    Parameters
    ----------
    llm_proba : array-like of shape (n_samples, n_classes)
        The LLM's (calibrated) distributions; NaN rows: no answer.
    student_proba : array-like of shape (n_samples, n_classes)
        The student's class probabilities of the same texts.
    rule : {"llm", "product"}
        ``"llm"`` keeps the LLM's; ``"product"`` multiplies the two and
        renormalises (a text whose LLM answer and student disagree gets
        the label both find most plausible); a text the LLM did not answer
        keeps no distribution.

    Returns
    -------
    fused : ndarray of shape (n_samples, n_classes)

    Examples
    --------
    >>> llm = np.array([[0.55, 0.45], [0.9, 0.1]])
    >>> student = np.array([[0.2, 0.8], [0.3, 0.7]])
    >>> fuse_distributions(llm, student, "product").argmax(axis=1).tolist()
    [1, 0]
    """
    llm_proba = np.asarray(llm_proba, dtype=np.float64)
    if rule == "llm":
        return llm_proba.copy()
    if rule != "product":
        raise ValueError(f"rule must be 'llm' or 'product', got {rule!r}.")
    student_proba = np.clip(np.asarray(student_proba, dtype=np.float64), 1e-6, None)
    return normalize_rows(llm_proba * student_proba)


def most_probable(proba):
    """The most probable label of each row (-1 where there is no distribution) and its probability.

    Examples
    --------
    >>> ids, p = most_probable(np.array([[0.2, 0.8], [np.nan, np.nan]]))
    >>> ids.tolist(), p.tolist()
    ([1, -1], [0.8, 0.0])
    """
    proba = np.asarray(proba, dtype=np.float64)
    known = np.all(np.isfinite(proba), axis=1)
    ids = np.full(proba.shape[0], -1, dtype=np.int64)
    confidence = np.zeros(proba.shape[0])
    if known.any():
        ids[known] = proba[known].argmax(axis=1)
        confidence[known] = proba[known].max(axis=1)
    return ids, confidence


def frequency_thresholds(proba, labels):
    """Per-label thresholds under which each label is as frequent as in ``labels`` (no gold).

    For label sets (one probability per label): label ``k``'s threshold is
    put half-way between the ``m``-th and the ``m+1``-th largest
    probability of ``k`` among the texts with a known label set, ``m``
    being the texts whose set in ``labels`` carries ``k``; so a model's
    probabilities cut there give ``k`` to as many of these texts as
    ``labels`` does (fewer where probabilities tie). A label no text
    carries gets a threshold above every probability, one every text
    carries one below them all.

    Parameters
    ----------
    proba : array-like of shape (n_texts, n_labels)
        A model's probability of each label, for the texts of ``labels``.
    labels : array-like of shape (n_texts, n_labels)
        Indicator rows (1: carried, 0: not), a row of -1 for an unknown
        label set (left out).

    Returns
    -------
    thresholds : ndarray of shape (n_labels,)
        In (0, 1); 0.5 for every label when no label set is known.

    Examples
    --------
    >>> proba = [[0.9, 0.30], [0.6, 0.20], [0.2, 0.45], [0.1, 0.05]]
    >>> labels = [[1, 0], [1, 1], [0, 1], [0, 0]]
    >>> frequency_thresholds(proba, labels).round(3).tolist()
    [0.4, 0.25]
    """
    proba = np.asarray(proba, dtype=np.float64)
    labels = np.asarray(labels)
    known = np.all(labels >= 0, axis=1)
    thresholds = np.full(proba.shape[1], 0.5)
    if not known.any():
        return thresholds
    p = -np.sort(-proba[known], axis=0)  # each label's probabilities, largest first
    edges = np.vstack([np.ones((1, p.shape[1])), p, np.zeros((1, p.shape[1]))])
    m = np.sum(labels[known] == 1, axis=0)
    cols = np.arange(p.shape[1])
    thresholds = (edges[m, cols] + edges[m + 1, cols]) / 2
    return np.clip(thresholds, 1e-6, 1 - 1e-6)
