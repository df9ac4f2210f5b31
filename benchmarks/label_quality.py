"""How the LLM's answers are read: greedy text, label scores, prior calibration (training split).

Usage::

    python -m benchmarks.label_quality                    # tweets and Yahoo, 300 training texts
    python -m benchmarks.label_quality --n-texts 100 --datasets tweets    # minutes
    python -m benchmarks.label_quality --report-only      # JSON -> docs table

For each data set, the first ``--n-texts`` texts of the benchmark's training
split (1,000 texts, seed 0, as ``benchmarks.freeal`` draws them) are labelled
by the packaged 0.5B LLM, zero-shot and with the ``k`` nearest gold-labelled
texts of the rest of the training split as demonstrations, and each way of
reading the answers is scored against the gold labels:

=================  =======================================================
``greedy``         generated text, read by the tolerant parser (the loop's
                   reading before label scores)
``scores``         each label's token sequence scored from the logits;
                   the most probable label
``scores_batch``   the same distributions, batch-calibrated
``scores_context`` the same, contextually calibrated (content-free inputs)
=================  =======================================================

This is where the labelers' ``calibration`` default is chosen: on training
texts with their gold labels, never on a test split. Results:
``benchmarks/results/label_quality.json``, rendered into
``docs/benchmarks_label_quality.rst``.
"""

import argparse
import sys
import time

import numpy as np

from ._common import BENCH_DIR, RESULTS_DIR, machine_info, scores, setup_environment, write_result

__all__ = ["READINGS", "main", "render", "run"]

DOC = BENCH_DIR.parent / "docs" / "benchmarks_label_quality.rst"
READINGS = {
    "greedy": {"constrained": False, "calibration": None},
    "scores": {"constrained": True, "calibration": None},
    "scores_batch": {"constrained": True, "calibration": "batch"},
    "scores_context": {"constrained": True, "calibration": "contextual"},
}


def _demos(data, n_texts, k):
    """The ``k`` nearest gold-labelled texts of the rest of the training split, per text."""
    from skfreeal.demonstrations import knn_demo_indices
    from skfreeal.slm import SentenceEmbedder

    names = list(data.label_names)
    texts, pool = data.X_train[:n_texts], data.X_train[n_texts:]
    pool_ids = [names.index(str(y)) for y in data.y_train[n_texts:]]
    embedder = SentenceEmbedder().fit()
    nearest = knn_demo_indices(embedder.transform(texts), embedder.transform(pool), k)
    return [[(pool[j], pool_ids[j]) for j in row] for row in nearest]


def run(datasets=("tweets", "yahoo"), n_texts=300, k=4, llm="qwen2.5-coder-0.5b",
        llm_threads=None):
    """Score every reading on every data set; return the result dict."""
    from skfreeal.labelers import LocalLabeler

    from .freeal import load_dataset

    rows = []
    for name in datasets:
        data = load_dataset(name, 1000, 500, 0)
        texts, gold = data.X_train[:n_texts], np.asarray(data.y_train[:n_texts])
        contexts = {"zero-shot": None, f"{k} gold kNN demos": _demos(data, n_texts, k)}
        for context, demos in contexts.items():
            for reading, params in READINGS.items():
                labeler = LocalLabeler(llm, labels=list(data.label_names), task=data.task,
                                       n_threads=llm_threads, **params)
                start = time.perf_counter()
                ids, _ = labeler.annotate(texts, demos)
                pred = np.array(list(data.label_names) + [None], dtype=object)[ids]
                row = {"dataset": name, "context": context, "reading": reading,
                       **scores(gold, pred, data.label_names),
                       "abstain": float(np.mean(ids < 0)),
                       "llm_calls": int(labeler.usage_.calls),
                       "cache_hits": int(labeler.usage_.cache_hits),
                       "seconds": round(time.perf_counter() - start, 1)}
                rows.append(row)
                print(f"{name:7s} {context:18s} {reading:15s} acc {row['accuracy']:.3f} "
                      f"F1 {row['macro_f1']:.3f} abstain {row['abstain']:.3f} "
                      f"calls {row['llm_calls']} {row['seconds']:.0f}s", flush=True)
    return {"suite": "label_quality", "llm": llm, "n_texts": n_texts, "k": k, "rows": rows,
            "machine": machine_info()}


def render(result):
    """The reStructuredText page of a result."""
    lines = [
        "Reading the LLM's answers (training split)",
        "==========================================",
        "",
        f"The first {result['n_texts']} texts of each benchmark training split, labelled by "
        f"``{result['llm']}``; accuracy against their gold labels. Command: "
        f"``{result.get('command', 'python -m benchmarks.label_quality')}``; revision "
        f"``{result['machine'].get('git', {}).get('commit', '?')[:10]}``.",
        "",
        ".. list-table::",
        "   :header-rows: 1",
        "",
        "   * - Data set",
        "     - Demonstrations",
        "     - Reading",
        "     - Accuracy",
        "     - Macro-F1",
        "     - Abstained",
        "     - LLM calls",
    ]
    for row in result["rows"]:
        lines += [f"   * - {row['dataset']}", f"     - {row['context']}",
                  f"     - ``{row['reading']}``", f"     - {row['accuracy']:.3f}",
                  f"     - {row['macro_f1']:.3f}", f"     - {row['abstain']:.3f}",
                  f"     - {row['llm_calls']}"]
    return "\n".join(lines) + "\n"


def main(argv=None):
    """Command-line entry point."""
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = argparse.ArgumentParser(prog="python -m benchmarks.label_quality",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--datasets", nargs="+", default=["tweets", "yahoo"],
                        choices=["tweets", "yahoo"])
    parser.add_argument("--n-texts", type=int, default=300)
    parser.add_argument("--k", type=int, default=4)
    parser.add_argument("--llm-threads", type=int, default=None,
                        help="local LLM threads (default: every core; 1 on a shared machine)")
    parser.add_argument("--report-only", action="store_true")
    args = parser.parse_args(argv)
    path = RESULTS_DIR / "label_quality.json"
    if not args.report_only:
        setup_environment()
        result = run(args.datasets, args.n_texts, args.k, llm_threads=args.llm_threads)
        result["command"] = " ".join(["python -m benchmarks.label_quality", *argv])
        path = write_result(result, "label_quality")
    import json

    DOC.write_text(render(json.loads(path.read_text())))
    print(DOC)
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
