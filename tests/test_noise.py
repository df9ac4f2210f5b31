"""Noise filters: the pure functions and the estimators around them."""

import pickle

import numpy as np
import pytest
from sklearn.base import clone

from skfreeal import GMMNoiseFilter, SmallLossNoiseFilter, gmm_clean_proba, small_loss_clean_mask
from skfreeal.noise import normalize_losses


def two_groups(n_clean=80, n_noisy=20, seed=0):
    rng = np.random.RandomState(seed)
    losses = np.r_[rng.gamma(2.0, 0.05, n_clean), 2.0 + rng.gamma(2.0, 0.3, n_noisy)]
    return losses, np.r_[np.ones(n_clean, bool), np.zeros(n_noisy, bool)]


def test_gmm_clean_proba_separates_low_from_high_losses():
    losses, clean = two_groups()
    proba = gmm_clean_proba(losses, random_state=0)
    assert proba.shape == losses.shape
    assert ((proba > 0.7) == clean).mean() >= 0.98
    assert proba[clean].min() > proba[~clean].max()


def test_gmm_clean_proba_constant_losses_are_all_clean():
    np.testing.assert_array_equal(gmm_clean_proba([0.3, 0.3, 0.3]), [1.0, 1.0, 1.0])
    np.testing.assert_array_equal(gmm_clean_proba([0.3]), [1.0])


def test_normalize_losses_range():
    np.testing.assert_allclose(normalize_losses(np.array([2.0, 4.0, 3.0])), [0.0, 1.0, 0.5])
    np.testing.assert_array_equal(normalize_losses(np.array([5.0, 5.0])), [0.0, 0.0])


def test_gmm_filter_matches_the_function_and_threshold():
    losses, clean = two_groups()
    filt = GMMNoiseFilter(random_state=0).fit(losses)
    np.testing.assert_allclose(filt.score_samples(losses), gmm_clean_proba(losses, random_state=0))
    np.testing.assert_array_equal(filt.predict(losses), filt.score_samples(losses) > 0.7)
    assert filt.transform(losses).shape == (len(losses), 1)
    assert (filt.predict(losses) == clean).mean() >= 0.98
    strict = GMMNoiseFilter(threshold=0.999999, random_state=0).fit(losses)
    assert strict.predict(losses).sum() <= filt.predict(losses).sum()


def test_gmm_filter_accepts_a_column():
    losses, _ = two_groups()
    filt = GMMNoiseFilter(random_state=0).fit(losses.reshape(-1, 1))
    np.testing.assert_array_equal(filt.predict(losses.reshape(-1, 1)), filt.predict(losses))


def test_gmm_filter_accepts_a_pandas_series_like_a_1d_array():
    pd = pytest.importorskip("pandas")
    losses, _ = two_groups()
    filt = GMMNoiseFilter(random_state=0).fit(pd.Series(losses, name="loss"))
    np.testing.assert_array_equal(filt.predict(pd.Series(losses)), filt.predict(losses))


def test_small_loss_mask_keeps_the_ratio():
    losses, clean = two_groups()
    mask = small_loss_clean_mask(losses, keep_ratio=0.8)
    np.testing.assert_array_equal(mask, clean)
    assert small_loss_clean_mask([5.0, 1.0], keep_ratio=0.01).tolist() == [False, True]


def test_small_loss_filter_estimator():
    losses, clean = two_groups()
    filt = SmallLossNoiseFilter(keep_ratio=0.8).fit(losses)
    np.testing.assert_array_equal(filt.predict(losses), clean)
    score = filt.score_samples(losses)
    assert score.min() == 0.0 and score.max() == 1.0
    assert np.argmax(score) == np.argmin(losses)


@pytest.mark.parametrize("filt", [GMMNoiseFilter(random_state=0), SmallLossNoiseFilter()])
def test_filters_pickle_and_clone(filt):
    losses, _ = two_groups()
    fitted = clone(filt).fit(losses)
    loaded = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(loaded.predict(losses), fitted.predict(losses))
    np.testing.assert_array_equal(loaded.score_samples(losses), fitted.score_samples(losses))
    assert clone(fitted).get_params() == filt.get_params()
    assert not hasattr(clone(fitted), "n_features_in_")


@pytest.mark.parametrize("filt", [GMMNoiseFilter(), SmallLossNoiseFilter()])
@pytest.mark.parametrize(
    "losses, match",
    [
        ([0.1, np.nan, 0.3], r"losses must be finite \(no NaN or inf\), got nan at index 1"),
        ([0.1, 0.2, np.inf], r"losses must be finite \(no NaN or inf\), got inf at index 2"),
        ([], "losses is empty"),
        ([[[0.1]]], r"losses must be 1-D .* or 2-D"),
    ],
)
def test_bad_losses_name_the_parameter_and_value(filt, losses, match):
    with pytest.raises(ValueError, match=match):
        filt.fit(losses)


def test_pure_functions_reject_nan():
    with pytest.raises(ValueError, match=r"must be finite \(no NaN or inf\), got nan at index 0"):
        gmm_clean_proba([np.nan, 1.0])
    with pytest.raises(ValueError, match=r"must be finite \(no NaN or inf\), got nan at index 2"):
        small_loss_clean_mask([1.0, 2.0, np.nan])


@pytest.mark.parametrize(
    "filt, match",
    [
        (GMMNoiseFilter(threshold=1.5), r"'threshold' parameter .* Got 1.5"),
        (SmallLossNoiseFilter(keep_ratio=0.0), r"'keep_ratio' parameter .* Got 0.0"),
    ],
)
def test_bad_parameters_are_named(filt, match):
    with pytest.raises(ValueError, match=match):
        filt.fit([0.1, 0.2])


@pytest.mark.parametrize("filt", [GMMNoiseFilter(random_state=0), SmallLossNoiseFilter()])
def test_the_clean_score_is_score_samples_not_a_1d_predict_proba(filt):
    assert not hasattr(filt.fit(two_groups()[0]), "predict_proba")


@pytest.mark.parametrize("filt", [GMMNoiseFilter(random_state=0), SmallLossNoiseFilter(0.8)])
def test_several_loss_columns_split_as_one(filt):
    """Two loss measures per sample (e.g. two views): both high marks the noisy ones."""
    losses, clean = two_groups()
    second, _ = two_groups(seed=1)
    fitted = filt.fit(np.c_[losses, 2 * second])
    assert fitted.n_features_in_ == 2
    assert (fitted.predict(np.c_[losses, 2 * second]) == clean).mean() >= 0.95
    assert fitted.score_samples(np.c_[losses, 2 * second]).shape == (len(losses),)


def test_fit_takes_the_noisy_labels_and_checks_their_length():
    losses, _ = two_groups()
    GMMNoiseFilter(random_state=0).fit(losses, np.zeros(len(losses), int))
    with pytest.raises(ValueError, match="y has 3 labels but losses has 100 samples"):
        GMMNoiseFilter().fit(losses, [0, 1, 0])
