"""Multi-label FreeAL (issue 37, item 5): texts of one to three single-label texts.

No packaged corpus gives a text several labels, so the texts are made from
single-label ones, honestly: each text of a draw joins one, two or three
source texts of *different* labels (a third of the texts each, :data:`MIX`),
and its gold label set is the union of theirs. A source text is used once;
training texts come from the draw's training rows, test texts from its test
rows, so no source text is in both. The parts end as sentences (a full stop
where a part has no end mark) and are joined by a space: nothing marks how
many parts a text has but its sentences.

The draws are the ``"multilabel"`` table's of :mod:`benchmarks.datasets`
(their sizes are the source rows; the texts are half as many): a dev draw of
Yahoo! Answers' questions cut to 100 characters (the rows of the 1,000/500
dev draw: 500/250 texts), and report draws of StackOverflow's 20 tags and of
new Yahoo! rows (1,000/500 texts each). Rows, each with micro, samples and
macro F1 on the test texts, wall and CPU seconds and peak RSS:

=================  ========================================================
``zero_shot_llm``  the LLM labels the test texts' label sets, no demonstration
``freeal_slm``     ``MultiLabelFreeALClassifier.fit(X_train)`` at its
                   defaults, its student on the test texts
``slm_gold``       the student trained on the gold label sets (bound)
=================  ========================================================

Each file also has ``calls_per_text`` (FreeAL's requests, new or from the
answer cache, over its training texts) and the micro F1 of FreeAL's training
labels after each round. Files: ``benchmarks/results/multilabel-<mode>-<data
set>-<llm>.json``; ``benchmarks.figures``' ``multilabel`` template quotes
them. Run ``python -m benchmarks.multilabel`` (dev draw), ``--report``
(report draws), ``--quick`` (50/10 Yahoo texts, a smoke test), ``--estimate``
(FreeAL's own estimate of each fit, no run).
"""

import time
import warnings
from dataclasses import dataclass, field

import numpy as np

from ._common import machine_info, measure, usage_of, write_result
from .datasets import Draw, dataset_info, table_draws
from .freeal import LLMS, Components, add_run_options, cache_state, calls_per_text, student_clone
from .freeal import PRESETS as FREEAL_PRESETS
from .many_labels import run_table_command, table_parser

__all__ = ["MIX", "PRESETS", "QUICK_DRAW", "MultiLabelData", "compose", "draws",
           "estimate_draws", "f1_scores", "main", "run_draw_multilabel", "run_multilabel"]

TABLE = "multilabel"
# shares of the texts made of 1, 2 and 3 source texts
MIX = (1 / 3, 1 / 3, 1 / 3)
# the task in words for label sets (the loaders' tasks ask for one label)
TASKS = {"stackoverflow": "Tag the Stack Overflow question titles with every technology they "
                          "are about.",
         "yahoo": "Tag the Yahoo! Answers questions with every topic they are about."}
# the smoke test's draw: rows of the registered yahoo 100/20 dev draw (50/10 texts)
QUICK_DRAW = Draw("yahoo", 100, 20, options=(("max_chars", 100),))
PRESETS = {
    "quick": {"role": "dev", "slm_params": FREEAL_PRESETS["quick"]["slm_params"]},
    "dev": {"role": "dev", "slm_params": {}},
    "report": {"role": "report", "slm_params": {}},
}
ROWS = ("zero_shot_llm", "freeal_slm", "slm_gold")


@dataclass
class MultiLabelData:
    """Texts of one to three source texts, their gold label sets and where they came from."""

    name: str
    task: str
    label_names: list
    X_train: list
    Y_train: list
    X_test: list
    Y_test: list
    role: str
    source: object
    parts: dict = field(default_factory=dict)
    rows: dict = field(default_factory=dict)


def _sentence(text):
    text = " ".join(str(text).split())
    return text if text.endswith((".", "?", "!")) else text + "."


def _compose_split(texts, labels, mix, rng):
    """Texts of 1 to ``len(mix)`` source texts of distinct labels, each source used once."""
    labels = np.asarray(labels, dtype=object)
    mean_parts = sum((k + 1) * share for k, share in enumerate(mix))
    n = int(len(texts) // mean_parts)
    counts = np.floor(np.asarray(mix) * n).astype(int)
    counts[0] += n - counts.sum()
    sizes = rng.permutation(np.repeat(np.arange(1, len(mix) + 1), counts))
    queues = {c: list(rng.permutation(np.flatnonzero(labels == c))) for c in sorted(set(labels))}
    out_texts, out_sets, out_rows = [], [], []
    for k in sizes:
        left = [c for c in queues if queues[c]]
        # labels drawn in proportion to their rows left, so that every row is used
        weights = np.array([len(queues[c]) for c in left], dtype=float)
        k = min(int(k), len(left))  # the last texts may find fewer labels left
        chosen = rng.choice(len(left), k, replace=False, p=weights / weights.sum())
        rows = [queues[left[i]].pop() for i in chosen]
        out_texts.append(" ".join(_sentence(texts[r]) for r in rows))
        out_sets.append(tuple(sorted({labels[r] for r in rows})))
        out_rows.append([int(r) for r in rows])
    return out_texts, out_sets, out_rows


def compose(data, key, *, mix=MIX, random_state=0):
    """A draw's texts of one to three of its source texts with distinct labels.

    Parameters
    ----------
    data : skfreeal.datasets.TextDataset
        The draw (single-label).
    key : str
        Its key in :data:`benchmarks.datasets.LOADERS` (the task's words, :data:`TASKS`).
    mix : tuple of float, default=MIX
        Shares of the texts made of 1, 2, ... source texts.
    random_state : int, default=0

    Returns
    -------
    data : MultiLabelData
        As many texts as the source rows allow (``n_rows / mean parts``);
        ``parts`` counts the texts of each number of parts per split;
        ``rows`` holds each text's source rows (indices into the draw's
        training or test texts), in the order they are joined.
    """
    rng = np.random.RandomState(random_state)
    X_train, Y_train, rows_train = _compose_split(data.X_train, data.y_train, mix, rng)
    X_test, Y_test, rows_test = _compose_split(data.X_test, data.y_test, mix, rng)

    def parts(sets):
        return {str(k): int(sum(len(s) == k for s in sets)) for k in range(1, len(mix) + 1)}

    order = list(data.label_names)
    return MultiLabelData(
        name=key, task=TASKS[key], label_names=order,
        X_train=X_train, Y_train=[tuple(sorted(s, key=order.index)) for s in Y_train],
        X_test=X_test, Y_test=[tuple(sorted(s, key=order.index)) for s in Y_test],
        role=data.role, source=data, parts={"train": parts(Y_train), "test": parts(Y_test)},
        rows={"train": rows_train, "test": rows_test})


def draws(mode):
    """The draws of a mode (``"quick"``, ``"dev"`` or ``"report"``), as registered Draws."""
    if mode not in PRESETS:
        raise ValueError(f"mode must be one of {list(PRESETS)}, got {mode!r}.")
    if mode == "quick":
        return [QUICK_DRAW]
    return table_draws(TABLE, PRESETS[mode]["role"])


def f1_scores(gold, pred):
    """Micro, samples and macro F1 of indicator rows (an unknown row counts as no label)."""
    from sklearn.metrics import f1_score

    pred = np.where(np.asarray(pred) < 0, 0, np.asarray(pred))
    return {f"{avg}_f1": float(f1_score(gold, pred, average=avg, zero_division=0))
            for avg in ("micro", "samples", "macro")}


def _row(step, gold, pred, **extra):
    pred = np.asarray(pred)
    return {**f1_scores(gold, pred), "labels_per_text": float(np.clip(pred, 0, 1).sum(1).mean()),
            **step, **extra}


def run_draw_multilabel(data, llm, *, components, random_state=0, tick=None):
    """The three rows of one composed draw with one LLM.

    Parameters
    ----------
    data : MultiLabelData
    llm : str
    components : Components
        Prototypes of the labeler, the student and the embedder (cloned).
    random_state : int, default=0
    tick : callable, default=None

    Returns
    -------
    result : dict
        ``methods``, ``train_label_micro_f1_by_round``, ``calls_per_text``
        and the cache state.
    """
    from sklearn.base import clone

    from skfreeal import MultiLabelFreeALClassifier
    from skfreeal.labels import MultiLabelSpace

    tick = tick or (lambda name: None)
    labeler, slm, embedder = components.resolved(llm)
    space = MultiLabelSpace(data.label_names)
    gold_train = space.encode(data.Y_train, len(data.X_train))
    gold_test = space.encode(data.Y_test, len(data.X_test))
    methods = {}

    llm_clf = clone(labeler).set_params(labels=space, task=data.task)
    with measure(llm_clf) as step:
        pred, _ = llm_clf.annotate(list(data.X_test))
    methods["zero_shot_llm"] = _row(step, gold_test, np.asarray(pred).reshape(gold_test.shape))
    tick("zero-shot LLM")

    clf = MultiLabelFreeALClassifier(
        data.label_names, data.task, labeler=labeler, embedder=embedder,
        slm=student_clone(slm, robust=True, random_state=random_state), random_state=random_state)
    with measure() as step, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        clf.fit(data.X_train, eval_set=(data.X_test, data.Y_test))
        pred = clf.predict(data.X_test)
    step.update({f"llm_{k}": int(v) for k, v in usage_of(clf.labeler_).items()})
    methods["freeal_slm"] = _row(step, gold_test, pred, n_rounds_run=clf.n_rounds_,
                                 stop_reason=clf.stop_reason_)
    tick("FreeAL")

    with measure() as step:
        gold_model = student_clone(slm, robust=False, random_state=random_state)
        gold_model.fit(data.X_train, gold_train)
        pred = space.from_proba(gold_model.predict_proba(data.X_test))[0]
    methods["slm_gold"] = _row(step, gold_test, pred, labels_from="gold")
    tick("SLM on gold labels")

    return {
        "methods": methods,
        # round_labels_: one indicator matrix a round, (n_rounds, n_texts, n_labels)
        "train_label_micro_f1_by_round": [
            f1_scores(gold_train, labels)["micro_f1"] for labels in clf.round_labels_],
        "calls_per_text": calls_per_text(methods["freeal_slm"], len(data.X_train)),
        "freeal_warnings": sorted({str(w.message) for w in caught}),
        "cache": cache_state(methods),
    }


def _dataset_record(data, draw):
    source = data.source
    return {**dataset_info(source, key=draw.name, seed=draw.random_state,
                           options=dict(draw.options)),
            "n_train": len(data.X_train), "n_test": len(data.X_test),
            "source_rows": {"n_train": len(source.X_train), "n_test": len(source.X_test)},
            "n_labels": len(data.label_names), "label_names": data.label_names,
            "task": data.task, "parts": data.parts, "mix": list(MIX),
            "gold_labels_per_text": float(np.mean([len(s) for s in data.Y_test]))}


def run_multilabel(*, mode="dev", llms=None, random_state=0, llm_threads=None, components=None,
                   results_dir=None, command=None, tick=None):
    """Run the multi-label table's draws with each LLM; write one JSON file per pair.

    Parameters
    ----------
    mode : {"quick", "dev", "report"}, default="dev"
    llms : list of str, default=None
        Local LLM names (None: the default 0.5B model).
    random_state : int, default=0
        Seed of the composition, FreeAL and the students.
    llm_threads : int or None, default=None
    components : Components, default=None
        Replace the packaged labeler, student or embedder (tests use fast ones).
    results_dir : str or Path, default=None
    command : str, default=None
    tick : callable, default=None

    Returns
    -------
    paths : list of Path
    """
    preset = PRESETS[mode]
    components = components or Components(slm_params=preset["slm_params"],
                                          llm_params={"n_threads": llm_threads})
    machine = machine_info()
    paths = []
    for draw in draws(mode):
        data = compose(draw.load(), draw.name, random_state=random_state)
        for llm in llms or LLMS[:1]:
            start, cpu = time.perf_counter(), time.process_time()
            result = run_draw_multilabel(data, llm, components=components,
                                         random_state=random_state, tick=tick)
            labeler, slm, embedder = components.resolved(llm)
            result.update({
                "suite": "multilabel", "mode": mode, "llm": llm, "role": data.role,
                "dataset": _dataset_record(data, draw),
                "settings": {"freeal": "MultiLabelFreeALClassifier defaults",
                             "random_state": random_state,
                             "slm_params": components.slm_params, "labeler": repr(labeler),
                             "slm": repr(slm), "embedder": repr(embedder)},
                "machine": machine,
                "total_seconds": round(time.perf_counter() - start, 1),
                "total_cpu_seconds": round(time.process_time() - cpu, 1),
            })
            if command is not None:
                result["command"] = command
            paths.append(write_result(result, f"multilabel-{mode}-{draw.name}-{llm}",
                                      results_dir=results_dir))
    return paths


def estimate_draws(*, mode="dev", llms=None, measure_speed=False, random_state=0):
    """FreeAL's own estimate of each draw's fit, and the run's zero-shot requests.

    No request is made unless ``measure_speed`` (then a few per LLM).

    Returns
    -------
    rows : list of dict
        ``dataset``, ``llm``, ``n_labels``, ``n_train``, ``fit`` (the
        estimate) and ``zero_shot_calls`` (the test texts).
    """
    from skfreeal import MultiLabelFreeALClassifier
    from skfreeal.labelers import LocalLabeler

    out = []
    for draw in draws(mode):
        data = compose(draw.load(), draw.name, random_state=random_state)
        for llm in llms or LLMS[:1]:
            clf = MultiLabelFreeALClassifier(data.label_names, data.task,
                                             labeler=LocalLabeler(model=llm))
            out.append({"dataset": draw.name, "llm": llm, "n_labels": len(data.label_names),
                        "n_train": len(data.X_train),
                        "fit": clf.estimate(data.X_train, measure_speed=measure_speed),
                        "zero_shot_calls": len(data.X_test)})
    return out


def build_parser(prog="python -m benchmarks.multilabel"):
    """Command-line options of the multi-label benchmark."""
    parser = table_parser(prog, __doc__.split("\n")[0], quick="50/10 Yahoo texts, a smoke test")
    return add_run_options(parser)


def main(argv=None):
    """Run the multi-label benchmark (or its estimate) from the command line."""
    return run_table_command(
        argv, build_parser(), "python -m benchmarks.multilabel",
        estimate=lambda args, mode: estimate_draws(
            mode=mode, llms=args.llms, measure_speed=args.measure_speed,
            random_state=args.seed),
        run=lambda args, mode, command, tick: run_multilabel(
            mode=mode, llms=args.llms, random_state=args.seed,
            llm_threads=args.llm_threads, command=command, tick=tick))


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
