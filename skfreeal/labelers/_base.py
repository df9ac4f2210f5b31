"""The labeler base class: prompts, cache, budget, usage and cost model around a backend."""

import logging
import math
import threading
from contextlib import contextmanager
from numbers import Integral, Real
from pathlib import Path

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils._param_validation import Interval, StrOptions

from .._cache_dir import get_cache_dir
from .._progress import progress_bar
from .._validation import check_label_names, check_texts
from ..calibration import batch_prior, calibrate, most_probable
from ._annotation import (
    annotation_requests,
    content_free_requests,
    mean_prior,
    read_distributions,
)
from ._cache import ResponseCache
from ._demos import check_demos
from ._engine import RequestRun
from ._events import RequestEvent  # noqa: F401 (named in docstrings)
from ._generation import (
    _EXAMPLES_PER_CALL,
    _GENERATION_PASSES,
    _TEXTS_PER_CALL,
    DemoGenerationMixin,
    _texts_asked,
)
from ._prompts import annotation_messages, generation_messages, order_demos, system_prompt
from ._hooks import HookBackend
from ._requests import send_jobs
from ._usage import Budget, BudgetExceededError, Usage  # noqa: F401 (named in docstrings)

__all__ = ["BaseLabeler"]

logger = logging.getLogger("skfreeal.labelers")

# Logprobs of this many answer tokens are kept in the cache (labels are short).
_KEPT_LOGPROB_TOKENS = 48
_TOP_LOGPROBS = 5
def _approximate_tokens(messages):
    """Tokens of a chat request without a tokenizer: characters / 4 plus 4 a message."""
    return sum(len(m["content"]) for m in messages) / 4.0 + 4 * len(messages)


class BaseLabeler(DemoGenerationMixin, BaseEstimator):
    """Base class of the LLM annotators used by FreeAL.

    A labeler asks an LLM for the label of each text by in-context learning
    (a system message with the task and the label names, each
    demonstration as a user/assistant turn, the text as the last user
    turn), reads the answer into a label id or an abstention, and takes a
    confidence from the label tokens' probabilities. It also writes
    synthetic labelled demonstrations. Subclasses say how to send one
    request (:meth:`_complete`); this class adds the response cache, the
    budget, the concurrency and the usage record (see Notes).

    Parameters
    ----------
    labels : list of str, default=None
        The label names; ids returned by :meth:`annotate` index this list.
        Must be set before annotating (the FreeAL loop sets it).
    task : str, default=None
        What to classify, e.g. ``"Classify the sentiment of a tweet."``.
    label_descriptions : dict of str to str, default=None
        An optional description per label name, shown in the prompt.
    cache : "auto", str, path-like or None, default="auto"
        The persistent response cache: ``"auto"`` is
        ``responses.sqlite`` in skfreeal's cache folder
        (``$SKFREEAL_CACHE_DIR`` or the user cache folder), a path names
        another SQLite file, None turns caching off.
    max_cost : float, default=None
        Cap on the estimated cost in USD of all calls of this labeler. The
        call that could pass it is not made: :class:`BudgetExceededError`
        is raised, and every answer received so far stays in the cache.
    max_tokens : int, default=None
        Cap on the prompt plus completion tokens of all calls, likewise.
    price_table : dict of str to (float, float), default=None
        USD per million (prompt, completion) tokens by model name,
        replacing the built-in table (:data:`skfreeal.labelers.PRICES`).
    temperature : float, default=0.0
        Sampling temperature of the annotation calls (0 = greedy).
    generation_temperature : float, default=0.7
        Sampling temperature of the demo-generation calls, which need variety.
    max_concurrency : int, default=8
        Requests in flight at once (an in-process model runs one at a time).
    max_text_chars : int, default=1000
        A text to label is cut to this many characters.
    max_demo_chars : int, default=200
        A demonstration text (and an example shown for generation) is cut
        to this many characters: demonstrations are most of a prompt.
    demo_order : {"shared", "given"}, default="shared"
        ``"shared"`` puts each text's demonstrations in one fixed order
        (a hash of the demonstration), so that texts with overlapping
        neighbours share a prompt prefix that the model's KV cache does not
        evaluate again, and the same set of demonstrations always makes the
        same prompt; ``"given"`` keeps the order they come in (e.g. most
        similar last).
    filter_demos : bool, default=True
        Keep a generated demonstration only when the model, asked zero-shot,
        gives it the label it was written for (one short extra call per
        text; small models often write texts of the wrong label).
    constrained : bool, default=True
        Answers can only be label names: the local model scores every
        label's token sequence instead of generating text (no abstention for
        format reasons, and a distribution over all labels); an endpoint
        gets a JSON schema with an enum of the labels (structured output),
        with free text and tolerant parsing as the fallback where it
        refuses one. False asks for free text.
    calibration : {"batch", "contextual"} or None, default="batch"
        How the LLM's tilt towards some labels is divided out of each
        text's label distribution before the most probable label is taken
        (no gold label is used): ``"batch"`` by the mean distribution of
        the texts of the same :meth:`annotate` call (no extra call),
        ``"contextual"`` by the distribution of content-free inputs
        (``"N/A"``, ``"[MASK]"``, an empty text) in three of the call's
        prompt contexts (nine extra calls a call; their mean is shrunk
        towards uniform like a small batch's), None not at all. See
        :mod:`skfreeal.calibration`.
    on_failure : {"raise", "abstain"}, default="raise"
        What a request that fails all its attempts (timeouts, 5xx, 429,
        unreadable answers) does. ``"raise"`` stops the run with
        :class:`LLMCallError` once the calls in flight are in (every answer
        is cached: a re-run goes on from there). ``"abstain"`` leaves that
        text unlabelled (``-1``, confidence 0; in ``FreeALClassifier.fit`` it
        is trained on as an unlabelled text), counts it in ``usage_.failed``
        and goes on; nothing is cached for it, so a later run asks again.
        Errors no retry can fix (a rejected key, an unknown model, a refused
        request) stop the run either way.
    random_state : int, RandomState instance or None, default=None
        Seeds the demo generation and the retry jitter.
    verbose : int, default=0
        Progress bars of the LLM calls: 1 on a terminal or in a notebook, 2
        also in a file or a pipe (see
        :func:`skfreeal._progress.bars_wanted`).

    Attributes
    ----------
    usage_ : Usage
        Calls, tokens, cache hits, retries and estimated cost, cumulated
        over every call of this instance (set on first use).
    calibration_prior_ : ndarray of shape (n_labels,) or None
        The tilt kept by :meth:`fit_annotate_proba` (absent until then).
    backend_ : Backend
        What sends the requests, built on first use (never pickled).

    Notes
    -----
    A subclass either builds a :class:`~skfreeal.labelers.backends.Backend`
    in ``_make_backend()`` (and says in ``_backend_config()`` what it is
    built from), as :class:`~skfreeal.labelers.FunctionLabeler` does, or
    provides the hooks below, which the default backend
    (:class:`~skfreeal.labelers._hooks.HookBackend`) calls:

    - ``_model_id()``: what identifies the model in the cache key (never a
      credential). Required.
    - ``_complete(messages, params)``: send one chat request, return its
      response dict. Required, unless ``_complete_batch`` is overridden.
    - ``_complete_batch(jobs, deliver)``: send all the requests the cache
      could not answer. The default sends them one by one with
      ``_complete`` on ``max_concurrency`` threads; a backend that sends
      many prompts at once (a Batch API) overrides it, takes the jobs it may
      send from ``jobs`` (which reserves them in the budget and ends where
      the budget would be passed) and hands each answer to ``deliver``
      (which charges the usage and writes the cache). De-duplication, the
      cache, the budget and the usage record stay here.
    - Optionally ``_prices()`` (USD per million prompt and completion
      tokens, or None), ``_concurrency()``, ``_fit_to_context(messages,
      max_new_tokens)``, ``_estimate_prompt_tokens(messages)`` and
      ``_logprob_params()``.
    """

    _parameter_constraints = {
        "labels": [list, tuple, None],
        "task": [str, None],
        "label_descriptions": [dict, None],
        "cache": [StrOptions({"auto"}), str, Path, None],
        "max_cost": [Interval(Real, 0, None, closed="left"), None],
        "max_tokens": [Interval(Integral, 1, None, closed="left"), None],
        "price_table": [dict, None],
        "temperature": [Interval(Real, 0, 2, closed="both")],
        "generation_temperature": [Interval(Real, 0, 2, closed="both")],
        "max_concurrency": [Interval(Integral, 1, None, closed="left")],
        "max_text_chars": [Interval(Integral, 16, None, closed="left")],
        "max_demo_chars": [Interval(Integral, 16, None, closed="left")],
        "demo_order": [StrOptions({"shared", "given"})],
        "filter_demos": ["boolean"],
        "constrained": ["boolean"],
        "calibration": [StrOptions({"batch", "contextual"}), None],
        "on_failure": [StrOptions({"raise", "abstain"})],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    # Attributes that hold live resources: never pickled, rebuilt on use.
    _transient = ("_response_cache", "_usage_lock", "backend_", "_backend_built_for",
                  "_observer_list", "_calls")

    def __init__(
        self,
        *,
        labels=None,
        task=None,
        label_descriptions=None,
        cache="auto",
        max_cost=None,
        max_tokens=None,
        price_table=None,
        temperature=0.0,
        generation_temperature=0.7,
        max_concurrency=8,
        max_text_chars=1000,
        max_demo_chars=200,
        demo_order="shared",
        filter_demos=True,
        constrained=True,
        calibration="batch",
        on_failure="raise",
        random_state=None,
        verbose=0,
    ):
        self.labels = labels
        self.task = task
        self.label_descriptions = label_descriptions
        self.cache = cache
        self.max_cost = max_cost
        self.max_tokens = max_tokens
        self.price_table = price_table
        self.temperature = temperature
        self.generation_temperature = generation_temperature
        self.max_concurrency = max_concurrency
        self.max_text_chars = max_text_chars
        self.max_demo_chars = max_demo_chars
        self.demo_order = demo_order
        self.filter_demos = filter_demos
        self.constrained = constrained
        self.calibration = calibration
        self.on_failure = on_failure
        self.random_state = random_state
        self.verbose = verbose

    # -- what a subclass provides ---------------------------------------------------

    def _model_id(self):
        """What identifies the model in the cache key (never a credential)."""
        raise NotImplementedError

    def _complete(self, messages, params):
        """Send one chat request and return its response dict.

        Returns ``{"text": str, "logprobs": list or None, "prompt_tokens": int,
        "completion_tokens": int, "cached_tokens": int}``; ``logprobs`` holds
        ``[token, logprob, [[alt, logprob], ...]]`` per generated token.
        """
        raise NotImplementedError

    def _complete_batch(self, jobs, deliver, run=None):
        """Send the requests the cache could not answer; hand each answer to ``deliver``.

        The default sends one request at a time with :meth:`_complete`, on
        up to :meth:`_concurrency` threads (in the caller's thread when that
        is 1); the first failure stops new requests and is raised once those
        in flight are delivered. A backend that sends many requests at once
        overrides this method alone.

        Parameters
        ----------
        jobs : Jobs
            An iterator of :class:`~skfreeal.labelers._requests.Job` (with
            ``messages`` and ``params``) in send order. Taking a job reserves
            its worst case in the budget; the iterator ends early when the
            next job could pass it, and the run then raises
            :class:`BudgetExceededError` after this method returns.
        deliver : callable
            ``deliver(job, response)`` with the response dict of
            :meth:`_complete`: charges the usage, writes the cache and
            releases the reservation. Thread-safe.

        Notes
        -----
        When a job's call fails, ``jobs.failed(job, exc)`` says whether the
        run goes on without it (``on_failure="abstain"`` and a transient
        failure) or stops; ``jobs.release(job)`` gives back its reservation
        and its claim in the shared cache either way. Ctrl-C sets
        ``run.cancel`` (``run`` is the :class:`~skfreeal.labelers._requests.RunContext`
        of the run, given to an override that takes it): take no new job,
        make no new attempt.
        """
        backend = self._get_backend()
        send_jobs(jobs, deliver, lambda m, p: backend.complete(m, p, run=run),
                  self._concurrency(), run)

    def _prices(self):
        """(prompt, completion) USD per million tokens, or None when unknown."""
        return None

    def _concurrency(self):
        return self.max_concurrency

    def _fit_to_context(self, messages, max_new_tokens):
        """Shorten ``messages`` to fit the model's context (default: unchanged)."""
        return messages

    def _estimate_prompt_tokens(self, messages):
        """An upper estimate of a request's prompt tokens, for the budget.

        One token per UTF-8 byte until an answer has told the real ratio,
        then the largest ratio seen with a 25% margin, plus a few tokens of
        chat-template overhead per message.
        """
        n_bytes = sum(len(m["content"].encode("utf-8")) for m in messages)
        ratio = getattr(self, "_tokens_per_byte", None)
        ratio = 1.0 if ratio is None else min(1.0, 1.25 * ratio)
        return math.ceil(ratio * n_bytes) + 8 * len(messages)

    def _logprob_params(self):
        """Request parameters that ask for the answer tokens' logprobs."""
        return {"logprobs": True, "top_logprobs": _TOP_LOGPROBS}

    def _annotation_params(self, labels):
        """Request parameters of an annotation (a backend adds its own: label scores, schema)."""
        params = {"temperature": float(self.temperature),
                  "max_tokens": self._answer_max_tokens(labels)}
        return self._get_backend().answer_params(labels, params, constrained=self.constrained)

    def _claim_lease(self):
        """Seconds a claim on a request may hold when its process cannot be checked.

        Long enough for one request with all its retries; a run on the same
        machine that is gone loses its claims at once.
        """
        return 600.0

    def _progress_shown_by_backend(self):
        """True when the backend draws its own progress bar (default: False)."""
        return False

    def _open_backend(self):
        """Get ready before a run's requests go out (default: nothing)."""

    def _interrupted(self):
        """A run was interrupted by Ctrl-C (default: nothing)."""

    # -- the backend, the observers and the purposes --------------------------------

    def _make_backend(self):
        """The :class:`~skfreeal.labelers.backends.Backend` that sends this labeler's requests.

        The default is a :class:`~skfreeal.labelers._hooks.HookBackend` over
        the hooks above; a labeler over another backend overrides this and
        :meth:`_backend_config`.
        """
        return HookBackend(self)

    def _backend_config(self):
        """What the backend is built from: a new value rebuilds it (default: None)."""
        return None

    def _get_backend(self):
        """The backend, built on first use and again when its configuration changed."""
        config = self._backend_config()
        backend = self.__dict__.get("backend_")
        if backend is None or self.__dict__.get("_backend_built_for") != config:
            backend = self.backend_ = self._make_backend()
            self._backend_built_for = config
        return backend

    @contextmanager
    def observing(self, callback):
        """Call ``callback(event)`` for each request of this labeler made in the block.

        Each event is a :class:`~skfreeal.labelers.RequestEvent` (its
        purpose, cached or not, tokens, seconds). The observer is not a
        parameter: ``clone`` and pickles leave it behind. To observe the
        clones ``FreeALClassifier.fit`` makes, use
        :func:`skfreeal.labelers.observing`.

        Parameters
        ----------
        callback : callable
            ``callback(RequestEvent)``; quick and thread-safe.
        """
        if not callable(callback):
            raise TypeError(f"callback must be callable, got {callback!r}.")
        observers = self.__dict__.setdefault("_observer_list", [])
        observers.append(callback)
        try:
            yield self
        finally:
            observers.remove(callback)

    def _observers(self):
        return tuple(self.__dict__.get("_observer_list", ()))

    @contextmanager
    def purpose(self, name):
        """Report the requests of the block with the purpose ``name`` (e.g. ``"fill"``).

        The outermost purpose wins: inside it, the verbs' own purposes
        (``"generation"``, ``"annotation"``, ``"calibration"``) are not used.
        """
        if not isinstance(name, str) or not name:
            raise ValueError(f"name must be a non-empty str, got {name!r}.")
        with self._call(name):
            yield self

    @contextmanager
    def _call(self, purpose, *, zero_shot=False, prior_given=False):
        """A verb (or a caller's step) in progress: the outermost one names the requests."""
        calls = self.__dict__.setdefault("_calls", [])
        calls.append({"purpose": purpose, "zero_shot": zero_shot, "prior_given": prior_given})
        try:
            yield
        finally:
            calls.pop()

    # -- helpers --------------------------------------------------------------------

    def __getstate__(self):
        # A copy: object.__getstate__ may hand back the live __dict__.
        state = dict(super().__getstate__())
        for name in self._transient:
            state.pop(name, None)
        return state

    def _check_labels(self):
        labels = check_label_names(self.labels)
        descriptions = self.label_descriptions or {}
        unknown = sorted(set(descriptions) - set(labels))
        if unknown:
            raise ValueError(
                f"label_descriptions has keys that are not in labels: {unknown}; labels={labels}."
            )
        return labels

    def _get_cache(self):
        if self.cache is None:
            return None
        path = get_cache_dir() / "responses.sqlite" if self.cache == "auto" else Path(self.cache)
        cache = getattr(self, "_response_cache", None)
        if cache is None or cache.path != path:
            cache = self._response_cache = ResponseCache(path)
        return cache

    def _budget(self):
        if not hasattr(self, "usage_"):
            self.usage_ = Usage()
        if getattr(self, "_usage_lock", None) is None:
            self._usage_lock = threading.Lock()
        self.check_budget()
        backend = self._get_backend()
        return Budget(
            self.usage_,
            max_tokens=self.max_tokens,
            max_cost=self.max_cost,
            prices=backend.prices(),
            what=f"model {backend.model_id()!r}",
            lock=self._usage_lock,
        )

    def check_budget(self):
        """Refuse a cost cap that cannot be checked (no price for the model), before any call.

        :class:`~skfreeal.FreeALClassifier` calls it before it embeds a text;
        every request checks it again.

        Raises
        ------
        ValueError
            When ``max_cost`` is set and the model has no price.
        """
        if self.max_cost is not None and self._get_backend().prices() is None:
            raise ValueError(
                f"max_cost={self.max_cost} needs a price for {self._get_backend().describe()}, "
                "which is not "
                "in the price table; pass price_table={model: (usd_per_1M_prompt, "
                "usd_per_1M_completion)} (on the command line: --price-per-million "
                "PROMPT,COMPLETION)."
            )

    def _answer_max_tokens(self, labels):
        # Room for the longest label plus a short lead-in ("Label: ..."): about
        # three UTF-8 bytes a token, which is 3 letters of English and one
        # character of Chinese or Japanese (a label cut short is an abstention,
        # and it would be cached).
        return min(48, 8 + max(len(label.encode("utf-8")) for label in labels) // 3)

    # -- the request engine ---------------------------------------------------------

    def _run(self, requests):
        """Answer ``(messages, params)`` requests: cache first, then the backend.

        Identical requests are sent once, and a request another run sharing
        the cache is sending is waited for, not sent again. Requests go out
        in the order of their messages, so that consecutive prompts share
        long prefixes; :meth:`_complete_batch` sends them. A request that
        failed for good is None in the result with ``on_failure="abstain"``.
        See :class:`~skfreeal.labelers._engine.RequestRun`.
        """
        self._get_backend().open()
        calls = self.__dict__.get("_calls") or [{}]
        return RequestRun(self, requests, calls[0]).execute()

    def _learn_tokens_per_byte(self, messages, prompt_tokens):
        """Keep the largest tokens-per-byte ratio seen (the budget's prompt estimate)."""
        n_bytes = sum(len(m["content"].encode("utf-8")) for m in messages)
        ratio = prompt_tokens / max(1, n_bytes)
        self._tokens_per_byte = max(ratio, getattr(self, "_tokens_per_byte", None) or 0.0)

    def _progress(self, total):
        return progress_bar(total, desc=f"LLM calls ({self._get_backend().describe()})",
                            unit="call", verbose=self.verbose)

    def _describe(self):
        """The model for messages (the hook behind :meth:`HookBackend.describe`)."""
        return f"model {self._model_id()!r}"

    # -- the public verbs -----------------------------------------------------------

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
        return most_probable(self.annotate_proba(texts, demos))

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
            uniform one gives the uncalibrated distributions.

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
        return calibrate(proba, prior)

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
        return calibrate(proba, self.calibration_prior_)

    def calibration_prior(self, texts, demos=None, *, raw=None):
        """The tilt ``calibration`` would divide out of these texts' distributions.

        FreeAL estimates it once, on round 0's pass over a random sample of
        the texts, and passes it as ``prior`` in later rounds: the texts
        re-annotated then are the doubtful ones, whose mean distribution
        mixes the LLM's tilt with their own skew. The answers come from the
        cache when the texts were annotated already.

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
            None when ``calibration=None``.
        """
        if self.calibration is None:
            return None
        with self._call("calibration", zero_shot=demos is None):
            if raw is None:
                return self._calibration_prior(*self._raw_distributions(texts, demos))
            labels = self._check_labels()
            per_text = check_demos(demos, len(check_texts(texts, name="texts")), labels)
            return self._calibration_prior(np.asarray(raw, dtype=np.float64), per_text)

    def _raw_distributions(self, texts, demos):
        """Uncalibrated label distributions of ``texts`` and the per-text demos used."""
        self._validate_params()
        labels = self._check_labels()
        texts = check_texts(texts, name="texts")
        per_text = check_demos(demos, len(texts), labels)
        requests = annotation_requests(
            self, texts, per_text, labels, self._annotation_params(labels)
        )
        return read_distributions(self._run(requests), labels), per_text

    def _calibration_prior(self, proba, per_text):
        """The tilt ``calibration`` divides out (None: no calibration)."""
        if self.calibration == "batch":
            return batch_prior(proba)
        if self.calibration == "contextual":
            labels = self._check_labels()
            requests = content_free_requests(
                self, per_text, labels, self._annotation_params(labels)
            )
            return mean_prior(self._run(requests), labels)
        return None

    # -- the dry run ----------------------------------------------------------------

    def request_cost(self, texts, *, n_demos=0, n_generated=0):
        """Typical tokens and prices of this labeler's requests, for a dry run (no call).

        Prompts are built by the labeler's own prompt builders from texts
        drawn from ``texts`` (demonstrations resemble them) and counted as
        characters / 4 plus 4 tokens a message: no tokenizer or model is
        loaded. Demo generation follows :meth:`generate_demos`: one call per
        text asked of a label, plus one zero-shot check per text written
        when ``filter_demos`` is on, and up to 5 passes when answers fall
        short.

        Parameters
        ----------
        texts : sequence of str
            The texts that will be labelled.
        n_demos : int, default=0
            Demonstrations in each annotation prompt.
        n_generated : int, default=0
            Demonstrations to write with :meth:`generate_demos`.

        Returns
        -------
        cost : dict
            ``prompt_tokens`` and ``completion_tokens`` (float) of one
            annotation request; ``generation_calls`` and
            ``max_generation_calls`` (int), expected and largest calls to
            write ``n_generated`` demonstrations; ``generation_prompt_tokens``
            and ``generation_completion_tokens`` (float) of one such call;
            ``prices``, USD per million (prompt, completion) tokens, or None
            when the model's price is unknown.
        """
        self._validate_params()
        labels = self._check_labels()
        texts = check_texts(texts, name="texts")
        rng = np.random.RandomState(0)
        sample = [texts[i] for i in rng.choice(len(texts), min(len(texts), 50), replace=False)]
        mean_chars = float(np.mean([len(t) for t in sample]))
        system = system_prompt(labels, self.task, self.label_descriptions)
        sizes = []
        for i, text in enumerate(sample[:10]):
            demos = [(sample[(i + j + 1) % len(sample)], j % len(labels)) for j in range(n_demos)]
            messages = annotation_messages(
                text, order_demos(demos), labels, system,
                max_text_chars=self.max_text_chars, max_demo_chars=self.max_demo_chars,
            )
            sizes.append(_approximate_tokens(messages))
        asked = _texts_asked(_TEXTS_PER_CALL)
        generation = generation_messages(
            labels[0], sample[:_EXAMPLES_PER_CALL], asked, task=self.task,
            label_description=None, max_example_chars=self.max_demo_chars,
        )
        quota = [n_generated // len(labels) + (i < n_generated % len(labels))
                 for i in range(len(labels))]
        asks = [_texts_asked(min(_TEXTS_PER_CALL, q - start))
                for q in quota for start in range(0, q, _TEXTS_PER_CALL)]
        return {
            "prompt_tokens": float(np.mean(sizes)),
            "completion_tokens": float(self._answer_max_tokens(labels)) / 2,
            "generation_calls": len(asks) + (n_generated if self.filter_demos else 0),
            "max_generation_calls": _GENERATION_PASSES * (
                len(asks) + (sum(asks) if self.filter_demos else 0)),
            "generation_prompt_tokens": float(_approximate_tokens(generation)),
            "generation_completion_tokens": asked * (
                min(mean_chars, self.max_demo_chars) / 3 + 12),
            "prices": self._get_backend().prices(),
        }

