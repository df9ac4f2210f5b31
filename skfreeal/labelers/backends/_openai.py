"""The hosted-service backend: any OpenAI-compatible chat endpoint (OpenAI, vLLM, Ollama...).

:class:`OpenAIBackend` holds what talking to a hosted service takes: the key
and the endpoint (kept out of every message), the HTTP client (built on
first use, never pickled), the retry policy (:mod:`._openai_calls`), the
negotiation of the answer format, and the Batch API path
(:class:`~skfreeal.labelers._batch.BatchRun`).
:class:`~skfreeal.labelers.OpenAILabeler` builds one from its parameters; a
second provider speaking the same protocol needs no code of its own.
"""

import logging
import os
import random
from numbers import Integral, Real

from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval

from .._batch import BATCH_LEASE, BATCH_PRICE_FACTOR, BatchRun
from .._completion import SCHEMA_FORMATS, refuses_format, schema_format
from .._endpoint import (
    OPENAI_URL,
    SecretURL,
    basic_auth_header,
    has_credentials,
    public_url,
    resolve_base_url,
    split_credentials,
)
from .._requests import RunContext
from .._retry import MAX_RETRY_AFTER, LLMCallError
from .._secrets import Secret, reveal
from .._usage import price_of
from ._base import Backend, never_pickled
from ._openai_calls import OpenAICallsMixin

__all__ = ["SERVICE_SETTINGS", "OpenAIBackend"]

logger = logging.getLogger("skfreeal.labelers")

#: The hosted-service settings, each with the rule its value follows. Their
#: defaults are :class:`OpenAIBackend`'s; :class:`~skfreeal.labelers.OpenAILabeler`
#: takes them as parameters of its own (validated by these rules) and passes them on.
SERVICE_SETTINGS = {
    "base_url": [str, Secret, None],
    "api_key": [str, Secret, None],
    "timeout": [Interval(Real, 0, None, closed="neither")],
    "max_retries": [Interval(Integral, 0, None, closed="left")],
    "retry_base_delay": [Interval(Real, 0, None, closed="left")],
    "retry_max_delay": [Interval(Real, 0, None, closed="left")],
    "logprobs": ["boolean"],
    "batch": ["boolean"],
    "batch_poll_interval": [Interval(Real, 0, None, closed="neither")],
    "batch_max_poll_interval": [Interval(Real, 0, None, closed="neither")],
    "batch_price_factor": [Interval(Real, 0, 1, closed="both")],
}


class OpenAIBackend(OpenAICallsMixin, Backend):
    """Sends requests to an OpenAI-compatible chat-completions endpoint.

    Built by :class:`~skfreeal.labelers.OpenAILabeler` from its parameters
    of the same names (see there); a key or a URL with credentials is held
    as a :class:`~skfreeal.labelers.Secret`, and the backend refuses to
    pickle (it holds a live client): pickle its labeler.

    Parameters
    ----------
    model : str
    base_url, api_key : str, Secret or None, default=None
    timeout : float, default=60.0
    max_retries : int, default=6
    retry_base_delay, retry_max_delay : float, default=0.5, 30.0
    logprobs : bool, default=True
    batch : bool, default=False
    batch_poll_interval, batch_max_poll_interval : float, default=5.0, 60.0
    batch_price_factor : float, default=0.5
    price_table : dict, default=None
    max_concurrency : int, default=8
    random_state : int, RandomState instance or None, default=None
        Seeds the retry jitter.

    Attributes
    ----------
    client_ : openai.OpenAI or None
        The HTTP client, once :meth:`open` built it.
    format_level : int
        The answer format that worked so far (an index into the formats,
        simplest last; past the last: free text).
    """

    def __init__(self, model, *, base_url=None, api_key=None, timeout=60.0, max_retries=6,
                 retry_base_delay=0.5, retry_max_delay=30.0, logprobs=True, batch=False,
                 batch_poll_interval=5.0, batch_max_poll_interval=60.0,
                 batch_price_factor=BATCH_PRICE_FACTOR, price_table=None, max_concurrency=8,
                 random_state=None):
        self.model = model
        self.base_url = (SecretURL(base_url) if isinstance(base_url, str)
                         and has_credentials(base_url) else base_url)
        self.api_key = Secret(api_key) if isinstance(api_key, str) else api_key
        self.timeout = timeout
        self.max_retries = max_retries
        self.retry_base_delay = retry_base_delay
        self.retry_max_delay = retry_max_delay
        self.logprobs = logprobs
        self.batch = batch
        self.batch_poll_interval = batch_poll_interval
        self.batch_max_poll_interval = batch_max_poll_interval
        self.batch_price_factor = batch_price_factor
        self.price_table = price_table
        self.max_concurrency = max_concurrency
        self.random_state = random_state
        self.client_ = None
        self.format_level = 0
        self._client_config = None
        self._jitter = None

    __getstate__ = never_pickled("a live client and a key", "which leaves both out")

    # -- the service ----------------------------------------------------------------

    def model_id(self):
        return self.model

    def endpoint(self):
        """The endpoint called (``base_url``, ``$OPENAI_BASE_URL``, OpenAI's), no credentials."""
        return public_url(resolve_base_url(self.base_url))

    def describe(self):
        return f"model {self.model!r} at {self.endpoint()}"

    def concurrency(self):
        return self.max_concurrency

    def prices(self):
        prices = price_of(self.model, self.price_table)
        if prices is None or not self.batch:
            return prices
        return tuple(price * float(self.batch_price_factor) for price in prices)

    def claim_lease(self):
        if self.batch:  # a batch may take its whole completion window
            return BATCH_LEASE
        # One request with every retry, waits included: a server's Retry-After
        # is honoured up to MAX_RETRY_AFTER, beyond retry_max_delay. (The lease
        # only decides for a claim whose process cannot be checked: another
        # machine sharing the cache file.)
        waits = self.max_retries * max(self.retry_max_delay, MAX_RETRY_AFTER, 1.0)
        return float(self.timeout) * (self.max_retries + 1) + waits + 30.0

    def shows_progress(self):
        # A batch shows its own bar: its status and the provider's counts.
        return self.batch

    def logprob_params(self):
        return super().logprob_params() if self.logprobs else {}

    def answer_params(self, labels, params, *, constrained):
        params = super().answer_params(labels, params, constrained=constrained)
        if constrained:
            # room for '{"label": "..."}' around the longest label ('{"labels": [...]}'
            # around a list of them all)
            params["max_tokens"] += 12
            params["response_format"] = schema_format(labels, 0)
        return params

    # -- the key and the client -----------------------------------------------------

    def _key(self):
        key = self.api_key if self.api_key is not None else os.environ.get("OPENAI_API_KEY")
        if key is None and resolve_base_url(self.base_url) == OPENAI_URL:
            raise ValueError(
                f"OpenAILabeler(model={self.model!r}) talks to {OPENAI_URL}, which needs an "
                "API key: pass api_key=... or set the OPENAI_API_KEY environment variable "
                "(or point base_url or OPENAI_BASE_URL at another endpoint)."
            )
        # Local servers (llama.cpp, vLLM, Ollama) accept any key.
        return reveal(key) if key is not None else "no-key"

    def get_client(self):
        """The HTTP client, built again when the key, the URL or the timeout changed."""
        key = self._key()
        url, userinfo = split_credentials(resolve_base_url(self.base_url))
        config = (url, hash(userinfo), float(self.timeout), hash(key))
        if self.client_ is None or self._client_config != config:
            import openai

            # Credentials in the URL go in a header: the URL itself is logged by httpx.
            headers = {"Authorization": basic_auth_header(*userinfo)} if userinfo else None
            self.client_ = openai.OpenAI(
                api_key=key,
                base_url=url,
                timeout=float(self.timeout),
                max_retries=0,  # the retry policy is ours (_retry.py)
                default_headers=headers,
            )
            self._client_config = config
        return self.client_

    def open(self):
        self.get_client()  # built once, before the worker threads share it
        if self._jitter is None:
            self._jitter = random.Random(check_random_state(self.random_state).randint(2**31 - 1))

    def interrupted(self):
        # Calls still in flight lose their connections.
        client, self.client_ = self.client_, None
        if client is not None:
            try:
                client.close()
            except Exception:  # noqa: BLE001 - closing is best effort
                pass

    # -- one request ----------------------------------------------------------------

    def complete(self, messages, params, *, run=None):
        """Send a request; an endpoint that refuses the label schema gets a simpler format.

        OpenAI and vLLM take ``json_schema``; the llama-cpp-python server takes
        ``json_object`` with a ``schema`` (it refuses ``json_schema`` with a
        500 that names ``response_format``); others may take neither, and
        then get free text read by the tolerant parser. The format
        that worked is kept for the backend's later requests.
        """
        run = run if run is not None else RunContext()
        if "response_format" not in params:
            return self._send(messages, params, run)
        level = self.format_level
        while True:
            try:
                return self._send(messages, self.sent_params(params, level), run)
            except LLMCallError as exc:
                if not self.format_refused(exc.status_code, str(exc), level):
                    raise
                level += 1

    def sent_params(self, params, level=None):
        """What is sent for ``params``: the label schema in the format of ``level``.

        ``level`` indexes the answer formats, simplest last (past the last:
        free text); None takes the one that worked so far.
        """
        if "response_format" not in params:
            return params
        level = self.format_level if level is None else level
        sent = dict(params)
        sent.pop("response_format")
        if level < len(SCHEMA_FORMATS):
            sent["response_format"] = schema_format(params["response_format"], level)
        return sent

    def format_refused(self, status_code, message, level):
        """Whether an error refused the answer format of ``level`` and a simpler one is left.

        When it did, later requests of this backend use the simpler one.
        """
        if level >= len(SCHEMA_FORMATS) or not refuses_format(status_code, message):
            return False
        if self.format_level <= level:
            self.format_level = level + 1
            logger.info("%s refused the answer schema (HTTP %s); trying %s.",
                        self.describe(), status_code,
                        SCHEMA_FORMATS[level + 1] if level + 1 < len(SCHEMA_FORMATS)
                        else "free text")
        return True

    def request_body(self, messages, params):
        """The body of a chat request, as a line of a batch file holds it."""
        return {"model": self.model, "messages": messages, **self.sent_params(params)}

    # -- a run's requests: one by one, or through the Batch API ---------------------

    def complete_batch(self, jobs, deliver, *, run):
        if self.batch:
            return BatchRun(self, jobs, deliver, run).execute()
        held = self._keys_in_recorded_batches(jobs, run.cache)
        if not held:
            return super().complete_batch(jobs, deliver, run=run)
        # A batch run that stopped (Ctrl-C, a crash) left a batch at the provider that
        # holds some of these requests: it is paid for, so collect it, then send the rest.
        logger.warning(
            "%d of the %d requests of this pass are in a batch submitted earlier to %s "
            "(recorded in %s): following it to collect them instead of paying again; the "
            "rest go out one by one.", len(held), len(jobs), self.describe(), run.cache.path)
        # The provider bills these at the batch price, whatever this run's setting:
        # they are reserved, charged and failed at that price.
        followed = jobs.subset(held, price_factor=float(self.batch_price_factor))
        batches = BatchRun(self, followed, deliver, run, submit=False)
        try:
            batches.execute()
        finally:
            followed.release_all()
        jobs.stop = followed.stop
        if jobs.stop is not None:
            return None
        rest = jobs.subset((set(jobs.keys()) - held) | batches.left)
        try:
            return super().complete_batch(rest, deliver, run=run)
        finally:
            rest.release_all()
            jobs.stop = rest.stop

    def _keys_in_recorded_batches(self, jobs, cache):
        """The keys of ``jobs`` that a batch recorded in ``cache`` for this endpoint holds."""
        if cache is None:
            return set()
        wanted = set(jobs.keys())
        held = set()
        for record in cache.pending_batches(endpoint=self.endpoint(), model=self.model_id()):
            held.update(wanted.intersection(record["keys"]))
        return held
