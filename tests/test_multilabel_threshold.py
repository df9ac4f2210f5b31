"""Where predict cuts each label's probability: the space's, a float, or "auto" (no gold)."""

import sys
from pathlib import Path

import numpy as np
import pytest
from sklearn.model_selection import GridSearchCV
from sklearn.preprocessing import MultiLabelBinarizer
from sklearn.utils._param_validation import InvalidParameterError

from skfreeal.calibration import frequency_thresholds
from skfreeal.labels import MultiLabelSpace

sys.path.insert(0, str(Path(__file__).parent))
from test_multilabel import NAMES, make_clf, make_tickets


def test_frequency_thresholds_match_each_labels_share_and_leave_unknown_rows_out():
    rng = np.random.RandomState(0)
    proba = rng.rand(50, 3)
    labels = (rng.rand(50, 3) < [0.1, 0.5, 0.9]).astype(np.int8)
    labels[:5] = -1  # unknown: neither counted nor cut
    t = frequency_thresholds(proba, labels)
    assert ((t > 0) & (t < 1)).all()
    np.testing.assert_array_equal((proba[5:] >= t).sum(axis=0), (labels[5:] == 1).sum(axis=0))
    # a label no text carries is never given; one every text carries always
    none_all = np.column_stack([np.zeros(50), np.ones(50)]).astype(np.int8)
    t = frequency_thresholds(proba[:, :2], none_all)
    assert (proba[:, 0] < t[0]).all() and (proba[:, 1] >= t[1]).all()
    assert frequency_thresholds(proba, -np.ones((50, 3))).tolist() == [0.5] * 3


@pytest.fixture(scope="module")
def data():
    return make_tickets(60, seed=1)


def test_none_keeps_the_spaces_threshold_and_a_float_sets_one_for_every_label(data):
    X, _ = data
    clf = make_clf().fit(X)
    assert clf.threshold is None and clf.threshold_.tolist() == [0.5] * 3
    proba = clf.predict_proba(X)
    np.testing.assert_array_equal(clf.predict(X), clf.label_space_.from_proba(proba)[0])
    low = make_clf(threshold=0.2).fit(X)
    assert low.threshold_.tolist() == [0.2] * 3
    # the same fit (the threshold only cuts predict's probabilities): more labels given
    np.testing.assert_array_equal(low.label_ids_, clf.label_ids_)
    np.testing.assert_array_equal(low.predict(X), np.maximum(proba >= 0.2, clf.predict(X)))
    assert low.predict(X).sum() > clf.predict(X).sum()
    spaced = make_clf().set_params(labels=MultiLabelSpace(NAMES, threshold=[0.3, 0.5, 0.7]))
    assert spaced.fit(X).threshold_.tolist() == [0.3, 0.5, 0.7]


def test_auto_gives_each_label_as_often_as_the_final_labels_do(data):
    X, _ = data
    clf = make_clf(threshold="auto").fit(X)
    assert clf.threshold_.shape == (3,) and ((clf.threshold_ > 0) & (clf.threshold_ < 1)).all()
    assert not np.allclose(clf.threshold_, 0.5)
    wanted = (clf.label_ids_ == 1).sum(axis=0)
    proba = clf.predict_proba(X)
    np.testing.assert_array_equal((proba >= clf.threshold_).sum(axis=0), wanted)
    pred = clf.predict(X)
    assert (pred.sum(axis=1) >= 1).all()  # min_labels still holds
    assert np.abs(pred.sum(axis=0) - wanted).max() <= 3


def test_a_grid_search_tunes_the_threshold(data):
    X, gold = data
    Y = MultiLabelBinarizer(classes=NAMES).fit_transform(gold)
    search = GridSearchCV(make_clf(), {"threshold": [0.05, "auto"]}, cv=2,
                          scoring="f1_micro").fit(X, Y)
    scores = search.cv_results_["mean_test_score"]
    assert len(scores) == 2 and np.all(np.isfinite(scores))
    assert scores[1] > scores[0]  # 0.05 gives nearly every label to every text
    assert search.best_params_ == {"threshold": "auto"}


@pytest.mark.parametrize("bad", [0.0, 1.0, "median", 2])
def test_a_bad_threshold_is_named(data, bad):
    with pytest.raises(InvalidParameterError, match="'threshold' parameter"):
        make_clf(threshold=bad).fit(data[0])
