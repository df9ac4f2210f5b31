"""A round that makes the labels less consistent is rolled back (RoundPolicy.rollback_tolerance).

The fits use test_freeal's fast components: a rule labeler right by keywords
except on a known fifth of the texts in its first answer, a TF-IDF student
and embedder, and a noise filter that sends 80% of the texts to round 1.
"""

import json
import pickle
import re
import zlib

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.utils._param_validation import InvalidParameterError
from test_freeal import RuleLabeler, make_clf, make_texts

from skfreeal import FreeALClassifier, RoundPolicy, SmallLossNoiseFilter
from skfreeal.labels import SingleLabelSpace
from skfreeal.loop._annotate import Answers
from skfreeal.loop._consistency import label_consistency
from skfreeal.loop._state import LabelState

TWO = SingleLabelSpace(["negative", "positive"])


class ScrambledSecond(RuleLabeler):
    """RuleLabeler whose second answer on a text is unrelated to it (a hash of the text)."""

    def annotate(self, texts, demos=None):
        out, conf = super().annotate(texts, demos)
        for i, text in enumerate(texts):
            if self.log_[text] >= 2:
                out[i] = zlib.crc32(text.encode()) % 2
        return out, conf


@pytest.fixture
def data():
    texts, gold = make_texts(120)
    wrong = tuple(t for i, t in enumerate(texts) if i % 5 == 0)  # 20% wrong first answers
    return texts, gold, wrong


def fit(texts, wrong, labeler=RuleLabeler, **kwargs):
    # 80% of the texts judged noisy: round 1 asks most of them again
    params = {"labeler": labeler(wrong_first=wrong), "n_rounds": 2,
              "noise_filter": SmallLossNoiseFilter(keep_ratio=0.2), "rollback_tolerance": 0.02}
    return make_clf(wrong, **{**params, **kwargs}).fit(texts)


@pytest.mark.parametrize("judge", ["probe", None])
def test_a_scrambled_round_is_rolled_back_to_the_previous_rounds_labels(data, judge, caplog):
    texts, gold, wrong = data
    clf = fit(texts, wrong, ScrambledSecond, judge=judge)
    assert clf.stop_reason_ == "round_worse" and clf.n_rounds_ == 2
    assert "Round 1 made the labels less consistent" in caplog.text
    assert "rollback_tolerance=0.02" in caplog.text
    np.testing.assert_array_equal(clf.label_ids_, clf.round_labels_[0])
    assert (clf.label_round_ <= 0).all()
    # what the round proposed stays visible, and was worse by the gold labels the rule never saw
    assert np.mean(clf.round_labels_[1] == gold) < np.mean(clf.label_ids_ == gold) - 0.1
    first, second = clf.history_
    assert [first.rolled_back, second.rolled_back] == [False, True]
    assert [first.judge_kept, second.judge_kept] == [True, False] and clf.kept_round_ == 0
    assert second.label_consistency < first.label_consistency - 0.02
    assert clf.n_annotations_.max() == 2  # the rolled-back requests were made
    # round 0's labels, judge and demonstrations: what a one-round fit leaves
    once = fit(texts, wrong, ScrambledSecond, judge=judge, n_rounds=1)
    np.testing.assert_array_equal(clf.label_ids_, once.label_ids_)
    np.testing.assert_array_equal(clf.label_proba_, once.label_proba_)
    assert clf.demos_ == once.demos_
    if judge is None:  # the kept student predicts and gives the clean mask
        np.testing.assert_array_equal(clf.clean_mask_, clf.round_clean_masks_[0])
    else:
        np.testing.assert_allclose(clf.judge_.coef_, once.judge_.coef_)
    np.testing.assert_allclose(clf.predict_proba(texts), once.predict_proba(texts))


def test_a_round_that_improves_the_labels_is_kept_with_the_same_calls(data):
    texts, gold, wrong = data
    clf = fit(texts, wrong)
    assert clf.stop_reason_ == "max_rounds" and clf.kept_round_ == 1
    assert not any(h.rolled_back for h in clf.history_)
    assert clf.history_[1].label_consistency > clf.history_[0].label_consistency
    assert np.mean(clf.label_ids_ == gold) > np.mean(clf.round_labels_[0] == gold)
    off = fit(texts, wrong, rollback_tolerance=None)  # the loop as it was
    np.testing.assert_array_equal(clf.label_ids_, off.label_ids_)
    np.testing.assert_array_equal(clf.label_proba_, off.label_proba_)
    assert clf.labeler_.log_ == off.labeler_.log_  # the same requests
    assert clf.demos_ == off.demos_
    np.testing.assert_allclose(clf.predict_proba(texts), off.predict_proba(texts))
    assert [h.label_consistency for h in off.history_] == [None, None]


@pytest.mark.parametrize("tolerance, consistency_measured", [(None, False),
                                                            (float("inf"), True)])
def test_without_a_tolerance_a_scrambled_round_is_kept(data, tolerance, consistency_measured,
                                                       caplog):
    texts, _, wrong = data
    clf = fit(texts, wrong, ScrambledSecond, rollback_tolerance=tolerance)
    assert clf.stop_reason_ == "max_rounds" and "less consistent" not in caplog.text
    np.testing.assert_array_equal(clf.label_ids_, clf.round_labels_[1])
    assert not any(h.rolled_back for h in clf.history_)
    measured = [h.label_consistency is not None for h in clf.history_]
    assert measured == [consistency_measured] * 2


def test_the_tolerance_is_a_parameter_that_clones_pickles_and_is_checked():
    clf = FreeALClassifier(["a", "b"], "t", rounds=RoundPolicy(rollback_tolerance=0.1))
    assert clone(clf).get_params()["rounds__rollback_tolerance"] == 0.1
    again = pickle.loads(pickle.dumps(clf.set_params(rounds__rollback_tolerance=None)))
    assert again.rounds.rollback_tolerance is None and RoundPolicy().rollback_tolerance is None
    bad = FreeALClassifier(["a", "b"], "t", rounds=RoundPolicy(rollback_tolerance=-0.5))
    with pytest.raises(InvalidParameterError,
                       match=r"'rollback_tolerance' parameter of RoundPolicy.*Got -0\.5"):
        bad.fit(["one text", "another text"])
    with pytest.raises(InvalidParameterError, match="rollback_tolerance.*Got 'high'"):
        RoundPolicy(rollback_tolerance="high").validate()


def test_round_is_worse_reads_the_drop_against_the_tolerance():
    policy = RoundPolicy(rollback_tolerance=0.05)
    assert policy.round_is_worse(0.80, 0.74) and not policy.round_is_worse(0.80, 0.76)
    assert not policy.round_is_worse(None, 0.1) and not policy.round_is_worse(0.8, None)
    assert not RoundPolicy(rollback_tolerance=None).round_is_worse(0.9, 0.1)
    assert not RoundPolicy(rollback_tolerance=float("inf")).round_is_worse(0.9, 0.0)


def test_label_consistency_is_out_of_fold_agreement_on_the_given_texts():
    from sklearn.linear_model import LogisticRegression

    rng = np.random.RandomState(0)
    x = np.vstack([rng.normal(-2, 1, (40, 3)), rng.normal(2, 1, (40, 3))])
    labels = np.repeat([0, 1], 40)
    on = np.ones(80, bool)
    probe = LogisticRegression()
    assert label_consistency(probe, x, labels, on, TWO) == 1.0
    shuffled = rng.permutation(labels)  # labels unrelated to the texts
    assert label_consistency(probe, x, shuffled, on, TWO) < 0.7
    assert label_consistency(probe, x, labels, np.eye(1, 80, 0, dtype=bool)[0], TWO) is None
    # measured on the texts ``on`` only, always with the same folds, the probe never fitted
    half = np.arange(80) % 2 == 0
    first = label_consistency(probe, x, shuffled, half, TWO)
    assert first == label_consistency(probe, x, np.where(half, shuffled, 1), half, TWO)
    assert not hasattr(probe, "coef_")
    one = label_consistency(probe, x, np.zeros(80, np.int64), on, TWO)  # one label: constant
    assert one == 1.0


def test_a_snapshot_gives_back_the_labels_but_not_the_annotation_counts():
    state = LabelState(np.array([1, -1, -1]), TWO)
    state.update(Answers(np.array([1, 2]), [0, 1], [0.9, 0.8]), 0)
    before = state.snapshot()
    state.update(Answers(np.array([1, 2]), [1, 0], [0.6, 0.7]), 1)
    state.restore(before)
    assert state.labels.tolist() == [1, 0, 1] and state.round.tolist() == [-1, 0, 0]
    np.testing.assert_allclose(state.confidence, [1.0, 0.9, 0.8])
    assert state.n_annotations.tolist() == [0, 2, 2]
    state.labels[1] = 1
    assert before.labels[1] == 0  # a copy, not a view


def test_rollback_choice_tabulates_the_signal_beside_the_gold_labels(tmp_path, capsys):
    from benchmarks.rollback_choice import main, rollback_outcomes

    worse = [{"round": 0, "label_consistency": 0.80, "llm_label_accuracy": 0.60},
             {"round": 1, "label_consistency": 0.77, "llm_label_accuracy": 0.55}]
    better = [{"round": 0, "label_consistency": 0.70, "llm_label_accuracy": 0.50},
              {"round": 1, "label_consistency": 0.79, "llm_label_accuracy": 0.56}]
    for name, rows in (("worse", worse), ("better", better)):
        (tmp_path / f"{name}.json").write_text(json.dumps({"rounds": rows}))
    assert rollback_outcomes(worse, 0.02) == (1, 0.60)
    assert rollback_outcomes(worse, 0.05) == (None, 0.55)
    assert rollback_outcomes(better, 0.0) == (None, 0.56)
    assert main([str(tmp_path / "worse.json"), str(tmp_path / "better.json")]) == 0
    out = capsys.readouterr().out
    assert re.search(r"worse\s+1\s+0\.770\s+-0\.030\s+0\.550\s+-0\.050", out)
    assert re.search(r"\n\s+0\.02 worse:1 \(-0\.050\)\s+0\.580", out)  # (0.60 + 0.56) / 2
    assert re.search(r"\n\s+0\.05 none\s+0\.555", out)
