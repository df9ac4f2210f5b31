"""Reading the texts (and gold labels) of a table for ``label`` and ``estimate``.

Policy, applied the same way by both commands:

- an empty text (blank, whitespace or missing) stops with an error naming the
  first such rows, unless ``--skip-empty``: then those rows are kept in the
  output with empty label columns and never sent to the LLM;
- duplicate texts are kept: each distinct text is labelled once (one LLM call,
  one training sample) and its label is copied to every row that holds it; a
  warning says how many rows were duplicates.
"""

import logging
from dataclasses import dataclass

import numpy as np

from ..io import TableError, check_column, read_table

__all__ = ["TextTable", "load_text_table", "as_text"]

logger = logging.getLogger("skfreeal")


@dataclass
class TextTable:
    """A table's rows and the distinct texts to label.

    Attributes
    ----------
    path : str
    columns : list of str
    rows : list of dict
    texts : list of str
        Distinct non-empty texts, in order of first appearance.
    text_index : ndarray of shape (n_rows,)
        For each row, its text's index into ``texts``; -1 for a skipped empty text.
    gold : list or None
        Gold label of each distinct text (None where not given), when a gold
        column was named.
    """

    path: str
    columns: list
    rows: list
    texts: list
    text_index: np.ndarray
    gold: list = None


def as_text(value, path, row_number, column):
    """A cell as text: None stays None, numbers become strings, lists are refused."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, (list, dict, bytes)):
        raise TableError(
            f"{path}: row {row_number}: column {column!r} holds a {type(value).__name__}, not a text"
        )
    if isinstance(value, float) and value != value:  # NaN from Parquet/JSON
        return None
    return str(value)


def load_text_table(path, text_column, *, encoding="utf-8", skip_empty=False, gold_column=None):
    """Read ``path`` and collect its distinct texts, checking the policy above.

    Parameters
    ----------
    path : str
    text_column : str
    encoding : str, default="utf-8"
    skip_empty : bool, default=False
    gold_column : str, default=None

    Returns
    -------
    table : TextTable

    Raises
    ------
    TableError
        For an unreadable table, a missing column, or an empty text (without
        ``skip_empty``), or a table with no text at all.
    """
    columns, rows = read_table(path, encoding=encoding)
    check_column(path, columns, text_column, "--text-column")
    check_column(path, columns, gold_column, "--gold-column")

    first_row = {}
    text_index = np.full(len(rows), -1, dtype=np.int64)
    empty = []
    for i, row in enumerate(rows):
        text = as_text(row.get(text_column), path, i + 1, text_column)
        if text is None or not text.strip():
            empty.append(i + 1)
            continue
        text_index[i] = first_row.setdefault(text, len(first_row))
    if empty and not skip_empty:
        shown = ", ".join(map(str, empty[:5])) + (", ..." if len(empty) > 5 else "")
        raise TableError(
            f"{path}: {len(empty)} row(s) with an empty {text_column!r} (rows {shown}); "
            "remove them or pass --skip-empty"
        )
    if not first_row:
        raise TableError(f"{path}: every {text_column!r} is empty; there is nothing to label")
    if empty:
        logger.warning("%d row(s) with an empty text are left unlabelled", len(empty))
    n_duplicates = int((text_index >= 0).sum()) - len(first_row)
    if n_duplicates:
        logger.warning(
            "%d row(s) repeat an earlier text; each distinct text is labelled once and its "
            "label copied to all its rows", n_duplicates,
        )
    texts = list(first_row)
    gold = None
    if gold_column is not None:
        gold = _gold_per_text(rows, text_index, len(texts), gold_column, path)
    return TextTable(path, columns, rows, texts, text_index, gold)


def _gold_per_text(rows, text_index, n_texts, column, path):
    gold = [None] * n_texts
    conflicts = 0
    for i, (row, t) in enumerate(zip(rows, text_index)):
        value = as_text(row.get(column), path, i + 1, column)
        if t < 0 or value is None or not value.strip():
            continue
        value = value.strip()
        if gold[t] is None:
            gold[t] = value
        elif gold[t] != value:
            conflicts += 1
    if conflicts:
        logger.warning(
            "%d duplicate row(s) disagree with an earlier row's gold label; the first is used",
            conflicts,
        )
    if all(g is None for g in gold):
        raise TableError(f"{path}: the gold column {column!r} is empty")
    return gold
