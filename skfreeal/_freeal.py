"""FreeALClassifier: validates, resolves its components and hands over to the loop core."""

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import HasMethods, StrOptions
from sklearn.utils.validation import check_is_fitted
from sklearn_compat.base import _fit_context

from ._defaults import DefaultComponentsMixin
from ._validation import (check_eval_set, check_fit_texts, check_label_names, check_texts,
                          label_descriptions)
from .labelers import observing
from .labels import SingleLabelSpace
from .loop._budget import calibration_requests
from .loop._components import default_component, make_labeler, resolve_components
from .loop._core import LoopData, run_rounds, train_final_student
from .loop._embedding import embed_reusing, embedding_function
from .loop._events import Events, LogCallback, ProgressCallback, Step
from .loop._judge import model_proba
from .loop._policies import DemoPolicy, RoundPolicy
from .loop._records import labeler_usage
from .loop._state import LabelState

__all__ = ["FreeALClassifier"]


class FreeALClassifier(DefaultComponentsMixin, ClassifierMixin, BaseEstimator):
    """Label texts and train a classifier with no human annotation (FreeAL).

    ``fit`` runs FreeAL's collaborative loop (Xiao et al., EMNLP 2023). Each
    round: build the demonstration pool (round 0: synthetic demonstrations
    the LLM writes; later rounds: per class, the smallest-loss clean texts,
    then their k-medoids), annotate (round 0: every text; later rounds: only
    the texts judged noisy) with each text's nearest demonstrations in
    context, train the round's judge on the labels and split them into clean
    and noisy; stop when the rounds are done or no label changed. Then the
    student (the small language model, SLM) trains robustly on the final
    labels. ``predict`` uses the student: no LLM call at inference. The loop
    itself is :mod:`skfreeal.loop`; see the docs' "Architecture" page.

    Parameters
    ----------
    labels : list of str or dict of str to str
        The label names, in the order of the class ids; or a mapping from
        each name to a short description, which the LLM sees beside the name
        (``{"comp.os.ms-windows.misc": "Windows questions", ...}``: a small
        model tells terse or coded names apart better with them). A
        labeler's own ``label_descriptions`` take precedence.
    task : str
        What to label, in words (e.g. ``"Classify the sentiment of a tweet."``).
    labeler : labeler, default=None
        The LLM annotator (see :class:`skfreeal.base.Labeler`). None:
        :class:`~skfreeal.labelers.LocalLabeler`, the packaged local LLM (no
        key, no network). Cloned in ``fit``, then given ``labels`` and ``task``.
    slm : classifier, default=None
        The student (see :class:`skfreeal.base.Student`). None:
        :class:`~skfreeal.RobustTextClassifier` on the packaged MiniLM. A
        robust student (:class:`skfreeal.base.RobustStudentMixin`) is
        trained on every text, the unannotated and abstained ones marked -1
        for its consistency loss, and splits clean from noisy itself with
        its own ``noise_filter``; any other classifier is trained on the
        labelled texts only. Cloned in ``fit``.
    judge : "probe", None or classifier, default="probe"
        Which model judges the rounds: splits the labels into clean and
        noisy (the noisy ones are re-annotated), gives the losses and labels
        the next demonstration pool is chosen by, and the view that
        ``rounds.label_fusion`` and the uncertainty query use. ``"probe"``:
        a logistic regression on the retrieval embeddings (the frozen
        ``embedder``'s, unit length). A classifier: trained the same way on
        those embeddings (cloned). None: the student, trained after every
        round (with ``rounds=RoundPolicy(label_fusion="llm")``, FreeAL as
        published). With a judge, the student trains once, on the final
        labels. Why the default: a fine-tuned student fits most of the LLM's
        label errors (its agreement with the 0.5B LLM's tweet labels: 0.95),
        so it flags few of them as noisy, while a frozen-encoder probe
        cannot fit them (0.86); by the final training labels against the
        training split's gold labels (``python -m benchmarks.ablation``,
        1,000 texts, the 0.5B LLM), tweets 0.709 with the student judging
        and LLM labels, 0.738 with the probe and product fusion; Yahoo 0.538
        and 0.557.
    embedder : transformer, default=None
        Sentence embedder for demonstration retrieval and the probe judge
        (has ``fit`` and ``transform``; used during ``fit`` only). None:
        :class:`~skfreeal.slm.SentenceEmbedder` (the packaged MiniLM).
    noise_filter : noise filter, default=None
        The judge's split of its per-text losses into clean and noisy (see
        :class:`skfreeal.base.NoiseFilter`); with ``judge=None`` and a
        robust student, set as the student's own. None:
        :class:`~skfreeal.GMMNoiseFilter`. The final student's split is its
        own (``slm__noise_filter``). ``GMMNoiseFilter``'s 0.7 gave the best
        training labels of 0.5, 0.7 and 0.9 on the training split's gold
        labels (1,000 texts, the 0.5B LLM; tweets 0.739 / 0.738 / 0.733,
        Yahoo 0.537 / 0.557 / 0.547).
    demos : DemoPolicy, default=None
        The in-context demonstrations: how many per text, round 0's
        synthetic ones, the refined pool's R% and size, retrieval (see
        :class:`~skfreeal.loop.DemoPolicy`). None: ``DemoPolicy()``.
        ``demos__top_percent`` and the like are set directly, for a grid
        search too.
    rounds : RoundPolicy, default=None
        What each round asks: the number of rounds, the large-data mode's
        fraction, annotations per text, the query strategy and the label
        fusion (see :class:`~skfreeal.loop.RoundPolicy`). None:
        ``RoundPolicy()``; ``rounds__n_rounds`` is set directly.
    use_labels : bool, default=False
        Use the given ``y`` in training: its labels (``-1`` or None for
        unlabelled) seed the demonstration pool, are never sent to the LLM
        and never overwritten. When False ``y`` is ignored, so that
        ``GridSearchCV(...).fit(X, y_gold)`` scores on gold labels while
        training stays human-free.
    random_state : int, RandomState instance or None, default=None
        Seeds the subset draws, demonstration generation, k-medoids and the
        student and judge (when their own ``random_state`` is None).
    verbose : int, default=0
        0 silent. 1: a line on stderr for each step and each round's summary
        (through the ``skfreeal`` logger, which prints them with no logging
        set-up; configured logging decides instead), and progress bars with
        rate and time left when stderr is a terminal or in a notebook. 2:
        the bars also in a file or a pipe, as a line every few seconds. The
        labeler's, the student's and the embedder's clones get this
        ``verbose`` where theirs is left at its default.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The label names.
    label_space_ : LabelSpace
        What a label is (:class:`~skfreeal.labels.SingleLabelSpace`: one of
        ``classes_`` per text); every label of the loop goes through it.
    label_ids_ : ndarray of shape (n_samples,), dtype=int64
        Refined label id of each training text (index into ``classes_``),
        -1 where still unknown (never annotated, or the LLM abstained).
    transduction_ : ndarray of shape (n_samples,), dtype=object
        The same labels as names, None where unknown.
    label_proba_ : ndarray of shape (n_samples, n_classes)
        The label distribution behind each current label: the LLM's
        calibrated distribution (fused with the judge's with
        ``rounds.label_fusion="product"``), one-hot for given labels and for a
        labeler that gives no distributions, NaN where unknown.
    confidence_ : ndarray of shape (n_samples,)
        The probability of each current label in ``label_proba_`` (1 for
        given labels, NaN where unknown).
    label_round_ : ndarray of shape (n_samples,), dtype=int64
        Round in which each current label was set (-1: never).
    n_annotations_ : ndarray of shape (n_samples,), dtype=int64
        LLM annotations made for each text.
    clean_mask_ : ndarray of shape (n_samples,), dtype=bool
        Texts the final model judged clean.
    demos_ : list of (str, str)
        The last demonstration pool the LLM used, as (text, label name) pairs.
    demos_per_label_ : dict of str to int
        Demonstrations of each label name in that pool (0 for a label with
        none; see ``DemoPolicy.min_per_label``).
    history_ : list of RoundRecord
        One record per round, with fixed fields (see
        :class:`~skfreeal.loop.RoundRecord`); each reads as a dict too.
    student_record_ : StudentRecord or None
        The final student's training time, whether it collapsed and its
        ``eval_set`` accuracy (see :class:`~skfreeal.loop.StudentRecord`);
        None when the student judged the rounds.
    usage_ : dict
        The labeler's usage over the whole fit: calls, tokens, cache hits,
        estimated cost, failed texts.
    round_labels_ : ndarray of shape (n_rounds_, n_samples), dtype=int64
        The labels after each round's annotation (a rolled-back round's row
        holds the labels it proposed; ``label_ids_`` the kept ones).
    round_clean_masks_ : ndarray of shape (n_rounds_, n_samples), dtype=bool
        The clean mask of each round's judge: the texts of row ``r`` outside
        it are the ones re-annotated in round ``r + 1``.
    n_rounds_ : int
        Rounds run.
    stop_reason_ : str
        Why the loop ended: ``"max_rounds"``, ``"no_change"`` (a round
        changed no label), ``"nothing_to_annotate"`` (every noisy text had
        used its ``max_annotations``), ``"request_budget"`` (the requests
        ``rounds.max_requests_per_text`` allows were spent), ``"one_class"``
        (a later round's answers would have left a single label: not taken),
        ``"round_worse"`` (a later round made the labels less consistent,
        with no gold label, by more than ``rounds.rollback_tolerance``: it
        was rolled back, the previous round's labels, judge, clean mask and
        demonstrations are kept; see :class:`~skfreeal.loop.RoundPolicy`),
        or ``"student_collapsed"`` / ``"judge_collapsed"`` (a later round's
        judge agreed with its own training labels at most 5 points more
        often than always answering their most frequent label would, and
        recovered them per label no better than halfway from a constant's to
        a perfect fit's: the previous round's judge is kept, with the new
        labels; see :func:`~skfreeal.loop.learned_nothing`).
    n_over_budget_ : int
        Annotations the request budget (``rounds.max_requests_per_text``)
        left out: texts a round would have sent to the LLM and did not,
        summed over the rounds (a text left out by two rounds counts
        twice), those of a round the budget stopped included. 0: the cap
        never bound. A round cut only partly leaves the loop going on, or
        ending for another reason (``stop_reason_`` is then not
        ``"request_budget"``): this count, and each round's
        ``history_[r].n_over_budget``, say that the budget cut it.
    kept_round_ : int
        The round whose judge was kept (with ``judge=None``, whose student
        ``predict`` uses).
    labeler_ : labeler
        The fitted clone of ``labeler``.
    slm_ : classifier
        The final student (used by ``predict``). Should it learn nothing, a
        pipeline of the embedder, a unit-length normaliser and ``judge_``
        (a warning says so, and ``student_record_.collapsed``).
    judge_ : classifier or None
        The kept round's judge, None when the student judged the rounds.

    See Also
    --------
    RobustTextClassifier : The noise-robust student on its own.
    skfreeal.loop.RoundPolicy : The rounds' settings.
    skfreeal.loop.DemoPolicy : The demonstrations' settings.

    Notes
    -----
    LLM answers are cached on disk by the labeler, so a second ``fit`` with
    the same settings (or each fit of a grid search) makes no new call for
    texts already answered.

    Examples
    --------
    >>> from skfreeal import FreeALClassifier, RoundPolicy
    >>> clf = FreeALClassifier(["negative", "positive"],
    ...                        "Classify the sentiment of a tweet.",
    ...                        rounds=RoundPolicy(n_rounds=3))  # doctest: +SKIP
    >>> clf.fit(tweets).predict(["what a lovely day"])  # doctest: +SKIP
    array(['positive'], dtype=object)
    """

    _parameter_constraints = {
        "labels": ["array-like", dict],
        "task": [str],
        "labeler": "no_validation",  # checked against skfreeal.base.Labeler in fit
        "slm": "no_validation",
        "judge": [None, StrOptions({"probe"}), HasMethods(["fit", "predict_proba"])],
        "embedder": [HasMethods(["fit", "transform"]), None],
        "noise_filter": "no_validation",
        "demos": [DemoPolicy, None],
        "rounds": [RoundPolicy, None],
        "use_labels": ["boolean"],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(self, labels, task, *, labeler=None, slm=None, judge="probe", embedder=None,
                 noise_filter=None, demos=None, rounds=None, use_labels=False,
                 random_state=None, verbose=0):
        self.labels = labels
        self.task = task
        self.labeler = labeler
        self.slm = slm
        self.judge = judge
        self.embedder = embedder
        self.noise_filter = noise_filter
        self.demos = demos
        self.rounds = rounds
        self.use_labels = use_labels
        self.random_state = random_state
        self.verbose = verbose

    # set_params builds a default component when one of its parameters is set
    # (noise_filter__threshold, demos__top_percent on the defaults): DefaultComponentsMixin.
    _default_component = staticmethod(default_component)

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y=None, *, eval_set=None, callbacks=None):
        """Label ``X`` with the LLM/judge loop and train the final student.

        Parameters
        ----------
        X : iterable of str
            The unlabelled training texts.
        y : array-like of shape (n_samples,), default=None
            Ignored unless ``use_labels=True``; then label names (or ids),
            with -1 or None for unlabelled texts.
        eval_set : tuple (X_eval, y_eval), default=None
            Held-out texts with gold label names, only to monitor the loop:
            the judge's accuracy after each round (``history_``) and the
            final student's (``student_record_``). Never used in training.
        callbacks : list of Callback, default=None
            Follow the loop's events (see :class:`skfreeal.loop.Callback`).

        Returns
        -------
        self : FreeALClassifier
        """
        texts = check_fit_texts(X, name="X")
        self.classes_ = self._label_names()
        self.label_space_ = self._make_space(self.classes_)
        state = LabelState(self._given_labels(y, len(texts)), self.label_space_)
        eval_set = self._check_eval_set(eval_set)
        rng = check_random_state(self.random_state)
        parts = resolve_components(self._component_params(), classes=self.classes_, rng=rng,
                                   verbose=self.verbose, space=self.label_space_)
        n_first = parts.rounds.first_round_size(len(texts))
        parts.rounds.check_first_round(
            int(state.never_annotated().sum()), int(state.fixed.sum()),
            calibration_requests=calibration_requests(parts.labeler, n_first, refit=True))
        events = Events(callbacks, builtin=[LogCallback(self.verbose),
                                            ProgressCallback(self.verbose)])
        events.emit("on_fit_begin", len(texts))
        with observing(events.request):  # every LLM request, with its purpose
            data = self._embed(texts, eval_set, parts, events)
            loop = run_rounds(data, parts, state, events, rng)
        student, view, self.student_record_ = loop.judgement.model, loop.judgement.view, None
        if not parts.judge_is_student:
            student, view, self.student_record_ = train_final_student(
                data, parts, state, loop.judgement, events)
        events.emit("on_fit_end", loop.stop_reason, len(loop.records))
        self._store(parts, state, loop, student, view)
        return self

    def _embed(self, texts, eval_set, parts, events):
        """The texts embedded once, and what the judge learns from."""
        with events.step(Step("embedding", n=len(texts))):
            embed = embedding_function(parts.embedder, texts, verbose=self.verbose)
            embeddings = embed(texts)
        judge_inputs, judge_eval = texts, eval_set
        if not parts.judge_is_student:
            judge_inputs = embeddings
            if eval_set is not None:
                judge_eval = (embed_reusing(embed, eval_set[0], texts, embeddings), eval_set[1])
        return LoopData(texts=texts, embeddings=embeddings, embed=embed, space=self.label_space_,
                        eval_set=eval_set, judge_inputs=judge_inputs, judge_eval=judge_eval)

    def _store(self, parts, state, loop, student, view):
        self.labeler_, self.slm_ = parts.labeler, student
        self.judge_ = None if parts.judge_is_student else loop.judgement.model
        self.label_ids_ = state.labels
        self.label_proba_ = state.proba
        self.confidence_ = state.confidence
        self.label_round_ = state.round
        self.n_annotations_ = state.n_annotations
        self.transduction_ = self.label_space_.decode(state.labels)
        self.clean_mask_ = view.clean_mask
        self.demos_ = loop.pool.as_pairs(self.label_space_)
        self.demos_per_label_ = dict(zip(self.label_space_.names.tolist(),
                                         self.label_space_.counts(loop.pool.labels).tolist()))
        self.history_ = list(loop.records)
        self.round_labels_ = loop.round_labels
        self.round_clean_masks_ = loop.round_clean_masks
        self.usage_ = labeler_usage(parts.labeler)
        self.n_rounds_ = len(loop.records)
        self.stop_reason_ = loop.stop_reason
        self.n_over_budget_ = loop.n_over_budget
        self.kept_round_ = loop.kept_round

    def _make_space(self, names):
        """What a label is in this fit: one of the names per text."""
        return SingleLabelSpace(names)

    def _check_eval_set(self, eval_set):
        return check_eval_set(eval_set, self.classes_)

    def _component_params(self):
        """The parameters the components are resolved from."""
        return self.get_params(deep=False)

    def _label_names(self):
        if not self.task.strip():
            raise ValueError("task must describe the labelling task, got an empty string.")
        return np.asarray(check_label_names(self.labels), dtype=object)

    def _given_labels(self, y, n):
        if y is not None and len(y) != n:
            raise ValueError(f"y has {len(y)} entries but X has {n} texts; they must match.")
        if y is None or not self.use_labels:
            return self.label_space_.unknown(n)
        return self.label_space_.encode(y, n)

    def estimate(self, X, *, noisy_fraction=0.25, measure_speed=True):
        """Expected LLM calls, tokens, cost and time of ``fit(X)``.

        No request is charged: the calls and tokens follow from the loop's
        rules (the same :class:`~skfreeal.loop.RoundPolicy` and
        :class:`~skfreeal.loop.DemoPolicy` ``fit`` follows) and the
        labeler's own prompts. For a local model, whose cost is time, a few
        requests of each kind are timed on this machine.

        Parameters
        ----------
        X : iterable of str
            The texts ``fit`` would label.
        noisy_fraction : float, default=0.25
            Assumed fraction of annotated texts judged noisy in each round
            (the probe judge found 22% on the tweets benchmark, 44% on
            Yahoo's 10 topics).
        measure_speed : bool, default=True
            Time a few requests of a :class:`~skfreeal.labelers.LocalLabeler`
            on this machine, for ``expected_llm_seconds``. False: no request.

        Returns
        -------
        estimate : dict
            ``n_texts``, ``expected_calls`` (with ``min_calls`` and
            ``max_calls``: no text / every text re-annotated),
            ``expected_requests_per_text`` and the cap
            ``max_requests_per_text`` it stays within (``rounds``'; every
            figure follows the cap as ``fit`` does),
            ``calls_per_round``, ``expected_prompt_tokens``,
            ``expected_completion_tokens``, ``expected_cost`` (None when the
            model's price is unknown), ``expected_llm_seconds`` (None unless
            measured) and ``llm_speed``. Cached answers are not subtracted.
        """
        from .labelers import LocalLabeler
        from .loop._estimate import estimate_fit_cost

        texts = check_texts(X, name="X")
        names = self._label_names()
        # the labeler, rounds and demonstrations fit would use (a space of label sets
        # goes to the labeler as its labels; a setting fit refuses is refused here)
        labeler = make_labeler(self.labeler, names, self.task, label_descriptions(self.labels),
                               space=self._make_space(names))
        params = self._component_params()
        rounds = (params["rounds"] or RoundPolicy()).validate()
        demos = (params["demos"] or DemoPolicy()).validate()
        speed = None
        if measure_speed and isinstance(labeler, LocalLabeler):
            from .labelers._speed import measure_speed as measure

            speed = measure(labeler, texts, n_demos=demos.n_demos)
        n_generated = demos.n_generated_for(n_classes=len(names),
                                            n_first_round=rounds.first_round_size(len(texts)))
        return estimate_fit_cost(
            texts, labeler, rounds=rounds, n_demos=demos.n_demos,
            n_generated_demos=n_generated, noisy_fraction=noisy_fraction, speed=speed,
            fill_missing_demos=demos.fill_missing)

    def predict_proba(self, X):
        """Class probabilities from the final student (no LLM call).

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
        return model_proba(self.slm_, check_texts(X, name="X"), self.label_space_)

    def predict(self, X):
        """Label names predicted by the final student (no LLM call).

        Parameters
        ----------
        X : iterable of str
            Texts to classify.

        Returns
        -------
        labels : ndarray of shape (n_samples,), dtype=object
            The most probable label name of each text.
        """
        return self.label_space_.decode(self.label_space_.from_proba(self.predict_proba(X))[0])

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True
        tags.input_tags.two_d_array = False
        tags.target_tags.required = False
        tags.non_deterministic = False
        return tags
