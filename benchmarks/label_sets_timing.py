"""Seconds per request of the local model judging each label of a set, against one label (issue 37).

A multi-label :class:`~skfreeal.labelers.LocalLabeler` evaluates the prompt
once, then every label's ``{"<label>":`` continuation in one batched decode,
reading ``true`` against ``false`` (``skfreeal/labelers/_label_sets.py``).
This times zero-shot annotation of the same StackOverflow texts with the
first K label names (K=5 and the 20 of the data set), as one label per text
and as a label set, with no answer cache::

    python -m benchmarks.label_sets_timing --n-threads 1   # 10 texts, the 0.5B model

Prints one row per (K, kind): wall and CPU seconds a request, prompt tokens
and continuation tokens a request. Writes ``benchmarks/results/label_sets_timing.json``.
Dev draw (training texts of packaged data).
"""

import argparse
import time

from ._common import machine_info, setup_environment, write_result

__all__ = ["main"]


def _time(labeler, texts):
    labeler.annotate_proba(texts[:1])  # load the model and warm up: not timed
    before = labeler.usage_.as_dict()
    start, cpu = time.perf_counter(), time.process_time()
    labeler.annotate_proba(texts[1:])
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    usage, n = labeler.usage_.as_dict(), len(texts) - 1
    return {"seconds_per_request": round(seconds / n, 3),
            "cpu_seconds_per_request": round(cpu / n, 3),
            "prompt_tokens_per_request": round(
                (usage["prompt_tokens"] - before["prompt_tokens"]) / n, 1),
            "continuation_tokens_per_request": round(
                (usage["completion_tokens"] - before["completion_tokens"]) / n, 1)}


def main(argv=None):
    """Command line: time each (K, kind) and write the result file."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n-texts", type=int, default=10)
    parser.add_argument("--model", default="qwen2.5-coder-0.5b")
    parser.add_argument("--n-threads", type=int, default=None)
    args = parser.parse_args(argv)
    setup_environment()
    from skfreeal import datasets
    from skfreeal.labelers import LocalLabeler
    from skfreeal.labels import MultiLabelSpace

    data = datasets.load_stackoverflow(n_train=40, n_test=10)
    texts = list(data.X_train[: args.n_texts + 1])  # the first text warms up
    rows, shared = [], None
    for k in (5, len(data.label_names)):
        names = list(data.label_names[:k])
        for kind, labels in (("single", names), ("multi", MultiLabelSpace(names))):
            labeler = LocalLabeler(args.model, labels=labels, task=data.task, cache=None,
                                   n_threads=args.n_threads)
            if shared is not None:
                labeler.share_backend(shared)
            shared = labeler
            row = {"n_labels": k, "kind": kind, "n_texts": args.n_texts,
                   **_time(labeler, texts)}
            rows.append(row)
            print(f"{k:3d} labels {kind:6s}: {row['seconds_per_request']:.3f} s a request, "
                  f"cpu {row['cpu_seconds_per_request']:.3f} s, "
                  f"{row['prompt_tokens_per_request']:.0f} prompt tokens, "
                  f"{row['continuation_tokens_per_request']:.0f} continuation tokens")
    result = {"suite": "label_sets_timing", "role": "dev", "llm": args.model,
              "dataset": {"name": "stackoverflow", "n_train": args.n_texts},
              "n_threads": args.n_threads, "rows": rows, "machine": machine_info()}
    print(write_result(result, "label_sets_timing"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
