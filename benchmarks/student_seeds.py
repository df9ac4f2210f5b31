"""How much FreeAL's result moves with the student's seed alone.

The LLM side is held fixed (FreeAL's ``random_state`` picks the same
examples, so the same synthetic demonstrations and the same round-0 labels,
answered from the cache); only the SLM's ``random_state`` changes, and with
it the clean/noisy split and so which texts round 1 re-annotates.

Run ``python -m benchmarks.student_seeds --seeds 1 2`` (defaults: the README
demo's tweets, 1,000 training / 500 test, 2 rounds, 4 demonstrations). The
result goes to ``benchmarks/results/freeal-student-seeds.json``; runs with
other seeds are merged into the same file.
"""

import argparse
import json
import sys
import time

import numpy as np

from ._common import RESULTS_DIR, freeal_classifier, machine_info, setup_environment, write_result
from .freeal import load_dataset, round_rows

__all__ = ["main", "run_seed"]

RESULT_NAME = "freeal-student-seeds"


def run_seed(data, seed, *, n_rounds, n_demos, random_state):
    """Fit FreeAL with the student seeded by ``seed``; per-round accuracies and calls."""
    from skfreeal.slm import RobustTextClassifier

    slm = RobustTextClassifier(random_state=seed)  # FreeAL's default student, seeded
    clf = freeal_classifier(data.label_names, data.task, slm=slm, n_rounds=n_rounds,
                            n_demos=n_demos, random_state=random_state)
    start = time.perf_counter()
    clf.fit(data.X_train, eval_set=(data.X_test, data.y_test))
    gold = np.array([list(data.label_names).index(str(v)) for v in data.y_train])
    rounds = [{"round": r["round"], "n_annotated": r["n_annotated"],
               "clean_fraction": r["clean_fraction"],
               "llm_label_accuracy": r["llm_label_accuracy"],
               "slm_test_accuracy": r.get("eval_accuracy")} for r in round_rows(clf, gold)]
    return {"slm_seed": seed, "test_accuracy": float(clf.score(data.X_test, data.y_test)),
            "rounds": rounds, "llm_calls": int(clf.usage_["calls"]),
            "seconds": round(time.perf_counter() - start, 1)}


def main(argv=None):
    """Run FreeAL once per student seed and merge the runs into the JSON result."""
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = argparse.ArgumentParser(prog="python -m benchmarks.student_seeds",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", required=True)
    parser.add_argument("--n-train", type=int, default=1000)
    parser.add_argument("--n-test", type=int, default=500)
    parser.add_argument("--n-rounds", type=int, default=2)
    parser.add_argument("--n-demos", type=int, default=4)
    parser.add_argument("--seed", type=int, default=0, help="data sample and FreeAL seed")
    parser.add_argument("--cache-dir", help="LLM answer cache (default benchmarks/.cache)")
    args = parser.parse_args(argv)
    setup_environment(cache_dir=args.cache_dir)
    data = load_dataset("tweets", args.n_train, args.n_test, args.seed)
    settings = {"n_train": args.n_train, "n_test": args.n_test, "n_rounds": args.n_rounds,
                "n_demos": args.n_demos, "random_state": args.seed,
                "slm_params": {}}  # RobustTextClassifier's defaults
    path = RESULTS_DIR / f"{RESULT_NAME}.json"
    runs, commands = {}, []
    if path.exists():
        old = json.loads(path.read_text(encoding="utf-8"))
        if old.get("settings") == settings:
            runs = {r["slm_seed"]: r for r in old["runs"]}
            commands = old.get("commands", [])
    commands.append(" ".join(["python -m benchmarks.student_seeds", *argv]))
    for seed in args.seeds:  # written after each seed, so a stopped run keeps what it measured
        runs[seed] = run_seed(data, seed, n_rounds=args.n_rounds, n_demos=args.n_demos,
                              random_state=args.seed)
        print(f"student seed {seed}: test accuracy {runs[seed]['test_accuracy']:.3f}, "
              f"{runs[seed]['llm_calls']} LLM calls, {runs[seed]['seconds']:.0f} s", flush=True)
        accs = [r["test_accuracy"] for r in runs.values()]
        result = {"suite": "student_seeds", "role": data.role, "dataset": data.name,
                  "settings": settings,
                  "runs": [runs[s] for s in sorted(runs)],
                  "summary": {"n_seeds": len(accs), "mean": float(np.mean(accs)),
                              "min": float(np.min(accs)), "max": float(np.max(accs))},
                  "machine": machine_info(),
                  "commands": commands}
        write_result(result, RESULT_NAME)
    print(f"FreeAL SLM test accuracy over {len(accs)} student seeds: mean "
          f"{np.mean(accs):.3f}, range {min(accs):.3f}-{max(accs):.3f} ({path})")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
