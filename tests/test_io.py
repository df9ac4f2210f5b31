"""Table reading and writing: formats, chunking, errors that name the place, atomic writes."""

import json

import pytest

from skfreeal.io import (
    TableError,
    atomic_path,
    check_output_path,
    iter_table,
    open_writer,
    read_table,
    table_format,
    write_table,
)

ROWS = [
    {"id": 1, "text": "great, \"really\" great", "score": 0.5, "ok": True},
    {"id": 2, "text": "line one\nline two", "score": None, "ok": False},
    {"id": 3, "text": "héllo ✓", "score": 2.25, "ok": None},
]
COLUMNS = ["id", "text", "score", "ok"]


@pytest.mark.parametrize("ext", [".csv", ".tsv", ".jsonl", ".parquet"])
def test_round_trip_keeps_rows_and_columns(tmp_path, ext):
    if ext == ".parquet":
        pytest.importorskip("pyarrow")
    path = tmp_path / f"t{ext}"
    write_table(path, COLUMNS, ROWS)
    columns, rows = read_table(path)
    assert columns == COLUMNS
    assert [r["text"] for r in rows] == [r["text"] for r in ROWS]
    if ext in (".csv", ".tsv"):  # text formats: strings, missing -> ""
        assert [r["score"] for r in rows] == ["0.5", "", "2.25"]
        assert [r["ok"] for r in rows] == ["True", "False", ""]
    else:
        assert [r["score"] for r in rows] == [0.5, None, 2.25]
        assert [r["ok"] for r in rows] == [True, False, None]


def test_numpy_scalars_and_nan_are_written_as_plain_values(tmp_path):
    np = pytest.importorskip("numpy")
    path = tmp_path / "t.jsonl"
    write_table(path, ["a", "b", "c"], [{"a": np.int64(3), "b": np.float32(np.nan), "c": np.bool_(True)}])
    assert json.loads(path.read_text()) == {"a": 3, "b": None, "c": True}


def test_iter_table_streams_in_chunks(tmp_path):
    path = tmp_path / "t.csv"
    write_table(path, ["text"], [{"text": f"t{i}"} for i in range(25)])
    chunks = iter_table(path, chunk_size=10)
    assert next(chunks) == ["text"]
    assert [len(c) for c in chunks] == [10, 10, 5]


def test_jsonl_collects_keys_of_every_line_and_skips_blank_lines(tmp_path):
    path = tmp_path / "t.jsonl"
    path.write_text('{"text": "a"}\n\n{"text": "b", "extra": 1}\n')
    columns, rows = read_table(path)
    assert columns == ["text", "extra"]
    assert rows == [{"text": "a"}, {"text": "b", "extra": 1}]


def test_csv_byte_order_mark_is_not_part_of_the_first_column(tmp_path):
    path = tmp_path / "t.csv"
    path.write_bytes("\ufefftext,label\nhi,a\n".encode("utf-8"))
    assert read_table(path)[0] == ["text", "label"]


def test_other_encoding_is_read_when_named(tmp_path):
    path = tmp_path / "t.csv"
    path.write_bytes("text\ncafé\n".encode("latin-1"))
    assert read_table(path, encoding="latin-1")[1] == [{"text": "café"}]


@pytest.mark.parametrize("name, content", [
    ("t.csv", '\ufeff"text","n"\n"good",1\n'.encode()),  # R's write.csv, pandas QUOTE_ALL
    ("t.jsonl", '\ufeff{"text": "good", "n": "1"}\n'.encode()),
])
def test_a_byte_order_mark_is_skipped_before_parsing(tmp_path, name, content):
    (tmp_path / name).write_bytes(content)
    columns, rows = read_table(tmp_path / name)
    assert columns == ["text", "n"] and rows[0]["text"] == "good"


def test_an_unknown_encoding_names_the_option(tmp_path):
    (tmp_path / "t.csv").write_bytes(b"text\nok\n")
    with pytest.raises(TableError, match=r"unknown encoding: nope \(--encoding\)"):
        read_table(tmp_path / "t.csv", encoding="nope")


@pytest.mark.parametrize(
    "name, content, match",
    [
        ("t.csv", None, r"t\.csv: no such file"),
        ("t.csv", b"", r"t\.csv: the file is empty"),
        ("t.csv", b"text,label\n", r"t\.csv: the table has no rows"),
        ("t.csv", b"text\nok\ncaf\xe9 bad\n", r"t\.csv: line 3: bytes that are not valid utf-8"),
        ("t.csv", b"a,b\n1,2\n1,2,3\n", r"t\.csv: line 3: 3 fields, the header has 2"),
        ("t.csv", b"a,a\n1,2\n", r"column 'a' appears twice"),
        ("t.jsonl", b'{"a": 1}\n{"a": 2\n', r"t\.jsonl: line 2: not valid JSON"),
        ("t.jsonl", b'{"a": 1}\n[1, 2]\n', r"t\.jsonl: line 2: expected a JSON object, got list"),
        ("t.jsonl", b'{"a": 1}\n\xff\n', r"t\.jsonl: line 2: bytes that are not valid utf-8"),
        ("t.xlsx", b"x", r"unknown table format '\.xlsx'"),
    ],
)
def test_bad_tables_say_what_and_where(tmp_path, name, content, match):
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(TableError, match=match):
        read_table(path)


def test_unreadable_parquet_is_a_table_error(tmp_path):
    pytest.importorskip("pyarrow")
    path = tmp_path / "t.parquet"
    path.write_bytes(b"not parquet at all")
    with pytest.raises(TableError, match=r"t\.parquet: not a readable Parquet file"):
        read_table(path)


def test_parquet_column_missing_in_first_chunk_is_stored_as_text(tmp_path):
    pytest.importorskip("pyarrow")
    path = tmp_path / "t.parquet"
    with open_writer(path, ["text", "note"]) as writer:
        writer.write([{"text": "a", "note": None}])
        writer.write([{"text": "b", "note": "later"}])
    assert read_table(path)[1] == [{"text": "a", "note": None}, {"text": "b", "note": "later"}]


def test_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    path = tmp_path / "out.csv"
    path.write_text("old\n")
    with pytest.raises(RuntimeError):
        with open_writer(path, ["text"]) as writer:
            writer.write([{"text": "new"}])
            raise RuntimeError("boom")
    assert path.read_text() == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.csv"]


def test_interrupted_write_leaves_no_file(tmp_path):
    path = tmp_path / "out.jsonl"
    with pytest.raises(KeyboardInterrupt):
        with atomic_path(path) as tmp:
            tmp.write_text("partial")
            raise KeyboardInterrupt
    assert list(tmp_path.iterdir()) == []


def test_written_files_get_the_usual_permissions(tmp_path):
    import os

    umask = os.umask(0o022)
    try:
        write_table(tmp_path / "new.csv", ["a"], [{"a": 1}])
        old = tmp_path / "old.csv"
        old.write_text("a\n")
        old.chmod(0o640)
        write_table(old, ["a"], [{"a": 2}])
    finally:
        os.umask(umask)
    assert (tmp_path / "new.csv").stat().st_mode & 0o777 == 0o644
    assert old.stat().st_mode & 0o777 == 0o640


def test_output_path_checks(tmp_path):
    with pytest.raises(TableError, match="does not exist"):
        check_output_path(tmp_path / "missing" / "out.csv", "--out")
    with pytest.raises(TableError, match="is a folder"):
        check_output_path(tmp_path, "--out")
    with pytest.raises(TableError, match="unknown table format"):
        check_output_path(tmp_path / "out.txt", "--out", table=True)
    check_output_path(tmp_path / "out.csv", "--out", table=True)


def test_table_format_by_extension():
    assert table_format("a/b.NDJSON") == "jsonl"
    assert table_format("x.pq") == "parquet"
    with pytest.raises(TableError, match="no extension"):
        table_format("data")


def test_csv_cells_longer_than_the_csv_module_default_are_read(tmp_path):
    """Issue 15: a 200,000-character text read from JSON Lines was refused from CSV."""
    import csv

    text = "good " * 40_000
    for name in ("long.csv", "long.jsonl"):
        write_table(tmp_path / name, ["text"], [{"text": text}])
        assert read_table(tmp_path / name)[1] == [{"text": text}]
    assert csv.field_size_limit() == 131072  # the module's limit is left as it was


def test_parquet_chunks_refuse_a_value_their_column_type_would_cut(tmp_path):
    """A column first seen as integers must not store a later 1.5 as 1; the
    message names the target file, not its temporary twin."""
    pytest.importorskip("pyarrow")
    path = tmp_path / "out.parquet"
    with pytest.raises(TableError, match=r"out\.parquet: cannot store the rows as Parquet .*truncated"):
        with open_writer(path, ["score"]) as writer:
            writer.write([{"score": 1}])
            writer.write([{"score": 1.5}])
    assert not path.exists() and list(tmp_path.iterdir()) == []
    with open_writer(path, ["score"]) as writer:  # the other way round is lossless
        writer.write([{"score": 1.5}])
        writer.write([{"score": 2}])
    assert read_table(path)[1] == [{"score": 1.5}, {"score": 2.0}]


def test_jsonl_output_writes_dates_and_decimals_of_a_parquet_input_as_text(tmp_path):
    import datetime
    import decimal

    path = tmp_path / "out.jsonl"
    write_table(path, ["day", "amount"],
                [{"day": datetime.date(2026, 12, 6), "amount": decimal.Decimal("1.50")}])
    assert read_table(path)[1] == [{"day": "2026-12-06", "amount": "1.50"}]
