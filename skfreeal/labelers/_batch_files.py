"""The Batch API's files: the requests of a run written as JSONL, the results read back.

A request file holds one line per request, in OpenAI's batch format (which
vLLM's ``run_batch`` reads too)::

    {"custom_id": "<request key>", "method": "POST", "url": "/v1/chat/completions",
     "body": {"model": "...", "messages": [...], "temperature": 0.0, ...}}

The ``custom_id`` is the request's cache key (64 hex characters), so that a
result line says by itself which request it answers. A file holds at most
:data:`MAX_REQUESTS` requests and :data:`MAX_BYTES` bytes (OpenAI's
limits); a larger run is split into several files, a batch each.

The output file has a line per answered request (``response.status_code``
200 and the chat completion as ``response.body``); the error file a line
per failed one: an HTTP error (``response.status_code`` and
``response.body.error``), or an error without a response (``error.code``,
e.g. ``"batch_expired"`` for a request an expired batch never ran).
"""

import json
from typing import NamedTuple

__all__ = ["ENDPOINT", "MAX_BYTES", "MAX_REQUESTS", "Result", "read_results", "request_line",
           "split_requests"]

#: The endpoint every request of a batch goes to.
ENDPOINT = "/v1/chat/completions"
#: Requests in one batch file, at most (OpenAI's limit).
MAX_REQUESTS = 50_000
#: Bytes of one batch file, at most (OpenAI's limit, 200 MB).
MAX_BYTES = 200_000_000

# Statuses a retry may fix (as for a synchronous call), and error codes it cannot: an
# empty account, a batch cancelled at the provider (by a person: not to be undone) or one
# that failed validation (the file would fail again).
_TRANSIENT_STATUSES = (408, 409, 429)
_PERMANENT_CODES = ("insufficient_quota", "batch_cancelled", "batch_failed")


def request_line(custom_id, body):
    """One line of a request file (UTF-8 bytes, newline included).

    Examples
    --------
    >>> request_line("k1", {"model": "m"})
    b'{"custom_id":"k1","method":"POST","url":"/v1/chat/completions","body":{"model":"m"}}\\n'
    """
    line = {"custom_id": custom_id, "method": "POST", "url": ENDPOINT, "body": body}
    return (json.dumps(line, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8")


def split_requests(lines, *, max_requests=None, max_bytes=None):
    """Split request lines into consecutive files within the limits.

    Parameters
    ----------
    lines : list of bytes
    max_requests, max_bytes : int, default=None
        None: :data:`MAX_REQUESTS` and :data:`MAX_BYTES`.

    Returns
    -------
    files : list of list of int
        The indices of the lines of each file (a line longer than
        ``max_bytes`` gets a file of its own).

    Examples
    --------
    >>> split_requests([b"a\\n"] * 5, max_requests=2)
    [[0, 1], [2, 3], [4]]
    """
    max_requests = MAX_REQUESTS if max_requests is None else max_requests
    max_bytes = MAX_BYTES if max_bytes is None else max_bytes
    files, current, size = [], [], 0
    for i, line in enumerate(lines):
        if current and (len(current) >= max_requests or size + len(line) > max_bytes):
            files.append(current)
            current, size = [], 0
        current.append(i)
        size += len(line)
    if current:
        files.append(current)
    return files


class Result(NamedTuple):
    """One line of an output or error file.

    Attributes
    ----------
    custom_id : str
    status : int or None
        The request's HTTP status; None when it got no response (it never
        ran, e.g. in an expired batch).
    body : str or None
        The chat completion (JSON text) when ``status`` is 200.
    message : str
        What went wrong ("" for an answer).
    code : str or None
        The provider's error code (``"batch_expired"``, ``"rate_limit_exceeded"``...).
    """

    custom_id: str
    status: object
    body: object
    message: str
    code: object

    @property
    def ok(self):
        """Whether the line holds an answer."""
        return self.status == 200 and self.body is not None

    @property
    def transient(self):
        """Whether another attempt may succeed (as for a synchronous call's error)."""
        if self.code in _PERMANENT_CODES:
            return False
        return self.status is None or self.status in _TRANSIENT_STATUSES or self.status >= 500


def read_results(content):
    """The results of an output or error file.

    Lines that are not JSON objects with a ``custom_id`` are skipped.

    Parameters
    ----------
    content : bytes or str

    Returns
    -------
    results : list of Result

    Examples
    --------
    >>> line = ('{"custom_id": "k1", "response": null, "error": {"code": "batch_expired", '
    ...         '"message": "not run in time"}}')
    >>> (result,) = read_results(line)
    >>> result.status, result.code, result.transient
    (None, 'batch_expired', True)
    """
    if isinstance(content, bytes):
        content = content.decode("utf-8", "replace")
    results = []
    # Lines end in "\n" only: a JSON string may hold U+2028 and the like unescaped,
    # which str.splitlines would cut (and the answer, paid for, be lost).
    for line in content.split("\n"):
        try:
            data = json.loads(line)
        except ValueError:
            continue
        if isinstance(data, dict) and isinstance(data.get("custom_id"), str):
            results.append(_result(data))
    return results


def _result(data):
    response = data.get("response") if isinstance(data.get("response"), dict) else None
    error = data.get("error") if isinstance(data.get("error"), dict) else None
    if response is None:
        error = error or {}
        return Result(data["custom_id"], None, None,
                      str(error.get("message") or "no response"), error.get("code"))
    status = response.get("status_code")
    body = response.get("body")
    if status == 200 and error is None:
        text = body if isinstance(body, str) else json.dumps(body)
        return Result(data["custom_id"], 200, text, "", None)
    detail = body.get("error", body) if isinstance(body, dict) else body
    if not isinstance(detail, dict):
        detail = {"message": detail}
    if error is not None:  # an error next to a response: the error says more
        detail = error
    return Result(data["custom_id"], status if isinstance(status, int) else None, None,
                  str(detail.get("message") or f"HTTP {status}"), detail.get("code"))
