"""Label distributions from what a model says: label scores and token logprobs.

Two sources, one result (a probability per label):

- a local model scores each label's whole token sequence from its logits
  (:func:`label_sequence_logprob`, run by the local labeler): the answer can
  only be a label, and the distribution covers every label, not only the
  greedy path;
- an OpenAI-compatible endpoint returns the answer's tokens with their
  ``top_logprobs``: :func:`distribution_from_logprobs` spreads the
  alternatives at the label's first token over the labels they begin.
"""

import math

import numpy as np

from .._validation import label_key

__all__ = [
    "distribution_from_logprobs",
    "distribution_from_scores",
    "label_surface_forms",
]


def label_surface_forms(label):
    """How a model may write a label: as given, lower-case, capitalised (distinct only).

    Examples
    --------
    >>> label_surface_forms("Sports")
    ['Sports', 'sports']
    """
    forms = [label, label.lower(), label[:1].upper() + label[1:]]
    return list(dict.fromkeys(forms))


def distribution_from_scores(logprobs):
    """A distribution over labels from each label's log-probability (softmax).

    Parameters
    ----------
    logprobs : array-like of shape (n_labels,)
        ``log p(label)`` under the model (the sum over its tokens), ``-inf``
        for a label it cannot write.

    Returns
    -------
    proba : ndarray of shape (n_labels,)
        Sums to one; NaN everywhere when no label is possible.

    Examples
    --------
    >>> distribution_from_scores([np.log(0.6), np.log(0.2)]).round(2).tolist()
    [0.75, 0.25]
    """
    scores = np.asarray(logprobs, dtype=np.float64)
    if not np.isfinite(scores).any():
        return np.full(scores.shape, np.nan)
    weights = np.exp(scores - scores[np.isfinite(scores)].max())
    return weights / weights.sum()


def _first_token_index(logprobs, start):
    """Index of the generated token that covers character ``start`` of the answer."""
    offset = 0
    for i, (token, _, _) in enumerate(logprobs):
        if offset + len(token) > start:
            return i, offset
        offset += len(token)
    return None, None


def distribution_from_logprobs(logprobs, span, answer, labels, label_id):
    """A distribution over labels from the ``top_logprobs`` of the answer's tokens.

    At the token where the chosen label starts, each alternative token that
    begins a label's name (ignoring case, spacing and punctuation) gives
    that label its probability; a token that begins several labels' names
    goes to the label it spells whole, else to the chosen label when it is
    one of them, else evenly to them (the chosen token itself always goes
    to the chosen label).
    The probability the top alternatives leave uncovered is spread evenly
    over all labels, so that no label is impossible.

    Parameters
    ----------
    logprobs : list of (str, float, list of (str, float)) or None
        Per generated token: its text, log-probability and top alternatives.
    span : tuple of (int, int) or None
        Where the chosen label is written in ``answer``.
    answer : str
    labels : list of str
    label_id : int
        The chosen label (-1: none).

    Returns
    -------
    proba : ndarray of shape (n_labels,)
        One-hot on ``label_id`` when there are no logprobs; NaN when there
        is no label.
    """
    n = len(labels)
    if label_id < 0 or span is None:
        return np.full(n, np.nan)
    onehot = np.eye(n)[label_id]
    if not logprobs:
        return onehot
    index, offset = _first_token_index(logprobs, span[0])
    if index is None:
        return onehot
    chosen_token, _, top = logprobs[index]
    lead = answer[offset:span[0]]  # characters of the token before the label (a quote, space)
    keys = [label_key(label) for label in labels]
    mass = np.zeros(n)
    seen = set()

    def normalised(token):  # the token's label characters, without the lead
        piece = token[len(lead):] if token.startswith(lead) else token
        return label_key(piece) if piece.strip() else ""

    chosen_norm = normalised(chosen_token)
    for alt, lp in [(chosen_token, logprobs[index][1])] + [tuple(a) for a in top]:
        norm = normalised(alt)
        if alt in seen or not norm:
            continue
        seen.add(alt)
        starts = [i for i, key in enumerate(keys) if key.startswith(norm)]
        exact = [i for i, key in enumerate(keys) if key == norm]
        if not starts:
            continue
        share = np.zeros(n)
        if label_id in starts and (not exact or norm == chosen_norm):
            share[label_id] = 1.0  # the chosen token, or one that begins the chosen label only
        elif exact:  # an alternative that is a whole label: "1" beside the chosen "10"
            share[exact] = 1.0
        else:
            share[starts] = 1.0 / len(starts)
        mass += math.exp(lp) * share
    if mass.sum() <= 0:
        return onehot
    left = max(0.0, 1.0 - sum(math.exp(lp) for _, lp in top)) if top else 0.0
    mass += left / n
    return mass / mass.sum()
