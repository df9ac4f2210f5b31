"""An OpenAI-compatible Batch API server on 127.0.0.1, for tests and benchmarks.

Importable on its own (put ``tests/`` on ``sys.path``; it needs only the
standard library and ``fault_server.py`` next to it)::

    from batch_server import BatchServer

    server = BatchServer(model="batch-model").start()
    labeler = OpenAILabeler("batch-model", base_url=server.url, batch=True,
                            batch_poll_interval=0.01, batch_max_poll_interval=0.05)
    ...
    server.n_files_uploaded, server.n_batches_created, server.n_polls
    server.stop()

It serves, in OpenAI's formats: ``POST /v1/files`` (multipart, the request
file, ``purpose=batch``), ``GET /v1/files/{id}`` and
``GET /v1/files/{id}/content``, ``POST /v1/batches``, ``GET /v1/batches``
(newest first, ``limit`` and ``after``), ``GET /v1/batches/{id}``,
``POST /v1/batches/{id}/cancel``; and ``GET /v1/models`` and
``POST /v1/chat/completions`` for the synchronous path.

A batch moves one step each time it is read (``GET /v1/batches/{id}``), so a
test knows what a client sees and nothing depends on timing: ``validating``
-> ``in_progress`` (0 done) -> its requests are run (``lines_per_poll`` a
read, all at once by default) -> ``finalizing`` -> ``completed`` with an
``output_file_id`` (the answered lines) and an ``error_file_id`` (the failed
ones; None when there are none), and ``request_counts`` as it goes. While
:meth:`BatchServer.pause` holds, a batch stays where it is. Answers are
:class:`~fault_server.FaultServer`'s (its keyword rule, the same bodies as
its chat completions), so the batch and synchronous paths answer alike.

Faults, planned per text (the last user message) for its successive runs
in batches (``line_faults``), as in ``fault_server``:

- ``"429"``, ``"500"``, ``"503"``, ``"400"``, ``"404"``: a line of the error
  file with that ``status_code`` and an error body;
- ``"no_response"``: an error-file line without response (``error.code``
  ``"server_error"``);
- ``"unreadable"``: an output line with status 200 whose body has no
  choices (billed: it carries a usage).

Batch faults: ``expire={n: k}`` makes the n-th batch created (0-based)
expire once k of its requests have run (the rest are written to the error
file as ``batch_expired``, as OpenAI does); ``fail_validation`` names
batches (by creation index) that fail validation; ``create_faults`` plans
the successive ``POST /v1/batches``: ``"drop"`` creates the batch and
closes the connection without an answer, ``"500"`` creates nothing. A file
over ``max_requests`` lines or ``max_bytes`` bytes, a line that is not a
request to ``/v1/chat/completions`` for the server's model, or a repeated
``custom_id``, fails validation too. With ``api_key`` every route wants it
(a 401 that echoes a wrong one, as OpenAI's does).
"""

import email.parser
import email.policy
import itertools
import json
import re
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fault_server import FaultServer, LocalServer, last_user_text  # noqa: E402

__all__ = ["BatchServer"]

_FINAL = ("completed", "failed", "expired", "cancelled")
_ENDPOINT = "/v1/chat/completions"
_ERRORS = {
    429: ("Rate limit reached.", "rate_limit_exceeded"),
    500: ("The server had an error.", "server_error"),
    503: ("The engine is overloaded.", "server_error"),
    400: ("Injected client error 400.", "invalid_request"),
    404: ("Injected client error 404.", "not_found"),
}


class BatchServer(LocalServer):
    """OpenAI-compatible files and batches API (see the module docstring).

    Parameters
    ----------
    model : str, default="batch-model"
        The one model it serves.
    labels : sequence of str, default=("negative", "positive")
        Label names the keyword rule may answer.
    api_key : str or None, default=None
        When set, requests must carry it (else 401).
    line_faults : dict of str to list of str, default=None
        Text -> the faults of its first runs in batches, in order.
    expire : dict of int to int, default=None
        Batch index -> requests it runs before it expires.
    fail_validation : iterable of int, default=()
        Indices of the batches that fail validation.
    create_faults : iterable of str, default=()
        Faults of the successive batch creations (``"drop"``, ``"500"``).
    lines_per_poll : int or None, default=None
        Requests run at each read of an ``in_progress`` batch (None: all).
    max_requests, max_bytes : int, default=50_000, 200_000_000
        A request file's limits (OpenAI's).
    schema_formats : tuple of str, default=("json_schema",)
        ``response_format`` types answered as JSON (another gets a 400 line).

    Attributes
    ----------
    url : str
        The base URL, ``http://127.0.0.1:PORT/v1`` (also ``base_url``).
    n_files_uploaded, n_batches_created, n_polls : int
        Request files uploaded, batches created, batch reads.
    batches : dict of str to dict
        Batch id -> the batch object (and the server's own ``_`` fields).
    events : list of tuple
        ``(route, detail)`` of every request served, in order.
    """

    def __init__(self, *, model="batch-model", labels=("negative", "positive"), api_key=None,
                 line_faults=None, expire=None, fail_validation=(), create_faults=(),
                 lines_per_poll=None, max_requests=50_000, max_bytes=200_000_000,
                 schema_formats=("json_schema",)):
        self.answerer = FaultServer(model=model, labels=labels, schema_formats=schema_formats)
        self.model = model
        self.api_key = api_key
        self.line_faults = {k: list(v) for k, v in (line_faults or {}).items()}
        self.expire = dict(expire or {})
        self.fail_validation = set(fail_validation)
        self.create_faults = list(create_faults)
        self.lines_per_poll = lines_per_poll
        self.max_requests = max_requests
        self.max_bytes = max_bytes
        self.files = {}
        self.batches = {}
        self.events = []
        self.lines_run = []  # (batch id, text) of every request run
        self._paused = threading.Event()
        self._runs = {}  # text -> runs so far
        self._ids = itertools.count(1)
        self._lock = threading.RLock()

    @property
    def url(self):
        """The base URL, ``http://127.0.0.1:PORT/v1`` (also ``base_url``)."""
        return self.base_url

    def pause(self):
        """Batches stay where they are (reads still answer) until :meth:`resume`."""
        self._paused.set()

    def resume(self):
        """Batches move on again."""
        self._paused.clear()

    # -- what tests read ------------------------------------------------------------

    @property
    def n_files_uploaded(self):
        return sum(1 for route, _ in self.events if route == "upload")

    @property
    def n_batches_created(self):
        return sum(1 for route, _ in self.events if route == "create")

    @property
    def n_polls(self):
        return sum(1 for route, _ in self.events if route == "retrieve")

    def statuses(self, batch_id):
        """The statuses the reads of a batch answered, in order (repeats dropped)."""
        seen = [detail[1] for route, detail in self.events
                if route == "retrieve" and detail[0] == batch_id]
        return [s for i, s in enumerate(seen) if i == 0 or s != seen[i - 1]]

    def requests_of(self, batch_id):
        """The parsed lines of a batch's request file."""
        return self.batches[batch_id]["_requests"]

    # -- the files ------------------------------------------------------------------

    def _new_file(self, content, purpose, filename):
        file_id = f"file-{next(self._ids):06d}"
        self.files[file_id] = {"id": file_id, "object": "file", "bytes": len(content),
                               "created_at": int(time.time()), "filename": filename,
                               "purpose": purpose, "status": "processed", "_content": content}
        return file_id

    def upload(self, content, purpose, filename):
        with self._lock:
            file_id = self._new_file(content, purpose, filename)
            self.events.append(("upload", file_id))
            return _public(self.files[file_id])

    # -- the batches ----------------------------------------------------------------

    def create(self, request):
        """A new batch (validated now, shown as ``validating`` until its first read)."""
        with self._lock:
            index = len(self.batches)
            batch_id = f"batch_{next(self._ids):06d}"
            now = int(time.time())
            batch = {
                "id": batch_id, "object": "batch", "endpoint": request.get("endpoint"),
                "errors": None, "input_file_id": request.get("input_file_id"),
                "completion_window": request.get("completion_window"), "status": "validating",
                "output_file_id": None, "error_file_id": None, "created_at": now,
                "in_progress_at": None, "expires_at": now + 86400, "finalizing_at": None,
                "completed_at": None, "failed_at": None, "expired_at": None,
                "cancelling_at": None, "cancelled_at": None,
                "request_counts": {"total": 0, "completed": 0, "failed": 0},
                "metadata": request.get("metadata"),
                "_index": index, "_requests": [], "_output": [], "_errors": [], "_next": 0,
            }
            errors = self._validate(batch)
            if index in self.fail_validation:
                errors.append({"code": "invalid_file", "message": "Injected validation failure.",
                               "line": None, "param": None})
            batch["_invalid"] = errors
            batch["request_counts"]["total"] = len(batch["_requests"])
            self.batches[batch_id] = batch
            self.events.append(("create", batch_id))
            return batch

    def _validate(self, batch):
        if batch["endpoint"] != _ENDPOINT or batch["completion_window"] != "24h":
            return [_invalid("invalid_request", "endpoint and completion_window must be "
                             f"{_ENDPOINT} and 24h", None)]
        file = self.files.get(batch["input_file_id"])
        if file is None or file["purpose"] != "batch":
            return [_invalid("invalid_file", "no batch file with this id", None)]
        content = file["_content"]
        lines = [line for line in content.decode("utf-8").splitlines() if line.strip()]
        if len(lines) > self.max_requests or len(content) > self.max_bytes:
            return [_invalid("too_large", f"more than {self.max_requests} requests or "
                             f"{self.max_bytes} bytes", None)]
        errors, seen = [], set()
        for number, line in enumerate(lines, 1):
            try:
                request = json.loads(line)
            except ValueError:
                errors.append(_invalid("invalid_json", "not JSON", number))
                continue
            body = request.get("body")
            if (request.get("method") != "POST" or request.get("url") != _ENDPOINT
                    or not isinstance(body, dict) or not isinstance(request.get("custom_id"), str)):
                errors.append(_invalid("invalid_request", "not a chat completions request",
                                       number))
            elif body.get("model") != self.model:
                errors.append(_invalid("model_not_found", f"model {body.get('model')!r}", number))
            elif request["custom_id"] in seen:
                errors.append(_invalid("duplicate_custom_id", "custom_id repeated", number))
            else:
                seen.add(request["custom_id"])
                batch["_requests"].append(request)
        return errors

    def retrieve(self, batch_id):
        """Read a batch, moving it one step on (unless paused)."""
        with self._lock:
            batch = self.batches[batch_id]
            if not self._paused.is_set():
                self._advance(batch)
            self.events.append(("retrieve", (batch_id, batch["status"])))
            return batch

    def advance(self, batch_id):
        """Move a batch one step on, paused or not (a test's own clock)."""
        with self._lock:
            self._advance(self.batches[batch_id])
            return self.batches[batch_id]["status"]

    def cancel(self, batch_id):
        with self._lock:
            batch = self.batches[batch_id]
            if batch["status"] not in _FINAL:
                batch["status"], batch["cancelling_at"] = "cancelling", int(time.time())
            self.events.append(("cancel", batch_id))
            return batch

    def listing(self, after=None, limit=20):
        with self._lock:
            newest = sorted(self.batches.values(), key=lambda b: b["id"], reverse=True)
            if after is not None:
                newest = [b for b in newest if b["id"] < after]
            page = newest[:limit]
            self.events.append(("list", after))
            return {"object": "list", "data": [_public(b) for b in page],
                    "first_id": page[0]["id"] if page else None,
                    "last_id": page[-1]["id"] if page else None,
                    "has_more": len(newest) > limit}

    def _advance(self, batch):
        now = int(time.time())
        status = batch["status"]
        if status == "validating":
            if batch["_invalid"]:
                batch.update(status="failed", failed_at=now,
                             errors={"object": "list", "data": batch["_invalid"]})
            else:
                batch.update(status="in_progress", in_progress_at=now)
        elif status == "in_progress":
            self._run_lines(batch)
        elif status == "finalizing":
            self._finish(batch, "completed", "completed_at")
        elif status == "cancelling":
            self._finish(batch, "cancelled", "cancelled_at")

    def _run_lines(self, batch):
        todo = batch["_requests"][batch["_next"]:]
        if self.lines_per_poll is not None:
            todo = todo[: self.lines_per_poll]
        limit = self.expire.get(batch["_index"])
        if limit is not None:
            todo = todo[: max(0, limit - batch["_next"])]
        for request in todo:
            self._run_line(batch, request)
        batch["_next"] += len(todo)
        if batch["_next"] == len(batch["_requests"]):
            batch.update(status="finalizing", finalizing_at=int(time.time()))
        elif limit is not None and batch["_next"] >= limit:
            for request in batch["_requests"][batch["_next"]:]:
                batch["_errors"].append(_line(request["custom_id"], None, error={
                    "code": "batch_expired", "message": "This request could not be executed "
                    "before the completion window expired."}))
            self._finish(batch, "expired", "expired_at")

    def _run_line(self, batch, request):
        body = request["body"]
        text = last_user_text(body.get("messages", []))
        runs = self._runs.get(text, 0)
        self._runs[text] = runs + 1
        plan = self.line_faults.get(text, [])
        fault = plan[runs] if runs < len(plan) else None
        self.lines_run.append((batch["id"], text))
        counts = batch["request_counts"]
        kind = (body.get("response_format") or {}).get("type")
        refused = kind not in (None, "text") and kind not in self.answerer.schema_formats
        if fault is None and refused:
            fault = "format"
        if fault is None or fault == "unreadable":
            answer = self.answerer.completion(body)
            if fault == "unreadable":
                answer["choices"] = []
            batch["_output"].append(_line(request["custom_id"], 200, answer))
            counts["completed"] += 1
            return
        counts["failed"] += 1
        if fault == "no_response":
            batch["_errors"].append(_line(request["custom_id"], None, error={
                "code": "server_error", "message": "The request could not be run."}))
            return
        status = 400 if fault == "format" else int(fault)
        message, code = _ERRORS[status]
        if fault == "format":
            message = f"response_format of type {kind!r} is not supported."
        batch["_errors"].append(_line(request["custom_id"], status, {"error": {
            "message": message, "type": "invalid_request_error", "code": code}}))

    def _finish(self, batch, status, stamp):
        for kind, field, purpose in (("_output", "output_file_id", "batch_output"),
                                     ("_errors", "error_file_id", "batch_output")):
            if batch[kind]:
                content = "".join(json.dumps(line) + "\n" for line in batch[kind]).encode()
                batch[field] = self._new_file(content, purpose, f"{batch['id']}{kind}.jsonl")
        batch.update({"status": status, stamp: int(time.time())})


def _invalid(code, message, line):
    return {"code": code, "message": message, "line": line, "param": None}


def _line(custom_id, status, body=None, error=None):
    request_id = f"req_{abs(hash(custom_id)) % 10**8:08d}"
    response = None if status is None else {"status_code": status, "request_id": request_id,
                                            "body": body}
    return {"id": f"batch_req_{request_id}", "custom_id": custom_id, "response": response,
            "error": error}


def _public(obj):
    return {k: v for k, v in obj.items() if not k.startswith("_")}


class _Handler(BaseHTTPRequestHandler):
    owner = None  # the BatchServer, set per server by LocalServer.start

    def log_message(self, *args):  # keep test output clean
        pass

    def _send(self, status, body, content_type="application/json"):
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _error(self, status, message, code=None):
        self._send(status, {"error": {"message": message, "type": "invalid_request_error",
                                      "param": None, "code": code}})

    def _authorised(self):
        state = self.owner
        auth = self.headers.get("Authorization") or ""
        if state.api_key is None or auth == f"Bearer {state.api_key}":
            return True
        given = auth.removeprefix("Bearer ")
        self._error(401, f"Incorrect API key provided: {given}. You can find your API key in "
                    "your account settings.", "invalid_api_key")
        return False

    def _body(self):
        return self.rfile.read(int(self.headers.get("Content-Length", 0)))

    def do_GET(self):
        state = self.owner
        parts = urlsplit(self.path)
        path = parts.path.rstrip("/")
        if not self._authorised():
            return
        if path.endswith("/models"):
            return self._send(200, {"object": "list",
                                    "data": [{"id": state.model, "object": "model"}]})
        match = re.fullmatch(r".*/files/([\w-]+)(/content)?", path)
        if match:
            file = state.files.get(match.group(1))
            if file is None:
                return self._error(404, f"No such File object: {match.group(1)}")
            if match.group(2):
                state.events.append(("download", file["id"]))
                return self._send(200, file["_content"], "application/octet-stream")
            return self._send(200, _public(file))
        match = re.fullmatch(r".*/batches/([\w-]+)", path)
        if match:
            return self._on_batch(match.group(1), state.retrieve)
        if path.endswith("/batches"):
            query = parse_qs(parts.query)
            return self._send(200, state.listing(query.get("after", [None])[0],
                                                 int(query.get("limit", ["20"])[0])))
        self._error(404, f"no route {self.path}")

    def do_POST(self):
        state = self.owner
        path = urlsplit(self.path).path.rstrip("/")
        data = self._body()
        if not self._authorised():
            return
        if path.endswith("/files"):
            return self._upload(data)
        if path.endswith("/batches"):
            return self._create(json.loads(data or b"{}"))
        match = re.fullmatch(r".*/batches/([\w-]+)/cancel", path)
        if match:
            return self._on_batch(match.group(1), state.cancel)
        if path.endswith("/chat/completions"):
            request = json.loads(data or b"{}")
            if request.get("model") != state.model:
                return self._error(404, f"The model '{request.get('model')}' does not exist",
                                   "model_not_found")
            state.events.append(("chat", None))
            return self._send(200, state.answerer.completion(request))
        self._error(404, f"no route {self.path}")

    def _on_batch(self, batch_id, action):
        """``action(batch_id)``'s batch object, or a 404 for an unknown id."""
        if batch_id not in self.owner.batches:
            return self._error(404, f"No batch found with id '{batch_id}'.")
        return self._send(200, _public(action(batch_id)))

    def _upload(self, data):
        header = f"Content-Type: {self.headers.get('Content-Type')}\r\n\r\n".encode()
        message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(header + data)
        fields, filename, content = {}, None, None
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            if part.get_filename() is not None:
                filename, content = part.get_filename(), part.get_payload(decode=True)
            else:
                fields[name] = part.get_payload(decode=True).decode()
        if content is None or fields.get("purpose") != "batch":
            return self._error(400, "a file and purpose=batch are required")
        self._send(200, self.owner.upload(content, "batch", filename))

    def _create(self, request):
        state = self.owner
        with state._lock:
            fault = state.create_faults.pop(0) if state.create_faults else None
        if fault == "500":
            return self._error(500, "The server had an error.")
        batch = state.create(request)
        if fault == "drop":  # created, but the client never hears of it
            self.close_connection = True
            self.connection.shutdown(2)
            return None
        self._send(200, _public(batch))


BatchServer._handler = _Handler
