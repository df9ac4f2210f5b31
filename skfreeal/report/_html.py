"""Turn the report's numbers and figures into one self-contained HTML page.

No template engine, no external URL: styles are inline, figures are base64
``data:`` images, and every value from the data goes through
:func:`html.escape`.
"""

import datetime
import html

from ._rounds import _rolled_back

__all__ = ["render_html"]

_CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1f2933;
max-width:1100px;margin:24px auto;padding:0 20px;background:#fff}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #d9e2ec;
padding-bottom:4px}.sub{color:#52606d;margin:0 0 16px}
.cards{display:flex;flex-wrap:wrap;gap:10px}.card{border:1px solid #d9e2ec;border-radius:6px;
padding:8px 12px;min-width:120px}.card b{display:block;font-size:18px}.card span{color:#52606d;font-size:12px}
table{border-collapse:collapse;margin:6px 0;font-size:13px}th,td{border:1px solid #d9e2ec;
padding:3px 8px;text-align:left;vertical-align:top}th{background:#f0f4f8}td.n{text-align:right;
font-variant-numeric:tabular-nums}img{max-width:100%;height:auto}.note{color:#8d2b0b;font-size:13px}
.diag{background:#e3f0fb;font-weight:600}.demo td:first-child{max-width:760px}
.grid{display:flex;flex-wrap:wrap;gap:24px;align-items:flex-start}
"""

_HISTORY_LABELS = {
    "n_annotated": "annotated", "n_abstain": "abstained", "n_changed": "changed",
    "n_labelled": "labelled", "clean_fraction": "clean", "judge_agreement": "LLM/SLM agree",
    "prompt_tokens": "prompt tok", "completion_tokens": "completion tok", "cache_hits": "cache hits",
    "llm_seconds": "LLM s", "judge_seconds": "SLM s", "eval_accuracy": "SLM accuracy (gold)",
    "judge_kept": "student kept", "label_consistency": "labels consistent (out of fold)",
    "rolled_back": "rolled back",
}
# With a judge, a round's figures are the judge's; the final student's get their own keys.
_JUDGE_LABELS = {
    **_HISTORY_LABELS, "judge_agreement": "LLM/judge agree", "judge_seconds": "judge s",
    "eval_accuracy": "judge accuracy (gold)", "judge_kept": "judge kept",
    "student_seconds": "SLM s (final)", "student_eval_accuracy": "SLM accuracy (gold, final)",
    "student_collapsed": "SLM collapsed (final)",
}


def _e(value):
    return html.escape(str(value), quote=True)


def _fmt(value):
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.3f}" if abs(value) < 1000 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _cell(value, tag="td"):
    numeric = isinstance(value, (int, float)) and not isinstance(value, bool)
    return f'<{tag}{" class=n" if numeric else ""}>{_e(_fmt(value))}</{tag}>'


def _table(header, rows, cls=""):
    head = "".join(f"<th>{_e(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(_cell(v) for v in row) + "</tr>" for row in rows)
    return f'<table class="{cls}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _img(png, alt):
    return f'<img alt="{_e(alt)}" src="data:image/png;base64,{png}">' if png else ""


def _cards(items):
    return '<div class="cards">' + "".join(
        f'<div class="card"><b>{_e(_fmt(v))}</b><span>{_e(k)}</span></div>' for k, v in items
    ) + "</div>"


def _confusion_table(data):
    names = data["distribution"]["names"]
    classes = data["classes"]
    head = "<tr><th>LLM label \\ small model</th>" + "".join(f"<th>{_e(c)}</th>" for c in classes) + "</tr>"
    body = []
    for i, row in enumerate(data["confusion"]):
        cells = "".join(
            f'<td class="n{" diag" if i == j else ""}">{v:,}</td>' for j, v in enumerate(row)
        )
        body.append(f"<tr><th>{_e(names[i])}</th>{cells}</tr>")
    return f"<table><thead>{head}</thead><tbody>{''.join(body)}</tbody></table>"


def _history_section(history, png, round_model="small model"):
    if not history:
        return "<p>No round was recorded.</p>"
    keys = []
    for h in history:
        keys += [k for k in h if k not in keys]
    labels = _JUDGE_LABELS if round_model == "judge" else _HISTORY_LABELS
    header = [labels.get(k, k.replace("_", " ")) for k in keys]
    rows = [[f"{h[k]} (rolled back)" if k == "round" and h.get("rolled_back") else h.get(k)
             for k in keys] for h in history]
    return _rollback_note(history) + _table(header, rows) + _img(png, "per-round history")


def _rollback_note(history):
    """A line under "Rounds" for each rolled-back round: its figures are what it proposed."""
    undone = sorted(_rolled_back(history))
    return "".join(
        f"<p class=note>Round {r} was rolled back: it made the labels less consistent (no "
        "gold label used; see rollback_tolerance), so the labels, judge and demonstrations "
        "of the round before it were kept. Its row and its points in the plots show what it "
        "proposed, not what was kept.</p>" for r in undone)


def _per_label_section(data):
    """Label sets: a row per label instead of a confusion matrix."""
    keys = ["label", "round0", "final", "clean_fraction", "agreement"]
    header = ["label", "texts, round 0 (LLM)", "texts, final", "clean (of its texts)",
              "LLM/SLM take the same decision"]
    if data["per_label"] and "llm_accuracy" in data["per_label"][0]:
        keys += ["llm_accuracy", "slm_accuracy"]
        header += ["accuracy of the final labels (gold)", "small-model accuracy (gold)"]
    return _table(header, [[row[k] for k in keys] for row in data["per_label"]])


def _accuracy_section(accuracy, png, rolled_back=()):
    def undone(r):
        return " (rolled back: proposed, not kept)" if r in rolled_back else ""

    rows = [[f"LLM labels after round {r}{undone(r)}", a] for r, a in accuracy["rounds"]]
    who = accuracy.get("round_model", "small model")
    rows += [[f"{who} after round {r}{undone(r)}", a] for r, a in accuracy.get("slm_rounds", [])]
    rows += [["final labels (LLM, refined)", accuracy["final_llm"]],
             ["final small model on the same texts", accuracy["final_slm"]]]
    metric = accuracy.get("metric", "accuracy")
    if metric == "accuracy":
        intro = (f"<p>On {accuracy['n_gold']:,} texts with a gold label (a text without a label "
                 "counts as wrong).</p>")
    else:  # label sets: every (text, label) decision pooled
        intro = (f"<p>On {accuracy['n_gold']:,} texts with a gold label set, {_e(metric)} (a "
                 "text without a label set counts as carrying none).</p>")
    return intro + '<div class="grid">' + _table(["labels", metric], rows) + _img(png, f"{metric} per round") + "</div>"


def render_html(data, meta, images, *, title="skfreeal labelling report"):
    """The report page.

    Parameters
    ----------
    data : dict
        From :func:`~skfreeal.report._data.report_data`.
    meta : dict
        Run settings shown at the top (``{name: value}``), may be empty.
    images : dict
        Base64 PNGs: ``distribution``, ``confusion``, ``history``, ``accuracy``
        (any may be None).
    title : str, default="skfreeal labelling report"

    Returns
    -------
    html : str
    """
    dist, usage, acc = data["distribution"], data["usage"], data["accuracy"]
    history = data["history"]
    last = history[-1] if history else {}
    cards = [("texts", data["n_texts"]), ("rounds", len(history)),
             ("labelled", data.get("n_labelled", sum(dist["after"][:-1]))),
             ("no label", dist["after"][-1]),
             ("clean fraction", data.get("clean_fraction", last.get("clean_fraction"))),
             ("LLM/SLM agreement", data["agreement"]),
             ("LLM calls", usage.get("calls")), ("cost", usage.get("cost"))]
    if acc is not None:
        cards.append((f"small-model {acc.get('metric', 'accuracy')}", acc["final_slm"]))
    dist_rows = [[n, b, a, c] for n, b, a, c in zip(
        dist["names"], dist["before"] or [None] * len(dist["names"]), dist["after"], dist["after_clean"])]
    stamp = datetime.datetime.now().strftime("%Y-%m-%d %H:%M")
    parts = [
        f"<!DOCTYPE html><html lang=en><head><meta charset=utf-8><title>{_e(title)}</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>{_e(title)}</h1><p class=sub>FreeAL: LLM annotation refined by a small robust model, {stamp}</p>",
        _cards(cards),
        "".join(f"<p class=note>{_e(n)}</p>" for n in data["notes"]),
        "<h2>Label distribution, before and after refinement</h2>",
        '<div class="grid">', _table(["label", "round 0 (LLM)", "final", "final, clean"], dist_rows),
        _img(images.get("distribution"), "label distribution"), "</div>",
        "<h2>Rounds</h2>", _history_section(history, images.get("history"),
                                            data.get("round_model", "small model")),
    ]
    if acc is not None:
        parts += ["<h2>Accuracy against gold labels</h2>",
                  _accuracy_section(acc, images.get("accuracy"), _rolled_back(history))]
    if data["confusion"] is None:  # label sets
        parts += ["<h2>Per label (training texts)</h2>", _per_label_section(data)]
    else:
        parts += [
            "<h2>LLM labels vs the small model's predictions (training texts)</h2>",
            '<div class="grid">', _confusion_table(data),
            _img(images.get("confusion"), "confusion matrix"), "</div>",
        ]
    parts += [
        f"<h2>Demonstration pool ({len(data['demos'])})</h2>",
        _table(["text", "label"], [[_clip(t), c] for t, c in data["demos"]], cls="demo")
        if data["demos"] else "<p>No demonstrations (zero-shot).</p>",
        "<h2>LLM usage and cost</h2>", _table(["", "value"], list(usage.items())),
        "<h2>Run settings</h2>" + _table(["setting", "value"], list(meta.items())) if meta else "",
        "</body></html>",
    ]
    return "\n".join(p for p in parts if p)


def _clip(text, limit=300):
    return text if len(text) <= limit else text[: limit - 1] + "…"
