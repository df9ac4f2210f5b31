"""The LLM improving itself against FreeAL's collaboration with the student (issue 36).

FreeAL runs at the preset's settings; then the LLM refines its own labels for
the same rounds with the same number of texts asked in each
(:func:`benchmarks.baselines.llm_self_improvement`: its own most confident
answers as demonstrations, no student, no judge). Per data set and LLM:

==========================  ====================================================
``freeal_slm``              FreeAL's final student on the test texts
``freeal_demos_llm``        the LLM on the test texts with their nearest
                            demonstrations from FreeAL's final pool
``self_improvement_llm``    the LLM on the test texts with their nearest
                            demonstrations from its own last pool
``self_improvement_slm``    FreeAL's student (robust, as FreeAL trains it)
                            trained on the self-improved training labels
==========================  ====================================================

and, per round, the training labels' accuracy against the gold labels and
the LLM requests (new calls and cache hits) of both. Run ``python -m
benchmarks.self_improvement --quick`` (a smoke run) or ``--role report``.
"""

import argparse

import numpy as np
from sklearn.base import clone

from ._claims import add_suite_options, main_of, run_draws
from ._common import measure, scores
from .baselines import embed, knn_demos, llm_label_ids, llm_self_improvement
from .freeal import fit_freeal, round_rows, student_clone, student_row

__all__ = ["main", "run_dataset", "run_suite"]


def run_dataset(data, *, labeler, slm, embedder, freeal, random_state=0, tick=None):
    """FreeAL, then the LLM's self-improvement with the same rounds and requests.

    Parameters
    ----------
    data : skfreeal.datasets.TextDataset
    labeler, slm, embedder : estimators
        Prototypes (cloned, never fitted in place).
    freeal : dict
        ``n_rounds``, ``n_demos`` and ``params`` (more FreeALClassifier parameters).
    random_state : int, default=0
    tick : callable, default=None

    Returns
    -------
    result : dict
        ``methods``, ``rounds`` (``freeal`` and ``self_improvement``, one
        row per round) and ``settings``.
    """
    from skfreeal import DemoPolicy

    tick = tick or (lambda name: None)
    names = list(data.label_names)
    gold = np.array([names.index(str(v)) for v in data.y_train], dtype=np.int64)
    clf, pred, step, caught = fit_freeal(
        data, labeler=labeler, slm=slm, embedder=embedder, n_rounds=freeal["n_rounds"],
        n_demos=freeal["n_demos"], random_state=random_state, freeal_params=freeal["params"])
    methods = {"freeal_slm": {**scores(data.y_test, pred, names), **step,
                              "n_rounds_run": clf.n_rounds_, "warnings": caught}}
    tick("FreeAL")
    retrieval = clone(embedder).fit(data.X_train)
    train_emb, test_emb = embed(retrieval, data.X_train), embed(retrieval, data.X_test)
    llm = clone(labeler).set_params(labels=names, task=data.task)
    pool = {"texts": [t for t, _ in clf.demos_],
            "labels": [names.index(str(c)) for _, c in clf.demos_]}
    methods["freeal_demos_llm"] = _pool_llm_row(llm, data, retrieval, test_emb, pool,
                                                freeal["n_demos"])
    tick("LLM + FreeAL's demos")

    policy = clf.demos or DemoPolicy(n_demos=freeal["n_demos"])
    history = list(clf.history_)
    n_generated = policy.n_generated_for(n_classes=len(names),
                                         n_first_round=history[0]["n_annotated"])
    with measure(llm) as own_step:
        own = llm_self_improvement(
            llm, list(data.X_train), train_emb, lambda texts: embed(retrieval, texts),
            n_annotated=[r["n_annotated"] for r in history], n_generated=n_generated,
            n_demos=freeal["n_demos"], top_percent=policy.top_percent,
            per_class=policy.pool_per_class, random_state=random_state)
    tick("LLM self-improvement (training labels)")
    methods["self_improvement_llm"] = _pool_llm_row(llm, data, retrieval, test_emb, own["pool"],
                                                    freeal["n_demos"])
    tick("LLM + its own demos")
    methods["self_improvement_slm"] = student_row(
        student_clone(slm, robust=True, random_state=random_state), data, own["labels"],
        labels_from="the LLM's self-improved labels", label_seconds=own_step["seconds"])
    tick("student on the self-improved labels")
    return {"methods": methods,
            "rounds": {"freeal": round_rows(clf, gold),
                       "self_improvement": [_own_round(r, gold) for r in own["rounds"]]},
            "train_label_accuracy": {"freeal_final": float(np.mean(clf.label_ids_ == gold)),
                                     "self_improvement_final": float(np.mean(own["labels"]
                                                                             == gold))},
            "self_improvement_step": own_step,
            "settings": {"n_rounds": freeal["n_rounds"], "n_demos": freeal["n_demos"],
                         **freeal["params"], "n_generated": n_generated,
                         "top_percent": policy.top_percent, "per_class": policy.pool_per_class,
                         "random_state": random_state}}


def _own_round(row, gold):
    """A self-improvement round's record, with its labels' accuracy against ``gold``."""
    labels = row["labels"]
    return {**{k: v for k, v in row.items() if k != "labels"},
            "llm_label_accuracy": float(np.mean(labels == gold)),
            "llm_label_coverage": float(np.mean(labels >= 0))}


def _pool_llm_row(llm, data, retrieval, test_emb, pool, n_demos):
    """The LLM on the test texts with their ``n_demos`` nearest demonstrations of ``pool``."""
    names = list(data.label_names)
    with measure(llm) as step:
        pool_emb = embed(retrieval, pool["texts"])
        demos = knn_demos(test_emb, pool["texts"], pool["labels"], pool_emb, n_demos)
        ids = llm_label_ids(llm, data.X_test, demos)
    table = np.array(names + [None], dtype=object)
    pred = table[np.where(ids >= 0, ids, len(names))]
    return {**scores(data.y_test, pred, names), **step, "pool_size": len(pool["texts"])}


def run_suite(plan_, *, random_state=0, llm_threads=None, components=None, results_dir=None,
              command=None, tick=None):
    """Run the comparison on a plan's draws and LLMs; returns the JSON files written."""

    def run_one(data, *, labeler, slm, embedder, freeal, **_):
        return run_dataset(data, labeler=labeler, slm=slm, embedder=embedder, freeal=freeal,
                           random_state=random_state, tick=tick)

    return run_draws("self_improvement", plan_, run_one, random_state=random_state,
                     llm_threads=llm_threads, components=components, results_dir=results_dir,
                     command=command)


def main(argv=None):
    """Run the self-improvement suite from the command line."""
    parser = add_suite_options(argparse.ArgumentParser(
        prog="python -m benchmarks.self_improvement", description=__doc__.split("\n")[0]))
    return main_of("benchmarks.self_improvement", parser, lambda args, plan_, **kw: run_suite(
        plan_, random_state=args.seed, llm_threads=args.llm_threads,
        results_dir=args.results_dir, **kw), argv)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
