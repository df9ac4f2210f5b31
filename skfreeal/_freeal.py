"""FreeALClassifier: the LLM/SLM collaborative labelling loop inside ``fit``."""

import inspect
import logging
import reprlib
import time
import warnings
from dataclasses import dataclass
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import Normalizer
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import check_is_fitted
from sklearn_compat.base import _fit_context

from ._console import ensure_log_handler, quiet_transformers
from ._fractions import ceil_share
from ._progress import progress_bar, progress_stage, progress_timer
from ._rounds import LabelState, RoundRecorder
from ._steps import annotate_with_demos, generated_pool, refined_pool
from ._student import full_proba, learned_nothing, train_student
from ._validation import (
    check_eval_set,
    check_fit_texts,
    check_label_names,
    check_partial_labels,
    check_texts,
)
from .base import (
    Labeler,
    NoiseFilter,
    QueryStrategy,
    Retriever,
    RobustStudentMixin,
    Student,
    check_component,
)

__all__ = ["FreeALClassifier"]

logger = logging.getLogger("skfreeal")

# The default student's settings (see the ``slm`` parameter).
DEFAULT_SLM_PARAMS = {"lr": 5e-5, "warmup_epochs": 1}
_MAX_SEED = np.iinfo(np.int32).max
# Texts embedded per transform call: the progress bar of a long embedding moves
# this often, and the result does not depend on verbose.
_EMBED_CHUNK = 256


@dataclass
class _Components:
    """The fitted clones and built-in objects one ``fit`` works with."""

    labeler: object
    student: object
    noise_filter: object
    retriever: object
    query_strategy: object
    embedder: object
    judge: object  # judges each round: the student itself, or a classifier of embeddings
    judge_is_student: bool  # no separate ``judge``: the student is trained every round

    @property
    def judge_name(self):
        """What to call the round's judge in messages: "student" or "judge"."""
        return "student" if self.judge_is_student else "judge"


def _embed_reusing(embed, batch, texts, embeddings):
    """Embeddings of ``batch``: the rows of ``embeddings`` for texts among ``texts``.

    Only the texts of ``batch`` not in ``texts`` go through ``embed`` (an
    ``eval_set`` of the training texts, as ``skfreeal label --gold-column``
    passes, costs no second embedding pass).
    """
    row_of = {text: i for i, text in enumerate(texts)}
    rows = np.array([row_of.get(text, -1) for text in batch])
    new = np.flatnonzero(rows < 0)
    out = np.empty((len(batch), embeddings.shape[1]), dtype=embeddings.dtype)
    out[rows >= 0] = embeddings[rows[rows >= 0]]
    if len(new):
        out[new] = embed([batch[i] for i in new])
    return out


# What to pass instead of a default component, for set_params' error.
_COMPONENT_EXAMPLES = {
    "labeler": "LocalLabeler()",
    "slm": "RobustTextClassifier()",
    "embedder": "SentenceEmbedder()",
    "noise_filter": "GMMNoiseFilter()",
    "judge": "LogisticRegression(max_iter=1000)",
    "retriever": "KNNRetriever()",
    "query_strategy": "RandomQuery()",
}


class FreeALClassifier(ClassifierMixin, BaseEstimator):
    """Label texts and train a classifier with no human annotation (FreeAL).

    ``fit`` runs FreeAL's collaborative loop (Xiao et al., EMNLP 2023). Each
    round: build the demonstration pool (round 0: synthetic demonstrations
    the LLM writes; later rounds: per class, the ``demo_top_percent``
    smallest-loss clean texts, then their k-medoids), annotate (round 0:
    every text; later rounds: only the texts judged noisy) with each text's
    nearest demonstrations in context, train the round's judge on the
    labels and split them into clean and noisy, record the round, and stop
    when the rounds are done or no label changed; then the small language
    model (SLM) trains robustly on the final labels. The judge is by default
    a logistic regression on the frozen sentence embeddings (``judge``);
    with ``judge=None`` the SLM itself judges and trains every round, and
    with ``label_fusion="llm"`` too the loop is the paper's. ``predict``
    uses the final SLM: no LLM call at inference.

    Parameters
    ----------
    labels : list of str
        The label names, in the order of the class ids.
    task : str
        What to label, in words (e.g. ``"Classify the sentiment of a tweet."``).
    labeler : labeler, default=None
        The LLM annotator (see :class:`skfreeal.base.Labeler`). None:
        :class:`~skfreeal.labelers.LocalLabeler`, the packaged local LLM (no
        key, no network). Cloned in ``fit``, then given ``labels`` and
        ``task``.
    slm : classifier, default=None
        The student (see :class:`skfreeal.base.Student`). None:
        ``RobustTextClassifier(lr=5e-5, warmup_epochs=1)`` on the packaged
        MiniLM (today its own defaults too): at lr 1e-4 and two warm-up
        epochs, its former defaults, the student
        fits an LLM's one-sided errors before the first split and the GMM
        flags only 4% of the texts as noisy (on the tweets' round-0 labels,
        31% wrong); at these settings 15%, and its predictions on the
        training texts agree more with their gold labels (0.732 against
        0.703, settings chosen on the training split and a dev split, never
        the test split). Cloned in ``fit``. A robust student
        (:class:`skfreeal.base.RobustStudentMixin`, as
        :class:`~skfreeal.RobustTextClassifier`) is trained on every text,
        the unannotated and abstained ones marked -1 for its consistency
        loss, and splits clean from noisy itself during its training (with
        ``judge=None`` that split also decides the re-annotations); any
        other classifier is trained on the labelled texts only and
        ``noise_filter`` splits its losses.
    embedder : transformer, default=None
        Sentence embedder for demonstration retrieval (has ``fit`` and
        ``transform``; fitted on the training texts, used during ``fit``
        only). None: :class:`~skfreeal.slm.SentenceEmbedder` (the packaged
        MiniLM).
    noise_filter : noise filter, default=None
        Splits per-text losses into clean and noisy (see
        :class:`skfreeal.base.NoiseFilter`): the ``judge``'s, and a plain
        student's; given to a robust student as its ``noise_filter``
        parameter (for its own training). None: the robust student's own,
        and :class:`~skfreeal.GMMNoiseFilter` for the judge and any other
        student. Tune its threshold by passing one,
        ``noise_filter=GMMNoiseFilter()``, then ``noise_filter__threshold``
        (the default None has no parameters to set). For
        the judge, :class:`~skfreeal.GMMNoiseFilter`'s 0.7 gave the best
        training labels of 0.5, 0.7 and 0.9 on the training split's gold
        labels (1,000 texts, the 0.5B LLM; tweets 0.739 / 0.738 / 0.733,
        Yahoo 0.537 / 0.557 / 0.547;
        ``benchmarks/experiments/dev_loop_params.py``).
    retriever : "knn", "balanced-knn" or retriever, default="knn"
        Chooses each text's demonstrations from the pool (see
        :class:`skfreeal.base.Retriever`): ``"knn"`` is
        :class:`~skfreeal.demonstrations.KNNRetriever`, the nearest ones;
        ``"balanced-knn"`` the nearest ones of each label in turn.
    n_rounds : int, default=2
        LLM annotation rounds; the judge trains after each and the SLM once
        after the last (after each with ``judge=None``). 1 gives the SLM
        trained robustly on the first LLM labels. Why 2: with 4 rounds
        (``python -m benchmarks.ablation --rows rounds``, 1,000 training
        texts, the 0.5B LLM) the training labels moved from 0.738 to 0.740
        on tweets (stopped after round 3, no label changed) and from 0.557
        to 0.552 on Yahoo, for 6% and 7% more LLM requests.
    n_demos : int, default=10
        In-context demonstrations retrieved per text (m in the paper). 0
        annotates zero-shot.
    demo_top_percent : float, default=0.2
        R: fraction of each class's clean texts, by smallest loss, among which
        the medoids are chosen (only texts whose label the student agrees
        with; a class with none judged clean falls back to all of those).
    demos_per_class : int, default=None
        Demonstrations per class in the refined pool. None:
        ``max(n_demos, 5)``. A larger pool did not give better labels on the
        training split's gold labels (tweets, 1,000 texts, the 0.5B LLM, 4
        demos: 0.738 with 5 a class, 0.737 with 20, 0.741 with 50 of the
        clean half, 0.728 with every clean text;
        ``benchmarks/experiments/dev_demo_pool_size.py``).
    n_generated_demos : int, default=None
        Synthetic demonstrations the LLM writes in round 0. None:
        ``max(2 * n_demos, 4) * n_classes``, at most 100 and at most one per
        five texts that round 0 labels (every training text, or the first
        ``label_fraction`` of them), but one per label at least: a small data
        set, or a small first share, does not pay for more demonstrations
        than it has texts to label. 0
        skips generation (round 0 is then zero-shot unless given labels seed
        the pool): worth trying with an LLM that writes poor demonstrations.
        With the 0.5B LLM on the training split's gold labels (1,000 texts,
        ``benchmarks/experiments/dev_loop_params.py``) 0 gave tweets 0.750
        final labels against 0.738, but Yahoo 0.520 against 0.557.
    fill_missing_demos : bool, default=True
        When the LLM writes fewer than half their share of the synthetic
        demonstrations for some labels, fill them with the training texts
        the LLM itself labels with those labels most confidently (it labels
        ``8 * n_classes`` texts zero-shot for that), so that no label enters
        round 0 without demonstrations; in later rounds, a label with no
        text at all that the student agrees with keeps the previous round's
        demonstrations of it (else the LLM would see only the other labels'
        demonstrations and drift towards them). A label with such texts but
        none judged clean takes its demonstrations from those texts,
        whatever this parameter says (see ``demo_top_percent``). Measured
        on the training split's gold labels (``python -m benchmarks.ablation
        --rows calibration fill``, 1,000 texts, the 0.5B LLM, the student
        judging): Yahoo's labels 0.491 without, 0.520 with, all of it from
        the later rounds' kept demonstrations (round 0's fill found no text
        for the one short topic); tweets' 0.725 either way.
    balanced_retrieval : bool, default="deprecated"
        Deprecated since 0.2, removed in 0.4: use
        ``retriever="balanced-knn"``.
    label_fraction : float, default=1.0
        P: fraction of the texts the LLM annotates in round 0 and adds in
        each later round (the paper's large-data variant). A robust SLM
        still sees all texts (consistency loss on the unannotated ones).
    query_strategy : "random", "uncertainty" or query strategy, default="random"
        How the next ``label_fraction`` subset is chosen from round 1 on
        (see :class:`skfreeal.base.QueryStrategy`): at random
        (:class:`~skfreeal.query.RandomQuery`), or the texts on which the
        round's judge (the SLM with ``judge=None``) is least certain
        (:class:`~skfreeal.query.UncertaintyQuery`).
    max_annotations : int, default=2
        LLM annotations per text at most (standard FreeAL: 2).
    judge : None, "probe" or classifier, default="probe"
        Which model judges the rounds: splits the labels into clean and
        noisy (the noisy ones are re-annotated), gives the losses and labels
        the next demonstration pool is chosen by, and the view that
        ``label_fusion`` and ``query_strategy="uncertainty"`` use.
        ``"probe"``: a logistic regression on the retrieval embeddings (the
        frozen ``embedder``'s, unit length), its losses split by
        ``noise_filter``. A classifier: trained the same way on those
        embeddings (it must have ``fit`` and ``predict_proba``; cloned).
        None: the student (``slm``), trained after every round (with
        ``label_fusion="llm"``, FreeAL as published). With a judge, the
        student trains once, on the final labels, after the last round. A
        fine-tuned student fits most of the LLM's label errors by the end of
        its training (its agreement with the 0.5B LLM's tweet labels: 0.95),
        so it flags few of them as noisy, while a frozen-encoder probe
        cannot fit them (0.86).
        Why the default (with ``label_fusion="product"``), by the accuracy
        of the final training labels against the training split's gold
        labels (``python -m benchmarks.ablation``, 1,000 training texts,
        the 0.5B LLM): tweets 0.709 with ``judge=None, label_fusion="llm"``
        (55 texts re-asked), 0.739 with the probe judge alone (221), 0.738
        with both (221); Yahoo (10 topics, round-0 labels 49% right) 0.538
        (145 re-asked), 0.533 (437) and 0.557 (437). The student's test
        accuracy, measured only: tweets 0.676, 0.692, 0.712; Yahoo 0.538,
        0.520, 0.526. The student also trains once instead of once per
        round (tweets, cold LLM cache: 794 s against 1,358 s).
    label_fusion : {"llm", "product"}, default="product"
        How a text's label is chosen from the LLM's answer from round 1 on
        (the re-annotated noisy texts, and with ``label_fraction < 1`` the
        texts queried for the first time):
        ``"llm"``, the LLM's answer (FreeAL as published, with
        ``judge=None``); ``"product"``, the label most
        probable under the product of the LLM's label distribution and the
        previous round's judge's (the probe's, or the student's with
        ``judge=None``), so that where the two disagree the label both find
        plausible wins. Needs a labeler that gives distributions
        (:class:`skfreeal.base.ProbabilisticLabeler`; the built-in ones do),
        else it acts as ``"llm"``. With the probe judge it takes Yahoo's
        labels from 0.533 to 0.557 and leaves tweets' at 0.738 (0.739 with
        ``"llm"``); see ``judge``.
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
        0 silent. 1: a line on stderr for each step and each round's summary
        (through the ``skfreeal`` logger, which prints them with no logging
        set-up; configured logging decides instead), and progress bars with
        rate and time left for each LLM pass, the embedding and the
        student's epochs when stderr is a terminal or in a notebook. 2: the
        bars also in a file or a pipe, as a line every few seconds. The
        labeler's, the student's and the embedder's clones get this
        ``verbose`` where theirs is left at its default (not where it is a
        True/False flag, as a ``Pipeline``'s: that one prints timing lines
        on stdout).

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The label names.
    label_ids_ : ndarray of shape (n_samples,), dtype=int64
        Refined label id of each training text (index into ``classes_``),
        -1 where still unknown (never annotated, or the LLM abstained).
        ``labels_`` is its deprecated name.
    transduction_ : ndarray of shape (n_samples,), dtype=object
        The same labels as names, None where unknown.
    label_proba_ : ndarray of shape (n_samples, n_classes)
        The label distribution behind each current label: the LLM's
        calibrated distribution (fused with the round's judge's when
        ``label_fusion="product"``), one-hot for given labels and for a
        labeler that gives no distributions, NaN where unknown.
    confidence_ : ndarray of shape (n_samples,)
        The probability of each current label in ``label_proba_`` (the
        labeler's confidence for a labeler without distributions; 1 for
        given labels; NaN where unknown).
    label_round_ : ndarray of shape (n_samples,), dtype=int64
        Round in which each current label was set (-1: never).
    n_annotations_ : ndarray of shape (n_samples,), dtype=int64
        LLM annotations made for each text.
    clean_mask_ : ndarray of shape (n_samples,), dtype=bool
        Texts the final model judged clean (with a plain student, by
        ``noise_filter`` on its losses; the judge's view, when the judge
        replaced a student that collapsed).
    demos_ : list of (str, str)
        The last demonstration pool the LLM used, as (text, label name) pairs.
    history_ : list of dict
        One record per round: ``round``, ``n_annotated``, ``n_abstain``,
        ``n_changed``, ``n_labelled``, ``clean_fraction``,
        ``llm_slm_agreement``, ``calls``, ``prompt_tokens``,
        ``completion_tokens``, ``cache_hits``, ``cost``, ``failed`` (texts
        whose request failed all its attempts and were left unlabelled, with
        the labeler's ``on_failure="abstain"``), ``llm_seconds``,
        ``slm_seconds``, ``seconds``, ``student_kept`` (whether this
        round's student is the one ``predict`` uses; see ``kept_round_``)
        (and ``eval_accuracy`` with an ``eval_set``). With a ``judge``,
        the round's figures of the student are its judge's:
        ``llm_slm_agreement``, ``slm_seconds``, ``eval_accuracy``,
        ``clean_fraction``, and ``student_kept`` marks the round whose
        judge was kept (the student learned the final labels after it);
        the last record also holds ``student_seconds`` (the final
        student's training), ``student_collapsed`` (whether it learned
        nothing, so that the judge predicts instead; see ``slm_``) and,
        with an ``eval_set``, ``student_eval_accuracy`` (the final
        student's, collapsed or not).
    usage_ : dict
        The labeler's usage over the whole fit: calls, tokens, cache hits,
        estimated cost, failed texts.
    round_labels_ : ndarray of shape (n_rounds_, n_samples), dtype=int64
        The labels after each round's annotation (row 0: the first LLM
        labels).
    round_clean_masks_ : ndarray of shape (n_rounds_, n_samples), dtype=bool
        The clean mask of each round's judge (the SLM, unless ``judge`` is
        set) after its training: the texts of row ``r`` outside it are the
        ones re-annotated in round ``r + 1``.
    n_rounds_ : int
        Rounds run.
    stop_reason_ : str
        Why the loop ended: ``"max_rounds"`` (``n_rounds`` done),
        ``"no_change"`` (a round changed no label: the labels converged) or
        ``"nothing_to_annotate"`` (every noisy text had used its
        ``max_annotations``) or ``"one_class"`` (a later round's answers
        would have left every text with the same label, which no student can
        learn from: the previous round's labels and student are kept) or
        ``"student_collapsed"`` (a later round's student agreed with its own
        training labels at most 5 points more often than always answering
        their most frequent label would, and recovered them per label no better than halfway
        from a constant's to a perfect fit's, as when its training diverged
        to one class: the
        previous round's student is kept, with the new labels; see
        ``kept_round_``) or, with a ``judge``, ``"judge_collapsed"`` (the
        same of a later round's judge: the previous round's judge is kept,
        with the new labels, and the student learns them).
    kept_round_ : int
        The round whose student is ``slm_`` (the last round trained, unless
        its student collapsed); with a ``judge``, the round whose judge was
        kept (the student learned the final labels after it).
    labeler_ : labeler
        The fitted clone of ``labeler``.
    slm_ : classifier
        The final SLM (used by ``predict``). With a ``judge``, should the
        final student learn nothing (by the rule of
        ``"student_collapsed"``), a pipeline of the embedder, a
        unit-length normaliser and ``judge_`` (a warning says so, and
        ``history_[-1]["student_collapsed"]``).
    judge_ : classifier or None
        The kept round's judge (a classifier of the retrieval embeddings;
        see ``kept_round_``), None when the student judged the rounds.

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
        "labeler": "no_validation",  # checked against skfreeal.base.Labeler in fit
        "slm": "no_validation",
        "embedder": [HasMethods(["fit", "transform"]), None],
        "noise_filter": "no_validation",
        "retriever": "no_validation",
        "n_rounds": [Interval(Integral, 1, None, closed="left")],
        "n_demos": [Interval(Integral, 0, None, closed="left")],
        "demo_top_percent": [Interval(Real, 0, 1, closed="right")],
        "demos_per_class": [Interval(Integral, 1, None, closed="left"), None],
        "n_generated_demos": [Interval(Integral, 0, None, closed="left"), None],
        "fill_missing_demos": ["boolean"],
        "balanced_retrieval": ["boolean", StrOptions({"deprecated"})],
        "label_fraction": [Interval(Real, 0, 1, closed="right")],
        "query_strategy": "no_validation",
        "max_annotations": [Interval(Integral, 1, None, closed="left")],
        "judge": [None, StrOptions({"probe"}), HasMethods(["fit", "predict_proba"])],
        "label_fusion": [StrOptions({"llm", "product"})],
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
        retriever="knn",
        n_rounds=2,
        n_demos=10,
        demo_top_percent=0.2,
        demos_per_class=None,
        n_generated_demos=None,
        fill_missing_demos=True,
        balanced_retrieval="deprecated",
        label_fraction=1.0,
        query_strategy="random",
        max_annotations=2,
        judge="probe",
        label_fusion="product",
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
        self.retriever = retriever
        self.n_rounds = n_rounds
        self.n_demos = n_demos
        self.demo_top_percent = demo_top_percent
        self.demos_per_class = demos_per_class
        self.n_generated_demos = n_generated_demos
        self.fill_missing_demos = fill_missing_demos
        self.balanced_retrieval = balanced_retrieval
        self.label_fraction = label_fraction
        self.query_strategy = query_strategy
        self.max_annotations = max_annotations
        self.judge = judge
        self.label_fusion = label_fusion
        self.use_labels = use_labels
        self.random_state = random_state
        self.verbose = verbose

    # ------------------------------------------------------------ params
    def set_params(self, **params):
        """Set the parameters of this estimator and of its components.

        As :meth:`sklearn.base.BaseEstimator.set_params`; a component's own
        parameter (``noise_filter__threshold``) needs the component given,
        in this call or before: the defaults (None, or a name such as
        ``judge="probe"``) are built at ``fit``.

        Parameters
        ----------
        **params : dict
            Estimator parameters, and ``<component>__<parameter>`` ones.

        Returns
        -------
        self : FreeALClassifier

        Raises
        ------
        ValueError
            For a component's parameter while the component is a default,
            naming both and the component to pass instead.
        """
        own = self.get_params(deep=False)
        for key in params:
            name, nested, _ = key.partition("__")
            if not nested or name not in own:
                continue  # sklearn's own error for unknown names
            component = params.get(name, own[name])
            if not hasattr(component, "set_params"):
                example = _COMPONENT_EXAMPLES.get(name, "an estimator")
                raise ValueError(
                    f"Cannot set {key!r}: {name}={component!r} has no parameters of its own "
                    f"(FreeAL builds it at fit); pass the component itself, e.g. "
                    f"{name}={example}, and set its parameters from there."
                )
        return super().set_params(**params)

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
            the SLM's accuracy on them (its ``judge``'s, when there is one)
            is recorded in ``history_`` as ``eval_accuracy`` after each
            round, and the final student's as ``student_eval_accuracy``
            with a ``judge``. Never used in training.

        Returns
        -------
        self : FreeALClassifier
        """
        texts = check_fit_texts(X, name="X")
        self.classes_ = self._label_names()
        state = LabelState(self._given_labels(y, len(texts)), len(self.classes_))
        self._check_first_round_size(state)
        eval_set = check_eval_set(eval_set, self.classes_)
        rng = check_random_state(self.random_state)
        parts = self._components(rng)
        embed = self._embedding_function(parts.embedder, texts)
        embeddings = embed(texts)
        # What the judge learns from: the texts (the student), or their embeddings.
        judge_inputs, judge_eval = texts, eval_set
        if not parts.judge_is_student:
            judge_inputs = embeddings
            if eval_set is not None:
                judge_eval = (_embed_reusing(embed, eval_set[0], texts, embeddings), eval_set[1])
        recorder, view, pool, stop = RoundRecorder(parts.labeler), None, None, "max_rounds"
        kept_round = None  # the round whose student is the final one
        prior = None  # the LLM's tilt, estimated on round 0's random sample
        for round_ in range(self.n_rounds):
            recorder.start()
            todo = self._to_annotate(round_, parts, state, view, rng)
            if round_ > 0 and not todo.any():
                stop = "nothing_to_annotate"
                break
            pool = self._demo_pool(round_, parts, texts, embeddings, state, view, pool, embed,
                                   rng)
            self._log("round %d: annotating %d texts", round_, todo.sum())
            with progress_stage(f"round {round_}: annotating"):
                answers = annotate_with_demos(
                    parts.labeler, parts.retriever, texts, embeddings, todo, pool, self.n_demos,
                    prior=prior,
                ).fused_with(view.proba if view is not None else None, self.label_fusion)
            prior = answers.prior
            if round_ > 0 and state.leaves_one_class(answers):
                self._log("round %d: the new answers would leave a single label; keeping round "
                          "%d's labels and student", round_, round_ - 1)
                stop = "one_class"
                break
            changed, n_abstain = state.update(answers, round_)
            converged = round_ > 0 and not changed.any() and self.label_fraction >= 1
            recorder.llm_done()
            kept = None  # the previous round's judge and view, if this one learned nothing
            if not converged:  # unchanged labels would train the same judge again
                kept = (parts.judge, view, kept_round)
                view = self._train_judge(round_, parts, judge_inputs, state, judge_eval)
                kept_round = round_
            self._log_round(recorder.record(
                round_=round_, annotated=todo, n_abstain=n_abstain, changed=changed,
                labels=state.ids, view=view,
            ))
            if converged:
                stop = "no_change"
                break
            if kept is not None and kept[1] is not None and learned_nothing(view, state.ids):
                judged_by = parts.judge_name
                logger.warning(
                    "Round %d's %s agrees with its training labels hardly more than always "
                    "answering their most frequent label would, and recovers them no better "
                    "per label (it collapsed): round %d's %s is kept and the loop stops.",
                    round_, judged_by, kept[2], judged_by)
                parts.judge, view, kept_round = kept
                if parts.judge_is_student:
                    parts.student = parts.judge
                stop = "student_collapsed" if parts.judge_is_student else "judge_collapsed"
                break
        self.judge_ = None
        if not parts.judge_is_student:
            self.judge_ = parts.judge
            view = self._train_final_student(parts, texts, state, eval_set, view, recorder)
        self.kept_round_ = kept_round
        self._store_results(parts, state, recorder, view, pool, stop, kept_round)
        return self

    def _train_judge(self, round_, parts, inputs, state, eval_set):
        """Train a fresh clone of the round's judge on the labels; return its view.

        A fresh clone each round (round 0 uses the original), so that the
        previous round's judge is still at hand should this one collapse.
        """
        self._log("round %d: training the %s", round_, parts.judge_name)
        judge = clone(parts.judge) if round_ > 0 else parts.judge
        if parts.judge_is_student:
            parts.student = judge
        parts.judge = judge
        with progress_stage(f"round {round_}: training"), progress_timer(
                f"training the {parts.judge_name}", verbose=self.verbose):
            return train_student(judge, inputs, state.ids, classes=self.classes_,
                                 noise_filter=parts.noise_filter, eval_set=eval_set)

    def _train_final_student(self, parts, texts, state, eval_set, judge_view, recorder):
        """With a ``judge``: train the student once on the final labels; return its view.

        Its time (and accuracy on ``eval_set``) is added to the last round's
        record. A student that learned nothing (see
        :func:`~skfreeal._student.learned_nothing`) is replaced by the judge
        on the embedder's embeddings, with a warning.
        """
        self._log("training the student on the final labels")
        start = time.perf_counter()
        with progress_stage("training the student"), progress_timer(
                "training the student", verbose=self.verbose):
            view = train_student(parts.student, texts, state.ids, classes=self.classes_,
                                 noise_filter=parts.noise_filter, eval_set=eval_set)
        last = recorder.history[-1]
        last["student_seconds"] = round(time.perf_counter() - start, 3)
        if view.eval_accuracy is not None:
            last["student_eval_accuracy"] = view.eval_accuracy
        last["student_collapsed"] = learned_nothing(view, state.ids)
        if not last["student_collapsed"]:
            return view
        logger.warning(
            "The student trained on the final labels agrees with them hardly more than always "
            "answering their most frequent label would, and recovers them no better per label "
            "(it collapsed): the judge, on the embedder's embeddings, predicts instead.")
        parts.student = make_pipeline(parts.embedder, Normalizer(), parts.judge)
        return judge_view

    def _label_names(self):
        if not self.task.strip():
            raise ValueError("task must describe the labelling task, got an empty string.")
        return np.asarray(check_label_names(self.labels), dtype=object)

    def _given_labels(self, y, n):
        if y is not None and len(y) != n:
            raise ValueError(f"y has {len(y)} entries but X has {n} texts; they must match.")
        if y is None or not self.use_labels:
            return np.full(n, -1, dtype=np.int64)
        return check_partial_labels(y, n, classes=list(self.classes_))[1]

    def _store_results(self, parts, state, recorder, view, pool, stop, kept_round):
        self.labeler_, self.slm_ = parts.labeler, parts.student
        self.label_ids_ = state.ids
        self.label_proba_ = state.proba
        self.confidence_ = state.confidence
        self.label_round_ = state.round
        self.n_annotations_ = state.n_annotations
        self.transduction_ = np.array(
            [self.classes_[c] if c >= 0 else None for c in state.ids], dtype=object
        )
        self.clean_mask_ = view.clean_mask
        self.demos_ = pool.as_pairs(self.classes_)
        self.history_ = recorder.history
        for record in self.history_:
            record["student_kept"] = record["round"] == kept_round
        self.round_labels_ = np.vstack(recorder.round_labels)
        self.round_clean_masks_ = np.vstack(recorder.round_clean_masks)
        self.usage_ = recorder.total()
        self.n_rounds_ = len(recorder.history)
        self.stop_reason_ = stop
        self._log("stopped after %d round(s): %s", self.n_rounds_, stop)

    @property
    def labels_(self):
        """Deprecated name of ``label_ids_`` (removed in skfreeal 0.4)."""
        if "label_ids_" not in vars(self):
            raise AttributeError("labels_ is set by fit (and deprecated: use label_ids_).")
        warnings.warn(
            "FreeALClassifier.labels_ is deprecated and will be removed in skfreeal 0.4: it "
            "holds label ids, not the labels parameter's names; use label_ids_ (or "
            "transduction_ for names).",
            FutureWarning,
            stacklevel=2,
        )
        return self.label_ids_

    # ----------------------------------------------------------- components
    def _make_labeler(self, classes):
        labeler = self.labeler
        if labeler is None:
            from .labelers import LocalLabeler

            labeler = LocalLabeler()
        check_component(labeler, Labeler, "labeler")
        labeler = clone(labeler).set_params(labels=list(classes), task=self.task)
        from .labelers import BaseLabeler

        if isinstance(labeler, BaseLabeler):
            labeler.check_budget()  # a max_cost without a price: refused before any embedding
        return labeler

    def _components(self, rng):
        """Check, clone and configure every component (the student seeded from ``rng``).

        The clones of the labeler, the student and the embedder get this
        estimator's ``verbose`` where they have one left at its default.
        """
        from .noise import GMMNoiseFilter

        seed = rng.randint(_MAX_SEED)
        labeler = self._pass_verbose(self._make_labeler(self.classes_))
        slm = self.slm
        if slm is None:
            from .slm import RobustTextClassifier

            slm = RobustTextClassifier(**DEFAULT_SLM_PARAMS)
        check_component(slm, Student, "slm")
        robust = isinstance(slm, RobustStudentMixin)
        if robust:
            check_component(slm, RobustStudentMixin, "slm")
        slm = clone(slm)
        if slm.get_params(deep=False).get("random_state", 0) is None:
            slm.set_params(random_state=seed)
        noise_filter = self.noise_filter
        if noise_filter is not None:
            check_component(noise_filter, NoiseFilter, "noise_filter")
            noise_filter = clone(noise_filter)
            if robust:
                slm.set_params(noise_filter=noise_filter)
        slm = self._pass_verbose(slm)
        judge = self._make_judge(seed)
        return _Components(
            labeler=labeler, student=slm,
            noise_filter=noise_filter if noise_filter is not None else GMMNoiseFilter(
                random_state=0),
            retriever=self._make_retriever(), query_strategy=self._make_query_strategy(),
            embedder=self._pass_verbose(self._make_embedder()),
            judge=slm if judge is None else judge, judge_is_student=judge is None,
        )

    def _make_judge(self, seed):
        """The ``judge``'s clone (seeded like the student), or None for the student itself."""
        if self.judge is None:
            return None
        if isinstance(self.judge, str):  # "probe", the only option the constraints allow
            from sklearn.linear_model import LogisticRegression

            return LogisticRegression(max_iter=1000)
        if isinstance(self.judge, RobustStudentMixin):
            raise TypeError(
                f"judge={reprlib.repr(self.judge)} is a robust student of texts, but a judge "
                "learns from the retrieval embeddings: give it as slm (it then judges the rounds "
                "itself, with judge=None), or give a classifier of vectors as judge."
            )
        judge = clone(self.judge)
        if judge.get_params(deep=False).get("random_state", 0) is None:
            judge.set_params(random_state=seed)
        return judge

    def _pass_verbose(self, component):
        """Set ``verbose`` on a clone whose own is at its default (the user left it).

        A ``verbose`` that is a True/False flag (a scikit-learn
        ``Pipeline``'s, say) is left alone: those print timing lines such as
        ``[Pipeline] ... total= 0.1s`` on stdout, with no progress to show.
        """
        own = component.get_params(deep=False).get("verbose", inspect.Parameter.empty)
        if not self.verbose or own is inspect.Parameter.empty:
            return component
        declared = inspect.signature(type(component)).parameters.get("verbose")
        if (declared is not None and own == declared.default
                and not isinstance(declared.default, bool)):
            component.set_params(verbose=self.verbose)
        return component

    def _make_retriever(self):
        from .demonstrations import KNNRetriever

        retriever, balanced = self.retriever, self.balanced_retrieval
        if balanced != "deprecated":
            warnings.warn(
                "balanced_retrieval is deprecated and will be removed in skfreeal 0.4; use "
                "retriever='balanced-knn' (or retriever='knn').",
                FutureWarning,
                stacklevel=4,
            )
            if retriever == "knn":
                retriever = "balanced-knn" if balanced else "knn"
        if isinstance(retriever, str):
            if retriever not in ("knn", "balanced-knn"):
                raise ValueError(
                    "retriever must be 'knn', 'balanced-knn' or an object with fit() and "
                    f"kneighbors(), got {retriever!r}."
                )
            return KNNRetriever(balanced=retriever == "balanced-knn")
        check_component(retriever, Retriever, "retriever")
        return clone(retriever)

    def _make_query_strategy(self):
        from .query import RandomQuery, UncertaintyQuery

        strategy = self.query_strategy
        if isinstance(strategy, str):
            builtin = {"random": RandomQuery, "uncertainty": UncertaintyQuery}
            if strategy not in builtin:
                raise ValueError(
                    "query_strategy must be 'random', 'uncertainty' or an object with "
                    f"select(), got {strategy!r}."
                )
            return builtin[strategy]()
        check_component(strategy, QueryStrategy, "query_strategy")
        return clone(strategy)

    def _make_embedder(self):
        if self.embedder is not None:
            return clone(self.embedder)
        from .slm import SentenceEmbedder

        return SentenceEmbedder()

    def _embedding_function(self, embedder, texts):
        """Fit the retrieval embedder; return a function giving unit-length embeddings.

        Texts are embedded ``_EMBED_CHUNK`` at a time, with a progress bar
        when there are more than one chunk of them.
        """
        self._log("embedding %d texts for demonstration retrieval", len(texts))
        with quiet_transformers():
            embedder.fit(texts)

        def embed(batch):
            bar = None
            if len(batch) > _EMBED_CHUNK:
                bar = progress_bar(len(batch), desc="embedding", unit="text", verbose=self.verbose)
            chunks = []
            for start in range(0, len(batch), _EMBED_CHUNK):
                chunk = batch[start:start + _EMBED_CHUNK]
                chunks.append(np.asarray(embedder.transform(chunk), dtype=np.float32))
                if bar is not None:
                    bar.update(len(chunk))
            if bar is not None:
                bar.close()
            emb = np.concatenate(chunks) if chunks else np.zeros((0, 1), np.float32)
            norms = np.linalg.norm(emb, axis=1, keepdims=True)
            return emb / np.where(norms > 0, norms, 1.0)

        return embed

    # ------------------------------------------------------ round steps
    def _n_generated(self, n_classes, n_texts):
        if not self.n_demos:
            return 0
        if self.n_generated_demos is not None:
            return self.n_generated_demos
        # the texts round 0 labels: all of them, or the first share in P% mode
        first_round = min(n_texts, ceil_share(self.label_fraction, n_texts))
        share = min(100, max(2 * self.n_demos, 4) * n_classes, first_round // 5)
        return max(n_classes, share)  # one per label at least, even above 100 labels

    def _demo_pool(self, round_, parts, texts, embeddings, state, view, pool, embed, rng):
        """Round 0: the LLM's synthetic demos; later: the student's clean medoids."""
        if round_ == 0:
            n_generated = self._n_generated(len(self.classes_), len(texts))
            if n_generated:
                self._log("round 0: generating %d synthetic demonstrations", n_generated)
            with progress_stage("round 0: writing demonstrations"):
                return generated_pool(
                    parts.labeler, texts, np.where(state.fixed, state.ids, -1),
                    n_generated=n_generated, n_classes=len(self.classes_), embed=embed,
                    rng=rng, fill=self.fill_missing_demos,
                )
        return refined_pool(
            view, state.ids, texts, embeddings, parts.judge,
            top_percent=self.demo_top_percent,
            per_class=self.demos_per_class or max(self.n_demos, 5), rng=rng,
            previous=pool if self.fill_missing_demos else None,
        )

    def _check_first_round_size(self, state):
        """Refuse, before any LLM call, a ``label_fraction`` that leaves round 0
        fewer than two labelled texts: no student can learn from them."""
        n = state.ids.size
        first = min(ceil_share(self.label_fraction, n), int(state.never_annotated().sum()))
        if first + int(state.fixed.sum()) < 2:
            raise ValueError(
                f"label_fraction={self.label_fraction!r} has the LLM label {first} of the {n} "
                "texts in round 0, and the student needs at least two labelled texts; use a "
                f"label_fraction of at least {2 / n:.3g} or more texts."
            )

    def _to_annotate(self, round_, parts, state, view, rng):
        """Round 0: a first subset; later: the noisy texts, plus a new subset in P% mode."""
        todo = np.zeros(state.ids.size, dtype=bool)
        if round_ > 0:
            todo = state.noisy_within_budget(view.clean_mask, self.max_annotations)
        if round_ == 0 or self.label_fraction < 1:
            candidates = np.flatnonzero(state.never_annotated())
            if self.label_fraction >= 1:
                todo[candidates] = True
            else:
                from .query import RandomQuery

                strategy = parts.query_strategy if round_ > 0 else RandomQuery()
                n_new = ceil_share(self.label_fraction, state.ids.size)
                proba = view.proba if view is not None else None
                todo[strategy.select(candidates, n_new, proba=proba, random_state=rng)] = True
        return todo

    # ------------------------------------------------------------ dry run
    def estimate(self, X, *, noisy_fraction=0.25, measure_speed=True):
        """Expected LLM calls, tokens, cost and time of ``fit(X)``.

        No request is charged: the calls and tokens follow from the loop's
        rules and the labeler's own prompts. For a local model, whose cost is
        time, the time is measured: a few requests of each kind are timed
        on this machine (a few seconds, the model's loading included).

        Parameters
        ----------
        X : iterable of str
            The texts ``fit`` would label.
        noisy_fraction : float, default=0.25
            Assumed fraction of annotated texts judged noisy in each round
            (re-annotated in the next; the probe judge found 22% on the
            tweets benchmark, 44% on Yahoo's 10 topics); the real value is known only
            after training.
        measure_speed : bool, default=True
            Time a few requests of a :class:`~skfreeal.labelers.LocalLabeler`
            on this machine, for ``expected_llm_seconds``. False: no
            request at all (the time is then None).

        Returns
        -------
        estimate : dict
            ``n_texts``, ``expected_calls`` (with ``min_calls`` and
            ``max_calls``: no text / every text re-annotated),
            ``expected_prompt_tokens``, ``expected_completion_tokens``,
            ``expected_cost`` (None when the model's price is unknown),
            ``expected_llm_seconds`` (the LLM's wall time on this machine,
            student training excluded; None unless measured) and
            ``llm_speed`` (the measurement: seconds per request of each
            kind, prompt and generated tokens per second; or None). Cached
            answers are not subtracted.
        """
        from ._estimate import estimate_fit_cost
        from .labelers import LocalLabeler

        texts = check_texts(X, name="X")
        labeler = self._make_labeler(self._label_names())
        speed = None
        if measure_speed and isinstance(labeler, LocalLabeler):
            from .labelers._speed import measure_speed as measure

            speed = measure(labeler, texts, n_demos=self.n_demos)
        return estimate_fit_cost(
            texts, labeler, n_rounds=self.n_rounds, n_demos=self.n_demos,
            n_generated_demos=self._n_generated(len(labeler.labels), len(texts)),
            label_fraction=self.label_fraction, max_annotations=self.max_annotations,
            noisy_fraction=noisy_fraction, speed=speed,
            fill_missing_demos=self.fill_missing_demos,
        )

    # --------------------------------------------------------- inference
    def predict_proba(self, X):
        """Class probabilities from the final SLM (no LLM call).

        Parameters
        ----------
        X : iterable of str
            Texts to classify (any texts, not only the training ones).

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            One column per label name of ``classes_``, also for a label the
            LLM never gave (its column is then zero).
        """
        check_is_fitted(self)
        proba = self.slm_.predict_proba(check_texts(X, name="X"))
        return full_proba(self.slm_, proba, len(self.classes_))

    def predict(self, X):
        """Label names predicted by the final SLM (no LLM call).

        Parameters
        ----------
        X : iterable of str
            Texts to classify.

        Returns
        -------
        labels : ndarray of shape (n_samples,), dtype=object
            The most probable label name of each text.
        """
        return self.classes_[self.predict_proba(X).argmax(axis=1)]

    def _log_round(self, h):
        self._log(
            "round %d: %d texts annotated (%d abstained, %d labels changed), %d labelled, "
            "clean %.2f, LLM/%s agreement %.2f, %d LLM calls, %.0f s",
            h["round"], h["n_annotated"], h["n_abstain"], h["n_changed"], h["n_labelled"],
            h["clean_fraction"], "SLM" if self.judge is None else "judge",
            h["llm_slm_agreement"], h["calls"], h["seconds"],
        )

    def _log(self, msg, *args):
        if self.verbose:
            ensure_log_handler()  # printed with no logging set-up, as scikit-learn prints
            logger.info(msg, *args)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True
        tags.input_tags.two_d_array = False
        tags.target_tags.required = False
        tags.non_deterministic = False
        return tags
