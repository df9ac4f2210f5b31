"""Retry policy: exponential backoff with jitter, honouring Retry-After.

Generic over the client: the caller says which exceptions are worth a retry
(and how long the server asked to wait); everything else is raised at once.
"""

import email.utils
import time

__all__ = ["LLMCallError", "retry_after_seconds", "backoff_delay", "call_with_retries"]

# A server asking for longer than this is treated as "not now": give up.
MAX_RETRY_AFTER = 300.0


class LLMCallError(RuntimeError):
    """An LLM call failed for good: not retryable, or out of retries.

    The message names the model and the endpoint, never the credentials.

    Attributes
    ----------
    status_code : int or None
        The HTTP status of the last attempt, when there was one.
    """

    def __init__(self, message, *, status_code=None):
        super().__init__(message)
        self.status_code = status_code


def retry_after_seconds(headers):
    """Seconds a response asks to wait, from ``retry-after-ms`` or ``Retry-After``.

    Parameters
    ----------
    headers : mapping
        Response headers (case-insensitive lookup is tried).

    Returns
    -------
    seconds : float or None

    Examples
    --------
    >>> retry_after_seconds({"retry-after": "2"})
    2.0
    >>> retry_after_seconds({"retry-after-ms": "150"})
    0.15
    >>> retry_after_seconds({}) is None
    True
    """
    if not headers:
        return None

    def get(name):
        value = headers.get(name)
        if value is None and hasattr(headers, "items"):
            value = next((v for k, v in headers.items() if k.lower() == name), None)
        return value

    value = get("retry-after-ms")
    if value is not None:
        try:
            return max(0.0, float(value) / 1000.0)
        except ValueError:
            pass
    value = get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:  # an HTTP date
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def backoff_delay(attempt, base_delay, max_delay, rng):
    """Delay before retry number ``attempt`` (0-based): capped exponential, jittered.

    "Equal jitter": half the exponential delay plus a random part of the
    other half, so concurrent clients spread out but never retry at once.

    Examples
    --------
    >>> import random
    >>> 0.5 <= backoff_delay(1, 0.5, 30.0, random.Random(0)) <= 1.0
    True
    """
    delay = min(max_delay, base_delay * 2**attempt)
    return delay / 2 + rng.uniform(0, delay / 2)


def call_with_retries(
    fn, classify, *, max_retries, base_delay, max_delay, rng, on_retry=None, sleep=time.sleep
):
    """Call ``fn()`` and retry the failures that ``classify`` deems transient.

    Parameters
    ----------
    fn : callable
        The call, no arguments.
    classify : callable
        ``classify(exc)`` returns ``False`` for an error not worth a retry
        (it is raised at once), ``True`` to retry after the backoff delay,
        or a number of seconds the server asked to wait (Retry-After).
    max_retries : int
        Retries after the first attempt.
    base_delay, max_delay : float
        Backoff parameters, in seconds.
    rng : random.Random
        Source of the jitter.
    on_retry : callable, default=None
        ``on_retry(exc, attempt, delay)`` before each wait.
    sleep : callable, default=time.sleep

    Returns
    -------
    result : object
        What ``fn`` returned.
    """
    for attempt in range(max_retries + 1):
        try:
            return fn()
        except Exception as exc:
            decision = classify(exc)
            if decision is False or attempt == max_retries:
                raise
            delay = backoff_delay(attempt, base_delay, max_delay, rng)
            if decision is not True:
                if decision > MAX_RETRY_AFTER:
                    raise
                # at least what the server asked for, plus a little jitter
                delay = decision + rng.uniform(0, min(1.0, 0.1 * decision + 0.01))
            if on_retry is not None:
                on_retry(exc, attempt, delay)
            sleep(delay)
    raise AssertionError("unreachable")  # pragma: no cover
