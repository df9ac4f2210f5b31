"""The student's memory bound (token budget, gradient accumulation) and precision."""

import warnings

import numpy as np
import pytest
import torch

from skfreeal.slm._data import CLEAN, NOISY, UNLABELLED, batched_apply, pad_sequences, token_chunks
from skfreeal.slm._module import EncoderClassifier

pytestmark = pytest.mark.usefixtures("torch_single_thread")


def test_token_chunks_keep_each_micro_batch_within_the_budget():
    rng = np.random.RandomState(0)
    lengths = np.column_stack([rng.randint(5, 60, 32), rng.randint(5, 60, 32)])
    chunks = token_chunks(lengths, 300)
    assert len(chunks) > 1
    rows = np.concatenate([c.numpy() for c in chunks])
    assert sorted(rows.tolist()) == list(range(32))  # every row once
    for chunk in chunks:
        cost = len(chunk) * lengths[chunk.numpy()].max(axis=0).sum()
        assert cost <= 300
    # A batch within the budget, or no budget: one micro-batch, in order.
    for budget in (None, 32 * 120):
        (whole,) = token_chunks(lengths, budget)
        assert whole.tolist() == list(range(32))
    # A row alone above the budget is a micro-batch of its own.
    assert [c.tolist() for c in token_chunks([50, 3, 3], 40)] == [[0], [1, 2]]


def test_batched_apply_caps_the_tokens_of_a_batch():
    sequences = [[1] * n for n in (40, 3, 30, 5, 12, 7)]
    shapes = []

    def fn(ids, mask):
        shapes.append(tuple(ids.shape))
        return mask.sum(dim=1, keepdim=True).float()

    capped = batched_apply(fn, sequences, batch_size=4, pad_id=0, device="cpu", max_tokens=60)
    assert all(rows * longest <= 60 or rows == 1 for rows, longest in shapes)
    assert max(rows for rows, _ in shapes) <= 4
    whole = batched_apply(fn, sequences, batch_size=4, pad_id=0, device="cpu")
    np.testing.assert_array_equal(capped, whole)
    np.testing.assert_array_equal(capped[:, 0], [len(s) for s in sequences])


def _net(path, budget, multilabel=False, **params):
    from skfreeal.slm._net import RobustNet
    from skfreeal.slm._net_multilabel import MultiLabelRobustNet

    torch.manual_seed(0)  # the same head in both nets
    cls, criterion = (MultiLabelRobustNet, {"criterion": torch.nn.BCEWithLogitsLoss}) \
        if multilabel else \
        (RobustNet, {"criterion": torch.nn.CrossEntropyLoss, "criterion__ignore_index": -1})
    net = cls(EncoderClassifier, module__model_name_or_path=path, module__n_classes=3,
              **criterion, warmup_epochs=1, rampup_epochs=2, train_split=None, seed=3,
              max_batch_tokens=budget, **params).initialize()
    for module in net.module_.modules():  # no dropout: the two runs must draw nothing
        if isinstance(module, torch.nn.Dropout):
            module.p = 0.0
    for _ in range(2):  # epoch 2: the first robust epoch, weight 0.5
        net.history.new_epoch()
    net.history.new_batch()
    return net


def _batch(robust, multilabel=False):
    rng = np.random.RandomState(1)
    seqs = [[101, *rng.randint(1000, 5000, n), 102] for n in rng.randint(3, 30, 10)]
    ids, mask = pad_sequences(seqs, 0)
    X = {"input_ids": ids, "attention_mask": mask,
         "status": torch.tensor([CLEAN] * 5 + [NOISY] * 3 + [UNLABELLED] * 2)}
    y = torch.tensor([0, 1, 2, 0, 1, 2, 2, 0, -1, -1])
    if robust:
        augs = [s[:-2] + [102] if len(s) > 4 else s for s in seqs]
        X["aug_input_ids"], X["aug_attention_mask"] = pad_sequences(augs, 0)
    else:
        y = torch.tensor([0, 1, 2, 0, 1, 2, 2, 0, 1, 2])
    if multilabel:  # each class as a label, plus label 0 on every third text
        known = y >= 0
        y = torch.where(known[:, None], torch.nn.functional.one_hot(y.clamp(min=0), 3), -1)
        y[::3, 0] = torch.where(known[::3], 1, -1)
        y = y.float()
    return X, y


# 60 tokens split everything; 320 holds the texts (at most 31 tokens each) whole
# but not the texts and their views together.
@pytest.mark.parametrize("multilabel", [False, True])
@pytest.mark.parametrize("robust, budget", [(False, 60), (True, 60), (True, 320)])
def test_micro_batches_give_the_whole_batch_gradient(tiny_encoder_path, robust, budget,
                                                     multilabel):
    X, y = _batch(robust, multilabel)
    steps, grads = [], []
    for limit in (None, budget):
        net = _net(tiny_encoder_path, limit, multilabel)
        calls, accumulated = [], []
        net.module_.encoder.register_forward_hook(lambda *args: calls.append(1))
        for name in ("_plain_step_accumulated", "_robust_step_accumulated"):
            method = getattr(net, name)
            setattr(net, name, lambda *a, _m=method, **k: accumulated.append(1) or _m(*a, **k))
        steps.append(net.train_step_single((X, y)))
        steps[-1]["accumulated"] = bool(accumulated)
        steps[-1]["parts"] = net.history[-1, "batches", -1] if robust else {}
        steps[-1]["calls"] = len(calls)
        grads.append({name: p.grad.clone() for name, p in net.module_.named_parameters()
                      if p.grad is not None})
    whole, split = steps
    assert whole["calls"] == (2 if robust else 1) and not whole["accumulated"]
    assert split["accumulated"] and split["calls"] >= whole["calls"]  # the budget split it
    assert split["loss"].item() == pytest.approx(whole["loss"].item(), rel=1e-5)
    torch.testing.assert_close(split["y_pred"], whole["y_pred"], rtol=1e-4, atol=1e-5)
    assert grads[0].keys() == grads[1].keys()
    for name in grads[0]:
        torch.testing.assert_close(grads[1][name], grads[0][name], rtol=1e-4, atol=1e-6,
                                   msg=f"gradient of {name}")
    for part in whole["parts"]:
        assert split["parts"][part] == pytest.approx(whole["parts"][part], rel=1e-5)


@pytest.mark.parametrize("budget", [None, 60])
def test_no_augmented_pass_without_the_consistency_term(tiny_encoder_path, budget):
    X, y = _batch(robust=True)
    net = _net(tiny_encoder_path, budget, consistency_weight=0.0)
    inputs = []
    net.module_.encoder.register_forward_hook(
        lambda module, args, kwargs, out: inputs.append(kwargs["input_ids"]), with_kwargs=True)
    net.train_step_single((X, y))
    assert net.history[-1, "batches", -1]["consistency"] == 0.0
    # The texts once (twice when split: the pass without a graph, then with
    # one); with the views it would be once more.
    assert sum(len(ids) for ids in inputs) == 10 * (1 if budget is None else 2)


def test_precision_resolution(monkeypatch):
    from skfreeal.slm import _precision

    assert _precision.resolve_precision("float32", "cpu") is None
    assert _precision.resolve_precision("bfloat16", "cpu") is torch.bfloat16
    monkeypatch.setattr(_precision, "_cpu_flags", lambda: frozenset({"avx512f", "avx512_bf16"}))
    assert _precision.resolve_precision("auto", "cpu") is torch.bfloat16
    monkeypatch.setattr(_precision, "_cpu_flags", lambda: frozenset({"avx512f", "avx2"}))
    assert _precision.resolve_precision("auto", "cpu") is None
    with pytest.raises(ValueError, match="'half'"):
        _precision.resolve_precision("half", "cpu")


@pytest.mark.parametrize("param, value", [("max_batch_tokens", 0), ("max_batch_tokens", 2.5),
                                          ("precision", "half"), ("predict_quantization", "int4")])
def test_new_parameters_are_validated(param, value):
    from sklearn.utils._param_validation import InvalidParameterError

    from skfreeal import RobustTextClassifier

    with pytest.raises(InvalidParameterError, match=f"'{param}'.*{value}"):
        RobustTextClassifier(**{param: value}).fit(["a", "b"], ["x", "y"])


TEXTS = ["good film", "bad film", "great acting", "awful plot", "lovely", "terrible",
         "nice story", "boring story"] * 2
LABELS = ["pos", "neg"] * 8


def _fit(path, **params):
    from skfreeal import RobustTextClassifier

    return RobustTextClassifier(path, n_steps=6, batch_size=8, random_state=0,
                                **params).fit(TEXTS, LABELS)


def test_default_budget_leaves_short_texts_unchanged(tiny_encoder_path):
    # The default budget holds these batches whole: the same steps as without it.
    default, unbounded = _fit(tiny_encoder_path), _fit(tiny_encoder_path, max_batch_tokens=None)
    assert default.precision_ == "float32"
    np.testing.assert_array_equal(default.decision_function(TEXTS),
                                  unbounded.decision_function(TEXTS))


def test_small_budget_and_bfloat16_fit_and_predict(tiny_encoder_path):
    small = _fit(tiny_encoder_path, max_batch_tokens=16)
    assert small.n_steps_ >= 6 and np.isfinite(small.sample_losses_).all()
    assert set(small.predict(TEXTS)) <= {"pos", "neg"}
    bf16 = _fit(tiny_encoder_path, precision="bfloat16")
    assert bf16.precision_ == "bfloat16"
    assert bf16.decision_function(TEXTS).dtype == np.float32
    assert np.isfinite(bf16.history_[-1]["loss"])


def test_int8_predict_runs_a_quantized_copy(tiny_encoder_path):
    import pickle

    float32 = _fit(tiny_encoder_path)
    int8 = _fit(tiny_encoder_path, predict_quantization="int8")
    # The same fit; only the eval-mode passes after it differ, by quantization error.
    np.testing.assert_array_equal(int8.sample_losses_, float32.sample_losses_)
    scores = int8.decision_function(TEXTS)
    assert not np.array_equal(scores, float32.decision_function(TEXTS))
    np.testing.assert_allclose(scores, float32.decision_function(TEXTS), rtol=0.1, atol=0.1)
    assert isinstance(int8.net_.module_.head, torch.nn.Linear)  # the float net is kept
    assert float32.int8_module_ is None and int8.int8_module_ is not None
    # the pickle holds no quantized module (torch would warn through its deprecated
    # TypedStorage): the copy is rebuilt on loading, to the same scores
    assert int8.__getstate__()["int8_module_"] == "rebuild"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loaded = pickle.loads(pickle.dumps(int8))
    np.testing.assert_array_equal(loaded.decision_function(TEXTS), scores)
    with pytest.raises(ValueError, match="predict_quantization='int8'.*device='cuda'"):
        _fit(tiny_encoder_path, predict_quantization="int8", device="cuda")
