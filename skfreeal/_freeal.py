"""FreeALClassifier: the LLM/SLM collaborative labelling loop inside ``fit``."""

import logging
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import check_is_fitted
from sklearn_compat.base import _fit_context

from ._rounds import (
    RoundRecorder,
    annotation_budget_mask,
    choose_new_subset,
    slm_clean_mask,
    slm_losses,
)
from ._validation import check_texts

__all__ = ["FreeALClassifier"]

logger = logging.getLogger("skfreeal")


# The default student's settings (see the ``slm`` parameter).
DEFAULT_SLM_PARAMS = {"lr": 5e-5, "warmup_epochs": 1}


class FreeALClassifier(ClassifierMixin, BaseEstimator):
    """Label texts and train a classifier with no human annotation (FreeAL).

    ``fit`` runs FreeAL's collaborative loop (Xiao et al., EMNLP 2023): the
    LLM writes synthetic demonstrations and annotates every text with its
    nearest demonstrations in context; a small language model (SLM) trains
    robustly on those noisy labels and splits them into clean and noisy;
    a clean, representative demonstration pool (per class: the
    ``demo_top_percent`` smallest-loss clean texts, then k-medoids) goes back
    to the LLM, which re-annotates only the noisy texts. ``predict`` uses the
    final SLM: no LLM call at inference.

    Parameters
    ----------
    labels : list of str
        The label names, in the order of the class ids.
    task : str
        What to label, in words (e.g. ``"Classify the sentiment of a tweet."``).
    labeler : labeler estimator, default=None
        The LLM annotator (has ``annotate`` and ``generate_demos``). None:
        :class:`~skfreeal.labelers.LocalLabeler`, the packaged local LLM (no
        key, no network). Cloned in ``fit``, then given ``labels`` and
        ``task``.
    slm : classifier, default=None
        The student (has ``fit`` and ``predict_proba``). None:
        ``RobustTextClassifier(lr=5e-5, warmup_epochs=1)`` on the packaged
        MiniLM: at its own defaults (lr 1e-4, two warm-up epochs) the student
        fits an LLM's one-sided errors before the first split and the GMM
        flags only 4% of the texts as noisy (on the tweets' round-0 labels,
        31% wrong); at these settings 15%, and its predictions on the
        training texts agree more with their gold labels (0.732 against
        0.703, settings chosen on the training split and a dev split, never
        the test split).
        Cloned in ``fit``. An SLM whose class sets ``accepts_unlabelled =
        True`` (as RobustTextClassifier does, for its consistency loss) gets
        every text, with -1 for the unlabelled ones; any other classifier is
        trained on the labelled texts only. ``sample_losses_`` and
        ``clean_mask_`` are used when the SLM exposes them, else computed from
        ``predict_proba`` with a GMM; ``embed`` likewise, else the embedder.
    embedder : transformer, default=None
        Sentence embedder for kNN demonstration retrieval (has ``fit`` and
        ``transform``; fitted on the training texts). None:
        :class:`~skfreeal.slm.SentenceEmbedder` (the packaged MiniLM).
    noise_filter : noise filter, default=None
        When given, replaces the SLM's own noise filter (set as its
        ``noise_filter`` parameter); tune its threshold with
        ``noise_filter__threshold``.
    n_rounds : int, default=2
        LLM annotation rounds; the SLM trains once after each. 1 gives the
        SLM trained robustly on the first LLM labels.
    n_demos : int, default=10
        In-context demonstrations retrieved per text (m in the paper). 0
        annotates zero-shot.
    demo_top_percent : float, default=0.2
        R: fraction of each class's clean texts, by smallest loss, among which
        the medoids are chosen.
    demos_per_class : int, default=None
        Demonstrations per class in the refined pool. None:
        ``max(n_demos, 5)``.
    n_generated_demos : int, default=None
        Synthetic demonstrations the LLM writes in round 0. None:
        ``max(2 * n_demos, 4) * n_classes``, at most 100; 0 skips generation
        (round 0 is then zero-shot unless given labels seed the pool).
    balanced_retrieval : bool, default=False
        Retrieve about the same number of demonstrations from every class.
    label_fraction : float, default=1.0
        P: fraction of the texts the LLM annotates in round 0 and adds in
        each later round (the paper's large-data variant). The SLM still
        sees all texts (consistency loss on the unannotated ones).
    query_strategy : {"random", "uncertainty"}, default="random"
        How the next ``label_fraction`` subset is chosen: at random, or the
        texts on which the SLM is least certain (lowest top-2 margin).
    max_annotations : int, default=2
        LLM annotations per text at most (standard FreeAL: 2).
    use_labels : bool, default=False
        Use the given ``y`` in training: its labels (``-1`` or None for
        unlabelled) seed the demonstration pool, are never sent to the LLM
        and never overwritten. When False ``y`` is ignored, so that
        ``GridSearchCV(...).fit(X, y_gold)`` scores on gold labels while
        training stays human-free.
    random_state : int, RandomState instance or None, default=None
        Seeds the subset draws, demonstration generation, k-medoids and the
        SLM (when its own ``random_state`` is None).
    verbose : int, default=0
        0 silent; 1 logs each round; 2 also shows progress bars.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The label names.
    labels_ : ndarray of shape (n_samples,), dtype=int64
        Refined label id of each training text (index into ``classes_``),
        -1 where still unknown (never annotated, or the LLM abstained).
    transduction_ : ndarray of shape (n_samples,), dtype=object
        The same labels as names, None where unknown.
    confidence_ : ndarray of shape (n_samples,)
        The LLM's confidence in each current label (1 for given labels, NaN
        where unknown).
    label_round_ : ndarray of shape (n_samples,), dtype=int64
        Round in which each current label was set (-1: never).
    n_annotations_ : ndarray of shape (n_samples,), dtype=int64
        LLM annotations made for each text.
    clean_mask_ : ndarray of shape (n_samples,), dtype=bool
        Texts the final SLM judged clean.
    demos_ : list of (str, str)
        The final demonstration pool as (text, label name) pairs.
    history_ : list of dict
        One record per round: ``round``, ``n_annotated``, ``n_abstain``,
        ``n_changed``, ``n_labelled``, ``clean_fraction``,
        ``llm_slm_agreement``, ``calls``, ``prompt_tokens``,
        ``completion_tokens``, ``cache_hits``, ``cost``, ``llm_seconds``,
        ``slm_seconds``, ``seconds``.
    usage_ : dict
        The labeler's usage over the whole fit: calls, tokens, cache hits,
        estimated cost.
    round_labels_ : ndarray of shape (n_rounds, n_samples), dtype=int64
        The labels after each round's annotation (row 0: the first LLM
        labels).
    round_clean_masks_ : ndarray of shape (n_rounds, n_samples), dtype=bool
        The SLM's clean mask after each round's training: the texts of row
        ``r`` outside it are the ones re-annotated in round ``r + 1``.
    n_rounds_ : int
        Rounds run (fewer than ``n_rounds`` when no label changed).
    labeler_ : labeler
        The fitted clone of ``labeler``.
    slm_ : classifier
        The final SLM (used by ``predict``).
    embedder_ : transformer
        The fitted retrieval embedder.

    See Also
    --------
    RobustTextClassifier : The noise-robust student on its own.

    Notes
    -----
    LLM answers are cached on disk by the labeler, so a second ``fit`` with
    the same settings (or each fit of a grid search) makes no new call for
    texts already answered.

    Examples
    --------
    >>> from skfreeal import FreeALClassifier
    >>> clf = FreeALClassifier(["negative", "positive"],
    ...                        "Classify the sentiment of a tweet.")  # doctest: +SKIP
    >>> clf.fit(tweets).predict(["what a lovely day"])  # doctest: +SKIP
    array(['positive'], dtype=object)
    """

    _parameter_constraints = {
        "labels": ["array-like"],
        "task": [str],
        "labeler": [HasMethods(["annotate", "generate_demos"]), None],
        "slm": [HasMethods(["fit", "predict_proba"]), None],
        "embedder": [HasMethods(["fit", "transform"]), None],
        "noise_filter": [HasMethods(["fit", "predict"]), None],
        "n_rounds": [Interval(Integral, 1, None, closed="left")],
        "n_demos": [Interval(Integral, 0, None, closed="left")],
        "demo_top_percent": [Interval(Real, 0, 1, closed="right")],
        "demos_per_class": [Interval(Integral, 1, None, closed="left"), None],
        "n_generated_demos": [Interval(Integral, 0, None, closed="left"), None],
        "balanced_retrieval": ["boolean"],
        "label_fraction": [Interval(Real, 0, 1, closed="right")],
        "query_strategy": [StrOptions({"random", "uncertainty"})],
        "max_annotations": [Interval(Integral, 1, None, closed="left")],
        "use_labels": ["boolean"],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        labels,
        task,
        *,
        labeler=None,
        slm=None,
        embedder=None,
        noise_filter=None,
        n_rounds=2,
        n_demos=10,
        demo_top_percent=0.2,
        demos_per_class=None,
        n_generated_demos=None,
        balanced_retrieval=False,
        label_fraction=1.0,
        query_strategy="random",
        max_annotations=2,
        use_labels=False,
        random_state=None,
        verbose=0,
    ):
        self.labels = labels
        self.task = task
        self.labeler = labeler
        self.slm = slm
        self.embedder = embedder
        self.noise_filter = noise_filter
        self.n_rounds = n_rounds
        self.n_demos = n_demos
        self.demo_top_percent = demo_top_percent
        self.demos_per_class = demos_per_class
        self.n_generated_demos = n_generated_demos
        self.balanced_retrieval = balanced_retrieval
        self.label_fraction = label_fraction
        self.query_strategy = query_strategy
        self.max_annotations = max_annotations
        self.use_labels = use_labels
        self.random_state = random_state
        self.verbose = verbose

    # ------------------------------------------------------------------ fit
    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y=None, *, eval_set=None):
        """Label ``X`` with the LLM/SLM loop and train the final SLM.

        Parameters
        ----------
        X : iterable of str
            The unlabelled training texts.
        y : array-like of shape (n_samples,), default=None
            Ignored unless ``use_labels=True``; then label names (or ids),
            with -1 or None for unlabelled texts.
        eval_set : tuple (X_eval, y_eval), default=None
            Held-out texts with gold label names, only to monitor the loop:
            the SLM's accuracy on them is recorded in ``history_`` as
            ``eval_accuracy`` after each round. Never used in training.

        Returns
        -------
        self : FreeALClassifier
        """
        texts = check_texts(X, name="X")
        self.classes_ = self._check_label_names()
        given = self._check_given_labels(y, len(texts))
        eval_texts, eval_y = self._check_eval_set(eval_set)
        rng = check_random_state(self.random_state)
        self._init_components(texts, rng)

        n = len(texts)
        self.labels_ = given.copy()
        self.confidence_ = np.where(given >= 0, 1.0, np.nan)
        self.label_round_ = np.full(n, -1, dtype=np.int64)
        self.n_annotations_ = np.zeros(n, dtype=np.int64)
        self.history_ = []
        self.round_labels_ = []
        self.round_clean_masks_ = []
        fixed = given >= 0  # human labels: never re-annotated
        recorder = RoundRecorder(self.labeler_)

        self._log("embedding %d texts for demonstration retrieval", n)
        self.embeddings_ = self._embed(texts)

        # Round 0: synthetic demonstrations, then the first LLM annotation.
        recorder.start()
        pool_texts, pool_labels, pool_emb = self._initial_pool(texts, given, rng)
        todo = ~fixed & choose_new_subset(
            None, ~fixed, self.label_fraction, "random", rng
        )
        changed, n_abstain = self._annotate(
            texts, todo, pool_texts, pool_labels, pool_emb, round_=0
        )
        self.demos_ = [(t, self.classes_[c]) for t, c in zip(pool_texts, pool_labels)]

        self.n_rounds_ = 0
        for round_ in range(self.n_rounds):
            recorder.llm_done()
            self._train_slm(texts, rng)
            recorder.slm_done()
            self.history_.append(
                recorder.record(
                    round_=round_, annotated=todo, n_abstain=n_abstain, labels=self.labels_,
                    changed=changed,
                    clean_mask=self.clean_mask_, slm_pred=self._slm_train_pred_,
                )
            )
            if eval_texts is not None:
                pred = self.classes_[self._full_proba(self.slm_.predict_proba(eval_texts)).argmax(1)]
                self.history_[-1]["eval_accuracy"] = float(np.mean(pred == eval_y))
            self.round_labels_.append(self.labels_.copy())
            self.round_clean_masks_.append(self.clean_mask_.copy())
            self.n_rounds_ = round_ + 1
            self._log_round(self.history_[-1])
            if round_ == self.n_rounds - 1:
                break
            recorder.start()
            pool_texts, pool_labels, pool_emb = self._refined_pool(texts, rng)
            self.demos_ = [(t, self.classes_[c]) for t, c in zip(pool_texts, pool_labels)]
            todo = self._next_to_annotate(fixed, rng)
            if not todo.any():
                self._log("round %d: nothing left to annotate; stopping", round_ + 1)
                break
            changed, n_abstain = self._annotate(
                texts, todo, pool_texts, pool_labels, pool_emb, round_=round_ + 1
            )
            if not changed.any() and self.label_fraction >= 1:
                self._log("round %d: no label changed; stopping", round_ + 1)
                recorder.llm_done()
                self.history_.append(
                    recorder.record(
                        round_=round_ + 1, annotated=todo, n_abstain=n_abstain,
                        labels=self.labels_, changed=changed, clean_mask=self.clean_mask_,
                        slm_pred=self._slm_train_pred_,
                    )
                )
                if "eval_accuracy" in self.history_[-2]:  # same SLM: same accuracy
                    self.history_[-1]["eval_accuracy"] = self.history_[-2]["eval_accuracy"]
                self.round_labels_.append(self.labels_.copy())
                self.round_clean_masks_.append(self.clean_mask_.copy())
                self.n_rounds_ = round_ + 2
                break

        self.transduction_ = np.array(
            [self.classes_[c] if c >= 0 else None for c in self.labels_], dtype=object
        )
        self.round_labels_ = np.vstack(self.round_labels_)
        self.round_clean_masks_ = np.vstack(self.round_clean_masks_)
        self.usage_ = recorder.total()
        del self._slm_train_pred_
        return self

    def _check_eval_set(self, eval_set):
        if eval_set is None:
            return None, None
        if not isinstance(eval_set, (tuple, list)) or len(eval_set) != 2:
            raise TypeError("eval_set must be a pair (X_eval, y_eval).")
        eval_texts = check_texts(eval_set[0], name="eval_set[0]")
        eval_y = np.asarray([str(v) for v in eval_set[1]], dtype=object)
        if eval_y.shape[0] != len(eval_texts):
            raise ValueError(
                f"eval_set[1] has {eval_y.shape[0]} labels but eval_set[0] has "
                f"{len(eval_texts)} texts; they must match."
            )
        unknown = sorted(set(eval_y) - set(self.classes_))
        if unknown:
            raise ValueError(f"eval_set[1] holds labels not in labels: {unknown[:5]}.")
        return eval_texts, eval_y

    def _check_label_names(self):
        labels = self.labels
        if isinstance(labels, str):
            raise TypeError(
                f"labels must be a list of label names, got a single string {labels!r}."
            )
        names = [str(x) for x in labels]
        if len(names) < 2:
            raise ValueError(f"labels must hold at least two label names, got {names!r}.")
        seen = set()
        for name in names:
            key = name.strip().lower()
            if not key:
                raise ValueError(f"labels must not contain an empty name, got {names!r}.")
            if key in seen:
                raise ValueError(f"labels must be distinct, got {name!r} twice in {names!r}.")
            seen.add(key)
        if not self.task.strip():
            raise ValueError("task must describe the labelling task, got an empty string.")
        return np.array(names, dtype=object)

    def _check_given_labels(self, y, n):
        if y is None or not self.use_labels:
            if y is not None and len(y) != n:
                raise ValueError(f"y has {len(y)} entries but X has {n} texts; they must match.")
            return np.full(n, -1, dtype=np.int64)
        if len(y) != n:
            raise ValueError(f"y has {len(y)} entries but X has {n} texts; they must match.")
        lookup = {name: i for i, name in enumerate(self.classes_)}
        out = np.full(n, -1, dtype=np.int64)
        for i, value in enumerate(y):
            if value is None or (isinstance(value, (int, np.integer)) and value == -1):
                continue
            if isinstance(value, float) and np.isnan(value):
                continue
            if isinstance(value, (int, np.integer)) and 0 <= value < len(self.classes_):
                out[i] = int(value)
            elif str(value) in lookup:
                out[i] = lookup[str(value)]
            else:
                raise ValueError(
                    f"y[{i}] = {value!r} is not one of labels {list(self.classes_)} "
                    "(use -1 or None for unlabelled texts)."
                )
        return out

    def _init_components(self, texts, rng):
        labeler = self.labeler
        if labeler is None:
            from .labelers import LocalLabeler

            labeler = LocalLabeler()
        self.labeler_ = clone(labeler).set_params(labels=list(self.classes_), task=self.task)
        slm = self.slm
        if slm is None:
            from .slm import RobustTextClassifier

            slm = RobustTextClassifier(**DEFAULT_SLM_PARAMS)
        self.slm_ = clone(slm)
        if self.noise_filter is not None:
            if "noise_filter" not in self.slm_.get_params(deep=False):
                raise ValueError(
                    f"noise_filter was given but slm {type(self.slm_).__name__} has no "
                    "noise_filter parameter."
                )
            self.slm_.set_params(noise_filter=clone(self.noise_filter))
        self._slm_seed = rng.randint(np.iinfo(np.int32).max)
        embedder = self.embedder
        if embedder is None:
            from .slm import SentenceEmbedder

            embedder = SentenceEmbedder()
        self.embedder_ = clone(embedder).fit(texts)

    def _embed(self, texts):
        emb = np.asarray(self.embedder_.transform(texts), dtype=np.float32)
        norms = np.linalg.norm(emb, axis=1, keepdims=True)
        return emb / np.where(norms > 0, norms, 1.0)

    # ---------------------------------------------------------- demo pools
    def _n_per_class(self):
        return self.demos_per_class or max(self.n_demos, 5)

    def _n_generated(self, n_classes):
        if self.n_generated_demos is not None:
            return self.n_generated_demos
        return min(100, max(2 * self.n_demos, 4) * n_classes) if self.n_demos else 0

    def _initial_pool(self, texts, given, rng):
        """Round 0 pool: given labels (if any) plus the LLM's synthetic demos."""
        n_classes = len(self.classes_)
        n_gen = self._n_generated(n_classes)
        pool_texts, pool_labels = [], []
        if (given >= 0).any():
            idx = np.flatnonzero(given >= 0)
            pool_texts += [texts[i] for i in idx]
            pool_labels += given[idx].tolist()
        if n_gen and self.n_demos:
            n_examples = min(len(texts), max(n_classes * 4, 20))
            examples = [texts[i] for i in rng.choice(len(texts), n_examples, replace=False)]
            self._log("round 0: generating %d synthetic demonstrations", n_gen)
            generated = self.labeler_.generate_demos(
                n_gen, examples, random_state=rng.randint(np.iinfo(np.int32).max)
            )
            pool_texts += [t for t, _ in generated]
            pool_labels += [int(c) for _, c in generated]
        pool_labels = np.asarray(pool_labels, dtype=np.int64)
        pool_emb = self._embed(pool_texts) if pool_texts else np.zeros((0, 1), np.float32)
        return pool_texts, pool_labels, pool_emb

    def _refined_pool(self, texts, rng):
        """Round r pool: per class R% smallest-loss clean texts, then k-medoids."""
        from .demos import select_demo_pool

        slm_labels = self._slm_train_pred_
        agree = (self.labels_ >= 0) & (slm_labels == self.labels_)
        embeddings = (
            self.slm_.embed(texts) if hasattr(self.slm_, "embed") else self.embeddings_
        )
        idx = select_demo_pool(
            embeddings, self._slm_losses_, np.where(agree, self.labels_, -1),
            clean_mask=self.clean_mask_, top_percent=self.demo_top_percent,
            per_class=self._n_per_class(), random_state=rng,
        )
        return [texts[i] for i in idx], slm_labels[idx], self.embeddings_[idx]

    # --------------------------------------------------------- annotation
    def _annotate(self, texts, todo, pool_texts, pool_labels, pool_emb, *, round_):
        """Send the ``todo`` texts to the LLM with their nearest demos; update labels."""
        from .demos import knn_demo_indices

        idx = np.flatnonzero(todo)
        changed = np.zeros(len(texts), dtype=bool)
        if idx.size == 0:
            return changed, 0
        demos = None
        if self.n_demos and len(pool_texts):
            text_to_pool = {t: j for j, t in enumerate(pool_texts)}
            exclude = np.array([text_to_pool.get(texts[i], -1) for i in idx])
            nn = knn_demo_indices(
                self.embeddings_[idx], pool_emb, self.n_demos, pool_labels=pool_labels,
                balanced=self.balanced_retrieval, exclude=exclude,
            )
            demos = [[(pool_texts[j], int(pool_labels[j])) for j in row] for row in nn]
        self._log("round %d: annotating %d texts", round_, idx.size)
        new_labels, confidence = self.labeler_.annotate([texts[i] for i in idx], demos)
        new_labels = np.asarray(new_labels, dtype=np.int64)
        confidence = np.asarray(confidence, dtype=np.float64)
        self.n_annotations_[idx] += 1
        answered = new_labels >= 0
        # An abstention keeps the previous label (an earlier answer is better than none).
        upd = idx[answered]
        changed[upd] = self.labels_[upd] != new_labels[answered]
        self.labels_[upd] = new_labels[answered]
        self.confidence_[upd] = confidence[answered]
        self.label_round_[upd] = round_
        return changed, int((~answered).sum())

    def _next_to_annotate(self, fixed, rng):
        annotated = self.n_annotations_ > 0
        noisy = annotated & ~self.clean_mask_ & ~fixed
        todo = annotation_budget_mask(noisy, self.n_annotations_, self.max_annotations)
        if self.label_fraction < 1:
            candidates = ~annotated & ~fixed
            proba = None
            if self.query_strategy == "uncertainty" and candidates.any():
                proba = self._slm_proba_train_
            todo |= choose_new_subset(
                proba, candidates, self.label_fraction, self.query_strategy, rng,
                n_total=fixed.size,
            )
        return todo

    # ----------------------------------------------------------- student
    def _train_slm(self, texts, rng):
        params = self.slm_.get_params(deep=False)
        if "random_state" in params and params["random_state"] is None:
            self.slm_.set_params(random_state=self._slm_seed)
        y = self.labels_.copy()
        seen = np.unique(y[y >= 0])
        if seen.size < 2:
            counts = {str(self.classes_[c]): int(np.sum(y == c)) for c in seen}
            what = counts if counts else "every answer was an abstention"
            raise ValueError(
                f"The LLM's labels hold fewer than two classes ({what}; "
                f"{int(np.sum(y < 0))} unknown of {y.size}), so the SLM cannot learn to tell "
                "labels apart. Give more (or more varied) texts, clearer label names or "
                "label descriptions, or a stronger labeler."
            )
        if getattr(self.slm_, "accepts_unlabelled", False):
            self.slm_.fit(texts, y)
        else:  # a plain classifier would take -1 for a class: train on labelled texts only
            known = np.flatnonzero(y >= 0)
            self.slm_.fit([texts[i] for i in known], y[known])
        proba = self._full_proba(self.slm_.predict_proba(texts))
        self._slm_proba_train_ = proba
        self._slm_train_pred_ = proba.argmax(axis=1)
        self._slm_losses_ = slm_losses(self.slm_, proba, y)
        self.clean_mask_ = slm_clean_mask(self.slm_, self._slm_losses_, y)

    def _full_proba(self, proba):
        """Columns of the SLM's proba laid out over all classes (some may be unseen)."""
        proba = np.asarray(proba, dtype=np.float64)
        slm_classes = np.asarray(self.slm_.classes_).astype(np.int64)
        full = np.zeros((proba.shape[0], len(self.classes_)))
        full[:, slm_classes] = proba
        return full

    # ------------------------------------------------------------ dry run
    def estimate(self, X, *, noisy_fraction=0.25):
        """Expected LLM calls, tokens and cost of ``fit(X)``, without any call.

        Parameters
        ----------
        X : iterable of str
            The texts ``fit`` would label.
        noisy_fraction : float, default=0.25
            Assumed fraction of annotated texts the SLM finds noisy in each
            round (re-annotated in the next); the real value is known only
            after training.

        Returns
        -------
        estimate : dict
            ``n_texts``, ``expected_calls`` (with ``min_calls`` and
            ``max_calls``: no text / every text re-annotated),
            ``expected_prompt_tokens``, ``expected_completion_tokens``,
            ``expected_cost`` (None when the model's price is unknown).
            Cached answers are not subtracted.
        """
        from ._estimate import estimate_fit_cost

        texts = check_texts(X, name="X")
        classes = self._check_label_names()
        labeler = self.labeler
        if labeler is None:
            from .labelers import LocalLabeler

            labeler = LocalLabeler()
        labeler = clone(labeler).set_params(labels=list(classes), task=self.task)
        return estimate_fit_cost(
            texts, labeler, n_rounds=self.n_rounds, n_demos=self.n_demos,
            n_generated_demos=self._n_generated(len(classes)),
            label_fraction=self.label_fraction, max_annotations=self.max_annotations,
            noisy_fraction=noisy_fraction,
        )

    # --------------------------------------------------------- inference
    def predict_proba(self, X):
        """Class probabilities from the final SLM (no LLM call).

        Parameters
        ----------
        X : iterable of str

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
        """
        check_is_fitted(self)
        return self._full_proba(self.slm_.predict_proba(check_texts(X, name="X")))

    def predict(self, X):
        """Label names predicted by the final SLM (no LLM call).

        Parameters
        ----------
        X : iterable of str

        Returns
        -------
        labels : ndarray of shape (n_samples,), dtype=object
        """
        return self.classes_[self.predict_proba(X).argmax(axis=1)]

    def _log_round(self, h):
        self._log(
            "round %d: %d texts annotated (%d abstained, %d labels changed), %d labelled, "
            "clean %.2f, LLM/SLM agreement %.2f, %d LLM calls, %.0f s",
            h["round"], h["n_annotated"], h["n_abstain"], h["n_changed"], h["n_labelled"],
            h["clean_fraction"], h["llm_slm_agreement"], h["calls"], h["seconds"],
        )

    def _log(self, msg, *args):
        if self.verbose:
            logger.info(msg, *args)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True
        tags.input_tags.two_d_array = False
        tags.target_tags.required = False
        tags.non_deterministic = False
        return tags
