"""The student's size-aware defaults: steps schedule, automatic max length, probe head."""

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from skfreeal import RobustTextClassifier
from skfreeal.slm._data import auto_max_length, load_tokenizer
from skfreeal.slm._probe import PROBE_CS, fit_linear_probe
from skfreeal.slm._schedule import (AUTO_EPOCHS, MIN_STEPS, STEP_TOKEN_BUDGET, auto_n_steps,
                                    count_steps, plan_epochs)

from test_slm import toy_texts

pytestmark = pytest.mark.usefixtures("torch_single_thread")


def test_auto_n_steps_has_a_floor_epochs_and_a_token_cap():
    # small data: the floor; large data: six epochs; long texts: the token budget
    assert auto_n_steps(100, batch_size=32, max_length=64) == MIN_STEPS
    assert auto_n_steps(3200, batch_size=32, max_length=64) == STEP_TOKEN_BUDGET // (32 * 64)
    assert auto_n_steps(1000, batch_size=32, max_length=64) == max(AUTO_EPOCHS * 32, MIN_STEPS)
    assert auto_n_steps(1000, batch_size=32, max_length=256) == STEP_TOKEN_BUDGET // (32 * 256)
    # the floor is one of compute: long texts of a small data set get six epochs ...
    assert auto_n_steps(200, batch_size=32, max_length=256) == AUTO_EPOCHS * 7
    # ... or the floor's compute at their length, when that is more
    assert auto_n_steps(50, batch_size=32, max_length=256) == MIN_STEPS * 64 // 256
    assert auto_n_steps(200, batch_size=32, max_length=96) == -(-MIN_STEPS * 64 // 96)
    # never less than one epoch
    assert auto_n_steps(100_000, batch_size=32, max_length=256) == 3125


def test_plan_epochs_rounds_up_to_whole_epochs():
    sizes = dict(n_labelled=20, n_samples=40, batch_size=8, warmup_epochs=2)  # 3, then 5 steps
    assert plan_epochs(6, **sizes) == 3  # warm-up, then at least one robust epoch
    assert plan_epochs(12, **sizes) == 4 and count_steps(4, **sizes) == 16
    assert plan_epochs(16, **sizes) == 4 and plan_epochs(17, **sizes) == 5
    plain = dict(sizes, n_samples=20, warmup_epochs=0)
    assert plan_epochs(7, **plain) == 3 and count_steps(3, **plain) == 9


def test_fit_runs_the_asked_steps(tiny_encoder_path):
    X, y = toy_texts(24)
    clf = RobustTextClassifier(tiny_encoder_path, n_steps=10, warmup_epochs=1, batch_size=8,
                               lr=3e-3, random_state=0).fit(X, y)
    assert clf.n_epochs_ == 4 and clf.n_steps_ == 12
    assert [h["robust"] for h in clf.history_] == [False, True, True, True]


def test_max_epochs_keeps_its_meaning_and_excludes_n_steps(tiny_encoder_path):
    X, y = toy_texts(24)
    clf = RobustTextClassifier(tiny_encoder_path, max_epochs=2, warmup_epochs=1, batch_size=8,
                               random_state=0).fit(X, y)
    assert clf.n_epochs_ == 2 and clf.n_steps_ == 6
    with pytest.raises(ValueError, match="max_epochs or n_steps, not both: got max_epochs=2 "
                                         "and n_steps=5"):
        clf.set_params(n_steps=5).fit(X, y)


@pytest.mark.parametrize("param, value", [("n_steps", 0), ("max_length", "long"),
                                          ("head_init", "zeros"), ("max_epochs", "all")])
def test_bad_schedule_parameters_are_named(param, value):
    with pytest.raises(ValueError, match=f"'{param}' parameter .* Got {value!r}"):
        RobustTextClassifier("unused-path", **{param: value}).fit(["a", "b"], ["x", "y"])


def test_auto_max_length_follows_the_texts(tiny_encoder_path):
    tokenizer = load_tokenizer(tiny_encoder_path)
    short = ["a short text"] * 20
    long = [" ".join(["word"] * n) for n in range(100, 400, 15)]
    assert auto_max_length(tokenizer, short) == 64  # the floor: padding is per batch
    assert auto_max_length(tokenizer, long) == 256  # the cap
    middle = [" ".join(["word"] * 98)] * 20  # 100 tokens with [CLS] and [SEP]
    assert auto_max_length(tokenizer, middle) == 100
    lengths = [n + 2 for n in range(100, 400, 15)]  # [CLS] and [SEP] count
    assert auto_max_length(tokenizer, long, cap=1000) == np.ceil(np.percentile(lengths, 95))


def test_fitted_max_length_is_used_at_predict(tiny_encoder_path):
    X, y = toy_texts(16)
    X = [t + " " + " ".join(["word"] * 90) for t in X]
    clf = RobustTextClassifier(tiny_encoder_path, max_epochs=1, warmup_epochs=0, batch_size=8,
                               random_state=0).fit(X, y)
    assert clf.max_length == "auto" and 90 < clf.max_length_ <= 100
    assert max(map(len, clf._token_ids(X + [X[0] * 3]))) == clf.max_length_


@pytest.mark.parametrize("n_classes", [2, 3])
def test_fit_linear_probe_reproduces_logistic_regression(n_classes):
    rng = np.random.RandomState(0)
    y = np.arange(60) % n_classes
    X = rng.normal(size=(60, 5)) + y[:, None]
    weight, bias, C, score = fit_linear_probe(X, y, n_classes)
    assert weight.shape == (n_classes, 5) and bias.shape == (n_classes,)
    assert C in PROBE_CS and 0 <= score <= 1
    logits = X @ weight.T + bias
    proba = np.exp(logits - logits.max(1, keepdims=True))
    proba /= proba.sum(1, keepdims=True)
    reference = LogisticRegression(C=C, max_iter=1000).fit(X, y).predict_proba(X)
    np.testing.assert_allclose(proba, reference, atol=1e-6)


def test_fit_linear_probe_without_enough_texts_for_folds():
    X = np.array([[0.0], [1.0], [2.0], [3.0]])
    weight, bias, C, score = fit_linear_probe(X, np.array([0, 1, 1, 1]), 3)
    assert C == 1.0 and np.isnan(score)
    assert bias[2] < bias[:2].min()  # a class without texts is never predicted


def test_probe_head_starts_at_the_probe(tiny_encoder_path):
    X, y = toy_texts(32)
    common = dict(max_epochs=1, warmup_epochs=1, batch_size=8, lr=1e-9, random_state=0)
    clf = RobustTextClassifier(tiny_encoder_path, **common).fit(X, y)
    assert clf.probe_C_ in PROBE_CS and 0.5 <= clf.probe_score_ <= 1
    # A vanishing learning rate leaves the model at its start: the probe of the frozen encoder.
    _, codes = np.unique(y, return_inverse=True)
    emb = clf.embed(X)
    probe = LogisticRegression(C=clf.probe_C_, max_iter=1000).fit(emb, codes)
    np.testing.assert_allclose(clf.predict_proba(X), probe.predict_proba(emb), atol=1e-4)
    random = RobustTextClassifier(tiny_encoder_path, head_init="random", **common).fit(X, y)
    assert np.isnan(random.probe_C_) and np.isnan(random.probe_score_)
    assert clf.score(X, y) > random.score(X, y)
