"""What each label-quality lever adds to FreeAL, one row at a time, at full size.

Usage::

    python -m benchmarks.ablation                          # tweets and Yahoo, 1,000/500
    python -m benchmarks.ablation --datasets tweets --rows scores calibration
    python -m benchmarks.ablation --report-only            # JSON -> docs table

Each row adds one lever to the levers of the rows above it that were kept
(made defaults); a lever that was tried and not kept (``fusion``, ``judge``,
``rounds``)
is measured on top of the kept ones above it and not carried further, so
that the last kept row (``judge_fusion``) is today's defaults. Same train/test
texts (the benchmark splits, seed 0) and the packaged 0.5B LLM throughout.
The first row is the loop before the levers: the full benchmark committed
at ``BASELINE_REVISION`` (``freeal-full-<data set>-qwen2.5-coder-0.5b.json``
there, copied into the result with its revision); every other row is run
here. Per row: the student's test accuracy after each round and at the
end, the LLM labels' accuracy on the training texts after each round,
LLM calls per training text, stop reason, seconds and the fit's warnings
(recorded, not printed raw). The test split is
only measured, never used to choose anything. Results:
``benchmarks/results/ablation-<data set>.json``, rendered into
``docs/benchmarks_ablation.rst``.
"""

import argparse
import json
import subprocess
import sys
import time
import warnings

import numpy as np

from ._common import (BENCH_DIR, RESULTS_DIR, freeal_classifier, machine_info, revision_text,
                      setup_environment, write_result)
from .student import OLD_PARAMS

__all__ = ["ROWS", "main", "render", "run_row"]

DOC = BENCH_DIR.parent / "docs" / "benchmarks_ablation.rst"
BASELINE_REVISION = "64589e8"  # the last revision before the levers
LLM = "qwen2.5-coder-0.5b"

# The student as it was before the student lever (item 6 of the issue).
OLD_STUDENT = OLD_PARAMS

# (key, what the row adds, labeler params, FreeAL params, student params (None: FreeAL's
# default student, RobustTextClassifier's own defaults), kept: whether the lever is a
# default, so the rows below build on it).
ROWS = [
    ("scores", "1+2: label distributions from label scores (answers can only be labels)",
     {"constrained": True, "calibration": None},
     {"label_fusion": "llm", "fill_missing_demos": False, "judge": None}, OLD_STUDENT, True),
    ("calibration", "3: batch prior calibration",
     {"calibration": "batch"}, {}, {}, True),
    ("fusion", "4: student and LLM together (product of distributions; not kept)",
     {}, {"label_fusion": "product"}, {}, False),
    ("fill", "7: round-0 demonstrations for every label",
     {}, {"fill_missing_demos": True}, {}, True),
    ("student", "6: the student sound at every size (the defaults before the judge)",
     {}, {}, None, True),
    ("judge", "4b: a frozen-probe judge in the loop, the student trained once on the final "
     "labels (not a default)", {}, {"judge": "probe"}, {}, False),
    ("judge_fusion", "4b+4: the probe judge, and each re-annotated text's label from the "
     "product of the LLM's and the judge's distributions (today's defaults)", {},
     {"judge": "probe", "label_fusion": "product"}, {}, True),
    ("rounds", "5: up to four rounds instead of two, the stopping rules deciding (each text "
     "still asked at most twice; not a default)", {}, {"n_rounds": 4}, {}, False),
]


def _cumulative(upto):
    """Labeler, FreeAL and student parameters of row ``upto`` (a key).

    The kept levers of the rows above it, then its own.
    """
    labeler, freeal, student = {}, {}, {}
    for key, _, lab, fre, stu, kept in ROWS:
        if not kept and key != upto:
            continue
        labeler.update(lab)
        freeal.update(fre)
        student = {} if stu is None else {**student, **stu}
        if key == upto:
            break
    return labeler, freeal, student


def run_row(data, key, *, n_rounds=2, n_demos=4, random_state=0):
    """One FreeAL fit with the levers up to ``key``; the row's figures."""
    from skfreeal.labelers import LocalLabeler
    from skfreeal.slm import RobustTextClassifier

    labeler_params, freeal_params, student_params = _cumulative(key)
    n_rounds = freeal_params.get("n_rounds", n_rounds)
    freeal_params = {k: v for k, v in freeal_params.items() if k != "n_rounds"}
    names = list(data.label_names)
    gold = np.array([names.index(str(y)) for y in data.y_train])
    clf = freeal_classifier(
        names, data.task, labeler=LocalLabeler(LLM, **labeler_params),
        slm=RobustTextClassifier(**student_params), n_rounds=n_rounds, n_demos=n_demos,
        random_state=random_state, **freeal_params,
    )
    start = time.perf_counter()
    # Recorded in the row (and printed once by main), not shown as raw warnings.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        clf.fit(data.X_train, eval_set=(data.X_test, data.y_test))
    seconds = time.perf_counter() - start
    # With a judge, a round's eval accuracy is the judge's, not a student's.
    per_round = "judge_test_accuracy" if clf.judge_ is not None else "test_accuracy"
    rounds = [{"round": h["round"], "n_annotated": h["n_annotated"],
               "n_changed": h["n_changed"], "calls": h["calls"],
               "label_accuracy": float(np.mean(labels == gold)),
               per_round: h.get("eval_accuracy"), "seconds": h["seconds"]}
              for h, labels in zip(clf.history_, clf.round_labels_)]
    return {
        "row": key, "labeler": labeler_params, "freeal": freeal_params,
        "student": repr(clf.slm),
        "test_accuracy": float(np.mean(clf.predict(data.X_test) == np.asarray(data.y_test))),
        "label_accuracy": float(np.mean(clf.label_ids_ == gold)),
        "rounds": rounds, "stop_reason": clf.stop_reason_,
        # Requests the fit used: new calls and answers from the shared cache alike (the
        # cost of a cold run; earlier rows of the same levers leave answers in the cache).
        "calls_per_text": (clf.usage_["calls"] + clf.usage_["cache_hits"]) / len(data.X_train),
        "requests_counted": "all",
        "llm_calls": clf.usage_["calls"], "cache_hits": clf.usage_["cache_hits"],
        "seconds": round(seconds, 1),
        "warnings": sorted({str(w.message) for w in caught}),
    }


def baseline_row(dataset, old=None):
    """The loop before the levers: the committed full benchmark of that revision.

    ``old`` is that benchmark's result; read from git at ``BASELINE_REVISION`` when None.
    """
    path = f"benchmarks/results/freeal-full-{dataset}-{LLM}.json"
    if old is None:
        text = subprocess.run(["git", "show", f"{BASELINE_REVISION}:{path}"],
                              capture_output=True, text=True, cwd=BENCH_DIR.parent,
                              check=True).stdout
        old = json.loads(text)
    student = old["methods"]["freeal_slm"]
    return {
        "row": "today", "what": "the loop before the levers", "revision": BASELINE_REVISION,
        "source": path,
        "test_accuracy": student["accuracy"],
        "label_accuracy": old["train_label_accuracy"]["freeal_final"],
        "requests_counted": "all",
        "rounds": [{"round": r["round"], "n_annotated": r["n_annotated"],
                    "n_changed": r["n_changed"], "calls": r["calls"],
                    "label_accuracy": r["llm_label_accuracy"],
                    "test_accuracy": r.get("eval_accuracy"), "seconds": r["seconds"]}
                   for r in old["rounds"]],
        # Requests the fit used: new calls and answers from the shared cache alike.
        "calls_per_text": (student.get("llm_calls", 0) + student.get("llm_cache_hits", 0))
        / old["dataset"]["n_train"],
        "zero_shot_test_accuracy": old["methods"]["zero_shot_llm"]["accuracy"],
        "zero_shot_label_accuracy": old["train_label_accuracy"]["zero_shot_llm"],
        "gold_student_test_accuracy": old["methods"]["slm_gold"]["accuracy"],
        "seconds": old.get("total_seconds"),
    }


def render(results):
    """The reStructuredText page of the ablation results (one table per data set)."""
    lines = [
        "Label-quality levers, one at a time",
        "===================================",
        "",
        "Each row adds one lever to the kept levers of the rows above it; a lever not kept "
        "(marked so) is not carried to the rows below, so that the last kept row is today's "
        "defaults (``python -m benchmarks.ablation``). The first row is the loop "
        "before the levers, as the full benchmark measured it at revision "
        f"``{BASELINE_REVISION}``. Student test accuracy after each round and at the end "
        "(the test texts are only measured, never used to choose); LLM label accuracy on the "
        "training texts after each round (the figure the defaults were chosen by); LLM "
        "requests per training text (new calls and answers from the shared cache alike: the "
        "cost of a cold run), and texts annotated per training text (round 0's, plus those "
        "re-asked). Seconds are wall time on the machine of the run, its LLM answers cached "
        "or not, so they compare only rows run cold.",
        "",
        "Which dev draw chose each default, and what the report draws showed: "
        ":doc:`selection`.",
        "",
    ]
    for result in results:
        title = f"{result['dataset']} ({result['n_train']} train / {result['n_test']} test)"
        lines += [title, "-" * len(title), "",
                  f"Last command ``{result.get('command', '')}``, revision "
                  f"{revision_text(result['machine'].get('git'))}; "
                  "each row's revision is in its last column (``-dirty``: run with "
                  "uncommitted changes).", "",
                  ".. list-table::", "   :header-rows: 1", "",
                  "   * - Row", "     - Student test acc.", "     - per round",
                  "     - Label acc. per round", "     - LLM requests / text",
                  "     - Texts annotated / text",
                  "     - Stop", "     - Seconds", "     - Revision"]
        for row in result["rows"]:
            per_round = ", ".join(f"{r['test_accuracy']:.3f}" for r in row["rounds"]
                                  if r.get("test_accuracy") is not None)
            judged = [r["judge_test_accuracy"] for r in row["rounds"]
                      if r.get("judge_test_accuracy") is not None]
            if judged:  # no student per round: the judge's figures, marked as such
                per_round = "judge: " + ", ".join(f"{a:.3f}" for a in judged)
            labels = ", ".join(f"{r['label_accuracy']:.3f}" for r in row["rounds"])
            requests = f"{row['calls_per_text']:.2f}"
            if row.get("requests_counted") not in ("all", "cold cache"):
                # rows run before cached answers were counted (and not on a cold cache)
                requests += " (new calls only)"
            annotated = sum(r.get("n_annotated", 0) for r in row["rounds"]) / result["n_train"]
            lines += [f"   * - {row.get('what', row['row'])}",
                      f"     - **{row['test_accuracy']:.3f}**", f"     - {per_round}",
                      f"     - {labels}", f"     - {requests}", f"     - {annotated:.2f}",
                      f"     - {row.get('stop_reason', '')}",
                      f"     - {row['seconds']:.0f}" if row.get("seconds") else "     - ",
                      f"     - ``{row.get('revision', '?')}``"]
        lines.append("")
        run = {row["row"] for row in result["rows"]}
        missing = [key for key, *_ in ROWS if key not in run]
        if missing:
            lines += [f"Rows not run on this data set yet: {', '.join(missing)}.", ""]
    return "\n".join(lines) + "\n"


def main(argv=None):
    """Command-line entry point."""
    from .freeal import load_dataset

    argv = sys.argv[1:] if argv is None else list(argv)
    parser = argparse.ArgumentParser(prog="python -m benchmarks.ablation",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--datasets", nargs="+", default=["tweets", "yahoo"],
                        choices=["tweets", "yahoo"])
    parser.add_argument("--rows", nargs="+", default=[key for key, *_ in ROWS],
                        choices=[key for key, *_ in ROWS])
    parser.add_argument("--report-only", action="store_true")
    args = parser.parse_args(argv)
    if not args.report_only:
        setup_environment()
        # The code this process runs: read once, as commits may land while it runs (and its
        # own results make the tree dirty after the first row).
        machine = machine_info()
        git = machine.get("git", {})
        revision = git.get("commit", "?")[:7] + ("-dirty" if git.get("dirty") else "")
        for name in args.datasets:
            data = load_dataset(name, 1000, 500, 0)
            path = RESULTS_DIR / f"ablation-{name}.json"
            old = json.loads(path.read_text()) if path.exists() else {}
            rows = {row["row"]: row for row in old.get("rows", [])}
            rows["today"] = baseline_row(name)
            for key in args.rows:
                print(f"{name}: {key} ...", flush=True)
                rows[key] = run_row(data, key)
                rows[key]["what"] = next(w for k, w, *_ in ROWS if k == key)
                rows[key]["revision"] = revision
                print(f"  test {rows[key]['test_accuracy']:.3f}, labels "
                      f"{rows[key]['label_accuracy']:.3f}", flush=True)
                for message in rows[key]["warnings"]:
                    print(f"  note: {message}", flush=True)
                order = ["today"] + [k for k, *_ in ROWS]
                write_result({"suite": "ablation", "role": data.role, "dataset": name,
                              "n_train": len(data.X_train), "n_test": len(data.X_test),
                              "rows": [rows[k] for k in order if k in rows],
                              "machine": machine,
                              "command": " ".join(["python -m benchmarks.ablation", *argv])},
                             f"ablation-{name}")
    results = [json.loads(p.read_text()) for p in sorted(RESULTS_DIR.glob("ablation-*.json"))]
    DOC.write_text(render(results))
    print(DOC)
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
