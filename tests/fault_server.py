"""A small OpenAI-compatible HTTP server that labels by keyword and injects faults.

It serves ``GET /v1/models`` and ``POST /v1/chat/completions`` on 127.0.0.1
(a free port), answers each text with a label chosen by a deterministic rule,
and logs every request. Faults are planned per text, for its successive
attempts, so a test knows exactly what each text went through:

- ``"429"``: rate limited, ``Retry-After: 1`` and ``retry-after-ms``;
  ``"429s"``: rate limited with ``Retry-After`` in whole seconds only;
- ``"500"``, ``"503"``: server errors;
- ``"hang"``: no answer for ``hang_seconds``, then the connection closes;
- ``"drop"``: the connection closes without an answer;
- ``"malformed"``: ``200`` with a truncated JSON body;
- ``"truncated"``: ``200`` whose body stops half-way (the connection closes
  before ``Content-Length`` bytes);
- ``"empty_choices"``: ``200`` with ``"choices": []`` (and a ``usage``);
- ``"late"``: the answer, sent after ``late_seconds`` (past a client's timeout);
- ``"429long"``: rate limited with ``Retry-After: 3600``;
- ``"400"``, ``"401"``, ``"404"``: client errors (never retried).

The 200s that carry no usable answer (``malformed``, ``truncated``,
``empty_choices``, ``late``) are logged with the ``usage`` a provider would
bill, like the answers (:meth:`FaultServer.billed`). A wrong key gets a 401
that echoes it, as OpenAI's does; ``basic_auth`` makes the server require
HTTP Basic credentials instead of a key.

A demo-generation prompt ("Write N new texts ... label is "X"") is answered
with N numbered texts carrying X's keyword, overlapping from call to call;
one asking for one text gets one text, every other time a bad one (a copy
of an example, talk about the task, a text of another label).
A user message holding one of the ``wrong_first`` strings gets the wrong
label in its first successful answer and the right one after, as a noisy
annotator that a second look corrects. Content faults are permanent: a text in ``off_label`` is answered with a word
that is no label, one in ``empty`` with an empty completion. A text holding
``INJECT`` is answered with its correct label followed by a sentence that
quotes another label, as a model that read a prompt injection might.

A request with a ``response_format`` of a type in ``schema_formats`` (a label
schema) is answered ``{"label": "<label>"}`` (the off-label and empty answers
stay as they are); another type gets a 400 that names ``response_format``, as
servers that do not support it answer.
"""

import hashlib
import json
import math
import re
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

__all__ = ["FaultServer", "LocalServer", "keyword_ids", "keyword_label", "last_user_text",
           "passenger_texts", "service_texts"]

KEYWORDS = {"good": "positive", "great": "positive", "bad": "negative", "awful": "negative"}


def keyword_label(text, labels=("negative", "positive")):
    """The label of a text by keyword (``"good"`` -> positive...), else the first."""
    for word in re.findall(r"[a-z]+", text.lower()):
        if word in KEYWORDS and KEYWORDS[word] in labels:
            return KEYWORDS[word]
    return labels[0]


def keyword_ids(texts, labels=("negative", "positive")):
    """The index in ``labels`` of each text's label by :func:`keyword_label`."""
    return [list(labels).index(keyword_label(text, labels)) for text in texts]


def service_texts(n, prefix="text"):
    """``n`` distinct texts, each with one keyword of the rule (good, bad, great, awful)."""
    words = ["good", "bad", "great", "awful"]
    return [f"{prefix} {i}: the service was {words[i % 4]} today" for i in range(n)]


def passenger_texts(n, start=0):
    """Tweets ``"passenger i: <subject> was <good|bad|great|awful> today"`` for i from ``start``.

    Their keyword gives their label (:func:`keyword_label`): half positive.
    """
    subjects = ["the crew", "my seat", "the food", "boarding", "the lounge", "wifi"]
    words = ["good", "bad", "great", "awful"]
    return [f"passenger {i}: {subjects[i % len(subjects)]} was {words[i % 4]} today"
            for i in range(start, start + n)]


class LocalServer:
    """Serve a handler class on a free port of 127.0.0.1 from a daemon thread.

    A subclass sets ``_handler``, a :class:`BaseHTTPRequestHandler` subclass
    whose ``owner`` attribute is set to the server object it answers for.
    """

    _handler = None
    _httpd = None

    def start(self):
        """Serve (in a daemon thread); returns the server."""
        handler = type("Handler", (self._handler,), {"owner": self})

        class Server(ThreadingHTTPServer):
            request_queue_size = 128  # concurrent clients must never be refused

            def handle_error(self, request, client_address):
                # A client that gave up (a timeout, kill -9) closed the connection.
                if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
                    super().handle_error(request, client_address)

        self._httpd = Server(("127.0.0.1", 0), handler)
        self._httpd.daemon_threads = True
        threading.Thread(target=self._httpd.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def stop(self):
        """Stop serving."""
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    @property
    def base_url(self):
        """``http://127.0.0.1:PORT/v1``."""
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}/v1"


# Answer formats a real model produces; the parser must read them all.
# Faults that answer 200 (billed) with nothing the client can use.
_UNUSABLE = ("malformed", "truncated", "empty_choices", "late")

_STYLES = ["{}", "{}.", "Label: {}", "The sentiment is {}.", "**{}**", "{}\n\nThe text is clear."]


class FaultServer(LocalServer):
    """OpenAI-compatible test server (see the module docstring).

    Parameters
    ----------
    model : str
        The one model it serves (others get 404).
    labels : sequence of str
        Label names the keyword rule may answer.
    api_key : str or None
        When set, requests must carry it (else 401).
    faults : dict of str to list of str
        Text -> faults of its first attempts, in order.
    off_label, empty : set of str
        Texts answered off-label / empty, every time.
    wrong_first : iterable of str
        Substrings whose first successful answer is the wrong label.
    delay : float
        Seconds each successful answer takes.
    hang_seconds : float
        How long a ``"hang"`` lasts.
    schema_formats : tuple of str
        ``response_format`` types it accepts (``"json_schema"``,
        ``"json_object"``); () refuses every one.
    late_seconds : float or None
        How late a ``"late"`` answer comes (None: ``hang_seconds``).
    basic_auth : tuple of (str, str) or None
        When set, requests must carry these HTTP Basic credentials (else 401).
    """

    def __init__(self, *, model="fault-model", labels=("negative", "positive"), api_key=None,
                 faults=None, off_label=(), empty=(), wrong_first=(), delay=0.0, hang_seconds=2.0,
                 schema_formats=("json_schema",), late_seconds=None, basic_auth=None):
        self.model = model
        self.labels = tuple(labels)
        self.api_key = api_key
        self.faults = {k: list(v) for k, v in (faults or {}).items()}
        self.off_label = set(off_label)
        self.empty = set(empty)
        self.wrong_first = set(wrong_first)
        self._wrong_given = set()
        self.delay = delay
        self.hang_seconds = hang_seconds
        self.schema_formats = tuple(schema_formats)
        self.late_seconds = hang_seconds if late_seconds is None else late_seconds
        self.basic_auth = basic_auth
        self.log = []
        self.n_received = 0  # requests read, logged or not yet (a delayed one is in flight)
        self.received_at = []  # time.monotonic() of each request read
        self._lock = threading.Lock()
        self._attempts = {}

    # -- what the tests read --------------------------------------------------------

    def requests_for(self, text):
        """Log entries of one text."""
        with self._lock:
            return [entry for entry in self.log if entry["text"] == text]

    def answered(self):
        """Texts that got a 200 with a completion, in order (repeats kept)."""
        with self._lock:
            return [entry["text"] for entry in self.log if entry["outcome"] == "ok"]

    def billed(self):
        """Log entries a provider would bill: answers, and 200s the client could not use."""
        with self._lock:
            return [entry for entry in self.log if "usage" in entry]

    # -- the behaviour --------------------------------------------------------------

    def _next_fault(self, text):
        with self._lock:
            n = self._attempts.get(text, 0)
            self._attempts[text] = n + 1
            plan = self.faults.get(text, [])
            return plan[n] if n < len(plan) else None

    def _record(self, **entry):
        entry["time"] = time.monotonic()
        with self._lock:
            self.log.append(entry)

    def answer(self, text, structured=False):
        """The completion text for a user text (no fault); ``{"label": ...}`` when ``structured``."""
        wanted = re.search(r'Write (\d+|one) new texts?.*?correct label is "([^"]+)"', text, re.S)
        if wanted:
            n = 1 if wanted.group(1) == "one" else int(wanted.group(1))
            return self.generate(n, wanted.group(2), text)
        if text in self.empty:
            return ""
        if text in self.off_label:
            return json.dumps({"label": "banana"}) if structured else "banana"
        label = keyword_label(text, self.labels)
        flaky = next((w for w in self.wrong_first if w in text), None)
        if flaky is not None:
            with self._lock:
                first = flaky not in self._wrong_given
                self._wrong_given.add(flaky)
            if first:
                label = next(lb for lb in self.labels if lb != label)
        if structured:
            return json.dumps({"label": label})
        if flaky is not None:
            return label
        if "INJECT" in text:
            other = next(lb for lb in self.labels if lb != label)
            return f'{label} (the text asks me to answer "{other}", which I ignore)'
        return _STYLES[sum(map(ord, text)) % len(_STYLES)].format(label)

    def completion(self, request):
        """The chat completion body answering a request (no fault, no check of model or format).

        The answer is :meth:`answer`'s, as JSON when the request asks for a
        ``response_format`` the server takes; logprobs when asked; a usage
        counted in words.
        """
        messages = request.get("messages", [])
        kind = (request.get("response_format") or {}).get("type")
        answer = self.answer(last_user_text(messages), structured=kind in self.schema_formats)
        choice = {"index": 0, "finish_reason": "stop",
                  "message": {"role": "assistant", "content": answer}}
        if request.get("logprobs"):
            choice["logprobs"] = _logprobs(answer, self.labels, request.get("top_logprobs") or 1)
        return {"id": "chatcmpl-test", "object": "chat.completion", "created": 0,
                "model": self.model, "choices": [choice], "usage": _usage(messages, answer)}

    def generate(self, n, label, prompt):
        """A demo-generation answer: numbered texts whose keyword gives ``label``.

        Consecutive calls overlap (the same texts come back), and, as real
        models do, the answer mixes in a header, a duplicate, a bare label, a
        copy of a shown example (punctuation changed), a text about the task
        naming two labels, and one text whose keyword gives another label.
        """
        inverse = {v: k for k, v in KEYWORDS.items()}
        word = inverse.get(label, label)
        other = next(lb for lb in self.labels if lb != label)
        with self._lock:
            self._generation_calls = getattr(self, "_generation_calls", 0) + 1
            start = 2 * (self._generation_calls - 1)
        shown = re.findall(r"<text>(.*?)</text>", prompt)
        partial_copy = " ".join(shown[0].replace(":", " -").split()[:-1]) if shown else "x"
        if n == 1:  # one text a call: every other answer is one of the bad kinds
            kinds = [
                f'"{_phrase(start)}, {word}"',
                partial_copy,
                f"{_phrase(start)}, {word}",
                f"Is this {label} or {other}? Hard to say, number {start}",
                f"{_phrase(start)}, {word}",
                f"an {inverse.get(other, other)} thing that is {word} too, number {start}",
            ]
            return kinds[(self._generation_calls - 1) % len(kinds)]
        lines = [
            f"Here are {n} texts:",
            f"1. an {inverse.get(other, other)} thing that is {word} too, number {start}",
            f"2. {partial_copy}",
            f"3. Is this {label} or {other}? Hard to say, number {start}",
        ]
        lines += [f"{i + 4}. {_phrase(start + i)}, {word}" for i in range(n - 1)]
        lines += [f"{n + 3}. {_phrase(start)}, {word}", label]
        return "\n".join(lines)


_SUBJECTS = ["the crew", "my luggage", "lunch on board", "our pilot", "seat 14C", "boarding",
             "the lounge", "wifi", "their app", "customer service", "the delay", "legroom"]
_TIMES = ["this morning", "yesterday", "on Friday", "tonight", "last week", "in Denver"]


def _phrase(i):
    """A distinct generated sentence for each i (until 72)."""
    return f"{_SUBJECTS[i % len(_SUBJECTS)]} {_TIMES[i // len(_SUBJECTS) % len(_TIMES)]}"


def last_user_text(messages):
    """The content of the last user message (the text to label), or ""."""
    users = [m for m in messages if m.get("role") == "user"]
    return users[-1]["content"] if users else ""


def _usage(messages, answer):
    prompt = sum(len(str(m.get("content", "")).split()) + 4 for m in messages)
    return {"prompt_tokens": prompt, "completion_tokens": max(1, len(answer.split())),
            "total_tokens": prompt + max(1, len(answer.split()))}


def _logprobs(answer, labels, top):
    """Token logprobs: 0.9 for a label token (0.08 for another label), 0.99 else."""
    content = []
    tokens = re.findall(r"\s*\S+", answer)
    if answer.startswith('{"label": "'):  # the label as a token of its own
        tokens = ['{"label": "', answer[11:-2], '"}']
    for token in tokens:
        word = token.strip().strip("*.:\"'()").lower()
        if word in labels:
            other = next(lb for lb in labels if lb != word)
            lp, alts = math.log(0.9), [[token, math.log(0.9)], [other, math.log(0.08)]]
        else:
            lp, alts = math.log(0.99), [[token, math.log(0.99)]]
        content.append({"token": token, "logprob": lp, "bytes": None,
                        "top_logprobs": [{"token": t, "logprob": v, "bytes": None}
                                         for t, v in alts[:top]]})
    return {"content": content, "refusal": None}


class _Handler(BaseHTTPRequestHandler):
    owner = None  # the FaultServer, set per server by LocalServer.start

    def log_message(self, *args):  # keep test output clean
        pass

    def _send(self, status, body, headers=()):
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _error(self, status, message, code=None, headers=()):
        self._send(status, {"error": {"message": message, "type": "invalid_request_error",
                                      "code": code}}, headers)

    def _drop(self):
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.close_connection = True

    def _unusable(self, fault, answer, usage):
        """A 200 the provider bills but the client cannot use (see the module docstring)."""
        server = self.owner
        if fault == "malformed":
            return self._send(200, b'{"id": "x", "choices": [{"message": {"content": "pos')
        body = {"id": "chatcmpl-test", "object": "chat.completion", "created": 0,
                "model": server.model, "usage": usage,
                "choices": [{"index": 0, "finish_reason": "stop",
                             "message": {"role": "assistant", "content": answer}}]}
        if fault == "empty_choices":
            body["choices"] = []
            return self._send(200, body)
        if fault == "late":
            time.sleep(server.late_seconds)
            try:
                return self._send(200, body)
            except OSError:  # the client gave up and closed the connection
                return self._drop()
        data = json.dumps(body).encode()  # truncated: half the promised bytes, then close
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data[: len(data) // 2])
        self.wfile.flush()
        return self._drop()

    def do_GET(self):
        if self.path.rstrip("/").endswith("/models"):
            self._send(200, {"object": "list",
                             "data": [{"id": self.owner.model, "object": "model"}]})
        else:
            self._error(404, f"no route {self.path}")

    def do_POST(self):
        server = self.owner
        length = int(self.headers.get("Content-Length", 0))
        request = json.loads(self.rfile.read(length) or b"{}")
        with server._lock:
            server.n_received += 1
            server.received_at.append(time.monotonic())
        messages = request.get("messages", [])
        text = last_user_text(messages)
        digest = hashlib.sha256(json.dumps(request, sort_keys=True).encode()).hexdigest()
        kind = (request.get("response_format") or {}).get("type")
        entry = {"text": text, "n_messages": len(messages), "model": request.get("model"),
                 "digest": digest, "response_format": kind}
        if not self.path.rstrip("/").endswith("/chat/completions"):
            server._record(outcome="404", **entry)
            return self._error(404, f"no route {self.path}")
        auth = self.headers.get("Authorization") or ""
        if server.basic_auth is not None:
            import base64

            wanted = base64.b64encode(":".join(server.basic_auth).encode()).decode()
            if auth != f"Basic {wanted}":
                server._record(outcome="401", **entry)
                return self._error(401, "Basic authentication required.", "invalid_auth")
        elif server.api_key is not None and auth != f"Bearer {server.api_key}":
            server._record(outcome="401", **entry)
            given = auth.removeprefix("Bearer ")
            return self._error(401, f"Incorrect API key provided: {given}. You can find your "
                               "API key in your account settings.", "invalid_api_key")
        if request.get("model") != server.model:
            server._record(outcome="404", **entry)
            return self._error(404, f"The model '{request.get('model')}' does not exist",
                               "model_not_found")
        fault = server._next_fault(text)
        if fault in _UNUSABLE:  # produced (and billed), then lost on the way
            answer = server.answer(text)
            usage = _usage(messages, answer)
            server._record(outcome=fault, usage=usage, **entry)
            return self._unusable(fault, answer, usage)
        if fault is not None:
            server._record(outcome=fault, **entry)
        if fault == "429":
            return self._error(429, "Rate limit reached.", "rate_limit_exceeded",
                               [("Retry-After", "1"), ("retry-after-ms", "200")])
        if fault == "429long":
            return self._error(429, "Rate limit reached.", "rate_limit_exceeded",
                               [("Retry-After", "3600")])
        if fault == "429s":
            return self._error(429, "Rate limit reached.", "rate_limit_exceeded",
                               [("Retry-After", "1")])
        if fault in ("500", "503"):
            return self._error(int(fault), "The server had an error.")
        if fault in ("400", "401", "404"):
            return self._error(int(fault), f"Injected client error {fault}.")
        if fault == "hang":
            time.sleep(server.hang_seconds)
            return self._drop()
        if fault == "drop":
            return self._drop()
        if kind is not None and kind != "text" and kind not in server.schema_formats:
            server._record(outcome="400", **entry)
            return self._error(400, f"response_format of type {kind!r} is not supported.")
        if server.delay:
            time.sleep(server.delay)
        body = server.completion(request)
        server._record(outcome="ok", usage=body["usage"], **entry)
        self._send(200, body)


FaultServer._handler = _Handler
