"""FreeAL on tasks with 20 to 150 labels (issue 41): the many-label table.

The draws of the ``"many-labels"`` table of :mod:`benchmarks.datasets`:
banking77's 77 and CLINC150's 150 intents at 1,000 / 500 as dev draws
(settings may be chosen on them) and as report draws, and StackOverflow's 20
tags as a report draw (the same draw as the report table's). Each draw runs
through :func:`benchmarks.freeal.run_draw` with FreeAL at its defaults and
these rows:

=====================  ======================================================
``zero_shot_llm``      the LLM labels the test texts with no demonstration
``freeal_slm``         ``FreeALClassifier.fit(X_train)``, its student on the
                       test texts
``slm_gold``           the student fine-tuned on the gold labels (bound)
``probe_gold``         a logistic regression on the frozen embeddings of the
                       gold-labelled training texts (bound)
=====================  ======================================================

(the FreeAL suite's other rows are skipped: ``--with-rows`` adds them back). Each
row has its accuracy, macro-F1, LLM requests, wall and CPU seconds and peak
RSS. On top of the FreeAL suite's record, each result file carries:

- ``dataset``: ``name``, ``n_train``, ``n_labels``, the duplicates removed;
- ``calls_per_text``: FreeAL's LLM requests (new or from the answer cache,
  round 0's demonstration writing and filling included) over its training
  texts;
- ``train_label_accuracy_by_round``: the accuracy of FreeAL's training labels
  after each round, against their gold labels;
- ``demos_per_label``: each label's demonstrations in FreeAL's final pool.

Files: ``benchmarks/results/many-labels-<mode>-<data set>-<llm>.json``;
``benchmarks.figures``' ``many-labels`` template quotes them. Run
``python -m benchmarks.many_labels`` (dev draws), ``--report`` (report draws),
``--quick`` (a smoke test on 40 banking77 texts), ``--estimate`` (the
expected LLM requests of each draw, no run).
"""

import argparse
import sys

from ._common import freeal_classifier, machine_info, setup_environment, write_result
from .datasets import table_draws
from .freeal import (
    LLMS,
    METHODS,
    SKIPPABLE,
    Components,
    _round_settings,
    add_run_options,
    calls_per_text,
    load_dataset,
    run_draw,
)
from .freeal import PRESETS as FREEAL_PRESETS

__all__ = ["PRESETS", "ROWS", "draws", "estimate_draws", "main", "many_label_fields",
           "print_estimates", "result_name", "run_many_labels", "table_parser"]

TABLE = "many-labels"
# the rows the issue asks for: the FreeAL suite's rows no run may skip; the skippable
# others cost LLM time at 20 to 150 labels and come back when asked (--with-rows)
ROWS = tuple(m for m in METHODS if m not in SKIPPABLE)
# the run's settings: FreeAL's defaults (None) but for the smoke test's small student and
# demonstration budget, borrowed from the FreeAL suite's quick preset
PRESETS = {
    "quick": {"role": "dev", "draws": {"banking77": (40, 20)}, "n_rounds": 2, "n_demos": 4,
              "cv": 2, "slm_params": FREEAL_PRESETS["quick"]["slm_params"],
              # a sample of 40 texts cannot pay for one written demonstration per label
              "freeal_params": {"n_generated_demos": 20}},
    "dev": {"role": "dev", "draws": None, "n_rounds": None, "n_demos": None, "cv": 3,
            "slm_params": {}, "freeal_params": {}},
    "report": {"role": "report", "draws": None, "n_rounds": None, "n_demos": None, "cv": 3,
               "slm_params": {}, "freeal_params": {}},
}


def draws(mode, datasets=None):
    """The draws a mode runs: ``{data set: (n_train, n_test)}`` and their role.

    Parameters
    ----------
    mode : {"quick", "dev", "report"}
    datasets : list of str, default=None
        Some of the mode's data sets (None: all).

    Returns
    -------
    sizes : dict of str to tuple
    role : str
    """
    if mode not in PRESETS:
        raise ValueError(f"mode must be one of {list(PRESETS)}, got {mode!r}.")
    preset = PRESETS[mode]
    sizes = preset["draws"] or {d.name: (d.n_train, d.n_test)
                                for d in table_draws(TABLE, preset["role"])}
    unknown = sorted(set(datasets or ()) - set(sizes))
    if unknown:
        raise ValueError(f"datasets must be some of {sorted(sizes)} in mode {mode!r}, "
                         f"got {unknown}.")
    return {name: sizes[name] for name in datasets or sizes}, preset["role"]


def result_name(mode, name, llm):
    """A result file's stem, ``many-labels-<mode>-<data set>-<llm>``."""
    return f"many-labels-{mode}-{name}-{llm}"


def many_label_fields(result):
    """The many-label table's top-level fields, from a FreeAL suite result.

    Parameters
    ----------
    result : dict
        :func:`benchmarks.freeal.run_draw`'s result.

    Returns
    -------
    fields : dict
        ``dataset`` (with ``n_labels``), ``calls_per_text``,
        ``train_label_accuracy_by_round``, ``demos_per_label`` and
        ``labels_without_demos``.
    """
    dataset = result["dataset"]
    demos = result["demos_per_label"]
    return {
        "dataset": {**dataset, "n_labels": dataset["n_classes"]},
        "calls_per_text": calls_per_text(result["methods"]["freeal_slm"], dataset["n_train"]),
        "train_label_accuracy_by_round": [r["llm_label_accuracy"] for r in result["rounds"]],
        "demos_per_label": demos,
        "labels_without_demos": [label for label, n in demos.items() if n == 0],
    }


def run_many_labels(*, mode="dev", datasets=None, llms=None, with_rows=(), random_state=0,
                    llm_threads=None, components=None, results_dir=None, command=None,
                    tick=None):
    """Run the many-label table's draws with each LLM; write one JSON file per pair.

    Parameters
    ----------
    mode : {"quick", "dev", "report"}, default="dev"
        The preset: the smoke test, the dev draws or the report draws.
    datasets : list of str, default=None
        Some of the mode's data sets (None: all).
    llms : list of str, default=None
        Local LLM names (None: the default 0.5B model).
    with_rows : collection of str, default=()
        The FreeAL suite's skippable rows (:data:`benchmarks.freeal.SKIPPABLE`)
        to run besides :data:`ROWS`.
    random_state : int, default=0
        Seed of FreeAL and the students (and of a dev draw's sample).
    llm_threads : int or None, default=None
        CPU threads of the packaged local LLM (None: every core).
    components : Components, default=None
        Replace the packaged labeler, SLM or embedder (tests use fast ones).
    results_dir : str or Path, default=None
    command : str, default=None
        The command line recorded in the JSON.
    tick : callable, default=None
        Progress callback, called after each step.

    Returns
    -------
    paths : list of Path
    """
    sizes, role = draws(mode, datasets)
    skip = [row for row in SKIPPABLE if row not in with_rows]
    preset = PRESETS[mode]
    settings = _round_settings(preset, None, None, None, icl_demos=4)
    components = components or Components(slm_params=preset["slm_params"],
                                          llm_params={"n_threads": llm_threads})
    machine = machine_info()
    gold_cache, paths = {}, []
    for name, (n_train, n_test) in sizes.items():
        data = load_dataset(name, n_train, n_test, random_state, role=role)
        for llm in llms or LLMS[:1]:
            result = run_draw(data, name, llm, mode=mode, components=components,
                              settings=settings, freeal_params=dict(preset["freeal_params"]),
                              options={}, machine=machine, random_state=random_state,
                              gold_cache=gold_cache, skip=skip, tick=tick,
                              suite="many_labels")
            result.update(many_label_fields(result))
            if command is not None:
                result["command"] = command
            paths.append(write_result(result, result_name(mode, name, llm),
                                      results_dir=results_dir))
    return paths


def estimate_draws(*, mode="dev", datasets=None, llms=None, measure_speed=False):
    """FreeAL's own estimate of each draw's fit, and the run's other LLM requests.

    No request is made unless ``measure_speed`` (then a few per LLM, to time
    them on this machine).

    Parameters
    ----------
    mode : {"quick", "dev", "report"}, default="dev"
    datasets, llms : list of str, default=None
    measure_speed : bool, default=False
        Passed to :meth:`FreeALClassifier.estimate`.

    Returns
    -------
    rows : list of dict
        ``dataset``, ``llm``, ``n_labels``, ``fit`` (the estimate) and
        ``zero_shot_calls`` (the test and training texts' zero-shot labels).
    """
    from skfreeal.labelers import LocalLabeler

    sizes, role = draws(mode, datasets)
    preset = PRESETS[mode]
    settings = _round_settings(preset, None, None, None)
    out = []
    for name, (n_train, n_test) in sizes.items():
        data = load_dataset(name, n_train, n_test, role=role)
        for llm in llms or LLMS[:1]:
            clf = freeal_classifier(data.label_names, data.task, labeler=LocalLabeler(model=llm),
                                    n_rounds=settings["n_rounds"], n_demos=settings["n_demos"],
                                    **preset["freeal_params"])
            fit = clf.estimate(data.X_train, measure_speed=measure_speed)
            # run_dataset labels the test and the training texts zero-shot in every run
            out.append({"dataset": name, "llm": llm, "n_labels": len(data.label_names),
                        "n_train": len(data.X_train), "fit": fit,
                        "zero_shot_calls": len(data.X_test) + len(data.X_train)})
    return out


def print_estimates(rows):
    """One line per row of :func:`estimate_draws` (or a table's like it)."""
    for row in rows:
        fit = row["fit"]
        seconds = fit.get("expected_llm_seconds")
        print(f"{row['dataset']} ({row['n_labels']} labels), {row['llm']}: FreeAL "
              f"{fit['expected_calls']} requests expected ({fit['min_calls']} to "
              f"{fit['max_calls']}; {fit['expected_calls'] / row['n_train']:.2f} a text; "
              f"{fit['generation_calls']} writing demonstrations), "
              f"{fit['expected_prompt_tokens']:,} prompt and "
              f"{fit['expected_completion_tokens']:,} completion tokens"
              + ("" if seconds is None else f", {seconds / 60:.0f} min of LLM time")
              + f"; plus {row['zero_shot_calls']} zero-shot requests", flush=True)


def table_parser(prog, description, *, quick):
    """The options of a table's benchmark: ``--quick`` (its help: ``quick``) or ``--report``,
    ``--estimate``, ``--measure-speed`` and ``--llms``."""
    parser = argparse.ArgumentParser(prog=prog, description=description)
    modes = parser.add_mutually_exclusive_group()
    modes.add_argument("--quick", action="store_true", help=quick)
    modes.add_argument("--report", action="store_true",
                       help="the report draws (default: the dev draws)")
    parser.add_argument("--estimate", action="store_true",
                        help="print FreeAL's expected LLM requests per draw and stop")
    parser.add_argument("--measure-speed", action="store_true",
                        help="with --estimate: time a few requests (loads each LLM)")
    parser.add_argument("--llms", nargs="+", choices=list(LLMS), default=list(LLMS[:1]))
    return parser


def build_parser(prog="python -m benchmarks.many_labels"):
    """Command-line options of the many-label benchmark."""
    parser = table_parser(prog, __doc__.split("\n")[0], quick="40 banking77 texts, minutes")
    parser.add_argument("--datasets", nargs="+")
    parser.add_argument("--with-rows", nargs="+", choices=list(SKIPPABLE), default=[],
                        help="the FreeAL suite's rows to run besides " + ", ".join(ROWS))
    return add_run_options(parser)


def run_table_command(argv, parser, prog, *, estimate, run):
    """A table benchmark's command line: its estimate, or its run with the files printed.

    Parameters
    ----------
    argv : list of str or None
        The arguments (None: ``sys.argv[1:]``).
    parser : argparse.ArgumentParser
        From :func:`table_parser` (with the run options).
    prog : str
        The command, recorded in the result files.
    estimate : callable
        ``estimate(args, mode)``: the rows :func:`print_estimates` prints.
    run : callable
        ``run(args, mode, command, tick)``: the paths of the files written.

    Returns
    -------
    status : int
    """
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parser.parse_args(argv)
    mode = "quick" if args.quick else ("report" if args.report else "dev")
    setup_environment(cache_dir=args.cache_dir, torch_threads=args.torch_threads)
    if args.estimate:
        print_estimates(estimate(args, mode))
        return 0
    command = " ".join([prog, *argv])
    for path in run(args, mode, command, lambda name: print(f"done: {name}", flush=True)):
        print(path)
    return 0


def main(argv=None):
    """Run the many-label benchmark (or its estimate) from the command line."""
    return run_table_command(
        argv, build_parser(), "python -m benchmarks.many_labels",
        estimate=lambda args, mode: estimate_draws(
            mode=mode, datasets=args.datasets, llms=args.llms,
            measure_speed=args.measure_speed),
        run=lambda args, mode, command, tick: run_many_labels(
            mode=mode, datasets=args.datasets, llms=args.llms, with_rows=args.with_rows,
            random_state=args.seed, llm_threads=args.llm_threads, command=command, tick=tick))


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
