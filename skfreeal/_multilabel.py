"""MultiLabelFreeALClassifier: FreeAL for texts that carry any number of the labels."""

from numbers import Real

import numpy as np
from sklearn.base import clone
from sklearn.metrics import accuracy_score
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from ._freeal import FreeALClassifier
from ._validation import check_texts
from .calibration import frequency_thresholds
from .labels import MultiLabelSpace
from .loop._components import default_component
from .loop._policies import DemoPolicy, RoundPolicy

__all__ = ["MultiLabelFreeALClassifier"]


def _probe():
    """The multi-label probe judge: one logistic regression per label on the embeddings."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.multiclass import OneVsRestClassifier

    return OneVsRestClassifier(LogisticRegression(max_iter=1000))


class MultiLabelFreeALClassifier(FreeALClassifier):
    """FreeAL for texts that carry any number of the labels (multi-label).

    The same loop as :class:`FreeALClassifier`, over a
    :class:`~skfreeal.labels.MultiLabelSpace`: the LLM answers a JSON list
    of the labels that apply to each text, the judge gives a probability
    per label, the noise filter splits the texts by their mean binary
    cross-entropy, the demonstration pool is chosen per label among the
    clean texts that carry it, and each demonstration shows its label set.
    ``predict`` returns scikit-learn's binary indicator matrix and
    ``predict_proba`` the student's probability of each label (one column
    per name of ``classes_``; rows need not sum to one).

    A sibling class rather than a ``multi_label=True`` parameter: what
    ``predict`` returns, the estimator's tags and the default judge differ,
    a grid search has no business switching the kind of task, and
    :class:`FreeALClassifier` keeps its 12 parameters (issue 39's bound).

    Parameters
    ----------
    labels : list of str, dict of str to str or MultiLabelSpace
        The label names (or names with descriptions, as for
        :class:`FreeALClassifier`); or a
        :class:`~skfreeal.labels.MultiLabelSpace` of them, to set the
        per-label ``threshold`` and ``min_labels`` (0 when a text may carry
        no label; default: at least its most probable label).
    task : str
        What to label, in words.
    labeler : labeler, default=None
        As for :class:`FreeALClassifier`; it is given the label space as its
        ``labels`` (a :class:`~skfreeal.labelers.BaseLabeler` then asks for
        a JSON list of labels). Its ``calibration="contextual"`` divides
        each label's tilt, relative to the other labels', out of the
        answers where each label is judged on its own (the local model):
        see :func:`~skfreeal.calibration.calibrate_label_sets`; its
        requests count in ``rounds.max_requests_per_text``. A labeler's
        default, ``"batch"``, leaves label sets uncalibrated (their batch
        mixes each label's frequency with the tilt); whether contextual
        calibration helps is not measured on a benchmark yet.
    slm : classifier, default=None
        The student, fitted on the indicator matrix of the labels. None
        means :class:`~skfreeal.RobustTextClassifier` (the packaged
        MiniLM), which learns an indicator matrix with one sigmoid per
        label, robustly: it gets every text (a row of -1 where unknown),
        splits the texts clean/noisy on their mean binary cross-entropy and
        judges the rounds itself with ``judge=None``. Any classifier of
        texts that fits an indicator matrix also works (e.g. a pipeline
        ending in a :class:`~sklearn.multiclass.OneVsRestClassifier` or
        :class:`~sklearn.multioutput.MultiOutputClassifier`), trained on the
        labelled texts only.
    judge : "probe", None or classifier, default="probe"
        ``"probe"``: one logistic regression per label
        (:class:`~sklearn.multiclass.OneVsRestClassifier`) on the frozen
        retrieval embeddings. Otherwise as for :class:`FreeALClassifier`
        (a classifier must fit an indicator matrix).
    embedder, noise_filter, rounds, random_state, verbose
        As for :class:`FreeALClassifier`. ``rounds.label_fusion="product"``
        fuses per label (see :meth:`~skfreeal.labels.MultiLabelSpace.fuse`); the
        ``"uncertainty"`` query strategy is refused (its margin is one
        distribution's).
    demos : DemoPolicy, default=None
        As for :class:`FreeALClassifier`, but ``n_generated=None`` writes no
        synthetic demonstrations (round 0 is zero-shot unless given labels
        seed the pool): whether the LLM's label sets help is not measured
        yet. A positive ``n_generated`` has the LLM write that many texts
        in round 0, two thirds for one label and one third for a pair of
        labels, each kept (with ``filter_demos``) only when the LLM gives
        it exactly that set zero-shot (see
        :meth:`~skfreeal.labelers.BaseLabeler.generate_demos`), within
        round 0's share of ``rounds.max_requests_per_text``.
    use_labels : bool, default=False
        Use the given ``y`` (label sets or indicator rows, None or a row of
        -1 for unlabelled texts) as for :class:`FreeALClassifier`.
    threshold : float, "auto" or None, default=None
        Where ``predict`` puts each label's cut on the student's
        probabilities (``threshold_`` after ``fit``; never a gold label,
        and the loop's own labels are not affected). None: the label
        space's threshold (0.5, or the
        :class:`~skfreeal.labels.MultiLabelSpace`'s). A float in (0, 1):
        one threshold for every label. ``"auto"``: one per label, chosen so
        that the student gives each label, on the training texts, to as
        many texts as the final labels (``label_ids_``: the LLM's refined,
        fused labels) do (:func:`~skfreeal.calibration.frequency_thresholds`). It
        reads the student's probabilities of the texts it was trained on,
        not out of fold (that would train the student once a fold): where
        the student fits its labels closely the thresholds stay near 0.5,
        and what it corrects is a label the student gives more or less
        often than the labels do (a rare label pushed below 0.5 by the
        binary cross-entropy). It trusts the LLM's label frequencies: a
        label the LLM over-uses stays over-used. Not measured on a
        benchmark yet. Every text still gets ``min_labels`` labels at
        least. A grid search can tune it (``{"threshold": [0.3, 0.5,
        "auto"]}``), each candidate a full fit.

    Attributes
    ----------
    classes_ : ndarray of shape (n_labels,)
        The label names: the columns of ``predict``.
    label_space_ : MultiLabelSpace
    label_ids_ : ndarray of shape (n_samples, n_labels), dtype=int8
        The refined indicator row of each training text, a row of -1 where
        unknown.
    transduction_ : ndarray of shape (n_samples,), dtype=object
        The same labels as tuples of names, None where unknown.
    label_proba_ : ndarray of shape (n_samples, n_labels)
        The probability of each label behind each text's label set.
    confidence_ : ndarray of shape (n_samples,)
        The mean, over the labels, of the probability of each decision.
    threshold_ : ndarray of shape (n_labels,)
        The threshold ``predict`` applies to each label's probability.
    demos_ : list of (str, tuple of str)
        The last demonstration pool, with each text's label set.
    history_, student_record_, usage_, round_labels_, round_clean_masks_, \
n_rounds_, stop_reason_, n_over_budget_, kept_round_, label_round_, n_annotations_, clean_mask_, \
labeler_, slm_, judge_
        As for :class:`FreeALClassifier` (``round_labels_`` holds indicator
        rows: shape ``(n_rounds_, n_samples, n_labels)``).

    Examples
    --------
    >>> from sklearn.feature_extraction.text import TfidfVectorizer
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.multiclass import OneVsRestClassifier
    >>> from sklearn.pipeline import make_pipeline
    >>> clf = MultiLabelFreeALClassifier(
    ...     ["billing", "login", "refund"], "Which topics does the ticket raise?",
    ...     slm=make_pipeline(TfidfVectorizer(), OneVsRestClassifier(LogisticRegression())))
    >>> clf.fit(tickets).predict(["I was charged twice and cannot log in"])  # doctest: +SKIP
    array([[1, 1, 0]])
    """

    _parameter_constraints = {
        **FreeALClassifier._parameter_constraints,
        "labels": ["array-like", dict, MultiLabelSpace],
        "threshold": [Interval(Real, 0, 1, closed="neither"), StrOptions({"auto"}), None],
    }

    def __init__(self, labels, task, *, labeler=None, slm=None, judge="probe", embedder=None,
                 noise_filter=None, demos=None, rounds=None, use_labels=False,
                 random_state=None, verbose=0, threshold=None):
        super().__init__(labels, task, labeler=labeler, slm=slm, judge=judge,
                         embedder=embedder, noise_filter=noise_filter, demos=demos,
                         rounds=rounds, use_labels=use_labels, random_state=random_state,
                         verbose=verbose)
        self.threshold = threshold

    @staticmethod
    def _default_component(name, value):
        if name == "judge" and value == "probe":
            return _probe()
        return default_component(name, value)

    def _label_names(self):
        if isinstance(self.labels, MultiLabelSpace):
            if not self.task.strip():
                raise ValueError("task must describe the labelling task, got an empty string.")
            return np.asarray(self.labels.names, dtype=object)
        return super()._label_names()

    def _make_space(self, names):
        given = self.labels
        if isinstance(given, MultiLabelSpace):
            return MultiLabelSpace(names, threshold=given.threshold, min_labels=given.min_labels)
        return MultiLabelSpace(names)

    def _store(self, parts, state, loop, student, view):
        super()._store(parts, state, loop, student, view)
        space, k = self.label_space_, self.label_space_.n_labels
        if self.threshold == "auto":
            self.threshold_ = frequency_thresholds(view.proba, state.labels)
        else:
            given = space.threshold if self.threshold is None else self.threshold
            self.threshold_ = np.broadcast_to(np.asarray(given, dtype=np.float64), (k,)).copy()

    def _check_eval_set(self, eval_set):
        if eval_set is None:
            return None
        if not isinstance(eval_set, (tuple, list)) or len(eval_set) != 2:
            raise TypeError(
                f"eval_set must be a pair (X_eval, y_eval), got {type(eval_set).__name__}.")
        texts = check_texts(eval_set[0], name="eval_set[0]")
        gold = self.label_space_.encode(eval_set[1], len(texts), name="eval_set[1]")
        if not self.label_space_.is_known(gold).all():
            raise ValueError("eval_set[1] must give every text its gold label set, "
                             "found unknown ones.")
        return texts, gold

    def _component_params(self):
        params = self.get_params(deep=False)
        if params["judge"] == "probe":
            params["judge"] = _probe()
        demos = params["demos"] or DemoPolicy()
        if demos.n_generated is None:  # written label sets are not measured yet: opt in
            params["demos"] = clone(demos).set_params(n_generated=0)
        rounds = params["rounds"] or RoundPolicy()
        if isinstance(rounds.query_strategy, str) and rounds.query_strategy == "uncertainty":
            raise ValueError(
                "rounds.query_strategy='uncertainty' ranks texts by one distribution's top-2 "
                "margin, which label sets do not have; use 'random'.")
        return params

    def fit(self, X, y=None, *, eval_set=None, callbacks=None):
        """Label ``X`` with the LLM/judge loop and train the final student.

        Parameters
        ----------
        X : iterable of str
            The unlabelled training texts.
        y : sequence of label sets or array-like of shape (n_samples, n_labels), default=None
            Ignored unless ``use_labels=True``; then each text's label set
            (a list of names) or indicator row, None or a row of -1 for
            unlabelled texts.
        eval_set : tuple (X_eval, y_eval), default=None
            Held-out texts with their gold label sets, only to monitor the
            loop (``history_``'s ``eval_accuracy`` is then the micro F1).
        callbacks : list of Callback, default=None
            Follow the loop's events.

        Returns
        -------
        self : MultiLabelFreeALClassifier
        """
        return super().fit(X, y, eval_set=eval_set, callbacks=callbacks)

    def predict(self, X):
        """The label sets the final student predicts, as an indicator matrix (no LLM call).

        ``MultiLabelBinarizer(classes=clf.classes_).inverse_transform`` turns
        the matrix into tuples of names.

        Parameters
        ----------
        X : iterable of str
            Texts to label with the names of ``classes_`` that apply.

        Returns
        -------
        labels : ndarray of shape (n_samples, n_labels), dtype=int64
            1 where the text carries the label of that column of
            ``classes_`` (its probability reaches that label's
            ``threshold_``, and at least ``min_labels`` per text).
        """
        return self._decision_space().from_proba(self.predict_proba(X))[0].astype(np.int64)

    def _decision_space(self):
        """The label space ``predict`` decides with: ``threshold_`` and ``min_labels``.

        Its :meth:`~skfreeal.labels.MultiLabelSpace.from_proba` turns
        ``predict_proba``'s rows into ``predict``'s (and their mean
        certainty); ``skfreeal predict`` and :mod:`skfreeal.export` read it.
        """
        check_is_fitted(self)
        space = self.label_space_
        return MultiLabelSpace(space.names, threshold=self.threshold_,
                               min_labels=space.min_labels)

    def score(self, X, y, sample_weight=None):
        """Subset accuracy (every label of a text right), as scikit-learn's multi-label classifiers.

        Parameters
        ----------
        X : iterable of str
        y : sequence of label sets or array-like of shape (n_samples, n_labels)
            The gold label sets (lists of names) or indicator rows.
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        score : float
        """
        check_is_fitted(self)
        texts = check_texts(X, name="X")
        gold = self.label_space_.encode(y, len(texts))
        return float(accuracy_score(gold, self.predict(texts), sample_weight=sample_weight))

    def estimate(self, X, *, noisy_fraction=0.25, measure_speed=True):
        """Expected LLM calls, tokens, cost and time of ``fit(X)``, for label sets.

        :meth:`FreeALClassifier.estimate`'s dry run, with the labeler that
        ``fit`` would use (given the label space) and the same rules: the
        rounds of ``rounds``, the cap ``rounds.max_requests_per_text`` and
        the demonstrations ``fit`` asks for (round 0 writes none for label
        sets unless ``demos.n_generated`` is positive: ``generation_calls``
        is then 0). Prompts are counted as the
        labeler writes them for label sets (a local model's demonstrations
        show every label's truth value, an endpoint's a JSON list). The
        time of a :class:`~skfreeal.labelers.LocalLabeler` is measured on
        requests of the real kind, one prompt and a short continuation per
        label, so ``expected_llm_seconds`` grows with the labels as a fit's
        time does (0.53 against 0.26 CPU seconds a request with 5 labels,
        1.08 against 0.26 with 20, for one label a text:
        ``benchmarks/results/label_sets_timing.json``). The completion tokens
        of such a request are counted as half its longest answer, a guess.
        Round 0 is counted and timed as requests with ``demos.n_demos``
        demonstrations, as for one label; with no demonstration written or
        given it asks zero-shot, so round 0's prompt tokens and time are
        overstated (an upper side, not a middle).

        Parameters
        ----------
        X : iterable of str
        noisy_fraction : float, default=0.25
            Assumed fraction of annotated texts judged noisy in each round.
        measure_speed : bool, default=True
            Time a few requests of a local labeler on this machine.

        Returns
        -------
        estimate : dict
            The keys of :meth:`FreeALClassifier.estimate`'s.
        """
        return super().estimate(X, noisy_fraction=noisy_fraction, measure_speed=measure_speed)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.classifier_tags.multi_label = True
        return tags
