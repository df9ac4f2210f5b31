"""A labeler for any OpenAI-compatible chat endpoint (OpenAI, vLLM, Ollama, llama.cpp).

The annotator is :class:`~skfreeal.labelers.BaseLabeler`'s; the hosted-service
machinery (key, client, retries, answer formats, the Batch API) is the
:class:`~skfreeal.labelers.backends.OpenAIBackend` it builds from its
parameters.
"""

from ._base import BaseLabeler
from ._endpoint import SecretURL, has_credentials, public_url, resolve_base_url
from ._params import defaults_of, inherits_params
from ._secrets import SecretParamsMixin
from .backends import OpenAIBackend
from .backends._openai import SERVICE_SETTINGS

__all__ = ["OpenAILabeler"]

# The parameters the backend is built from (besides price_table and max_concurrency),
# with the backend's defaults: declared once, in OpenAIBackend's signature.
_SETTINGS = defaults_of(OpenAIBackend, SERVICE_SETTINGS)


class OpenAILabeler(SecretParamsMixin, BaseLabeler):
    """LLM annotator over any OpenAI-compatible chat-completions endpoint.

    Works with OpenAI, and with local servers that speak the same protocol
    (vLLM, Ollama, the llama.cpp server). Requests go out concurrently
    (``max_concurrency``); transient failures (429, 5xx, timeouts, dropped
    connections, malformed bodies) are retried with exponential backoff and
    jitter, honouring Retry-After; 400/401/403/404 fail at once with an
    error naming the model and the endpoint. Answers are cached on disk, so
    the same request is never paid for twice.

    Parameters
    ----------
    model : str
        The model name the endpoint serves, e.g. ``"gpt-4o-mini"``.
    base_url : str or Secret, default=None
        The endpoint, e.g. ``"http://127.0.0.1:8000/v1"``; None reads
        ``OPENAI_BASE_URL``, else OpenAI's. Credentials in it
        (``https://user:secret@host/v1``) are sent as HTTP Basic
        authentication, in place of the key, and never shown: ``get_params``
        hands such a URL out as a :class:`Secret` that shows
        ``https://***@host/v1``, and a pickle keeps only ``https://host/v1``.
        It is not part of the cache key: the same model name served on a
        new port keeps its cached answers.
    api_key : str or Secret, default=None
        The key; None reads ``OPENAI_API_KEY`` (and a local endpoint needs
        none). ``get_params`` hands it out as a :class:`Secret`, which
        ``clone`` and ``set_params`` accept; it never shows in ``repr``,
        logs, errors or the cache, and is left out of pickles: a reloaded
        labeler reads ``OPENAI_API_KEY``.
    timeout : float, default=60.0
        Seconds before an attempt is abandoned (and retried). An attempt
        abandoned after the request went out is charged to the budget at
        its worst case: the provider may bill it.
    max_retries : int, default=6
        Retries of a request after its first attempt.
    retry_base_delay, retry_max_delay : float, default=0.5, 30.0
        The backoff starts at ``retry_base_delay`` seconds and doubles up
        to ``retry_max_delay`` (with jitter).
    logprobs : bool, default=True
        Ask for token logprobs, which give the confidences. Turn off for
        endpoints that reject the parameter.
    batch : bool, default=False
        Send the requests of each pass that the cache cannot answer as one
        Batch API job instead of one HTTP call each: a JSONL file uploaded
        with ``purpose="batch"``, a batch with a 24 h completion window,
        polled until it ends; its answers are read and cached as the
        synchronous ones are. OpenAI bills a batch at half price
        (``batch_price_factor``) and answers within 24 h. The batch is
        recorded in the response cache before polling starts, so a run
        stopped by a crash, ``kill -9`` or Ctrl-C resumes polling the same
        batch when it is run again, and never submits it twice; run again
        with ``batch=False``, it still collects that batch's answers rather
        than paying for them again (charged at the batch price in
        ``usage_``), and sends the rest one by one. A resumed batch's
        answers to requests the new run does not send (it labels fewer
        texts, or its budget opens only some) are cached and counted in
        its ``usage_`` too: the provider billed them. Requests
        that fail in a batch (lines of its error file, an expired batch) go
        out again in a new batch, up to ``max_retries`` times. See the user
        guide's page on labelers.
    batch_poll_interval : float, default=5.0
        Seconds before the first look at a submitted batch; the wait
        doubles after each look, up to ``batch_max_poll_interval``.
    batch_max_poll_interval : float, default=60.0
        The longest wait in seconds between two looks at a batch (at least
        ``batch_poll_interval``).
    batch_price_factor : float, default=0.5
        The price of a batch request as a fraction of the model's price in
        the price table: with ``batch=True`` the cost in ``usage_``, the
        budget (``max_cost``), :meth:`request_cost` and the estimates use
        it. OpenAI's Batch API costs half
        (:data:`~skfreeal.labelers._batch.BATCH_PRICE_FACTOR`).
    labels, task, label_descriptions, cache, max_cost, max_tokens, price_table, \
temperature, generation_temperature, max_concurrency, max_text_chars, \
max_demo_chars, demo_order, filter_demos, random_state, verbose
        See :class:`BaseLabeler`.

    Attributes
    ----------
    usage_ : Usage
        Calls, tokens, cache hits, retries and estimated cost so far.
    client_ : openai.OpenAI
        The HTTP client, built on first use (never pickled).
    backend_ : OpenAIBackend
        What sends the requests (holds the client), built on first use.

    See Also
    --------
    LocalLabeler : the embedded local LLM, no server or key needed.

    Examples
    --------
    >>> labeler = OpenAILabeler("gpt-4o-mini", api_key="sk-secret",
    ...                         labels=["negative", "positive"])
    >>> labeler
    OpenAILabeler(api_key='***', labels=['negative', 'positive'],
                  model='gpt-4o-mini')
    """

    _parameter_constraints = {
        **BaseLabeler._parameter_constraints,
        "model": [str],
        **SERVICE_SETTINGS,
    }
    _secret_params = ("api_key", "base_url")

    @inherits_params(BaseLabeler, settings=_SETTINGS)
    def __init__(self, model, **params):
        settings = {name: params.pop(name, default) for name, default in _SETTINGS.items()}
        super().__init__(**params)
        self.model = model
        for name, value in settings.items():  # stored under its name, as scikit-learn reads it
            setattr(self, name, value)

    # -- the secrets ----------------------------------------------------------------

    def _conceal(self, name, value):
        if name == "base_url":  # a plain URL is no secret: shown as it is
            return SecretURL(value) if has_credentials(value) else value
        return super()._conceal(name, value)

    def _redact(self, name, value):
        if name == "base_url":  # a reloaded labeler keeps its endpoint, not the credentials
            return public_url(value)
        return super()._redact(name, value)

    # -- the backend ----------------------------------------------------------------

    def endpoint(self):
        """The endpoint this labeler calls, without credentials.

        ``base_url``, else the ``OPENAI_BASE_URL`` environment variable,
        else OpenAI's URL; user info, query and fragment are left out.

        Returns
        -------
        url : str
        """
        return public_url(resolve_base_url(self.base_url))

    def _backend_config(self):
        table = None if self.price_table is None else dict(self.price_table)
        return (self.model, *(getattr(self, name) for name in _SETTINGS), table,
                self.max_concurrency, self.random_state)

    def _make_backend(self):
        return OpenAIBackend(self.model, **{name: getattr(self, name) for name in _SETTINGS},
                             price_table=self.price_table, max_concurrency=self.max_concurrency,
                             random_state=self.random_state)

    @property
    def client_(self):
        """The HTTP client, once a request built it (absent before, and after a pickle)."""
        return self._built_by_backend("client_", "client_ is built by the first request.")
