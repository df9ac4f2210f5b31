"""The student's building blocks: loss terms, batching, the mixup forward, the net's step."""

import numpy as np
import pytest
import torch

from skfreeal.slm._data import (
    CLEAN, NOISY, UNLABELLED, PadCollate, TrainingSet, batched_apply, pad_sequences,
)
from skfreeal.slm._losses import (
    mixup_lambda, mixup_loss, ramp_weight, sharpen, soft_cross_entropy, symmetric_kl,
)
from skfreeal.slm._module import EncoderClassifier, mean_pool
from skfreeal.slm._net import linear_schedule

pytestmark = pytest.mark.usefixtures("torch_single_thread")


def test_sharpen():
    p = torch.tensor([[0.6, 0.4], [0.5, 0.5]])
    s = sharpen(p, 0.5)
    np.testing.assert_allclose(s.sum(1), 1.0, rtol=1e-6)
    assert s[0, 0] == pytest.approx(0.36 / 0.52) and s[1, 0] == pytest.approx(0.5)
    torch.testing.assert_close(sharpen(p, 1.0), p)
    # A small temperature on a near-uniform row of many classes: p ** (1 / T)
    # underflows in float32, the result must still be a distribution.
    flat = torch.full((1, 10), 0.1)
    flat[0, 0] = 0.12
    sharp = sharpen(flat / flat.sum(), 0.02)
    assert torch.isfinite(sharp).all() and sharp[0, 0] > 0.99


def test_symmetric_kl_is_zero_on_agreement_and_symmetric():
    target = torch.tensor([[0.7, 0.3]])
    assert symmetric_kl(target, target.log()).item() == pytest.approx(0.0, abs=1e-6)
    p, q = torch.tensor([[0.9, 0.1]]), torch.tensor([[0.2, 0.8]])
    forward = symmetric_kl(p, q.log()).item()
    assert forward == pytest.approx(symmetric_kl(q, p.log()).item(), rel=1e-5)
    kl_pq = 0.9 * np.log(0.9 / 0.2) + 0.1 * np.log(0.1 / 0.8)
    kl_qp = 0.2 * np.log(0.2 / 0.9) + 0.8 * np.log(0.8 / 0.1)
    expected = kl_pq + kl_qp
    assert forward == pytest.approx(expected, rel=1e-5)


def test_mixup_loss_and_lambda():
    rng = np.random.RandomState(0)
    lams = [mixup_lambda(rng, 4.0) for _ in range(200)]
    assert min(lams) >= 0.5 and max(lams) <= 1.0
    logits = torch.tensor([[2.0, -1.0]])
    y = torch.tensor([0])
    assert mixup_loss(logits, y, y, 0.7, 2).item() == pytest.approx(
        torch.nn.functional.cross_entropy(logits, y).item(), rel=1e-6)
    soft = torch.tensor([[0.7, 0.3]])
    assert mixup_loss(logits, y, torch.tensor([1]), 0.7, 2).item() == pytest.approx(
        soft_cross_entropy(logits, soft).item(), rel=1e-6)


def test_ramp_weight():
    assert [ramp_weight(e, 2, 4) for e in range(1, 9)] == [0, 0, 0.25, 0.5, 0.75, 1, 1, 1]
    assert ramp_weight(3, 2, 0) == 1.0


def test_linear_schedule():
    factors = [linear_schedule(s, total_steps=10, warmup_steps=2) for s in range(10)]
    assert factors[:3] == [0.5, 1.0, 1.0] and factors[-1] == pytest.approx(0.125)
    assert all(a >= b for a, b in zip(factors[1:], factors[2:]))


def test_pad_and_mean_pool():
    ids, mask = pad_sequences([[1, 2, 3], [4]], pad_id=0)
    assert ids.tolist() == [[1, 2, 3], [4, 0, 0]] and mask.tolist() == [[1, 1, 1], [1, 0, 0]]
    hidden = torch.arange(12, dtype=torch.float32).reshape(2, 3, 2)
    torch.testing.assert_close(mean_pool(hidden, mask), torch.tensor([[2.0, 3.0], [6.0, 7.0]]))


def test_batched_apply_sorts_by_length_and_restores_input_order():
    seqs = [[1] * n for n in (3, 9, 1, 5, 7, 2)]
    widths = []

    def fn(ids, mask):
        widths.append(ids.shape[1])
        return mask.sum(1, keepdim=True)

    out = batched_apply(fn, seqs, batch_size=2, pad_id=0, device="cpu")
    assert out[:, 0].tolist() == [3, 9, 1, 5, 7, 2]
    assert widths == [9, 5, 2]  # longest batch first, each padded to its own longest


def test_training_set_and_collate():
    data = TrainingSet(["a", "b", "c"], [[5, 6], [7], [8, 9, 10]], np.array([1, -1, 0]))
    assert len(data) == 2 and data.status.tolist() == [CLEAN, UNLABELLED, CLEAN]
    X, y = PadCollate(0)([data[0], data[1]])
    assert set(X) == {"input_ids", "attention_mask", "status"} and y.tolist() == [1, 0]
    data.active, data.aug_ids = np.arange(3), [[5], [7, 7], [8]]
    data.status[2] = NOISY
    X, y = PadCollate(0)([data[k] for k in range(3)])
    assert X["aug_input_ids"].tolist() == [[5, 0], [7, 7], [8, 0]]
    assert X["status"].tolist() == [CLEAN, UNLABELLED, NOISY] and y.tolist() == [1, -1, 0]


def test_module_mixes_pooled_states(tiny_encoder_path):
    torch.manual_seed(0)
    module = EncoderClassifier(tiny_encoder_path, n_classes=3).eval()
    ids, mask = pad_sequences([[101, 2204, 102], [101, 2919, 2154, 102]], pad_id=0)
    logits, mixed = module(ids, mask, mix_rows=torch.tensor([0]), mix_partners=torch.tensor([1]),
                           mix_lambda=0.75)
    pooled = module.encode(ids, mask)
    torch.testing.assert_close(mixed, module.head(0.75 * pooled[:1] + 0.25 * pooled[1:]))
    torch.testing.assert_close(logits, module(ids, mask))
    assert logits.shape == (2, 3)


def test_robust_loss_ignores_labels_of_noisy_and_unlabelled_samples(tiny_encoder_path):
    from skfreeal.slm._net import RobustNet

    net = RobustNet(EncoderClassifier, module__model_name_or_path=tiny_encoder_path,
                    module__n_classes=2, criterion=torch.nn.CrossEntropyLoss,
                    warmup_epochs=1, rampup_epochs=2, train_split=None).initialize()
    for _ in range(2):  # epoch 2: the first robust epoch, weight 0.5
        net.history.new_epoch()
    net.history.new_batch()
    gen = torch.Generator().manual_seed(0)
    outputs = {
        "logits": torch.randn(4, 2, generator=gen), "aug_logits": torch.randn(4, 2, generator=gen),
        "mixed_logits": torch.randn(2, 2, generator=gen), "clean_rows": torch.tensor([0, 1]),
        "partners": torch.tensor([1, 0]), "lam": 0.8,
    }
    X = {"status": torch.tensor([CLEAN, CLEAN, NOISY, UNLABELLED])}
    loss = net.get_loss(outputs, torch.tensor([0, 1, 0, -1]), X=X, training=True)
    same = net.get_loss(outputs, torch.tensor([0, 1, 1, 0]), X=X, training=False)
    assert loss.item() == pytest.approx(same.item())
    other = net.get_loss(outputs, torch.tensor([1, 1, 0, -1]), X=X, training=False)
    assert other.item() != pytest.approx(loss.item())  # clean labels do count
    batch = net.history[-1, "batches", -1]
    assert set(batch) >= {"ce", "mixup", "consistency"}
    expected = batch["ce"] + 0.5 * (batch["mixup"] + batch["consistency"])
    assert loss.item() == pytest.approx(expected, rel=1e-5)


def test_attention_dropout_overrides_the_encoder_config(tiny_encoder_path):
    own = EncoderClassifier(tiny_encoder_path, n_classes=2).encoder.config
    assert own.attention_probs_dropout_prob > 0
    module = EncoderClassifier(tiny_encoder_path, n_classes=2, attention_dropout=0.0)
    assert module.encoder.config.attention_probs_dropout_prob == 0.0
    # only the attention's dropout: the hidden states' stays the encoder's own
    assert module.encoder.config.hidden_dropout_prob == own.hidden_dropout_prob


def test_attention_dropout_reaches_the_fitted_student(tiny_encoder_path):
    from skfreeal.slm import RobustTextClassifier

    X = ["good film", "bad film", "great fun", "awful plot"] * 4
    y = ["pos", "neg", "pos", "neg"] * 4
    clf = RobustTextClassifier(tiny_encoder_path, attention_dropout=0.0, n_steps=2,
                               robust=False, random_state=0).fit(X, y)
    assert clf.net_.module_.encoder.config.attention_probs_dropout_prob == 0.0
    with pytest.raises(ValueError, match="attention_dropout"):
        RobustTextClassifier(tiny_encoder_path, attention_dropout=1.5).fit(X, y)


def test_auto_attention_dropout_is_off_for_long_texts_only():
    from skfreeal.slm._module import LONG_TEXT_TOKENS, resolve_attention_dropout

    assert resolve_attention_dropout("auto", LONG_TEXT_TOKENS) == 0.0
    assert resolve_attention_dropout("auto", 64) is None
    assert resolve_attention_dropout(0.05, 512) == 0.05
    assert resolve_attention_dropout(None, 512) is None
