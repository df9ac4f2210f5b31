"""The annotator's verbs: label distributions, their calibration, and the labels."""

import numpy as np

from .._validation import check_texts
from ..calibration import batch_prior, calibrate, calibrate_label_sets
from ..labels import LabelSpace, SingleLabelSpace
from ._annotation import (
    annotation_requests,
    content_free_requests,
    mean_prior,
    n_content_free_requests,
    read_distributions,
)
from ._demos import check_demos
from ._label_sets import SCORE_LABEL_SET, JudgedLabelSets

__all__ = ["AnnotationMixin"]


class AnnotationMixin:
    """:meth:`annotate`, :meth:`annotate_proba`, :meth:`fit_annotate_proba` and
    :meth:`calibration_prior`, for :class:`~skfreeal.labelers.BaseLabeler`.

    Calibration lives here wholly: the tilt is estimated from the answers
    (``calibration``), kept by :meth:`fit_annotate_proba` in
    ``calibration_prior_``, or given by the caller (``prior=``); the backend
    never sees it. For label sets it is each label's P(yes) tilt, divided
    out relative to the other labels' (:func:`~skfreeal.calibration.calibrate_label_sets`),
    and only ``"contextual"`` applies, where the backend judges each label
    on its own (the local model); see :meth:`calibration_prior`.
    """

    def annotate(self, texts, demos=None):
        """Label texts by in-context learning.

        The most probable label of each text's calibrated distribution (see
        :meth:`annotate_proba`).

        Parameters
        ----------
        texts : iterable of str
            The texts to label.
        demos : None, sequence of (str, int) or list of such sequences, default=None
            In-context demonstrations: None for zero-shot; one sequence of
            (text, label id) pairs shared by all texts; or one sequence per
            text (FreeAL's k nearest neighbours). A label may also be given
            by its name.

        Returns
        -------
        labels : ndarray of shape (n_texts,), dtype=int64
            Ids into ``self.labels``; ``-1`` where the answer named no label
            unambiguously (abstain), or where the request failed for good
            with ``on_failure="abstain"``.
        confidence : ndarray of shape (n_texts,), dtype=float64
            The calibrated probability of the label, in [0, 1]; ``1.0`` when
            the endpoint gives no logprobs, ``0.0`` for an abstention.

        Raises
        ------
        BudgetExceededError
            Before a call (or a retry) that could pass ``max_tokens`` or
            ``max_cost``.
        LLMCallError
            When a request fails for good (with ``on_failure="raise"``, or
            an error no retry can fix).
        KeyboardInterrupt
            On Ctrl-C, at once: the answers received so far are cached.
        """
        proba = self.annotate_proba(texts, demos)
        return self._label_space().from_proba(proba)

    def annotate_proba(self, texts, demos=None, *, prior=None):
        """The probability of each label for each text, by in-context learning.

        Each answer is read into a distribution over the labels: from the
        label scores of a local model, or from the ``top_logprobs`` at the
        label an endpoint wrote (one-hot when it gives no logprobs). The
        LLM's tilt is then divided out as ``calibration`` says. Answers are
        cached with their scores and logprobs: a second call makes no
        request.

        Parameters
        ----------
        texts : iterable of str
            The texts to label.
        demos : None, sequence of (str, int) or list of such sequences, default=None
            As for :meth:`annotate`.
        prior : array-like of shape (n_labels,), default=None
            The tilt to divide out, replacing the one ``calibration`` would
            estimate (e.g. one estimated on a larger batch of texts); a
            uniform one gives the uncalibrated distributions. For label
            sets, each label's P(yes) tilt
            (:func:`~skfreeal.calibration.calibrate_label_sets`).

        Returns
        -------
        proba : ndarray of shape (n_texts, n_labels)
            Rows sum to one; a row of NaN where the answer named no label.

        Raises
        ------
        BudgetExceededError, LLMCallError, KeyboardInterrupt
            As for :meth:`annotate`.
        """
        with self._call("annotation", zero_shot=demos is None, prior_given=prior is not None):
            proba, per_text = self._raw_distributions(texts, demos)
            if prior is None and "calibration_prior_" in self.__dict__:
                prior = self.calibration_prior_
            elif prior is None:
                prior = self._calibration_prior(proba, per_text)
        return self._divide_tilt(proba, prior)

    def fit_annotate_proba(self, texts, demos=None):
        """Label distributions, with the tilt estimated on these texts kept for later calls.

        FreeAL's round 0: the tilt ``calibration`` divides out is estimated
        on a random sample of the texts, kept in ``calibration_prior_``, and
        used by every later :meth:`annotate_proba` and :meth:`annotate` of
        this labeler (whose texts, the doubtful ones, would give a skewed
        estimate). Each answer is read once. ``clone`` forgets the tilt.

        Parameters
        ----------
        texts : iterable of str
        demos : None, sequence of (str, int) or list of such sequences, default=None
            As for :meth:`annotate`.

        Returns
        -------
        proba : ndarray of shape (n_texts, n_labels)
            As :meth:`annotate_proba` gives them.
        """
        with self._call("annotation", zero_shot=demos is None):
            proba, per_text = self._raw_distributions(texts, demos)
        with self._call("calibration"):
            self.calibration_prior_ = self._calibration_prior(proba, per_text)
        return self._divide_tilt(proba, self.calibration_prior_)

    def calibration_prior(self, texts, demos=None, *, raw=None):
        """The tilt ``calibration`` would divide out of these texts' distributions.

        FreeAL has it estimated once, on round 0's pass over a random sample
        of the texts (:meth:`fit_annotate_proba`, which keeps it for the later
        rounds): the texts re-annotated then are the doubtful ones, whose mean
        distribution mixes the LLM's tilt with their own skew. The answers
        come from the cache when the texts were annotated already.

        For label sets (a :class:`~skfreeal.labels.MultiLabelSpace` as
        ``labels``) only ``calibration="contextual"`` estimates a tilt, each
        label's P(yes) on the content-free inputs
        (:func:`~skfreeal.calibration.label_set_prior`), and only where the
        backend judges each label on its own (the local model with
        ``constrained=True``): a written answer's set carries no
        probability to correct. ``"batch"`` estimates none for label sets:
        a label's mean P(yes) over a batch mixes its frequency in the data
        with the tilt (see :mod:`skfreeal.calibration`).

        Parameters
        ----------
        texts : iterable of str
        demos : None, sequence of (str, int) or list of such sequences, default=None
            As for :meth:`annotate`.
        raw : array-like of shape (n_texts, n_labels), default=None
            The texts' uncalibrated distributions when at hand
            (``annotate_proba(texts, demos, prior=np.ones(n_labels))``): the
            answers are then not read again.

        Returns
        -------
        prior : ndarray of shape (n_labels,) or None
            None when ``calibration=None`` (or, for label sets, when no
            tilt is estimated, see above).
        """
        if self._calibration_kind() is None:
            return None
        with self._call("calibration", zero_shot=demos is None):
            if raw is None:
                return self._calibration_prior(*self._raw_distributions(texts, demos))
            per_text = check_demos(demos, len(check_texts(texts, name="texts")),
                                   self._label_space())
            return self._calibration_prior(np.asarray(raw, dtype=np.float64), per_text)

    def calibration_requests(self, n_texts, *, refit=False):
        """Requests an annotation of ``n_texts`` texts adds to estimate its calibration.

        Only ``calibration="contextual"`` makes any: the content-free inputs
        in up to three of the call's prompt contexts (9 from three texts
        on), each counted in ``usage_`` like an annotation. ``"batch"``
        reads the call's own answers, None divides nothing out: 0. For
        label sets, ``"contextual"`` makes them only where each label is
        judged on its own (see :meth:`calibration_prior`), else 0. So is an
        :meth:`annotate` or
        :meth:`annotate_proba` that divides out the tilt
        :meth:`fit_annotate_proba` kept, unless ``refit`` (the requests of
        :meth:`fit_annotate_proba` itself). FreeAL's request budget
        (``RoundPolicy.max_requests_per_text``) counts them.

        Parameters
        ----------
        n_texts : int
        refit : bool, default=False
            Count the calibration of :meth:`fit_annotate_proba`, which
            estimates the tilt again.

        Returns
        -------
        n_requests : int
        """
        if self._calibration_kind() != "contextual":
            return 0
        if not refit and "calibration_prior_" in self.__dict__:
            return 0
        return n_content_free_requests(n_texts)

    def _raw_distributions(self, texts, demos):
        """Uncalibrated label distributions of ``texts`` and the per-text demos used."""
        self._validate_params()
        space, params, prompt_space = self._annotation_setup()
        texts = check_texts(texts, name="texts")
        per_text = check_demos(demos, len(texts), space)
        requests = annotation_requests(self, texts, per_text, prompt_space, params)
        return read_distributions(self._run(requests), space), per_text

    def _calibration_prior(self, proba, per_text):
        """The tilt ``calibration`` divides out (None: no calibration)."""
        kind = self._calibration_kind()
        if kind == "batch":
            return batch_prior(proba)
        if kind == "contextual":
            # the content-free inputs in the prompt the texts were asked in
            space, params, prompt_space = self._annotation_setup()
            requests = content_free_requests(self, per_text, prompt_space, params)
            return mean_prior(self._run(requests), space)
        return None

    def _calibration_kind(self):
        """The calibration the answers get: ``calibration``, for label sets "contextual" or None.

        A set of labels is calibrated only where the backend judges each
        label on its own (a probability per label to correct), and never by
        its batch (see :mod:`skfreeal.calibration`).
        """
        if not isinstance(self.labels, LabelSpace) or self.labels.exclusive:
            return self.calibration  # (labels checked when the answers are read)
        if self.calibration == "contextual" and SCORE_LABEL_SET in self._annotation_setup()[1]:
            return "contextual"
        return None

    def _divide_tilt(self, proba, prior):
        """``proba`` with ``prior`` divided out, as the label space reads a tilt."""
        if self._label_space().exclusive:
            return calibrate(proba, prior)
        return calibrate_label_sets(proba, prior)

    def _annotation_setup(self):
        """The label space, an annotation's request parameters and the space its prompt shows.

        What every annotation request is built from, also the dry run's
        (:meth:`request_cost`) and the timed ones
        (:func:`~skfreeal.labelers._speed.measure_speed`), so that those are
        requests of the same kind and length.
        """
        space = self._label_space()
        params = self._annotation_params(space.names.tolist())
        # A backend judging each label on its own asks for every label's truth value.
        prompt_space = JudgedLabelSets.of(space) if SCORE_LABEL_SET in params else space
        return space, params, prompt_space

    def _label_space(self):
        """What a label is for this labeler: the space given as ``labels``, else one name per text."""
        names = self._check_labels()
        return self.labels if isinstance(self.labels, LabelSpace) else SingleLabelSpace(names)

    def _annotation_params(self, labels):
        """Request parameters of an annotation (the backend adds its own: label scores, schema).

        The backend is given the label names, or the label space itself when
        the answer is a set of labels (its schema is a list, not one name).
        """
        params = {"temperature": float(self.temperature),
                  "max_tokens": self._answer_max_tokens(labels)}
        backend = self.get_backend()
        space = self._label_space()
        if not space.exclusive:
            # a set of labels: the backend reads the space (a list schema, or each
            # label judged on its own by the local model)
            return backend.label_set_params(space, params, constrained=self.constrained)
        return backend.answer_params(labels, params, constrained=self.constrained)

    def _answer_max_tokens(self, labels):
        # Room for the longest label plus a short lead-in ("Label: ..."): about
        # three UTF-8 bytes a token, which is 3 letters of English and one
        # character of Chinese or Japanese (a label cut short is an abstention,
        # and it would be cached). A label set: room for the list of them all.
        if isinstance(self.labels, LabelSpace) and not self.labels.exclusive:
            return 8 + len(self.labels.longest_answer().encode("utf-8")) // 3
        return min(48, 8 + max(len(label.encode("utf-8")) for label in labels) // 3)
