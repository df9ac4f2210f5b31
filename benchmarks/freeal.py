"""FreeAL against the paper's comparisons and the peers, per data set, in one run.

For each data set and local LLM, on the same train/test texts:

=========================  ===================================================
``zero_shot_llm``          the LLM labels the test texts with no demonstration
``freeal_demos_llm``       the LLM labels the test texts with their k nearest
                           demonstrations from FreeAL's final pool (``demos_``)
``slm_zero_shot_labels``   the SLM fine-tuned plainly (``robust=False``) on the
                           zero-shot LLM labels of the training texts
``confident_learning``     the same labels cleaned by confident learning
                           (cleanlab on cross-validated SLM probabilities),
                           then the SLM retrained (peer, instead of the GMM)
``freeal_slm``             ``FreeALClassifier.fit(X_train)``: the SLM after
                           each round (``eval_set``) and the LLM's label
                           accuracy on the training texts per round
``knn_icl_gold``           the LLM with the k nearest gold-labelled training
                           texts as demonstrations (ICL upper bound, peer)
``slm_gold``               the SLM fine-tuned on the gold labels (upper bound)
``probe_gold``             a logistic regression on the retrieval embedder's
                           frozen embeddings of the gold-labelled training
                           texts (the judge's model; a cheap upper bound)
=========================  ===================================================

Columns: accuracy, macro-F1, LLM calls (new requests), cache hits, tokens, wall
seconds, peak RSS; and the gap closed, (FreeAL SLM - zero-shot LLM) / (gold
SLM - zero-shot LLM). One JSON file per data set and LLM in
``benchmarks/results/``.

Run ``python -m benchmarks.freeal --quick`` (or ``python -m benchmarks`` for
every suite and the docs). ``--report`` runs the report table: every report
draw of the report table (``table_draws("report", "report")`` of
:mod:`benchmarks.datasets`) at its registered size, with FreeAL at its
defaults and the kNN peers with 4 demonstrations.
"""

import argparse
import os
import sys
import time
import warnings
from dataclasses import dataclass, field

import numpy as np
from sklearn.base import clone

from ._common import (freeal_classifier, machine_info, measure, scores, setup_environment, usage_of,
                      write_result)
from .baselines import confident_learning, embed, fit_slm, knn_demos, llm_label_ids, slm_proba
from .datasets import LOADERS, REPORT_SEED, dataset_info, table_draws

__all__ = ["PRESETS", "Components", "add_run_options", "cache_state", "calls_per_text", "demos_per_label",
           "fit_freeal", "gap_closed", "generation_params", "load_dataset", "main", "round_rows",
           "run_dataset", "run_draw", "run_suite", "student_clone", "student_row"]

LLMS = ("qwen2.5-coder-0.5b", "qwen2.5-coder-1.5b")

# Sizes are kept small enough for the 2-core reference machine; see docs/benchmarks.rst.
# The quick preset must finish in well under 20 minutes on the slowest 2-core machine seen
# (about 3 times slower per core than the fastest): it is a smoke test, not a measurement.
PRESETS = {
    "quick": {
        "datasets": {"tweets": (60, 30), "yahoo": (40, 20)},
        "llms": LLMS[:1], "n_rounds": 2, "n_demos": 4, "cv": 2,
        # tiny data: a larger step and small batches, so the student takes 20 to 30 steps
        # (with batches of 16 on 60 tweets FreeAL's student stayed at chance, 0.5, both rounds)
        "slm_params": {"max_epochs": 4, "warmup_epochs": 1, "rampup_epochs": 2,
                       "batch_size": 8, "lr": 2e-4},
        # demonstrations the LLM writes per label before round 0; the 0.5B LLM needs several
        # calls per usable topic question (114 calls for 14 of 20), so Yahoo's labels get one
        "generated_per_class": {"tweets": 4, "yahoo": 1},
        # shorter questions keep the 10-label prompts affordable on 2 cores
        "dataset_options": {"yahoo": {"max_chars": 160}},
    },
    "full": {
        "datasets": {"tweets": (1000, 500), "yahoo": (1000, 500), "banking77": (1000, 500)},
        "llms": LLMS, "n_rounds": 3, "n_demos": 4, "cv": 3,
        # RobustTextClassifier's own defaults, which FreeAL's default student uses
        "slm_params": {},
        "generated_per_class": {}, "dataset_options": {},
    },
    # the report table (issue 40): report draws only, FreeAL's own defaults (None: the
    # policies' defaults), the kNN peers with 4 gold demonstrations
    "report": {
        "datasets": {d.name: (d.n_train, d.n_test) for d in table_draws("report", "report")},
        "llms": LLMS[:1], "n_rounds": None, "n_demos": None, "icl_demos": 4, "cv": 3,
        "slm_params": {}, "generated_per_class": {}, "dataset_options": {},
    },
}

METHODS = ("zero_shot_llm", "freeal_demos_llm", "slm_zero_shot_labels", "confident_learning",
           "freeal_slm", "knn_icl_gold", "slm_gold", "probe_gold")
STEPS_PER_DATASET = 9  # progress ticks of run_dataset (the zero-shot train labels count once)
# rows a run may leave out to save time (the others feed gap_closed and the verdict;
# the kNN gold bound feeds the README's FreeAL paragraphs, whose --full runs keep it)
SKIPPABLE = ("slm_zero_shot_labels", "confident_learning", "freeal_demos_llm", "knn_icl_gold")


def load_dataset(name, n_train, n_test, random_state=0, *, role="dev", **options):
    """One of the offline benchmark data sets (``tweets``, ``yahoo``, ``banking77``, ...).

    A dev draw (the default) at ``random_state``, or a report draw (see
    :func:`benchmarks.datasets.draw`, which ignores ``random_state``: report
    draws have their own seed). ``options`` go to the loader (e.g.
    ``max_chars`` for Yahoo).
    """
    from .datasets import draw

    return draw(name, n_train, n_test, role=role,
                random_state=random_state if role == "dev" else None, **options)


@dataclass
class Components:
    """Prototype estimators the benchmark clones: LLM labeler, SLM, retrieval embedder.

    ``slm`` is cloned with ``robust=False`` for the plain baselines when it
    has that parameter. ``None`` fields become the packaged defaults
    (``LocalLabeler(model=llm, **llm_params)``, ``RobustTextClassifier(**slm_params)``,
    ``SentenceEmbedder()``).
    """

    labeler: object = None
    slm: object = None
    embedder: object = None
    slm_params: dict = field(default_factory=dict)
    llm_params: dict = field(default_factory=dict)

    def resolved(self, llm):
        """Concrete prototypes for the LLM named ``llm``."""
        labeler, slm, embedder = self.labeler, self.slm, self.embedder
        if labeler is None:
            from skfreeal.labelers import LocalLabeler

            labeler = LocalLabeler(model=llm, **self.llm_params)
        if slm is None:
            from skfreeal.slm import RobustTextClassifier

            slm = RobustTextClassifier(**self.slm_params)
        if embedder is None:
            from skfreeal.slm import SentenceEmbedder

            embedder = SentenceEmbedder()
        return labeler, slm, embedder


def student_clone(slm, *, robust, random_state):
    """A clone of ``slm`` with ``robust`` and ``random_state`` set (where it has them)."""
    params = slm.get_params(deep=False)
    new = {k: v for k, v in (("robust", robust), ("random_state", random_state)) if k in params}
    return clone(slm).set_params(**new)


def _names(ids, label_names):
    table = np.array(list(label_names) + [None], dtype=object)
    return table[np.where(np.asarray(ids) >= 0, ids, len(label_names))]


def _row(step, y_true, y_pred, label_names, **extra):
    return {**scores(y_true, y_pred, label_names), **step, **extra}


def _slm_predict(slm, texts, label_names):
    return _names(slm_proba(slm, texts, len(label_names)).argmax(axis=1), label_names)


def run_dataset(data, *, labeler, slm, embedder, n_rounds=2, n_demos=4, cv=3, random_state=0,
                freeal_params=None, gold_cache=None, skip=(), tick=None, icl_demos=None):
    """Every method of the comparison on one data set with one LLM.

    Parameters
    ----------
    data : skfreeal.datasets.TextDataset
    labeler, slm, embedder : estimators
        Prototypes (cloned, never fitted in place).
    n_rounds, n_demos : int
        FreeAL's rounds and the demonstrations per text (also for the kNN ICL
        peers unless ``icl_demos`` is given).
    cv : int, default=3
        Folds of confident learning's out-of-sample probabilities.
    random_state : int, default=0
    freeal_params : dict, default=None
        More ``FreeALClassifier`` parameters.
    gold_cache : dict, default=None
        Holds the gold-label SLM's row per data set, so that a run over two
        LLMs trains it once.
    skip : collection of str, default=()
        Rows of ``SKIPPABLE`` not to run: they are absent from ``methods``.
    tick : callable, default=None
        Called with a step name after each step (progress bars).
    icl_demos : int, default=None
        Demonstrations per test text of the kNN ICL rows (None: ``n_demos``).

    Returns
    -------
    result : dict
        ``methods`` (one row per method), ``rounds`` (FreeAL per round),
        ``train_label_accuracy``, ``gap_closed``, ``demos_per_label`` (FreeAL's
        final pool) and FreeAL's diagnostics.
    """
    tick = tick or (lambda name: None)
    if sorted(set(skip) - set(SKIPPABLE)):
        raise ValueError(f"skip must hold rows of {list(SKIPPABLE)}, got {sorted(skip)}.")
    names = list(data.label_names)
    gold_train = np.array([names.index(str(v)) for v in data.y_train], dtype=np.int64)
    llm = clone(labeler).set_params(labels=names, task=data.task)
    plain = student_clone(slm, robust=False, random_state=random_state)
    methods = {}

    methods["zero_shot_llm"], zs_train, zs_step = _zero_shot_llm(llm, data, tick)
    zs_train_acc = float(np.mean(zs_train == gold_train))
    methods.update(_zero_shot_label_rows(plain, data, zs_train, zs_step, gold_train, cv=cv,
                                         random_state=random_state, skip=skip, tick=tick))

    clf, pred, step, caught = fit_freeal(data, labeler=labeler, slm=slm, embedder=embedder,
                                         n_rounds=n_rounds, n_demos=n_demos,
                                         random_state=random_state, freeal_params=freeal_params)
    methods["freeal_slm"] = _row(step, data.y_test, pred, names, n_rounds_run=clf.n_rounds_)
    tick("FreeAL")

    retrieval = _retrieval_embeddings(embedder, data)
    methods["probe_gold"] = _probe_gold_row(retrieval, data, gold_train, random_state)
    tick("probe on gold labels")
    icl_demos = n_demos if icl_demos is None else icl_demos
    methods.update(_knn_icl_rows(llm, retrieval, clf, data, gold_train, n_demos=icl_demos,
                                 skip=skip, tick=tick))
    gold_cache = {} if gold_cache is None else gold_cache
    if data.name not in gold_cache:
        gold_cache[data.name] = _gold_row(plain, data, gold_train)
    methods["slm_gold"] = gold_cache[data.name]
    tick("SLM on gold labels")

    return {
        "methods": methods,
        "rounds": round_rows(clf, gold_train),
        "train_label_accuracy": {"zero_shot_llm": zs_train_acc,
                                 "freeal_final": float(np.mean(clf.label_ids_ == gold_train))},
        "freeal_clean": _clean_diagnostics(clf, gold_train),
        "demos_per_label": demos_per_label(clf),
        "freeal_warnings": caught,
        "gap_closed": gap_closed(methods),
        # charged to the rows that train on them; recorded here too, for a run
        # that skips those rows (its cache state must still count them)
        "zero_shot_train_labels": {k: zs_step[k] for k in ("llm_calls", "llm_cache_hits",
                                                           "seconds") if k in zs_step},
    }


def _zero_shot_llm(llm, data, tick):
    """The zero-shot LLM's row on the test texts, then its training labels and their cost."""
    names = list(data.label_names)
    with measure(llm) as step:
        pred = _names(llm_label_ids(llm, data.X_test), names)
    row = _row(step, data.y_test, pred, names)
    tick("zero-shot LLM (test)")

    with measure(llm) as train_step:
        train_labels = llm_label_ids(llm, data.X_train)
    tick("zero-shot LLM (train labels)")
    return row, train_labels, train_step


def _zero_shot_label_rows(plain, data, zs_train, zs_step, gold_train, *, cv, random_state,
                          skip, tick):
    """The rows of the SLM on the zero-shot LLM's training labels: as they are, and cleaned
    by confident learning; each charged with the cost of those labels (``zs_step``)."""
    names = list(data.label_names)
    rows = {}
    if "slm_zero_shot_labels" not in skip:
        with measure() as step:
            model = fit_slm(plain, data.X_train, zs_train)
            pred = _slm_predict(model, data.X_test, names)
        rows["slm_zero_shot_labels"] = _row(
            _add_costs(step, zs_step), data.y_test, pred, names, labels_from="zero-shot LLM"
        )
    tick("SLM on zero-shot labels")

    if "confident_learning" not in skip:
        with measure() as step:
            model, issues = confident_learning(plain, data.X_train, zs_train, len(names), cv=cv,
                                               random_state=random_state)
            pred = _slm_predict(model, data.X_test, names)
        known = zs_train >= 0
        rows["confident_learning"] = _row(
            _add_costs(step, zs_step), data.y_test, pred, names, labels_from="zero-shot LLM",
            n_issues=int(issues.sum()), cv=cv,
            issue_precision=_mean_or_none(zs_train[issues] != gold_train[issues]),
            kept_label_accuracy=_mean_or_none(zs_train[known & ~issues]
                                              == gold_train[known & ~issues]),
        )
    tick("confident learning")
    return rows


def _retrieval_embeddings(embedder, data):
    """The retrieval embedder FreeAL used, fitted, with the test and training embeddings.

    ``fit`` keeps no copy of the embedder (predicting does not need it). Returns a
    dict: ``embedder``, ``test``, ``train`` and ``step`` (the cost of embedding).
    """
    with measure() as step:
        retrieval = clone(embedder).fit(data.X_train)
        test_emb, train_emb = embed(retrieval, data.X_test), embed(retrieval, data.X_train)
    return {"embedder": retrieval, "test": test_emb, "train": train_emb, "step": step}


def _probe_gold_row(retrieval, data, gold_train, random_state):
    """A logistic regression on the frozen embeddings of the gold-labelled training texts.

    The model of FreeAL's default judge (``judge="probe"``) trained on gold labels:
    what the frozen features alone reach. Charged with the cost of the embeddings.
    """
    from sklearn.linear_model import LogisticRegression

    names = list(data.label_names)
    with measure() as step:
        # the estimator judge="probe" builds (skfreeal/loop/_components.py)
        probe = LogisticRegression(max_iter=1000, random_state=random_state)
        probe.fit(retrieval["train"], gold_train)
        pred = _names(probe.predict(retrieval["test"]), names)
    return _row(_add_costs(step, retrieval["step"]), data.y_test, pred, names,
                labels_from="gold")


def _knn_icl_rows(llm, retrieval, clf, data, gold_train, *, n_demos, skip, tick):
    """The rows of the LLM on the test texts with their k nearest demonstrations: from the
    fitted FreeAL's pool (``clf.demos_``), and from the gold-labelled training texts."""
    names = list(data.label_names)
    rows = {}
    test_emb, train_emb = retrieval["test"], retrieval["train"]
    retrieval = retrieval["embedder"]
    pool_texts = [t for t, _ in clf.demos_]
    pool_ids = [names.index(str(c)) for _, c in clf.demos_]
    if "freeal_demos_llm" not in skip:
        with measure(llm) as step:
            pool_emb = embed(retrieval, pool_texts)
            demos = knn_demos(test_emb, pool_texts, pool_ids, pool_emb, n_demos)
            pred = _names(llm_label_ids(llm, data.X_test, demos), names)
        rows["freeal_demos_llm"] = _row(step, data.y_test, pred, names,
                                        pool_size=len(pool_texts))
    tick("LLM + FreeAL demos")

    if "knn_icl_gold" not in skip:
        with measure(llm) as step:
            demos = knn_demos(test_emb, list(data.X_train), gold_train, train_emb, n_demos)
            pred = _names(llm_label_ids(llm, data.X_test, demos), names)
        rows["knn_icl_gold"] = _row(step, data.y_test, pred, names, n_demos=n_demos)
    tick("kNN ICL, gold demos")
    return rows


def _gold_row(plain, data, gold_train):
    """The row of the SLM fine-tuned on the gold training labels (the upper bound)."""
    return student_row(plain, data, gold_train, labels_from="gold")


def student_row(student, data, label_ids, **extra):
    """The test row of ``student`` (cloned) trained on the training texts' ``label_ids``.

    Texts whose id is -1 are left out. ``extra`` fields are added to the row.
    """
    names = list(data.label_names)
    with measure() as step:
        model = fit_slm(student, data.X_train, label_ids)
        pred = _slm_predict(model, data.X_test, names)
    return _row(step, data.y_test, pred, names, **extra)


def fit_freeal(data, *, labeler, slm, embedder, n_rounds, n_demos, random_state,
               freeal_params=None, y=None):
    """The suite's FreeAL row: fit on the training texts, predict the test texts.

    Parameters
    ----------
    data : skfreeal.datasets.TextDataset
    labeler, slm, embedder : estimators
        Prototypes; the student is cloned with ``robust=True`` and
        ``random_state``.
    n_rounds, n_demos : int
    random_state : int
    freeal_params : dict, default=None
        More ``FreeALClassifier`` parameters (``label_fraction``...).
    y : array-like, default=None
        Given labels of the training texts (names, None where unlabelled),
        used with ``freeal_params={"use_labels": True}``.

    Returns
    -------
    clf : FreeALClassifier
        Fitted, with ``eval_set`` the test texts (``history_`` has each
        round's test accuracy).
    pred : ndarray of str
        Its predictions on the test texts.
    step : Step
        Wall and CPU seconds, peak RSS and the LLM usage of fit and predict.
    warnings : list of str
        The distinct warnings raised during them.
    """
    robust = student_clone(slm, robust=True, random_state=random_state)
    clf = freeal_classifier(data.label_names, data.task, labeler=labeler, slm=robust,
                           embedder=embedder, n_rounds=n_rounds, n_demos=n_demos,
                           random_state=random_state, **(freeal_params or {}))
    with measure() as step, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        clf.fit(data.X_train, y, eval_set=(data.X_test, data.y_test))
        pred = clf.predict(data.X_test)
    step.update({f"llm_{k}": int(v) for k, v in usage_of(clf.labeler_).items()})
    return clf, pred, step, sorted({str(w.message) for w in caught})


def generation_params(preset, name, n_classes):
    """``n_generated_demos`` of a preset for a data set (``{}``: FreeAL's default)."""
    per_class = preset["generated_per_class"].get(name)
    return {"n_generated_demos": per_class * n_classes} if per_class else {}


def _mean_or_none(values):
    return float(np.mean(values)) if len(values) else None


def _add_costs(step, labels_step):
    """A training step's row charged with the LLM cost of the labels it trained on."""
    out = dict(step)
    for key, value in labels_step.items():
        if key.startswith("llm_"):
            out[key] = value
    out["seconds"] = round(step["seconds"] + labels_step["seconds"], 3)
    out["cpu_seconds"] = round(step["cpu_seconds"] + labels_step["cpu_seconds"], 3)
    out["label_seconds"] = labels_step["seconds"]
    out["peak_rss_mib"] = max(step["peak_rss_mib"], labels_step["peak_rss_mib"])
    return out


def round_rows(clf, gold_train):
    """FreeAL's history per round, with the LLM's label accuracy against ``gold_train`` (ids).

    With a judge (``clf.judge_``) a round's ``eval_accuracy`` is the judge's, not a
    student's: it is stored as ``judge_eval_accuracy``, so that no table or plot shows it
    as the SLM's.
    """
    rows = []
    judged = getattr(clf, "judge_", None) is not None
    for record, labels in zip(clf.history_, clf.round_labels_):
        row = {k: v for k, v in record.items() if not isinstance(v, (list, dict))}
        if judged and row.get("eval_accuracy") is not None:
            row["judge_eval_accuracy"] = row.pop("eval_accuracy")
        row["llm_label_accuracy"] = float(np.mean(labels == gold_train))
        row["llm_label_coverage"] = float(np.mean(labels >= 0))
        rows.append(row)
    return rows


def _clean_diagnostics(clf, gold_train):
    """How right the final clean/noisy split is, against the gold labels."""
    labelled = clf.label_ids_ >= 0
    correct = clf.label_ids_ == gold_train
    clean = clf.clean_mask_ & labelled
    noisy = ~clf.clean_mask_ & labelled
    return {
        "clean_fraction": _mean_or_none(clf.clean_mask_[labelled]),
        "label_accuracy_clean": _mean_or_none(correct[clean]),
        "label_accuracy_noisy": _mean_or_none(correct[noisy]),
    }


def demos_per_label(clf):
    """Demonstrations of each label in a fitted FreeAL's final pool (0 for a label without).

    The classifier's own count (``demos_per_label_``) where it has one, else
    counted from its pool, ``demos_`` (pairs of text and label name).

    Parameters
    ----------
    clf : FreeALClassifier
        Fitted.

    Returns
    -------
    counts : dict of str to int
        Every label name of ``clf.classes_``, in that order.
    """
    counts = getattr(clf, "demos_per_label_", None)
    if counts is None:
        counts = {}
        for _, label in clf.demos_:
            counts[str(label)] = counts.get(str(label), 0) + 1
    return {str(name): int(counts.get(str(name), 0)) for name in clf.classes_}


def calls_per_text(row, n_train):
    """A row's LLM requests, new or answered from the cache, per training text.

    A warm answer cache is no saving a user would see on a first run, so
    cache hits count as requests.

    Parameters
    ----------
    row : dict
        A method's row (``llm_calls``, ``llm_cache_hits``).
    n_train : int

    Returns
    -------
    calls : float
    """
    return (row.get("llm_calls", 0) + row.get("llm_cache_hits", 0)) / n_train


def gap_closed(methods):
    """(FreeAL SLM - zero-shot LLM) / (gold SLM - zero-shot LLM); None if the gap is <= 0."""
    zs = methods["zero_shot_llm"]["accuracy"]
    gap = methods["slm_gold"]["accuracy"] - zs
    if gap <= 0:
        return None
    return (methods["freeal_slm"]["accuracy"] - zs) / gap


def run_suite(*, mode="quick", datasets=None, llms=None, sizes=None, n_rounds=None,
              n_demos=None, cv=None, random_state=0, llm_threads=None, components=None,
              skip=(), role="dev", results_dir=None, command=None, tick=None, icl_demos=None):
    """Run the comparison on several data sets and LLMs; write one JSON file per pair.

    Parameters
    ----------
    mode : {"quick", "full", "report"}, default="quick"
        The preset (see ``PRESETS``); the other arguments override it.
        ``"report"`` implies ``role="report"``.
    datasets : list of str, default=None
    llms : list of str, default=None
        Local LLM names for ``LocalLabeler(model=...)``.
    sizes : tuple (n_train, n_test), default=None
        One size for every data set instead of the preset's.
    n_rounds, n_demos, cv, icl_demos : int, default=None
    random_state : int, default=0
        Seed of the data samples, FreeAL and the SLMs.
    llm_threads : int or None, default=None
        CPU threads of the packaged local LLM (None: every core).
    components : Components, default=None
        Replace the packaged labeler, SLM or embedder (tests use fast ones).
    skip : collection of str, default=()
        Rows of ``SKIPPABLE`` not to run (see ``run_dataset``); recorded in the JSON.
    role : {"dev", "report"}, default="dev"
        Dev draws (seed ``random_state``) or report draws (their own seed,
        no dev row; see ``benchmarks.datasets``). A report run's files are
        named ``freeal-report-...``, beside the dev runs' ``freeal-...``.
    results_dir : str or Path, default=None
    command : str, default=None
        The command line recorded in the JSON (default: this process's).
    tick : callable, default=None
        Progress callback, called after each step.

    Returns
    -------
    paths : list of Path
        The JSON files written.
    """
    preset = PRESETS[mode]
    role = "report" if mode == "report" else role
    datasets = list(datasets or preset["datasets"])
    llms = list(llms or preset["llms"])
    settings = _round_settings(preset, n_rounds, n_demos, cv, icl_demos)
    components = components or Components(slm_params=preset["slm_params"],
                                          llm_params={"n_threads": llm_threads})
    machine = machine_info()
    gold_cache, paths = {}, []
    for name in datasets:
        n_train, n_test = sizes or preset["datasets"].get(name, (1000, 500))
        options = preset["dataset_options"].get(name, {})
        data = load_dataset(name, n_train, n_test, random_state, role=role, **options)
        for llm in llms:
            result = run_draw(data, name, llm, mode=mode, components=components,
                              settings=settings,
                              freeal_params=generation_params(preset, name,
                                                              len(data.label_names)),
                              options=options, machine=machine, random_state=random_state,
                              gold_cache=gold_cache, skip=skip, tick=tick)
            if command is not None:
                result["command"] = command
            paths.append(write_result(result, _result_name(mode, role, name, llm),
                                      results_dir=results_dir))
    return paths


def run_draw(data, name, llm, *, mode, components, settings, freeal_params, options, machine,
             random_state=0, gold_cache=None, skip=(), tick=None, suite="freeal"):
    """One draw with one LLM: :func:`run_dataset`'s rows and the run's record.

    Parameters
    ----------
    data : skfreeal.datasets.TextDataset
        The draw (its ``role`` decides the recorded seed).
    name : str
        Its key in :data:`benchmarks.datasets.LOADERS`.
    llm : str
        The local LLM's name, for ``components``.
    mode : str
        The suite's preset, recorded.
    components : Components
    settings : dict
        ``n_rounds``, ``n_demos``, ``icl_demos`` and ``cv`` for
        :func:`run_dataset`.
    freeal_params : dict
        More ``FreeALClassifier`` parameters.
    options : dict
        The loader options the draw was made with (recorded).
    machine : dict
        :func:`~benchmarks._common.machine_info` at the start of the run.
    random_state : int, default=0
    gold_cache : dict, default=None
    skip : collection of str, default=()
    tick : callable, default=None
    suite : str, default="freeal"
        The suite recorded; the documentation page of ``benchmarks.report``
        shows the ``"freeal"`` files.

    Returns
    -------
    result : dict
        :func:`run_dataset`'s result with ``suite``, ``mode``, ``llm``,
        ``role``, ``dataset``, ``settings``, ``machine``, ``cache`` and the
        total wall and CPU seconds; a caller adds ``command``.
    """
    labeler, slm, embedder = components.resolved(llm)
    start, cpu_start = time.perf_counter(), time.process_time()
    result = run_dataset(data, labeler=labeler, slm=slm, embedder=embedder,
                         random_state=random_state, freeal_params=freeal_params,
                         gold_cache=gold_cache, skip=skip, tick=tick, **settings)
    result.update({
        "suite": suite, "mode": mode, "llm": llm,
        "role": data.role,
        "dataset": _dataset_record(data, name, options,
                                   seed=random_state if data.role == "dev" else REPORT_SEED),
        "settings": {**settings, **freeal_params, "random_state": random_state,
                     "skipped": sorted(skip),
                     "slm_params": components.slm_params,
                     "labeler": repr(labeler), "slm": repr(slm),
                     "embedder": repr(embedder)},
        "machine": machine,
        "cache": {**cache_state(result["methods"], result.get("zero_shot_train_labels")),
                  "dir": os.environ.get("SKFREEAL_CACHE_DIR")},
        "total_seconds": round(time.perf_counter() - start, 1),
        "total_cpu_seconds": round(time.process_time() - cpu_start, 1),
    })
    return result


def _result_name(mode, role, name, llm):
    """A result file's stem: ``freeal-<mode>-...`` (dev), ``freeal-report-...`` (report)."""
    if mode == "report":
        return f"freeal-report-{name}-{llm}"
    return f"freeal-{mode}-{name}-{llm}" if role == "dev" else f"freeal-report-{mode}-{name}-{llm}"


def _round_settings(preset, n_rounds, n_demos, cv, icl_demos=None):
    """FreeAL's rounds and demonstrations, the kNN peers' demonstrations, confident
    learning's folds: given, else the preset's, else (``None`` in the preset)
    FreeALClassifier's defaults."""
    from skfreeal import DemoPolicy, RoundPolicy

    n_rounds = n_rounds or preset["n_rounds"] or RoundPolicy().n_rounds
    if n_demos is None:
        n_demos = preset["n_demos"] if preset["n_demos"] is not None else DemoPolicy().n_demos
    if icl_demos is None:
        icl_demos = preset.get("icl_demos", n_demos)
    return {"n_rounds": n_rounds, "n_demos": n_demos, "icl_demos": icl_demos,
            "cv": cv or preset["cv"]}


def _dataset_record(data, name, options, *, seed):
    """The ``dataset`` entry of a result file: the draw, its labels, source and options."""
    return dataset_info(data, key=name, n_classes=len(data.label_names),
                        label_names=list(data.label_names), task=data.task,
                        source=data.meta.get("source"), seed=seed, options=options)


def cache_state(methods, train_labels=None):
    """New LLM calls and cache hits of a run's rows: cold, warm or partly warm.

    Parameters
    ----------
    methods : dict
        The run's rows.
    train_labels : dict, default=None
        The zero-shot labelling of the training texts (``llm_calls``,
        ``llm_cache_hits``), counted when no row that trains on them (and is
        charged with them) ran. None: not recorded (results before it was),
        and then ``counted`` says so.

    Returns
    -------
    state : dict
        ``state``, ``llm_calls``, ``cache_hits`` and ``counted``: whether
        the training texts' zero-shot labels are in the counts.
    """
    # confident learning is charged with the same zero-shot labels as the plain SLM
    rows = [m for k, m in methods.items() if k not in ("slm_gold", "confident_learning")]
    charged = "slm_zero_shot_labels" in methods or "confident_learning" in methods
    if not charged and train_labels:
        rows.append(train_labels)
    calls = sum(m.get("llm_calls", 0) for m in rows)
    hits = sum(m.get("llm_cache_hits", 0) for m in rows)
    state = "cold" if hits == 0 else ("warm" if calls == 0 else "partly warm")
    return {"state": state, "llm_calls": calls, "cache_hits": hits,
            "counted": charged or train_labels is not None}


def build_parser(prog="python -m benchmarks.freeal"):
    """Command-line options of the FreeAL suite (shared by ``python -m benchmarks``)."""
    parser = argparse.ArgumentParser(prog=prog, description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, 0.5B LLM, minutes")
    parser.add_argument("--report", action="store_true",
                        help="the report table: every report draw, FreeAL's defaults (hours)")
    parser.add_argument("--datasets", nargs="+", choices=list(LOADERS))
    parser.add_argument("--role", choices=["dev", "report"], default="dev",
                        help="dev draws (settings may be chosen on them) or report draws "
                        "(disjoint rows and unused data sets; benchmarks/datasets.py)")
    parser.add_argument("--llms", nargs="+", choices=list(LLMS))
    parser.add_argument("--n-train", type=int)
    parser.add_argument("--n-test", type=int)
    parser.add_argument("--n-rounds", type=int)
    parser.add_argument("--n-demos", type=int)
    parser.add_argument("--icl-demos", type=int,
                        help="demonstrations of the kNN ICL rows (default: --n-demos)")
    parser.add_argument("--cv", type=int)
    add_run_options(parser)
    parser.add_argument("--skip", nargs="+", choices=SKIPPABLE, default=[],
                        help="comparison rows to leave out (to save an expensive LLM's time)")
    return parser


def add_run_options(parser):
    """``--seed``, ``--torch-threads``, ``--llm-threads`` and ``--cache-dir`` of a suite
    that runs :func:`run_draw` (see :func:`~benchmarks._common.setup_environment`)."""
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--torch-threads", type=int, default=None,
                        help="SLM threads (default: every core; 1 on a shared machine)")
    parser.add_argument("--llm-threads", type=int, default=None,
                        help="local LLM threads (default: every core)")
    parser.add_argument("--cache-dir", help="LLM answer cache (default benchmarks/.cache)")
    return parser


def suite_kwargs(args):
    """``run_suite`` keyword arguments from parsed options."""
    sizes = None
    if args.n_train or args.n_test:
        sizes = (args.n_train or 1000, args.n_test or 500)
    if args.quick and args.report:
        raise SystemExit("--quick and --report are two presets: give one.")
    mode = "quick" if args.quick else ("report" if args.report else "full")
    return dict(mode=mode, datasets=args.datasets, llms=args.llms, icl_demos=args.icl_demos,
                sizes=sizes, n_rounds=args.n_rounds, n_demos=args.n_demos, cv=args.cv,
                random_state=args.seed, llm_threads=args.llm_threads, skip=args.skip,
                role=args.role)


def main(argv=None):
    """Run the FreeAL suite from the command line."""
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser().parse_args(argv)
    setup_environment(cache_dir=args.cache_dir, torch_threads=args.torch_threads)
    command = " ".join(["python -m benchmarks.freeal", *argv])
    for path in run_suite(command=command, tick=lambda name: print(f"done: {name}", flush=True),
                          **suite_kwargs(args)):
        print(path)
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
