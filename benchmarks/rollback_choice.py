"""Choose ``RoundPolicy.rollback_tolerance``: the gold-free signal per round beside the gold labels.

Reads FreeAL result files (``benchmarks/results/freeal-*.json`` and any
file whose ``rounds`` rows come from :func:`benchmarks.freeal.round_rows`)
and prints, per run and round, the labels' out-of-fold consistency
(``label_consistency``, the signal the rollback reads, no gold label) and
the training labels' accuracy against the gold labels
(``llm_label_accuracy``), each with its change from the previous round;
then, for each candidate tolerance, which rounds it would have rolled back
and the final training labels' mean accuracy it would have left. A rule
worth keeping rolls back the rounds whose gold accuracy fell and none whose
rose. The runs must be made with ``rollback_tolerance=float("inf")``
(measured, never rolled back), or the rounds after a rollback are missing.

``python -m benchmarks.rollback_choice benchmarks/results/freeal-*.json``
reads files only. ``--run banking77 tweets yahoo`` first fits FreeAL on
those data sets' dev draws with the signal measured (hours with the local
LLM; one JSON per data set in ``--out``).
"""

import argparse
import json
import sys
from pathlib import Path

import numpy as np

__all__ = ["consistency_table", "main", "rollback_outcomes", "run_dev_draws"]

TOLERANCES = (0.0, 0.01, 0.02, 0.03, 0.05)


def _runs(paths):
    """``(name, rounds)`` of each result file that has per-round rows."""
    runs = []
    for path in paths:
        result = json.loads(Path(path).read_text())
        rounds = result.get("rounds")
        if rounds:
            runs.append((Path(path).stem, rounds))
    return runs


def _change(rows, key, i):
    if i == 0 or rows[i].get(key) is None or rows[i - 1].get(key) is None:
        return None
    return rows[i][key] - rows[i - 1][key]


def _cell(value, signed=False):
    if value is None:
        return "–"
    return f"{value:+.3f}" if signed else f"{value:.3f}"


def consistency_table(runs):
    """One line per run and round: the signal, the gold accuracy, and their changes.

    Parameters
    ----------
    runs : list of (str, list of dict)
        A run's name and its ``rounds`` rows.

    Returns
    -------
    lines : list of str
    """
    lines = [(f"{'run':<44} {'round':>5} {'consistency':>11} {'change':>7} "
              f"{'gold acc':>8} {'change':>7}")]
    for name, rows in runs:
        for i, row in enumerate(rows):
            lines.append(
                f"{name:<44} {row['round']:>5} {_cell(row.get('label_consistency')):>11} "
                f"{_cell(_change(rows, 'label_consistency', i), True):>7} "
                f"{_cell(row.get('llm_label_accuracy')):>8} "
                f"{_cell(_change(rows, 'llm_label_accuracy', i), True):>7}")
    return lines


def rollback_outcomes(rows, tolerance):
    """What a tolerance would have done on one run measured with an infinite one.

    The rule of :meth:`skfreeal.loop.RoundPolicy.round_is_worse` on the
    recorded figures (each round's against the previous round's, on its own
    labelled texts: the same texts unless ``label_fraction < 1``).

    Returns
    -------
    rolled_back : int or None
        The round it rolls back (the loop stops there), None for none.
    final_accuracy : float or None
        The gold accuracy of the labels it keeps.
    """
    from skfreeal.loop import RoundPolicy

    policy = RoundPolicy(rollback_tolerance=tolerance)
    for i in range(1, len(rows)):
        before, after = rows[i - 1].get("label_consistency"), rows[i].get("label_consistency")
        if policy.round_is_worse(before, after):
            return rows[i]["round"], rows[i - 1].get("llm_label_accuracy")
    return None, rows[-1].get("llm_label_accuracy")


def outcome_table(runs, tolerances=TOLERANCES):
    """Per tolerance: the rounds rolled back, the gold change they undid, the mean final accuracy."""
    lines = [(f"{'tolerance':>9} {'rolled back (run:round, gold change undone)':<60} "
              f"{'mean final gold acc':>19}")]
    for tolerance in tolerances:
        undone, finals = [], []
        for name, rows in runs:
            rolled, final = rollback_outcomes(rows, tolerance)
            if rolled is not None:
                i = [r["round"] for r in rows].index(rolled)
                gold_change = _cell(_change(rows, "llm_label_accuracy", i), True)
                undone.append(f"{name}:{rolled} ({gold_change})")
            if final is not None:
                finals.append(final)
        mean = _cell(float(np.mean(finals)) if finals else None)
        lines.append(f"{tolerance:>9g} {', '.join(undone) or 'none':<60} {mean:>19}")
    return lines


def run_dev_draws(names, *, llm, n_train, n_test, seed, out):
    """Fit FreeAL on dev draws with the signal measured and never acted on; write the rows.

    Heavy (the local LLM labels every training text): only with ``--run``.
    Returns the paths written.
    """
    from ._common import setup_environment
    from .freeal import Components, fit_freeal, load_dataset, round_rows

    setup_environment()
    labeler, slm, embedder = Components().resolved(llm)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for name in names:
        data = load_dataset(name, n_train, n_test, seed)
        clf, *_ = fit_freeal(data, labeler=labeler, slm=slm, embedder=embedder, n_rounds=2,
                             n_demos=4, random_state=seed,
                             freeal_params={"rollback_tolerance": float("inf")})
        labels = list(data.label_names)
        gold = np.array([labels.index(str(v)) for v in data.y_train], dtype=np.int64)
        path = out / f"rollback-{name}-{llm}-{seed}.json"
        path.write_text(json.dumps({"dataset": name, "rounds": round_rows(clf, gold)}, indent=1))
        paths.append(path)
    return paths


def main(argv=None):
    """Print the tables for the result files given (after ``--run``'s fits, if asked)."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.rollback_choice",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("results", nargs="*", help="result JSON files with 'rounds' rows")
    parser.add_argument("--run", nargs="+", metavar="DATASET",
                        help="first fit FreeAL on these dev draws (hours)")
    parser.add_argument("--llm", default="qwen2.5-coder-0.5b")
    parser.add_argument("--n-train", type=int, default=1000)
    parser.add_argument("--n-test", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="benchmarks/results/rollback")
    args = parser.parse_args(argv)
    paths = list(args.results)
    if args.run:
        paths += run_dev_draws(args.run, llm=args.llm, n_train=args.n_train,
                               n_test=args.n_test, seed=args.seed, out=args.out)
    runs = _runs(paths)
    if not runs:
        parser.error("no result file with per-round rows")
    print("\n".join(consistency_table(runs)))
    print()
    print("\n".join(outcome_table(runs)))
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
