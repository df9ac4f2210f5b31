"""Read and write tables of texts: CSV, JSON Lines and Parquet, chosen by extension.

Rows are plain ``dict`` objects (column name -> value), so no data-frame
library is needed; CSV and JSON Lines use the standard library, Parquet uses
``pyarrow`` (``pip install 'skfreeal[parquet]'``). Every reader can stream the
file in chunks and every writer goes through a temporary file in the target's
folder, renamed over the target only when complete: an interrupted or failed
write never leaves a partial file behind.

Problems with the data (a missing file or column, an empty file, bytes that are
not valid in the encoding, a malformed JSON line) raise :class:`TableError`,
whose message names the file and, where known, the line.
"""

import codecs
import contextlib
import csv
import json
import math
import os
import sys
import tempfile
from pathlib import Path

__all__ = [
    "TableError",
    "FORMATS",
    "table_format",
    "read_table",
    "iter_table",
    "open_writer",
    "write_table",
    "atomic_path",
    "check_column",
    "check_output_path",
]

# The largest cell the csv module may read (a C long: sys.maxsize overflows on Windows).
_MAX_FIELD = min(sys.maxsize, 2**31 - 1)

# extension -> format name
FORMATS = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".parquet": "parquet",
    ".pq": "parquet",
}


class TableError(ValueError):
    """A table cannot be read or written; the message says what and where."""


def table_format(path):
    """Format of a table file, from its extension.

    Parameters
    ----------
    path : str or path-like

    Returns
    -------
    fmt : {"csv", "tsv", "jsonl", "parquet"}

    Raises
    ------
    TableError
        If the extension is not one of :data:`FORMATS`.

    Examples
    --------
    >>> table_format("tweets.JSONL")
    'jsonl'
    """
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        known = ", ".join(sorted(FORMATS))
        raise TableError(f"{path}: unknown table format {suffix or '(no extension)'!r}; use one of {known}")
    return FORMATS[suffix]


# --------------------------------------------------------------------------- reading


def iter_table(path, *, chunk_size=1000, encoding="utf-8"):
    """Stream a table as chunks of rows, never holding the whole file.

    Parameters
    ----------
    path : str or path-like
        A ``.csv``, ``.tsv``, ``.jsonl``/``.ndjson`` or ``.parquet`` file.
    chunk_size : int, default=1000
        Rows per chunk (the last chunk may be shorter).
    encoding : str, default="utf-8"
        Text encoding of CSV and JSON Lines files (Parquet is always UTF-8).

    Yields
    ------
    columns : list of str
        First, once: the column names in file order.
    rows : list of dict
        Then the chunks, each a list of ``{column: value}``.

    Raises
    ------
    TableError
        For a missing, empty or malformed file.
    """
    path = Path(path)
    fmt = table_format(path)
    if not path.exists():
        raise TableError(f"{path}: no such file")
    if path.is_dir():
        raise TableError(f"{path}: is a folder, not a file")
    if path.stat().st_size == 0:
        raise TableError(f"{path}: the file is empty")
    readers = {"csv": _iter_csv, "tsv": _iter_csv, "jsonl": _iter_jsonl, "parquet": _iter_parquet}
    return readers[fmt](path, chunk_size=chunk_size, encoding=encoding, delimiter="\t" if fmt == "tsv" else ",")


def read_table(path, *, encoding="utf-8"):
    """Read a whole table.

    Parameters
    ----------
    path : str or path-like
    encoding : str, default="utf-8"

    Returns
    -------
    columns : list of str
    rows : list of dict

    Raises
    ------
    TableError
        For a missing, empty, header-only or malformed file.
    """
    chunks = iter_table(path, encoding=encoding, chunk_size=10_000)
    columns = next(chunks)
    rows = [row for chunk in chunks for row in chunk]
    if not rows:
        raise TableError(f"{path}: the table has no rows")
    return columns, rows


def check_column(path, names, column, option):
    """Raise :class:`TableError` if ``column`` is not among ``names``."""
    if column is not None and column not in names:
        shown = ", ".join(repr(n) for n in names[:20]) + (", ..." if len(names) > 20 else "")
        raise TableError(f"{path}: no column {column!r} ({option}); the columns are {shown}")


def _reading_encoding(encoding):
    """``encoding``, with UTF-8 read as ``utf-8-sig``: a byte-order mark (Excel, R) is skipped
    before parsing, so that a quoted first header or a JSON line is read as written."""
    return "utf-8-sig" if codecs.lookup(encoding).name == "utf-8" else encoding


def _iter_csv(path, *, chunk_size, encoding, delimiter):
    with _decoding_errors(path):
        fh = open(path, newline="", encoding=_reading_encoding(encoding), errors="strict")
    with fh, _decoding_errors(path), _any_field_size():
        reader = csv.reader(fh, delimiter=delimiter)
        try:
            header = next(reader)
        except StopIteration:
            raise TableError(f"{path}: the file is empty") from None
        except csv.Error as exc:
            raise TableError(f"{path}: line {reader.line_num}: {exc}") from None
        header = _dedupe_header(path, [h.lstrip("\ufeff") if i == 0 else h for i, h in enumerate(header)])
        yield header
        chunk = []
        try:
            for record in reader:
                if not record:  # a blank line
                    continue
                if len(record) != len(header):
                    raise TableError(
                        f"{path}: line {reader.line_num}: {len(record)} fields, "
                        f"the header has {len(header)}"
                    )
                chunk.append(dict(zip(header, record)))
                if len(chunk) >= chunk_size:
                    yield chunk
                    chunk = []
        except csv.Error as exc:
            raise TableError(f"{path}: line {reader.line_num}: {exc}") from None
        if chunk:
            yield chunk


@contextlib.contextmanager
def _any_field_size():
    """Let the csv module read cells of any length (its default refuses over 131,072 chars).

    The limit is the module's global; it is put back when the file is read.
    """
    previous = csv.field_size_limit(_MAX_FIELD)  # it returns the limit it replaces
    try:
        yield
    finally:
        csv.field_size_limit(previous)


def _iter_jsonl(path, *, chunk_size, encoding, delimiter=None):
    columns, seen = [], set()
    chunk = []
    first = True
    with _decoding_errors(path):
        encoding = _reading_encoding(encoding)
        fh = open(path, encoding=encoding, errors="strict")
    # The column list must come first, but JSON Lines rows may add keys as
    # they go; a first pass collects them without holding any row.
    with fh, _decoding_errors(path):
        for lineno, line in enumerate(fh, 1):
            row = _parse_json_line(path, lineno, line)
            if row is not None:
                for key in row:
                    if key not in seen:
                        seen.add(key)
                        columns.append(key)
    if not columns:
        raise TableError(f"{path}: the file has no JSON objects")
    with open(path, encoding=encoding) as fh:
        for lineno, line in enumerate(fh, 1):
            row = _parse_json_line(path, lineno, line)
            if row is None:
                continue
            if first:
                yield columns
                first = False
            chunk.append(row)
            if len(chunk) >= chunk_size:
                yield chunk
                chunk = []
    if chunk:
        yield chunk


def _parse_json_line(path, lineno, line):
    if not line.strip():
        return None
    try:
        row = json.loads(line)
    except json.JSONDecodeError as exc:
        raise TableError(f"{path}: line {lineno}: not valid JSON ({exc.msg} at column {exc.colno})") from None
    if not isinstance(row, dict):
        raise TableError(f"{path}: line {lineno}: expected a JSON object, got {type(row).__name__}")
    return row


def _iter_parquet(path, *, chunk_size, encoding=None, delimiter=None):
    pq = _import_pyarrow(path)[1]
    try:
        handle = pq.ParquetFile(path)
    except Exception as exc:  # pyarrow raises its own ArrowInvalid/OSError mix
        raise TableError(f"{path}: not a readable Parquet file ({_one_line(exc)})") from None
    yield list(handle.schema_arrow.names)
    for batch in handle.iter_batches(batch_size=chunk_size):
        if batch.num_rows:
            yield batch.to_pylist()


@contextlib.contextmanager
def _decoding_errors(path):
    """Turn a UnicodeDecodeError into a TableError that names the line."""
    try:
        yield
    except UnicodeDecodeError as exc:
        where = _line_of_bad_byte(path, exc)
        raise TableError(
            f"{path}:{where} bytes that are not valid {exc.encoding} ({exc.reason}: "
            f"{exc.object[exc.start:exc.start + 4]!r}); convert the file or pass --encoding"
        ) from None
    except LookupError as exc:
        raise TableError(f"{path}: {exc} (--encoding)") from None


def _line_of_bad_byte(path, exc):
    # The decoder works on blocks, so the exception's offset is relative to a
    # block; find the first undecodable line by reading raw bytes instead.
    with open(path, "rb") as fh:
        for lineno, raw in enumerate(fh, 1):
            try:
                raw.decode(exc.encoding)
            except UnicodeDecodeError:
                return f" line {lineno}:"
    return ""


def _dedupe_header(path, header):
    seen = set()
    for name in header:
        if name in seen:
            raise TableError(f"{path}: the column {name!r} appears twice in the header")
        seen.add(name)
    return header


def check_output_path(path, option, *, table=False):
    """Check before any work that ``path`` can be written.

    Parameters
    ----------
    path : str or path-like
    option : str
        The option that named it, for the message.
    table : bool, default=False
        Also check that the extension is a known table format (and that
        pyarrow is installed for Parquet).

    Raises
    ------
    TableError
    """
    path = Path(path)
    if path.is_dir():
        raise TableError(f"{path} ({option}): is a folder; give a file name")
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise TableError(f"{path} ({option}): the folder {folder} does not exist")
    if not os.access(folder, os.W_OK):
        raise TableError(f"{path} ({option}): the folder {folder} is not writable")
    if table and table_format(path) == "parquet":
        _import_pyarrow(path)


def _import_pyarrow(path):
    try:
        import pyarrow
        import pyarrow.parquet as pq
    except ImportError:
        raise TableError(
            f"{path}: Parquet needs pyarrow: pip install 'skfreeal[parquet]'"
        ) from None
    return pyarrow, pq


# --------------------------------------------------------------------------- writing


@contextlib.contextmanager
def atomic_path(path):
    """Yield a temporary path beside ``path``; rename it to ``path`` on success.

    On any exception (``KeyboardInterrupt`` included) the temporary file is
    removed and ``path`` is left as it was.

    Parameters
    ----------
    path : str or path-like

    Yields
    ------
    tmp : pathlib.Path
        Where to write; in the same folder, so the rename is atomic.
    """
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise TableError(f"{path}: the folder {folder} does not exist")
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    tmp = Path(tmp)
    try:
        yield tmp
        # mkstemp makes the file private (0600); give it the mode a plain open()
        # would have, or the mode of the file it replaces.
        os.chmod(tmp, path.stat().st_mode & 0o7777 if path.exists() else _default_mode())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def _default_mode():
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


class _Writer:
    """Incremental writer of ``columns`` to ``file``.

    A subclass opens the file in ``__init__`` and implements ``write(rows)``
    and ``close()``.
    """

    def __init__(self, file, columns):
        self.file = file
        self.columns = list(columns)

    def write(self, rows):  # pragma: no cover - abstract
        raise NotImplementedError


class _CSVWriter(_Writer):
    def __init__(self, file, columns, delimiter=","):
        super().__init__(file, columns)
        self._fh = open(file, "w", newline="", encoding="utf-8")
        self._writer = csv.writer(self._fh, delimiter=delimiter)
        self._writer.writerow(self.columns)

    def write(self, rows):
        self._writer.writerows([_csv_cell(row.get(c)) for c in self.columns] for row in rows)

    def close(self):
        self._fh.close()


class _JSONLWriter(_Writer):
    def __init__(self, file, columns):
        super().__init__(file, columns)
        self._fh = open(file, "w", encoding="utf-8")

    def write(self, rows):
        for row in rows:
            record = {c: _json_value(row[c]) for c in self.columns if c in row}
            # default=str: a date, time or Decimal of a Parquet input is written
            # as its ISO / exact text rather than failing the whole run
            self._fh.write(json.dumps(record, ensure_ascii=False, default=str) + "\n")

    def close(self):
        self._fh.close()


class _ParquetWriter(_Writer):
    def __init__(self, file, columns, schema=None, name=None):
        super().__init__(file, columns)
        self._pa, self._pq = _import_pyarrow(file)
        self._schema = schema
        self._writer = None
        self._name = name or file  # what messages call the file (not a temporary one)

    def write(self, rows):
        pa = self._pa
        data = {c: [_json_value(row.get(c)) for row in rows] for c in self.columns}
        try:
            # Each chunk's own types, then a safe cast to the first chunk's:
            # 1.5 in a column first seen as integers is refused, not cut to 1.
            table = pa.table(data)
            if self._schema is None:
                # An all-missing column in the first chunk has type null; later
                # chunks could not be cast to it, so store such columns as text.
                self._schema = pa.schema(
                    [f.with_type(pa.string()) if pa.types.is_null(f.type) else f
                     for f in table.schema]
                )
            if table.schema != self._schema:
                table = table.cast(self._schema)
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError,
                TypeError) as exc:
            raise TableError(
                f"{self._name}: cannot store the rows as Parquet ({_one_line(exc)}); a column's "
                "type changes between rows: write CSV or JSON Lines instead"
            ) from None
        if self._writer is None:
            self._writer = self._pq.ParquetWriter(self.file, self._schema)
        self._writer.write_table(table)

    def close(self):
        if self._writer is None:  # no rows: still write a valid, empty file
            pa = self._pa
            schema = self._schema or pa.schema([(c, pa.string()) for c in self.columns])
            self._writer = self._pq.ParquetWriter(self.file, schema)
        self._writer.close()


@contextlib.contextmanager
def open_writer(path, columns, *, fmt=None, atomic=True):
    """Write a table chunk by chunk, atomically.

    Parameters
    ----------
    path : str or path-like
        The target; its extension picks the format unless ``fmt`` is given.
    columns : list of str
        Column names, in output order.
    fmt : {"csv", "tsv", "jsonl", "parquet"}, default=None
    atomic : bool, default=True
        Write to a temporary file renamed to ``path`` at the end. False writes
        ``path`` directly (for a caller that already staged a temporary path).

    Yields
    ------
    writer : object
        With a ``write(rows)`` method taking a list of dicts. With ``atomic``,
        the target appears only when the ``with`` block ends without an
        exception.
    """
    fmt = fmt or table_format(path)
    if fmt == "parquet":  # fail before any work if pyarrow is missing
        _import_pyarrow(path)
    with (atomic_path(path) if atomic else contextlib.nullcontext(Path(path))) as file:
        if fmt in ("csv", "tsv"):
            writer = _CSVWriter(file, columns, delimiter="\t" if fmt == "tsv" else ",")
        elif fmt == "jsonl":
            writer = _JSONLWriter(file, columns)
        else:
            writer = _ParquetWriter(file, columns, name=path)
        try:
            yield writer
        finally:
            writer.close()


def write_table(path, columns, rows, *, fmt=None, atomic=True):
    """Write a whole table atomically, in the format of ``path``'s extension.

    Parameters
    ----------
    path : str or path-like
    columns : list of str
    rows : list of dict
    fmt : {"csv", "tsv", "jsonl", "parquet"}, default=None
        None: from ``path``'s extension.
    atomic : bool, default=True
        See :func:`open_writer`.
    """
    with open_writer(path, columns, fmt=fmt, atomic=atomic) as writer:
        writer.write(rows)


def _json_value(value):
    """A JSON/Arrow-friendly Python value (numpy scalars unwrapped, NaN -> None)."""
    if hasattr(value, "item") and not isinstance(value, (list, dict, str, bytes)):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _csv_cell(value):
    value = _json_value(value)
    if value is None:
        return ""
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False)
    return value


def _one_line(exc):
    return " ".join(str(exc).split())[:300]
