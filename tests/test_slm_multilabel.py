"""RobustTextClassifier on an indicator matrix: sigmoid outputs, binary losses, the noise split.

Toy texts carry a sentiment (pos or neg, one of the two) and, on about half
of them, an animal: three labels, one or two a text. The tiny random
encoder of the other student tests learns them in a few epochs.
"""

import io
import pickle

import joblib
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from sklearn.metrics import f1_score
from sklearn.model_selection import GridSearchCV
from test_slm import tiny

from skfreeal import RobustTextClassifier
from skfreeal.slm._data import CLEAN, NOISY, UNLABELLED
from skfreeal.slm._losses import (
    binary_cross_entropy_rows,
    binary_mixup_loss,
    sharpen,
    sharpen_binary,
    symmetric_binary_kl,
    symmetric_kl,
)
from skfreeal.slm._module import EncoderClassifier
from skfreeal.slm._probe import fit_linear_probe, fit_multilabel_probe

pytestmark = pytest.mark.usefixtures("torch_single_thread")

WORDS = [["good", "great", "happy", "love", "nice"], ["bad", "awful", "sad", "hate", "ugly"],
         ["cat", "dog", "bird", "fish", "horse"]]
FILLER = ["the", "a", "and", "so", "very"]
# Rows whose two sentiment labels are swapped: the planted noise (12.5%).
NOISY_ROWS = np.arange(0, 64, 8)


def toy_sets(n, seed=0):
    """n texts, each a sentiment (alternating) and an animal on about half; their indicator rows."""
    rng = np.random.RandomState(seed)
    texts, Y = [], np.zeros((n, 3), dtype=np.int64)
    for i in range(n):
        labels = [i % 2] + ([2] if rng.rand() < 0.5 else [])
        words = [FILLER[rng.randint(len(FILLER))]]
        for k in labels:
            words += rng.choice(WORDS[k], 2).tolist()
            Y[i, k] = 1
        rng.shuffle(words)
        texts.append(" ".join(words))
    return texts, Y


def planted(n=64):
    """Texts, their rows with the sentiment swapped on NOISY_ROWS, and the noise mask."""
    X, Y = toy_sets(n)
    noisy = np.zeros(n, dtype=bool)
    noisy[NOISY_ROWS] = True
    Y[noisy, :2] = 1 - Y[noisy, :2]
    return X, Y, noisy


@pytest.fixture(scope="module")
def fitted(tiny_encoder_path, torch_single_thread):
    X, Y_noisy, noisy = planted()
    clf = tiny(tiny_encoder_path, max_epochs=8, warmup_epochs=5).fit(X, Y_noisy)
    return clf, X, Y_noisy, noisy


# --- the loss terms, from first principles --------------------------------------------------


def test_binary_terms_are_the_two_class_terms_of_each_label():
    gen = torch.Generator().manual_seed(0)
    logits, aug = torch.randn(5, 3, generator=gen), torch.randn(5, 3, generator=gen)
    y = (torch.rand(5, 3, generator=gen) > 0.5).float()
    # A label's sigmoid is the softmax of the two logits (0, z).
    pairs = [torch.stack([torch.zeros(5), z], dim=1) for z in logits.T]
    aug_pairs = [torch.stack([torch.zeros(5), z], dim=1) for z in aug.T]
    expected_bce = torch.stack([F.cross_entropy(pair, y[:, k].long(), reduction="none")
                                for k, pair in enumerate(pairs)], dim=1).mean(dim=1)
    torch.testing.assert_close(binary_cross_entropy_rows(logits, y), expected_bce)
    for k, pair in enumerate(pairs):
        torch.testing.assert_close(torch.sigmoid(sharpen_binary(logits, 0.5))[:, k],
                                   sharpen(torch.softmax(pair, dim=1), 0.5)[:, 1])
    target = torch.sigmoid(sharpen_binary(logits, 0.5))
    expected_kl = torch.stack([
        symmetric_kl(torch.stack([1 - target[:, k], target[:, k]], dim=1), aug_pairs[k])
        for k in range(3)], dim=1).mean(dim=1)
    torch.testing.assert_close(symmetric_binary_kl(sharpen_binary(logits, 0.5), aug), expected_kl)
    assert symmetric_binary_kl(logits, logits).abs().max() == 0  # zero on agreement
    # finite where the sharpened probability rounds to 1 in float32
    assert torch.isfinite(symmetric_binary_kl(torch.tensor([[40.0, -40.0]]),
                                              torch.tensor([[0.0, 0.0]]))).all()
    mixed = 0.7 * y[:3] + 0.3 * y[2:5]
    expected_mix = -(mixed * torch.log(torch.sigmoid(logits[:3]))
                     + (1 - mixed) * torch.log(1 - torch.sigmoid(logits[:3]))).mean()
    torch.testing.assert_close(binary_mixup_loss(logits[:3], y[:3], y[2:5], 0.7), expected_mix)


def _robust_outputs(n_out, gen):
    return {
        "logits": torch.randn(4, n_out, generator=gen),
        "aug_logits": torch.randn(4, n_out, generator=gen),
        "mixed_logits": torch.randn(2, n_out, generator=gen), "clean_rows": torch.tensor([0, 1]),
        "partners": torch.tensor([1, 0]), "lam": 0.8,
    }


def _robust_net(path, multilabel):
    from skfreeal.slm._net import RobustNet
    from skfreeal.slm._net_multilabel import MultiLabelRobustNet

    cls, criterion = (MultiLabelRobustNet, torch.nn.BCEWithLogitsLoss) if multilabel else \
        (RobustNet, torch.nn.CrossEntropyLoss)
    net = cls(EncoderClassifier, module__model_name_or_path=path, module__n_classes=3,
              criterion=criterion, warmup_epochs=1, rampup_epochs=2, sharpen_temperature=0.5,
              train_split=None).initialize()
    for _ in range(2):  # epoch 2: the first robust epoch, weight 0.5
        net.history.new_epoch()
    net.history.new_batch()
    return net


def test_single_label_robust_loss_is_still_ce_plus_mixup_plus_consistency(tiny_encoder_path):
    """The single-label terms, written out with torch's primitives: unchanged by the refactor."""
    net = _robust_net(tiny_encoder_path, multilabel=False)
    out = _robust_outputs(3, torch.Generator().manual_seed(0))
    y = torch.tensor([0, 2, 1, -1])
    X = {"status": torch.tensor([CLEAN, CLEAN, NOISY, UNLABELLED])}
    loss = net.get_loss(out, y, X=X, training=False)
    logits, aug = out["logits"], out["aug_logits"]
    ce = F.cross_entropy(logits[:2], y[:2])
    target = 0.8 * F.one_hot(y[:2], 3).float() + 0.2 * F.one_hot(y[[1, 0]], 3).float()
    mix = -(target * F.log_softmax(out["mixed_logits"], dim=1)).sum(dim=1).mean()
    sharp = torch.softmax(logits[2:], dim=1) ** 2
    sharp = sharp / sharp.sum(dim=1, keepdim=True)
    log_q = F.log_softmax(aug[2:], dim=1)
    kl = (sharp * (sharp.log() - log_q)).sum(1) + (log_q.exp() * (log_q - sharp.log())).sum(1)
    consistency = torch.cat([F.cross_entropy(aug[:2], y[:2], reduction="none"), kl]).mean()
    torch.testing.assert_close(loss, ce + 0.5 * (mix + consistency))


def test_multilabel_robust_loss_is_the_binary_form(tiny_encoder_path):
    net = _robust_net(tiny_encoder_path, multilabel=True)
    out = _robust_outputs(3, torch.Generator().manual_seed(0))
    y = torch.tensor([[1, 0, 1], [0, 1, 0], [1, 1, 0], [-1, -1, -1]], dtype=torch.float32)
    X = {"status": torch.tensor([CLEAN, CLEAN, NOISY, UNLABELLED])}
    loss = net.get_loss(out, y, X=X, training=False)
    logits, aug = out["logits"], out["aug_logits"]

    def bce(z, t):
        p = torch.sigmoid(z)
        return -(t * p.log() + (1 - t) * (1 - p).log()).mean(dim=1)

    ce = bce(logits[:2], y[:2]).mean()
    mix = bce(out["mixed_logits"], 0.8 * y[:2] + 0.2 * y[[1, 0]]).mean()
    p = torch.sigmoid(logits[2:])
    t = p ** 2 / (p ** 2 + (1 - p) ** 2)  # each label sharpened at T = 0.5
    q = torch.sigmoid(aug[2:])
    kl = (t * (t / q).log() + (1 - t) * ((1 - t) / (1 - q)).log()
          + q * (q / t).log() + (1 - q) * ((1 - q) / (1 - t)).log()).mean(dim=1)
    consistency = torch.cat([bce(aug[:2], y[:2]), kl]).mean()
    torch.testing.assert_close(loss, ce + 0.5 * (mix + consistency))
    # the labels of noisy and unlabelled rows never count
    other = y.clone()
    other[2] = torch.tensor([0.0, 0.0, 1.0])
    torch.testing.assert_close(net.get_loss(out, other, X=X), loss)


def test_multilabel_probe_is_a_binary_probe_per_label():
    rng = np.random.RandomState(0)
    emb = rng.randn(40, 6)
    Y = np.column_stack([emb[:, 0] > 0, emb[:, 1] + 0.3 * rng.randn(40) > 0,
                         np.zeros(40, bool), np.ones(40, bool)]).astype(np.int64)
    Y[0, 2] = 1  # label 2: carried once, too rare to search (C=1)
    weight, bias, C, score = fit_multilabel_probe(emb, Y, random_state=0)
    assert weight.shape == (4, 6) and bias.shape == (4,) and C.shape == (4,)
    for k in range(3):
        w, b, c, _ = fit_linear_probe(emb, Y[:, k], 2, random_state=0)
        np.testing.assert_allclose(weight[k], w[1] - w[0])
        assert bias[k] == pytest.approx(b[1] - b[0]) and C[k] == c
    # every text carries label 3: no weight, the logit of the smoothed frequency
    assert not weight[3].any() and bias[3] == pytest.approx(np.log(40.5 / 0.5))
    assert np.isnan(C[3]) and 0.5 < score <= 1
    proba = 1 / (1 + np.exp(-(emb @ weight.T + bias)))
    assert ((proba[:, 0] > 0.5) == Y[:, 0]).mean() >= 0.9


# --- the classifier ------------------------------------------------------------------------


def test_fits_an_indicator_matrix_and_predicts_one(fitted):
    clf = fitted[0]
    X_new, Y_new = toy_sets(40, seed=1)
    assert clf.multilabel_ and clf.classes_.tolist() == [0, 1, 2]
    proba = clf.predict_proba(X_new)
    assert proba.shape == (40, 3) and ((proba >= 0) & (proba <= 1)).all()
    pred = clf.predict(X_new)
    assert pred.shape == (40, 3) and pred.dtype == np.int64
    np.testing.assert_array_equal(pred, (proba >= 0.5).astype(np.int64))
    np.testing.assert_array_equal(clf.decision_function(X_new) > 0, proba > 0.5)
    assert f1_score(Y_new, pred, average="samples") >= 0.9
    assert clf.score(X_new, Y_new) == np.mean(np.all(pred == Y_new, axis=1))  # subset accuracy
    assert clf.sample_losses_.shape == clf.clean_mask_.shape == (64,)
    assert len(clf.probe_C_) == 3


def test_threshold_is_applied_at_predict_without_refitting(fitted):
    clf, X, _, _ = fitted
    proba = clf.predict_proba(X)
    try:
        for threshold in (0.0, 0.3, 0.9):
            clf.set_params(threshold=threshold)
            np.testing.assert_array_equal(clf.predict(X), (proba >= threshold).astype(np.int64))
        clf.set_params(threshold=0.0)
        assert clf.predict(X).all()
    finally:
        clf.set_params(threshold=0.5)


def test_the_noise_split_on_mean_bce_flags_the_planted_rows(fitted):
    clf, X, Y_noisy, noisy = fitted
    # the fitted losses are the mean binary cross-entropy of the final model's probabilities
    p = np.clip(clf.predict_proba(X), 1e-12, 1 - 1e-12)
    bce = -np.mean(Y_noisy * np.log(p) + (1 - Y_noisy) * np.log1p(-p), axis=1)
    np.testing.assert_allclose(clf.sample_losses_, bce, rtol=1e-4, atol=1e-6)
    # 8 planted rows of 64: chance would flag 12.5% of the clean ones and of the noisy ones alike
    assert (~clf.clean_mask_[noisy]).mean() >= 0.75
    assert clf.clean_mask_[~noisy].mean() >= 0.75
    assert clf.sample_losses_[noisy].mean() > 3 * clf.sample_losses_[~noisy].mean()
    robust = [h for h in clf.history_ if h["robust"]]
    assert robust and all(np.isfinite(h["mixup"]) and np.isfinite(h["consistency"])
                          for h in robust)


def test_unlabelled_rows_are_minus_one_or_nan(tiny_encoder_path):
    X, Y = toy_sets(24)
    Y = Y.astype(float)
    Y[:3] = -1
    Y[3] = np.nan
    clf = tiny(tiny_encoder_path, max_epochs=3, warmup_epochs=2).fit(X, Y)
    assert np.isnan(clf.sample_losses_[:4]).all() and not clf.clean_mask_[:4].any()
    assert np.isfinite(clf.sample_losses_[4:]).all()
    assert [h["n_samples"] for h in clf.history_] == [20, 20, 24]


def test_sparse_indicator_and_the_plain_baseline(tiny_encoder_path):
    from scipy.sparse import csr_matrix

    X, Y = toy_sets(24)
    clf = tiny(tiny_encoder_path, robust=False, max_epochs=2, head_init="random")
    clf.fit(X, csr_matrix(Y))
    assert clf.multilabel_ and clf.predict(X).shape == (24, 3)
    assert np.isnan(clf.probe_C_) and np.isfinite(clf.sample_losses_).all()


def test_small_token_budget_trains_multilabel_too(tiny_encoder_path):
    X, Y = toy_sets(24)
    clf = tiny(tiny_encoder_path, max_epochs=3, warmup_epochs=1, max_batch_tokens=40).fit(X, Y)
    assert clf.predict(X).shape == (24, 3) and np.isfinite(clf.history_[-1]["mixup"])


def test_joblib_round_trip_keeps_the_mode(fitted):
    clf, X, _, _ = fitted
    buffer = io.BytesIO()
    joblib.dump(clf, buffer)
    buffer.seek(0)
    loaded = joblib.load(buffer)
    assert loaded.multilabel_
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))
    np.testing.assert_array_equal(loaded.predict(X), clf.predict(X))


def test_a_pickle_from_before_threshold_gets_its_default(fitted):
    clf, X, _, _ = fitted
    state = dict(clf.__getstate__())  # a copy: the default state is clf's own __dict__
    del state["threshold"]  # as pickled before the parameter existed
    old = RobustTextClassifier.__new__(RobustTextClassifier)
    old.__setstate__(state)
    assert old.get_params()["threshold"] == 0.5
    np.testing.assert_array_equal(old.predict(X), clf.predict(X))
    # the same through pickle itself, on a model without the attribute
    del old.threshold
    assert pickle.loads(pickle.dumps(old)).get_params()["threshold"] == 0.5


def test_grid_search_tunes_the_threshold_with_a_multilabel_scorer(tiny_encoder_path):
    X, Y = toy_sets(32)
    search = GridSearchCV(tiny(tiny_encoder_path, max_epochs=3, warmup_epochs=2),
                          {"threshold": [0.5, 0.0]}, cv=2, scoring="f1_samples")
    search.fit(X, Y)
    scores = search.cv_results_["mean_test_score"]
    # threshold 0 marks every label: samples F1 = mean of 2|Y| / (|Y| + 3) < 1
    assert scores[1] == pytest.approx(np.mean(2 * Y.sum(1) / (Y.sum(1) + 3)))
    assert search.best_params_["threshold"] == (0.5 if scores[0] > scores[1] else 0.0)
    assert search.best_estimator_.threshold == search.best_params_["threshold"]
    assert search.predict(X).shape == (32, 3)


@pytest.mark.parametrize("y, match", [
    (np.array([[1, 0], [2, 0], [0, 1]]), r"y\[1, 0\] = 2: an indicator"),
    (np.array([[1, -1], [0, 1], [1, 0]]), r"y\[0\] = \[1.0, -1.0\] mixes known and unknown"),
    (-np.ones((3, 2)), "all 3 rows unlabelled"),
    (np.ones((2, 2)), r"shape \(3, n_labels\)"),
    ([["a", "b"], ["c", "d"], ["a", "c"]], "must hold 0 and 1"),
])
def test_bad_indicator_matrices_are_named(y, match):
    with pytest.raises(ValueError, match=match):
        RobustTextClassifier("unused-path").fit(["a b", "c d", "e f"], y)


def test_bad_threshold_is_named():
    with pytest.raises(ValueError, match="'threshold' parameter .* Got 1.5"):
        RobustTextClassifier("unused-path", threshold=1.5).fit(["a", "b"], [[0, 1], [1, 0]])
