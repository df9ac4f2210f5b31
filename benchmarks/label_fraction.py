"""FreeAL's P% mode: test accuracy against LLM cost as the annotated fraction shrinks (issue 16).

Usage::

    python -m benchmarks.label_fraction                  # tweets, Yahoo; 0.1 0.2 0.5 1.0
    python -m benchmarks.label_fraction --datasets tweets --fractions 0.2   # adds those cells
    python -m benchmarks.label_fraction --quick --results-dir /tmp/r --docs-dir /tmp/d   # minutes
    python -m benchmarks.label_fraction --report-only    # JSON -> docs page and plot

With ``label_fraction=P`` FreeAL's LLM annotates P of the training texts in
round 0 and P more in each later round, chosen by ``query_strategy``
(``"random"`` or ``"uncertainty"``; round 0 is always random), besides
re-annotating the texts the student judged noisy; ``label_fraction=1.0`` is
full FreeAL (the strategy plays no part there, so it is run once). Only
FreeAL is fitted, no peer, with the settings of the FreeAL row of
``benchmarks/freeal.py`` (its builders, the packaged 0.5B LLM and MiniLM
student, 4 demonstrations, 2 rounds as in the committed full tables; 1,000
training and 500 test texts, seed 0).

Each cell records the student's test accuracy, the accuracy of the training
labels FreeAL ends with, the LLM requests split by purpose (writing
demonstrations, the zero-shot labels that fill a short label's
demonstrations, annotation, calibration) and per training text, wall time,
and the command, revision and load. The LLM answers come from the shared
cache (``benchmarks/.cache``) when an earlier run asked the same: *requests*
count new calls and cache hits alike (the cost on a cold cache).

Cells merge into ``benchmarks/results/label_fraction.json``
(``label_fraction_quick.json`` for ``--quick``), written after each cell, so
the grid can be filled piecewise; ``docs/benchmarks_label_fraction.rst`` and
``docs/_static/bench_label_fraction.png`` are rendered from it.
"""

import argparse
import os
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from . import freeal
from ._plots import cap_of, plot_label_fraction
from ._common import (DOCS_DIR, RESULTS_DIR, add_output_options, format_load, list_table,
                      machine_info, merge_cells, read_result, run_info, scores,
                      setup_environment, write_result)

__all__ = ["PRESETS", "RequestCounter", "cell_key", "grid", "main", "purpose_of", "render",
           "run_cell", "target_rows"]

PAGE = "benchmarks_label_fraction.rst"
PLOT = "bench_label_fraction.png"
LLM = "qwen2.5-coder-0.5b"
STRATEGIES = ("random", "uncertainty")
# the committed full-mode FreeAL tables ran 2 rounds (the preset's third is not run on 2 cores)
N_ROUNDS = 2
TARGET = {"fraction": 0.2, "points": 3.0, "requests_per_text": 0.5}
PRESETS = {
    "full": {"freeal": "full", "datasets": ("tweets", "yahoo"), "sizes": (1000, 500),
             "fractions": (0.1, 0.2, 0.5, 1.0), "strategies": STRATEGIES},
    "quick": {"freeal": "quick", "datasets": ("tweets",), "sizes": (60, 40),
              "fractions": (0.5, 1.0), "strategies": ("random",)},
}
PURPOSES = ("generation", "demo_fill", "annotation", "calibration")


# ----------------------------------------------------------------- the meter


def purpose_of(event):
    """The JSON's purpose of a labeler's :class:`~skfreeal.labelers.RequestEvent`.

    ``"generation"`` (writing demonstrations, their zero-shot checks
    included), ``"calibration"`` (the content-free calls of contextual
    calibration), ``"demo_fill"`` (zero-shot labels asked with neither
    demonstrations nor a prior: FreeAL's fill of a label short of
    demonstrations, its own calibration included; or requests the loop
    declares ``"fill"``) and ``"annotation"`` (every other label request).
    """
    if event.purpose == "fill" or (event.purpose == "annotation" and event.zero_shot
                                   and not event.prior_given):
        return "demo_fill"
    return event.purpose


class RequestCounter:
    """An observer (:func:`skfreeal.labelers.observing`) that splits requests by purpose.

    ``by_purpose`` maps each purpose of :func:`purpose_of` to
    ``{"calls": int, "cache_hits": int}``; the counts add up to the
    labelers' ``usage_`` calls and cache hits.
    """

    def __init__(self):
        self.by_purpose = {}

    def __call__(self, event):
        row = self.by_purpose.setdefault(purpose_of(event), {"calls": 0, "cache_hits": 0})
        row["cache_hits" if event.cached else "calls"] += 1


# ------------------------------------------------------------------ the cells


def cell_key(dataset, fraction, strategy, max_annotations=None):
    """Key of a cell in the JSON (fraction 1.0 has no strategy; ``/max1`` marks a cell run
    with ``max_annotations=1``, any other value likewise)."""
    key = f"{dataset}/{'all' if fraction >= 1 else strategy}/{fraction:g}"
    return key if max_annotations is None else f"{key}/max{max_annotations}"


def grid(datasets, fractions, strategies):
    """``(dataset, fraction, strategy)`` cells; fraction 1.0 once, with strategy None."""
    cells = []
    for name in datasets:
        for fraction in sorted(set(fractions)):
            for strategy in ([None] if fraction >= 1 else strategies):
                cells.append((name, float(fraction), strategy))
    return cells


def _label_accuracy(clf, gold):
    labelled = clf.label_ids_ >= 0
    correct = clf.label_ids_ == gold
    return {"train_label_accuracy": float(np.mean(correct)),
            "train_label_accuracy_labelled": (float(np.mean(correct[labelled]))
                                              if labelled.any() else None),
            "train_label_coverage": float(np.mean(labelled))}


def _requests(clf, n_train, split):
    usage = clf.usage_
    requests = int(usage["calls"] + usage["cache_hits"])
    return {"llm": {k: int(usage.get(k) or 0) for k in
                    ("calls", "cache_hits", "prompt_tokens", "completion_tokens")},
            "requests_by_purpose": ({p: split.get(p, {"calls": 0, "cache_hits": 0})
                                     for p in PURPOSES} if split is not None else None),
            "requests_per_text": requests / n_train,
            "new_calls_per_text": int(usage["calls"]) / n_train}


def run_cell(data, fraction, strategy, *, components, n_rounds, n_demos, random_state,
             freeal_params=None):
    """Fit FreeAL in P% mode on one data set; the cell's measurements.

    Parameters
    ----------
    data : skfreeal.datasets.TextDataset
    fraction : float
        ``label_fraction``.
    strategy : str or None
        ``query_strategy`` (None: the default, for fraction 1.0).
    components : benchmarks.freeal.Components
    n_rounds, n_demos, random_state : int
    freeal_params : dict, default=None
        More ``FreeALClassifier`` parameters (the preset's generated demos).

    Returns
    -------
    cell : dict
    """
    labeler, slm, embedder = components.resolved(LLM)
    params = {**(freeal_params or {}), "label_fraction": fraction}
    if strategy is not None:
        params["query_strategy"] = strategy
    names = list(data.label_names)
    gold = np.array([names.index(str(v)) for v in data.y_train], dtype=np.int64)
    from skfreeal.labelers import BaseLabeler, observing

    counter = RequestCounter()
    with observing(counter):
        clf, pred, step, caught = freeal.fit_freeal(
            data, labeler=labeler, slm=slm, embedder=embedder, n_rounds=n_rounds,
            n_demos=n_demos, random_state=random_state, freeal_params=params)
    split = counter.by_purpose if isinstance(clf.labeler_, BaseLabeler) else None
    test = scores(data.y_test, pred, names)
    return {
        "dataset": data.name, "n_train": len(data.X_train), "n_test": len(data.X_test),
        "label_fraction": fraction, "query_strategy": strategy,
        "test_accuracy": test["accuracy"], "test_macro_f1": test["macro_f1"],
        **_label_accuracy(clf, gold),
        "texts_annotated": int(np.sum(clf.n_annotations_ > 0)),
        "annotations": int(np.sum(clf.n_annotations_)),
        **_requests(clf, len(data.X_train), split),
        "seconds": step["seconds"], "cpu_seconds": step["cpu_seconds"],
        "peak_rss_mib": step["peak_rss_mib"],
        "n_rounds_run": clf.n_rounds_, "stop_reason": clf.stop_reason_,
        "rounds": freeal.round_rows(clf, gold), "warnings": caught,
        "settings": {"n_rounds": n_rounds, "n_demos": n_demos, "random_state": random_state,
                     **params, "judge": repr(clf.judge), "label_fusion": clf.rounds.label_fusion,
                     "slm_params": components.slm_params, "llm": LLM},
    }


def _components(preset, llm_threads):
    return freeal.Components(slm_params=preset["slm_params"],
                             llm_params={"n_threads": llm_threads})


def run(args, command):
    """Run the cells the options ask for, merging each into the JSON as it ends."""
    mode = PRESETS["quick" if args.quick else "full"]
    base = freeal.PRESETS[mode["freeal"]]
    path = Path(args.results_dir) / f"{result_name(args.quick)}.json"
    info = run_info(command)
    result = {"suite": "label_fraction", "mode": "quick" if args.quick else "full",
              "machine": machine_info()}
    components = _components(base, args.llm_threads)
    started, data_sets = time.perf_counter(), {}
    for name, fraction, strategy in grid(args.datasets or mode["datasets"],
                                         args.fractions or mode["fractions"],
                                         args.strategies or mode["strategies"]):
        if name not in data_sets:
            data_sets[name] = freeal.load_dataset(name, *mode["sizes"], 0,
                                                  **base["dataset_options"].get(name, {}))
        data = data_sets[name]
        params = freeal.generation_params(base, name, len(data.label_names))
        if args.max_annotations is not None:
            params["max_annotations"] = args.max_annotations
        cell = run_cell(data, fraction, strategy, components=components, n_rounds=N_ROUNDS,
                        n_demos=base["n_demos"], random_state=0, freeal_params=params)
        key = cell_key(name, fraction, strategy, args.max_annotations)
        cell.update(key=key, dataset_key=name, run=info,
                    load_average_at_end=list(os.getloadavg()),
                    finished_at=datetime.now(timezone.utc).isoformat(timespec="seconds"))
        print(f"[{(time.perf_counter() - started) / 60:5.1f} min] {key}: test accuracy "
              f"{cell['test_accuracy']:.3f}, {cell['requests_per_text']:.2f} requests/text, "
              f"{cell['seconds']:.0f} s", flush=True)
        result = merge_cells(result, {key: cell}, info, path)
        write_result({**result, "command": command}, result_name(args.quick),
                     results_dir=args.results_dir)
    return path


def result_name(quick):
    """File stem of the results."""
    return "label_fraction_quick" if quick else "label_fraction"


# ------------------------------------------------------------------- the page


def _cells(result):
    return {c["key"]: c for c in (result or {}).get("cells", [])}


def _full(cells, dataset):
    return cells.get(cell_key(dataset, 1.0, None))


def target_rows(result):
    """Per data set and strategy, the fraction-0.2 cell against full FreeAL, with a verdict.

    Returns
    -------
    rows : list of dict
        ``dataset``, ``strategy``, ``accuracy``, ``full``, ``points``
        (accuracy minus full, in points), ``requests_per_text``,
        ``annotation_per_text`` (its annotation and calibration requests
        only: without round 0's demonstration writing and fill, a fixed
        cost per label that a larger data set spreads thinner; None for a
        cell that did not record its purposes) and ``verdict``
        (``"meets"``, ``"misses: ..."`` or ``"not run"``; it judges all the
        requests).
    """
    cells, rows = _cells(result), []
    mode = PRESETS[(result or {}).get("mode", "full")]
    for name in _datasets(result, mode):
        full = _full(cells, name)
        caps = sorted({cap_of(c) for c in cells.values() if c["dataset_key"] == name
                       and c["label_fraction"] == TARGET["fraction"]} - {None})
        for cap, strategy in [(None, s) for s in STRATEGIES] + [
                (cap, s) for cap in caps for s in STRATEGIES]:
            cell = cells.get(cell_key(name, TARGET["fraction"], strategy, cap))
            if cap is not None and cell is None:
                continue
            row = {"dataset": name, "strategy": _strategy_label(strategy, cap),
                   "accuracy": cell and cell["test_accuracy"],
                   "full": full and full["test_accuracy"],
                   "requests_per_text": cell and cell["requests_per_text"],
                   "annotation_per_text": cell and _annotation_per_text(cell)}
            row["points"] = (None if cell is None or full is None
                             else 100 * (row["accuracy"] - row["full"]))
            row["verdict"] = _verdict(row)
            rows.append(row)
    return rows


def _strategy_label(strategy, cap):
    return strategy if cap is None else f"{strategy}, max_annotations={cap}"


def _requests_for(cell, purpose):
    """A cell's requests (new calls and cache hits) for one purpose; None if not recorded."""
    split = cell.get("requests_by_purpose")
    if split is None:
        return None
    return split[purpose]["calls"] + split[purpose]["cache_hits"]


def _annotation_per_text(cell):
    counts = [_requests_for(cell, p) for p in ("annotation", "calibration")]
    return None if None in counts else sum(counts) / cell["n_train"]


def _verdict(row):
    if row["accuracy"] is None or row["full"] is None:
        return "not run" if row["accuracy"] is None else "not run (full FreeAL)"
    misses = []
    if row["points"] < -TARGET["points"]:
        misses.append(f"{-row['points']:.1f} points below full")
    if row["requests_per_text"] > TARGET["requests_per_text"]:
        misses.append(f"{row['requests_per_text']:.2f} requests per text")
    return "misses: " + ", ".join(misses) if misses else "meets"


def _datasets(result, mode):
    measured = [c["dataset_key"] for c in (result or {}).get("cells", [])]
    return list(dict.fromkeys([*mode["datasets"], *measured]))


def _fmt(value, spec):
    return "not run" if value is None else spec.format(value)


def _purpose(cell, purpose):
    count = _requests_for(cell, purpose)
    return "n/a" if count is None else str(count)


def _result_rows(result):
    cells, rows = _cells(result), []
    mode = PRESETS[(result or {}).get("mode", "full")]
    measured = {c["label_fraction"] for c in cells.values() if cap_of(c) is None}
    for name in _datasets(result, mode):
        full = _full(cells, name)
        for fraction, strategy in [(f, s) for _, f, s in
                                   grid([name], {*mode["fractions"], *measured}, STRATEGIES)]:
            cell = cells.get(cell_key(name, fraction, strategy))
            label = strategy or "(every text)"
            if cell is None:
                rows.append([name, label, f"{fraction:g}", "not run", *["-"] * 8])
                continue
            rows.append(_cell_row(name, label, cell, full))
        for cell in sorted((c for c in cells.values()
                            if c["dataset_key"] == name and cap_of(c) is not None),
                           key=lambda c: (cap_of(c), c["label_fraction"], c["key"])):
            rows.append(_cell_row(name, _strategy_label(cell["query_strategy"], cap_of(cell)),
                                  cell, full))
    return rows


def _cell_row(name, label, cell, full):
    fraction = cell["label_fraction"]
    vs_full = ("-" if full is None or fraction >= 1
               else f"{100 * (cell['test_accuracy'] - full['test_accuracy']):+.1f}")
    return [name, label, f"{fraction:g}", f"{cell['test_accuracy']:.3f}", vs_full,
            _fmt(cell["train_label_accuracy_labelled"], "{:.3f}"),
            f"{cell['train_label_coverage']:.0%}",
            f"{cell['requests_per_text']:.2f}", str(cell["llm"]["calls"]),
            _purpose(cell, "generation") + " / " + _purpose(cell, "demo_fill"),
            _purpose(cell, "annotation") + " / " + _purpose(cell, "calibration"),
            f"{cell['seconds']:.0f}"]


_INTRO = """\
.. Generated by benchmarks/label_fraction.py from benchmarks/results/{source}: do not edit.

Benchmark: FreeAL's P% mode, accuracy against LLM cost
======================================================

With ``label_fraction=P`` (:class:`~skfreeal.FreeALClassifier`) the LLM
annotates P of the training texts in round 0 and P more in each later round,
chosen by ``query_strategy`` (``"random"``, or ``"uncertainty"``: the texts
the round's judge is least sure of; round 0 is always random), and re-annotates
the texts the judge found noisy (the judge: the frozen-encoder probe today, the
student in the old-loop cells named below); the student still trains on every text
(the unannotated ones through its consistency loss). ``label_fraction=1.0``
is full FreeAL. With {n_rounds} rounds, P annotates up to {n_rounds}P of the texts,
plus the noisy ones asked again; so 0.5 reaches every text, and its two
strategies ask the same texts (round 1 takes every text not yet asked).
Rows marked ``max_annotations=1`` (``--max-annotations 1``) ask no text
twice: round 1 only asks new texts, so {n_rounds} rounds cost {n_rounds}P
annotation requests per text. Round 0's synthetic demonstrations number one
per five texts round 0 labels at most (P of them), twice the demonstrations
a prompt per label at most (4 at least) and 100 in all, one per label at
least.{demo_counts}
``benchmarks/label_fraction.py`` fits FreeAL alone (no peer)
at each fraction, with the suite's sizes and components
({n_train:,} training and {n_test:,} test texts, seed 0,
Qwen2.5-Coder-0.5B, the MiniLM student, {n_demos} demonstrations, {n_rounds}
rounds) and FreeAL's defaults of the revision each cell ran at (below).

*Requests* are the LLM's answers the fit used, new calls and answers from
the shared cache alike (the cost of a cold run), split by purpose: writing
synthetic demonstrations (with their zero-shot checks) / the zero-shot labels
that fill a label short of demonstrations, then annotation / calibration
(content-free calls; none with the default batch calibration). *New calls*
are the ones this run made (the rest were cached by earlier runs). *Label
acc.* is the accuracy of the final training labels among the labelled texts,
*labelled* their share of the training texts.
"""


# Label counts of the full preset's data sets, for its demonstration counts.
_N_LABELS = {"tweets": 2, "yahoo": 10}


def _full_demo_counts():
    """The sentence giving round 0's demonstration counts of the full preset, by the
    library's own rule (a quick preset sets its own counts: no sentence there)."""
    from skfreeal import DemoPolicy, RoundPolicy

    preset = PRESETS["full"]
    n_train, n_demos = preset["sizes"][0], freeal.PRESETS[preset["freeal"]]["n_demos"]

    def counts(name):
        return {f: DemoPolicy(n_demos).n_generated_for(
            n_classes=_N_LABELS[name],
            n_first_round=RoundPolicy(label_fraction=f).first_round_size(n_train))
            for f in preset["fractions"]}

    yahoo, tweets = counts("yahoo"), counts("tweets")
    first_max = min(f for f, n in yahoo.items() if n == max(yahoo.values()))
    below = ", ".join(f"{n} at {f:g}" for f, n in yahoo.items() if f < first_max)
    tweets_text = (f"{next(iter(tweets.values()))} at every fraction"
                   if len(set(tweets.values())) == 1
                   else ", ".join(f"{n} at {f:g}" for f, n in tweets.items()))
    return (f" With the full preset's {n_train:,} texts and {n_demos} demonstrations\na "
            f"prompt: on Yahoo's {_N_LABELS['yahoo']} labels {below}, {yahoo[first_max]} from "
            f"{first_max:g} (tweets: {tweets_text}).\nCells run before revision 8eb3ed3 "
            f"counted every training text there\n({max(yahoo.values())} demonstrations on "
            "Yahoo at every fraction).")


def render(result, plot=None):
    """The page, as reStructuredText; ``plot`` is the figure's file name (or None)."""
    mode = (result or {}).get("mode", "full")
    preset = PRESETS[mode]
    base = freeal.PRESETS[preset["freeal"]]
    lines = _INTRO.format(source=f"{result_name(mode == 'quick')}.json",
                          n_train=preset["sizes"][0], n_test=preset["sizes"][1],
                          n_demos=base["n_demos"], n_rounds=N_ROUNDS,
                          demo_counts=_full_demo_counts() if mode == "full" else "").splitlines()
    if mode == "quick":
        lines += ["", "**These are quick-mode results** (a smoke run on tiny samples), not "
                  "measurements of the P% mode.", ""]
    lines += ["", "The target", "----------", "",
              f"At ``label_fraction={TARGET['fraction']:g}``, the student within "
              f"{TARGET['points']:g} points of full FreeAL's test accuracy on both data sets, "
              f"at no more than {TARGET['requests_per_text']:g} LLM requests per training "
              "text.", ""]
    lines += list_table(
        ["Data set", "Strategy", f"Accuracy at {TARGET['fraction']:g}", "Full FreeAL",
         "Points", "Requests / text", "Annotation requests / text", "Verdict"],
        [[r["dataset"], r["strategy"], _fmt(r["accuracy"], "{:.3f}"), _fmt(r["full"], "{:.3f}"),
          _fmt(r["points"], "{:+.1f}"), _fmt(r["requests_per_text"], "{:.2f}"),
          _fmt(r["annotation_per_text"], "{:.2f}"), r["verdict"]]
         for r in target_rows(result)])
    lines += ["*Annotation requests* leave out round 0's demonstration writing and fill: "
              "a cost per label, not per text, which a larger data set spreads thinner. "
              "The verdict counts every request.", ""]
    lines += _overall(target_rows(result))
    lines += ["Every cell", "----------", ""]
    lines += list_table(
        ["Data set", "Strategy", "Fraction", "Test acc.", "vs full (points)", "Label acc.",
         "Labelled", "Requests / text", "New calls", "Generation / fill requests",
         "Annotation / calibration requests", "Wall s"], _result_rows(result))
    if plot:
        lines += [f".. figure:: _static/{plot}", "   :width: 100%", "",
                  "   Test accuracy against LLM requests per training text, one point per "
                  "fraction (labelled), full FreeAL as a star; dotted: the target.", ""]
    lines += _loop_settings(result)
    lines += _runs(result)
    return "\n".join(lines).rstrip() + "\n"


# The commit that made the probe judge and product fusion FreeAL's defaults.
_JUDGE_DEFAULTS = "29d2be1"


def _loop_settings(result):
    """A paragraph: which judge and fusion the cells ran with (older cells did not say)."""
    cells = (result or {}).get("cells", [])
    if not cells:
        return []
    told = sorted({(c["settings"]["judge"], c["settings"]["label_fusion"])
                   for c in cells if "judge" in c.get("settings", {})})
    untold = [c for c in cells if "judge" not in c.get("settings", {})]
    text = []
    if untold:
        text.append(
            f"{len(untold)} of the {len(cells)} cells ran before revision {_JUDGE_DEFAULTS}, "
            "with the defaults of then: the student judging each round (``judge=None``) and "
            "the LLM's re-annotation taken as it is (``label_fusion='llm'``), FreeAL as "
            "published; not today's probe judge and product fusion, which the FreeAL suite's "
            "tables use."
        )
    mixed = _loop_mismatches(cells)
    if mixed:
        text.append("*vs full* compares with the full-FreeAL cell of the same data set; for "
                    + ", ".join(mixed) + " that cell ran with the other loop, so the difference "
                    "mixes the loop's change with the fraction's.")
    elif untold:
        text.append("*vs full* compares with the full-FreeAL cell of the same data set, run "
                    "with the same loop.")
    if told:
        text.append("The other cells ran with " + "; ".join(
            f"``judge={judge}``, ``label_fusion={fusion!r}``" for judge, fusion in told) + ".")
    return ["Loop settings", "-------------", "", " ".join(text), ""]


def _loop(cell):
    settings = cell.get("settings", {})
    return (settings.get("judge"), settings.get("label_fusion"))


def _loop_mismatches(cells):
    """Keys of the P% cells whose loop differs from their data set's full-FreeAL cell's."""
    full = {c["dataset_key"]: _loop(c) for c in cells if c["label_fraction"] >= 1}
    return [c["key"] for c in cells if c["label_fraction"] < 1
            and c["dataset_key"] in full and _loop(c) != full[c["dataset_key"]]]


def _overall(rows):
    """One sentence: the data sets where the target is met, missed, not measured."""
    by_dataset = {}
    for row in rows:
        by_dataset.setdefault(row["dataset"], []).append(row["verdict"])
    met = [d for d, v in by_dataset.items() if "meets" in v]
    missing = [d for d, v in by_dataset.items() if all(x.startswith("not run") for x in v)]
    missed = [d for d in by_dataset if d not in met and d not in missing]
    if len(met) == len(by_dataset):
        return ["The target is met on every data set (by at least one row).", ""]
    parts = [f"{what} on {', '.join(names)}" for what, names in
             (("met", met), ("missed", missed), ("not measured", missing)) if names]
    text = "The target is " + "; ".join(parts) + "."
    if missing:
        text += (" ``python -m benchmarks.label_fraction --datasets ... --fractions 0.2 1.0`` "
                 "fills the cells marked *not run*.")
    return [text, ""]


def _runs(result):
    if not (result or {}).get("cells"):
        return ["No cell has been run yet: ``python -m benchmarks.label_fraction`` runs the "
                "grid (hours on 2 cores, most of it the student's training and the LLM's "
                "round-0 pass).", ""]
    lines = ["Runs", "----", ""]
    for run in result.get("commands", []):
        git = run.get("git") or {}
        lines.append(f"- ``{run['command']}`` (revision {str(git.get('commit'))[:10]}"
                     f"{', uncommitted changes' if git.get('dirty') else ''}; load average at "
                     f"start {format_load(run.get('load_average_at_start'))})")
    loads = [c["load_average_at_end"][0] for c in result["cells"]]
    m = result["machine"]
    lines += ["", f"Machine: {m.get('processor')}, {m.get('logical_cores')} cores, "
              f"{m.get('torch_threads')} torch thread(s), torch {m.get('torch')}. 1-minute load "
              f"average when the cells ended: {min(loads):.1f} to {max(loads):.1f} (2 means both "
              "cores busy): the seconds are wall time on a shared machine.", ""]
    return lines


def build_page(results_dir=None, docs_dir=None):
    """Write the page (and the plot, when there are cells) from the JSON; the paths written.

    The full run's JSON is used when there is one, else the quick run's.
    """
    folder = Path(results_dir) if results_dir is not None else RESULTS_DIR
    docs = Path(docs_dir) if docs_dir is not None else DOCS_DIR
    result = read_result(folder / f"{result_name(False)}.json") or read_result(
        folder / f"{result_name(True)}.json")
    written = []
    if result and result.get("cells"):
        (docs / "_static").mkdir(parents=True, exist_ok=True)
        plot_label_fraction(result["cells"], docs / "_static" / PLOT, target=TARGET)
        written.append(docs / "_static" / PLOT)
    page = docs / PAGE
    page.write_text(render(result, PLOT if written else None))
    return [page, *written]


def build_parser():
    """Command-line options."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.label_fraction",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: 60 training / 40 test tweets, fractions 0.5 and 1.0, "
                             "random strategy")
    parser.add_argument("--datasets", nargs="+", choices=["tweets", "yahoo"])
    parser.add_argument("--fractions", nargs="+", type=float)
    parser.add_argument("--strategies", nargs="+", choices=list(STRATEGIES))
    parser.add_argument("--torch-threads", type=int, default=None,
                        help="student threads (default: every core; 1 on a shared machine)")
    parser.add_argument("--llm-threads", type=int, default=None,
                        help="local LLM threads (default: every core)")
    parser.add_argument("--cache-dir", help="LLM answer cache (default benchmarks/.cache)")
    parser.add_argument("--max-annotations", type=int, default=None,
                        help="FreeAL's max_annotations for these cells, kept apart from the "
                             "default cells (1: no text asked twice, round 1 only asks new "
                             "texts)")
    return add_output_options(parser, f"{PAGE} and its plot")


def main(argv=None):
    """Run the cells, then rebuild the page."""
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser().parse_args(argv)
    if args.fractions and not all(0 < f <= 1 for f in args.fractions):
        raise SystemExit("--fractions must be in (0, 1]")
    if not args.report_only:
        setup_environment(cache_dir=args.cache_dir, torch_threads=args.torch_threads)
        print(f"wrote {run(args, ' '.join(['python -m benchmarks.label_fraction', *argv]))}")
    for path in build_page(args.results_dir, args.docs_dir):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
