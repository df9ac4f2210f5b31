"""RobustTextClassifier: a transformers text classifier that learns from noisy labels."""

import functools
import inspect
import os
import time
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import check_is_fitted
from sklearn_compat.base import _fit_context

from .._defaults import DefaultComponentsMixin
from .._seeds import draw_seed
from .._validation import (check_partial_indicator, check_partial_labels, check_texts,
                           is_indicator_target)
from ..base import RobustStudentMixin
from ..noise import GMMNoiseFilter
from ._augment import EDAAugmenter, FunctionAugmenter
from ._data import (PadCollate, TrainingSet, auto_max_length, encoder_path, load_tokenizer,
                    resolve_device, tokenize)
from ._module import EncoderClassifier, resolve_attention_dropout
from ._net import NoiseSplit, RobustNet, linear_schedule
from ._net_multilabel import MultiLabelRobustNet
from ._precision import quantize_int8, resolve_precision
from ._probe import ProbeInit
from ._schedule import auto_n_steps, count_steps, plan_epochs
from ._step_progress import StepProgress

__all__ = ["RobustTextClassifier"]

# Inference batches: no gradients, so larger than training ones; 64 is the
# DESIGN.md reference size and where length sorting pays most on CPU.
_INFER_BATCH = 64
# Default token budget of a pass with gradients. all-MiniLM-L6-v2 in float32
# holds 0.3-0.5 MB of activations per token of 256-token texts (the attention
# maps grow with the length): 16 rows of 256 tokens took 2.0 GiB above the
# model, and a 4,096-token budget had reached 3.1 GiB of RSS midway through a
# fit on news-length texts. 2,048 tokens keep a pass near 1 GB (that fit:
# 2.2 GiB, against 8.2 GiB with whole batches): 8 rows of 256 tokens, or a
# default batch of 32 tweets (64 tokens) whole, its augmented views apart.
MAX_BATCH_TOKENS = 2048


class RobustTextClassifier(DefaultComponentsMixin, RobustStudentMixin, ClassifierMixin,
                           BaseEstimator):
    """Transformer text classifier trained robustly on noisy labels (FreeAL's SLM).

    A pretrained encoder with mean pooling and a linear head, fine-tuned by
    the robust self-training of FreeAL (Xiao et al., 2023). The head starts
    as a linear probe: a logistic regression on the frozen encoder's
    embeddings of the labelled texts (LP-FT), so that fine-tuning starts
    from the probe's accuracy. Then warm-up epochs
    of cross-entropy, then, every epoch, per-sample losses in eval mode split
    by ``noise_filter`` into clean and noisy samples, and the loss::

        CE(clean) + w(t) * (mixup_weight * mixup(clean)
                            + consistency_weight * consistency)

    where mixup mixes the pooled encoder states and one-hot labels of clean
    pairs (``lambda ~ Beta(mixup_alpha, mixup_alpha)``, the larger of
    ``lambda`` and ``1 - lambda``), the consistency term asks the prediction
    on an augmented view to match a sharpened, stop-gradient prediction on
    the original text (symmetric KL; noisy and unlabelled samples) or the
    label (cross-entropy; clean samples), and ``w`` rises linearly over
    ``rampup_epochs``. Unlabelled samples (``-1`` or ``None``) never enter a
    supervised term; they do take part in the consistency term.

    Multi-label: fitted on an indicator matrix ``y`` of shape ``(n_samples,
    n_labels)`` (scikit-learn's convention; a row of -1 or NaN for an
    unlabelled text), the head has one sigmoid per label and every term
    above takes its per-label binary form, averaged over the labels: binary
    cross-entropy, mixup of the indicator rows, and the symmetric KL between
    each label's sharpened probability on the text and on its augmented
    view. The noise filter splits *texts* on their mean binary
    cross-entropy over the labels (see :ref:`the user guide
    <slm-multilabel>` for why not each (text, label) pair). ``predict``
    then returns the indicator matrix of the probabilities at or above
    ``threshold``, ``predict_proba`` each label's probability and
    ``classes_`` the label indices ``0 .. n_labels - 1``, as
    :class:`~sklearn.multiclass.OneVsRestClassifier` does.

    Parameters
    ----------
    model_name_or_path : str or path-like, default=None
        Encoder name or folder for ``transformers.AutoModel``. None uses the
        packaged all-MiniLM-L6-v2, offline.
    noise_filter : noise filter, default=None
        Has ``fit(losses, y)``, ``score_samples(losses)`` (clean score) and
        ``predict(losses)`` (clean mask), see
        :class:`skfreeal.base.NoiseFilter`; cloned every epoch. None means
        :class:`~skfreeal.GMMNoiseFilter` with the official settings.
    augmenter : augmenter or callable, default=None
        The view for the consistency loss: an object with
        ``augment(texts, random_state=...)`` or a callable
        ``list[str] -> list[str]`` (wrapped in
        :class:`~skfreeal.slm.FunctionAugmenter`). None means
        :class:`~skfreeal.slm.EDAAugmenter` (random word deletion and swap).
    max_epochs : int or "auto", default="auto"
        Training epochs, warm-up included. ``"auto"``: the fewest whole
        epochs that make ``n_steps`` optimizer steps. An int trains exactly
        that many epochs (then ``n_steps`` must be ``"auto"``).
    n_steps : int or "auto", default="auto"
        Optimizer steps, warm-up included, rounded up to whole epochs (warm-up
        epochs iterate over the labelled texts, robust ones over all texts).
        ``"auto"``: six epochs' worth, at least the compute of 100 steps of
        texts of 64 tokens (100 steps at ``max_length_`` 64, 25 at 256, never
        fewer than six epochs) and at most the tokens of 300 steps of 32 texts
        of 64 tokens (``n_steps * batch_size * max_length_``), so small data
        sets get enough updates and long texts a bounded cost; always at
        least one epoch after the warm-up.
    warmup_epochs : int, default=1
        Epochs of plain cross-entropy before the robust epochs. One: the head
        starts from the probe, and longer warm-ups let the encoder fit an
        LLM's label errors before the first clean/noisy split.
    batch_size : int, default=32
        Training batch size (the texts of one optimizer step, whatever
        ``max_batch_tokens``); inference uses ``max(64, 2 * batch_size)``
        texts a batch, fewer when they are long (see ``max_batch_tokens``).
    lr : float, default=5e-5
        Peak AdamW learning rate (10% linear warm-up, then linear decay);
        FreeAL's student used 5e-5 on noisy LLM labels, where 1e-4 fitted
        the label errors before the first split.
    max_length : int or "auto", default="auto"
        Texts are truncated to this many tokens, special tokens included.
        ``"auto"``: the 95th percentile of the training texts' token
        lengths, at least 64 and at most 256 and the tokenizer's
        ``model_max_length``. Batches are padded to their longest text, so
        a large value costs only where texts are long.
    max_batch_tokens : int or None, default=2048
        Memory bound: the padded tokens (texts times the longest of them,
        the augmented views of a robust step counted too) that one forward
        and backward pass may hold. A batch above it runs as micro-batches
        whose gradients add up to the batch's (gradient accumulation: the
        same update up to float error; a robust step runs its texts, then
        their augmented views, and only when the texts alone exceed the
        budget one extra forward pass of them); inference batches hold at
        most 4 times as many tokens. The default is meant to keep the
        student's peak memory under 3 GB with all-MiniLM-L6-v2 at 256
        tokens, whatever the texts and ``batch_size``; lower it to use
        less, raise it (or None: whole batches) where memory is plentiful.
        Activations per token grow with the texts' length (``max_length``)
        and the encoder's size.
    attention_dropout : float, "auto" or None, default="auto"
        Dropout on the encoder's attention weights while training; None
        keeps the encoder's own (0.1 for all-MiniLM-L6-v2). ``"auto"``: none
        when ``max_length_`` reaches 128 tokens, where that dropout costs
        much of a training pass's time and memory on a CPU (it keeps the
        attention off its fused kernel, which never stores the attention
        weights: a fit on 200 news-length texts took a third more CPU time
        and half as much memory again with it), else the encoder's own. Only the attention weights'
        dropout: the hidden states' stays the encoder's.
    precision : {"float32", "auto", "bfloat16"}, default="float32"
        Arithmetic of the encoder's passes (training and inference):
        ``"bfloat16"`` runs them under ``torch.autocast`` to bfloat16 (the
        weights stay float32); ``"auto"`` does so only where the device
        has native bfloat16 arithmetic (a CPU with AVX512-BF16 or AMX, a
        GPU that supports it), float32 elsewhere.
    predict_quantization : {None, "int8"}, default=None
        ``"int8"``: after fitting, ``predict``, ``predict_proba``,
        ``decision_function`` and ``embed`` run on a copy of the network
        whose linear layers are dynamically quantized to int8 (CPU only;
        about half the CPU time of float32). Training, the fitted losses
        and :mod:`skfreeal.export` use the float32 network.
    head_init : {"probe", "random"}, default="probe"
        ``"probe"``: before training, the head is set to a logistic
        regression fitted on the frozen encoder's mean-pooled embeddings of
        the labelled texts, its ``C`` chosen by 5-fold cross-validation
        (linear probing, then fine-tuning: LP-FT). ``"random"``: a randomly
        initialised head.
    rampup_epochs : int, default=10
        Robust epochs over which the weight ``w`` of mixup and consistency
        rises linearly to 1.
    consistency_weight : float, default=1.0
        Weight of the consistency term.
    mixup_weight : float, default=1.0
        Weight of the mixup term.
    mixup_alpha : float, default=4.0
        Parameter of the Beta distribution of the mixup weight.
    sharpen_temperature : float, default=0.5
        Temperature of the sharpened consistency target.
    threshold : float, default=0.5
        Multi-label only: ``predict`` marks a label where its probability
        is at least this (one threshold for every label; tune it with
        ``GridSearchCV`` and a multi-label scorer such as ``"f1_samples"``).
        Ignored with one label per text.
    robust : bool, default=True
        False gives plain fine-tuning with cross-entropy on all labelled
        samples for ``max_epochs`` (the baseline); losses and the clean split
        are still computed once at the end.
    device : str, default="auto"
        Torch device; ``"auto"`` uses CUDA when available.
    random_state : int, RandomState instance or None, default=None
        Seeds head initialisation, dropout, shuffling, mixup, augmentation
        and the noise filter. The caller's global torch generator is left
        as it was.
    verbose : int, default=0
        Show a bar over the fit's optimizer steps with their rate and the
        time left (on a terminal at 1; also in a file or a pipe, as a line
        every 10 s, at 2); at 3 or more, also skorch's table of one line per
        epoch (on stdout).

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The class labels; with an indicator matrix ``y``, the label
        indices ``0 .. n_labels - 1``.
    multilabel_ : bool
        Whether ``fit`` got an indicator matrix (one sigmoid per label).
    net_ : RobustNet
        The fitted skorch net (trimmed for prediction).
    tokenizer_ : transformers tokenizer
    device_ : str
        The device used.
    noise_filter_ : estimator
        The noise filter fitted on the final losses.
    sample_losses_ : ndarray of shape (n_samples,)
        Final per-sample cross-entropy (eval mode) on the training texts
        (multi-label: the mean binary cross-entropy over the labels), NaN
        for unlabelled ones.
    clean_proba_ : ndarray of shape (n_samples,)
        Final clean score (the noise filter's ``score_samples``; for the
        GMM the probability of being clean), NaN for unlabelled texts.
    clean_mask_ : ndarray of shape (n_samples,), dtype=bool
        Final clean split; False for unlabelled texts.
    history_ : list of dict
        One dict per epoch: ``epoch``, ``robust``, ``loss``, ``ce``,
        ``mixup``, ``consistency`` (means over batches, NaN when not
        computed), ``weight``, ``clean_fraction``, ``n_samples``,
        ``seconds`` (the whole epoch) and ``loss_pass_seconds`` (its
        eval-mode loss pass and augmentation).
    n_epochs_ : int
        Epochs run.
    n_steps_ : int
        Optimizer steps run.
    max_length_ : int
        The truncation length used (``max_length`` resolved).
    attention_dropout_ : float or None
        The attention dropout trained with (``attention_dropout`` resolved;
        None: the encoder's own).
    int8_module_ : torch.nn.Module or None
        The int8 copy of the network that inference runs with
        ``predict_quantization="int8"``; None otherwise.
    precision_ : str
        The precision used, ``"float32"`` or ``"bfloat16"`` (``precision``
        resolved on ``device_``).
    probe_C_ : float or ndarray of shape (n_labels,)
        The probe's chosen ``C`` (NaN when ``head_init="random"``);
        multi-label: each label's probe's (NaN for a label that every
        labelled text, or none, carries).
    probe_score_ : float
        The probe's cross-validated accuracy on the labelled texts (NaN when
        ``head_init="random"`` or a class has a single text); multi-label:
        the mean of the labels' accuracies.
    fit_seconds_ : float
        Wall time of the net's fit: loading the encoder's weights and the
        probe's search (with ``head_init="probe"``) included, tokenizing not.

    See Also
    --------
    skfreeal.GMMNoiseFilter : The default clean/noisy split.
    skfreeal.slm.SentenceEmbedder : Pooled embeddings of a pretrained encoder.

    Examples
    --------
    >>> from skfreeal import RobustTextClassifier
    >>> clf = RobustTextClassifier(n_steps=4, random_state=0)  # doctest: +SKIP
    >>> clf.fit(["great", "awful", "nice", "bad"], ["pos", "neg", "pos", "neg"])  # doctest: +SKIP
    >>> clf.predict(["lovely"])  # doctest: +SKIP
    """

    _parameter_constraints = {
        "model_name_or_path": [str, os.PathLike, None],
        "noise_filter": [HasMethods(["fit", "score_samples", "predict"]), None],
        "augmenter": [HasMethods(["augment"]), callable, None],
        "max_epochs": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
        "n_steps": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
        "warmup_epochs": [Interval(Integral, 0, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "lr": [Interval(Real, 0, None, closed="neither")],
        "max_length": [Interval(Integral, 2, None, closed="left"), StrOptions({"auto"})],
        "max_batch_tokens": [Interval(Integral, 1, None, closed="left"), None],
        "attention_dropout": [Interval(Real, 0, 1, closed="left"), StrOptions({"auto"}), None],
        "precision": [StrOptions({"auto", "float32", "bfloat16"})],
        "predict_quantization": [StrOptions({"int8"}), None],
        "head_init": [StrOptions({"probe", "random"})],
        "rampup_epochs": [Interval(Integral, 0, None, closed="left")],
        "consistency_weight": [Interval(Real, 0, None, closed="left")],
        "mixup_weight": [Interval(Real, 0, None, closed="left")],
        "mixup_alpha": [Interval(Real, 0, None, closed="neither")],
        "sharpen_temperature": [Interval(Real, 0, 1, closed="right")],
        "threshold": [Interval(Real, 0, 1, closed="both")],
        "robust": ["boolean"],
        "device": [str, torch.device],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    @staticmethod
    def _default_component(name, value):
        """The built-in noise filter and augmenter (``noise_filter__threshold`` on the default)."""
        if value is None and name == "noise_filter":
            return GMMNoiseFilter()
        if value is None and name == "augmenter":
            return EDAAugmenter()
        return None

    def __init__(self, model_name_or_path=None, *, noise_filter=None, augmenter=None,
                 max_epochs="auto", n_steps="auto", warmup_epochs=1, batch_size=32, lr=5e-5,
                 max_length="auto", max_batch_tokens=MAX_BATCH_TOKENS, attention_dropout="auto",
                 precision="float32",
                 predict_quantization=None, head_init="probe", rampup_epochs=10,
                 consistency_weight=1.0, mixup_weight=1.0, mixup_alpha=4.0,
                 sharpen_temperature=0.5, threshold=0.5, robust=True, device="auto",
                 random_state=None, verbose=0):
        self.model_name_or_path = model_name_or_path
        self.noise_filter = noise_filter
        self.augmenter = augmenter
        self.max_epochs = max_epochs
        self.n_steps = n_steps
        self.warmup_epochs = warmup_epochs
        self.batch_size = batch_size
        self.lr = lr
        self.max_length = max_length
        self.max_batch_tokens = max_batch_tokens
        self.attention_dropout = attention_dropout
        self.precision = precision
        self.predict_quantization = predict_quantization
        self.head_init = head_init
        self.rampup_epochs = rampup_epochs
        self.consistency_weight = consistency_weight
        self.mixup_weight = mixup_weight
        self.mixup_alpha = mixup_alpha
        self.sharpen_temperature = sharpen_temperature
        self.threshold = threshold
        self.robust = robust
        self.device = device
        self.random_state = random_state
        self.verbose = verbose

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        """Fine-tune the encoder on (noisy, partial) labels.

        Parameters
        ----------
        X : iterable of str
            Training texts.
        y : array-like of shape (n_samples,) or (n_samples, n_labels)
            Class labels (strings or integers); ``-1``, ``None`` or NaN mark
            unlabelled texts (e.g. an LLM abstained). Or, multi-label, an
            indicator matrix (dense or sparse) of 0 and 1, a row of -1 or
            NaN for an unlabelled text.

        Returns
        -------
        self : RobustTextClassifier
        """
        texts = check_texts(X)
        self.multilabel_ = is_indicator_target(y)
        if self.multilabel_:
            classes, codes = self._check_indicator(y, len(texts))
        else:
            classes, codes = check_partial_labels(y, len(texts))
        if len(classes) < 2:
            raise ValueError(
                f"y must hold at least 2 classes among its labelled entries, got "
                f"{len(classes)}: {classes.tolist()!r}."
            )
        if self.max_epochs != "auto" and self.n_steps != "auto":
            raise ValueError(
                f"Give max_epochs or n_steps, not both: got max_epochs={self.max_epochs!r} "
                f"and n_steps={self.n_steps!r}; set the other to 'auto'."
            )
        rng = check_random_state(self.random_state)
        torch_seed, loader_seed, net_seed, split_seed = draw_seed(rng, size=4)
        self.classes_ = classes
        self.device_ = resolve_device(self.device)
        if self.predict_quantization is not None and torch.device(self.device_).type != "cpu":
            raise ValueError(
                f"predict_quantization={self.predict_quantization!r} runs on the CPU only, "
                f"got device={self.device!r} (resolved to {self.device_!r}); use None there."
            )
        autocast_dtype = resolve_precision(self.precision, self.device_)
        self.precision_ = "float32" if autocast_dtype is None else "bfloat16"
        path = encoder_path(self.model_name_or_path)
        self.tokenizer_ = load_tokenizer(path)
        self.max_length_ = (auto_max_length(self.tokenizer_, texts) if self.max_length == "auto"
                            else int(self.max_length))
        limit = getattr(self.tokenizer_, "model_max_length", None)
        if limit is not None and limit < 10**6 and self.max_length_ > limit:
            raise ValueError(
                f"max_length={self.max_length!r} is longer than the {limit} tokens the "
                f"encoder {path!r} has positions for; use at most {limit}, or 'auto'."
            )
        self.attention_dropout_ = resolve_attention_dropout(self.attention_dropout,
                                                            self.max_length_)
        tokenize_fn = functools.partial(tokenize, self.tokenizer_, max_length=self.max_length_)
        dataset = TrainingSet(texts, tokenize_fn(texts), codes)

        devices = [torch.device(self.device_).index or 0] if self.device_.startswith("cuda") else []
        # Dropout and head initialisation draw from torch's global generator:
        # fork it, seed the fork, and give the caller's state back afterwards.
        with torch.random.fork_rng(devices=devices):
            torch.manual_seed(int(torch_seed))
            net = self._build_net(path, dataset, tokenize_fn, loader_seed, net_seed, split_seed,
                                  autocast_dtype)
            start = time.perf_counter()
            net.fit(dataset, None)
        self.fit_seconds_ = time.perf_counter() - start
        self._store_fit_results(net, dataset)
        return self

    @staticmethod
    def _check_indicator(y, n_samples):
        """Label indices and the float indicator rows; at least one row labelled."""
        codes = check_partial_indicator(y, n_samples)
        if not (codes[:, 0] >= 0).any():
            raise ValueError(f"y marks all {n_samples} rows unlabelled (-1 or NaN): at least one "
                             "labelled row is needed.")
        return np.arange(codes.shape[1]), codes

    def _build_net(self, path, dataset, tokenize_fn, loader_seed, net_seed, split_seed,
                   autocast_dtype):
        from skorch.callbacks import LRScheduler

        augmenter = self.augmenter
        if augmenter is None:
            augmenter = EDAAugmenter()
        elif not hasattr(augmenter, "augment"):
            augmenter = FunctionAugmenter(augmenter)
        noise_filter = GMMNoiseFilter() if self.noise_filter is None else self.noise_filter
        sizes = dict(
            n_labelled=len(dataset.labelled),
            n_samples=len(dataset.y) if self.robust else len(dataset.labelled),
            batch_size=self.batch_size, warmup_epochs=self.warmup_epochs if self.robust else 0,
        )
        if self.max_epochs != "auto":
            n_epochs = self.max_epochs
        else:
            n_steps = self.n_steps
            if n_steps == "auto":
                n_steps = auto_n_steps(sizes["n_labelled"], batch_size=self.batch_size,
                                       max_length=self.max_length_)
            n_epochs = plan_epochs(n_steps, **sizes)
        total_steps = count_steps(n_epochs, **sizes)
        schedule = functools.partial(
            linear_schedule, total_steps=total_steps, warmup_steps=max(1, total_steps // 10)
        )
        callbacks = [
            ("noise_split", NoiseSplit(noise_filter, augmenter, tokenize_fn, seed=split_seed)),
            ("lr_schedule", LRScheduler(
                policy=torch.optim.lr_scheduler.LambdaLR, lr_lambda=schedule,
                step_every="batch",
            )),
        ]
        if self.head_init == "probe":
            callbacks.insert(0, ("probe_init", ProbeInit(seed=split_seed)))
        callbacks.append(("step_progress", StepProgress(total_steps, self.verbose)))
        # Multi-label: one sigmoid per label, the same step with binary loss terms.
        net_class, criterion = (MultiLabelRobustNet, {"criterion": torch.nn.BCEWithLogitsLoss}) \
            if self.multilabel_ else \
            (RobustNet, {"criterion": torch.nn.CrossEntropyLoss, "criterion__ignore_index": -1})
        return net_class(
            EncoderClassifier,
            module__model_name_or_path=path,
            module__n_classes=len(self.classes_),
            module__attention_dropout=self.attention_dropout_,
            **criterion,
            optimizer=torch.optim.AdamW,
            lr=self.lr,
            max_epochs=n_epochs,
            batch_size=self.batch_size,
            train_split=None,
            iterator_train__shuffle=True,
            iterator_train__collate_fn=PadCollate(self.tokenizer_.pad_token_id or 0),
            iterator_train__generator=torch.Generator().manual_seed(int(loader_seed)),
            callbacks=callbacks,
            robust=self.robust,
            warmup_epochs=self.warmup_epochs,
            rampup_epochs=self.rampup_epochs,
            consistency_weight=self.consistency_weight,
            mixup_weight=self.mixup_weight,
            mixup_alpha=self.mixup_alpha,
            sharpen_temperature=self.sharpen_temperature,
            pad_token_id=self.tokenizer_.pad_token_id or 0,
            infer_batch_size=max(_INFER_BATCH, 2 * self.batch_size),
            max_batch_tokens=self.max_batch_tokens,
            autocast_dtype=autocast_dtype,
            seed=int(net_seed),
            device=self.device_,
            verbose=int(self.verbose >= 3),
        )

    def _store_fit_results(self, net, dataset):
        callbacks = dict(net.callbacks_)
        split = callbacks["noise_split"]
        probe = callbacks.get("probe_init")
        self.probe_C_ = probe.C_ if probe is not None else float("nan")
        self.probe_score_ = probe.cv_score_ if probe is not None else float("nan")
        n = len(dataset.y)
        labelled = dataset.labelled
        self.noise_filter_ = split.noise_filter_
        self.sample_losses_ = np.full(n, np.nan)
        self.sample_losses_[labelled] = split.sample_losses_
        self.clean_proba_ = np.full(n, np.nan)
        self.clean_proba_[labelled] = split.clean_proba_
        self.clean_mask_ = np.zeros(n, dtype=bool)
        self.clean_mask_[labelled] = split.clean_mask_
        keys = ("epoch", "train_loss", "ce", "mixup", "consistency", "weight",
                "clean_fraction", "n_samples", "dur", "loss_pass_seconds")
        self.history_ = []
        for row in net.history:
            entry = {k: row.get(k, float("nan")) for k in keys}
            entry["robust"] = net.is_robust_epoch(entry["epoch"])
            entry["loss"] = entry.pop("train_loss")
            entry["seconds"] = entry.pop("dur")
            self.history_.append(entry)
        self.n_epochs_ = len(self.history_)
        self.n_steps_ = sum(len(row["batches"]) for row in net.history)
        # Keep only what prediction needs: no optimizer, history, callbacks,
        # data loader settings or random generators in the fitted net (or pickle).
        net.trim_for_prediction()
        # skorch zeroes gradients before a step, not after the last: drop them,
        # or the fitted model keeps a second copy of the weights' size in memory.
        net.module_.zero_grad(set_to_none=True)
        for key in [k for k in vars(net) if k.startswith("iterator_train__")]:
            delattr(net, key)
        del net.rng_, net.torch_rng_
        self.int8_module_ = quantize_int8(net.module_) \
            if self.predict_quantization == "int8" else None
        self.net_ = net

    def _token_ids(self, X):
        check_is_fitted(self)
        return tokenize(self.tokenizer_, check_texts(X), self.max_length_)

    def decision_function(self, X):
        """Confidence scores, scikit-learn style: the logits of each class.

        With two classes, one score per text, the second class's logit minus
        the first's (positive: ``classes_[1]``), as scikit-learn's binary
        scorers (``roc_auc``, ``average_precision``) expect. Multi-label:
        each label's logit (positive: the label's probability is above 0.5).

        Parameters
        ----------
        X : iterable of str
            Texts to score, each cut to ``max_length_`` tokens.

        Returns
        -------
        scores : ndarray of shape (n_samples, n_classes), or (n_samples,) with two classes
        """
        logits = self._logits(X)
        if getattr(self, "multilabel_", False):
            return logits
        return logits[:, 1] - logits[:, 0] if logits.shape[1] == 2 else logits

    def _logits(self, X):
        """Logits of each class, shape ``(n_samples, n_classes)``, float32."""
        ids = self._token_ids(X)  # first: it checks that the model is fitted
        return self.net_.predict_logits(ids, getattr(self, "int8_module_", None))

    def predict_proba(self, X):
        """Class probabilities.

        Parameters
        ----------
        X : iterable of str
            Texts to classify, each cut to ``max_length_`` tokens.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Softmax of the logits; columns in the order of ``classes_``.
            Multi-label: each label's sigmoid (rows need not sum to one).
        """
        logits = torch.from_numpy(self._logits(X)).double()
        if getattr(self, "multilabel_", False):
            return torch.sigmoid(logits).numpy()
        return torch.softmax(logits, dim=1).numpy()

    def predict(self, X):
        """Most probable class of each text.

        The class of the largest logit: ``predict_proba``'s argmax without
        computing the softmax.

        Parameters
        ----------
        X : iterable of str
            Texts, each cut to ``max_length_`` tokens.

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_labels)
            One of ``classes_`` per text, the most probable. Multi-label:
            the indicator matrix (int64) of the labels whose probability is
            at least ``threshold``.
        """
        if getattr(self, "multilabel_", False):
            return (self.predict_proba(X) >= self.threshold).astype(np.int64)
        logits = self._logits(X)
        return self.classes_[np.argmax(logits, axis=1)]

    def embed(self, X):
        """Mean-pooled encoder embeddings of the fitted model.

        Parameters
        ----------
        X : iterable of str
            Texts to embed with the fine-tuned encoder.

        Returns
        -------
        embeddings : ndarray of shape (n_samples, hidden_size), float32
            The mean of the last hidden states over each text's tokens.
        """
        ids = self._token_ids(X)
        return self.net_.embed(ids, getattr(self, "int8_module_", None))

    def __getstate__(self):
        # The int8 copy is rebuilt from the float32 weights on loading (dynamic
        # quantization is deterministic): a pickle of torch's quantized modules
        # would go through its deprecated TypedStorage, and warn the user.
        state = super().__getstate__()
        if state.get("int8_module_") is not None:
            state = {**state, "int8_module_": "rebuild"}
        return state

    def __setstate__(self, state):
        super().__setstate__(state)
        # A pickle made before a parameter existed (threshold: such a model has
        # one label a text and never read it) lacks it, and get_params would
        # raise AttributeError: it gets the parameter's default.
        for name, param in inspect.signature(type(self).__init__).parameters.items():
            if param.default is not param.empty and name not in vars(self):
                setattr(self, name, param.default)
        if getattr(self, "int8_module_", None) == "rebuild":
            self.int8_module_ = quantize_int8(self.net_.module_)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True
        tags.input_tags.two_d_array = False
        tags.classifier_tags.multi_label = True
        return tags
