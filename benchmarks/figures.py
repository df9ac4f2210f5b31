"""Result figures quoted in README.md and the docs, rendered from committed result files.

A quoted block sits between markers naming a template of this module and the
JSON files it reads (paths from the repository's root)::

    <!-- figures: freeal benchmarks/results/freeal-full-yahoo-qwen2.5-coder-0.5b.json -->
    ...text rendered from the file...
    <!-- /figures -->

or, in reStructuredText (both lines are comments)::

    .. figures: freeal-vs-icl benchmarks/results/freeal-full-tweets-qwen2.5-coder-1.5b.json

    ...text rendered from the file...

    .. /figures

``python -m benchmarks.figures --write`` renders every block from its files;
``--check`` (and ``tests/test_figures.py``) fails when a committed block
differs from its rendering, so a figure cannot drift from its source. The
prose of a block lives in its template here: edit it there, then ``--write``.
A block whose file does not exist yet keeps its text and is reported as
unsourced (the test skips it, saying which file is missing). A file written
``?path`` is optional: its absence leaves the block sourced, and the template
is given a :class:`~benchmarks._figure_parts.Missing` in its place (and says
what is not measured yet), so a page can quote the figures that exist beside
the ones a running job will write. The file list may run on indented lines.
"""

import argparse
import json
import re
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

from ._claims_page import CLAIM_TEMPLATES
from ._figure_parts import Missing, Table
from ._figure_parts import command as _command
from ._figure_parts import revision as _revision
from ._figure_parts import role as _role
from ._figure_parts import standard_error as _standard_error
from ._student_figures import student_before_after

__all__ = ["Block", "TEMPLATES", "Table", "check", "find_blocks", "main", "render_block", "write"]

ROOT = Path(__file__).resolve().parent.parent
# The pages whose figures must have a source.
PAGES = ("README.md", "docs/*.rst", "docs/*.md", "docs/user_guide/*.rst")

_MD = re.compile(r"^<!-- figures: (?P<spec>[^>]*?) -->\n(?P<body>.*?)^<!-- /figures -->$",
                 re.M | re.S)
_RST = re.compile(r"^\.\. figures: (?P<spec>.*?)\n\n(?P<body>.*?)\n^\.\. /figures$", re.M | re.S)


@dataclass
class Block:
    """One quoted block: its page, template, source files and committed text."""

    page: Path
    template: str
    files: list
    body: str
    start: int
    end: int

    def missing(self):
        """The required source files that do not exist (yet); optional ones never count."""
        return [f for f in self.files if not f.startswith("?") and not (ROOT / f).exists()]


def find_blocks(page):
    """The figure blocks of a page, in order.

    Parameters
    ----------
    page : Path

    Returns
    -------
    blocks : list of Block
    """
    text = page.read_text()
    pattern = _MD if page.suffix == ".md" else _RST
    blocks = []
    for match in pattern.finditer(text):
        template, *files = match["spec"].split()
        blocks.append(Block(page, template, files, match["body"], *match.span("body")))
    return blocks


def render_block(block):
    """The text a block must hold, rendered from its files by its template."""
    if block.template not in TEMPLATES:
        raise ValueError(f"{block.page}: template must be one of {sorted(TEMPLATES)}, "
                         f"got {block.template!r}.")
    results = [_load(f) for f in block.files]
    markdown = block.page.suffix == ".md"
    paragraphs = TEMPLATES[block.template](*results)
    body = "\n\n".join(_render(p, markdown) for p in paragraphs)
    return body + "\n"


def _load(name):
    """A source file's result, or a ``Missing`` for an optional file not written yet."""
    path = ROOT / name.removeprefix("?")
    if name.startswith("?") and not path.exists():
        return Missing(name.removeprefix("?"))
    return json.loads(path.read_text())


def _render(paragraph, markdown):
    """A paragraph filled to the page's width, or a table in the page's markup."""
    if isinstance(paragraph, Table):
        return _markdown_table(paragraph) if markdown else _rst_table(paragraph)
    return _fill(paragraph, 100 if markdown else 78)


def _markdown_table(table):
    lines = ["| " + " | ".join(table.header) + " |",
             "|" + "|".join("---" for _ in table.header) + "|"]
    return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in table.rows])


def _rst_table(table):
    widths = [max(len(str(c)) for c in col) for col in zip(table.header, *table.rows)]
    rule = "  ".join("=" * w for w in widths)

    def line(cells):
        return "  ".join(str(c).ljust(w) for c, w in zip(cells, widths)).rstrip()

    return "\n".join([rule, line(table.header), rule, *map(line, table.rows), rule])


def _fill(text, width):
    return textwrap.fill(" ".join(text.split()), width=width, break_long_words=False,
                         break_on_hyphens=False)


def _pages():
    for pattern in PAGES:
        yield from sorted(ROOT.glob(pattern))


def check(pages=None):
    """Every block against its rendering.

    Parameters
    ----------
    pages : list of Path, default=None
        None: README.md and the docs (``PAGES``).

    Returns
    -------
    wrong : list of (Block, str)
        Blocks whose text differs from the rendering, with the rendering.
    unsourced : list of Block
        Blocks whose files do not exist yet (their text is not checked).
    """
    wrong, unsourced = [], []
    for page in _pages() if pages is None else pages:
        for block in find_blocks(page):
            if block.missing():
                unsourced.append(block)
                continue
            rendered = render_block(block)
            if rendered != block.body:
                wrong.append((block, rendered))
    return wrong, unsourced


def write():
    """Render every block whose files exist into its page; the pages changed."""
    changed = []
    for page in _pages():
        text = page.read_text()
        new = text
        for block in reversed(find_blocks(page)):  # from the end: earlier offsets stay valid
            if not block.missing():
                new = new[:block.start] + render_block(block) + new[block.end:]
        if new != text:
            page.write_text(new)
            changed.append(page)
    return changed


# -- templates: each takes the block's results, returns its paragraphs ------------------

def _minutes(seconds):
    return f"{seconds / 60:.1f} min"


def _accuracy(result, method):
    return result["methods"][method]["accuracy"]


def _gap(value, zero_shot, gold):
    return (value - zero_shot) / (gold - zero_shot)


_NOUNS = {"tweets": "tweets", "tweets-3way": "tweets", "yahoo": "questions",
          "stackoverflow": "titles", "mcid": "messages", "banking77": "queries"}


def freeal_paragraph(result):
    """A FreeAL suite result in words: zero-shot, FreeAL's SLM, the kNN bound, the gap."""
    d = result["dataset"]
    noun = _NOUNS.get(d.get("key"), "texts")
    zs, slm = _accuracy(result, "zero_shot_llm"), _accuracy(result, "freeal_slm")
    icl, gold = _accuracy(result, "knn_icl_gold"), _accuracy(result, "slm_gold")
    labels = result["train_label_accuracy"]
    if abs(slm - icl) < _standard_error(slm, d["n_test"]):
        relation = "level with"
    else:
        relation = "above" if slm > icl else "below"
    machine = result["machine"]
    return [
        f"On {d['n_train']:,} training and {d['n_test']:,} test {noun} ({d['name']}, "
        f"{d['n_classes']} labels) the {result['llm']} LLM answers {zs:.3f} of the test {noun} "
        f"right zero-shot. FreeAL's SLM reaches **{slm:.3f}**, {relation} the same LLM given the "
        f"{result['settings']['n_demos']} nearest *gold-labelled* training {noun} as "
        f"demonstrations ({icl:.3f}), and closes {result['gap_closed']:.0%} of the gap to the "
        f"SLM trained on gold labels ({gold:.3f}); its labels of the training {noun} go from "
        f"{labels['zero_shot_llm']:.1%} to {labels['freeal_final']:.1%} right "
        f"(`{_command(result)}`, revision {_revision(machine.get('git'))}, "
        f"{result['total_seconds'] / 60:.0f} min on {machine['usable_cores']} cores, "
        f"{result['cache']['state']} answer cache)."
    ]


def freeal_vs_icl(result):
    """How FreeAL's SLM stands against the LLM with gold kNN demonstrations."""
    slm, icl = _accuracy(result, "freeal_slm"), _accuracy(result, "knn_icl_gold")
    n_test = result["dataset"]["n_test"]
    se = _standard_error(slm, n_test)
    points = round(abs(slm - icl) * 100)
    side = "above" if slm > icl else "below"
    within = "within" if abs(slm - icl) <= se else "beyond"
    return [
        f"The {result['llm']} run's FreeAL SLM ({slm:.3f}) is {points} "
        f"point{'s' if points != 1 else ''} {side} the LLM with gold kNN demonstrations "
        f"({icl:.3f}), {round(abs(slm - icl) * n_test)} test texts, {within} one standard "
        f"error (about {se * 100:.1f} points)."
    ]


def demo_paragraphs(demo, suite):
    """The main job's run (``skfreeal.demo --save-result``), against the suite's gold SLM."""
    machine, history = demo["machine"], demo["history"]
    rounds = [f"round 0: the demonstrations and {history[0]['n_annotated']:,} labels, "
              f"{_minutes(history[0]['seconds'])}"]
    rounds += [f"round {r['round']}: {r['n_annotated']:,} texts asked again, "
               f"{_minutes(r['seconds'])}" for r in history[1:]]
    if demo.get("student"):  # a judge ran the rounds: the student trained once, at the end
        rounds.append(f"then the student trained once, {_minutes(demo['student']['seconds'])}")
    hits = sum(r.get("cache_hits", 0) for r in history)
    # Hits as a count: a run from an empty cache still reuses its own timing requests' answers.
    cache = "empty answer cache" if hits == 0 else \
        f"{hits:,} of the fit's calls answered from the answer cache"
    load = machine.get("load_average_at_start") or [float("nan")]
    expected = demo.get("expected_seconds")
    judge = "judge" if demo.get("judged_by", "judge") == "judge" else "SLM"
    accuracies = ", ".join(f"{r['eval_accuracy']:.3f}" for r in history)
    names = " and ".join(str(r["round"]) for r in history)
    labels = " then ".join(f"{a:.1%}" for a in demo["train_label_accuracy"])
    zs, final = demo["zero_shot_accuracy"], demo["final_slm_accuracy"]
    gold = _accuracy(suite, "slm_gold")
    n_test = demo["dataset"]["n_test"]
    return [
        f"Measured on {machine['usable_cores']} cores ({machine['processor']}, "
        f"{cache}, load average {load[0]:.1f} "
        f"at the start, install not counted; revision {_revision(demo.get('revision'))}): "
        f"**{_minutes(demo['seconds'])}**, peak memory {demo['peak_rss_mib'] / 1024:.1f} GiB"
        + ("" if expected is None else f"; it printed an expected {_minutes(expected)}")
        + f". The fit made {demo['llm_calls']:,} LLM calls ({'; '.join(rounds)}), besides the "
        f"{n_test:,} zero-shot calls on the held-out tweets "
        f"({_minutes(demo['zero_shot_seconds'])}).",
        f"It prints a zero-shot LLM accuracy of {zs:.3f} on {n_test:,} held-out tweets, the "
        f"{judge}'s after rounds {names} ({accuracies}), and the final SLM at "
        f"**{final:.3f}**; its labels of the training tweets are {labels} right. The SLM "
        f"{'beats' if final > zs else 'does not beat'} the zero-shot LLM and closes "
        f"{_gap(final, zs, gold):.0%} of the gap to an SLM trained on gold labels "
        f"({gold:.3f}, `python -m benchmarks.freeal` on the same tweets; see "
        f"`docs/benchmarks.rst`).",
    ]


_REPORT_COLUMNS = (
    ("Zero-shot LLM", "zero_shot_llm"), ("FreeAL SLM", "freeal_slm"),
    ("Gold SLM", "slm_gold"), ("Gold probe", "probe_gold"),
    ("LLM + 4 gold kNN", "knn_icl_gold"), ("Cleanlab on zero-shot", "confident_learning"),
)


def _report_row(result):
    from benchmarks.freeal import calls_per_text

    d, m = result["dataset"], result["methods"]
    labels = result["train_label_accuracy"]
    fit = m["freeal_slm"]
    cells = [f"{d['name']} ({d['n_classes']})", f"{d['n_train']:,}/{d['n_test']:,}"]
    cells += [f"{m[key]['accuracy']:.3f}" if key in m else "n/a" for _, key in _REPORT_COLUMNS]
    gap = result.get("gap_closed")
    cells += [f"{labels['zero_shot_llm']:.1%} → {labels['freeal_final']:.1%}",
              "n/a" if gap is None else f"{gap:.0%}",
              f"{calls_per_text(fit, d['n_train']):.2f}",
              _minutes(fit["seconds"]), f"{fit['peak_rss_mib'] / 1024:.1f}"]
    return cells


def report_table(*sources):
    """The report table (issue 40): every report draw's comparison at FreeAL's defaults.

    A draw whose file is optional (``?path``) and not written yet is named
    below the table as not measured, never left out silently.
    """
    results = [r for r in sources if not isinstance(r, Missing)]
    missing = [_report_draw_name(r.path) for r in sources if isinstance(r, Missing)]
    if not results:
        return [f"Not measured yet: `python -m benchmarks.freeal --report` writes the result "
                f"files this table is rendered from (several hours on 2 cores)."]
    if any(r.get("role") != "report" for r in results):
        raise ValueError("the report table quotes report draws only, got a file with role "
                         f"{[r.get('role') for r in results if r.get('role') != 'report']}.")
    header = ["Data set (labels)", "Train/test", *(name for name, _ in _REPORT_COLUMNS),
              "FreeAL's labels", "Gap closed", "Calls per text", "FreeAL time", "Peak GiB"]
    rows = [_report_row(r) for r in results]
    gaps = [r["gap_closed"] for r in results if r.get("gap_closed") is not None]
    mean = sum(gaps) / len(gaps) if gaps else None
    llms = sorted({r["llm"] for r in results})
    revisions = sorted({_revision(r["machine"].get("git")) for r in results})
    states = sorted({r["cache"]["state"] for r in results})
    machine = results[0]["machine"]
    warm = [r for r in results if r["methods"]["freeal_slm"].get("llm_cache_hits")]
    llm_threads = re.search(r"n_threads=(\d+)", results[0]["settings"].get("labeler", ""))
    loads = [f"{(r['machine'].get('load_average_at_start') or [float('nan')])[0]:.1f}"
             for r in results]
    return [
        Table(header, rows),
        f"Gap closed, (FreeAL SLM - zero-shot LLM) / (gold SLM - zero-shot LLM), mean over the "
        f"{len(gaps)} of {len(results)} draws where the gold SLM beats the zero-shot LLM: "
        + ("n/a" if mean is None else f"**{mean:.0%}**") + ". "
        f"LLM: {', '.join(llms)}; FreeAL at its defaults "
        f"({results[0]['settings']['n_rounds']} rounds, {results[0]['settings']['n_demos']} "
        f"demonstrations); calls per text are FreeAL's requests (new or from the answer "
        f"cache) over its training texts; time "
        f"and peak memory are FreeAL's fit and predict. Report draws only: rows of the corpora "
        f"that no setting was chosen on, deduplicated against their test texts "
        f"(`benchmarks/datasets.py`). Command: `{_command(results[0])}` (revision "
        f"{', '.join(revisions)}, {machine['usable_cores']} cores, the LLM on "
        f"{llm_threads[1] + ' thread(s)' if llm_threads else 'every core'} and the student on "
        f"{machine.get('torch_threads')}, load average at the start of each draw "
        f"{', '.join(loads)}; {', '.join(states)} answer cache).",
        *([f"Time is understated where the answer cache was warm: "
           + ", ".join(f"{r['dataset']['name']} {_fit_cache_share(r)}" for r in warm)
           + " (answers kept in the cache by an interrupted earlier run of this benchmark; no time is "
           f"charged for them)."] if warm else []),
        *([f"Not measured yet: {', '.join(missing)} (`python -m benchmarks.freeal --report "
           f"--datasets {' '.join(missing)}`); the mean gap closed is over the measured draws "
           f"only."] if missing else []),
    ]


def _fit_cache_share(result):
    """FreeAL's requests answered from the cache, as "N of M requests"."""
    fit = result["methods"]["freeal_slm"]
    hits = fit.get("llm_cache_hits", 0)
    return f"{hits:,} of FreeAL's {hits + fit.get('llm_calls', 0):,} requests"


def _report_draw_name(path):
    """The data set of a report-table file's name, ``freeal-report-<name>-<llm>.json``."""
    stem = path.rsplit("/", 1)[-1].removeprefix("freeal-report-").removesuffix(".json")
    return stem.rsplit("-qwen", 1)[0]


_MANY_LABEL_COLUMNS = (("Zero-shot LLM", "zero_shot_llm"), ("FreeAL SLM", "freeal_slm"),
                       ("Gold SLM", "slm_gold"), ("Gold probe", "probe_gold"))


def _many_label_row(result):
    d, m = result["dataset"], result["methods"]
    demos = result["demos_per_label"]
    fit = m["freeal_slm"]
    cells = [f"{d['name']} ({d['n_labels']})", result["llm"], _role(result),
             f"{d['n_train']:,}/{d['n_test']:,}"]
    cells += [f"{m[key]['accuracy']:.3f}" if key in m else "n/a"
              for _, key in _MANY_LABEL_COLUMNS]
    cells += [" → ".join(f"{a:.1%}" for a in result["train_label_accuracy_by_round"]),
              f"{result['calls_per_text']:.2f}",
              f"{min(demos.values())}–{max(demos.values())}",
              str(sum(n == 0 for n in demos.values())),
              _minutes(fit["seconds"]), f"{fit['peak_rss_mib'] / 1024:.1f}"]
    return cells


def _labels_worsened(by_round):
    return by_round[-1] < by_round[0]


def _many_label_checks(results):
    """Which draws miss each of issue 41's marks, in words."""
    def named(failing):
        return ", ".join(f"{r['dataset']['name']} with {r['llm']}" for r in failing) or "none"

    without = [(r, [label for label, n in r["demos_per_label"].items() if n == 0])
               for r in results]
    return (
        "Draws with more than 2.0 calls per text: "
        + named([r for r in results if r["calls_per_text"] > 2.0])
        + ". Draws whose final training labels are worse than round 0's: "
        + named([r for r in results if _labels_worsened(r["train_label_accuracy_by_round"])])
        + ". Draws where FreeAL's SLM does not beat the zero-shot LLM: "
        + named([r for r in results
                 if _accuracy(r, "freeal_slm") <= _accuracy(r, "zero_shot_llm")])
        + ". Labels without demonstrations: "
        + ("; ".join(f"{r['dataset']['name']} with {r['llm']}: {_some_labels(labels)}"
                     for r, labels in without if labels) or "none")
        + "."
    )


def _some_labels(labels, shown=8):
    """Up to ``shown`` label names, then how many more (150 names would drown the table)."""
    text = ", ".join(f"``{label}``" for label in labels[:shown])
    return text + (f" and {len(labels) - shown} more" if len(labels) > shown else "")


def many_label_table(*results):
    """The many-label table (issue 41): FreeAL at 20 to 150 labels, per draw and LLM."""
    suites = {r.get("suite") for r in results}
    if suites != {"many_labels"}:
        raise ValueError("the many-label table quotes benchmarks.many_labels files only, got "
                         f"suites {sorted(map(str, suites))}.")
    header = ["Data set (labels)", "LLM", "Draw", "Train/test",
              *(name for name, _ in _MANY_LABEL_COLUMNS), "FreeAL's labels by round",
              "Calls per text", "Demos per label", "Labels without", "FreeAL time",
              "Peak GiB"]
    revisions = sorted({_revision(r["machine"].get("git")) for r in results})
    states = sorted({r["cache"]["state"] for r in results})
    commands = sorted({f"`{_command(r)}`" for r in results})
    machine = results[0]["machine"]
    loads = [f"{(r['machine'].get('load_average_at_start') or [float('nan')])[0]:.1f}"
             for r in results]
    return [
        Table(header, [_many_label_row(r) for r in results]),
        f"FreeAL with {results[0]['settings']['n_rounds']} rounds and "
        f"{results[0]['settings']['n_demos']} demonstrations per text; labels by round: the "
        "accuracy "
        "of FreeAL's labels of the training texts after each round, against their gold labels; "
        "calls per text: FreeAL's requests (new or from the answer cache, round 0's "
        "demonstration writing and filling included) over its training texts; demos per label: "
        "the fewest and most demonstrations of a label in FreeAL's final pool; time and peak "
        "memory: FreeAL's fit and predict. " + _many_label_checks(results)
        + f" Commands: {'; '.join(commands)} (revision {', '.join(revisions)}, "
        f"{machine['usable_cores']} cores, student on {machine.get('torch_threads')} thread(s), "
        f"load average at the start of each draw {', '.join(loads)}; {', '.join(states)} "
        "answer cache).",
    ]


_MULTILABEL_COLUMNS = (("Zero-shot LLM", "zero_shot_llm"), ("FreeAL SLM", "freeal_slm"),
                       ("Gold SLM", "slm_gold"))


def _multilabel_row(result):
    d, m = result["dataset"], result["methods"]
    fit = m["freeal_slm"]
    cells = [f"{d['key']} ({d['n_labels']})", result["llm"], _role(result),
             f"{d['n_train']:,}/{d['n_test']:,}"]
    cells += [f"{m[key]['micro_f1']:.3f}" for _, key in _MULTILABEL_COLUMNS]
    cells += [f"{m[key]['samples_f1']:.3f} / {m[key]['macro_f1']:.3f}"
              for _, key in _MULTILABEL_COLUMNS]
    cells += [" → ".join(f"{a:.3f}" for a in result["train_label_micro_f1_by_round"]),
              f"{result['calls_per_text']:.2f}", _minutes(fit["seconds"]),
              f"{fit['peak_rss_mib'] / 1024:.1f}"]
    return cells


def multilabel_table(*results):
    """The multi-label table (issue 37): texts of one to three single-label texts."""
    suites = {r.get("suite") for r in results}
    if suites != {"multilabel"}:
        raise ValueError("the multilabel table quotes benchmarks.multilabel files only, got "
                         f"suites {sorted(map(str, suites))}.")
    header = ["Data set (labels)", "LLM", "Draw", "Train/test",
              *(f"{name} micro F1" for name, _ in _MULTILABEL_COLUMNS),
              *(f"{name} samples / macro F1" for name, _ in _MULTILABEL_COLUMNS),
              "FreeAL's labels by round (micro F1)", "Calls per text", "FreeAL time",
              "Peak GiB"]
    below = ", ".join(f"{r['dataset']['key']} with {r['llm']}" for r in results
                      if r["methods"]["freeal_slm"]["micro_f1"]
                      <= r["methods"]["zero_shot_llm"]["micro_f1"]) or "none"
    revisions = sorted({_revision(r["machine"].get("git")) for r in results})
    commands = sorted({f"`{_command(r)}`" for r in results})
    parts = results[0]["dataset"]["parts"]["test"]
    return [
        Table(header, [_multilabel_row(r) for r in results]),
        "Each text joins one, two or three source texts of different labels (test texts of "
        f"{', '.join(f'{n} part(s): {c}' for n, c in parts.items())} in the first draw), its "
        "gold label set the union of theirs; MultiLabelFreeALClassifier at its defaults; "
        "labels by round: the micro F1 of FreeAL's labels of the training texts after each "
        "round, against their gold sets; calls per text: FreeAL's requests (new or from the "
        "answer cache) over its training texts; time and peak memory: FreeAL's fit and "
        "predict. Draws where FreeAL's SLM does not beat the zero-shot LLM in micro F1: "
        f"{below}. Commands: {'; '.join(commands)} (revision {', '.join(revisions)}).",
    ]


# -- how the defaults were chosen (docs/selection.rst, issue 40 item 4) ------------------

# The ablation's rows that decided a default: (the default, its row, the row without it,
# what the row without it does). Label accuracy of the training texts decided.
_CHOICES = (
    ("``constrained=True``: the answer is read from label scores", "scores", "today",
     "free-text answers (the loop before the levers)"),
    ('``calibration="batch"``', "calibration", "scores", "no calibration"),
    ("``fill_missing=True``", "fill", "calibration", "``fill_missing=False``"),
    ("the student's ``head_init``, ``n_steps``, ``max_length``", "student", "fill",
     "the former student (random head, 6 epochs, 64 tokens)"),
    ('``judge="probe"``', "judge", "student", "``judge=None`` (the student judges)"),
    ('``label_fusion="product"``', "judge_fusion", "judge", '``label_fusion="llm"``'),
    ("``n_rounds=2``", "judge_fusion", "rounds", "up to 4 rounds"),
)


def _dev_draw(name, n_train, n_test):
    """The registered dev draw of a result (``benchmarks.datasets.DEV_DRAWS``)."""
    from benchmarks.datasets import DEV_DRAWS

    for draw in DEV_DRAWS:
        if (draw.name, draw.n_train, draw.n_test, draw.options) == (name, n_train, n_test, ()):
            return draw
    raise ValueError(f"no dev draw {name} {n_train}/{n_test} in benchmarks.datasets.DEV_DRAWS; "
                     "a choice must rest on a registered dev draw.")


def ablation_choices(*results):
    """The defaults the ablation chose: each one's row against the row without it."""
    rows_of = [{row["row"]: row for row in r["rows"]} for r in results]
    header = ["Default", "Against"]
    for result in results:
        draw = _dev_draw(result["dataset"], result["n_train"], result["n_test"])
        header.append(f"{result['dataset']} labels (dev, seed {draw.random_state}, "
                      f"{draw.n_train:,}/{draw.n_test:,})")
    rows = []
    for default, with_key, without_key, without in _CHOICES:
        cells = [default, without]
        for by_key in rows_of:
            on, off = by_key[with_key], by_key[without_key]
            cells.append(f"{on['label_accuracy']:.3f} against {off['label_accuracy']:.3f} "
                         f"({on['revision']} / {off['revision']})")
        rows.append(cells)
    return [
        Table(header, rows),
        "Each cell: the accuracy of FreeAL's final training labels against the training "
        "texts' gold labels with the default, then without it; in brackets, the revisions "
        "those two ablation rows ran at. The test texts were measured, never used to "
        "choose. Files: "
        + ", ".join(f"``benchmarks/results/ablation-{r['dataset']}.json`` (last command "
                    f"``{r.get('command', '')}``, revision {_revision(r['machine'].get('git'))})"
                    for r in results)
        + f"; each row but the loop before the levers ran with {_ablation_demos()} "
        "demonstrations per text (``run_row`` in ``benchmarks/ablation.py``).",
    ]


def _ablation_demos():
    """The ablation's demonstrations per text: ``run_row``'s default, which its ``main``
    never overrides (its files do not record it)."""
    import inspect

    from benchmarks.ablation import run_row

    return str(inspect.signature(run_row).parameters["n_demos"].default)


def _gain_verdict(what, dev, report, se, unit):
    """One sentence: does the report draw's gain confirm the dev draw's?"""
    if dev is None or report is None:
        missing = "dev" if dev is None else "report"
        return (f"{what}: no figure on the {missing} draw (its gold SLM is not above its "
                "zero-shot LLM), so nothing to compare.")
    shown = f"{unit(report)} on the report draw against {unit(dev)} on the dev draw"
    if dev > 0 >= report:
        return f"{what}: **the report draw disagrees with the dev choice**: {shown}."
    if dev <= 0:
        return f"{what}: the dev draw showed no gain; {shown}."
    if report < dev - se:
        return (f"{what}: the report draw confirms a gain but **a smaller one**, {shown}, "
                f"more than one standard error ({unit(se, sign=False)}) below it.")
    return (f"{what}: the report draw confirms the dev gain, {shown} (not lower by more than "
            f"one standard error, {unit(se, sign=False)}).")


def _points(value, sign=True):
    return f"{value * 100:{'+' if sign else ''}.1f} points"


def _percent(value, sign=True):
    return f"{value * 100:{'+' if sign else ''}.0f}%"


def _round_settings(result):
    """A suite run's rounds and demonstrations (kNN peers: FreeAL's count before ``icl_demos``)."""
    s = result["settings"]
    return {"n_rounds": s["n_rounds"], "n_demos": s["n_demos"],
            "icl_demos": s.get("icl_demos", s["n_demos"])}


def _settings_text(result):
    s = _round_settings(result)
    return (f"{s['n_rounds']} rounds, {s['n_demos']} demonstrations, kNN peers "
            f"{s['icl_demos']}")


def _dev_vs_report_row(result):
    d, labels = result["dataset"], result["train_label_accuracy"]
    gap = result.get("gap_closed")
    return [d["key"], f"{_role(result)}, seed {d.get('seed', 'n/a')}, "
            f"{d['n_train']:,}/{d['n_test']:,}", _settings_text(result),
            f"{labels['zero_shot_llm']:.1%} → {labels['freeal_final']:.1%}",
            _points(labels["freeal_final"] - labels["zero_shot_llm"]),
            "n/a" if gap is None else f"{gap:.0%}",
            _revision(result["machine"].get("git"))]


def dev_vs_report(*results):
    """Per corpus, FreeAL's gains on the dev draw the defaults were chosen on and on its
    report draw: label accuracy before and after, gap closed, and whether the report
    draw confirms the dev gain."""
    by_key = {}
    for result in results:
        by_key.setdefault(result["dataset"]["key"], {})[_role(result)] = result
    incomplete = sorted(k for k, pair in by_key.items() if set(pair) != {"dev", "report"})
    if incomplete or len(results) != 2 * len(by_key):
        raise ValueError("dev-vs-report takes one dev and one report file per corpus, got "
                         f"{[(r['dataset']['key'], _role(r)) for r in results]}.")
    rows, verdicts = [], []
    for key, pair in by_key.items():
        dev, report = pair["dev"], pair["report"]
        rows += [_dev_vs_report_row(dev), _dev_vs_report_row(report)]
        verdicts.append(_corpus_verdict(key, dev, report))
    header = ["Corpus", "Draw", "Settings", "FreeAL's labels", "Label gain", "Gap closed",
              "Revision"]
    commands = sorted({f"``{_command(r)}``" for r in results})
    return [
        Table(header, rows), *verdicts,
        "Label gain: FreeAL's final training labels minus the zero-shot LLM's, both against "
        "the training texts' gold labels. Gap closed: (FreeAL SLM - zero-shot LLM) / (gold "
        "SLM - zero-shot LLM) on the test texts. One standard error is the report draw's, "
        "binomial: of its final label accuracy over its training texts, and of its FreeAL "
        "SLM's accuracy over its test texts divided by the gap. Commands: "
        + "; ".join(commands) + ".",
    ]


def _corpus_verdict(key, dev, report):
    ds, rs = _round_settings(dev), _round_settings(report)
    differ = [f"``{name}`` {ds[name]} on the dev draw, {rs[name]} on the report draw"
              for name in ds if ds[name] != rs[name]]
    settings = ("The two runs' settings differ: " + "; ".join(differ) + ". Each side is "
                "FreeAL as its run set it, so a difference mixes the draw with the setting."
                if differ else "Both runs used the same settings.")
    gains = []
    for result in (dev, report):
        labels = result["train_label_accuracy"]
        gains.append(labels["freeal_final"] - labels["zero_shot_llm"])
    rd, rm = report["dataset"], report["methods"]
    final = report["train_label_accuracy"]["freeal_final"]
    label_se = _standard_error(final, rd["n_train"])
    gold_gap = rm["slm_gold"]["accuracy"] - rm["zero_shot_llm"]["accuracy"]
    gap_se = (_standard_error(rm["freeal_slm"]["accuracy"], rd["n_test"]) / gold_gap
              if gold_gap > 0 else 0.0)
    return (f"**{key}.** {settings} "
            + _gain_verdict("FreeAL's label gain", *gains, label_se, _points) + " "
            + _gain_verdict("The student's gap closed", dev.get("gap_closed"),
                            report.get("gap_closed"), gap_se, _percent))


TEMPLATES = {"ablation-choices": ablation_choices, "demo": demo_paragraphs,
             "dev-vs-report": dev_vs_report, "freeal": freeal_paragraph,
             "freeal-vs-icl": freeal_vs_icl, "many-labels": many_label_table,
             "multilabel": multilabel_table, "report-table": report_table,
             "student-before-after": student_before_after, **CLAIM_TEMPLATES}


def main(argv=None):
    """``--write`` renders every block, ``--check`` (the default) reports the drifted ones."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.figures",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--write", action="store_true", help="render the blocks into the pages")
    args = parser.parse_args(argv)
    if args.write:
        for page in write():
            print(f"rendered {page.relative_to(ROOT)}")
    wrong, unsourced = check()
    for block in unsourced:
        print(f"{block.page.relative_to(ROOT)}: {block.template} block unsourced, missing "
              f"{', '.join(block.missing())}")
    for block, rendered in wrong:
        print(f"{block.page.relative_to(ROOT)}: {block.template} block differs from its "
              f"rendering:\n{rendered}")
    return 1 if wrong else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
