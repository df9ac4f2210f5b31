"""A labeler for any OpenAI-compatible chat endpoint (OpenAI, vLLM, Ollama, llama.cpp)."""

import logging
import os
import random
import threading
from numbers import Integral, Real

from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval

from ._base import BaseLabeler
from ._batch import BATCH_LEASE, BATCH_PRICE_FACTOR, BatchRun
from ._completion import (
    SCHEMA_FORMATS,
    MalformedResponse,
    read_completion,
    refuses_format,
    schema_format,
)
from ._endpoint import (
    OPENAI_URL,
    SecretURL,
    basic_auth_header,
    has_credentials,
    public_url,
    resolve_base_url,
    split_credentials,
)
from ._params import inherits_params
from ._requests import BudgetStop, RunContext
from ._retry import (
    MAX_RETRY_AFTER,
    LLMCallError,
    RetryReport,
    call_with_retries,
    retry_after_seconds,
)
from ._secrets import Secret, SecretParamsMixin, reveal
from ._usage import price_of

__all__ = ["OpenAILabeler"]

logger = logging.getLogger("skfreeal.labelers")

_OPENAI_URL = OPENAI_URL


def _endpoint(base_url):
    """The endpoint called (``base_url``, ``$OPENAI_BASE_URL``, OpenAI's), without credentials."""
    return public_url(resolve_base_url(base_url))


def _billed_usage(exc):
    """What a failed attempt may have been billed: None (nothing), or a usage dict.

    An answer that came back unreadable, or none after the request went
    out (a timeout, a dropped connection), may be billed by the provider;
    an HTTP error status, or a connection never made, is not. Missing
    counts (None) are charged at the request's worst case.
    """
    import openai

    if isinstance(exc, MalformedResponse):
        return exc.usage or {}
    if isinstance(exc, openai.APIStatusError):
        return None
    if isinstance(exc, openai.APIConnectionError):
        # By name: the HTTP library behind the SDK has changed (httpx, httpx2...).
        if type(exc.__cause__).__name__ in ("ConnectError", "ConnectTimeout"):
            return None  # the request never reached the server
        return {}
    return None


def _classify(exc):
    """Retry decision for an error: False, True, or seconds to wait (Retry-After)."""
    import openai

    if isinstance(exc, openai.APIStatusError):
        code = exc.status_code
        body = exc.body if isinstance(exc.body, dict) else {}
        error = body.get("error", body) if isinstance(body.get("error", body), dict) else {}
        if code == 429 and error.get("code") == "insufficient_quota":
            return False  # no amount of waiting fixes an empty account
        if "response_format" in str(exc.body):
            return False  # a format the server does not take (llama-cpp-python says so in a 500)
        if code in (408, 409, 429) or code >= 500:
            wait = retry_after_seconds(exc.response.headers)
            return True if wait is None else wait
        return False
    # APITimeoutError is an APIConnectionError: timeouts, refused and dropped connections
    return isinstance(exc, (openai.APIConnectionError, MalformedResponse))


_HINTS = {
    400: "the endpoint rejected the request (a parameter it does not support? try logprobs=False)",
    401: "check the API key (the api_key parameter or OPENAI_API_KEY)",
    403: "the key is not allowed to use this model",
    404: "check the model name and base_url",
}


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
    _transient = BaseLabeler._transient + (
        "client_", "_client_config", "_jitter", "_format_level")
    _secret_params = ("api_key", "base_url")

    @inherits_params(BaseLabeler)
    def __init__(
        self,
        model,
        *,
        base_url=None,
        api_key=None,
        timeout=60.0,
        max_retries=6,
        retry_base_delay=0.5,
        retry_max_delay=30.0,
        logprobs=True,
        batch=False,
        batch_poll_interval=5.0,
        batch_max_poll_interval=60.0,
        batch_price_factor=BATCH_PRICE_FACTOR,
        **base_params,
    ):
        super().__init__(**base_params)
        self.model = model
        self.base_url = base_url
        self.api_key = api_key
        self.timeout = timeout
        self.max_retries = max_retries
        self.retry_base_delay = retry_base_delay
        self.retry_max_delay = retry_max_delay
        self.logprobs = logprobs
        self.batch = batch
        self.batch_poll_interval = batch_poll_interval
        self.batch_max_poll_interval = batch_max_poll_interval
        self.batch_price_factor = batch_price_factor

    # -- the secrets ----------------------------------------------------------------

    def _conceal(self, name, value):
        if name == "base_url":  # a plain URL is no secret: shown as it is
            return SecretURL(value) if has_credentials(value) else value
        return super()._conceal(name, value)

    def _redact(self, name, value):
        if name == "base_url":  # a reloaded labeler keeps its endpoint, not the credentials
            return public_url(value)
        return super()._redact(name, value)

    def _scrub(self, message, *also):
        url = resolve_base_url(self.base_url)
        _, userinfo = split_credentials(url)
        query = url.partition("?")[2].partition("#")[0]
        pieces = [p for p in (userinfo[1] if userinfo else None, query) if p]
        return super()._scrub(message, *also, *pieces)

    # -- the key --------------------------------------------------------------------

    def _key(self):
        key = self.api_key if self.api_key is not None else os.environ.get("OPENAI_API_KEY")
        if key is None and resolve_base_url(self.base_url) == _OPENAI_URL:
            raise ValueError(
                f"OpenAILabeler(model={self.model!r}) talks to {_OPENAI_URL}, which needs an "
                "API key: pass api_key=... or set the OPENAI_API_KEY environment variable "
                "(or point base_url or OPENAI_BASE_URL at another endpoint)."
            )
        # Local servers (llama.cpp, vLLM, Ollama) accept any key.
        return reveal(key) if key is not None else "no-key"

    # -- the client -----------------------------------------------------------------

    def endpoint(self):
        """The endpoint this labeler calls, without credentials.

        ``base_url``, else the ``OPENAI_BASE_URL`` environment variable,
        else OpenAI's URL; user info, query and fragment are left out.

        Returns
        -------
        url : str
        """
        return _endpoint(self.base_url)

    def _get_client(self):
        key = self._key()
        url, userinfo = split_credentials(resolve_base_url(self.base_url))
        config = (url, hash(userinfo), float(self.timeout), hash(key))
        stale = getattr(self, "_client_config", None) != config
        if getattr(self, "client_", None) is None or stale:
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

    def _model_id(self):
        return self.model

    def _describe(self):
        return f"model {self.model!r} at {_endpoint(self.base_url)}"

    def _claim_lease(self):
        if self.batch:  # a batch may take its whole completion window
            return BATCH_LEASE
        # One request with every retry, waits included: a server's Retry-After
        # is honoured up to MAX_RETRY_AFTER, beyond retry_max_delay. (The lease
        # only decides for a claim whose process cannot be checked: another
        # machine sharing the cache file.)
        waits = self.max_retries * max(self.retry_max_delay, MAX_RETRY_AFTER, 1.0)
        return float(self.timeout) * (self.max_retries + 1) + waits + 30.0

    def _prices(self):
        prices = price_of(self.model, self.price_table)
        if prices is None or not self.batch:
            return prices
        return tuple(price * float(self.batch_price_factor) for price in prices)

    def _progress_shown_by_backend(self):
        # A batch shows its own bar: its status and the provider's counts.
        return self.batch

    def _complete_batch(self, jobs, deliver, run=None):
        run = run if run is not None else RunContext()
        if self.batch:
            return BatchRun(self, jobs, deliver, run).execute()
        held = self._keys_in_recorded_batches(jobs)
        if not held:
            return super()._complete_batch(jobs, deliver, run)
        # A batch run that stopped (Ctrl-C, a crash) left a batch at the provider that
        # holds some of these requests: it is paid for, so collect it, then send the rest.
        logger.warning(
            "%d of the %d requests of this pass are in a batch submitted earlier to %s "
            "(recorded in %s): following it to collect them instead of paying again; the "
            "rest go out one by one.", len(held), len(jobs), self._describe(),
            self._get_cache().path)
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
            return super()._complete_batch(rest, deliver, run)
        finally:
            rest.release_all()
            jobs.stop = rest.stop

    def _keys_in_recorded_batches(self, jobs):
        """The keys of ``jobs`` that a batch recorded in the cache for this endpoint holds."""
        cache = self._get_cache()
        if cache is None:
            return set()
        wanted = set(jobs.keys())
        held = set()
        for record in cache.pending_batches(endpoint=self.endpoint(), model=self._model_id()):
            held.update(wanted.intersection(record["keys"]))
        return held

    def _request_body(self, messages, params):
        """The body of a chat request, as a line of a batch file holds it."""
        return {"model": self.model, "messages": messages, **self._sent_params(params)}

    def _logprob_params(self):
        return super()._logprob_params() if self.logprobs else {}

    def _open_backend(self):
        self._get_client()  # built once, before the worker threads share it
        if getattr(self, "_jitter", None) is None:
            self._jitter = random.Random(check_random_state(self.random_state).randint(2**31 - 1))
        if getattr(self, "_usage_lock", None) is None:
            self._usage_lock = threading.Lock()

    def _interrupted(self):
        self._drop_client()  # calls still in flight lose their connections

    def _drop_client(self):
        client, self.client_ = getattr(self, "client_", None), None
        if client is not None:
            try:
                client.close()
            except Exception:  # noqa: BLE001 - closing is best effort
                pass

    def _annotation_params(self, labels):
        params = super()._annotation_params(labels)
        if self.constrained:
            # room for '{"label": "..."}' around the longest label
            params["max_tokens"] += 12
            params["response_format"] = schema_format(labels, 0)
        return params

    def _complete(self, messages, params, run=None):
        """Send a request; an endpoint that refuses the label schema gets a simpler format.

        OpenAI and vLLM take ``json_schema``; the llama-cpp-python server takes
        ``json_object`` with a ``schema`` (it refuses ``json_schema`` with a
        500 that names ``response_format``); others may take neither, and
        then get free text read by the tolerant parser. The format
        that worked is kept for the labeler's later requests.
        """
        run = run if run is not None else RunContext()
        if "response_format" not in params:
            return self._send(messages, params, run)
        level = getattr(self, "_format_level", 0)
        while True:
            try:
                return self._send(messages, self._sent_params(params, level), run)
            except LLMCallError as exc:
                if not self._format_refused(exc.status_code, str(exc), level):
                    raise
                level += 1

    def _sent_params(self, params, level=None):
        """What is sent for ``params``: the label schema in the format of ``level``.

        ``level`` indexes the answer formats, simplest last (past the last:
        free text); None takes the one that worked so far.
        """
        if "response_format" not in params:
            return params
        level = getattr(self, "_format_level", 0) if level is None else level
        sent = dict(params)
        sent.pop("response_format")
        if level < len(SCHEMA_FORMATS):
            sent["response_format"] = schema_format(params["response_format"], level)
        return sent

    def _format_refused(self, status_code, message, level):
        """Whether an error refused the answer format of ``level`` and a simpler one is left.

        When it did, later requests of this labeler use the simpler one.
        """
        if level >= len(SCHEMA_FORMATS) or not refuses_format(status_code, message):
            return False
        if getattr(self, "_format_level", 0) <= level:
            self._format_level = level + 1
            logger.info("%s refused the answer schema (HTTP %s); trying %s.",
                        self._describe(), status_code,
                        SCHEMA_FORMATS[level + 1] if level + 1 < len(SCHEMA_FORMATS)
                        else "free text")
        return True

    def _send(self, messages, params, run):
        import openai

        client = self.client_
        report = RetryReport()

        def attempt():
            raw = client.chat.completions.with_raw_response.create(
                model=self.model, messages=messages, **params
            )
            return read_completion(raw.http_response.content.decode("utf-8", "replace"))

        def on_retry(exc, attempt_no, delay):
            with self._usage_lock:
                self.usage_.retries += 1
            logger.info(
                "Retrying %s in %.2fs after %s (attempt %d of %d).",
                self._describe(),
                delay,
                self._failure(exc),
                attempt_no + 1,
                self.max_retries + 1,
            )

        def on_failure(exc):
            billed = _billed_usage(exc)
            return None if billed is None else run.charge_failure(messages, params, billed)

        error = None
        try:
            response = call_with_retries(
                attempt,
                _classify,
                max_retries=self.max_retries,
                base_delay=self.retry_base_delay,
                max_delay=self.retry_max_delay,
                rng=self._jitter,
                on_retry=on_retry,
                on_failure=on_failure,
                cancel=run.cancel,
                report=report,
            )
        except (openai.OpenAIError, MalformedResponse) as exc:
            error = self._call_error(exc, report)
        if error is not None:
            # Raised here, not in the except clause: the provider's error (which may
            # echo the key) is neither its __cause__ nor its __context__.
            raise error
        return self._with_usage(response, messages, params)

    def _with_usage(self, response, messages, params):
        """``response`` with its token counts, estimated where the endpoint reports none."""
        if response["prompt_tokens"] is None:
            response["prompt_tokens"] = self._estimate_prompt_tokens(messages)
        if response["completion_tokens"] is None:
            response["completion_tokens"] = params["max_tokens"]
        return response

    def _api_call(self, fn, what, cancel=None):
        """Call ``fn()``, a request to the files or batches API, with the retry policy.

        Transient failures are retried as chat requests are; one that fails
        for good raises :class:`LLMCallError` whose message starts with
        ``what`` (e.g. ``"Uploading a batch file to"``) and holds no
        credential.
        """
        import openai

        report = RetryReport()

        def on_retry(exc, attempt_no, delay):
            logger.info("Retrying %s %s in %.2fs after %s (attempt %d of %d).",
                        what[0].lower() + what[1:], self._describe(), delay,
                        self._failure(exc), attempt_no + 1, self.max_retries + 1)

        error = None
        try:
            return call_with_retries(
                fn, _classify, max_retries=self.max_retries, base_delay=self.retry_base_delay,
                max_delay=self.retry_max_delay, rng=self._jitter, on_retry=on_retry,
                cancel=cancel, report=report,
            )
        except openai.OpenAIError as exc:
            error = self._call_error(exc, report, what)
        raise error  # outside the except clause: no provider error as its __context__

    def _call_error(self, exc, report, what="The LLM call to"):
        """The LLMCallError (or BudgetStop) for a request that failed for good."""
        if report.reason == "stopped":
            return BudgetStop(report.detail)
        status = getattr(exc, "status_code", None)
        hint = _HINTS.get(status)
        if status == 404 and what != "The LLM call to":  # a call of the Batch API
            hint = "the endpoint may not serve the files and batches API that batch=True uses"
        if report.reason == "retry_after":
            why = (f" after {report.attempts} attempt(s): the server asked to wait "
                   f"{report.wait:.0f} s (Retry-After), more than the {MAX_RETRY_AFTER:.0f} s "
                   "this labeler waits")
        elif hint:
            why = ""
        else:
            why = f" after {report.attempts} attempt(s)"
        return LLMCallError(
            f"{what} {self._describe()} failed{why}: {self._failure(exc)}"
            + (f"; {hint}." if hint else "."),
            status_code=status,
            transient=report.reason in ("exhausted", "retry_after"),
        )

    def _failure(self, exc):
        """A one-line, credential-free account of a failed attempt."""
        import openai

        if isinstance(exc, openai.APIStatusError):
            body = exc.body
            if isinstance(body, dict):
                body = body.get("error", body)
                body = body.get("message", body) if isinstance(body, dict) else body
            detail = f"HTTP {exc.status_code}" + (f" ({str(body)[:300]})" if body else "")
        elif isinstance(exc, openai.APITimeoutError):
            detail = f"no answer within timeout={self.timeout}s"
        elif isinstance(exc, openai.APIConnectionError):
            detail = "connection failed or dropped"
        else:
            detail = str(exc)
        return self._scrub(detail, self._key())
