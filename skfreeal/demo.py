"""The README's main job: FreeAL on unlabelled tweets with the embedded models.

Run ``python -m skfreeal.demo`` (or ``skfreeal demo``). No API key, no
network: the packaged Qwen2.5-Coder-0.5B annotates, the packaged MiniLM
learns. It first times the models on this machine and prints the expected
run time, then the held-out accuracy of the zero-shot LLM, of the round's
judge after each round (the SLM's with ``judge=None``), of the final SLM, and
the time taken, with a progress bar for every long step.
Ctrl-C stops it; the LLM's answers are cached, so the same command resumes.
``--save-result FILE`` also writes the run as JSON (accuracies per round,
the final SLM's as ``final_slm_accuracy``, LLM calls, times, peak memory,
the revision and the machine): README's figures are rendered from it.
"""

import argparse
import json
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

__all__ = ["demo_record", "main", "run_demo"]

EXIT_INTERRUPTED = 130
# Texts the student is timed on before the run (two epochs).
_STUDENT_PROBE_TEXTS = 64


def run_demo(*, n_train=1000, n_test=500, n_rounds=2, n_demos=4, random_state=0,
             labeler=None, slm=None, model=None, out=print):
    """Run FreeAL on tweets and report accuracies.

    Parameters
    ----------
    n_train : int, default=1000
        Unlabelled training tweets.
    n_test : int, default=500
        Held-out tweets with gold labels, for the printed accuracies.
    n_rounds : int, default=2
        FreeAL rounds.
    n_demos : int, default=4
        In-context demonstrations per text (the local 0.5B model reads
        about 300 prompt tokens a second on 2 cores, so prompts are kept
        short).
    random_state : int, default=0
    labeler, slm : estimators, default=None
        Override the embedded LLM or SLM.
    model : str, default=None
        The packaged local LLM to use when ``labeler`` is None (see
        :class:`~skfreeal.labelers.LocalLabeler`); None: its default.
    out : callable, default=print
        Where the report lines go (progress goes to stderr).

    Returns
    -------
    result : dict
        ``zero_shot_accuracy`` (and its ``zero_shot_seconds``,
        ``zero_shot_abstentions``), ``history`` (the fit's ``history_``, as dicts),
        ``student`` (its ``student_record_`` as a dict, None when the student judged),
        ``train_label_accuracy`` (of the labels after each round),
        ``final_slm_accuracy``, ``llm_calls`` (the fit's), ``n_over_budget``
        (annotations the request budget left out, the fit's
        ``n_over_budget_``), ``seconds``,
        ``expected_seconds`` (None when not measured) and ``dataset``.
    """
    from . import DemoPolicy, FreeALClassifier, RoundPolicy
    from .loop._components import make_labeler, pass_verbose
    from .datasets import load_tweets
    from .labelers import LocalLabeler

    start = time.perf_counter()
    data = load_tweets(n_train=n_train, n_test=n_test, random_state=random_state)
    out(f"FreeAL demo: {len(data.X_train)} unlabelled tweets, {len(data.X_test)} held-out "
        f"tweets with gold labels, labels {data.label_names}")
    if labeler is None:
        labeler = LocalLabeler() if model is None else LocalLabeler(model)
    clf = FreeALClassifier(
        data.label_names, data.task, labeler=labeler, slm=slm, rounds=RoundPolicy(n_rounds),
        demos=DemoPolicy(n_demos), random_state=random_state, verbose=2,
    )
    zero_shot = pass_verbose(make_labeler(labeler, data.label_names, data.task), clf.verbose)
    expected = _expected_seconds(clf, zero_shot, data, out)

    zero_shot_acc, zero_shot_seconds, abstentions = _zero_shot(zero_shot, data, out, start)
    del zero_shot  # its model: the fit loads its own

    clf.fit(data.X_train, eval_set=(data.X_test, data.y_test))
    judged_by = "SLM" if clf.judge_ is None else "judge"  # the probe judges the rounds
    label_accuracy = _report_rounds(clf, data.y_train, judged_by, out)
    seconds = time.perf_counter() - start
    guess = "" if expected is None else f" (expected {expected / 60:.1f})"
    final = float(clf.score(data.X_test, data.y_test))
    out(f"final SLM held-out accuracy: {final:.3f}; "
        f"LLM calls {clf.usage_['calls']}; total {seconds / 60:.1f} min{guess}")
    return {"zero_shot_accuracy": zero_shot_acc, "zero_shot_seconds": zero_shot_seconds,
            "zero_shot_abstentions": abstentions,
            "history": [dict(h) for h in clf.history_],
            "student": None if clf.student_record_ is None else dict(clf.student_record_),
            "train_label_accuracy": label_accuracy, "final_slm_accuracy": final,
            "judged_by": judged_by, "llm_calls": int(clf.usage_["calls"]),
            "n_over_budget": int(clf.n_over_budget_), "seconds": seconds,
            "expected_seconds": expected,
            "dataset": {"name": data.name, "n_train": len(data.X_train),
                        "n_test": len(data.X_test), "seed": random_state,
                        "label_names": list(data.label_names),
                        "duplicates": dict(data.duplicates)}}


def _zero_shot(labeler, data, out, start):
    """Annotate the held-out tweets with ``labeler`` and print its accuracy.

    Returns the accuracy, the seconds the annotation took and the number of
    abstentions (which count as wrong).
    """
    from ._progress import progress_stage

    zero_shot_start = time.perf_counter()
    with progress_stage("zero-shot LLM, held-out tweets"):
        ids, _ = labeler.annotate(data.X_test)
    seconds = time.perf_counter() - zero_shot_start
    names = np.array(data.label_names + [None], dtype=object)[ids]
    accuracy = float(np.mean(names == data.y_test))
    out(f"zero-shot LLM accuracy on held-out tweets: {accuracy:.3f} "
        f"({int(np.sum(ids < 0))} abstentions)  [{time.perf_counter() - start:.0f} s]")
    return accuracy, seconds, int(np.sum(ids < 0))


def _report_rounds(clf, y_train, judged_by, out):
    """Print each round of the fitted ``clf``; return its labels' accuracy on ``y_train``."""
    from .loop._records import over_budget_summary

    label_accuracy = []
    for record in clf.history_:
        llm_acc = float(np.mean(
            clf.classes_[np.maximum(clf.round_labels_[record["round"]], 0)] == y_train
        ))
        label_accuracy.append(llm_acc)
        out(f"round {record['round']}: LLM labels {record['n_annotated']} texts "
            f"(train-label accuracy {llm_acc:.3f}, {record['n_changed']} changed), "
            f"clean {record['clean_fraction']:.2f}, {judged_by} held-out accuracy "
            f"{record['eval_accuracy']:.3f}  [{record['seconds']:.0f} s]")
    if clf.student_record_ is not None:  # with a judge: the SLM trains once, on the final labels
        out(f"SLM trained on the final labels  [{clf.student_record_.seconds:.0f} s]")
    over = over_budget_summary(clf)
    if over is not None:
        out(over)
    return label_accuracy


def demo_record(result, *, settings, command):
    """The JSON record of a demo run: its result plus revision, machine and peak memory.

    Parameters
    ----------
    result : dict
        What :func:`run_demo` returned.
    settings : dict
        The run's options (sizes, rounds, demonstrations, model, seed).
    command : str
        The command line.

    Returns
    -------
    record : dict
        JSON-ready; ``role`` is ``"dev"``: the demo's tweets are a dev draw
        (``benchmarks/datasets.py`` lists them), whatever its sizes.
    """
    from .provenance import git_revision, machine, peak_rss_mib

    return json.loads(json.dumps({
        "suite": "demo", "role": "dev", "dataset": result["dataset"], "settings": settings,
        **{k: v for k, v in result.items() if k != "dataset"},
        "peak_rss_mib": peak_rss_mib(), "revision": git_revision(), "machine": machine(),
        "command": command,
        "finished_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }, default=_jsonable))


def _jsonable(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def _expected_seconds(clf, labeler, data, out):
    """Time the LLM and the student on this machine; print and return the run's expected time.

    Only a local LLM is timed (a hosted one's time depends on its server).
    Cached answers make the run faster than expected.
    """
    from .loop._estimate import expected_llm_seconds
    from .labelers import LocalLabeler
    from .labelers._speed import measure_speed

    if not isinstance(labeler, LocalLabeler):
        return None
    out("timing this machine: a few LLM requests, then the student for two epochs on "
        f"{min(_STUDENT_PROBE_TEXTS, len(data.X_train))} tweets")
    speed = measure_speed(labeler, data.X_train, n_demos=clf.demos.n_demos)
    fit = clf.estimate(data.X_train, measure_speed=False)
    n_generated = clf.demos.n_generated_for(
        n_classes=len(data.label_names),
        n_first_round=clf.rounds.first_round_size(len(data.X_train)))
    llm = expected_llm_seconds(speed, annotations=0, zero_shot=len(data.X_test))
    llm += expected_llm_seconds(
        speed, annotations=sum(fit["calls_per_round"]),
        writes=fit["generation_calls"] - n_generated, checks=n_generated)
    student = _student_seconds(clf, data)
    total = llm + student
    finish = time.strftime("%H:%M", time.localtime(time.time() + total))
    out(f"this machine: {speed['annotation_seconds']:.2f} s per LLM labelling request, "
        f"{speed['prompt_tokens_per_second']:,.0f} prompt tokens/s; expected run time about "
        f"{total / 60:.0f} min (LLM {llm / 60:.0f} min, student {student / 60:.0f} min), done "
        f"around {finish}; longer while other programs use the cores, shorter with answers "
        "already cached")
    return total


def _student_seconds(clf, data):
    """Expected seconds of all the student's trainings, from two epochs timed on a few tweets.

    One warm-up and one robust epoch are timed; each training (one per
    round with ``judge=None``, else one after the last round) runs
    ``max_epochs`` epochs (``warmup_epochs`` of them warm-up) on every
    training text and predicts the training and held-out texts (and embeds
    the training texts) once. A probe judge's training is negligible.
    """
    from sklearn.base import clone

    from ._console import quiet_transformers
    from ._progress import progress_timer
    from .slm import RobustTextClassifier

    student = clf.slm if clf.slm is not None else RobustTextClassifier()
    params = student.get_params(deep=False)
    warmup = params.get("warmup_epochs", 1)
    probe = clone(student)
    probe_params = {k: v for k, v in (("max_epochs", 2), ("warmup_epochs", 1), ("verbose", 0),
                                      ("random_state", 0)) if k in params}
    probe.set_params(**probe_params)
    texts = data.X_train[:_STUDENT_PROBE_TEXTS]
    y = np.arange(len(texts)) % len(data.label_names)
    begin = time.perf_counter()
    with quiet_transformers(), progress_timer("timing the student", verbose=clf.verbose):
        probe.fit(texts, y)
    fit_seconds = time.perf_counter() - begin
    begin = time.perf_counter()
    probe.predict_proba(texts)
    infer = (time.perf_counter() - begin) / len(texts)
    history = getattr(probe, "history_", None) or []
    per_epoch = [h.get("seconds", np.nan) for h in history]
    if len(per_epoch) == 2 and np.all(np.isfinite(per_epoch)):
        warm_s, robust_s = per_epoch
    else:  # a student without per-epoch times: the fit's time evenly
        warm_s = robust_s = fit_seconds / 2
    epochs = _planned_epochs(params, len(data.X_train), getattr(probe, "max_length_", 64))
    warm = min(warmup, epochs)
    per_text = (warm * warm_s + (epochs - warm) * robust_s) / len(texts)
    n_train, n_test = len(data.X_train), len(data.X_test)
    per_round = n_train * per_text + (2 * n_train + n_test) * infer
    trainings = clf.rounds.n_rounds if clf.judge is None else 1
    return trainings * per_round + n_train * infer  # the retrieval embedding, once


def _planned_epochs(params, n_train, max_length):
    """Epochs a student with these parameters trains on ``n_train`` texts.

    ``max_epochs`` when it is a number, else the automatic schedule of
    :class:`~skfreeal.RobustTextClassifier` (``n_steps``, whole epochs).
    """
    from .slm._schedule import auto_n_steps, plan_epochs

    epochs = params.get("max_epochs", 6)
    if isinstance(epochs, (int, np.integer)):
        return int(epochs)
    batch_size = params.get("batch_size", 32)
    n_steps = params.get("n_steps", "auto")
    if not isinstance(n_steps, (int, np.integer)):
        n_steps = auto_n_steps(n_train, batch_size=batch_size, max_length=max_length)
    return plan_epochs(n_steps, n_labelled=n_train, n_samples=n_train, batch_size=batch_size,
                       warmup_epochs=params.get("warmup_epochs", 1))


def main(argv=None):
    """Command-line entry point of the demo; returns the exit status.

    Warnings show as one line each; Ctrl-C ends with status 130 and one
    line (the answers received so far are cached: the same command resumes).
    """
    from ._console import readable_warnings, write_line
    from .labelers import LlamaBuildError

    parser = argparse.ArgumentParser(prog="python -m skfreeal.demo", description=__doc__)
    parser.add_argument("--n-train", type=int, default=1000)
    parser.add_argument("--n-test", type=int, default=500)
    parser.add_argument("--n-rounds", type=int, default=2)
    parser.add_argument("--n-demos", type=int, default=4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--model", default=None,
                        help="packaged local LLM (default qwen2.5-coder-0.5b; smollm2-135m is "
                        "tiny and fast, for trying the demo out)")
    parser.add_argument("--save-result", metavar="FILE", default=None,
                        help="also write the run as JSON to FILE (accuracies per round, "
                        "final_slm_accuracy, LLM calls, times, peak memory, revision, machine)")
    args = parser.parse_args(argv)
    settings = {"n_train": args.n_train, "n_test": args.n_test, "n_rounds": args.n_rounds,
                "n_demos": args.n_demos, "random_state": args.seed, "model": args.model}
    try:
        with readable_warnings("skfreeal demo: "):
            result = run_demo(n_train=args.n_train, n_test=args.n_test, n_rounds=args.n_rounds,
                              n_demos=args.n_demos, random_state=args.seed, model=args.model,
                              out=_print_flushed)
    except LlamaBuildError as exc:  # a build that would crash: the fix, not a traceback
        write_line(f"skfreeal demo: {exc}")
        return 1
    except KeyboardInterrupt:
        write_line("\nskfreeal demo: interrupted; the LLM answers received so far are cached, "
                   "so the same command resumes from them")
        return EXIT_INTERRUPTED
    if args.save_result:
        words = sys.argv[1:] if argv is None else list(argv)
        record = demo_record(result, settings=settings,
                             command=" ".join(["python -m skfreeal.demo", *words]))
        path = Path(args.save_result)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(record, indent=1) + "\n")
        write_line(f"skfreeal demo: wrote {path}")
    return 0


def _print_flushed(line):
    print(line, flush=True)  # in step with the progress on stderr, also through a pipe


if __name__ == "__main__":  # pragma: no cover
    status = main()
    sys.stdout.flush()
    sys.stderr.flush()
    raise SystemExit(status)
