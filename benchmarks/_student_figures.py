"""The student's before/after figures (issue 38): cells of ``benchmarks/student.py``
tagged ``before`` (an earlier revision, ``--tree``) and ``after`` (this one), and
the main job's run at both revisions (``python -m skfreeal.demo --save-result``).

Its own module so that :mod:`benchmarks.figures` stays a registry of templates.
"""

from ._figure_parts import Missing, Table
from ._figure_parts import revision as _revision

__all__ = ["RSS_TARGET_BYTES", "ACCURACY_TOLERANCE", "NEWS_SECONDS_TARGET", "student_before_after"]

RSS_TARGET_BYTES = 3e9  # issue 38: peak RSS at most 3 GB on every cell
NEWS_SECONDS_TARGET = 300  # 200 news-length texts in at most 5 minutes on 2 cores
ACCURACY_TOLERANCE = 0.01  # accuracy within 1 point of the revision before
_NAMES = {"news": "20 Newsgroups, 5 topics (800-1,500 chars)", "yahoo": "Yahoo! Answers (uncut)",
          "yahoo300": "Yahoo! Answers (300 chars)", "tweets": "Binary tweets"}


def _pairs(result):
    """``{(dataset, n_train): {"before": cell, "after": cell}}`` for the paired cells."""
    pairs = {}
    for cell in result["cells"]:
        if cell.get("method") == "student" and cell.get("tag") in ("before", "after"):
            pairs.setdefault((cell["dataset"], cell["n_train"]), {})[cell["tag"]] = cell
    return {key: pair for key, pair in sorted(pairs.items()) if len(pair) == 2}


def _gb(mib):
    return mib * 2**20 / 1e9


def _row(key, pair):
    before, after = pair["before"], pair["after"]

    def lever(name):
        accuracy = after.get(f"predict_{name}_accuracy")
        return "-" if accuracy is None else (
            f"{accuracy:.3f} @ {after[f'predict_{name}_texts_per_s']:.0f}/s")

    return [_NAMES.get(key[0], key[0]), f"{key[1]:,}", f"{after['n_eval']:,}",
            f"{_revision(before.get('skfreeal_git'))} → {_revision(after.get('skfreeal_git'))}",
            f"{before['accuracy']:.3f} → {after['accuracy']:.3f}",
            f"{before['fit_seconds']:.0f} → {after['fit_seconds']:.0f}",
            f"{before['fit_cpu_seconds']:.0f} → {after['fit_cpu_seconds']:.0f}",
            f"{_gb(before['peak_rss_fit_mib']):.1f} → {_gb(after['peak_rss_fit_mib']):.1f}",
            f"{_gb(before['peak_rss_predict_mib']):.1f} → "
            f"{_gb(after['peak_rss_predict_mib']):.1f}",
            f"{before['predict_texts_per_s']:.0f} → {after['predict_texts_per_s']:.0f}",
            lever("bf16"), lever("int8")]


def _verdicts(pairs):
    """Issue 38's three targets, each met or missed, naming the cells that miss."""
    rss = [f"{key[0]} {key[1]} ({_gb(p['after']['peak_rss_fit_mib']):.1f} GB)"
           for key, p in pairs.items() if _gb(p["after"]["peak_rss_fit_mib"]) * 1e9
           > RSS_TARGET_BYTES]
    accuracy = [f"{key[0]} {key[1]} ({p['before']['accuracy']:.3f} → {p['after']['accuracy']:.3f})"
                for key, p in pairs.items()
                if p["after"]["accuracy"] < p["before"]["accuracy"] - ACCURACY_TOLERANCE]
    news = [p["after"]["fit_seconds"] for key, p in pairs.items() if key == ("news", 200)]
    lines = ["peak RSS of fit at most 3 GB: " + ("met on every cell" if not rss
                                                 else "missed on " + ", ".join(rss)),
             "accuracy within 1 point of the revision before (or above it): "
             + ("met on every cell" if not accuracy else "missed on " + ", ".join(accuracy))]
    if news:
        lines.append(f"200 news-length texts in at most 5 minutes: {news[0] / 60:.1f} min, "
                     + ("met" if news[0] <= NEWS_SECONDS_TARGET else "missed"))
    return lines


def _demo_line(demo, name):
    load = (demo["machine"].get("load_average_at_start") or [float("nan")])[0]
    return (f"{name} (revision {_revision(demo.get('revision'))}, load average {load:.1f} at "
            f"the start): {demo['seconds'] / 60:.1f} min, peak memory "
            f"{demo['peak_rss_mib'] / 1024:.1f} GiB, final SLM {demo['final_slm_accuracy']:.3f}, "
            f"{demo['llm_calls']:,} LLM calls")


def student_before_after(student, demo_after, demo_before):
    """The student's cells before and after issue 38, its targets, and the main job's time."""
    pairs = _pairs(student)
    if not pairs:
        return ["Not measured yet: ``python -m benchmarks.student --methods student "
                "--predict-levers --params '{}' --tag after`` (and ``--tag before --tree DIR`` "
                "on the earlier revision) fills the cells."]
    revisions = {tag: sorted({_revision(p[tag].get("skfreeal_git")) for p in pairs.values()})
                 for tag in ("before", "after")}
    loads = [c["load_average"][0] for p in pairs.values() for c in p.values()
             if c.get("load_average")]
    paragraphs = [
        f"The default student on gold labels, before (skfreeal {', '.join(revisions['before'])})"
        f" and after (skfreeal {', '.join(revisions['after'])}) issue 38's changes, each row at "
        "the revisions it names (a later revision is measured where it changed the cell's "
        "code path): accuracy on the cell's evaluation texts, fit seconds (wall, then CPU of all threads), "
        "peak RSS of the fit and of predict in GB, predict's texts/s in float32 (today's "
        "default on CPUs without native bfloat16), and after the change predict's accuracy and "
        "texts/s with bfloat16 autocast (measured only on a CPU with native bfloat16, - "
        "elsewhere) and with dynamic int8 quantization. Each cell ran alone "
        "in its own process, one after another, with the machine's default torch threads "
        f"(1-minute load average {min(loads):.1f} to {max(loads):.1f} when the cells ended)."
        if loads else "",
        Table(["Data set", "Train", "Eval texts", "skfreeal", "Accuracy", "Fit s (wall)", "Fit s (CPU)",
               "Peak RSS fit GB", "Peak RSS predict GB", "Predict texts/s", "bf16 predict",
               "int8 predict"], [_row(key, pair) for key, pair in pairs.items()]),
        "Targets: " + "; ".join(_verdicts(pairs)) + ".",
    ]
    if not isinstance(demo_after, Missing) and not isinstance(demo_before, Missing):
        paragraphs.append("The main job (``python -m skfreeal.demo --save-result FILE``, empty "
                          "answer cache each): " + _demo_line(demo_before, "before") + "; "
                          + _demo_line(demo_after, "after") + ".")
    return [p for p in paragraphs if p]
