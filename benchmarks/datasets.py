"""Label noise for the student benchmark; the data sets come from :mod:`skfreeal.datasets`.

The student benchmark (``robust_slm.py``) reads its tweets with
``skfreeal.datasets.load_tweets(deduplicate=True, split="consecutive")``,
which gives the texts, labels and order that this module's former
``load_tweets_binary`` gave.
"""

import numpy as np

__all__ = ["add_label_noise"]

LABELS = ("negative", "positive")


def add_label_noise(y, rate, *, classes=LABELS, source=None, random_state=0):
    """Flip a fraction of labels.

    Parameters
    ----------
    y : ndarray of str
        Clean labels.
    rate : float
        Fraction of the samples (symmetric) or of the ``source`` class
        (asymmetric) whose label is flipped.
    classes : sequence of str, default=("negative", "positive")
    source : str, default=None
        None: symmetric noise, each flipped label goes to a different class
        drawn uniformly. A class name: only that class is flipped, to the
        next class in ``classes`` (asymmetric noise).
    random_state : int, default=0

    Returns
    -------
    y_noisy : ndarray of str
    flipped : ndarray of bool
    """
    rng = np.random.RandomState(random_state)
    y = np.asarray(y)
    candidates = np.arange(len(y)) if source is None else np.flatnonzero(y == source)
    n_flip = int(round(rate * len(candidates)))
    chosen = rng.choice(candidates, size=n_flip, replace=False)
    y_noisy = y.copy()
    classes = list(classes)
    for i in chosen:
        current = classes.index(y[i])
        if source is None:
            others = [c for c in classes if c != y[i]]
            y_noisy[i] = others[rng.randint(len(others))]
        else:
            y_noisy[i] = classes[(current + 1) % len(classes)]
    flipped = y_noisy != y
    return y_noisy, flipped
