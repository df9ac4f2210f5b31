"""The exported student against ``predict``: agreement and speed (issue 38).

Usage::

    python -m benchmarks.export            # 200 tweets to train, 1,000 to predict
    python -m benchmarks.export --quick    # smoke run: 60 to train (10 steps), 200 to predict

Fits the default FreeALClassifier on gold-labelled binary tweets
(``use_labels=True, demos=DemoPolicy(0)``: no LLM call), exports its student with
:func:`skfreeal.export.export_student` (``quantize=True``), then predicts the
test tweets four ways: ``predict``, ``transformers.pipeline`` on the folder
(batches of 64), and onnxruntime on ``onnx/model.onnx`` and
``onnx/model_int8.onnx`` (:class:`~skfreeal.export.OnnxStudent`, batches of
64). Each: texts per second (one timed pass after a warm-up on 64 texts),
agreement with ``predict``, accuracy on the gold labels, and the largest
probability gap to ``predict_proba``. Results go to
``benchmarks/results/export.json`` (``export_quick.json``).
"""

import argparse
import tempfile
import time

import numpy as np

from ._common import machine_info, setup_environment, write_result


def _timed(predict_proba, texts):
    predict_proba(texts[:64])  # warm-up: sessions, kernels, caches
    start = time.perf_counter()
    proba = predict_proba(texts)
    return proba, time.perf_counter() - start


def _pipeline_proba(pipe, classes):
    columns = {str(c): j for j, c in enumerate(classes)}

    def predict_proba(texts):
        proba = np.zeros((len(texts), len(columns)))
        for row, scores in zip(proba, pipe(list(texts), batch_size=64, top_k=None)):
            for score in scores:
                row[columns[score["label"]]] = score["score"]
        return proba

    return predict_proba


def run(quick):
    from transformers import pipeline

    from skfreeal import DemoPolicy, FreeALClassifier, RobustTextClassifier
    from skfreeal.datasets import load_tweets
    from skfreeal.export import OnnxStudent, export_student

    n_train, n_test = (60, 200) if quick else (200, 1000)
    data = load_tweets(n_train=n_train, n_test=n_test)
    slm = RobustTextClassifier(n_steps=10, random_state=0) if quick else None
    clf = FreeALClassifier(data.label_names, data.task, use_labels=True, demos=DemoPolicy(0),
                           slm=slm, random_state=0)
    start = time.perf_counter()
    clf.fit(data.X_train, data.y_train)
    fit_seconds = time.perf_counter() - start
    texts, gold = data.X_test, np.asarray(data.y_test)
    expected, predict_seconds = _timed(clf.predict_proba, texts)
    labels = clf.classes_[expected.argmax(1)]
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        export_student(clf, folder, quantize=True)
        export_seconds = time.perf_counter() - start
        pipe = pipeline("text-classification", model=folder, trust_remote_code=True,
                        device="cpu")
        ways = {
            "predict": (expected, predict_seconds),
            "pipeline": _timed(_pipeline_proba(pipe, clf.classes_), texts),
            "onnx": _timed(OnnxStudent(folder).predict_proba, texts),
            "onnx_int8": _timed(OnnxStudent(folder, int8=True).predict_proba, texts),
        }
    cells = {}
    for way, (proba, seconds) in ways.items():
        got = clf.classes_[proba.argmax(1)]
        cells[way] = {
            "texts_per_second": round(len(texts) / seconds, 1),
            "agreement_with_predict": float(np.mean(got == labels)),
            "accuracy": float(np.mean(got == gold)),
            "max_probability_gap": float(np.abs(proba - expected).max()),
        }
        print(f"{way:10s} {cells[way]['texts_per_second']:8.1f} texts/s  agreement "
              f"{cells[way]['agreement_with_predict']:.4f}  accuracy {cells[way]['accuracy']:.3f}"
              f"  max |p - p_predict| {cells[way]['max_probability_gap']:.2e}", flush=True)
    return {"n_train": n_train, "n_test": len(texts), "fit_seconds": round(fit_seconds, 1),
            "export_seconds": round(export_seconds, 1), "ways": cells,
            "machine": machine_info()}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="smoke run (seconds)")
    parser.add_argument("--torch-threads", type=int, default=None,
                        help="torch intra-op threads (default: torch's, every core)")
    args = parser.parse_args(argv)
    setup_environment(torch_threads=args.torch_threads)
    result = run(args.quick)
    path = write_result(result, "export_quick" if args.quick else "export")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
