"""What the suites of the paper's claims share (issue 36): presets, options, one run's record.

The suites :mod:`benchmarks.active_learning`, :mod:`benchmarks.self_improvement`
and :mod:`benchmarks.larger_student` run on the draws and with the FreeAL
settings of :mod:`benchmarks.freeal`'s presets (``quick``: the registered
quick dev draws; ``full``: tweets and Yahoo at 1,000 / 500; ``report``: every
report draw), so that their rows sit beside the FreeAL suite's. Each writes one
JSON file per data set and LLM, with ``role`` and ``dataset`` at its top level.
"""

import os
import sys
import time

from ._common import RESULTS_DIR, machine_info, setup_environment, write_result
from .datasets import LOADERS, REPORT_SEED, dataset_info
from .freeal import LLMS, PRESETS, Components, generation_params, load_dataset

__all__ = ["add_suite_options", "freeal_run", "freeal_settings", "main_of", "plan", "run_draws"]

# The quick preset's draws: registered dev draws (benchmarks/datasets.py), small enough for
# a smoke run of minutes.
QUICK_DATASETS = {"tweets": (60, 30)}


def add_suite_options(parser):
    """The options every claims suite has: preset, data, LLMs, seed, threads, cache, output."""
    parser.add_argument("--quick", action="store_true",
                        help="a smoke run: the quick dev draw of tweets, 0.5B LLM, minutes")
    parser.add_argument("--role", choices=["dev", "report"], default="dev",
                        help="dev draws (tweets and Yahoo at 1,000/500) or every report draw "
                        "(benchmarks/datasets.py)")
    parser.add_argument("--datasets", nargs="+", choices=list(LOADERS))
    parser.add_argument("--llms", nargs="+", choices=list(LLMS))
    parser.add_argument("--n-train", type=int)
    parser.add_argument("--n-test", type=int)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--torch-threads", type=int, default=None,
                        help="SLM threads (default: every core; 1 on a shared machine)")
    parser.add_argument("--llm-threads", type=int, default=None,
                        help="local LLM threads (default: every core)")
    parser.add_argument("--cache-dir", help="LLM answer cache (default benchmarks/.cache); "
                        "the FreeAL suite's cache makes FreeAL's own calls cache hits")
    parser.add_argument("--results-dir", default=str(RESULTS_DIR),
                        help="where the JSON results go (default benchmarks/results)")
    return parser


def plan(args):
    """The preset, role, draws and LLMs of a suite's parsed options.

    Returns
    -------
    plan : dict
        ``mode`` (``"quick"``, ``"full"`` or ``"report"``), ``role``,
        ``draws`` (name -> ``(n_train, n_test)``), ``options`` (name ->
        loader options) and ``llms``.
    """
    if args.quick and args.role == "report":
        raise SystemExit("--quick runs the quick dev draw: it cannot be given with --role report.")
    mode = "quick" if args.quick else ("report" if args.role == "report" else "full")
    preset = PRESETS[mode]
    sizes = QUICK_DATASETS if mode == "quick" else {
        k: v for k, v in preset["datasets"].items() if k != "banking77"}
    names = list(args.datasets or sizes)
    if args.n_train or args.n_test:
        sizes = {name: (args.n_train or 1000, args.n_test or 500) for name in names}
    return {"mode": mode, "role": "report" if mode == "report" else "dev",
            "draws": {name: sizes.get(name, (1000, 500)) for name in names},
            "options": {name: preset["dataset_options"].get(name, {}) for name in names},
            "llms": list(args.llms or LLMS[:1])}


def freeal_settings(mode):
    """FreeAL's rounds, demonstrations and student settings in a preset (None: the defaults)."""
    from skfreeal import DemoPolicy, RoundPolicy

    preset = PRESETS[mode]
    return {"n_rounds": preset["n_rounds"] or RoundPolicy().n_rounds,
            "n_demos": preset["n_demos"] if preset["n_demos"] is not None
            else DemoPolicy().n_demos,
            "slm_params": dict(preset["slm_params"]),
            "generated_per_class": dict(preset["generated_per_class"])}


def freeal_run(settings, key, n_classes):
    """FreeAL's ``n_rounds``, ``n_demos`` and more ``params`` for one data set of a preset.

    ``settings`` are :func:`freeal_settings`'; ``params`` holds the preset's
    number of written demonstrations for the data set, if it sets one.
    """
    preset = {"generated_per_class": settings["generated_per_class"]}
    return {"n_rounds": settings["n_rounds"], "n_demos": settings["n_demos"],
            "params": generation_params(preset, key, n_classes)}


def run_draws(suite, plan_, run_one, *, random_state=0, llm_threads=None, components=None,
              results_dir=None, command=None):
    """Run ``run_one`` on every draw and LLM of a plan; write one JSON file per pair.

    Parameters
    ----------
    suite : str
        The suite's name: the files are ``<suite>-<mode>-<data>-<llm>.json``
        (``<suite>-report-<data>-<llm>.json`` for the report draws).
    plan_ : dict
        See :func:`plan`.
    run_one : callable
        ``run_one(data, key=, llm=, labeler=, slm=, embedder=, freeal=)`` -> result
        dict; ``key`` is the data set's name in :data:`benchmarks.datasets.LOADERS`,
        ``freeal`` FreeAL's run in the plan's preset (:func:`freeal_run`).
    random_state : int, default=0
    llm_threads : int, default=None
    components : Components, default=None
        Fast stand-ins (tests); None: the packaged LLM, student and embedder.
    results_dir : str or Path, default=None
    command : str, default=None

    Returns
    -------
    paths : list of Path
    """
    settings = freeal_settings(plan_["mode"])
    components = components or Components(slm_params=settings["slm_params"],
                                          llm_params={"n_threads": llm_threads})
    machine, paths = machine_info(), []
    for name, (n_train, n_test) in plan_["draws"].items():
        options = plan_["options"].get(name, {})
        data = load_dataset(name, n_train, n_test, random_state, role=plan_["role"], **options)
        for llm in plan_["llms"]:
            labeler, slm, embedder = components.resolved(llm)
            start = time.perf_counter()
            result = run_one(data, key=name, llm=llm, labeler=labeler, slm=slm,
                             embedder=embedder,
                             freeal=freeal_run(settings, name, len(data.label_names)))
            seed = random_state if plan_["role"] == "dev" else REPORT_SEED
            result = {"suite": suite, "mode": plan_["mode"], "llm": llm, "role": data.role,
                      "dataset": dataset_info(data, key=name, n_classes=len(data.label_names),
                                              label_names=list(data.label_names),
                                              task=data.task, seed=seed, options=options),
                      **result, "machine": machine,
                      "components": {"labeler": repr(labeler), "slm": repr(slm),
                                     "embedder": repr(embedder)},
                      "cache_dir": os.environ.get("SKFREEAL_CACHE_DIR"),
                      "total_seconds": round(time.perf_counter() - start, 1)}
            if command is not None:
                result["command"] = command
            stem = (f"{suite}-report-{name}-{llm}" if plan_["mode"] == "report"
                    else f"{suite}-{plan_['mode']}-{name}-{llm}")
            paths.append(write_result(result, stem, results_dir=results_dir))
    return paths


def main_of(module, parser, run_suite, argv=None):
    """A claims suite's command line: parse, set up the environment, run, print the files.

    ``run_suite(args, plan, command=, tick=)`` runs the suite and returns the
    files it wrote; ``module`` is the suite's module name, for the command
    recorded in each file.
    """
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parser.parse_args(argv)
    setup_environment(cache_dir=args.cache_dir, torch_threads=args.torch_threads)
    command = " ".join([f"python -m {module}", *argv])
    for path in run_suite(args, plan(args), command=command,
                          tick=lambda name: print(f"done: {name}", flush=True)):
        print(path)
    return 0
