"""The single benchmark entry point: run the suites, then regenerate the docs' tables and plots.

Usage::

    python -m benchmarks --quick            # minutes: the FreeAL suite, small sizes, the 0.5B LLM
    python -m benchmarks                    # full: every suite, larger sizes, both LLMs, + banking77
    python -m benchmarks --quick --suites freeal robust_slm annotation   # + component smoke runs
    python -m benchmarks --report-only      # JSON -> docs/benchmarks_results.rst + PNGs

``--quick`` runs the FreeAL suite alone unless ``--suites`` names more: the
component suites' own quick runs would take it past 20 minutes on a slow
2-core machine. The FreeAL suite runs in this process with a progress bar
over its steps; the component suites (``benchmarks/robust_slm.py``,
``benchmarks/annotation.py``) run as subprocesses (``python -m
benchmarks.<suite> [--quick]``), so that their memory peaks and failures stay
their own. ``benchmarks/reliability.py`` (the labelers against a failing
server, no model) is one of them.
"""

import importlib.util
import subprocess
import sys
import time

from . import freeal, report
from ._common import BENCH_DIR, setup_environment

__all__ = ["SUITES", "main"]

SUITES = ("freeal", "robust_slm", "annotation", "reliability")


def _component_suite(name, quick, log):
    """Run ``benchmarks/<name>.py`` as a subprocess; False when it failed."""
    if importlib.util.find_spec(f"benchmarks.{name}") is None:
        log(f"{name}: benchmarks/{name}.py not found; skipped")
        return True
    cmd = [sys.executable, "-m", f"benchmarks.{name}", *(["--quick"] if quick else [])]
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=BENCH_DIR.parent, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-15:])
        log(f"{name}: failed (exit {proc.returncode}) after {seconds:.0f} s:\n{tail}")
        return False
    log(f"{name}: done in {seconds:.0f} s")
    return True


def main(argv=None):
    """Run the benchmark suites and rebuild the documentation's benchmark page."""
    from tqdm.auto import tqdm

    argv = sys.argv[1:] if argv is None else list(argv)
    parser = freeal.build_parser(prog="python -m benchmarks")
    parser.description = __doc__.split("\n")[0]
    parser.add_argument("--suites", nargs="+", choices=SUITES, default=None,
                        help="suites to run (default: freeal with --quick, all of them "
                             "otherwise)")
    parser.add_argument("--report-only", action="store_true",
                        help="only regenerate the docs from benchmarks/results/*.json")
    args = parser.parse_args(argv)
    if args.suites is None:
        args.suites = ["freeal"] if args.quick else list(SUITES)
    failed = []
    if not args.report_only:
        setup_environment(cache_dir=args.cache_dir, torch_threads=args.torch_threads)
        kwargs = freeal.suite_kwargs(args)
        preset = freeal.PRESETS[kwargs["mode"]]
        n_runs = len(kwargs["datasets"] or preset["datasets"]) * len(kwargs["llms"]
                                                                    or preset["llms"])
        others = [s for s in args.suites if s != "freeal"]
        total = (n_runs * freeal.STEPS_PER_DATASET if "freeal" in args.suites else 0) + len(others)
        start = time.perf_counter()
        with tqdm(total=total, desc="benchmarks", unit="step") as bar:
            def tick(name):
                bar.set_postfix_str(name)
                bar.update()

            if "freeal" in args.suites:
                paths = freeal.run_suite(command=" ".join(["python -m benchmarks", *argv]),
                                         tick=tick, **kwargs)
                bar.write("\n".join(str(p) for p in paths))
            for name in others:
                bar.set_postfix_str(name)
                if not _component_suite(name, args.quick, bar.write):
                    failed.append(name)
                bar.update()
        print(f"benchmarks finished in {(time.perf_counter() - start) / 60:.1f} min")
    for path in report.build():
        print(f"wrote {path}")
    if failed:
        print(f"suites that did not finish: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
