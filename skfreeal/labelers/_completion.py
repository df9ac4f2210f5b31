"""A chat completion's body read into a response dict, and the answer formats asked for.

Shared by the two ways :class:`~skfreeal.labelers.backends.OpenAIBackend` sends a
request: one HTTP call (a body in the response) and the Batch API (a body on
a line of the output file).
"""

import json
import re

from ._annotation import label_schema

__all__ = [
    "KEPT_LOGPROB_TOKENS",
    "SCHEMA_FORMATS",
    "MalformedResponse",
    "read_completion",
    "refuses_format",
    "reported_usage",
    "schema_format",
]

#: Logprobs of this many answer tokens are kept in an answer (labels are short).
KEPT_LOGPROB_TOKENS = 48
# Ways to ask for an answer that can only be a label, most standard first.
SCHEMA_FORMATS = ("json_schema", "json_object")

_USAGE_FIELD = re.compile(r'"(prompt_tokens|completion_tokens)"\s*:\s*(\d+)')


class MalformedResponse(Exception):
    """A 2xx answer whose body is not a chat completion (retried).

    ``usage`` holds the token counts the body reported, when it could be read.
    """

    def __init__(self, message, usage=None):
        super().__init__(message)
        self.usage = usage


def reported_usage(body):
    """Token counts an unreadable body still reports (a truncated body may keep them).

    Examples
    --------
    >>> reported_usage('{"usage": {"prompt_tokens": 12, "completion_tokens": 3')
    {'prompt_tokens': 12, 'completion_tokens': 3}
    """
    found = dict((name, int(value)) for name, value in _USAGE_FIELD.findall(body or ""))
    return found or None


def read_completion(body):
    """The response dict of a chat completion body (str), or :class:`MalformedResponse`.

    Returns
    -------
    response : dict
        ``text``, ``logprobs`` (``[token, logprob, [[alt, logprob], ...]]``
        per generated token, or None), ``prompt_tokens`` and
        ``completion_tokens`` (None when the body reports no usage) and
        ``cached_tokens``.

    Examples
    --------
    >>> body = '{"choices": [{"message": {"content": "positive"}}], "usage": {}}'
    >>> read_completion(body)["text"]
    'positive'
    """
    try:
        data = json.loads(body)
        choice = data["choices"][0]
        text = (choice.get("message") or {}).get("content") or ""
        if not isinstance(text, str):
            raise TypeError("content is not a string")
        usage = data.get("usage") or {}
        content = (choice.get("logprobs") or {}).get("content") or None
        logprobs = None
        if content:
            logprobs = [
                [
                    t["token"],
                    float(t["logprob"]),
                    [[a["token"], float(a["logprob"])] for a in t.get("top_logprobs") or []],
                ]
                for t in content[:KEPT_LOGPROB_TOKENS]
            ]
        details = usage.get("prompt_tokens_details") or {}
        return {
            "text": text,
            "logprobs": logprobs,
            "prompt_tokens": usage.get("prompt_tokens"),
            "completion_tokens": usage.get("completion_tokens"),
            "cached_tokens": int(details.get("cached_tokens") or 0),
        }
    except (ValueError, KeyError, IndexError, TypeError, AttributeError) as exc:
        raise MalformedResponse(f"not a chat completion ({type(exc).__name__})",
                                usage=reported_usage(body)) from None


def schema_format(labels_or_format, level):
    """The ``response_format`` of level ``level`` for the labels (or of another format's schema).

    ``labels_or_format``: the label names, a label space (a
    :class:`~skfreeal.labels.MultiLabelSpace` asks for a set of labels, see
    :func:`~skfreeal.labelers._annotation.label_schema`) or a ``response_format``.

    Examples
    --------
    >>> schema_format(["neg", "pos"], 1)["type"]
    'json_object'
    """
    if isinstance(labels_or_format, dict):
        schema = (labels_or_format.get("json_schema") or {}).get("schema") or \
            labels_or_format.get("schema")
    else:
        schema = label_schema(labels_or_format)
    if SCHEMA_FORMATS[level] == "json_schema":
        name = "labels" if "labels" in schema["properties"] else "label"  # a label set
        return {"type": "json_schema",
                "json_schema": {"name": name, "schema": schema, "strict": True}}
    return {"type": "json_object", "schema": schema}


def refuses_format(status_code, message):
    """Whether an error (HTTP status, message) says the ``response_format`` sent is not taken.

    Examples
    --------
    >>> refuses_format(400, "response_format of type 'json_schema' is not supported")
    True
    >>> refuses_format(500, "The server had an error.")
    False
    """
    text = str(message).lower()
    return status_code in (400, 422, 500) and any(
        word in text for word in ("response_format", "json_schema", "json_object", "schema"))
