"""A larger student: FreeAL and the gold-label student with all-mpnet-base-v2 (issue 36).

The paper finds a larger student better (RoBERTa-Large over RoBERTa-Base). The
packaged encoders here: all-MiniLM-L6-v2 (22.7M parameters, the default) and
all-mpnet-base-v2 (109.5M, RoBERTa-base size; :func:`skfreeal.assets.mpnet_path`).
Per data set, LLM and student: FreeAL's final student (``freeal_slm``) and the
student trained plainly on the gold labels (``slm_gold``), each with its wall
and CPU seconds and peak memory, so that the cost of the larger model on the
machine is beside its accuracy. FreeAL's LLM requests are the same for both
students up to the final training (the judge is the probe on the frozen
embedder), so a shared answer cache makes the second student's run cost only
its training.

Run ``python -m benchmarks.larger_student --quick`` (a smoke run) or
``--role report``; ``--students`` chooses the encoders.
"""

import argparse

import numpy as np
from sklearn.base import clone

from ._claims import add_suite_options, main_of, run_draws
from ._common import scores
from .freeal import fit_freeal, student_clone, student_row

__all__ = ["STUDENTS", "main", "run_dataset", "run_suite", "student_for"]

# encoder name -> the name of the skfreeal.assets function giving its folder (None: the
# default student's own encoder)
STUDENTS = {"all-MiniLM-L6-v2": None, "all-mpnet-base-v2": "mpnet_path"}


def student_for(slm, name):
    """The student prototype ``slm`` on the packaged encoder ``name`` (of :data:`STUDENTS`)."""
    from skfreeal import assets

    if name not in STUDENTS:
        raise ValueError(f"student must be one of {sorted(STUDENTS)}, got {name!r}.")
    if STUDENTS[name] is None:
        return slm
    return clone(slm).set_params(model_name_or_path=getattr(assets, STUDENTS[name])())


def run_dataset(data, *, labeler, students, embedder, freeal, random_state=0, tick=None):
    """FreeAL and the gold-label student with each student prototype on one data set.

    Parameters
    ----------
    data : skfreeal.datasets.TextDataset
    labeler, embedder : estimators
        Prototypes (cloned, never fitted in place).
    students : dict of str to estimator
        The student prototypes by name.
    freeal : dict
        ``n_rounds``, ``n_demos`` and ``params`` (more FreeALClassifier parameters).
    random_state : int, default=0
    tick : callable, default=None

    Returns
    -------
    result : dict
        ``students``: per name, its ``freeal_slm`` and ``slm_gold`` rows.
    """
    tick = tick or (lambda name: None)
    names = list(data.label_names)
    gold = np.array([names.index(str(v)) for v in data.y_train], dtype=np.int64)
    rows = {}
    for name, slm in students.items():
        clf, pred, step, caught = fit_freeal(
            data, labeler=labeler, slm=slm, embedder=embedder, n_rounds=freeal["n_rounds"],
            n_demos=freeal["n_demos"], random_state=random_state,
            freeal_params=freeal["params"])
        record = clf.student_record_
        freeal_row = {**scores(data.y_test, pred, names), **step, "n_rounds_run": clf.n_rounds_,
                      "student_seconds": record.seconds if record is not None else None,
                      "warnings": caught}
        tick(f"FreeAL, {name}")
        plain = student_clone(slm, robust=False, random_state=random_state)
        rows[name] = {"freeal_slm": freeal_row,
                      "slm_gold": student_row(plain, data, gold, labels_from="gold"),
                      "slm": repr(slm)}
        tick(f"student on gold labels, {name}")
    return {"students": rows,
            "settings": {"n_rounds": freeal["n_rounds"], "n_demos": freeal["n_demos"],
                         **freeal["params"], "random_state": random_state}}


def run_suite(plan_, *, students=tuple(STUDENTS), random_state=0, llm_threads=None,
              components=None, results_dir=None, command=None, tick=None):
    """Run the comparison on a plan's draws and LLMs; returns the JSON files written."""

    def run_one(data, *, labeler, slm, embedder, freeal, **_):
        return run_dataset(data, labeler=labeler, embedder=embedder,
                           students={name: student_for(slm, name) for name in students},
                           freeal=freeal, random_state=random_state, tick=tick)

    return run_draws("larger_student", plan_, run_one, random_state=random_state,
                     llm_threads=llm_threads, components=components, results_dir=results_dir,
                     command=command)


def main(argv=None):
    """Run the larger-student suite from the command line."""
    parser = add_suite_options(argparse.ArgumentParser(
        prog="python -m benchmarks.larger_student", description=__doc__.split("\n")[0]))
    parser.add_argument("--students", nargs="+", choices=list(STUDENTS), default=list(STUDENTS),
                        help="the packaged encoders to train as the student")
    return main_of("benchmarks.larger_student", parser, lambda args, plan_, **kw: run_suite(
        plan_, students=args.students, random_state=args.seed, llm_threads=args.llm_threads,
        results_dir=args.results_dir, **kw), argv)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
