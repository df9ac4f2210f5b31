"""The skorch net that does robust self-training, and its per-epoch callback.

:class:`RobustNet` overrides two of skorch's small methods: ``train_step_single``
runs the forward passes a robust step needs, ``get_loss`` combines them.
:class:`NoiseSplit` is the callback that, before each robust epoch, computes
the per-sample losses in eval mode, splits clean from noisy with the noise
filter and draws fresh augmented views.
"""

import time

import numpy as np
import torch
import torch.nn.functional as F
from skorch import NeuralNet
from skorch.callbacks import Callback
from skorch.dataset import unpack_data
from skorch.utils import to_tensor
from sklearn.base import clone

from ._data import CLEAN, NOISY, batched_apply
from ._losses import mixup_lambda, mixup_loss, ramp_weight, sharpen, symmetric_kl

__all__ = ["NoiseSplit", "RobustNet", "linear_schedule"]

_PARTS = ("ce", "mixup", "consistency")


def linear_schedule(step, *, total_steps, warmup_steps):
    """Learning-rate factor: linear warm-up, then linear decay to zero."""
    if step < warmup_steps:
        return (step + 1) / warmup_steps
    return max(0.0, (total_steps - step) / max(1, total_steps - warmup_steps))


class RobustNet(NeuralNet):
    """skorch ``NeuralNet`` whose training step is FreeAL's robust step.

    Warm-up epochs (and every epoch when ``robust=False``) minimise the
    cross-entropy of the labelled samples. In later epochs the batch carries
    an augmented view and each sample's status (clean, noisy, unlabelled, set
    by :class:`NoiseSplit`), and the loss is::

        CE(clean) + w(t) * (mixup_weight * mixup(clean)
                            + consistency_weight * consistency(all))

    Parameters
    ----------
    module : type
        The network class (:class:`~skfreeal.slm._module.EncoderClassifier`).
    robust : bool, default=True
    warmup_epochs, rampup_epochs : int
    consistency_weight, mixup_weight, mixup_alpha, sharpen_temperature : float
    pad_token_id : int, default=0
        Padding id used when batching for inference.
    infer_batch_size : int, default=64
        Batch size of the eval-mode passes.
    seed : int, default=0
        Seed of the mixup draws (the generator lives in ``rng_``).
    **kwargs
        Passed to :class:`skorch.NeuralNet`.
    """

    def __init__(self, module, *args, robust=True, warmup_epochs=1, rampup_epochs=10,
                 consistency_weight=1.0, mixup_weight=1.0, mixup_alpha=4.0,
                 sharpen_temperature=0.5, pad_token_id=0, infer_batch_size=64, seed=0,
                 **kwargs):
        super().__init__(module, *args, **kwargs)
        self.robust = robust
        self.warmup_epochs = warmup_epochs
        self.rampup_epochs = rampup_epochs
        self.consistency_weight = consistency_weight
        self.mixup_weight = mixup_weight
        self.mixup_alpha = mixup_alpha
        self.sharpen_temperature = sharpen_temperature
        self.pad_token_id = pad_token_id
        self.infer_batch_size = infer_batch_size
        self.seed = seed

    def initialize(self):
        self.rng_ = np.random.RandomState(self.seed)
        self.torch_rng_ = torch.Generator().manual_seed(int(self.seed))
        return super().initialize()

    def is_robust_epoch(self, epoch):
        """Whether the (1-based) epoch trains with the robust loss."""
        return bool(self.robust) and epoch > self.warmup_epochs

    # -- training ---------------------------------------------------------------
    def train_step_single(self, batch, **fit_params):
        self._set_training(True)
        Xi, yi = unpack_data(batch)
        Xi = to_tensor(Xi, device=self.device)
        yi = to_tensor(yi, device=self.device)
        if "aug_input_ids" not in Xi:
            logits = self.module_(Xi["input_ids"], Xi["attention_mask"])
            loss = self.get_loss(logits, yi, X=Xi, training=True)
        else:
            clean_rows = torch.nonzero(Xi["status"] == CLEAN).flatten()
            partners = clean_rows[
                torch.randperm(len(clean_rows), generator=self.torch_rng_).to(clean_rows.device)
            ]
            lam = mixup_lambda(self.rng_, self.mixup_alpha)
            logits, mixed_logits = self.module_(
                Xi["input_ids"], Xi["attention_mask"], mix_rows=clean_rows,
                mix_partners=partners, mix_lambda=lam,
            )
            aug_logits = self.module_(Xi["aug_input_ids"], Xi["aug_attention_mask"])
            outputs = {
                "logits": logits, "aug_logits": aug_logits, "mixed_logits": mixed_logits,
                "clean_rows": clean_rows, "partners": partners, "lam": lam,
            }
            loss = self.get_loss(outputs, yi, X=Xi, training=True)
        loss.backward()
        return {"loss": loss, "y_pred": logits}

    def get_loss(self, y_pred, y_true, X=None, training=False):
        """Cross-entropy on labelled samples, or the robust loss of a robust batch.

        ``y_pred`` is the logits tensor (plain step; ``-1`` targets are ignored
        by the criterion) or the dict of outputs built by ``train_step_single``.
        """
        if not isinstance(y_pred, dict):
            return super().get_loss(y_pred, y_true, X=X, training=training)
        status = X["status"]
        clean = status == CLEAN
        logits, aug_logits = y_pred["logits"], y_pred["aug_logits"]
        n_classes = logits.shape[1]
        zero = logits.new_zeros(())

        ce = F.cross_entropy(logits[clean], y_true[clean]) if clean.any() else zero
        if len(y_pred["clean_rows"]):
            mix = mixup_loss(
                y_pred["mixed_logits"], y_true[y_pred["clean_rows"]],
                y_true[y_pred["partners"]], y_pred["lam"], n_classes,
            )
        else:
            mix = zero
        # Consistency, one term per sample: CE on the augmented view for clean
        # samples; for noisy and unlabelled ones the augmented view must match
        # a sharpened, stop-gradient prediction on the original text.
        per_sample = logits.new_zeros(len(status))
        if clean.any():
            per_sample[clean] = F.cross_entropy(aug_logits[clean], y_true[clean], reduction="none")
        other = ~clean
        if other.any():
            target = sharpen(torch.softmax(logits[other].detach(), dim=1), self.sharpen_temperature)
            per_sample[other] = symmetric_kl(target, aug_logits[other])
        consistency = per_sample.mean()

        weight = ramp_weight(len(self.history), self.warmup_epochs, self.rampup_epochs)
        loss = ce + weight * (self.mixup_weight * mix + self.consistency_weight * consistency)
        if training:
            for name, value in zip(_PARTS, (ce, mix, consistency)):
                self.history.record_batch(name, float(value.detach()))
        return loss

    # -- eval-mode passes -------------------------------------------------------
    def _eval_pass(self, forward, input_ids):
        """``forward`` over token id sequences in eval mode, length-sorted batches, input order."""
        self._set_training(False)
        return batched_apply(forward, input_ids, batch_size=self.infer_batch_size,
                             pad_id=self.pad_token_id, device=self.device)

    def predict_logits(self, input_ids):
        """Logits of token id sequences in eval mode, length-sorted batches, input order."""
        return self._eval_pass(self.module_, input_ids)

    def embed(self, input_ids):
        """Mean-pooled encoder states of token id sequences, in input order."""
        return self._eval_pass(self.module_.encode, input_ids)

    def sample_losses(self, input_ids, y):
        """Per-sample cross-entropy in eval mode (``y`` must be >= 0)."""
        logits = torch.from_numpy(self.predict_logits(input_ids)).double()
        return F.cross_entropy(logits, torch.as_tensor(y), reduction="none").numpy()


class NoiseSplit(Callback):
    """Per-epoch loss pass: clean/noisy split and fresh augmented views.

    Before each robust epoch: per-sample losses of the labelled training
    texts (eval mode) -> a fresh clone of ``noise_filter`` fitted on them ->
    each labelled sample's status; new augmented views of every training
    text; the epoch then iterates over all texts (labelled only during
    warm-up). After training, one more pass gives the final losses and
    split (``sample_losses_``, ``clean_proba_``, ``clean_mask_``,
    ``noise_filter_``, all over the labelled samples).

    Parameters
    ----------
    noise_filter : noise filter (``fit``, ``score_samples``, ``predict``)
    augmenter : object with ``augment(texts, random_state=...)``
    tokenize : callable
        ``list[str] -> list[list[int]]`` for the augmented views.
    seed : int
        Seed of the augmentations (one derived per epoch).
    """

    def __init__(self, noise_filter, augmenter, tokenize, seed=0):
        self.noise_filter = noise_filter
        self.augmenter = augmenter
        self.tokenize = tokenize
        self.seed = seed

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        self.dataset_ = X
        self._rng = np.random.RandomState(self.seed)

    def on_epoch_begin(self, net, dataset_train=None, dataset_valid=None, **kwargs):
        epoch = len(net.history)
        data = self.dataset_
        robust = net.is_robust_epoch(epoch)
        net.history.record("weight", ramp_weight(epoch, net.warmup_epochs, net.rampup_epochs)
                           if robust else 0.0)
        if not robust:
            data.active, data.aug_ids = data.labelled, None
            net.history.record("clean_fraction", float("nan"))
            net.history.record("loss_pass_seconds", 0.0)
            return
        start = time.perf_counter()
        clean = self._split(net)
        data.status[data.labelled] = np.where(clean, CLEAN, NOISY)
        views = self.augmenter.augment(data.texts, random_state=self._rng.randint(2**31 - 1))
        data.aug_ids = self.tokenize(views)
        data.active = np.arange(len(data.y))
        net.history.record("clean_fraction", float(clean.mean()))
        net.history.record("loss_pass_seconds", time.perf_counter() - start)

    def on_epoch_end(self, net, dataset_train=None, dataset_valid=None, **kwargs):
        batches = net.history[-1, "batches"]
        for name in _PARTS:
            values = [b[name] for b in batches if name in b]
            net.history.record(name, float(np.mean(values)) if values else float("nan"))
        net.history.record("n_samples", len(self.dataset_))

    def on_train_end(self, net, X=None, y=None, **kwargs):
        self._split(net)
        del self.dataset_

    def _split(self, net):
        data = self.dataset_
        self.sample_losses_ = net.sample_losses(
            [data.input_ids[i] for i in data.labelled], data.y[data.labelled]
        )
        self.noise_filter_ = clone(self.noise_filter)
        if self.noise_filter_.get_params().get("random_state", 0) is None:
            # A seeded filter keeps fit() reproducible from the classifier's random_state.
            self.noise_filter_.set_params(random_state=self._rng.randint(2**31 - 1))
        labels = data.y[data.labelled]
        self.noise_filter_.fit(self.sample_losses_, labels)
        self.clean_mask_ = np.asarray(self.noise_filter_.predict(self.sample_losses_), dtype=bool)
        self.clean_proba_ = np.asarray(self.noise_filter_.score_samples(self.sample_losses_))
        return self.clean_mask_

