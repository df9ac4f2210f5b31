"""Turn the JSON files of ``benchmarks/results/`` into the documentation's tables and plots.

Writes ``docs/benchmarks_results.rst`` (included by ``docs/benchmarks.rst``) and
``docs/_static/bench_*.png``. Every number on that page comes from a JSON
file; nothing is typed by hand. Run ``python -m benchmarks.report`` (the
``python -m benchmarks`` entry point runs it after the suites).

The component suites (``robust_slm``, ``annotation``) write their own pages
(``docs/benchmarks_<suite>.md``), which the Benchmarks page lists.
"""

import argparse
import json
from pathlib import Path

from ._common import DOCS_DIR, RESULTS_DIR, current_names, list_table, result_role, revision_text
from ._plots import plot_clean, plot_cost, plot_rounds
from .freeal import cache_state

__all__ = ["METHOD_LABELS", "build", "load_results", "main", "render"]

PAGE = "benchmarks_results.rst"

METHOD_LABELS = {
    "zero_shot_llm": "Zero-shot LLM",
    "freeal_demos_llm": "LLM + FreeAL demos (kNN)",
    "slm_zero_shot_labels": "SLM on zero-shot LLM labels",
    "confident_learning": "SLM + confident learning (cleanlab)",
    "freeal_slm": "FreeAL SLM (final)",
    "knn_icl_gold": "LLM + kNN gold demos (ICL bound)",
    "slm_gold": "SLM on gold labels (bound)",
    "probe_gold": "Probe on gold labels (bound)",
}
_BOUNDS = ("knn_icl_gold", "slm_gold", "probe_gold")  # use gold labels: FreeAL is not expected to beat them
_ROUND_COLUMNS = (
    ("round", "Round", "{}"), ("n_annotated", "Annotated", "{}"),
    ("n_changed", "Changed", "{}"), ("n_abstain", "Abstained", "{}"),
    ("llm_label_accuracy", "LLM label acc. (train)", "{:.3f}"),
    ("clean_fraction", "Clean fraction", "{:.2f}"),
    ("judge_agreement", "LLM/SLM agreement", "{:.2f}"),
    ("eval_accuracy", "SLM test acc.", "{:.3f}"),
    ("judge_eval_accuracy", "Judge test acc.", "{:.3f}"), ("calls", "LLM calls", "{}"),
    ("seconds", "Seconds", "{:.0f}"),
)


def load_results(results_dir=None, *, role=None):
    """Every JSON result (of one role when asked), sorted by suite, mode, data set and LLM.

    ``role`` is ``"dev"`` or ``"report"`` (a file without one is a dev
    result, see :func:`~benchmarks._common.result_role`); None: every file.
    """
    results_dir = Path(results_dir) if results_dir is not None else RESULTS_DIR
    results = []
    for path in sorted(results_dir.glob("*.json")):
        data = json.loads(path.read_text())
        if role is not None and result_role(data) != role:
            continue
        data["_file"] = path.name
        results.append(data)
    return results


def _fmt(value, spec="{:.3f}"):
    if value is None:
        return "n/a"
    if isinstance(value, float) and spec == "{}":
        return f"{value:g}"
    return spec.format(value)


def _heading(text, char):
    return [text, char * len(text), ""]


def _method_rows(result):
    rows = []
    for key, label in METHOD_LABELS.items():
        m = result["methods"].get(key)
        if m is None:
            continue
        tokens = m.get("llm_prompt_tokens", 0) + m.get("llm_completion_tokens", 0)
        rows.append([label, _fmt(m["accuracy"]), _fmt(m["macro_f1"]), str(m.get("llm_calls", 0)),
                     str(m.get("llm_cache_hits", 0)), str(tokens), _fmt(m["seconds"], "{:.0f}"),
                     _fmt(m.get("cpu_seconds"), "{:.0f}"), _fmt(m["peak_rss_mib"], "{:.0f}")])
    return rows


def _named(keys, methods):
    """``"Label (accuracy), ..."`` for the methods ``keys``."""
    return ", ".join(f"{METHOD_LABELS[k]} ({methods[k]['accuracy']:.3f})" for k in keys)


def verdict(result):
    """Sentences saying where FreeAL's SLM wins and loses, from the numbers."""
    methods = result["methods"]
    ours = methods["freeal_slm"]["accuracy"]
    others = [k for k in METHOD_LABELS if k != "freeal_slm" and k in methods]
    lost = [k for k in others if k not in _BOUNDS and methods[k]["accuracy"] > ours]
    beaten = [k for k in others if k not in _BOUNDS and methods[k]["accuracy"] <= ours]
    above = [k for k in others if k in _BOUNDS and methods[k]["accuracy"] < ours]
    out = []
    if beaten:
        out.append(f"The FreeAL SLM ({ours:.3f}) matches or beats {_named(beaten, methods)}.")
    if lost:
        out.append(f"**FreeAL loses here**: its SLM ({ours:.3f}) is below "
                   f"{_named(lost, methods)}.")
    if above:
        out.append(f"It also beats {_named(above, methods)}, which see gold labels: at this "
                   "size they are no ceiling.")
    evals = [(r["round"], r["eval_accuracy"]) for r in result.get("rounds", [])
             if r.get("eval_accuracy") is not None]
    if len(evals) > 1:
        best_round, best = max(evals, key=lambda pair: pair[1])
        if best > evals[-1][1]:
            out.append(f"**A later round hurt**: the SLM scored {best:.3f} after round "
                       f"{best_round} and {evals[-1][1]:.3f} after the last round, "
                       f"{evals[-1][0]}.")
    gap = result.get("gap_closed")
    zs, gold = methods["zero_shot_llm"]["accuracy"], methods["slm_gold"]["accuracy"]
    if gap is None:
        out.append(f"Gap closed: undefined (the gold-label SLM, {gold:.3f}, does not beat the "
                   f"zero-shot LLM, {zs:.3f}).")
    else:
        above_gold = " (above 100%: the FreeAL SLM beats the gold-label SLM)" if gap > 1 else ""
        out.append(f"Gap closed, (FreeAL SLM - zero-shot LLM) / (gold SLM - zero-shot LLM): "
                   f"**{gap:.0%}**{above_gold} (goal: 90% on binary tweets).")
    return out


def _settings(settings):
    if "slm_params" not in settings:
        return "not recorded"
    return settings["slm_params"] or "the defaults"


def _describe(result):
    d, s, mach = result["dataset"], result["settings"], result["machine"]
    cache = cache_state(result["methods"], result.get("zero_shot_train_labels"))
    commit = revision_text(mach.get("git"))
    train_acc = result["train_label_accuracy"]
    clean = result.get("freeal_clean", {})
    return [
        f"{d['n_train']} training texts (gold labels hidden from FreeAL), {d['n_test']} test "
        f"texts, {d['n_classes']} classes, from ``{d['source']}``; seed {d['seed']}; "
        f"{s['n_rounds']} rounds, {s['n_demos']} demonstrations per text, confident learning "
        f"with {s['cv']}-fold cross-validation; loader options "
        f"{d.get('options') or 'the loader defaults'}; "
        f"student settings {_settings(s)}."
        + (f" Rows left out of this run: {', '.join(METHOD_LABELS[k] for k in s['skipped'])}."
           if s.get("skipped") else ""),
        "",
        f"Command: ``{result['command']}`` (finished {result.get('finished_at', '?')}, "
        f"{result['total_seconds']:.0f} s wall, {_fmt(result.get('total_cpu_seconds'), '{:.0f}')} s "
        f"CPU, revision {commit}). Machine: {mach['platform']}, "
        f"{mach.get('processor')}, {mach['logical_cores']} cores, torch {mach.get('torch')} with "
        f"{mach.get('torch_threads')} thread(s), load average at start "
        f"{_fmt((mach.get('load_average_at_start') or [None])[0], '{:.1f}')}. "
        f"LLM answer cache: **{cache['state']}** "
        f"({cache['llm_calls']} new calls, {cache['cache_hits']} cache hits"
        + ("" if cache["counted"] else "; the zero-shot labelling of the training texts, "
           "whose rows this run skipped, is not counted")
        + ").",
        "",
        f"Label accuracy on the training texts: zero-shot LLM {_fmt(train_acc['zero_shot_llm'])}, "
        f"after FreeAL {_fmt(train_acc['freeal_final'])}; the final SLM calls "
        f"{_fmt(clean.get('clean_fraction'), '{:.0%}')} of them clean, with label accuracy "
        f"{_fmt(clean.get('label_accuracy_clean'))} on the clean and "
        f"{_fmt(clean.get('label_accuracy_noisy'))} on the noisy ones.",
        "",
        *[f"Warning during FreeAL's fit: *{w}*\n" for w in result.get("freeal_warnings", [])],
    ]


def render_freeal(result):
    """reST for one FreeAL result: description, method table, verdict, rounds table."""
    d = result["dataset"]
    lines = _heading(f"{d['name']}, {result['llm']} ({result['mode']} mode)", "^")
    lines += _describe(result)
    lines += list_table(["Method", "Accuracy", "Macro-F1", "LLM calls", "Cache hits", "Tokens",
                         "Wall s", "CPU s", "Peak RSS MiB"], _method_rows(result))
    lines += [" ".join(verdict(result)), ""]
    rows = [[_fmt(current_names(r).get(k), spec) for k, _, spec in _ROUND_COLUMNS]
            for r in result["rounds"]]
    lines += ["FreeAL, round by round:", ""]
    lines += list_table([label for _, label, _ in _ROUND_COLUMNS], rows)
    return lines


def _report_section(report):
    """The report draws' runs: data no setting was chosen on (issue 40)."""
    lines = _heading("Report draws", "^")
    if not report:
        return lines + ["No report-draw result yet: ``python -m benchmarks.freeal --report`` "
                        "runs them (hours on 2 cores).", ""]
    lines += ["Rows of the corpora no setting was chosen on, and data sets never used for a "
              "choice (``benchmarks/datasets.py``), at FreeAL's defaults. README quotes their "
              "table.", ""]
    for result in report:
        lines += render_freeal(result)
    return lines


def _smoke_note(quick):
    """What the quick-mode results are, and are not."""
    smallest = min(r["dataset"]["n_test"] for r in quick)
    return (f"The quick-mode results below are smoke tests of the pipeline on tiny samples "
            f"(down to {smallest} test texts, so one text moves accuracy by {1 / smallest:.1%}), "
            "not measurements of FreeAL's quality.")


def render(results, images):
    """The whole generated page as a string."""
    lines = [".. Generated by benchmarks/report.py from benchmarks/results/*.json: do not edit.", ""]
    freeal = [r for r in results if r.get("suite") == "freeal"]
    lines += _heading("FreeAL against the baselines and peers", "~")
    report = [r for r in freeal if result_role(r) == "report"]
    freeal = [r for r in freeal if result_role(r) != "report"]
    full = [r for r in freeal if r.get("mode") == "full"]
    quick = [r for r in freeal if r.get("mode") == "quick"]
    lines += _report_section(report)
    if freeal:
        lines += _heading("Dev draws", "^")
        lines += ["The data the settings were chosen on (``benchmarks/datasets.py``): their "
                  "gains are upper bounds, not results.", ""]
    if not freeal:
        lines += ["No FreeAL result yet: run ``python -m benchmarks --quick``.", ""]
    elif not full:
        lines += ["No full-mode result yet. " + _smoke_note(quick)
                  + " ``python -m benchmarks`` runs the full mode.", ""]
    for result in full:
        lines += render_freeal(result)
    if full and quick:
        lines += [_smoke_note(quick), ""]
    for result in quick:
        lines += render_freeal(result)
    for name, caption in images:
        lines += [f".. figure:: _static/{name}", "   :width: 100%", "", f"   {caption}", ""]
    for result in (r for r in results if r.get("suite") == "student_seeds"):
        lines += render_student_seeds(result)
    return "\n".join(lines).rstrip() + "\n"


def render_student_seeds(result):
    """How FreeAL's final accuracy moves with the student's seed alone."""
    st, summary = result["settings"], result["summary"]
    lines = _heading("FreeAL's spread over student seeds", "^")
    lines += [f"{result['dataset']}, {st['n_train']} training / {st['n_test']} test texts, "
              f"{st['n_rounds']} rounds, {st['n_demos']} demonstrations, FreeAL seed "
              f"{st['random_state']}: the LLM's round-0 labels are the same in every run, only "
              "the student's ``random_state`` changes (and with it which texts round 1 "
              f"re-annotates). Commands: {'; '.join(f'``{c}``' for c in result['commands'])} "
              f"(finished {result.get('finished_at', '?')[:10]}, revision "
              f"{revision_text(result.get('machine', {}).get('git'))}: the loop of then, not "
              "necessarily today's defaults).",
              ""]
    rows = [[str(r["slm_seed"]), *(_fmt(x["slm_test_accuracy"]) for x in r["rounds"]),
             _fmt(r["test_accuracy"]), str(r["llm_calls"]), f"{r['seconds']:.0f}"]
            for r in result["runs"]]
    n_rounds = len(result["runs"][0]["rounds"])
    header = ["Student seed", *(f"SLM test acc., round {i}" for i in range(n_rounds)),
              "Final", "LLM calls", "Seconds"]
    lines += list_table(header, rows)
    lines += ["", f"Final test accuracy over {summary['n_seeds']} student seeds: mean "
              f"{summary['mean']:.3f}, from {summary['min']:.3f} to {summary['max']:.3f}.", ""]
    return lines


def build(*, results_dir=None, docs_dir=None):
    """Regenerate the page and the plots; return the paths written."""
    docs_dir = Path(docs_dir) if docs_dir is not None else DOCS_DIR
    static = docs_dir / "_static"
    static.mkdir(parents=True, exist_ok=True)
    results = load_results(results_dir)
    freeal = [r for r in results if r.get("suite") == "freeal"]
    written, images = [], []
    if freeal:
        for name, plot, caption in (
            ("bench_rounds.png", plot_rounds,
             "Test accuracy per FreeAL round (SLM) and LLM label accuracy on the training texts, "
             "against the baselines (dashed) and the gold-label bounds (dotted)."),
            ("bench_clean.png", plot_clean,
             "Clean fraction and LLM/SLM agreement on the training texts, per round."),
            ("bench_cost.png", plot_cost,
             "LLM calls (new and cached) against test accuracy, per method."),
        ):
            plot(freeal, static / name)
            written.append(static / name)
            images.append((name, caption))
    page = docs_dir / PAGE
    page.write_text(render(results, images))
    return [page, *written]


def main(argv=None):
    """Command-line entry point: regenerate the benchmark page and plots."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.report", description=__doc__)
    parser.add_argument("--results-dir", default=None)
    parser.add_argument("--docs-dir", default=None)
    args = parser.parse_args(argv)
    for path in build(results_dir=args.results_dir, docs_dir=args.docs_dir):
        print(path)
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
