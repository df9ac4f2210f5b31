"""Round book-keeping: subsets to annotate, losses and clean masks."""

import numpy as np
import pytest

from skfreeal._rounds import (
    RoundRecorder,
    annotation_budget_mask,
    choose_new_subset,
    slm_clean_mask,
    slm_losses,
)


def test_choose_new_subset_random_and_full():
    rng = np.random.RandomState(0)
    cand = np.r_[np.ones(50, bool), np.zeros(50, bool)]
    picked = choose_new_subset(None, cand, 0.1, "random", rng)
    assert picked.sum() == 10 and not (picked & ~cand).any()
    assert (choose_new_subset(None, cand, 1.0, "random", rng) == cand).all()


def test_choose_new_subset_uncertainty_takes_smallest_margins():
    proba = np.array([[0.9, 0.1], [0.55, 0.45], [0.5, 0.5], [0.8, 0.2]])
    picked = choose_new_subset(proba, np.ones(4, bool), 0.5, "uncertainty",
                               np.random.RandomState(0))
    assert np.flatnonzero(picked).tolist() == [1, 2]
    with pytest.raises(ValueError, match="uncertainty"):
        choose_new_subset(None, np.ones(4, bool), 0.5, "uncertainty", np.random.RandomState(0))


def test_annotation_budget_mask_caps_annotations():
    mask = annotation_budget_mask([True, True, False], [1, 2, 0], 2)
    assert mask.tolist() == [True, False, False]


class _Plain:
    """An SLM without sample_losses_/clean_mask_ (any sklearn classifier)."""


def test_slm_losses_from_proba_with_nan_for_unlabelled():
    proba = np.array([[0.9, 0.1], [0.2, 0.8], [0.5, 0.5]])
    losses = slm_losses(_Plain(), proba, np.array([0, 0, -1]))
    np.testing.assert_allclose(losses[:2], [-np.log(0.9), -np.log(0.2)])
    assert np.isnan(losses[2])


def test_slm_clean_mask_falls_back_to_gmm():
    y = np.r_[np.zeros(20, int), -1]
    losses = np.r_[np.full(16, 0.05), np.full(4, 3.0), np.nan]
    mask = slm_clean_mask(_Plain(), losses, y)
    assert mask[:16].all() and not mask[16:].any()


def test_round_recorder_diffs_usage():
    class Labeler:
        usage_ = {"calls": 3, "prompt_tokens": 30, "completion_tokens": 3,
                  "cache_hits": 0, "cost": 0.0}

    lab = Labeler()
    rec = RoundRecorder(lab)
    lab.usage_ = dict(lab.usage_, calls=5, prompt_tokens=50)
    rec.llm_done()
    rec.slm_done()
    labels = np.array([0, 1, -1])
    entry = rec.record(round_=0, annotated=np.ones(3, bool), n_abstain=1, labels=labels,
                       changed=np.zeros(3, bool), clean_mask=np.array([True, False, False]),
                       slm_pred=np.array([0, 0, 1]))
    assert entry["calls"] == 2 and entry["prompt_tokens"] == 20
    assert entry["n_labelled"] == 2 and entry["clean_fraction"] == 0.5
    assert entry["llm_slm_agreement"] == 0.5
    assert rec.total()["calls"] == 2
