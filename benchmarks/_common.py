"""What every benchmark needs: measurement of a step, metrics, run metadata, JSON output."""

import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

__all__ = [
    "BENCH_DIR",
    "DOCS_DIR",
    "RESULTS_DIR",
    "Step",
    "add_output_options",
    "child_env",
    "format_load",
    "list_table",
    "machine_info",
    "measure",
    "merge_cells",
    "read_result",
    "result_role",
    "run_info",
    "run_measured",
    "scores",
    "setup_environment",
    "usable_cores",
    "usage_of",
    "write_result",
]

BENCH_DIR = Path(__file__).resolve().parent
RESULTS_DIR = BENCH_DIR / "results"
DOCS_DIR = BENCH_DIR.parent / "docs"  # where the suites render their pages
_USAGE_KEYS = ("calls", "prompt_tokens", "completion_tokens", "cache_hits")


def setup_environment(*, cache_dir=None, torch_threads=None):
    """Offline hub, a dedicated LLM answer cache and a fixed number of torch threads.

    Parameters
    ----------
    cache_dir : str or Path, default=None
        Where the labelers cache LLM answers; None keeps ``$SKFREEAL_CACHE_DIR``
        when set, else ``benchmarks/.cache`` (git-ignored).
    torch_threads : int or None, default=None
        Intra-op threads of torch (None: torch's default, every core). Pass 1
        when another job shares the machine.

    Returns
    -------
    cache_dir : Path
    """
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    if cache_dir is not None:
        os.environ["SKFREEAL_CACHE_DIR"] = str(cache_dir)
    os.environ.setdefault("SKFREEAL_CACHE_DIR", str(BENCH_DIR / ".cache"))
    if torch_threads:
        import torch

        torch.set_num_threads(int(torch_threads))
    try:  # one progress bar is enough: silence transformers' "Loading weights" bars
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
    except ImportError:  # pragma: no cover
        pass
    return Path(os.environ["SKFREEAL_CACHE_DIR"])


def usage_of(labeler):
    """The labeler's cumulative usage as a plain dict (zeros when it has none yet)."""
    usage = getattr(labeler, "usage_", None) if labeler is not None else None
    if usage is None:
        return dict.fromkeys(_USAGE_KEYS, 0)
    if hasattr(usage, "as_dict"):
        usage = usage.as_dict()
    return {key: usage.get(key, 0) or 0 for key in _USAGE_KEYS}


def _hwm_kib():
    match = re.search(r"VmHWM:\s+(\d+)", Path("/proc/self/status").read_text())
    return int(match.group(1))


def _reset_hwm():
    """Reset the process's peak RSS (Linux); False where that is not possible."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


class Step(dict):
    """The measurements of one step: ``seconds``, ``cpu_seconds``, ``peak_rss_mib``, LLM usage."""


@contextmanager
def measure(labeler=None):
    """Measure the wall and CPU time, peak RSS and LLM usage of the block.

    Peak RSS is the process's high-water mark during the block (reset at its
    start on Linux), so it includes what was already loaded (the LLM, the
    encoder). Where the mark cannot be reset it is the process's peak so far,
    flagged by ``peak_rss_scope="process"``.

    Parameters
    ----------
    labeler : labeler, default=None
        Its ``usage_`` is diffed over the block (LLM calls, tokens, cache hits).

    Yields
    ------
    step : Step
        Filled in when the block ends.
    """
    step = Step()
    before = usage_of(labeler)
    scoped = _reset_hwm()
    start, cpu_start = time.perf_counter(), time.process_time()
    try:
        yield step
    finally:
        step["seconds"] = round(time.perf_counter() - start, 3)
        # CPU time of all the process's threads: on a shared machine, wall time
        # much above it means the step waited for a core
        step["cpu_seconds"] = round(time.process_time() - cpu_start, 3)
        step["peak_rss_mib"] = round(_hwm_kib() / 1024, 1)
        step["peak_rss_scope"] = "step" if scoped else "process"
        after = usage_of(labeler)
        step.update({f"llm_{k}": int(after[k] - before[k]) for k in _USAGE_KEYS})


def scores(y_true, y_pred, label_names):
    """Accuracy and macro-F1 over the label names (an abstention counts as wrong).

    Parameters
    ----------
    y_true : array-like of str
    y_pred : array-like of str or None
        None (or any name not in ``label_names``) for an abstention.
    label_names : list of str

    Returns
    -------
    scores : dict
        ``accuracy``, ``macro_f1`` and ``n_abstain``.
    """
    from sklearn.metrics import f1_score

    y_true = np.asarray([str(v) for v in y_true], dtype=object)
    known = set(label_names)
    y_pred = np.asarray(
        [str(v) if v is not None and str(v) in known else "<abstain>" for v in y_pred],
        dtype=object,
    )
    return {
        "accuracy": float(np.mean(y_true == y_pred)),
        "macro_f1": float(f1_score(y_true, y_pred, labels=list(label_names), average="macro",
                                   zero_division=0)),
        "n_abstain": int(np.sum(y_pred == "<abstain>")),
    }


def _git_revision():
    """The checkout's commit and whether its code differed (see ``skfreeal.provenance``)."""
    from skfreeal.provenance import git_revision

    return git_revision(BENCH_DIR)


def revision_text(git):
    """A run's revision for a page: the short commit, flagged when the tree was dirty.

    Parameters
    ----------
    git : dict or None
        ``{"commit": ..., "dirty": ...}`` as :func:`machine_info` records it.

    Returns
    -------
    text : str
        E.g. ``"65e2fe44b0 (uncommitted changes)"``.
    """
    git = git or {}
    return ((git.get("commit") or "unknown")[:10]
            + (" (uncommitted changes)" if git.get("dirty") else ""))


def format_load(load):
    """Load averages (1, 5, 15 minutes) as "1.0, 0.6, 0.3", or "n/a"."""
    return "n/a" if not load else ", ".join(f"{x:.1f}" for x in load)


def list_table(header, rows, indent=""):
    """Lines of a reST ``list-table`` (a header row, then ``rows``), then a blank line."""
    lines = [f"{indent}.. list-table::", f"{indent}   :header-rows: 1", ""]
    for row in [header, *rows]:
        lines.append(f"{indent}   * - {row[0]}")
        lines += [f"{indent}     - {cell}" for cell in row[1:]]
    return lines + [""]


def usable_cores():
    """Cores this process may run on (its CPU affinity), else every logical core."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def machine_info():
    """Where the benchmark ran: platform, CPU, cores, torch threads, versions, git revision."""
    from skfreeal.provenance import machine

    return {**machine(), "git": _git_revision()}


def result_role(result):
    """The role of a result's data, ``"dev"`` or ``"report"`` (see ``benchmarks.datasets``).

    The top-level ``role``, else the ``role`` of its ``dataset`` entry; a
    file without either (every one written before roles existed) is
    ``"dev"``: those runs used dev draws only.

    Parameters
    ----------
    result : dict

    Returns
    -------
    role : str
    """
    dataset = result.get("dataset")
    role = result.get("role") or (dataset.get("role") if isinstance(dataset, dict) else None)
    if role not in (None, "dev", "report"):
        raise ValueError(f"role must be 'dev' or 'report', got {role!r}.")
    return role or "dev"


def write_result(result, name, *, results_dir=None):
    """Write ``result`` (with its role, the command line and the time) as ``<name>.json``.

    The top-level ``role`` is :func:`result_role`'s: a suite that does not
    say (it then ran on dev draws, the only ones before ``role`` existed)
    writes ``"dev"``, which keeps its figures off the report pages.

    Parameters
    ----------
    result : dict
    name : str
        File stem; a later run with the same name replaces the file.
    results_dir : str or Path, default=None
        None: ``benchmarks/results``.

    Returns
    -------
    path : Path
    """
    results_dir = Path(results_dir) if results_dir is not None else RESULTS_DIR
    results_dir.mkdir(parents=True, exist_ok=True)
    result = {"role": result_role(result), **result}
    result.setdefault("command", " ".join([Path(sys.executable).name, *sys.argv]))
    result.setdefault("finished_at", datetime.now(timezone.utc).isoformat(timespec="seconds"))
    path = results_dir / f"{name}.json"
    path.write_text(json.dumps(result, indent=1, default=_jsonable) + "\n")
    return path


def _jsonable(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def add_output_options(parser, page):
    """``--results-dir``, ``--docs-dir`` and ``--report-only`` of a suite that renders ``page``."""
    parser.add_argument("--results-dir", default=str(RESULTS_DIR),
                        help="where the JSON results are (default benchmarks/results)")
    parser.add_argument("--docs-dir", default=str(DOCS_DIR),
                        help=f"where {page} is written (default docs)")
    parser.add_argument("--report-only", action="store_true",
                        help=f"only rebuild {page} from the JSON")
    return parser


def read_result(path):
    """The JSON result at ``path``, or None when there is no such file."""
    path = Path(path)
    return json.loads(path.read_text()) if path.exists() else None


def run_info(command):
    """What identifies one invocation of a suite: command, revision, load at its start."""
    info = machine_info()
    return {"command": command, "git": info["git"],
            "load_average_at_start": info["load_average_at_start"]}


def merge_cells(result, cells, command, path, *, field="cells"):
    """``result`` with the file's cells and commands as they are now, plus ours.

    Reading the file again before each write lets runs of different cells
    proceed one after the other or in parallel (a rerun of some cells
    replaces them and keeps the others).

    Parameters
    ----------
    result : dict
        This run's top-level fields (machine, settings...).
    cells : dict of str to dict
        This run's cells by key; each replaces the file's cell of that key.
    command : dict
        This run's entry of the ``commands`` list (see :func:`run_info`).
    path : str or Path
        The JSON file as written so far (may not exist).
    field : str, default="cells"
        The list of cells in the JSON; each cell has a ``"key"``.

    Returns
    -------
    merged : dict
    """
    current = read_result(path) or {}
    merged = {c["key"]: c for c in current.get(field, [])}
    merged.update(cells)
    commands = [c for c in current.get("commands", []) if c != command] + [command]
    stale = ("command", "finished_at")  # write_result sets them for this run
    return {**{k: v for k, v in result.items() if k not in stale},
            field: list(merged.values()), "commands": commands}


def child_env(torch_threads=None):
    """Environment of a measured child: this checkout importable, offline hub, thread caps.

    Parameters
    ----------
    torch_threads : int or None, default=None
        Sets ``OMP_NUM_THREADS`` and ``MKL_NUM_THREADS`` (torch's intra-op
        threads) in the child; None keeps the parent's.

    Returns
    -------
    env : dict
    """
    root = str(BENCH_DIR.parent)
    path = os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))
    env = dict(os.environ, PYTHONPATH=path, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1",
               TOKENIZERS_PARALLELISM="false")
    if torch_threads:
        env.update(OMP_NUM_THREADS=str(torch_threads), MKL_NUM_THREADS=str(torch_threads))
    return env


# Forks and execs the measured command, then writes its rusage's ru_maxrss (KiB) to argv[1].
# The command's peak then includes only this small launcher's memory before the exec: a
# child forked (or vforked) straight from a large parent would count the parent's RSS too.
_LAUNCHER = """
import os, signal, sys
pid = os.fork()
if pid == 0:
    os.execvp(sys.argv[2], sys.argv[2:])
signal.signal(signal.SIGTERM, lambda *_: os.kill(pid, signal.SIGKILL))
_, status, usage = os.wait4(pid, 0)
with open(sys.argv[1], "w") as fh:
    fh.write(str(usage.ru_maxrss))
code = os.waitstatus_to_exitcode(status)
sys.exit(code if code >= 0 else 128 - code)
"""


def run_measured(argv, *, env=None, timeout=None):
    """Run a command to its end: wall and CPU seconds, peak RSS, exit status, output.

    The peak RSS is the command's own high-water mark (``ru_maxrss`` of its
    ``wait4``, taken by a small launcher process; the largest of it and its
    waited-for descendants), so each measurement in its own process has its
    own peak, whatever the size of this process. Unix only.

    Parameters
    ----------
    argv : list of str
    env : dict, default=None
    timeout : float, default=None
        Seconds after which the command is killed (its result then says so).

    Returns
    -------
    run : dict
        ``seconds``, ``cpu_seconds``, ``peak_rss_mib``, ``returncode``,
        ``timed_out``, ``stdout`` and ``stderr`` (text).
    """
    with tempfile.TemporaryDirectory() as folder:
        peak, out, err = (Path(folder) / name for name in ("peak", "out", "err"))
        with open(out, "wb") as out_fh, open(err, "wb") as err_fh:
            start = time.perf_counter()
            proc = subprocess.Popen([sys.executable, "-c", _LAUNCHER, str(peak), *argv],
                                    stdout=out_fh, stderr=err_fh, env=env,
                                    cwd=BENCH_DIR.parent)
            timer = threading.Timer(timeout, proc.terminate) if timeout else None
            if timer is not None:
                timer.start()
            try:
                _, status, usage = os.wait4(proc.pid, 0)
            finally:
                if timer is not None:
                    timer.cancel()
            seconds = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
        return {"seconds": round(seconds, 3),
                "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 3),
                "peak_rss_mib": (round(int(peak.read_text()) / 1024, 1) if peak.exists()
                                 else None),
                "returncode": proc.returncode,
                "timed_out": bool(timeout) and seconds >= timeout,
                "stdout": out.read_text(errors="replace"),
                "stderr": err.read_text(errors="replace")}


# The suites' settings keep the flat names their result files have always recorded
# (``n_rounds``, ``demo_top_percent``...); FreeALClassifier groups them in two policies.
_ROUND_SETTINGS = {"n_rounds": "n_rounds", "label_fraction": "label_fraction",
                   "max_annotations": "max_annotations", "query_strategy": "query_strategy",
                   "label_fusion": "label_fusion", "rollback_tolerance": "rollback_tolerance"}
_DEMO_SETTINGS = {"n_demos": "n_demos", "demo_top_percent": "top_percent",
                  "demos_per_class": "per_class", "n_generated_demos": "n_generated",
                  "fill_missing_demos": "fill_missing", "retriever": "retriever"}


def freeal_classifier(label_names, task, **settings):
    """A FreeALClassifier from a suite's flat settings (the names its result files record).

    Parameters
    ----------
    label_names : list of str
    task : str
    **settings
        FreeALClassifier's own parameters, and the settings of its
        ``rounds`` (``n_rounds``, ``label_fraction``, ...) and ``demos``
        (``n_demos``, ``demo_top_percent``, ``n_generated_demos``, ...)
        under their flat names.

    Returns
    -------
    clf : FreeALClassifier
    """
    from skfreeal import DemoPolicy, FreeALClassifier, RoundPolicy

    rounds = {_ROUND_SETTINGS[k]: settings.pop(k) for k in list(settings) if k in _ROUND_SETTINGS}
    demos = {_DEMO_SETTINGS[k]: settings.pop(k) for k in list(settings) if k in _DEMO_SETTINGS}
    return FreeALClassifier(list(label_names), task, rounds=RoundPolicy(**rounds),
                            demos=DemoPolicy(**demos), **settings)


# A round's figures that were named after the student while the judge computed them.
_RENAMED = {"llm_slm_agreement": "judge_agreement", "slm_seconds": "judge_seconds",
            "student_kept": "judge_kept"}


def current_names(row):
    """A round row of a result file with today's field names (older files have the old ones)."""
    return {_RENAMED.get(k, k): v for k, v in row.items()}
