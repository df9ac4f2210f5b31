"""Seconds per annotation request as the number of labels grows (issue 41, item 5).

The local model never generates a label: it scores every label's token
sequence over a trie after one shared prompt (``skfreeal/labelers/_label_trie.py``).
With more labels the prompt lists more names and the trie has more shared
prefixes to evaluate. This suite times zero-shot annotation of the same
number of texts with 2 (tweets), 20 (StackOverflow tags) and 77 (banking77
intents) labels, with no answer cache, and reports the seconds per request
(wall clock and the process's CPU time, which a shared machine inflates less),
the prompt length, the label prefixes the trie evaluated and the ratio to the
2-label task::

    python -m benchmarks.label_scaling            # 40 texts a task, the 0.5B model
    python -m benchmarks.label_scaling --quick    # 8 texts a task
    python -m benchmarks.label_scaling --n-threads 1   # on a shared machine

Writes ``benchmarks/results/label_scaling[_quick].json``. Every draw is a dev
draw (training texts of packaged data, seed 0).
"""

import argparse
import time

import numpy as np

from ._common import machine_info, setup_environment, write_result

__all__ = ["TASKS", "main", "time_task"]

# name -> loader of skfreeal.datasets, in the order of their number of labels
TASKS = {"tweets": "load_tweets", "stackoverflow": "load_stackoverflow",
         "banking77": "load_banking77"}


def time_task(labeler_factory, name, n_texts):
    """Time zero-shot annotation of ``n_texts`` training texts of data set ``name``.

    Parameters
    ----------
    labeler_factory : callable
        ``labeler_factory(labels, task)`` -> a labeler with no answer cache.
    name : str
        A key of :data:`TASKS`.
    n_texts : int

    Returns
    -------
    row : dict
        ``n_labels``, ``n_texts``, ``seconds``, ``seconds_per_request``,
        ``cpu_seconds_per_request`` (all the process's threads),
        ``prompt_tokens_per_request``, ``label_prefixes_per_request`` (the
        trie's evaluated prefixes: the local model's ``completion_tokens``)
        and ``accuracy`` (against the gold labels of those texts, for
        orientation only).
    """
    from skfreeal import datasets

    data = getattr(datasets, TASKS[name])(n_train=max(n_texts, 40), n_test=10)
    texts, gold = list(data.X_train[:n_texts]), np.asarray(data.y_train[:n_texts])
    labeler = labeler_factory(list(data.label_names), data.task)
    labeler.annotate_proba(texts[:1])  # load the model and warm up: not timed
    usage_before = labeler.usage_.as_dict()
    start, cpu_start = time.perf_counter(), time.process_time()
    proba = labeler.annotate_proba(texts[1:])
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu_start
    usage = labeler.usage_.as_dict()
    n = len(texts) - 1
    pred = np.asarray(data.label_names, dtype=object)[np.nan_to_num(proba).argmax(axis=1)]
    return {"dataset": name, "n_labels": len(data.label_names), "n_texts": n,
            "seconds": round(seconds, 2), "seconds_per_request": round(seconds / n, 3),
            "cpu_seconds_per_request": round(cpu_seconds / n, 3),
            "prompt_tokens_per_request": round(
                (usage["prompt_tokens"] - usage_before["prompt_tokens"]) / n, 1),
            "label_prefixes_per_request": round(
                (usage["completion_tokens"] - usage_before["completion_tokens"]) / n, 1),
            "accuracy": float(np.mean(pred == gold[1:]))}


def main(argv=None):
    """Command line: time each task and write the result file."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="8 texts a task")
    parser.add_argument("--n-texts", type=int, default=None)
    parser.add_argument("--model", default=None, help="a packaged local model (default 0.5B)")
    parser.add_argument("--n-threads", type=int, default=None,
                        help="threads of the local model (default: every core); 1 on a "
                             "shared machine, where threads waiting for each other dominate")
    args = parser.parse_args(argv)
    setup_environment()
    from skfreeal.labelers import LocalLabeler

    n_texts = args.n_texts or (9 if args.quick else 41)  # the first text warms up

    def factory(labels, task):
        params = {} if args.model is None else {"model": args.model}
        return LocalLabeler(labels=labels, task=task, cache=None, n_threads=args.n_threads,
                            **params)

    rows = [time_task(factory, name, n_texts) for name in TASKS]
    for row in rows:
        row["ratio_to_2_labels"] = round(
            row["seconds_per_request"] / rows[0]["seconds_per_request"], 2)
        row["cpu_ratio_to_2_labels"] = round(
            row["cpu_seconds_per_request"] / rows[0]["cpu_seconds_per_request"], 2)
        print(f"{row['dataset']:14s} {row['n_labels']:3d} labels: "
              f"{row['seconds_per_request']:.3f} s a request "
              f"({row['ratio_to_2_labels']:.2f}x), cpu {row['cpu_seconds_per_request']:.3f} s "
              f"({row['cpu_ratio_to_2_labels']:.2f}x), {row['prompt_tokens_per_request']:.0f} "
              f"prompt tokens, {row['label_prefixes_per_request']:.0f} label prefixes, "
              f"accuracy {row['accuracy']:.2f}")
    result = {"suite": "label_scaling", "role": "dev", "llm": args.model or "qwen2.5-coder-0.5b",
              "dataset": {"name": "tweets/stackoverflow/banking77", "n_train": n_texts},
              "n_threads": args.n_threads, "rows": rows, "machine": machine_info()}
    path = write_result(result, "label_scaling_quick" if args.quick else "label_scaling")
    print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
