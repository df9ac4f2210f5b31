"""RobustTextClassifier on a tiny random encoder: learning, robustness, API, errors."""

import io

import joblib
import numpy as np
import pytest
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV

from skfreeal import GMMNoiseFilter, RobustTextClassifier
from skfreeal.slm import FunctionAugmenter

POS = ["good", "great", "happy", "love", "nice", "best", "fun", "joy"]
NEG = ["bad", "awful", "sad", "hate", "ugly", "worst", "dull", "pain"]

pytestmark = pytest.mark.usefixtures("torch_single_thread")


def toy_texts(n, seed=0):
    """n texts, half built from positive words and half from negative ones."""
    rng = np.random.RandomState(seed)
    texts, labels = [], []
    for i in range(n):
        words, label = (POS, "pos") if i % 2 == 0 else (NEG, "neg")
        texts.append(" ".join(rng.choice(words, size=rng.randint(3, 7))))
        labels.append(label)
    return texts, np.array(labels)


def tiny(path, **params):
    defaults = dict(max_epochs=6, warmup_epochs=3, batch_size=8, lr=3e-3, random_state=0)
    defaults.update(params)
    return RobustTextClassifier(path, **defaults)


@pytest.fixture(scope="module")
def fitted(tiny_encoder_path, torch_single_thread):
    X, y = toy_texts(48)
    return tiny(tiny_encoder_path).fit(X, y), X, y


def test_learns_a_separable_toy_problem(fitted):
    clf, X, y = fitted
    X_new, y_new = toy_texts(40, seed=1)
    assert clf.score(X_new, y_new) >= 0.9
    assert list(clf.classes_) == ["neg", "pos"]
    proba = clf.predict_proba(X_new)
    assert proba.shape == (40, 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_array_equal(clf.classes_[proba.argmax(1)], clf.predict(X_new))


def test_binary_scores_are_one_column_for_scikit_learns_scorers(fitted):
    from sklearn.metrics import get_scorer

    clf, X, y = fitted
    scores = clf.decision_function(X)
    assert scores.shape == (len(X),)
    np.testing.assert_array_equal(scores > 0, clf.predict(X) == clf.classes_[1])
    assert get_scorer("roc_auc")(clf, X, y) > 0.9


def test_a_fitted_model_keeps_no_gradients(fitted):
    clf, _, _ = fitted
    assert all(p.grad is None for p in clf.net_.module_.parameters())


def test_a_max_length_beyond_the_encoders_positions_is_refused(tiny_encoder_path, monkeypatch):
    from skfreeal.slm import _classifier

    real = _classifier.load_tokenizer

    def short_tokenizer(path):
        tokenizer = real(path)
        tokenizer.model_max_length = 16
        return tokenizer

    monkeypatch.setattr(_classifier, "load_tokenizer", short_tokenizer)
    X, y = toy_texts(8)
    with pytest.raises(ValueError, match=r"max_length=32 is longer than the 16 tokens"):
        tiny(tiny_encoder_path, max_length=32).fit(X, y)


def test_fitted_attributes_tell_the_story(fitted):
    clf, X, _ = fitted
    assert clf.n_epochs_ == 6 == len(clf.history_)
    assert [h["robust"] for h in clf.history_] == [False] * 3 + [True] * 3
    robust = clf.history_[-1]
    assert 0 < robust["clean_fraction"] <= 1 and robust["weight"] == pytest.approx(0.3)
    assert all(np.isfinite(robust[k]) for k in ("ce", "mixup", "consistency", "seconds"))
    assert np.isnan(clf.history_[0]["mixup"])
    assert clf.sample_losses_.shape == clf.clean_proba_.shape == clf.clean_mask_.shape == (48,)
    assert clf.clean_mask_.dtype == bool and np.isfinite(clf.sample_losses_).all()
    assert isinstance(clf.noise_filter_, GMMNoiseFilter)


def test_embed_shape_and_order(fitted):
    clf, X, _ = fitted
    emb = clf.embed(X[:5])
    assert emb.shape == (5, 32) and emb.dtype == np.float32
    np.testing.assert_allclose(clf.embed(X[:5][::-1]), emb[::-1], rtol=1e-5, atol=1e-6)


def test_flipped_labels_are_mostly_marked_noisy(tiny_encoder_path):
    X, y = toy_texts(64)
    y_noisy = y.copy()
    flipped = np.zeros(64, dtype=bool)
    flipped[[3, 10, 17, 24, 31, 38, 45, 52]] = True  # 12.5% noise, both classes
    y_noisy[flipped] = np.where(y[flipped] == "pos", "neg", "pos")
    clf = tiny(tiny_encoder_path, max_epochs=8, warmup_epochs=5).fit(X, y_noisy)
    assert (~clf.clean_mask_[flipped]).mean() >= 0.75
    assert clf.clean_mask_[~flipped].mean() >= 0.75
    assert clf.sample_losses_[flipped].mean() > 3 * clf.sample_losses_[~flipped].mean()


def test_unlabelled_entries_are_left_out_of_supervised_terms(tiny_encoder_path):
    X, y = toy_texts(40)
    y = y.astype(object)
    y[:10] = None
    y[10:20:2] = -1
    seen = []

    def identity(texts):
        seen.append(len(texts))
        return list(texts)

    clf = tiny(tiny_encoder_path, max_epochs=4, augmenter=identity).fit(X, y)
    unlabelled = np.r_[np.ones(10, bool), np.zeros(30, bool)]
    unlabelled[10:20:2] = True
    assert np.isnan(clf.sample_losses_[unlabelled]).all()
    assert np.isnan(clf.clean_proba_[unlabelled]).all()
    assert not clf.clean_mask_[unlabelled].any()
    assert np.isfinite(clf.sample_losses_[~unlabelled]).all()
    # Warm-up iterates labelled texts only; robust epochs see (and augment) all.
    assert [h["n_samples"] for h in clf.history_] == [25, 25, 25, 40]
    assert seen == [40]
    assert set(clf.predict(X)) <= {"neg", "pos"}


def test_integer_labels_and_minus_one(tiny_encoder_path):
    X, y = toy_texts(24)
    codes = np.where(y == "pos", 7, 3)
    codes[:4] = -1
    clf = tiny(tiny_encoder_path, max_epochs=2, warmup_epochs=1).fit(X, codes)
    assert clf.classes_.tolist() == [3, 7]
    assert set(clf.predict(X)) <= {3, 7}


def test_plain_fine_tuning_baseline(tiny_encoder_path):
    X, y = toy_texts(24)
    clf = tiny(tiny_encoder_path, robust=False, max_epochs=2).fit(X, y)
    assert [h["robust"] for h in clf.history_] == [False, False]
    assert all(np.isnan(h["clean_fraction"]) for h in clf.history_)
    assert np.isfinite(clf.sample_losses_).all()


def test_same_random_state_same_model_and_global_rng_untouched(tiny_encoder_path):
    import torch

    X, y = toy_texts(24)
    before = torch.random.get_rng_state()
    a = tiny(tiny_encoder_path, max_epochs=3, warmup_epochs=1).fit(X, y)
    assert torch.equal(torch.random.get_rng_state(), before)
    b = tiny(tiny_encoder_path, max_epochs=3, warmup_epochs=1).fit(X, y)
    np.testing.assert_array_equal(a.decision_function(X), b.decision_function(X))
    c = tiny(tiny_encoder_path, max_epochs=3, warmup_epochs=1, random_state=1).fit(X, y)
    assert not np.array_equal(a.decision_function(X), c.decision_function(X))


def test_joblib_round_trip_predicts_identically(fitted):
    clf, X, _ = fitted
    buffer = io.BytesIO()
    joblib.dump(clf, buffer)
    buffer.seek(0)
    loaded = joblib.load(buffer)
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))
    np.testing.assert_array_equal(loaded.embed(X), clf.embed(X))
    np.testing.assert_equal(loaded.history_, clf.history_)
    # Training-only state does not travel.
    assert loaded.net_.optimizer_ is None and not hasattr(loaded.net_, "rng_")


def test_clone_and_get_params(tiny_encoder_path):
    clf = RobustTextClassifier(
        tiny_encoder_path, noise_filter=GMMNoiseFilter(threshold=0.6), lr=1e-4,
    )
    params = clf.get_params()
    assert params["noise_filter__threshold"] == 0.6 and params["lr"] == 1e-4
    copy = clone(clf)
    assert copy.get_params()["noise_filter"] is not clf.noise_filter
    assert copy.get_params()["noise_filter__threshold"] == 0.6
    clf.set_params(noise_filter__threshold=0.9)
    assert clf.noise_filter.threshold == 0.9


def test_user_noise_filter_is_not_fitted_in_place(tiny_encoder_path):
    X, y = toy_texts(24)
    user_filter = GMMNoiseFilter(threshold=0.5)
    clf = tiny(tiny_encoder_path, noise_filter=user_filter, max_epochs=3, warmup_epochs=2)
    clf.fit(X, y)
    assert not hasattr(user_filter, "gmm_")
    assert clf.noise_filter_ is not user_filter and clf.noise_filter_.threshold == 0.5


def test_grid_search_over_filter_threshold(tiny_encoder_path):
    X, y = toy_texts(24)
    search = GridSearchCV(
        tiny(tiny_encoder_path, noise_filter=GMMNoiseFilter(), max_epochs=2, warmup_epochs=1),
        {"noise_filter__threshold": [0.5, 0.9]}, cv=2,
    )
    search.fit(X, y)
    assert search.best_params_["noise_filter__threshold"] in (0.5, 0.9)
    assert len(search.cv_results_["mean_test_score"]) == 2
    assert search.best_estimator_.noise_filter_.threshold == search.best_params_[
        "noise_filter__threshold"
    ]


def test_callable_augmenter_output_is_checked(tiny_encoder_path):
    X, y = toy_texts(16)
    clf = tiny(tiny_encoder_path, max_epochs=2, warmup_epochs=1, augmenter=lambda t: t[:-1])
    with pytest.raises(ValueError, match="one text per input text: got 15 texts for 16"):
        clf.fit(X, y)
    clf.set_params(augmenter=FunctionAugmenter(lambda t: [1] * len(t)))
    with pytest.raises(TypeError, match=r"\[0\] must be a str, got int"):
        clf.fit(X, y)


@pytest.mark.parametrize(
    "X, y, error, match",
    [
        ("a single text", ["pos"], TypeError, "X must be an iterable of texts, got a single str"),
        ([], [], ValueError, "X is empty"),
        (["fine", 3.5, "ok"], ["a", "b", "a"], TypeError, r"X\[1\] must be a str, got float"),
        (["fine", "ok"], ["a", "a"], ValueError, r"at least 2 classes .* got 1: \['a'\]"),
        (["fine", "ok"], [None, -1], ValueError, r"at least 2 classes .* got 0: \[\]"),
        (["fine", "ok"], ["a"], ValueError, "y has 1 entries but X has 2 texts"),
    ],
)
def test_bad_input_names_the_parameter_and_value(X, y, error, match):
    with pytest.raises(error, match=match):
        RobustTextClassifier("unused-path").fit(X, y)


@pytest.mark.parametrize(
    "param, value, match",
    [
        ("max_epochs", 0, "'max_epochs' parameter .* Got 0"),
        ("lr", -1.0, "'lr' parameter .* Got -1.0"),
        ("sharpen_temperature", 2.0, "'sharpen_temperature' parameter .* Got 2.0"),
        ("noise_filter", "gmm", "'noise_filter' parameter .* Got 'gmm'"),
        ("augmenter", 3, "'augmenter' parameter .* Got 3"),
    ],
)
def test_bad_parameters_are_named(param, value, match):
    with pytest.raises(ValueError, match=match):
        RobustTextClassifier("unused-path", **{param: value}).fit(["a", "b"], ["x", "y"])


def test_predict_before_fit_raises():
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        RobustTextClassifier().predict(["text"])


def test_bare_string_at_predict(fitted):
    clf, _, _ = fitted
    with pytest.raises(TypeError, match="X must be an iterable of texts"):
        clf.predict("good")
