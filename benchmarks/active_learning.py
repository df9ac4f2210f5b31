"""FreeAL against classic pool-based active learning, at 20% and 50% human labels (issue 36).

A simulated human answers with the gold labels. Classic active learning runs
with small-text (pinned in the ``bench`` extra): a small random seed set,
balanced over the labels (2 per label, or 1% of the training texts when that
is more), then batches chosen by a query strategy until 20% and 50% of the
training texts are labelled. The selection uses the cheap learner of published
work, a logistic regression on the frozen sentence embeddings (FreeAL's
retrieval embedder; its test accuracy is the ``probe_accuracy`` of each row);
the final model at each budget is FreeAL's default student trained plainly on
the labelled texts, so that the comparison is about the labels.

Rows, per data set and LLM:

=============================  =================================================
``freeal_no_labels``           FreeAL with no human label (from the FreeAL
                               suite's file of the same draw when there is one,
                               else run here)
``al_<strategy>_<pct>``        classic active learning: the student on the
                               human labels of the texts the strategy chose
``freeal_labels_<strategy>_<pct>``  FreeAL given those same human labels
                               (``use_labels=True``; the LLM labels the rest)
``slm_gold``                   the student on every gold label (100%, bound)
=============================  =================================================

Strategies: ``random`` (random sampling), ``least_confidence``,
``prediction_entropy``, ``breaking_ties`` (small-text's RandomSampling,
LeastConfidence, PredictionEntropy, BreakingTies). FreeAL is given the labels
of ``random`` and ``least_confidence`` by default (``--freeal-strategies``).

Run ``python -m benchmarks.active_learning --quick`` (a smoke run), or
``--role report`` for every report draw at 1,000 / 500.
"""

import argparse
import warnings

import numpy as np
from sklearn.base import clone

from ._claims import add_suite_options, main_of, run_draws
from ._common import measure, read_result, scores
from .baselines import embed
from .freeal import fit_freeal, student_clone, student_row

__all__ = ["BUDGETS", "STRATEGIES", "freeal_reference", "labelled_texts", "main",
           "run_dataset", "run_suite", "seed_size", "simulate"]

STRATEGIES = ("random", "least_confidence", "prediction_entropy", "breaking_ties")
BUDGETS = (0.2, 0.5)
FREEAL_STRATEGIES = ("random", "least_confidence")
BATCH_FRACTION = 0.025  # texts per query: 25 of 1,000, so 8 queries to 20%, 20 to 50%


def _query_strategy(name):
    import small_text

    classes = {"random": small_text.RandomSampling, "least_confidence": small_text.LeastConfidence,
               "prediction_entropy": small_text.PredictionEntropy,
               "breaking_ties": small_text.BreakingTies}
    if name not in classes:
        raise ValueError(f"strategy must be one of {sorted(classes)}, got {name!r}.")
    return classes[name]()


def seed_size(n_texts, n_classes):
    """The human's first, random labels: 2 per label, or 1% of the texts when that is more."""
    return max(2 * n_classes, int(np.ceil(0.01 * n_texts)))


def simulate(features, gold, test_features, strategy, n_budgets, *, batch_size, random_state=0):
    """Pool-based active learning with small-text; the human answers with ``gold``.

    Parameters
    ----------
    features : ndarray of shape (n_texts, dim)
        The frozen embeddings the cheap learner selects on.
    gold : ndarray of shape (n_texts,) of int
        The simulated human's answers (label ids).
    test_features : ndarray of shape (n_test, dim)
        The cheap learner's test embeddings (its ``probe_pred`` at each budget).
    strategy : str
        One of :data:`STRATEGIES`.
    n_budgets : list of int
        Labelled texts at which to stop and record, ascending.
    batch_size : int
        Texts per query (the last query to a budget is cut to reach it exactly).
    random_state : int, default=0

    Returns
    -------
    steps : dict of int to dict
        Per budget: ``indices`` (the labelled texts, seed set first, in
        labelling order), ``probe_pred`` (the cheap learner's test label ids)
        and ``n_queries``.
    """
    # small-text's random draws (the seed set, RandomSampling) use numpy's global generator:
    # seeded for this run, then put back as it was
    saved = np.random.get_state()
    np.random.seed(random_state)
    try:
        with warnings.catch_warnings():
            # small-text 1.4.1 calls its own deprecated get_flattened_unique_labels on each fit
            warnings.filterwarnings("ignore", category=DeprecationWarning, module="small_text")
            return _learn(features, gold, test_features, strategy, n_budgets, batch_size,
                          random_state)
    finally:
        np.random.set_state(saved)


def _learn(features, gold, test_features, strategy, n_budgets, batch_size, random_state):
    """small-text's learner: the seed set, then queries until each budget."""
    import small_text
    from sklearn.linear_model import LogisticRegression

    n_classes = int(gold.max()) + 1
    targets = np.arange(n_classes)
    pool = small_text.SklearnDataset(features, np.full(len(gold), small_text.LABEL_UNLABELED),
                                     target_labels=targets)
    test = small_text.SklearnDataset(test_features, np.full(len(test_features), -1),
                                     target_labels=targets)
    factory = small_text.SklearnClassifierFactory(
        LogisticRegression(max_iter=1000, random_state=random_state), n_classes)
    learner = small_text.PoolBasedActiveLearner(factory, _query_strategy(strategy), pool)
    seed = small_text.random_initialization_balanced(
        gold, n_samples=seed_size(len(gold), n_classes))
    learner.initialize_data(seed, gold[seed])
    steps, n_queries = {}, 0
    for n in n_budgets:
        while len(learner.indices_labeled) < n:
            asked = learner.query(num_samples=min(batch_size, n - len(learner.indices_labeled)))
            learner.update(gold[asked])
            n_queries += 1
        steps[n] = {"indices": learner.indices_labeled.copy(), "n_queries": n_queries,
                    "probe_pred": learner.classifier.predict(test)}
    return steps


def labelled_texts(indices, gold_names, n_texts):
    """FreeAL's ``y`` for ``use_labels=True``: the human's label names, None elsewhere."""
    y = np.full(n_texts, None, dtype=object)
    y[indices] = np.asarray(gold_names, dtype=object)[indices]
    return y


def freeal_reference(results_dir, data, key, llm, settings):
    """The FreeAL suite's result for the same draw, LLM and FreeAL settings, or None.

    The report preset's file (``freeal-report-<key>-<llm>.json``) for a
    report draw, the full preset's for a dev draw; a file of another draw
    (sizes, role), seed, number of rounds or demonstrations is not used.

    Parameters
    ----------
    results_dir : str or Path
    data : skfreeal.datasets.TextDataset
    key : str
        The data set's name in the file names (``"tweets"``, ``"yahoo"``...).
    llm : str
    settings : dict
        ``random_state``, ``n_rounds`` and ``n_demos`` of this run.
    """
    mode = "report" if data.role == "report" else "full"
    result = read_result(f"{results_dir}/freeal-{mode}-{key}-{llm}.json")
    if result is None:
        return None
    drawn, theirs = result.get("dataset", {}), result.get("settings", {})
    same = (drawn.get("n_train") == len(data.X_train) and drawn.get("n_test") == len(data.X_test)
            and result.get("role", "dev") == data.role
            and all(theirs.get(k) == settings[k] for k in ("random_state", "n_rounds", "n_demos")))
    return result if same else None


def _pct(fraction):
    return f"{round(100 * fraction)}pct"


def _selection_rows(data, gold, retrieval, plain, *, strategies, budgets, batch_size,
                    random_state, tick):
    """Each strategy's labelled texts per budget, and the student trained on them."""
    names = list(data.label_names)
    n_budgets = [max(1, round(b * len(gold))) for b in budgets]
    rows, chosen = {}, {}
    for strategy in strategies:
        with measure() as step:
            steps = simulate(retrieval["train"], gold, retrieval["test"], strategy, n_budgets,
                             batch_size=batch_size, random_state=random_state)
        for fraction, n in zip(budgets, n_budgets):
            idx = steps[n]["indices"]
            chosen[strategy, fraction] = idx
            probe = scores(data.y_test, np.asarray(names, dtype=object)[steps[n]["probe_pred"]],
                           names)
            rows[f"al_{strategy}_{_pct(fraction)}"] = student_row(
                plain, data, np.where(np.isin(np.arange(len(gold)), idx), gold, -1),
                labels_from="human", strategy=strategy, budget=fraction, n_labelled=len(idx),
                n_queries=steps[n]["n_queries"], probe_accuracy=probe["accuracy"],
                selection_seconds=step["seconds"])
            tick(f"active learning, {strategy}, {_pct(fraction)}")
    return rows, chosen


def _freeal_rows(data, chosen, *, labeler, slm, embedder, freeal, strategies, random_state,
                 tick):
    """FreeAL given the human labels of each strategy's texts (the LLM labels the rest)."""
    names = list(data.label_names)
    rows = {}
    for (strategy, fraction), idx in chosen.items():
        if strategy not in strategies:
            continue
        y = labelled_texts(idx, data.y_train, len(data.X_train))
        clf, pred, step, caught = fit_freeal(
            data, labeler=labeler, slm=slm, embedder=embedder, n_rounds=freeal["n_rounds"],
            n_demos=freeal["n_demos"], random_state=random_state, y=y,
            freeal_params={**freeal["params"], "use_labels": True})
        gold = np.asarray(data.y_train, dtype=object)
        unlabelled = np.ones(len(gold), dtype=bool)
        unlabelled[idx] = False
        rows[f"freeal_labels_{strategy}_{_pct(fraction)}"] = {
            **scores(data.y_test, pred, names), **step, "labels_from": "human + LLM",
            "strategy": strategy, "budget": fraction, "n_labelled": len(idx),
            "n_rounds_run": clf.n_rounds_, "warnings": caught,
            "llm_label_accuracy_unlabelled": float(np.mean(
                clf.transduction_[unlabelled] == gold[unlabelled]))}
        tick(f"FreeAL with human labels, {strategy}, {_pct(fraction)}")
    return rows


def run_dataset(data, *, labeler, slm, embedder, freeal, strategies=STRATEGIES,
                budgets=BUDGETS, freeal_strategies=FREEAL_STRATEGIES, reference=None,
                random_state=0, tick=None):
    """Classic active learning and FreeAL with and without human labels on one data set.

    Parameters
    ----------
    data : skfreeal.datasets.TextDataset
    labeler, slm, embedder : estimators
        Prototypes (cloned, never fitted in place): FreeAL's LLM, its default
        student (trained plainly, ``robust=False``, on human labels) and its
        retrieval embedder (the cheap learner's features).
    freeal : dict
        ``n_rounds``, ``n_demos`` and ``params`` (more FreeALClassifier parameters).
    strategies : sequence of str, default=STRATEGIES
    budgets : sequence of float, default=(0.2, 0.5)
        Fractions of the training texts labelled by the human, ascending.
    freeal_strategies : sequence of str, default=("random", "least_confidence")
        The strategies whose human labels FreeAL is given.
    reference : dict, default=None
        The FreeAL suite's result of the same draw (see :func:`freeal_reference`):
        its ``freeal_slm`` and ``slm_gold`` rows are taken instead of run again.
    random_state : int, default=0
    tick : callable, default=None

    Returns
    -------
    result : dict
        ``methods`` (one row per method), ``settings`` and ``small_text``
        (the version that ran).
    """
    import small_text

    tick = tick or (lambda name: None)
    unknown = sorted(set(strategies) - set(STRATEGIES))
    if unknown or not set(freeal_strategies) <= set(strategies):
        raise ValueError(f"strategies must be among {list(STRATEGIES)} and include "
                         f"freeal_strategies, got {list(strategies)} and "
                         f"{list(freeal_strategies)}.")
    names = list(data.label_names)
    gold = np.array([names.index(str(v)) for v in data.y_train], dtype=np.int64)
    with measure() as embed_step:
        fitted = clone(embedder).fit(data.X_train)
        retrieval = {"train": embed(fitted, data.X_train), "test": embed(fitted, data.X_test)}
    tick("embeddings")
    plain = student_clone(slm, robust=False, random_state=random_state)
    batch_size = max(1, round(BATCH_FRACTION * len(gold)))
    methods, chosen = _selection_rows(data, gold, retrieval, plain, strategies=strategies,
                                      budgets=budgets, batch_size=batch_size,
                                      random_state=random_state, tick=tick)
    methods.update(_freeal_rows(data, chosen, labeler=labeler, slm=slm, embedder=embedder,
                                freeal=freeal, strategies=freeal_strategies,
                                random_state=random_state, tick=tick))
    methods.update(_reference_rows(data, plain, gold, labeler=labeler, slm=slm,
                                   embedder=embedder, freeal=freeal, reference=reference,
                                   random_state=random_state))
    tick("FreeAL with no human label, student on gold labels")
    return {"methods": methods, "small_text": small_text.__version__,
            "settings": {"strategies": list(strategies), "budgets": list(budgets),
                         "freeal_strategies": list(freeal_strategies),
                         "seed_size": seed_size(len(gold), len(names)),
                         "batch_size": batch_size, "selection_learner":
                         "LogisticRegression(max_iter=1000) on the embedder's unit-length "
                         "embeddings", "embedding_seconds": embed_step["seconds"],
                         "n_rounds": freeal["n_rounds"], "n_demos": freeal["n_demos"],
                         **freeal["params"], "random_state": random_state}}


def _reference_rows(data, plain, gold, *, labeler, slm, embedder, freeal, reference,
                    random_state):
    """FreeAL with no human label and the student on every gold label: from the FreeAL
    suite's file of the same draw when given, else run here."""
    if reference is not None:
        source = {"from": reference.get("command", "the FreeAL suite's file"),
                  "revision": reference.get("machine", {}).get("git")}
        return {"freeal_no_labels": {**reference["methods"]["freeal_slm"], "source": source},
                "slm_gold": {**reference["methods"]["slm_gold"], "source": source}}
    names = list(data.label_names)
    clf, pred, step, caught = fit_freeal(
        data, labeler=labeler, slm=slm, embedder=embedder, n_rounds=freeal["n_rounds"],
        n_demos=freeal["n_demos"], random_state=random_state, freeal_params=freeal["params"])
    return {"freeal_no_labels": {**scores(data.y_test, pred, names), **step,
                                 "n_rounds_run": clf.n_rounds_, "warnings": caught,
                                 "source": "run here"},
            "slm_gold": student_row(plain, data, gold, labels_from="gold", source="run here")}


def run_suite(plan_, *, strategies=STRATEGIES, budgets=BUDGETS,
              freeal_strategies=FREEAL_STRATEGIES, freeal_results=None, random_state=0,
              llm_threads=None, components=None, results_dir=None, command=None, tick=None):
    """Run the comparison on a plan's draws and LLMs (see :func:`benchmarks._claims.plan`).

    ``freeal_results``: the folder of the FreeAL suite's files whose rows of
    the same draw are reused (None: FreeAL with no human label runs here).
    Returns the JSON files written.
    """

    def run_one(data, *, key, llm, labeler, slm, embedder, freeal):
        reference = None
        if freeal_results is not None:
            reference = freeal_reference(freeal_results, data, key, llm, {
                "random_state": random_state, "n_rounds": freeal["n_rounds"],
                "n_demos": freeal["n_demos"]})
        return run_dataset(data, labeler=labeler, slm=slm, embedder=embedder, freeal=freeal,
                           strategies=strategies, budgets=budgets,
                           freeal_strategies=freeal_strategies, reference=reference,
                           random_state=random_state, tick=tick)

    return run_draws("active_learning", plan_, run_one, random_state=random_state,
                     llm_threads=llm_threads, components=components, results_dir=results_dir,
                     command=command)


def build_parser(prog="python -m benchmarks.active_learning"):
    """Command-line options of the active-learning suite."""
    parser = argparse.ArgumentParser(prog=prog, description=__doc__.split("\n")[0])
    add_suite_options(parser)
    parser.add_argument("--strategies", nargs="+", choices=STRATEGIES, default=list(STRATEGIES))
    parser.add_argument("--freeal-strategies", nargs="+", choices=STRATEGIES,
                        default=list(FREEAL_STRATEGIES),
                        help="the strategies whose human labels FreeAL is given")
    parser.add_argument("--budgets", nargs="+", type=float, default=list(BUDGETS))
    parser.add_argument("--freeal-results", default=None,
                        help="reuse FreeAL's rows (no human label, gold student) from the "
                        "FreeAL suite's files of the same draws in this folder")
    return parser


def main(argv=None):
    """Run the active-learning suite from the command line."""
    def run(args, plan_, **kw):
        return run_suite(plan_, strategies=args.strategies, budgets=sorted(args.budgets),
                         freeal_strategies=args.freeal_strategies,
                         freeal_results=args.freeal_results, random_state=args.seed,
                         llm_threads=args.llm_threads, results_dir=args.results_dir, **kw)

    return main_of("benchmarks.active_learning", build_parser(), run, argv)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
