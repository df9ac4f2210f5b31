"""Gold-free prior calibration and LLM/student fusion of label distributions."""

import numpy as np
import pytest

from skfreeal.calibration import (
    batch_prior,
    calibrate,
    calibrate_label_sets,
    fuse_distributions,
    label_set_prior,
    normalize_rows,
)


def test_batch_calibration_removes_a_constant_tilt():
    rng = np.random.RandomState(0)
    truth = rng.randint(2, size=400)
    clean = np.where(truth[:, None] == np.arange(2), 0.7, 0.3)
    tilt = np.array([3.0, 1.0])  # the LLM says "label 0" three times as readily
    tilted = normalize_rows(clean * tilt)
    assert (tilted.argmax(1) == 0).all()
    fixed = calibrate(tilted, batch_prior(tilted))
    assert (fixed.argmax(1) == truth).mean() == 1.0
    np.testing.assert_allclose(fixed.sum(1), 1.0)


def test_rows_without_a_distribution_stay_unknown():
    proba = np.array([[0.8, 0.2], [np.nan, np.nan], [0.4, 0.6]])
    prior = batch_prior(proba, pseudo_count=0)
    np.testing.assert_allclose(prior, [0.6, 0.4])
    out = calibrate(proba, prior)
    assert np.isnan(out[1]).all() and np.isfinite(out[[0, 2]]).all()
    assert batch_prior(np.full((2, 2), np.nan)) is None


def test_a_label_never_given_can_still_win():
    proba = np.array([[0.99, 0.01, 0.0], [0.4, 0.2, 0.4]])
    out = calibrate(proba, np.array([0.5, 0.5, 0.0]))
    assert out[1].argmax() == 2 and np.isfinite(out).all()


def test_prior_shape_is_checked():
    with pytest.raises(ValueError, match=r"prior must have one entry per class \(2\)"):
        calibrate(np.ones((3, 2)) / 2, np.ones(3))
    np.testing.assert_array_equal(calibrate(np.eye(2), None), np.eye(2))


def test_product_fusion_breaks_ties_by_the_student_and_keeps_unknowns():
    llm = np.array([[0.55, 0.45], [0.9, 0.1], [np.nan, np.nan]])
    student = np.array([[0.2, 0.8], [0.3, 0.7], [0.5, 0.5]])
    fused = fuse_distributions(llm, student, "product")
    assert fused[:2].argmax(1).tolist() == [1, 0] and np.isnan(fused[2]).all()
    np.testing.assert_array_equal(fuse_distributions(llm, student, "llm"), llm)
    with pytest.raises(ValueError, match="rule must be 'llm' or 'product'"):
        fuse_distributions(llm, student, "vote")


def test_a_small_batch_says_little_about_the_tilt():
    one = np.array([[0.9, 0.1]])
    assert calibrate(one, batch_prior(one)).argmax() == 0  # one text is not a tilt
    np.testing.assert_allclose(batch_prior(np.tile(one, (1000, 1))), [0.896, 0.104], atol=1e-3)


# --- label sets: each label's P(yes), a tilt per label --------------------------------------


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def test_a_label_said_yes_to_on_content_free_inputs_loses_its_excess():
    rng = np.random.RandomState(0)
    truth = rng.rand(300, 3) < [0.3, 0.1, 0.05]  # labels of different frequencies
    evidence = np.where(truth, 2.0, -2.0) + rng.randn(300, 3) * 0.3
    tilt = np.array([2.5, 0.0, -0.5])  # label 0 said yes to readily, label 2 grudgingly
    proba = _sigmoid(evidence + tilt)
    content_free = _sigmoid(np.full((9, 3), -2.0) + tilt)  # no content: no evidence
    assert ((proba[:, 0] > 0.5) != truth[:, 0]).mean() > 0.5  # label 0 on most texts
    fixed = calibrate_label_sets(proba, label_set_prior(content_free, pseudo_count=0))
    np.testing.assert_array_equal(fixed > 0.5, truth)
    # the tilt between the labels is gone, the level they share kept
    shift = tilt - tilt.mean()
    np.testing.assert_allclose(np.log(fixed / (1 - fixed)),
                               np.log(proba / (1 - proba)) - shift, atol=1e-9)
    # a rare label keeps its rarity: no label is pushed towards half of the texts
    assert (fixed > 0.5).mean(axis=0).tolist() == truth.mean(axis=0).tolist()


def test_content_free_answers_are_damped_towards_the_mean_over_labels():
    answers = np.array([[0.9, 0.1], [0.7, 0.1], [np.nan, np.nan]])
    np.testing.assert_allclose(label_set_prior(answers, pseudo_count=0), [0.8, 0.1])
    damped = label_set_prior(answers)  # 2 answers against 10 pseudo-answers at 0.45
    np.testing.assert_allclose(damped, [(1.6 + 4.5) / 12, (0.2 + 4.5) / 12])
    assert label_set_prior(np.full((2, 2), np.nan)) is None


def test_label_set_calibration_keeps_unknown_rows_certain_answers_and_no_tilt():
    proba = np.array([[1.0, 0.0, 0.4], [np.nan] * 3, [0.2, 0.7, 0.5]])
    out = calibrate_label_sets(proba, [0.9, 0.01, 0.3])
    assert out[0, :2].tolist() == [1.0, 0.0] and np.isnan(out[1]).all()
    assert np.isfinite(out[[0, 2]]).all() and ((out[[0, 2]] >= 0) & (out[[0, 2]] <= 1)).all()
    # rows are not renormalised (not a distribution over the labels)
    assert not np.allclose(out[2].sum(), 1.0)
    for prior in (None, [0.2, 0.2, 0.2], [0.0, 0.0, 0.0], [np.nan, 0.5, 0.5]):
        np.testing.assert_allclose(calibrate_label_sets(proba, prior), proba)
    with pytest.raises(ValueError, match=r"prior must have one entry per label \(3\)"):
        calibrate_label_sets(proba, [0.5, 0.5])
