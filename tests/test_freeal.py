"""FreeALClassifier's loop: invariants, fitted state, scikit-learn integration.

These tests use fast components so that the loop itself is what is tested: a
rule-based labeler that errs on a known set of texts in its first answer, a
TF-IDF + logistic-regression student and a TF-IDF embedder. The end-to-end
tests with the real labelers and the transformer student live in
``test_freeal_e2e.py``.
"""

import pickle
import re
from collections import Counter

import joblib
import numpy as np
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline

from skfreeal import (
    DemoPolicy,
    FreeALClassifier,
    GMMNoiseFilter,
    RobustTextClassifier,
    RoundPolicy,
    SmallLossNoiseFilter,
)
from skfreeal.labels import SingleLabelSpace
from skfreeal.loop import JudgeView, learned_nothing
from skfreeal.noise import BaseNoiseFilter

POS = "good great happy lovely wonderful excellent nice superb".split()
NEG = "bad awful sad terrible horrible poor nasty dreadful".split()
FILL = "the a movie day film food trip show it was really quite so".split()


def make_texts(n, seed=0):
    rng = np.random.RandomState(seed)
    texts, gold = [], []
    for i in range(n):
        label = i % 2
        words = list(rng.choice(POS if label else NEG, 2)) + list(rng.choice(FILL, 4))
        rng.shuffle(words)
        texts.append(" ".join(words) + f" #{i}")
        gold.append(label)
    return texts, np.array(gold)


class RuleLabeler(BaseEstimator):
    """A deterministic annotator: right by keywords, except that its first
    answer on ``wrong_first`` texts is the wrong label, and it abstains on
    texts containing "???". Logs every text it is asked about."""

    def __init__(self, labels=None, task=None, wrong_first=()):
        self.labels = labels
        self.task = task
        self.wrong_first = wrong_first

    def annotate(self, texts, demos=None):
        self.log_ = getattr(self, "log_", Counter())
        out, conf = [], []
        for text in texts:
            self.log_[text] += 1
            if "???" in text:
                out.append(-1)
                conf.append(0.0)
                continue
            truth = int(any(w in text.split() for w in POS))
            wrong = text in self.wrong_first and self.log_[text] == 1
            out.append(1 - truth if wrong else truth)
            conf.append(0.9)
        self.usage_ = {"calls": sum(self.log_.values()), "prompt_tokens": 0,
                       "completion_tokens": 0, "cache_hits": 0, "cost": 0.0}
        return np.array(out), np.array(conf)

    def generate_demos(self, n, examples, random_state=None):
        return [(f"{POS[i % 8]} thing" if i % 2 else f"{NEG[i % 8]} thing", i % 2)
                for i in range(n)]


def tfidf_slm():
    return make_pipeline(TfidfVectorizer(), LogisticRegression(C=10.0))


def tfidf_embedder():
    return make_pipeline(TfidfVectorizer(), TruncatedSVD(n_components=8, random_state=0))


_ROUND_SETTINGS = set(RoundPolicy().get_params())
_DEMO_SETTINGS = set(DemoPolicy().get_params())


def with_policies(params):
    """``params`` with the settings of the two policies gathered into ``rounds`` and ``demos``
    (the tests name them flat, ``n_rounds=2``, for brevity)."""
    rounds = {k: params.pop(k) for k in list(params) if k in _ROUND_SETTINGS}
    demos = {k: params.pop(k) for k in list(params) if k in _DEMO_SETTINGS}
    if rounds:
        params["rounds"] = RoundPolicy(**rounds)
    if demos:
        params["demos"] = DemoPolicy(**demos)
    return params


def make_clf(wrong_first=(), **kwargs):
    params = dict(labeler=RuleLabeler(wrong_first=tuple(wrong_first)), slm=tfidf_slm(),
                  embedder=tfidf_embedder(), n_demos=4, random_state=0)
    params.update(kwargs)
    return FreeALClassifier(["negative", "positive"], "Sentiment of a short review.",
                            **with_policies(params))


@pytest.fixture
def noisy_data():
    texts, gold = make_texts(120)
    wrong = [t for i, t in enumerate(texts) if i % 5 == 0]  # 20% wrong first answers
    return texts, gold, wrong


@pytest.mark.parametrize("judge", ["probe", None], ids=["default-judge", "student-judges"])
def test_loop_refines_labels_and_keeps_invariants(noisy_data, judge):
    texts, gold, wrong = noisy_data
    clf = make_clf(wrong, n_rounds=2, judge=judge).fit(texts)
    first = clf.round_labels_[0]
    assert np.mean(first == gold) == pytest.approx(0.8)
    assert np.mean(clf.label_ids_ == gold) > 0.95  # the noisy texts were re-annotated and fixed
    # at most two annotations per text, counted by the labeler itself
    assert max(clf.labeler_.log_.values()) <= 2
    np.testing.assert_array_equal(clf.n_annotations_, [clf.labeler_.log_[t] for t in texts])
    # only the texts round 0's judge (the probe, or the SLM) found noisy were re-annotated
    round0 = make_clf(wrong, n_rounds=1, judge=judge).fit(texts)
    reannotated = clf.n_annotations_ == 2
    np.testing.assert_array_equal(reannotated, ~round0.round_clean_masks_[0])
    # history agrees with the labels
    h0, h1 = clf.history_
    assert h0["n_annotated"] == len(texts) and h1["n_annotated"] == reannotated.sum()
    assert h1["n_changed"] == np.sum(clf.round_labels_[1] != clf.round_labels_[0])
    assert h1["n_labelled"] == np.sum(clf.label_ids_ >= 0)
    np.testing.assert_array_equal(clf.round_labels_[-1], clf.label_ids_)
    assert clf.n_rounds_ == 2 and clf.usage_["calls"] == len(texts) + reannotated.sum()
    assert set(clf.label_round_[reannotated & (clf.round_labels_[1] != first)]) == {1}


def test_fitted_state_and_predict(noisy_data):
    texts, gold, wrong = noisy_data
    clf = make_clf(wrong).fit(texts)
    assert clf.classes_.tolist() == ["negative", "positive"]
    assert clf.transduction_.tolist() == clf.classes_[clf.label_ids_].tolist()
    assert clf.clean_mask_.dtype == bool and clf.clean_mask_.shape == (len(texts),)
    assert all(label in clf.classes_ for _, label in clf.demos_)
    proba = clf.predict_proba(["good great day", "awful sad day"])
    assert proba.shape == (2, 2) and np.allclose(proba.sum(1), 1)
    assert clf.predict(["good great day", "awful sad day"]).tolist() == ["positive", "negative"]
    assert clf.score(texts, clf.classes_[gold]) > 0.9


def test_abstained_texts_stay_unknown_then_get_a_second_try():
    texts, gold = make_texts(60)
    texts[3] = texts[3] + " ???"
    clf = make_clf(n_rounds=2).fit(texts)
    assert clf.label_ids_[3] == -1 and clf.transduction_[3] is None
    assert clf.n_annotations_[3] == 2  # unknown is never clean, so it is asked again
    assert clf.history_[0]["n_abstain"] == 1 and np.isnan(clf.confidence_[3])


def test_stops_early_when_no_label_changes():
    texts, _ = make_texts(60)
    clf = make_clf(n_rounds=4).fit(texts)
    assert clf.n_rounds_ <= 2 and clf.stop_reason_ == "no_change"
    assert clf.history_[-1]["n_changed"] == 0
    assert len(clf.round_labels_) == len(clf.history_) == clf.n_rounds_


def test_stop_reasons_for_rounds_done_and_nothing_left(noisy_data):
    texts, _, wrong = noisy_data
    assert make_clf(wrong, n_rounds=2).fit(texts).stop_reason_ == "max_rounds"
    # one annotation per text: after round 0 no noisy text may be asked again
    clf = make_clf(wrong, n_rounds=3, max_annotations=1).fit(texts)
    assert clf.stop_reason_ == "nothing_to_annotate" and clf.n_rounds_ == 1


def test_given_labels_seed_pool_and_are_never_overwritten(noisy_data):
    texts, gold, wrong = noisy_data
    y = np.full(len(texts), -1, dtype=object)
    y[:10] = np.array(["negative", "positive"])[1 - gold[:10]]  # deliberately wrong
    clf = make_clf(wrong, use_labels=True).fit(texts, y)
    np.testing.assert_array_equal(clf.label_ids_[:10], 1 - gold[:10])
    assert all(clf.labeler_.log_[t] == 0 for t in texts[:10])
    ignored = make_clf(wrong).fit(texts, y)  # use_labels=False: y plays no part
    assert all(ignored.labeler_.log_[t] >= 1 for t in texts[:10])


def test_zero_demos_annotates_zero_shot():
    texts, gold = make_texts(40)
    clf = make_clf(n_demos=0, n_rounds=1).fit(texts)
    assert clf.demos_ == [] and np.mean(clf.label_ids_ == gold) == 1.0


@pytest.mark.parametrize("strategy", ["random", "uncertainty"])
def test_label_fraction_annotates_a_new_subset_each_round(strategy):
    texts, gold = make_texts(100)
    clf = make_clf(label_fraction=0.2, n_rounds=3, query_strategy=strategy).fit(texts)
    annotated = clf.n_annotations_ > 0
    assert clf.history_[0]["n_annotated"] == 20
    assert 40 <= annotated.sum() <= 60 and clf.n_rounds_ == 3
    assert (clf.label_ids_[~annotated] == -1).all()


@pytest.mark.parametrize("judge", ["probe", None], ids=["the-probe", "a-plain-student"])
def test_noise_filter_splits_a_plain_students_losses(noisy_data, judge):
    texts, _, wrong = noisy_data
    clf = make_clf(wrong, n_rounds=1, noise_filter=SmallLossNoiseFilter(keep_ratio=0.5),
                   judge=judge).fit(texts)
    assert clf.history_[0]["clean_fraction"] == pytest.approx(0.5, abs=0.01)
    assert clf.noise_filter.__dict__.get("cutoff_") is None  # the user's filter is never fitted


def test_fitted_estimator_holds_only_documented_public_state(noisy_data):
    texts, _, wrong = noisy_data
    clf = make_clf(wrong).fit(texts)
    private = [name for name in vars(clf) if name.startswith("_")]
    assert private == [] and not any(name.startswith("_slm") for name in dir(clf))
    fitted = {name for name in vars(clf) if name.endswith("_")}
    documented = FreeALClassifier.__doc__.split("Attributes")[1].split("See Also")[0]
    assert all(f"{name} :" in documented for name in fitted), fitted


class _NoScore(BaseEstimator):
    def fit(self, losses, y=None):
        return self

    def predict(self, losses):
        return np.ones(len(losses), bool)


class _NoKneighbors(BaseEstimator):
    def fit(self, embeddings, labels):
        return self


@pytest.mark.parametrize("param, value, missing", [
    ("labeler", "gpt", "annotate(), generate_demos(), set_params()"),
    ("slm", TfidfVectorizer(), "predict_proba()"),
    ("noise_filter", _NoScore(), "score_samples()"),
    ("retriever", _NoKneighbors(), "kneighbors()"),
    ("query_strategy", object(), "select()"),
])
def test_components_are_checked_against_their_contract(param, value, missing):
    """The error names the parameter, the value and each missing method, before any call."""
    texts, _ = make_texts(20)
    clf = make_clf(**{param: value})
    with pytest.raises(TypeError, match=rf"{param}=.* lacks {re.escape(missing)}: a {param} must"):
        clf.fit(texts)
    if param != "labeler":
        assert clf.labeler.__dict__.get("log_") is None  # refused before any LLM call


class _FirstNeighbours(BaseEstimator):
    """A retriever that always shows the first pool items (counts its queries)."""

    def fit(self, embeddings, labels):
        self.n_pool_ = len(labels)
        return self

    def kneighbors(self, embeddings, n_neighbors, *, exclude=None):
        k = min(n_neighbors, self.n_pool_)
        return np.tile(np.arange(k), (len(embeddings), 1))


class _LastCandidates(BaseEstimator):
    """A query strategy that takes the candidates of highest index."""

    def select(self, candidates, n, *, proba=None, random_state=None):
        return np.sort(np.asarray(candidates))[::-1][:n]


def test_retriever_and_query_strategy_objects_are_used():
    texts, _ = make_texts(100)
    clf = make_clf(retriever=_FirstNeighbours(), query_strategy=_LastCandidates(),
                   label_fraction=0.2, n_rounds=2).fit(texts)
    annotated = np.flatnonzero(clf.n_annotations_ > 0)
    assert set(range(80, 100)) <= set(annotated)  # round 1's new subset: the last 20


@pytest.mark.usefixtures("torch_single_thread")
def test_robust_student_gets_every_text_in_the_p_percent_mode(tiny_encoder_path):
    """Unannotated and abstained texts reach the robust student's consistency loss; it
    splits with its own noise filter, FreeAL's is the judge's."""
    texts, _ = make_texts(40)
    texts[5] += " ???"  # the labeler abstains on it
    student = RobustTextClassifier(tiny_encoder_path, max_epochs=2, warmup_epochs=1,
                                   batch_size=8, lr=3e-3,
                                   noise_filter=SmallLossNoiseFilter(keep_ratio=0.6))
    clf = make_clf(slm=student, label_fraction=0.3, n_rounds=2,
                   noise_filter=SmallLossNoiseFilter(keep_ratio=0.5)).fit(texts)
    assert clf.slm_.sample_losses_.shape == (len(texts),)
    unlabelled = clf.label_ids_ < 0
    assert unlabelled.sum() >= 16  # 40 texts, 2 x 30% annotated
    assert np.isnan(clf.slm_.sample_losses_[unlabelled]).all()
    assert np.isfinite(clf.slm_.sample_losses_[~unlabelled]).all()
    assert clf.slm_.noise_filter_.keep_ratio == 0.6
    assert clf.history_[0]["clean_fraction"] == pytest.approx(0.5, abs=0.1)  # the judge's
    assert clf.slm_.history_[-1]["n_samples"] == len(texts)  # robust epochs saw every text


@pytest.mark.parametrize("kwargs, X, exc, match", [
    (dict(labels=["only"]), None, ValueError, "at least two label names"),
    (dict(labels="negative"), None, TypeError, "'labels' parameter.*array-like.*'negative'"),
    (dict(labels=["a", "A "]), None, ValueError, "distinct"),
    (dict(task="  "), None, ValueError, "task must describe"),
    (dict(rounds=RoundPolicy(0)), None, ValueError, "'n_rounds' parameter of RoundPolicy"),
    (dict(demos__top_percent=1.5), None, ValueError, "'top_percent' parameter of DemoPolicy"),
    (dict(rounds__query_strategy="smart"), None, ValueError, "query_strategy must be 'random'"),
    (dict(labeler="gpt"), None, TypeError, "labeler='gpt' lacks annotate()"),
    (dict(demos__retriever="bm25"), None, ValueError, "retriever must be 'knn', 'balanced-knn'"),
    (dict(rounds={"n_rounds": 2}), None, ValueError,
     "'rounds' parameter of FreeALClassifier must be an instance of 'skfreeal.loop."
     "RoundPolicy' or None. Got {'n_rounds': 2} instead"),
    ({}, "one text", TypeError, "iterable of texts"),
    ({}, [], ValueError, "X is empty"),
    ({}, ["fine", 7], TypeError, r"X\[1\] must be a str"),
])
def test_bad_input_names_parameter_and_value(kwargs, X, exc, match):
    clf = make_clf()
    labels = kwargs.pop("labels", ["negative", "positive"])
    clf.set_params(labels=labels, **kwargs)
    with pytest.raises(exc, match=match):
        clf.fit(make_texts(10)[0] if X is None else X)


def test_bad_y_and_eval_set():
    texts, _ = make_texts(10)
    with pytest.raises(ValueError, match="y has 3 entries but X has 10"):
        make_clf().fit(texts, ["negative"] * 3)
    with pytest.raises(ValueError, match=r"y\[0\] = 'neutral' is not one of labels"):
        make_clf(use_labels=True).fit(texts, ["neutral"] + [-1] * 9)
    with pytest.raises(ValueError, match="eval_set"):
        make_clf().fit(texts, eval_set=(texts, ["meh"] * 10))


def test_eval_set_is_scored_each_round(noisy_data):
    texts, gold, wrong = noisy_data
    clf = make_clf(wrong).fit(texts, eval_set=(texts[:20], ["negative", "positive"] * 10))
    assert all(0 <= h["eval_accuracy"] <= 1 for h in clf.history_)


class CountingEmbedder(BaseEstimator):
    """TF-IDF + SVD that counts, per text, how often ``transform`` embedded it."""

    embedded = Counter()

    def fit(self, X, y=None):
        self.pipeline_ = tfidf_embedder().fit(X)
        return self

    def transform(self, X):
        CountingEmbedder.embedded.update(X)
        return self.pipeline_.transform(X)


def test_a_probe_judge_scores_eval_set_texts_from_training_without_embedding_them_again(
        noisy_data):
    texts, _, wrong = noisy_data
    CountingEmbedder.embedded.clear()
    unseen = "an unseen review, great and lovely"
    eval_texts = [*texts[:20], unseen]
    clf = make_clf(wrong, embedder=CountingEmbedder(), n_rounds=1).fit(
        texts, eval_set=(eval_texts, ["negative", "positive"] * 10 + ["positive"]))
    assert clf.history_[0]["eval_accuracy"] is not None
    assert CountingEmbedder.embedded[unseen] == 1
    assert max(CountingEmbedder.embedded[t] for t in texts[:20]) == 1


def test_embed_reusing_gives_the_rows_embed_would():
    from skfreeal.loop._embedding import embed_reusing as _embed_reusing

    def embed(batch):
        return np.array([[len(t), t.count("a")] for t in batch], dtype=np.float32)

    texts = ["abc", "aa", "b"]
    batch = ["b", "new text a", "abc", "zz"]
    np.testing.assert_array_equal(_embed_reusing(embed, batch, texts, embed(texts)),
                                  embed(batch))


def test_clone_params_pickle_and_joblib_round_trip(noisy_data, tmp_path):
    texts, _, wrong = noisy_data
    clf = make_clf(wrong)
    assert clone(clf).get_params()["labeler__wrong_first"] == tuple(wrong)
    clf.set_params(labeler__wrong_first=())
    assert clf.labeler.wrong_first == ()
    clf.fit(texts)
    assert clf.labeler.__dict__.get("log_") is None  # the user's labeler is never fitted
    path = tmp_path / "model.joblib"
    joblib.dump(clf, path)
    again = joblib.load(path)
    np.testing.assert_array_equal(again.predict_proba(texts), clf.predict_proba(texts))
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(clf)).label_ids_, clf.label_ids_)


def test_grid_search_over_top_percent_and_noise_threshold(noisy_data):
    texts, gold, wrong = noisy_data
    clf = make_clf(wrong, slm=make_pipeline(TfidfVectorizer(), LogisticRegression()))
    grid = GridSearchCV(clf, {"demos__top_percent": [0.1, 0.2, 0.5],
                              "demos__n_demos": [2, 4], "noise_filter__threshold": [0.5, 0.7]},
                        cv=2)
    grid.fit(texts, np.array(["negative", "positive"])[gold])
    assert grid.best_score_ > 0.9
    assert set(grid.best_params_) == {"demos__top_percent", "demos__n_demos",
                                      "noise_filter__threshold"}
    assert grid.best_estimator_.demos.top_percent in (0.1, 0.2, 0.5)
    assert clf.demos.top_percent == 0.2 and clf.noise_filter is None  # the prototype unchanged


def test_estimate_is_a_dry_run(noisy_data):
    texts, _, wrong = noisy_data
    clf = make_clf(wrong)
    est = clf.estimate(texts)
    assert est["n_texts"] == len(texts)
    assert est["min_calls"] <= est["expected_calls"] <= est["max_calls"]
    assert clf.labeler.__dict__.get("log_") is None


def test_single_class_from_the_llm_gives_a_clear_error():
    texts = [f"good {FILL[i]} great {FILL[-i - 1]} #{i}" for i in range(12)]
    with pytest.raises(ValueError, match=r"fewer than two classes \({'positive': 12}"):
        make_clf(n_rounds=1).fit(texts)


class ProbaRuleLabeler(RuleLabeler):
    """RuleLabeler with label distributions: 0.9 on its answer, 0.55 on a wrong first answer.

    ``one_sided`` makes its demo generation write texts of label 0 only.
    """

    def __init__(self, labels=None, task=None, wrong_first=(), one_sided=False):
        super().__init__(labels=labels, task=task, wrong_first=wrong_first)
        self.one_sided = one_sided

    def fit_annotate_proba(self, texts, demos=None):
        return ProbaRuleLabeler.annotate_proba(self, texts, demos)

    def annotate_proba(self, texts, demos=None):
        ids, _ = self.annotate(texts, demos)
        proba = np.full((len(texts), 2), np.nan)
        for row, (text, label) in enumerate(zip(texts, ids)):
            if label >= 0:
                sure = 0.55 if text in self.wrong_first and self.log_[text] == 1 else 0.9
                proba[row] = [sure, 1 - sure] if label == 0 else [1 - sure, sure]
        return proba

    def generate_demos(self, n, examples, random_state=None):
        demos = super().generate_demos(n, examples, random_state)
        return [d for d in demos if d[1] == 0] if self.one_sided else demos


def test_label_distributions_are_kept_and_give_the_confidence(noisy_data):
    texts, gold, wrong = noisy_data
    clf = make_clf(labeler=ProbaRuleLabeler(wrong_first=tuple(wrong)), n_rounds=1).fit(texts)
    assert clf.label_proba_.shape == (len(texts), 2)
    np.testing.assert_allclose(clf.label_proba_.sum(1), 1.0)
    np.testing.assert_array_equal(clf.label_proba_.argmax(1), clf.label_ids_)
    np.testing.assert_allclose(clf.confidence_, clf.label_proba_.max(1))
    assert set(np.round(clf.confidence_, 2)) == {0.55, 0.9}


def test_the_labeler_calibrates_on_round_0_and_keeps_it_for_later_rounds(noisy_data):
    """The doubtful texts of round 1 are no sample to estimate the LLM's tilt on: the loop
    has the labeler calibrate on round 0's texts (fit_annotate_proba) and only ask later."""
    texts, gold, wrong = noisy_data

    class Tilted(ProbaRuleLabeler):
        def fit_annotate_proba(self, texts, demos=None):
            self.calibrated_on_ = getattr(self, "calibrated_on_", []) + [len(texts)]
            return super().fit_annotate_proba(texts, demos)

        def annotate_proba(self, texts, demos=None):
            self.asked_ = getattr(self, "asked_", []) + [len(texts)]
            return super().annotate_proba(texts, demos)

    clf = make_clf(labeler=Tilted(wrong_first=tuple(wrong)), n_rounds=2).fit(texts)
    assert clf.history_[1]["n_annotated"] < len(texts)  # round 1 asks about the doubtful ones only
    assert clf.labeler_.calibrated_on_ == [len(texts)]   # calibrated once, on every text
    assert clf.labeler_.asked_ == [clf.history_[1]["n_annotated"]]


def test_a_round_that_would_leave_one_label_keeps_the_previous_round(noisy_data):
    texts, gold, wrong = noisy_data

    class Collapsing(RuleLabeler):
        def annotate(self, texts, demos=None):
            ids, confidence = super().annotate(texts, demos)
            if demos is not None and self.log_[texts[0]] > 1:  # any second answer
                ids = np.ones_like(ids)
            return ids, confidence

    class NothingClean(BaseNoiseFilter):  # every text is asked again
        _parameter_constraints = {}
        threshold = 0.5

        def _fit(self, losses, y):
            pass

        def _score(self, losses):
            return np.zeros(losses.shape[0])

    clf = make_clf(labeler=Collapsing(wrong_first=tuple(wrong)), n_rounds=3,
                   noise_filter=NothingClean()).fit(texts)
    assert clf.stop_reason_ == "one_class" and clf.n_rounds_ == 1
    assert set(clf.label_ids_) == {0, 1}
    np.testing.assert_array_equal(clf.label_ids_, clf.round_labels_[0])


class CollapsesOnManyLabels(ClassifierMixin, BaseEstimator):
    """TF-IDF + logistic regression that answers one class once given over ``above`` labels."""

    def __init__(self, above=80):
        self.above = above

    def fit(self, X, y):
        self.model_ = tfidf_slm().fit(X, y)
        self.classes_ = self.model_.classes_
        self.constant_ = len(X) > self.above
        return self

    def predict_proba(self, X):
        if not self.constant_:
            return self.model_.predict_proba(X)
        proba = np.zeros((len(X), len(self.classes_)))
        proba[:, 0] = 1.0
        return proba

    def predict(self, X):
        return self.classes_[self.predict_proba(X).argmax(1)]


def test_a_round_whose_student_collapses_keeps_the_previous_student(noisy_data, caplog):
    texts, gold, wrong = noisy_data  # 120 texts: round 0 labels 60, round 1 all 120
    clf = make_clf(wrong, slm=CollapsesOnManyLabels(above=80), n_rounds=3,
                   label_fraction=0.5, judge=None).fit(texts)
    assert clf.stop_reason_ == "student_collapsed" and clf.n_rounds_ == 2
    assert clf.kept_round_ == 0 and not clf.slm_.constant_
    assert clf.history_[1]["judge_agreement"] <= 0.6  # what the rule read
    assert "Round 1's student agrees with its training labels hardly more" in caplog.text
    assert np.mean(clf.predict(texts) == np.asarray(["negative", "positive"])[gold]) > 0.8
    assert (clf.label_ids_ >= 0).sum() == len(texts)  # round 1's labels are kept
    assert [h["judge_kept"] for h in clf.history_] == [True, False]
    healthy = make_clf(wrong, n_rounds=2, judge=None).fit(texts)
    assert healthy.stop_reason_ == "max_rounds" and healthy.kept_round_ == 1
    assert [h["judge_kept"] for h in healthy.history_] == [False, True]


SPACE3 = SingleLabelSpace(["a", "b", "c"])


def _view_of(pred, n_classes):
    proba = np.eye(n_classes)[np.asarray(pred)]
    return JudgeView(proba=proba, losses=np.zeros(len(proba)), pred=proba.argmax(1),
                       clean_mask=np.ones(len(proba), bool))


def test_the_collapse_rule_spares_a_sound_student_of_skewed_noisy_labels():
    # 80% of the labels are class 0; the student disagrees with a fifth of
    # them (the noise it refuses to fit) but recovers every class.
    y = np.r_[np.zeros(80, np.int64), np.ones(10, np.int64), np.full(10, 2, np.int64)]
    pred = y.copy()
    pred[:17] = 1 + np.arange(17) % 2  # 17 majority texts given a minority label
    pred[80:83] = 0  # and 3 minority texts given the majority label
    assert np.mean(pred == y) <= 0.8  # the majority rule alone would call this a collapse
    assert not learned_nothing(_view_of(pred, 3), y, SPACE3)
    # A student answering the majority label everywhere has collapsed.
    assert learned_nothing(_view_of(np.zeros(100, np.int64), 3), y, SPACE3)
    # Near-balanced labels and a student that answers one label but for a few texts (the
    # tweets P% cell: agreement 0.51 with 200 labels, test 0.50): collapsed too.
    labels = np.r_[np.zeros(101, np.int64), np.ones(99, np.int64)]
    pred = np.zeros(200, np.int64)
    pred[101:104] = 1  # 3 of the other label right
    assert np.mean(pred == labels) > 101 / 200  # above the majority share
    assert learned_nothing(_view_of(pred, 2), labels, SPACE3)
    pred[101:121] = 1  # 20 of them right: agreement 0.605, no longer near-constant
    assert not learned_nothing(_view_of(pred, 2), labels, SPACE3)
    # Unknown labels (-1) are ignored; no known label: nothing to judge.
    assert learned_nothing(_view_of(np.zeros(101, np.int64), 3), np.r_[y, -1], SPACE3)
    assert not learned_nothing(_view_of(np.zeros(3, np.int64), 3), np.full(3, -1), SPACE3)


def test_product_fusion_lets_a_sure_student_outvote_an_unsure_llm(noisy_data):
    """A labeler that repeats its unsure wrong answer: fusion takes the student's side."""
    texts, gold, wrong = noisy_data

    class Stubborn(ProbaRuleLabeler):
        def annotate(self, texts, demos=None):
            self.log_ = getattr(self, "log_", Counter())
            for text in texts:
                self.log_[text] = 0  # every answer is a first answer: wrong ones stay wrong
            return super().annotate(texts, demos)

    labeler = Stubborn(wrong_first=tuple(wrong))
    # a student that cannot memorise the wrong labels (its own view is the point here)
    student = make_pipeline(TfidfVectorizer(), LogisticRegression(C=0.5))
    llm_only = make_clf(labeler=labeler, slm=student, n_rounds=2, judge=None,
                        label_fusion="llm").fit(texts)
    fused = make_clf(labeler=labeler, slm=student, n_rounds=2, judge=None,
                     label_fusion="product").fit(texts)
    assert np.mean(llm_only.label_ids_ == gold) == pytest.approx(0.8)
    assert np.mean(fused.label_ids_ == gold) > 0.9
    np.testing.assert_array_equal(fused.round_labels_[0], llm_only.round_labels_[0])


class RecordingProbe(LogisticRegression):
    """The probe judge, recording each view it gives (``VIEWS``, shared by its clones)."""

    VIEWS = []

    def predict_proba(self, X):
        proba = super().predict_proba(X)
        self.VIEWS.append(proba)
        return proba


def test_by_default_a_reasked_label_is_the_product_of_the_llms_and_the_judges_views(
        noisy_data):
    texts, gold, wrong = noisy_data
    defaults = FreeALClassifier(["a", "b"], "t").get_params()
    assert defaults["judge"] == "probe" and defaults["rounds"] is None
    assert RoundPolicy().label_fusion == "product"
    RecordingProbe.VIEWS.clear()
    clf = make_clf(labeler=ProbaRuleLabeler(wrong_first=tuple(wrong)), n_rounds=2,
                   judge=RecordingProbe(max_iter=1000)).fit(texts)
    asked = clf.n_annotations_ == 2
    assert asked.any()
    llm = np.eye(2)[gold[asked]] * 0.8 + 0.1  # the second answers: right, with 0.9
    expected = llm * np.clip(RecordingProbe.VIEWS[0][asked], 1e-6, None)
    expected /= expected.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(clf.label_proba_[asked], expected, rtol=1e-6)
    np.testing.assert_array_equal(clf.label_ids_[asked], expected.argmax(axis=1))


def test_labels_without_generated_demos_are_filled_from_the_llms_surest_texts():
    texts, _ = make_texts(80)
    clf = make_clf(labeler=ProbaRuleLabeler(one_sided=True), n_rounds=1, n_generated=8)
    first_pool = clf.fit(texts).demos_
    assert {label for _, label in first_pool} == {"negative", "positive"}
    filled = [t for t, label in first_pool if label == "positive"]
    assert len(filled) == 2 and all(t in texts for t in filled)  # half of 4 per label
    unfilled = make_clf(labeler=ProbaRuleLabeler(one_sided=True), n_rounds=1,
                        n_generated=8, fill_missing=False).fit(texts)
    assert {label for _, label in unfilled.demos_} == {"negative"}


def test_filling_short_labels_never_sends_a_given_label_to_the_llm():
    """The ``use_labels`` promise holds in round 0's fill too: the texts the user
    labelled are neither asked about nor added to the pool a second time."""
    texts, gold = make_texts(80)
    y = np.full(len(texts), -1, dtype=object)
    y[:60] = "negative"  # the user's labels hold no positive: the fill must find some
    clf = make_clf(labeler=ProbaRuleLabeler(one_sided=True), n_rounds=1, n_generated=8,
                   use_labels=True).fit(texts, y)
    assert all(clf.labeler_.log_[t] == 0 for t in texts[:60])
    filled = [t for t, label in clf.demos_ if label == "positive"]
    assert filled and all(t in texts[60:] for t in filled)


def test_a_label_fraction_too_small_for_two_texts_is_refused_before_any_llm_call():
    texts, _ = make_texts(50)
    clf = make_clf(label_fraction=0.01)
    with pytest.raises(ValueError, match=r"label_fraction=0\.01 .* 1 of the 50 texts"):
        clf.fit(texts)
    assert not hasattr(clf, "labeler_") or not clf.labeler_.__dict__.get("log_")
    assert make_clf(label_fraction=0.1, n_rounds=1).fit(texts).history_[0]["n_annotated"] == 5


def test_label_fraction_counts_are_free_of_floating_point_noise():
    texts, _ = make_texts(100)
    clf = make_clf(label_fraction=0.07, n_rounds=1).fit(texts)  # 0.07 * 100 = 7.000000000000001
    assert clf.history_[0]["n_annotated"] == 7


def test_generated_demos_scale_down_for_small_inputs():
    """30 texts do not pay for 40 synthetic demonstrations (and their checks)."""
    small, _ = make_texts(30)
    large, _ = make_texts(1000)
    clf = make_clf(n_demos=10)
    assert clf.estimate(small)["generation_calls"] == 6  # one per five texts
    assert clf.estimate(large)["generation_calls"] == 40  # 2 * n_demos per label
    assert clf.set_params(demos__n_generated=12).estimate(small)["generation_calls"] == 12
    # one per label, even above the cap of 100
    assert DemoPolicy().n_generated_for(n_classes=150, n_first_round=10_000) == 150


def test_generated_demos_scale_with_the_first_share_in_p_percent_mode():
    """Round 0 labels 100 of 1,000 texts at label_fraction=0.1: 20 demonstrations, not 40."""
    large, _ = make_texts(1000)
    clf = make_clf(n_demos=10, label_fraction=0.1)
    assert clf.estimate(large)["generation_calls"] == 20
    assert clf.set_params(rounds__label_fraction=0.5).estimate(large)["generation_calls"] == 40
    assert DemoPolicy().n_generated_for(n_classes=2, n_first_round=3) == 2  # one per label


class CountingStudent(ClassifierMixin, BaseEstimator):
    """TF-IDF + logistic regression that logs the size of each fit (in ``FITS``, shared by
    its clones)."""

    FITS = []

    def fit(self, X, y):
        self.FITS.append(len(X))
        self.model_ = tfidf_slm().fit(X, y)
        self.classes_ = self.model_.classes_
        return self

    def predict_proba(self, X):
        return self.model_.predict_proba(X)


def test_a_probe_judge_splits_the_rounds_and_the_student_trains_once_on_the_final_labels(
        noisy_data):
    texts, gold, wrong = noisy_data
    fits = CountingStudent.FITS
    fits.clear()
    names = np.asarray(["negative", "positive"])
    clf = make_clf(wrong, judge="probe", slm=CountingStudent(), n_rounds=3).fit(
        texts, eval_set=(texts[:40], names[gold[:40]]))
    assert fits == [len(texts)]  # once, on every labelled text, after the last round
    assert isinstance(clf.judge_, LogisticRegression) and isinstance(clf.slm_, CountingStudent)
    # The judge's clean masks decided the re-annotations.
    reannotated = clf.n_annotations_ >= 2
    np.testing.assert_array_equal(reannotated[~clf.round_clean_masks_[0]], True)
    assert clf.history_[1]["n_annotated"] == (~clf.round_clean_masks_[0]).sum() > 0
    assert np.mean(clf.label_ids_ == gold) > np.mean(clf.round_labels_[0] == gold)
    final = clf.student_record_
    assert final.seconds >= 0 and 0 <= final.eval_accuracy <= 1 and not final.collapsed
    assert all(h["eval_accuracy"] is not None for h in clf.history_)  # the judge's, each round
    assert clf.score(texts, names[gold]) > 0.9
    np.testing.assert_array_equal(clf.label_ids_, clf.round_labels_[-1])
    # Without a judge, the student trains every round (FreeAL), and judge_ is None.
    fits.clear()
    plain = make_clf(wrong, slm=CountingStudent(), n_rounds=2, judge=None).fit(texts)
    assert len(fits) == plain.n_rounds_ == 2 and plain.judge_ is None
    assert plain.student_record_ is None


def test_a_judge_object_is_cloned_seeded_and_checked():
    texts, gold = make_texts(60)
    judge = LogisticRegression(C=3.0, solver="saga", max_iter=2000, random_state=None)
    clf = make_clf(judge=judge, n_rounds=2, random_state=5).fit(texts)
    assert clf.judge_ is not judge and clf.judge_.C == 3.0
    assert clf.judge_.random_state is not None and judge.random_state is None
    with pytest.raises(TypeError, match=r"judge=RobustTextClassifier\(.*give it as slm"):
        make_clf(judge=RobustTextClassifier()).fit(texts)
    with pytest.raises(ValueError, match="'judge' parameter of FreeALClassifier must be"):
        make_clf(judge="student").fit(texts)


def test_a_final_student_that_collapses_gives_way_to_the_judge(noisy_data, caplog):
    texts, gold, wrong = noisy_data  # 120 labelled texts: the student answers one class
    clf = make_clf(wrong, judge="probe", slm=CollapsesOnManyLabels(above=80),
                   n_rounds=2).fit(texts)
    assert "The student trained on the final labels agrees with them hardly more" in caplog.text
    assert clf.slm_.steps[-1][1] is clf.judge_  # embedder, Normalizer, judge
    assert clf.student_record_.collapsed and clf.stop_reason_ == "max_rounds"
    names = np.asarray(["negative", "positive"])
    assert np.mean(clf.predict(texts) == names[gold]) > 0.8
    np.testing.assert_array_equal(clf.clean_mask_, clf.round_clean_masks_[-1])
    again = pickle.loads(pickle.dumps(clf))
    np.testing.assert_allclose(again.predict_proba(texts), clf.predict_proba(texts))
    # skfreeal.dask.embed embeds with the vectors the judge predicts from.
    from skfreeal.dask import _embedding_source

    source, method = _embedding_source(clf)
    assert method == "transform" and source.steps[-1][1].__class__.__name__ == "Normalizer"
    np.testing.assert_allclose(np.linalg.norm(source.transform(texts[:5]), axis=1), 1.0)


class CollapsesOnManyVectors(CollapsesOnManyLabels):
    """A judge of embeddings (logistic regression) that answers one class over ``above``."""

    def fit(self, X, y):
        self.model_ = LogisticRegression(C=10.0).fit(X, y)
        self.classes_ = self.model_.classes_
        self.constant_ = len(X) > self.above
        return self


def test_a_judge_that_collapses_keeps_the_previous_rounds_judge(noisy_data, caplog):
    texts, gold, wrong = noisy_data  # 120 texts: round 0 labels 60, round 1 all 120
    fits = CountingStudent.FITS
    fits.clear()
    clf = make_clf(wrong, judge=CollapsesOnManyVectors(above=80), slm=CountingStudent(),
                   n_rounds=3, label_fraction=0.5).fit(texts)
    assert clf.stop_reason_ == "judge_collapsed" and clf.n_rounds_ == 2
    assert "Round 1's judge agrees with its training labels hardly more" in caplog.text
    assert clf.kept_round_ == 0 and not clf.judge_.constant_
    assert [h["judge_kept"] for h in clf.history_] == [True, False]
    assert fits == [len(texts)]  # the student still learns round 1's labels, once
    np.testing.assert_array_equal(clf.label_ids_, clf.round_labels_[1])


@pytest.mark.parametrize("max_annotations, stop", [
    (1, "nothing_to_annotate"),  # no noisy text may be asked again
    (5, "no_change"),  # right answers: re-asking changes nothing
])
def test_every_stop_with_a_judge_still_trains_the_student_on_the_final_labels(
        max_annotations, stop):
    texts, gold = make_texts(120)
    fits = CountingStudent.FITS
    fits.clear()
    clf = make_clf(judge="probe", slm=CountingStudent(), n_rounds=3,
                   max_annotations=max_annotations).fit(texts)
    assert clf.stop_reason_ == stop, clf.history_
    assert fits == [len(texts)] and clf.student_record_ is not None
    np.testing.assert_array_equal(clf.label_ids_, clf.round_labels_[-1])


def test_with_a_judge_the_robust_student_trains_once_on_every_text(tiny_encoder_path):
    texts, _ = make_texts(40)
    student = RobustTextClassifier(tiny_encoder_path, max_epochs=2, warmup_epochs=1,
                                   batch_size=8, lr=3e-3)
    clf = make_clf(slm=student, judge="probe", label_fraction=0.3, n_rounds=2).fit(texts)
    assert clf.slm_.history_[-1]["n_samples"] == len(texts)  # unlabelled texts included
    unlabelled = clf.label_ids_ < 0
    assert unlabelled.sum() >= 16 and np.isnan(clf.slm_.sample_losses_[unlabelled]).all()
    np.testing.assert_array_equal(clf.clean_mask_, clf.slm_.clean_mask_ & ~unlabelled)
    assert clf.judge_.coef_.shape[1] == 8  # the retrieval embeddings (TF-IDF + 8-d SVD)


def test_a_text_never_sees_a_copy_of_itself_as_its_demonstration():
    """The pool may hold a duplicated training text twice (say, given and
    filled); neither copy is shown as the text's own demonstration."""
    from skfreeal.loop._annotate import annotate_with_demos
    from skfreeal.loop._pools import DemoPool
    from skfreeal.demonstrations import KNNRetriever

    class Recording(RuleLabeler):
        def annotate(self, texts, demos=None):
            self.demos_seen_ = demos
            return super().annotate(texts, demos)

    texts = ["good film", "bad film", "good play", "bad play"]
    embeddings = np.array([[1.0, 0.0], [0.0, 1.0], [0.9, 0.1], [0.1, 0.9]])
    pool = DemoPool(["good film", "good film", "bad play", "good play"], np.array([1, 1, 0, 1]),
                    embeddings[[0, 0, 3, 2]])
    labeler = Recording()
    annotate_with_demos(labeler, KNNRetriever(), texts, embeddings, np.array([1, 0, 0, 0], bool),
                        pool, 3, space=SingleLabelSpace(["negative", "positive"]),
                        calibrate=True)
    assert [text for text, _ in labeler.demos_seen_[0]] == ["bad play", "good play"]


@pytest.mark.parametrize("key, value, built", [
    ("noise_filter__threshold", 0.9, GMMNoiseFilter), ("demos__top_percent", 0.3, DemoPolicy),
    ("rounds__n_rounds", 3, RoundPolicy), ("judge__C", 3.0, LogisticRegression),
    ("slm__lr", 1e-4, RobustTextClassifier),
    ("slm__noise_filter__threshold", 0.8, RobustTextClassifier)])  # two levels of defaults
def test_setting_a_default_components_parameter_builds_the_default(key, value, built):
    """A grid over ``noise_filter__threshold`` works on the defaults: the built-in object
    takes the shortcut's place, never one shared between estimators."""
    clf, other = FreeALClassifier(["a", "b"], "t"), FreeALClassifier(["a", "b"], "t")
    clf.set_params(**{key: value})
    name, _, param = key.partition("__")
    assert isinstance(getattr(clf, name), built) and clf.get_params()[key] == value
    assert other.get_params(deep=False)[name] in (None, "probe")  # defaults are not shared


def test_a_parameter_of_the_student_judging_says_what_to_pass():
    clf = FreeALClassifier(["a", "b"], "t", judge=None)
    with pytest.raises(ValueError, match=r"Cannot set the parameters \['judge__C'\]: "
                                         r"judge=None has no parameters of its own"):
        clf.set_params(judge__C=0.5)
    assert clf.judge is None


def test_a_components_parameter_can_be_set_with_the_component_or_after_it():
    clf = FreeALClassifier(["a", "b"], "t")
    clf.set_params(noise_filter=GMMNoiseFilter(), noise_filter__threshold=0.9)
    assert clf.noise_filter.threshold == 0.9
    clf.set_params(noise_filter__threshold=0.5)
    assert clf.get_params()["noise_filter__threshold"] == 0.5
    with pytest.raises(ValueError, match="Invalid parameter 'bogus'"):  # sklearn's own
        clf.set_params(bogus__x=1)
