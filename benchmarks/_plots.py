"""Matplotlib figures of the benchmark results (one panel per data set, and LLM)."""

import numpy as np

from ._common import current_names

__all__ = ["cap_of", "plot_clean", "plot_cost", "plot_label_fraction", "plot_rounds"]

# method -> (label, colour, line style); baselines dashed, gold-label bounds dotted
_STYLE = {
    "zero_shot_llm": ("Zero-shot LLM", "tab:red", "--"),
    "freeal_demos_llm": ("LLM + FreeAL demos", "tab:orange", "--"),
    "slm_zero_shot_labels": ("SLM on zero-shot labels", "tab:purple", "--"),
    "confident_learning": ("Confident learning", "tab:brown", "--"),
    "knn_icl_gold": ("LLM + gold demos (bound)", "tab:gray", ":"),
    "slm_gold": ("SLM on gold (bound)", "black", ":"),
    "freeal_slm": ("FreeAL SLM", "tab:blue", "-"),
}
# the LLM as classifier: squares; a trained SLM: circles; FreeAL: a star
_MARKER = {"zero_shot_llm": "s", "freeal_demos_llm": "s", "knn_icl_gold": "s",
           "freeal_slm": "*"}


def _figure(n_panels):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cols = min(n_panels, 3)
    rows = int(np.ceil(n_panels / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(4.6 * cols, 3.6 * rows), squeeze=False)
    for ax in axes.flat[n_panels:]:
        ax.set_visible(False)
    return fig, list(axes.flat)


def _title(result):
    return f"{result['dataset']['name']}, {result['llm']}\n({result['mode']}, " \
           f"n_train={result['dataset']['n_train']})"


def _save(fig, axes, path):
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=4, fontsize=7, frameon=False)
    fig.tight_layout(rect=(0, 0.06 + 0.06 * (len(labels) > 4), 1, 1))
    fig.savefig(path, dpi=110)
    import matplotlib.pyplot as plt

    plt.close(fig)


def _panels(results, path, draw):
    """One panel per result, drawn by ``draw(ax, result)``, one legend below."""
    fig, axes = _figure(len(results))
    for ax, result in zip(axes, results):
        draw(ax, result)
        ax.set_title(_title(result), fontsize=9)
    _save(fig, axes, path)


def _per_round(ax, result, series):
    """Plot ``(history key, format, label, colour)`` series against the round."""
    rounds = [current_names(r) for r in result["rounds"]]
    x = [r["round"] for r in rounds]
    for key, fmt, label, colour in series:
        ax.plot(x, [r.get(key, np.nan) for r in rounds], fmt, color=colour, label=label)
    ax.set_xticks(x)
    ax.set_xlabel("round")


def _draw_rounds(ax, result):
    _per_round(ax, result, [("eval_accuracy", "o-", "FreeAL SLM (test)", "tab:blue"),
                            ("llm_label_accuracy", "s-", "FreeAL LLM labels (train)",
                             "tab:green")])
    for key, (label, colour, style) in _STYLE.items():
        if key != "freeal_slm" and key in result["methods"]:
            ax.axhline(result["methods"][key]["accuracy"], color=colour, ls=style, lw=1.2,
                       label=label)
    ax.set_ylabel("accuracy")


def _draw_clean(ax, result):
    _per_round(ax, result, [("clean_fraction", "o-", "clean fraction", "tab:blue"),
                            ("judge_agreement", "s-", "LLM/SLM agreement", "tab:orange"),
                            ("llm_label_accuracy", "^:", "LLM label accuracy (gold)", "gray")])
    ax.set_ylim(0, 1.02)


def _draw_cost(ax, result):
    for key, (label, colour, _) in _STYLE.items():
        row = result["methods"].get(key)
        if row is not None:
            calls = row.get("llm_calls", 0) + row.get("llm_cache_hits", 0)
            ax.scatter(calls, row["accuracy"], color=colour, label=label, s=60, alpha=0.8,
                       marker=_MARKER.get(key, "o"))
    ax.set_xlabel("LLM calls (incl. cache hits)")
    ax.set_ylabel("test accuracy")


def plot_rounds(results, path):
    """Test accuracy of the SLM per round and LLM label accuracy, against the baselines."""
    _panels(results, path, _draw_rounds)


def plot_clean(results, path):
    """Clean fraction and LLM/SLM agreement on the training texts, per round."""
    _panels(results, path, _draw_clean)


def plot_cost(results, path):
    """LLM calls (new plus cached) against test accuracy, one point per method."""
    _panels(results, path, _draw_cost)


def cap_of(cell):
    """The ``max_annotations`` a P% cell was run with by ``--max-annotations`` (None: default).

    Here, beside the plot that draws a line per cap, so that both the plot
    and :mod:`benchmarks.label_fraction` (which imports this module) read it.
    """
    return cell.get("settings", {}).get("max_annotations")


_STRATEGY_STYLE = {"random": ("tab:blue", "o-"), "uncertainty": ("tab:orange", "s-")}


def _draw_label_fraction(ax, cells, target):
    """One data set: a line per strategy over the fractions, full FreeAL as a star."""
    full = [c for c in cells if c["label_fraction"] >= 1]
    for strategy, (colour, fmt) in _STRATEGY_STYLE.items():
        for cap in sorted({cap_of(c) for c in cells}, key=lambda v: (v is not None, v)):
            mine = sorted((c for c in cells if c["query_strategy"] == strategy
                           and cap_of(c) == cap), key=lambda c: c["label_fraction"])
            if not mine:
                continue
            x, y = [c["requests_per_text"] for c in mine], [c["test_accuracy"] for c in mine]
            if cap is None:
                ax.plot(x, y, fmt, color=colour, label=f"P% mode, {strategy}")
            else:
                ax.plot(x, y, "x--", color=colour,
                        label=f"P% mode, {strategy}, max_annotations={cap}")
            for c in mine:
                ax.annotate(f"{c['label_fraction']:g}",
                            (c["requests_per_text"], c["test_accuracy"]),
                            textcoords="offset points", xytext=(4, 4), fontsize=7)
    for c in full:
        ax.scatter(c["requests_per_text"], c["test_accuracy"], marker="*", s=140,
                   color="black", label="full FreeAL (fraction 1)", zorder=3)
        ax.axhline(c["test_accuracy"] - target["points"] / 100, color="gray", ls=":", lw=1)
    ax.axvline(target["requests_per_text"], color="gray", ls=":", lw=1)
    ax.set_xlabel("LLM requests per training text")
    ax.set_ylabel("test accuracy")


def plot_label_fraction(cells, path, *, target):
    """Test accuracy against LLM requests per training text, one panel per data set.

    Parameters
    ----------
    cells : list of dict
        The cells of ``benchmarks/results/label_fraction.json``.
    path : str or Path
    target : dict
        ``points`` below full FreeAL and ``requests_per_text``, drawn dotted.
    """
    names = list(dict.fromkeys(c["dataset"] for c in cells))
    fig, axes = _figure(len(names))
    for ax, name in zip(axes, names):
        mine = [c for c in cells if c["dataset"] == name]
        _draw_label_fraction(ax, mine, target)
        ax.set_title(f"{name} (n_train={mine[0]['n_train']})", fontsize=9)
    _save(fig, axes, path)
