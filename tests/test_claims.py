"""The suites of the paper's claims (issue 36) on fast components (no LLM, no transformer).

Classic active learning runs through small-text for real; the LLM is an
oracle (see ``test_benchmarks.py``), the student and embedder TF-IDF
pipelines. The real numbers come from ``python -m benchmarks.active_learning``,
``benchmarks.self_improvement`` and ``benchmarks.larger_student``.
"""

import argparse
import json
import zlib

import numpy as np
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

pytest.importorskip("small_text")
# the fast components; importing them skips this module where the data is missing
from test_benchmarks import OracleLabeler, components

from benchmarks import (
    _claims,
    active_learning,
    freeal,
    larger_student,
    self_improvement,
)
from benchmarks.baselines import embed, llm_self_improvement

PLAN = {"mode": "quick", "role": "dev", "draws": {"tweets": (80, 40)}, "options": {},
        "llms": ["fake"]}


@pytest.fixture(scope="module")
def tweets():
    return freeal.load_dataset("tweets", 80, 40)


def _features(data):
    _, _, embedder = components(data).resolved("fake")
    fitted = clone(embedder).fit(data.X_train)
    return embed(fitted, data.X_train), embed(fitted, data.X_test)


def _gold(data):
    names = list(data.label_names)
    return np.array([names.index(str(v)) for v in data.y_train])


# ------------------------------------------------------------------ active learning

def test_small_text_selects_the_least_confident_texts_from_a_balanced_seed_set(tweets):
    train, test = _features(tweets)
    gold = _gold(tweets)
    state = np.random.get_state()[1].copy()
    steps = active_learning.simulate(train, gold, test, "least_confidence", [16, 40],
                                     batch_size=4, random_state=0)
    assert np.array_equal(np.random.get_state()[1], state)  # numpy's global generator put back
    first, second = steps[16]["indices"], steps[40]["indices"]
    assert len(first) == 16 and len(second) == 40 and len(set(second)) == 40
    assert np.array_equal(second[:16], first) and steps[40]["n_queries"] == 9
    seed = first[:active_learning.seed_size(80, 2)]
    assert np.bincount(gold[seed]).tolist() == [2, 2]
    # the first query: the 4 texts the seed set's logistic regression is least sure of
    probe = LogisticRegression(max_iter=1000, random_state=0).fit(train[seed], gold[seed])
    doubt = probe.predict_proba(train).max(axis=1)
    doubt[seed] = np.inf
    assert set(first[4:8]) == set(np.argsort(doubt)[:4])
    assert len(steps[16]["probe_pred"]) == 40
    again = active_learning.simulate(train, gold, test, "random", [16], batch_size=4)
    assert np.array_equal(again[16]["indices"][:4], seed)  # the same seed set for every strategy
    assert not np.array_equal(again[16]["indices"], first)


@pytest.fixture(scope="module")
def al_result(tmp_path_factory, tweets):
    out = tmp_path_factory.mktemp("al")
    paths = active_learning.run_suite(PLAN, strategies=["random", "least_confidence"],
                                      components=components(tweets), results_dir=out,
                                      command="pytest")
    return json.loads(paths[0].read_text())


def test_the_active_learning_suite_writes_every_row_with_its_labels(al_result):
    methods = al_result["methods"]
    expected = {f"{kind}_{s}_{p}" for kind in ("al", "freeal_labels")
                for s in ("random", "least_confidence") for p in ("20pct", "50pct")}
    assert set(methods) == expected | {"freeal_no_labels", "slm_gold"}
    assert methods["al_random_20pct"]["n_labelled"] == 16
    assert methods["freeal_labels_least_confidence_50pct"]["n_labelled"] == 40
    for row in methods.values():
        assert 0 <= row["accuracy"] <= 1 and row["seconds"] >= 0
    # the human's labels are never sent to the LLM: fewer requests with more of them
    assert (methods["freeal_labels_random_50pct"]["llm_calls"]
            < methods["freeal_labels_random_20pct"]["llm_calls"]
            < methods["freeal_no_labels"]["llm_calls"])
    assert methods["al_random_20pct"]["llm_calls"] == 0
    assert al_result["small_text"] == "1.4.1" and al_result["role"] == "dev"
    assert al_result["dataset"]["n_train"] == 80 and al_result["command"] == "pytest"
    assert al_result["settings"]["seed_size"] == 4 and al_result["settings"]["batch_size"] == 2
    assert methods["freeal_no_labels"]["source"] == "run here"


def test_freeal_given_human_labels_keeps_them_and_never_asks_the_llm_for_them(tweets):
    asked = []

    class Recording(OracleLabeler):
        def annotate(self, texts, demos=None):
            asked.extend(texts)
            return super().annotate(texts, demos)

    parts = components(tweets)
    idx = np.arange(0, 80, 4)
    y = active_learning.labelled_texts(idx, tweets.y_train, 80)
    assert sum(v is not None for v in y) == 20 and y[4] == tweets.y_train[4]
    clf, _, _, _ = freeal.fit_freeal(
        tweets, labeler=Recording(truth=parts.labeler.truth), slm=parts.slm,
        embedder=parts.embedder, n_rounds=2, n_demos=4, random_state=0, y=y,
        freeal_params={"use_labels": True, "n_generated_demos": 8})
    assert asked and not set(asked) & {tweets.X_train[i] for i in idx}
    assert list(clf.transduction_[idx]) == list(tweets.y_train[idx])


def test_freeal_rows_are_read_from_the_freeal_suites_file_of_the_same_draw(tmp_path, tweets):
    settings = {"random_state": 0, "n_rounds": 2, "n_demos": 4}
    result = {"role": "dev", "dataset": {"n_train": 80, "n_test": 40}, "settings": settings,
              "command": "python -m benchmarks.freeal --full",
              "methods": {"freeal_slm": {"accuracy": 0.61}, "slm_gold": {"accuracy": 0.7}}}
    (tmp_path / "freeal-full-tweets-fake.json").write_text(json.dumps(result))
    found = active_learning.freeal_reference(tmp_path, tweets, "tweets", "fake", settings)
    assert found["methods"]["freeal_slm"]["accuracy"] == 0.61
    assert active_learning.freeal_reference(tmp_path, tweets, "tweets", "fake",
                                            {**settings, "n_rounds": 3}) is None
    assert active_learning.freeal_reference(tmp_path, tweets, "yahoo", "fake", settings) is None
    labeler, slm, embedder = components(tweets).resolved("fake")
    out = active_learning.run_dataset(
        tweets, labeler=labeler, slm=slm, embedder=embedder, strategies=["random"],
        freeal_strategies=[], reference=found,
        freeal={"n_rounds": 2, "n_demos": 4, "params": {}})
    assert out["methods"]["freeal_no_labels"]["accuracy"] == 0.61
    assert out["methods"]["slm_gold"]["source"]["from"] == "python -m benchmarks.freeal --full"
    with pytest.raises(ValueError, match="include freeal_strategies"):
        active_learning.run_dataset(tweets, labeler=labeler, slm=slm, embedder=embedder,
                                    strategies=["random"], freeal_strategies=["least_confidence"],
                                    freeal={})


def test_the_plan_of_a_claims_suite():
    parser = _claims.add_suite_options(argparse.ArgumentParser())
    quick = _claims.plan(parser.parse_args(["--quick"]))
    assert quick["draws"] == {"tweets": (60, 30)} and quick["role"] == "dev"
    report = _claims.plan(parser.parse_args(["--role", "report", "--datasets", "mcid"]))
    assert report["draws"] == {"mcid": (1000, 250)} and report["mode"] == "report"
    with pytest.raises(SystemExit, match="--quick runs the quick dev draw"):
        _claims.plan(parser.parse_args(["--quick", "--role", "report"]))


# ------------------------------------------------------------------ self-improvement

class ImprovingOracle(OracleLabeler):
    """Wrong (and unsure: confidence 0.5) on some texts the first time only."""

    def annotate(self, texts, demos=None):
        seen = self.__dict__.setdefault("seen_", set())
        ids, conf = super().annotate(texts, demos)
        for i, text in enumerate(texts):
            gold = self.labels.index(self.truth[text])
            if text in seen or (zlib.crc32(text.encode()) % 1000) / 1000 >= self.error_rate:
                ids[i], conf[i] = gold, 0.9
            else:
                ids[i], conf[i] = (gold + 1) % len(self.labels), 0.5
            seen.add(text)
        return ids, conf


def test_the_llm_improves_its_own_least_confident_labels(tweets):
    parts = components(tweets)
    names = list(tweets.label_names)
    llm = ImprovingOracle(truth=parts.labeler.truth, labels=names, error_rate=0.3)
    train, _ = _features(tweets)
    gold = _gold(tweets)
    fitted = clone(parts.embedder).fit(tweets.X_train)
    own = llm_self_improvement(llm, list(tweets.X_train), train, lambda t: embed(fitted, t),
                               n_annotated=[80, 40], n_generated=8, n_demos=4,
                               top_percent=0.2, per_class=5, random_state=0)
    first, last = (np.mean(r["labels"] == gold) for r in own["rounds"])
    n_wrong = int(np.sum(own["rounds"][0]["labels"] != gold))
    assert 0 < n_wrong <= 40 and first == 1 - n_wrong / 80 and last == 1.0
    assert [r["calls"] for r in own["rounds"]] == [80, 40]
    assert [r["n_annotated"] for r in own["rounds"]] == [80, 40]
    # the pool: confident answers only, none of the texts asked again
    assert set(own["pool"]["texts"]) <= {t for t, y in zip(tweets.X_train, own["labels"])}
    assert len(own["pool"]["texts"]) == 10 and np.array_equal(own["labels"], gold)


def test_the_self_improvement_suite_matches_freeal_round_for_round(tmp_path, tweets):
    paths = self_improvement.run_suite(PLAN, components=components(tweets),
                                       results_dir=tmp_path, command="pytest")
    result = json.loads(paths[0].read_text())
    assert paths[0].name == "self_improvement-quick-tweets-fake.json"
    assert set(result["methods"]) == {"freeal_slm", "freeal_demos_llm", "self_improvement_llm",
                                      "self_improvement_slm"}
    theirs, ours = result["rounds"]["freeal"], result["rounds"]["self_improvement"]
    assert [r["n_annotated"] for r in ours] == [r["n_annotated"] for r in theirs]
    assert [r["calls"] for r in ours] == [r["calls"] for r in theirs]
    assert all(0 <= r["llm_label_accuracy"] <= 1 for r in ours)
    assert result["methods"]["self_improvement_llm"]["llm_calls"] == 40
    assert result["methods"]["self_improvement_llm"]["pool_size"] > 0
    assert result["role"] == "dev" and result["dataset"]["n_test"] == 40


# ------------------------------------------------------------------ larger student

class PathStudent(ClassifierMixin, BaseEstimator):
    """A TF-IDF student that stands in for RobustTextClassifier's encoder choice."""

    def __init__(self, model_name_or_path=None, robust=True, random_state=None):
        self.model_name_or_path = model_name_or_path
        self.robust = robust
        self.random_state = random_state

    def fit(self, X, y):
        self.model_ = make_pipeline(TfidfVectorizer(), LogisticRegression(max_iter=500))
        self.model_.fit(X, y)
        self.classes_ = self.model_.classes_
        return self

    def predict_proba(self, X):
        return self.model_.predict_proba(X)


def test_the_larger_student_suite_trains_freeal_and_gold_with_each_encoder(tmp_path, tweets,
                                                                           monkeypatch):
    from skfreeal import assets

    monkeypatch.setattr(assets, "mpnet_path", lambda: "/packaged/all-mpnet-base-v2")
    parts = components(tweets)
    parts.slm = PathStudent()
    paths = larger_student.run_suite(PLAN, components=parts, results_dir=tmp_path)
    result = json.loads(paths[0].read_text())
    rows = result["students"]
    assert set(rows) == {"all-MiniLM-L6-v2", "all-mpnet-base-v2"}
    assert "/packaged/all-mpnet-base-v2" in rows["all-mpnet-base-v2"]["slm"]
    assert "model_name_or_path" not in rows["all-MiniLM-L6-v2"]["slm"]
    for row in rows.values():
        assert {"accuracy", "seconds", "cpu_seconds", "peak_rss_mib"} <= set(row["freeal_slm"])
        assert row["slm_gold"]["labels_from"] == "gold"
    with pytest.raises(ValueError, match="student must be one of .*got 'roberta'"):
        larger_student.student_for(parts.slm, "roberta")
