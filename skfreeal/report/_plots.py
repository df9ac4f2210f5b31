"""The report's figures, drawn with matplotlib (Agg) and returned as base64 PNG."""

import base64
import io

import numpy as np

from ._rounds import _rolled_back, _round_tick

__all__ = ["distribution_png", "confusion_png", "history_png", "accuracy_png"]

_BEFORE, _AFTER, _CLEAN = "#9aa5b1", "#2f6db5", "#1b9e5a"


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=True)  # no display; must precede pyplot's import
    import matplotlib.pyplot as plt

    return plt


def _png(fig):
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight")
    _pyplot().close(fig)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def distribution_png(distribution):
    """Grouped bars: labels after round 0, final labels, and the clean part of them."""
    plt = _pyplot()
    names = distribution["names"]
    x = np.arange(len(names))
    fig, ax = plt.subplots(figsize=(max(5.0, 0.9 * len(names) + 2), 3.2))
    series = [("final labels", distribution["after"], _AFTER),
              ("final, judged clean", distribution["after_clean"], _CLEAN)]
    if distribution["before"] is not None:
        series.insert(0, ("round-0 LLM labels", distribution["before"], _BEFORE))
    width = 0.8 / len(series)
    for k, (name, counts, color) in enumerate(series):
        ax.bar(x + (k - (len(series) - 1) / 2) * width, counts, width, label=name, color=color)
    ax.set_xticks(x, names, rotation=30 if len(names) > 6 else 0, ha="right" if len(names) > 6 else "center")
    ax.set_ylabel("texts")
    ax.legend(frameon=False, fontsize=8)
    ax.spines[["top", "right"]].set_visible(False)
    return _png(fig)


def confusion_png(confusion, row_names, col_names):
    """Heat map of LLM labels (rows) against the small model's predictions (columns)."""
    plt = _pyplot()
    matrix = np.asarray(confusion)
    size = max(3.5, 0.6 * max(matrix.shape) + 2)
    fig, ax = plt.subplots(figsize=(size + 1, size))
    im = ax.imshow(matrix, cmap="Blues")
    ax.set_xticks(range(len(col_names)), col_names, rotation=45, ha="right")
    ax.set_yticks(range(len(row_names)), row_names)
    ax.set_xlabel("small model prediction")
    ax.set_ylabel("LLM label")
    if matrix.size <= 400:
        top = matrix.max() or 1
        for (i, j), value in np.ndenumerate(matrix):
            ax.text(j, i, str(value), ha="center", va="center", fontsize=8,
                    color="white" if value > top / 2 else "black")
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    return _png(fig)


def history_png(history, round_model="small model"):
    """Per round: annotated, changed and abstained counts; clean fraction and agreement."""
    plt = _pyplot()
    rounds = [h.get("round", i) for i, h in enumerate(history)]
    undone = _rolled_back(history)
    x = np.arange(len(rounds))
    fig, (left, right) = plt.subplots(1, 2, figsize=(8.5, 3.0))
    keys = [("n_annotated", "annotated", _AFTER), ("n_changed", "changed", "#e08a2c"),
            ("n_abstain", "abstained", _BEFORE)]
    width = 0.8 / len(keys)
    for k, (key, name, color) in enumerate(keys):
        bars = left.bar(x + (k - 1) * width, [h.get(key, 0) for h in history], width,
                        label=name, color=color)
        for bar, r in zip(bars, rounds):
            if r in undone:  # what the round proposed, not kept: hatched and faded
                bar.set(hatch="//", alpha=0.45)
    left.set_title("LLM annotation", fontsize=10)
    for key, name, color in [("clean_fraction", "clean fraction", _CLEAN),
                             ("judge_agreement",
                              "LLM/judge agreement" if round_model == "judge"
                              else "LLM/SLM agreement", _AFTER)]:
        values = [h.get(key, np.nan) for h in history]
        right.plot(x, values, "o-", label=name, color=color)
        gone = [i for i, r in enumerate(rounds) if r in undone]
        right.plot(x[gone], np.asarray(values, dtype=float)[gone], "o", color="white",
                   markeredgecolor=color)  # hollow: the rolled-back round's judge was dropped
    right.set_ylim(0, 1.05)
    right.set_title(round_model, fontsize=10)
    for ax in (left, right):
        ax.set_xticks(x, [_round_tick(r, undone) for r in rounds])
        ax.set_xlabel("round")
        ax.legend(frameon=False, fontsize=8)
        ax.spines[["top", "right"]].set_visible(False)
    return _png(fig)


def accuracy_png(accuracy, rolled_back=()):
    """Accuracy of the LLM labels per round against gold, with the final small model's.

    The ``rolled_back`` rounds' points (labels proposed, not kept) are hollow
    and their ticks say so.
    """
    plt = _pyplot()
    rounds = [r for r, _ in accuracy["rounds"]]
    fig, ax = plt.subplots(figsize=(5.0, 3.0))
    ax.plot(rounds, [a for _, a in accuracy["rounds"]], "o-", color=_AFTER, label="LLM labels")
    gone = [(r, a) for r, a in accuracy["rounds"] if r in rolled_back and a is not None]
    if gone:
        ax.plot(*zip(*gone), "o", color="white", markeredgecolor=_AFTER,
                label="rolled back (not kept)")
    if accuracy.get("slm_rounds"):
        slm_rounds = [r for r, _ in accuracy["slm_rounds"]]
        rounds = sorted(set(rounds) | set(slm_rounds))
        judged = accuracy.get("round_model") == "judge"
        ax.plot(slm_rounds, [a for _, a in accuracy["slm_rounds"]], "s-",
                color="#e08a2c" if judged else _CLEAN,
                label=accuracy.get("round_model", "small model"))
    if accuracy["final_slm"] is not None and (
            not accuracy.get("slm_rounds") or accuracy.get("round_model") == "judge"):
        ax.axhline(accuracy["final_slm"], color=_CLEAN, ls="--", label="final small model")
    ax.set_xticks(rounds, [_round_tick(r, rolled_back) for r in rounds])
    ax.set_xlabel("round")
    ax.set_ylabel(accuracy.get("metric", "accuracy"))
    ax.set_ylim(0, 1.05)
    ax.legend(frameon=False, fontsize=8)
    ax.spines[["top", "right"]].set_visible(False)
    return _png(fig)
