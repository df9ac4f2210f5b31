"""The labeler base class: the annotator over a backend, with its cache, budget and usage.

:class:`BaseLabeler` is put together from mixins, one concern each: the
verbs that label (:mod:`._annotating`), the ones that write demonstrations
(:mod:`._generation`), the dry run (:mod:`._request_cost`) and the plumbing
to the backend and the request engine (:mod:`._requesting`). This module
holds the parameters.
"""

from numbers import Integral, Real
from pathlib import Path

from sklearn.base import BaseEstimator
from sklearn.utils._param_validation import Interval, StrOptions

from .._validation import check_label_names
from ..labels import LabelSpace
from ._annotating import AnnotationMixin
from ._events import RequestEvent  # noqa: F401 (named in docstrings)
from ._generation import DemoGenerationMixin
from ._request_cost import RequestCostMixin
from ._requesting import RequestingMixin
from ._usage import BudgetExceededError, Usage  # noqa: F401 (named in docstrings)

__all__ = ["BaseLabeler"]


class BaseLabeler(AnnotationMixin, DemoGenerationMixin, RequestCostMixin, RequestingMixin,
                  BaseEstimator):
    """Base class of the LLM annotators used by FreeAL.

    A labeler asks an LLM for the label of each text by in-context learning
    (a system message with the task and the label names, each
    demonstration as a user/assistant turn, the text as the last user
    turn), reads the answer into a label id or an abstention, and takes a
    confidence from the label tokens' probabilities. It also writes
    synthetic labelled demonstrations. Subclasses say which backend sends
    the requests; this class adds the response cache, the budget, the
    concurrency and the usage record (see Notes).

    Parameters
    ----------
    labels : list of str or LabelSpace, default=None
        The label names; ids returned by :meth:`annotate` index this list.
        Must be set before annotating (the FreeAL loop sets it). A
        :class:`~skfreeal.labels.MultiLabelSpace` asks for a set of its
        names per text (a JSON list; :meth:`annotate` then returns
        indicator rows and :meth:`annotate_proba` a probability per label,
        uncalibrated).
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
        :mod:`skfreeal.calibration`. For label sets (``labels`` a
        :class:`~skfreeal.labels.MultiLabelSpace`) only ``"contextual"``
        applies, where each label is judged on its own (the local model
        with ``constrained=True``): each label's P(yes) on the content-free
        inputs, relative to the other labels', is divided out of its
        probability (:func:`~skfreeal.calibration.calibrate_label_sets`);
        ``"batch"`` (the default) and None leave label sets as they are, as
        does a backend that writes its answer (a set read from text carries
        no probability to correct).
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
        The tilt kept by :meth:`fit_annotate_proba` (absent until then): a
        distribution over the labels, or for label sets each label's P(yes)
        on the content-free inputs.
    backend_ : Backend
        What sends the requests, built on first use (never pickled).

    Notes
    -----
    A subclass builds its :class:`~skfreeal.labelers.backends.Backend` in
    ``_make_backend()`` from its parameters, and says in
    ``_backend_config()`` which ones (a new value builds a new backend), as
    :class:`~skfreeal.labelers.FunctionLabeler` does in a few lines. The
    backend sends what the cache could not answer; de-duplication, the
    cache, the budget, the usage record and the observers stay here.
    """

    _parameter_constraints = {
        "labels": [list, tuple, LabelSpace, None],
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

    def __getstate__(self):
        # A copy: object.__getstate__ may hand back the live __dict__.
        state = dict(super().__getstate__())
        for name in self._transient:
            state.pop(name, None)
        return state

    def _check_labels(self):
        given = self.labels
        labels = check_label_names(given.names.tolist() if isinstance(given, LabelSpace) else given)
        descriptions = self.label_descriptions or {}
        unknown = sorted(set(descriptions) - set(labels))
        if unknown:
            raise ValueError(
                f"label_descriptions has keys that are not in labels: {unknown}; labels={labels}."
            )
        return labels
