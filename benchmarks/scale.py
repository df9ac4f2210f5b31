"""The scale suite (issue 16): throughput, memory and distribution at sizes beyond the paper's.

Usage::

    python -m benchmarks.scale --only throughput predict_memory fit_memory
    python -m benchmarks.scale --only predict_memory --rows 10000 1000000
    python -m benchmarks.scale --quick --results-dir /tmp/r --docs-dir /tmp/d   # minutes
    python -m benchmarks.scale --report-only

Sections (each a function below, each measured in child processes of its own,
so that every peak RSS is that measurement's):

- ``throughput``: :class:`~skfreeal.labelers.OpenAILabeler` against a server
  on 127.0.0.1 that answers after a fixed delay (``tests/fault_server.py``,
  200 ms), at ``max_concurrency`` 1, 4, 16 and 64, a fresh answer cache each;
- ``batch``: 10,000 requests through the Batch API path
  (``OpenAILabeler(..., batch=True)`` against ``tests/batch_server.py``):
  time, peak RSS, batches created (one is expected);
- ``predict_memory``: ``skfreeal predict`` (the command line) on 10,000 and
  1,000,000 rows of tweets-like text with a tiny student: peak RSS of each
  and their ratio (target: at most 1.2), rows per second;
- ``dask``: ``skfreeal.dask.predict`` on a 2-worker ``LocalCluster`` against
  ``model.predict`` in one process: mismatches (must be 0), wall time;
- ``fit_memory``: peak RSS and wall time of ``FreeALClassifier.fit`` on
  1,000, 5,000 and 20,000 texts with an in-process keyword labeler (the
  rules of ``tests/fault_server.py``, no HTTP) and the tiny student.

``batch`` and ``dask`` need code from other branches; where it is missing the
section records ``"not available in this revision"``. The student is a tiny
randomly initialised BERT (``tests/tiny_encoder.py``), so memory and the
library's own overheads are measured, not the speed of a real model.
Sections merge into ``benchmarks/results/scale.json``
(``scale_quick.json`` for ``--quick``), rendered into
``docs/benchmarks_scale.rst``.
"""

import argparse
import contextlib
import csv
import importlib.util
import inspect
import json
import os
import sys
import tempfile
import time
from datetime import datetime, timezone
from functools import cached_property
from pathlib import Path

from ._common import (BENCH_DIR, add_output_options, child_env, machine_info,
                      merge_cells, run_info, run_measured, setup_environment, write_result)
from ._scale_jobs import varied_texts

__all__ = ["PRESETS", "SECTIONS", "Workspace", "main"]

ROOT = BENCH_DIR.parent
TESTS = ROOT / "tests"
MODEL = "scale-model"
NOT_AVAILABLE = "not available in this revision"
SECTIONS = ("throughput", "batch", "predict_memory", "dask", "fit_memory")
PRESETS = {
    "full": {"throughput": {"n": 1000, "concurrency": (1, 4, 16, 64), "delay": 0.2},
             "batch": {"n": 10_000}, "predict_memory": {"rows": (10_000, 1_000_000)},
             "dask": {"n": 20_000, "n_workers": 2, "partitions": 8},
             "fit_memory": {"sizes": (1000, 5000, 20_000)}, "model_texts": 60},
    "quick": {"throughput": {"n": 50, "concurrency": (1, 4, 16, 64), "delay": 0.2},
              "batch": {"n": 200}, "predict_memory": {"rows": (1000, 20_000)},
              "dask": {"n": 2000, "n_workers": 2, "partitions": 4},
              "fit_memory": {"sizes": (200, 500)}, "model_texts": 60},
}
JOB_TIMEOUT = 6 * 3600.0


class Workspace:
    """What the sections share: a temporary folder, the tiny encoder and model, a server.

    Parameters
    ----------
    folder : Path
    torch_threads : int or None
    """

    def __init__(self, folder, torch_threads, model_texts):
        self.folder = Path(folder)
        self.torch_threads = torch_threads
        self.model_texts = model_texts
        self._stack = contextlib.ExitStack()

    def close(self):
        """Stop the servers started."""
        self._stack.close()

    def server(self, **kwargs):
        """A keyword-labelling server on 127.0.0.1 (``tests/fault_server.py``) until close."""
        sys.path.insert(0, str(TESTS))
        from fault_server import FaultServer

        return self._stack.enter_context(FaultServer(model=MODEL, **kwargs))

    def cache(self, name):
        """A fresh answer-cache file."""
        return str(self.folder / f"cache-{name}-{time.monotonic_ns()}.sqlite")

    @cached_property
    def encoder(self):
        """Folder of the tiny BERT student and embedder."""
        sys.path.insert(0, str(TESTS))
        from tiny_encoder import build_tiny_encoder

        return build_tiny_encoder(self.folder / "tiny-encoder")

    @cached_property
    def model(self):
        """A FreeALClassifier with the tiny student, fitted and saved with joblib."""
        path = self.folder / "tiny-model.joblib"
        self.job("fit", n=self.model_texts, dump=str(path), **self.fit_params())
        return str(path)

    def fit_params(self):
        """Parameters of a fit job: a fresh answer cache, the tiny encoder."""
        return {"cache": self.cache("fit"), "encoder": self.encoder,
                "torch_threads": self.torch_threads}

    def job(self, kind, **params):
        """Run a job of ``benchmarks/_scale_jobs.py`` in a child; its result and measurements."""
        argv = [sys.executable, "-m", "benchmarks._scale_jobs", kind, json.dumps(params)]
        return _checked(run_measured(argv, env=child_env(self.torch_threads),
                                     timeout=JOB_TIMEOUT), kind)


def _checked(run, what):
    """The child's JSON result with its wall, CPU and peak RSS; raise if it failed."""
    if run["returncode"] != 0:
        tail = "\n".join(run["stderr"].strip().splitlines()[-20:])
        raise RuntimeError(f"{what}: the child exited with {run['returncode']}:\n{tail}")
    result = json.loads(run["stdout"].strip().splitlines()[-1]) if run["stdout"].strip() else {}
    return {**result, "wall_seconds": run["seconds"], "cpu_seconds": run["cpu_seconds"],
            "peak_rss_mib": run["peak_rss_mib"]}


# ------------------------------------------------------------------ sections


def throughput(ws, n, concurrency, delay):
    """Texts per second of OpenAILabeler at each concurrency, against a fixed-delay server."""
    rows = []
    for level in concurrency:
        server = ws.server(delay=delay)
        row = ws.job("throughput", model=MODEL, base_url=server.base_url, n=n,
                     concurrency=level, cache=ws.cache(f"throughput{level}"))
        row.update(concurrency=level, n=n, server_requests=server.n_received,
                   ideal_texts_per_second=min(level, n) / delay)
        rows.append(row)
        _log(f"throughput: concurrency {level}: {row['texts_per_second']:.1f} texts/s, "
             f"peak RSS {row['peak_rss_mib']:.0f} MiB")
    return {"rows": rows, "settings": {"n": n, "delay": delay}}


def batch_unavailable():
    """Why the Batch API section cannot run in this revision, or None."""
    from skfreeal.labelers import OpenAILabeler

    if "batch" not in inspect.signature(OpenAILabeler).parameters:
        return "OpenAILabeler has no batch parameter"
    if not (TESTS / "batch_server.py").exists():
        return "tests/batch_server.py does not exist"
    return None


def batch(ws, n):
    """``n`` requests through the Batch API path: time, peak RSS, batches created, files."""
    reason = batch_unavailable()
    if reason is not None:
        return {"status": NOT_AVAILABLE, "reason": reason}
    sys.path.insert(0, str(TESTS))
    from batch_server import BatchServer

    server = BatchServer(model=MODEL).start()
    try:
        row = ws.job("batch", model=MODEL, base_url=server.url, n=n, cache=ws.cache("batch"))
        row.update(n=n, batches_created=server.n_batches_created,
                   files_uploaded=server.n_files_uploaded, polls=server.n_polls)
    finally:
        server.stop()
    return {"rows": [row], "settings": {"n": n}}


def write_rows(path, n, base):
    """A CSV of ``n`` tweets-like rows (``id``, ``text``), written as it goes."""
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["id", "text"])
        for start in range(0, n, 100_000):
            chunk = varied_texts(base, min(n, start + 100_000), start)
            writer.writerows([start + i, text] for i, text in enumerate(chunk))
    return path


def _count_rows(path):
    with open(path, newline="", encoding="utf-8") as fh:
        return sum(1 for _ in csv.reader(fh)) - 1


def predict_memory(ws, rows):
    """Peak RSS and speed of ``skfreeal predict`` (the CLI) on each row count."""
    from ._scale_jobs import tweet_texts

    base, out_rows = tweet_texts(), []
    for n in rows:
        table = write_rows(ws.folder / f"rows-{n}.csv", n, base)
        out = ws.folder / f"predicted-{n}.csv"
        argv = [sys.executable, "-m", "skfreeal", "predict", ws.model, str(table),
                "--text-column", "text", "--out", str(out), "--quiet"]
        row = _checked(run_measured(argv, env=child_env(ws.torch_threads),
                                    timeout=JOB_TIMEOUT), f"predict {n} rows")
        row.update(rows=n, rows_per_second=n / row["wall_seconds"],
                   output_rows=_count_rows(out))
        table.unlink()
        out.unlink()
        out_rows.append(row)
        _log(f"predict_memory: {n:,} rows in {row['wall_seconds']:.0f} s, peak RSS "
             f"{row['peak_rss_mib']:.0f} MiB")
    return {"rows": out_rows, "settings": {"chunk_size": 1000, "model_texts": ws.model_texts},
            "summary": _predict_summary(out_rows)}


def _predict_summary(rows):
    small, large = min(rows, key=lambda r: r["rows"]), max(rows, key=lambda r: r["rows"])
    marginal = None
    if large["wall_seconds"] > small["wall_seconds"]:
        extra = large["wall_seconds"] - small["wall_seconds"]
        marginal = (large["rows"] - small["rows"]) / extra
    return {"rss_ratio": large["peak_rss_mib"] / small["peak_rss_mib"],
            "ratio_of": [small["rows"], large["rows"]], "marginal_rows_per_second": marginal}


def dask_unavailable():
    """Why the dask section cannot run in this revision, or None."""
    for module in ("dask", "distributed", "skfreeal.dask"):
        if importlib.util.find_spec(module) is None:
            return f"{module} is not importable"
    return None


def dask(ws, n, n_workers, partitions):
    """``skfreeal.dask.predict`` on a local cluster against ``model.predict``: same labels?"""
    reason = dask_unavailable()
    if reason is not None:
        return {"status": NOT_AVAILABLE, "reason": reason}
    row = ws.job("dask", model_path=ws.model, n=n, n_workers=n_workers, partitions=partitions,
                 torch_threads=ws.torch_threads)
    row.update(n=n)
    return {"rows": [row], "settings": {"n": n, "n_workers": n_workers,
                                        "threads_per_worker": 1, "partitions": partitions}}


def fit_memory(ws, sizes):
    """Peak RSS and wall time of ``FreeALClassifier.fit`` at each size."""
    rows = []
    for n in sizes:
        row = ws.job("fit", n=n, **ws.fit_params())
        row.update(n=n)
        rows.append(row)
        _log(f"fit_memory: {n:,} texts in {row['wall_seconds']:.0f} s, peak RSS "
             f"{row['peak_rss_mib']:.0f} MiB")
    return {"rows": rows, "settings": {"sizes": list(sizes), "labeler": "keyword rules, "
                                       "in-process", "student": "tiny BERT"}}


FUNCTIONS = {"throughput": throughput, "batch": batch, "predict_memory": predict_memory,
             "dask": dask, "fit_memory": fit_memory}


def _log(message):
    print(message, flush=True)


# ----------------------------------------------------------------- the runs


def result_name(quick):
    """File stem of the results."""
    return "scale_quick" if quick else "scale"


def run_section(ws, name, options):
    """One section, with its timing, load and revision."""
    start_load = list(os.getloadavg())
    start = time.perf_counter()
    section = FUNCTIONS[name](ws, **options)
    section.update(key=name, status=section.get("status", "ok"),
                   load_average_at_start=start_load, load_average_at_end=list(os.getloadavg()),
                   section_seconds=round(time.perf_counter() - start, 1),
                   finished_at=datetime.now(timezone.utc).isoformat(timespec="seconds"))
    return section


def _options(args):
    preset = PRESETS["quick" if args.quick else "full"]
    options = {name: dict(preset[name]) for name in SECTIONS}
    if args.rows:
        options["predict_memory"]["rows"] = tuple(args.rows)
    return options, preset["model_texts"]


def run(args, command):
    """Run the sections asked for, merging each into the JSON as it ends."""
    info = run_info(command)
    path = Path(args.results_dir) / f"{result_name(args.quick)}.json"
    result = {"suite": "scale", "mode": "quick" if args.quick else "full",
              "machine": machine_info()}
    options, model_texts = _options(args)
    with tempfile.TemporaryDirectory(prefix="skfreeal-scale-") as folder:
        ws = Workspace(folder, args.torch_threads, model_texts)
        try:
            for name in args.only:
                section = run_section(ws, name, options[name])
                section.update(run=info)
                result = merge_cells(result, {name: section}, info, path, field="sections")
                write_result({**result, "command": command}, result_name(args.quick),
                             results_dir=args.results_dir)
                _log(f"{name}: {section['status']} ({section['section_seconds']:.0f} s)")
        finally:
            ws.close()
    return path


def build_parser():
    """Command-line options."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.scale",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--only", nargs="+", choices=list(SECTIONS), default=list(SECTIONS),
                        help="sections to run (default: all)")
    parser.add_argument("--quick", action="store_true",
                        help="small sizes: predict 1k and 20k rows, fit 200 and 500 texts, "
                             "throughput 50 requests")
    parser.add_argument("--rows", nargs="+", type=int,
                        help="row counts of predict_memory (default: 10000 1000000)")
    parser.add_argument("--torch-threads", type=int, default=None,
                        help="torch threads of the children (default: every core; 1 on a "
                             "shared machine)")
    return add_output_options(parser, "benchmarks_scale.rst")


def main(argv=None):
    """Run the sections, then rebuild the page."""
    from ._scale_page import build_page

    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser().parse_args(argv)
    if not args.report_only:
        setup_environment(torch_threads=args.torch_threads)  # offline, quiet transformers
        print(f"wrote {run(args, ' '.join(['python -m benchmarks.scale', *argv]))}")
    print(f"wrote {build_page(args.results_dir, args.docs_dir)}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
