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

from ._data import CLEAN, NOISY, batched_apply, token_chunks
from ._losses import mixup_lambda, mixup_loss, ramp_weight, sharpen, symmetric_kl
from ._precision import autocast

__all__ = ["NoiseSplit", "RobustNet", "linear_schedule"]

_PARTS = ("ce", "mixup", "consistency")
# Eval-mode passes keep no graph, so a batch may hold this many times the
# training budget of tokens for the same memory (see INFER_TOKENS_FACTOR use).
INFER_TOKENS_FACTOR = 4


def _trimmed(X, rows, prefix=""):
    """``(input_ids, attention_mask)`` of some rows, cut to their longest sequence."""
    mask = X[prefix + "attention_mask"][rows]
    longest = int(mask.sum(dim=1).max())
    return X[prefix + "input_ids"][rows][:, :longest], mask[:, :longest]


def _scatter_rows(out, rows, values, n):
    """Write ``values`` into rows ``rows`` of ``out`` (created with ``n`` rows when None)."""
    if out is None:
        out = values.new_empty((n,) + tuple(values.shape[1:]))
    out[rows] = values
    return out


def _rng_state(device):
    """Torch's random state on ``device`` (dropout's), to replay a pass's draws."""
    if torch.device(device).type == "cuda":
        return torch.get_rng_state(), torch.cuda.get_rng_state(device)
    return torch.get_rng_state(), None


def _set_rng_state(device, state):
    torch.set_rng_state(state[0])
    if state[1] is not None:
        torch.cuda.set_rng_state(state[1], device)


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
    max_batch_tokens : int, default=None
        Padded tokens a forward pass with gradients may hold (both views of
        a robust batch counted); a larger batch is run as micro-batches whose
        gradients add up to the batch's (see :meth:`train_step_single`).
        Eval-mode batches hold at most ``INFER_TOKENS_FACTOR`` times as many.
        None: whole batches.
    autocast_dtype : torch.dtype, default=None
        Run the passes under ``torch.autocast`` to this dtype (bfloat16);
        None: float32.
    seed : int, default=0
        Seed of the mixup draws (the generator lives in ``rng_``).
    **kwargs
        Passed to :class:`skorch.NeuralNet`.
    """

    def __init__(self, module, *args, robust=True, warmup_epochs=1, rampup_epochs=10,
                 consistency_weight=1.0, mixup_weight=1.0, mixup_alpha=4.0,
                 sharpen_temperature=0.5, pad_token_id=0, infer_batch_size=64,
                 max_batch_tokens=None, autocast_dtype=None, seed=0, **kwargs):
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
        self.max_batch_tokens = max_batch_tokens
        self.autocast_dtype = autocast_dtype
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
        """One step's forward and backward passes (the optimizer steps after).

        A batch whose padded tokens exceed ``max_batch_tokens`` runs in parts
        whose gradients add up to the whole batch's, up to float error: each
        term is summed per part and divided by its count over the whole
        batch. A robust batch runs its texts (CE and mixup) first, then its
        augmented views in micro-batches (the consistency term, against the
        texts' stop-gradient predictions). When the texts alone exceed the
        budget, mixup pairs rows across micro-batches: their pooled states
        are computed without a graph (dropout's random state kept per
        micro-batch), the mixup term's gradient taken with respect to them,
        then each micro-batch rerun with the same dropout and that gradient
        fed back through its pooled states (gradient caching, Gao et al.,
        2021): one extra forward pass of the texts, only then.
        """
        self._set_training(True)
        Xi, yi = unpack_data(batch)
        Xi = to_tensor(Xi, device=self.device)
        yi = to_tensor(yi, device=self.device)
        robust = "aug_input_ids" in Xi
        # The augmented views only feed the consistency term: no pass without it.
        use_views = robust and self.consistency_weight > 0
        masks = [Xi["attention_mask"]] + ([Xi["aug_attention_mask"]] if use_views else [])
        lengths = torch.stack([m.sum(dim=1) for m in masks], dim=1).cpu().numpy()
        chunks = token_chunks(lengths, self.max_batch_tokens)
        if not robust:
            if len(chunks) > 1:
                return self._plain_step_accumulated(Xi, yi, chunks)
            with autocast(self.device, self.autocast_dtype):
                logits = self.module_(Xi["input_ids"], Xi["attention_mask"]).float()
            loss = self.get_loss(logits, yi, X=Xi, training=True)
        else:
            clean_rows = torch.nonzero(Xi["status"] == CLEAN).flatten()
            partners = clean_rows[
                torch.randperm(len(clean_rows), generator=self.torch_rng_).to(clean_rows.device)
            ]
            lam = mixup_lambda(self.rng_, self.mixup_alpha)
            if len(chunks) > 1:
                return self._robust_step_accumulated(Xi, yi, lengths, clean_rows, partners,
                                                     lam, use_views)
            with autocast(self.device, self.autocast_dtype):
                logits, mixed_logits = self.module_(
                    Xi["input_ids"], Xi["attention_mask"], mix_rows=clean_rows,
                    mix_partners=partners, mix_lambda=lam,
                )
                aug_logits = self.module_(Xi["aug_input_ids"], Xi["aug_attention_mask"]) \
                    if use_views else None
            outputs = {
                "logits": logits.float(),
                "aug_logits": None if aug_logits is None else aug_logits.float(),
                "mixed_logits": mixed_logits.float(), "clean_rows": clean_rows,
                "partners": partners, "lam": lam,
            }
            loss = self.get_loss(outputs, yi, X=Xi, training=True)
            logits = outputs["logits"]
        loss.backward()
        return {"loss": loss, "y_pred": logits}

    def _plain_step_accumulated(self, Xi, yi, chunks):
        """Cross-entropy of the labelled rows, micro-batch by micro-batch."""
        # A row is labelled when all its targets are (one, or every label's).
        n_labelled = max(1, int((yi >= 0).reshape(len(yi), -1).all(dim=1).sum()))
        logits_all, total = None, 0.0
        for rows in chunks:
            with autocast(self.device, self.autocast_dtype):
                logits = self.module_(*_trimmed(Xi, rows)).float()
            loss = self._supervised_loss(logits, yi[rows], ignore_index=-1,
                                         reduction="sum") / n_labelled
            loss.backward()
            total += float(loss.detach())
            logits_all = _scatter_rows(logits_all, rows, logits.detach(), len(yi))
        return {"loss": torch.tensor(total), "y_pred": logits_all}

    def _robust_step_accumulated(self, Xi, yi, lengths, clean_rows, partners, lam, use_views):
        """The robust loss of a batch too large for one pass (see :meth:`train_step_single`)."""
        status = Xi["status"]
        clean = status == CLEAN
        weight = ramp_weight(len(self.history), self.warmup_epochs, self.rampup_epochs)
        # 1. The texts: CE of the clean ones and mixup, whole or in micro-batches.
        chunks = token_chunks(lengths[:, 0], self.max_batch_tokens)
        if len(chunks) == 1:
            with autocast(self.device, self.autocast_dtype):
                logits, mixed_logits = self.module_(
                    Xi["input_ids"], Xi["attention_mask"], mix_rows=clean_rows,
                    mix_partners=partners, mix_lambda=lam,
                )
            logits = logits.float()
            ce = self._supervised_loss(logits[clean], yi[clean]) if clean.any() \
                else logits.new_zeros(())
            mix = self._mixup_loss(mixed_logits.float(), yi[clean_rows], yi[partners], lam) \
                if len(clean_rows) else logits.new_zeros(())
            (ce + weight * self.mixup_weight * mix).backward()
            ce, mix, logits = float(ce.detach()), float(mix.detach()), logits.detach()
        else:
            ce, mix, logits = self._texts_step_cached(Xi, yi, chunks, clean_rows, partners, lam,
                                                      weight)
        # 2. The augmented views, micro-batch by micro-batch: the consistency
        #    with the texts' (stop-gradient) predictions or labels.
        consistency = 0.0
        if use_views:
            for rows in token_chunks(lengths[:, 1], self.max_batch_tokens):
                with autocast(self.device, self.autocast_dtype):
                    aug_logits = self.module_(*_trimmed(Xi, rows, prefix="aug_")).float()
                term = self._consistency_rows(logits[rows], aug_logits, yi[rows],
                                              clean[rows]).sum() / len(status)
                (weight * self.consistency_weight * term).backward()
                consistency += float(term.detach())
        for name, value in zip(_PARTS, (ce, mix, consistency)):
            self.history.record_batch(name, value)
        total = ce + weight * (self.mixup_weight * mix + self.consistency_weight * consistency)
        return {"loss": torch.tensor(total), "y_pred": logits}

    def _texts_step_cached(self, Xi, yi, chunks, clean_rows, partners, lam, weight):
        """CE and mixup of texts in micro-batches, mixup's pairs across them (gradient caching).

        Returns the CE and mixup values and the texts' logits (detached).
        """
        module, status = self.module_, Xi["status"]
        n_clean = int((status == CLEAN).sum())
        mix, pooled_grad, rng_states = 0.0, None, []
        if len(clean_rows):
            # Pooled states without a graph, each micro-batch's random state kept ...
            pooled_all = None
            with torch.no_grad(), autocast(self.device, self.autocast_dtype):
                for rows in chunks:
                    rng_states.append(_rng_state(self.device))
                    pooled = module.encode(*_trimmed(Xi, rows)).float()
                    pooled_all = _scatter_rows(pooled_all, rows, pooled, len(yi))
            # ... the mixup term on them: the head's gradient, and the term's
            # gradient with respect to the pooled states ...
            pooled_all.requires_grad_(True)
            mixed = lam * pooled_all[clean_rows] + (1.0 - lam) * pooled_all[partners]
            with autocast(self.device, self.autocast_dtype):
                mixed_logits = module.classify(mixed).float()
            term = self._mixup_loss(mixed_logits, yi[clean_rows], yi[partners], lam)
            (weight * self.mixup_weight * term).backward()
            mix, pooled_grad = float(term.detach()), pooled_all.grad
        # ... then each micro-batch with a graph (the same dropout draws): its
        # share of the CE, and the mixup gradient fed back through its states.
        ce, logits_all = 0.0, None
        for k, rows in enumerate(chunks):
            if rng_states:
                _set_rng_state(self.device, rng_states[k])
            with autocast(self.device, self.autocast_dtype):
                pooled = module.encode(*_trimmed(Xi, rows))
                logits = module.classify(pooled).float()
            clean = status[rows] == CLEAN
            share = self._supervised_loss(logits[clean], yi[rows][clean],
                                          reduction="sum") / n_clean \
                if clean.any() else logits.new_zeros(())
            loss = share if pooled_grad is None else \
                share + (pooled.float() * pooled_grad[rows]).sum()
            loss.backward()
            ce += float(share.detach())
            logits_all = _scatter_rows(logits_all, rows, logits.detach(), len(yi))
        return ce, mix, logits_all

    # -- the loss terms (overridden for multi-label, MultiLabelRobustNet) --------
    def _supervised_loss(self, logits, y, **kwargs):
        """Cross-entropy of logits against class indices (``kwargs`` to ``F.cross_entropy``)."""
        return F.cross_entropy(logits, y, **kwargs)

    def _mixup_loss(self, mixed_logits, y_rows, y_partners, lam):
        """Mixup term of mixed pairs against their mixed one-hot labels."""
        return mixup_loss(mixed_logits, y_rows, y_partners, lam, mixed_logits.shape[1])

    def _consistency_rows(self, logits, aug_logits, y, clean):
        """Per-sample consistency: CE of the augmented view for clean rows, else the
        symmetric KL to a sharpened, stop-gradient prediction on the original text."""
        per_sample = logits.new_zeros(len(y))
        if clean.any():
            per_sample[clean] = F.cross_entropy(aug_logits[clean], y[clean], reduction="none")
        other = ~clean
        if other.any():
            target = sharpen(torch.softmax(logits[other].detach(), dim=1), self.sharpen_temperature)
            per_sample[other] = symmetric_kl(target, aug_logits[other])
        return per_sample

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
        zero = logits.new_zeros(())

        ce = self._supervised_loss(logits[clean], y_true[clean]) if clean.any() else zero
        if len(y_pred["clean_rows"]):
            mix = self._mixup_loss(
                y_pred["mixed_logits"], y_true[y_pred["clean_rows"]],
                y_true[y_pred["partners"]], y_pred["lam"],
            )
        else:
            mix = zero
        # Consistency, one term per sample: CE on the augmented view for clean
        # samples; for noisy and unlabelled ones the augmented view must match
        # a sharpened, stop-gradient prediction on the original text.
        consistency = zero if aug_logits is None else \
            self._consistency_rows(logits, aug_logits, y_true, clean).mean()

        weight = ramp_weight(len(self.history), self.warmup_epochs, self.rampup_epochs)
        loss = ce + weight * (self.mixup_weight * mix + self.consistency_weight * consistency)
        if training:
            for name, value in zip(_PARTS, (ce, mix, consistency)):
                self.history.record_batch(name, float(value.detach()))
        return loss

    # -- eval-mode passes -------------------------------------------------------
    def predict_logits(self, input_ids, module=None):
        """Logits of token id sequences in eval mode, length-sorted batches, input order.

        ``module``: another network to run instead of ``module_`` (e.g. its
        int8 copy, which runs without autocast).
        """
        return self._eval_apply(lambda m: m, input_ids, module)

    def embed(self, input_ids, module=None):
        """Mean-pooled encoder states of token id sequences, in input order."""
        return self._eval_apply(lambda m: m.encode, input_ids, module)

    def _eval_apply(self, pick, input_ids, module):
        """``pick(module)`` applied to the sequences (``module_`` when ``module`` is None)."""
        self._set_training(False)
        dtype = getattr(self, "autocast_dtype", None) if module is None else None
        fn = pick(self.module_ if module is None else module)
        budget = getattr(self, "max_batch_tokens", None)  # None in models pickled before it
        with autocast(self.device, dtype):
            return batched_apply(
                fn, input_ids, batch_size=self.infer_batch_size, pad_id=self.pad_token_id,
                device=self.device,
                max_tokens=None if budget is None else INFER_TOKENS_FACTOR * budget,
            )

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

