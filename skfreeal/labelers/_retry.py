"""Retry policy: exponential backoff with jitter, honouring Retry-After.

Generic over the client: the caller says which exceptions are worth a retry
(and how long the server asked to wait); everything else is raised at once.
"""

import email.utils
import time

__all__ = [
    "CallCancelled",
    "LLMCallError",
    "RetryReport",
    "backoff_delay",
    "call_with_retries",
    "retry_after_seconds",
]

# A server asking for longer than this is treated as "not now": give up.
MAX_RETRY_AFTER = 300.0


class LLMCallError(RuntimeError):
    """An LLM call failed for good: not retryable, or out of retries.

    The message names the model and the endpoint, never the credentials.

    Attributes
    ----------
    status_code : int or None
        The HTTP status of the last attempt, when there was one.
    transient : bool
        Whether the failure was of a kind worth retrying (timeouts, dropped
        connections, 429, 5xx, malformed answers) that ran out of attempts
        or of patience (a long Retry-After): another run may succeed. A
        labeler with ``on_failure="abstain"`` leaves such a text unlabelled
        instead of stopping.
    """

    def __init__(self, message, *, status_code=None, transient=False):
        super().__init__(message)
        self.status_code = status_code
        self.transient = transient


class CallCancelled(Exception):
    """The run was interrupted (Ctrl-C): no further attempt is made."""


class RetryReport:
    """How :func:`call_with_retries` ended, for the error message.

    Attributes
    ----------
    attempts : int
        Attempts made.
    reason : str or None
        Why it stopped without a result: ``"not_retryable"``,
        ``"exhausted"`` (out of retries), ``"retry_after"`` (the server
        asked to wait longer than :data:`MAX_RETRY_AFTER`), ``"stopped"``
        (``on_failure`` said so, e.g. the budget) or ``"cancelled"``.
    wait : float or None
        The refused Retry-After, in seconds.
    detail : str or None
        What ``on_failure`` said.
    """

    __slots__ = ("attempts", "reason", "wait", "detail")

    def __init__(self):
        self.attempts, self.reason, self.wait, self.detail = 0, None, None, None


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


def _is_last_attempt(decision, stop, attempt, max_retries, report):
    """Whether a failed attempt ends the call, with the reason written in ``report``.

    It does when ``classify`` said ``False`` (``"not_retryable"``), when
    ``on_failure`` returned a str ``stop`` (``"stopped"``, the str as
    ``detail``), or when no retry is left (``"exhausted"``), in that order.
    """
    if decision is False:
        report.reason = "not_retryable"
    elif stop is not None:
        report.reason, report.detail = "stopped", stop
    elif attempt == max_retries:
        report.reason = "exhausted"
    else:
        return False
    return True


def call_with_retries(
    fn, classify, *, max_retries, base_delay, max_delay, rng, on_retry=None, sleep=time.sleep,
    on_failure=None, cancel=None, report=None,
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
        Used when ``cancel`` is None.
    on_failure : callable, default=None
        ``on_failure(exc)`` after each failed attempt (e.g. to charge an
        attempt the server may have billed); a str it returns stops the
        retries (``report.reason = "stopped"``, ``report.detail`` the str).
    cancel : threading.Event, default=None
        When set, no further attempt is made and the wait before a retry
        ends at once: :class:`CallCancelled` is raised.
    report : RetryReport, default=None
        Filled in with the attempts made and why they stopped.

    Returns
    -------
    result : object
        What ``fn`` returned.

    Raises
    ------
    Exception
        The last attempt's error, when no retry is left or worth making.
    CallCancelled
        When ``cancel`` was set.
    """
    report = RetryReport() if report is None else report
    for attempt in range(max_retries + 1):
        if cancel is not None and cancel.is_set():
            break
        report.attempts = attempt + 1
        try:
            return fn()
        except Exception as exc:
            stop = on_failure(exc) if on_failure is not None else None
            decision = classify(exc)
            if _is_last_attempt(decision, stop, attempt, max_retries, report):
                raise
            delay = backoff_delay(attempt, base_delay, max_delay, rng)
            if decision is not True:
                if decision > MAX_RETRY_AFTER:
                    report.reason, report.wait = "retry_after", float(decision)
                    raise
                # at least what the server asked for, plus a little jitter
                delay = decision + rng.uniform(0, min(1.0, 0.1 * decision + 0.01))
            if on_retry is not None:
                on_retry(exc, attempt, delay)
            if cancel is None:
                sleep(delay)
            elif cancel.wait(delay):
                break
    # Raised outside the except clause: it carries no provider error as __context__.
    report.reason = "cancelled"
    raise CallCancelled("the run was interrupted; no further attempt is made")
