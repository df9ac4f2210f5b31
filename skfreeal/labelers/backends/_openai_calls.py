"""The HTTP calls of :class:`OpenAIBackend`: the retry policy, the errors, the secrets kept out.

Every call (a chat request, a call of the files and batches API) is retried
on transient failures (429, 5xx, timeouts, dropped connections, malformed
bodies) with exponential backoff and jitter, honouring Retry-After; one that
fails for good raises :class:`~skfreeal.labelers.LLMCallError` naming the
model and the endpoint, never a credential (:meth:`OpenAICallsMixin.scrub`).
"""

import logging

from .._completion import MalformedResponse, read_completion
from .._endpoint import resolve_base_url, split_credentials
from .._requests import BudgetStop, RunContext
from .._retry import (
    MAX_RETRY_AFTER,
    LLMCallError,
    RetryReport,
    call_with_retries,
    retry_after_seconds,
)
from .._secrets import scrub
from .._usage import estimate_prompt_tokens

__all__ = ["OpenAICallsMixin"]

logger = logging.getLogger("skfreeal.labelers")

_HINTS = {
    400: "the endpoint rejected the request (a parameter it does not support? try logprobs=False)",
    401: "check the API key (the api_key parameter or OPENAI_API_KEY)",
    403: "the key is not allowed to use this model",
    404: "check the model name and base_url",
}


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


class OpenAICallsMixin:
    """Sending with retries, for :class:`OpenAIBackend` (its ``client_``, ``model``,
    ``timeout``, ``max_retries``, ``retry_base_delay``, ``retry_max_delay``,
    ``api_key``, ``base_url``, ``_jitter`` and ``_key()``)."""

    def _send(self, messages, params, run):
        """One chat request with its retries; the response dict (usage filled in)."""
        import openai

        client = self.client_
        report = RetryReport()

        def attempt():
            raw = client.chat.completions.with_raw_response.create(
                model=self.model, messages=messages, **params
            )
            return read_completion(raw.http_response.content.decode("utf-8", "replace"))

        def on_retry(exc, attempt_no, delay):
            run.count("retries")
            logger.info(
                "Retrying %s in %.2fs after %s (attempt %d of %d).",
                self.describe(),
                delay,
                self.failure(exc),
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
        return self.with_usage(response, messages, params, run)

    def with_usage(self, response, messages, params, run=None):
        """``response`` with its token counts, estimated where the endpoint reports none.

        The prompt's estimate is the run's (``run.estimate_prompt_tokens``,
        which knows the tokens per byte seen so far), else one token a byte.
        """
        run = run if run is not None else RunContext()
        if response["prompt_tokens"] is None:
            estimate = run.estimate_prompt_tokens or estimate_prompt_tokens
            response["prompt_tokens"] = estimate(messages)
        if response["completion_tokens"] is None:
            response["completion_tokens"] = params["max_tokens"]
        return response

    def api_call(self, fn, what, cancel=None):
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
                        what[0].lower() + what[1:], self.describe(), delay,
                        self.failure(exc), attempt_no + 1, self.max_retries + 1)

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
            f"{what} {self.describe()} failed{why}: {self.failure(exc)}"
            + (f"; {hint}." if hint else "."),
            status_code=status,
            transient=report.reason in ("exhausted", "retry_after"),
        )

    def failure(self, exc):
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
        return self.scrub(detail)

    def scrub(self, message):
        """``message`` without the key, the URL's credentials and query, nor long pieces of them."""
        url = resolve_base_url(self.base_url)
        _, userinfo = split_credentials(url)
        query = url.partition("?")[2].partition("#")[0]
        pieces = [p for p in (userinfo[1] if userinfo else None, query) if p]
        for secret in (self.api_key, self.base_url, self._key(), *pieces):
            message = scrub(message, secret)
        return message
