"""``skfreeal predict``: label a table with a saved model, streaming in chunks."""

import logging
from pathlib import Path

import click
import numpy as np

from ._data import as_text
from ._errors import CLIError, user_errors
from ._multilabel import check_separator, label_set_columns
from ._options import (
    check_new_columns,
    collect,
    output_options,
    progress_enabled,
    run_options,
    setup_logging,
    table_options,
)

__all__ = ["predict", "load_model", "PREDICT_COLUMNS"]

#: Columns ``predict`` appends to the input rows (after ``--prefix``).
PREDICT_COLUMNS = ("label", "confidence")

logger = logging.getLogger("skfreeal")


@click.command()
@click.argument("model_path", metavar="MODEL", type=click.Path(dir_okay=False, path_type=str))
@table_options
@output_options(PREDICT_COLUMNS)
@click.option("--chunk-size", type=click.IntRange(min=1), default=1000, show_default=True,
              help="Rows read, predicted and written at a time (bounds memory).")
@click.option("--label-separator", default=";", show_default=True,
              help="For a model saved by 'label --multi-label': the separator of a text's "
              "labels in the label column.")
@run_options
def predict(**kwargs):
    """Label INPUT with the small model saved by 'skfreeal label --save-model' (no LLM call).

    The table is read, predicted and written in chunks, so a file larger than
    memory works. The output appears only when every row is done. Load only
    model files you trust: they are pickles.

    A model saved with --multi-label writes each text's label set joined by
    --label-separator, its mean certainty as confidence, and a
    confidence_<label> column per label (the student's probability); a label
    is in the set where that probability reaches the fitted threshold.
    """
    opts = collect(kwargs)
    setup_logging(quiet=opts.quiet, verbose=opts.verbose)
    from ..io import check_column, check_output_path, iter_table, open_writer

    columns_out = [opts.prefix + name for name in PREDICT_COLUMNS]
    with user_errors("predict"):
        if Path(opts.out_path).resolve() == Path(opts.input_path).resolve():
            raise CLIError("--out must not overwrite INPUT while it is being read")
        check_output_path(opts.out_path, "--out", table=True)
        chunks = iter_table(opts.input_path, chunk_size=opts.chunk_size, encoding=opts.encoding)
        columns = next(chunks)
        check_column(opts.input_path, columns, opts.text_column, "--text-column")
        check_new_columns(opts.input_path, columns, columns_out)
        clf = load_model(opts.model_path)
        if _is_multi_label(clf):
            check_separator(opts.label_separator, clf.classes_.tolist())
            columns_out += label_set_columns(clf.classes_, opts.prefix)
            check_new_columns(opts.input_path, columns, columns_out)
        elif opts.label_separator != ";":
            raise CLIError(f"--label-separator is only used with a multi-label model; "
                           f"{opts.model_path} holds a {type(clf).__name__}")
        n_rows = n_empty = 0
        with open_writer(opts.out_path, columns + columns_out) as writer, _bar(opts) as bar:
            for chunk in chunks:
                n_empty += _predict_chunk(clf, chunk, opts, n_rows, columns_out)
                writer.write(chunk)
                n_rows += len(chunk)
                bar.update(len(chunk))
            if n_rows == 0:  # inside: the writer then leaves --out as it was
                raise CLIError(f"{opts.input_path}: the table has no rows")
    if n_empty:
        logger.warning("%d row(s) with an empty text were left unlabelled", n_empty)
    logger.info("predicted %d rows; wrote %s", n_rows, opts.out_path)


def load_model(path):
    """Load a classifier saved by ``skfreeal label --save-model``.

    Parameters
    ----------
    path : str

    Returns
    -------
    clf : classifier with ``predict_proba`` and ``classes_``

    Raises
    ------
    CLIError
        If the file is missing, unreadable or not such a classifier.
    """
    if not Path(path).is_file():
        raise CLIError(f"{path}: no such model file")
    import joblib

    try:
        clf = joblib.load(path)
    except Exception as exc:  # unpickling raises many unrelated types
        raise CLIError(f"{path}: not a readable model file ({type(exc).__name__}: {exc})") from None
    if not (hasattr(clf, "predict_proba") and hasattr(clf, "classes_")):
        raise CLIError(f"{path}: holds a {type(clf).__name__}, not a fitted classifier")
    return clf


def _is_multi_label(clf):
    from .. import MultiLabelFreeALClassifier

    return isinstance(clf, MultiLabelFreeALClassifier)


def _predict_chunk(clf, chunk, opts, offset, columns):
    """Add ``columns`` (label, confidence, ...) to the rows of ``chunk`` in place; return
    the empty count."""
    texts, todo = [], []
    for i, row in enumerate(chunk):
        text = as_text(row.get(opts.text_column), opts.input_path, offset + i + 1, opts.text_column)
        row.update(dict.fromkeys(columns))
        if text is None or not text.strip():
            if not opts.skip_empty:
                raise CLIError(
                    f"{opts.input_path}: row {offset + i + 1}: empty {opts.text_column!r}; "
                    "remove it or pass --skip-empty"
                )
            continue
        texts.append(text)
        todo.append(i)
    if texts:
        for i, values in zip(todo, _predictions(clf, texts, opts.label_separator)):
            chunk[i].update(zip(columns, values))
    return len(chunk) - len(texts)


def _predictions(clf, texts, separator):
    """Each text's label and confidence; for label sets, then each label's probability."""
    proba = np.asarray(clf.predict_proba(texts))
    if not _is_multi_label(clf):
        best = proba.argmax(axis=1)
        return [(clf.classes_[k], round(float(p), 6))
                for k, p in zip(best, proba[np.arange(len(best)), best])]
    sets, confidence = clf._decision_space().from_proba(proba)
    return [(separator.join(clf.classes_[row == 1]), round(float(c), 6),
             *(round(float(x), 6) for x in p)) for row, c, p in zip(sets, confidence, proba)]


def _bar(opts):
    from tqdm.auto import tqdm

    return tqdm(unit=" rows", desc="predict", disable=not progress_enabled(opts.quiet), leave=False)
