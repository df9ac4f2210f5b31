"""``skfreeal label`` (run FreeAL on a table) and ``skfreeal estimate`` (its dry run)."""

import contextlib
import json
import logging
import time
from pathlib import Path

import click
import numpy as np

from ._data import load_text_table
from ._errors import CLIError, user_errors
from ._multilabel import (
    check_multi_label,
    gold_label_sets,
    gold_scores,
    label_set_columns,
    multi_label_options,
)
from ._options import (
    build_classifier,
    check_endpoint,
    check_new_columns,
    describe_endpoint,
    collect,
    estimator_verbose,
    llm_options,
    output_options,
    progress_enabled,
    run_options,
    setup_logging,
    table_options,
    task_options,
)

__all__ = ["label", "estimate", "OUTPUT_COLUMNS"]

logger = logging.getLogger("skfreeal")

#: Columns ``label`` appends to the input rows (after ``--prefix``).
OUTPUT_COLUMNS = ("label", "confidence", "clean", "round")


@click.command()
@table_options
@task_options
@llm_options
@output_options(OUTPUT_COLUMNS)
@click.option("--save-model", "model_path", type=click.Path(dir_okay=False), default=None,
              help="Save the fitted classifier here (joblib), for 'skfreeal predict'.")
@click.option("--report", "report_path", type=click.Path(dir_okay=False), default=None,
              help="Write a self-contained HTML report of the run here.")
@click.option("--gold-column", default=None,
              help="A column of known labels, used only to measure accuracy (report and log).")
@click.option("--export-model", "export_dir", type=click.Path(file_okay=False), default=None,
              help="Write the small model here as a transformers model folder, for serving "
              "without skfreeal: pipeline('text-classification', model=DIR, "
              "trust_remote_code=True) predicts what 'skfreeal predict' would. With "
              "--multi-label its scores (top_k=None) are each label's sigmoid, and a text "
              "carries the labels whose score reaches DIR/config.json's thresholds (at "
              "least min_labels, its best ones).")
@click.option("--export-onnx", is_flag=True,
              help="With --export-model: also write DIR/onnx/model.onnx (float32) and "
              "DIR/onnx/model_int8.onnx (int8 weights), for onnxruntime; they output "
              "logits (softmax them, or with --multi-label apply a sigmoid and the "
              "thresholds). Needs the export extra: pip install 'skfreeal[export]'.")
@multi_label_options
@run_options
def label(**kwargs):
    """Label the texts of INPUT with FreeAL and write them with their labels.

    Every row of INPUT is written to --out with four more columns: label (empty
    where the LLM never gave a usable answer), confidence (the LLM's),
    clean (whether the small model judged the label clean) and round (the
    round that set the label). Empty texts stop the run unless --skip-empty;
    duplicate texts are labelled once. Nothing is written unless the whole run
    succeeds; after Ctrl-C the same command resumes from the LLM cache.

    With --multi-label a text carries any of the labels (at least one): the
    label column joins them with --label-separator (billing;login), and a
    confidence_<label> column per label follows the four. The small model
    then learns label sets (one sigmoid per label); --slm, --slm-epochs,
    --save-model and --export-model work as for one label a text.
    """
    opts = collect(kwargs)
    setup_logging(quiet=opts.quiet, verbose=opts.verbose)
    new_columns = [opts.prefix + name for name in OUTPUT_COLUMNS]
    if opts.multi_label:
        new_columns += label_set_columns(opts.labels, opts.prefix)
    with user_errors("label"):
        check_multi_label(opts)
        _check_outputs(opts)
        data = load_text_table(
            opts.input_path, opts.text_column, encoding=opts.encoding,
            skip_empty=opts.skip_empty, gold_column=opts.gold_column,
        )
        check_new_columns(opts.input_path, data.columns, new_columns)
        clf = build_classifier(opts, verbose=estimator_verbose(opts.quiet))
    if opts.llm == "openai":
        check_endpoint(opts.base_url)
        logger.info("LLM: model %r at %s%s", opts.model, describe_endpoint(opts.base_url),
                    ", through its Batch API" if opts.batch else "")

    logger.info(
        "labelling %d distinct texts from %s into %s", len(data.texts), opts.input_path,
        ", ".join(opts.labels),
    )
    separator = opts.label_separator if opts.multi_label else None
    start = time.perf_counter()
    with user_errors("fit"), _progress_logging(opts.quiet):
        clf.fit(data.texts, eval_set=_gold_eval_set(data, opts.labels, separator))
        slm_pred = clf.predict(data.texts) if (opts.report_path or data.gold) else None
    seconds = time.perf_counter() - start

    out_rows = _labelled_rows(data, clf, new_columns, separator)
    report_html = None
    if opts.report_path:
        from ..report import build_report

        gold = data.gold
        if separator is not None and gold is not None:  # label sets; None for a foreign one
            gold = gold_label_sets(gold, opts.labels, separator)
        report_html = build_report(
            clf, data.texts, gold=gold, slm_pred=slm_pred,
            meta=_report_meta(opts, data, seconds, clf),
        )
    with user_errors("writing the outputs"):  # a table that cannot be stored: one line, exit 2
        _write_outputs(opts, data.columns + new_columns, out_rows, clf, report_html)
    if opts.export_dir:
        with user_errors("--export-model"):
            from ..export import export_student

            export_student(clf, opts.export_dir, onnx=opts.export_onnx,
                           quantize=opts.export_onnx)
        logger.info("wrote the small model to %s%s", opts.export_dir,
                    " (with onnx/model.onnx and onnx/model_int8.onnx)" if opts.export_onnx else "")
    _log_summary(clf, data, seconds, slm_pred, separator)


@click.command()
@table_options
@task_options
@llm_options
@click.option(
    "--noisy-fraction", type=click.FloatRange(0, 1), default=0.25, show_default=True,
    help="Assumed fraction of texts judged noisy each round (re-annotated in the next); min "
    "and max calls bound the real value.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the estimate as one JSON object.")
@multi_label_options
@run_options
def estimate(**kwargs):
    """Estimate what 'skfreeal label' would cost on INPUT, without calling the LLM.

    Takes the same options as 'label' and prints the number of rows and
    distinct texts, the expected LLM calls (with the range from no text to
    every text re-annotated), prompt and completion tokens, and cost. With
    --llm local, whose cost is time, it also times a few requests of the
    model on this machine (a few seconds) and prints the LLM's expected wall
    time (the small model's training comes on top). Answers already in the
    cache are not subtracted.

    With --multi-label it counts what 'label --multi-label' asks: prompts
    for label sets (longer, and with --llm local timed as requests that
    judge every label), no demonstrations written unless
    --n-generated-demos says how many.
    """
    opts = collect(kwargs)
    setup_logging(quiet=opts.quiet, verbose=opts.verbose)
    with user_errors("estimate"):
        check_multi_label(opts)
        data = load_text_table(
            opts.input_path, opts.text_column, encoding=opts.encoding, skip_empty=opts.skip_empty,
        )
        clf = build_classifier(opts)
        if opts.llm == "local":
            logger.info("timing a few requests of the local model on this machine")
        result = dict(clf.estimate(data.texts, noisy_fraction=opts.noisy_fraction))
    result = {"n_rows": len(data.rows), **result}
    if opts.llm == "openai":  # where 'label' would send the texts (no call is made here)
        result["endpoint"] = describe_endpoint(opts.base_url)
    if opts.as_json:
        click.echo(json.dumps(result, default=_json_default))
        return
    width = max(map(len, result))
    for key, value in result.items():
        if key == "expected_llm_seconds":
            shown = "unknown" if value is None else f"{_fmt_seconds(value)} on this machine"
        elif key == "llm_speed":
            shown = "not measured" if value is None else _fmt_speed(value)
        else:
            shown = _fmt_number(value)
        click.echo(f"{key.replace('_', ' '):<{width}}  {shown}")


# ---------------------------------------------------------------- helpers


def _check_outputs(opts):
    from ..io import check_output_path

    paths = {"--out": opts.out_path, "--save-model": opts.model_path, "--report": opts.report_path}
    given = {k: Path(v).resolve() for k, v in paths.items() if v}
    if len(set(given.values())) < len(given):
        raise CLIError(f"{', '.join(given)} must name different files")
    if Path(opts.input_path).resolve() in {given.get("--save-model"), given.get("--report")}:
        raise CLIError("--save-model and --report must not overwrite INPUT")
    check_output_path(opts.out_path, "--out", table=True)
    for option in ("--save-model", "--report"):
        if paths[option]:
            check_output_path(paths[option], option)
    _check_export(opts)
    if opts.report_path:
        from ..report import check_report_dependencies

        try:
            check_report_dependencies()
        except ImportError as exc:
            raise CLIError(f"--report: {exc}") from None


def _check_export(opts):
    """Refuse, before any LLM call, an export that could not be written."""
    if opts.export_onnx and not opts.export_dir:
        raise CLIError("--export-onnx needs --export-model DIR (the folder it writes into)")
    if opts.export_dir and Path(opts.export_dir).exists() and not Path(opts.export_dir).is_dir():
        raise CLIError(f"--export-model: {opts.export_dir} exists and is not a folder")
    if opts.export_onnx:
        from ..export import _check_onnx_installed

        try:
            _check_onnx_installed()
        except ImportError as exc:
            raise CLIError(f"--export-onnx: {exc}") from None


@contextlib.contextmanager
def _progress_logging(quiet):
    """Route log lines through tqdm while bars are shown, so they don't tear them."""
    if not progress_enabled(quiet):
        yield
        return
    from tqdm.contrib.logging import logging_redirect_tqdm

    with logging_redirect_tqdm(loggers=[logger]):
        yield


def _gold_eval_set(data, labels, separator=None):
    """The training texts with a known gold label, so fit records accuracies per round.

    The eval set is never used for training; texts whose gold label is not one
    of ``labels`` are left out here (the report counts them as errors). With a
    ``separator``, a gold cell is a label set (:func:`gold_label_sets`).
    """
    if data.gold is None:
        return None
    if separator is not None:
        known = [(t, g) for t, g in zip(data.texts, gold_label_sets(data.gold, labels, separator))
                 if g is not None]
    else:
        known = [(t, g) for t, g in zip(data.texts, data.gold) if g in labels]
    if not known:
        logger.warning("no gold label is one of the label names %s", ", ".join(labels))
        return None
    return [t for t, _ in known], [g for _, g in known]


def _labelled_rows(data, clf, new_columns, separator=None):
    """Input rows plus the label columns; rows with a skipped empty text get blanks.

    ``new_columns``: label, confidence, clean, round, then (label sets) one
    column per label of its probability; ``separator`` joins a label set.
    """
    c_label, c_conf, c_clean, c_round, *c_per_label = new_columns
    names = clf.transduction_
    out = []
    for row, t in zip(data.rows, data.text_index):
        row = dict(row)
        if t < 0:
            row.update(dict.fromkeys(new_columns))
        else:
            conf = float(clf.confidence_[t])
            rnd = int(clf.label_round_[t])
            label = names[t]
            row[c_label] = label if separator is None or label is None else separator.join(label)
            row[c_conf] = None if np.isnan(conf) else round(conf, 6)
            row[c_clean] = bool(clf.clean_mask_[t])
            row[c_round] = None if rnd < 0 else rnd
            for column, p in zip(c_per_label, clf.label_proba_[t]):
                row[column] = None if np.isnan(p) else round(float(p), 6)
        out.append(row)
    return out


def _write_outputs(opts, columns, rows, clf, report_html):
    """Write every output through temporary files, renamed only when all are done."""
    from ..io import atomic_path, table_format, write_table

    with contextlib.ExitStack() as stack:
        tmp_out = stack.enter_context(atomic_path(opts.out_path))
        write_table(tmp_out, columns, rows, fmt=table_format(opts.out_path), atomic=False)
        if opts.model_path:
            import joblib

            joblib.dump(clf, stack.enter_context(atomic_path(opts.model_path)))
        if report_html is not None:
            stack.enter_context(atomic_path(opts.report_path)).write_text(report_html, encoding="utf-8")
    for path in (opts.out_path, opts.model_path, opts.report_path):
        if path:
            logger.info("wrote %s", path)


def _report_meta(opts, data, seconds, clf=None):
    """The report's "Run settings": the input, the LLM and the loop as ``clf`` ran it."""
    llm = opts.llm + (f" ({opts.model})" if opts.model else "")
    if opts.llm == "openai":
        llm += f" at {describe_endpoint(opts.base_url)}"
    loop = {}
    if clf is not None:
        from ..loop import RoundPolicy

        rounds = clf.rounds if clf.rounds is not None else RoundPolicy()
        cap, tolerance = rounds.max_requests_per_text, rounds.rollback_tolerance
        loop = {
            "judge": clf.judge or "student",
            "label fusion": rounds.label_fusion,
            "share of texts asked per round": f"{rounds.label_fraction:g}",
            "LLM requests per text at most": "no cap" if cap is None else f"{cap:g}",
            "rollback tolerance": "off" if tolerance is None else f"{tolerance:g}",
            "calibration": clf.labeler.calibration or "none",
        }
    return {
        "input": str(opts.input_path),
        "text column": opts.text_column,
        "rows": len(data.rows),
        "distinct texts": len(data.texts),
        "task": opts.task,
        "labels": ", ".join(opts.labels),
        "LLM": llm,
        "small model": opts.slm_path or "packaged MiniLM (default)",
        "rounds asked": opts.n_rounds,
        "demonstrations per text": opts.n_demos,
        **loop,
        "seed": opts.seed,
        "run time": _fmt_seconds(seconds),
    }


def _log_summary(clf, data, seconds, slm_pred, separator=None):
    from ..loop._records import over_budget_summary

    usage = dict(getattr(clf, "usage_", {}) or {})
    logger.info(
        "done in %s: %d rounds, %s LLM calls (%s answered from cache), %s prompt + %s completion "
        "tokens, estimated cost %s",
        _fmt_seconds(seconds), getattr(clf, "n_rounds_", len(clf.history_)),
        _fmt_number(usage.get("calls", 0)), _fmt_number(usage.get("cache_hits", 0)),
        _fmt_number(usage.get("prompt_tokens", 0)), _fmt_number(usage.get("completion_tokens", 0)),
        _fmt_number(usage.get("cost", 0.0)),
    )
    if clf.label_space_.exclusive:
        names, counts = np.unique([str(x) for x in clf.transduction_], return_counts=True)
    else:  # label sets: the texts carrying each label
        names, counts = clf.classes_, clf.label_space_.counts(clf.label_ids_)
    logger.info("labels: %s", ", ".join(f"{n} {c}" for n, c in zip(names, counts)))
    over = over_budget_summary(clf)
    if over is not None:
        logger.info("%s (--max-requests-per-text raises the budget)", over)
    if data.gold is not None and separator is not None:
        n, llm_f1, slm_f1 = gold_scores(
            clf, gold_label_sets(data.gold, clf.classes_.tolist(), separator), slm_pred)
        if n:  # none: _gold_eval_set warned
            logger.info("micro F1 on %d texts with a gold label set: LLM labels %.3f, small "
                        "model %.3f", n, llm_f1, slm_f1)
    elif data.gold is not None:
        gold = np.array(data.gold, dtype=object)
        known = np.array([g is not None for g in gold])
        llm_acc = float(np.mean(clf.transduction_[known] == gold[known]))
        slm_acc = float(np.mean(np.asarray(slm_pred, dtype=object)[known] == gold[known]))
        logger.info(
            "accuracy on %d texts with a gold label: LLM labels %.3f, small model %.3f",
            int(known.sum()), llm_acc, slm_acc,
        )


def _fmt_seconds(seconds):
    minutes, sec = divmod(int(round(seconds)), 60)
    return f"{minutes} min {sec} s" if minutes else f"{seconds:.1f} s"


def _fmt_speed(speed):
    return (f"{speed['annotation_seconds']:.2f} s a labelling request, "
            f"{speed['generation_seconds']:.2f} s a demonstration written; "
            f"{speed['prompt_tokens_per_second']:,.0f} prompt tokens/s, "
            f"{speed['generated_tokens_per_second']:,.1f} generated tokens/s")


def _fmt_number(value):
    if value is None:
        return "unknown"
    if isinstance(value, (bool, np.bool_)):
        return str(value)
    if isinstance(value, (float, np.floating)):
        return f"{value:,.4f}" if value < 100 else f"{value:,.0f}"
    if isinstance(value, (int, np.integer)):
        return f"{value:,}"
    return str(value)


def _json_default(value):
    if hasattr(value, "item"):
        return value.item()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")
