"""A persistent LLM response cache: SQLite in WAL mode, shared by threads and processes.

Every answer is written (and committed) as soon as it arrives, so a run that
is killed half-way loses at most the answers in flight, and a re-run sends
only the texts that were never answered. The key is a hash of what decides
the answer (model id, messages, sampling parameters) and nothing else: no
credential, no endpoint URL.

Runs that share the file (processes, grid-search workers) also share the
work: a run *claims* a request before sending it (:meth:`ResponseCache.claim`),
and another run that needs the same answer waits for it instead of paying
for it again. A claim names its process; it lapses when that process is
gone (same machine: its pid, with the process's start time and the
machine's boot, so a restarted container that reuses the pid is no owner)
or when its lease runs out, so a run killed with ``kill -9`` never blocks
the next one for long.

A Batch API job in flight is recorded here too (:meth:`ResponseCache.add_batch`,
the ``batches`` table): the requests it holds (their keys), its input file
and batch ids and the endpoint, written before the run waits for it and
dropped once its answers are stored, so that a run stopped half-way picks up
the same batch instead of paying for it again. No credential is stored.
"""

import hashlib
import json
import os
import socket
import sqlite3
import threading
import time
from pathlib import Path

__all__ = ["ResponseCache", "cache_key"]

_SCHEMA = (
    """
CREATE TABLE IF NOT EXISTS responses (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    created REAL NOT NULL
)
""",
    """
CREATE TABLE IF NOT EXISTS claims (
    key TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    pid INTEGER NOT NULL,
    host TEXT NOT NULL,
    expires REAL NOT NULL
)
""",
    """
CREATE TABLE IF NOT EXISTS batches (
    token TEXT PRIMARY KEY,
    endpoint TEXT NOT NULL,
    model TEXT NOT NULL,
    input_file_id TEXT NOT NULL,
    batch_id TEXT,
    keys TEXT NOT NULL,
    created REAL NOT NULL
)
""",
)
_HOST = socket.gethostname()


def _read(path):
    try:
        return Path(path).read_text().strip()
    except OSError:
        return ""


def _process_start(pid):
    """When process ``pid`` started (clock ticks since boot, Linux), or "" when unknown."""
    stat = _read(f"/proc/{pid}/stat")
    fields = stat[stat.rfind(")") + 2:].split() if stat else []
    return fields[19] if len(fields) > 19 else ""  # field 22 of proc(5)


# A claim names its machine, the machine's boot and its process's start, not
# only its pid: a container restarted on the same machine reuses pids (often
# 1), and a dead run's claims must not pass for the new run's.
_BOOT = _read("/proc/sys/kernel/random/boot_id")
_CLAIMANTS = {}  # pid -> claimant: computed in the process itself (a fork has its own)


def _claimant():
    """What this process writes in a claim's ``host`` column: ``host#boot#start``."""
    pid = os.getpid()
    if pid not in _CLAIMANTS:
        _CLAIMANTS[pid] = f"{_HOST}#{_BOOT}#{_process_start(pid)}"
    return _CLAIMANTS[pid]


def _process_alive(pid, claimant):
    """False only when the claim's process is known to be gone (same machine).

    ``claimant`` is the claim's ``host`` column: ``host#boot#start`` (older
    versions wrote the host alone, and their claims are judged by pid).
    """
    host, _, rest = claimant.partition("#")
    if host != _HOST:
        return True  # cannot tell: the lease decides
    boot, _, start = rest.partition("#")
    if boot and _BOOT and boot != _BOOT:
        return False  # the machine restarted since
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists, owned by another user
        pass
    return not (start and _process_start(pid) not in ("", start))  # else: a reused pid


def cache_key(model_id, messages, params):
    """Hex sha256 of a request: the model id, the messages, the sampling parameters.

    Parameters
    ----------
    model_id : str
    messages : list of dict
    params : dict
        Sampling parameters that change the answer (temperature, max tokens,
        logprobs, seed...).

    Returns
    -------
    key : str

    Examples
    --------
    >>> k1 = cache_key("m", [{"role": "user", "content": "hi"}], {"temperature": 0})
    >>> k2 = cache_key("m", [{"role": "user", "content": "hi"}], {"temperature": 0.0})
    >>> k1 == k2, len(k1)
    (True, 64)
    """
    payload = json.dumps(
        {"model": model_id, "messages": messages, "params": _canonical(params)},
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def _canonical(params):
    # 0 and 0.0 give the same answer: one key for both.
    return {k: float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else v
            for k, v in params.items()}


def _in_chunks(keys):
    """``keys`` in pieces of at most 500 (SQLite's bound-parameter limit), each with
    its placeholders ``?,?,...`` for an ``IN (...)``."""
    for i in range(0, len(keys), 500):
        chunk = keys[i : i + 500]
        yield chunk, ",".join("?" * len(chunk))


class ResponseCache:
    """Key-value store of LLM responses in one SQLite file.

    Safe across threads (one connection per thread) and processes (WAL
    journal, a busy timeout, one short transaction per write). Connections
    are opened lazily and re-opened after a fork.

    Parameters
    ----------
    path : str or path-like
        The database file; its folder is created if needed.
    timeout : float, default=60.0
        Seconds to wait for a lock held by another writer.

    Examples
    --------
    >>> import tempfile, os
    >>> cache = ResponseCache(os.path.join(tempfile.mkdtemp(), "r.sqlite"))
    >>> cache.put("k", {"text": "positive"})
    >>> cache.get_many(["k", "missing"])
    {'k': {'text': 'positive'}}
    """

    def __init__(self, path, timeout=60.0):
        self.path = Path(path)
        self.timeout = timeout
        self._local = threading.local()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = self._connect()
        for statement in _SCHEMA:
            conn.execute(statement)

    def get_many(self, keys):
        """Stored values of the keys that are present.

        Parameters
        ----------
        keys : iterable of str
            Request keys, as :meth:`put` stored them.

        Returns
        -------
        found : dict of str to object
            Each stored key's value; absent keys are left out.
        """
        found = {}
        conn = self._connect()
        for chunk, marks in _in_chunks(list(dict.fromkeys(keys))):
            rows = conn.execute(
                f"SELECT key, value FROM responses WHERE key IN ({marks})", chunk
            ).fetchall()
            found.update((key, json.loads(value)) for key, value in rows)
        return found

    def put(self, key, value):
        """Store (or replace) one value, committed at once, and drop its claim.

        Parameters
        ----------
        key : str
        value : JSON-serialisable object
        """
        with self._transaction() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO responses (key, value, created) VALUES (?, ?, ?)",
                (key, json.dumps(value, ensure_ascii=False), time.time()),
            )
            conn.execute("DELETE FROM claims WHERE key = ?", (key,))

    def claim(self, key, owner, lease):
        """Take the right to send a request, unless it is answered or another run has it.

        Parameters
        ----------
        key : str
        owner : str
            Names the run (unique per run, not per process).
        lease : float
            Seconds after which the claim lapses even if its process lives.

        Returns
        -------
        state : {"claimed", "answered", "busy"}
            ``"claimed"``: send it (the claim is this run's); ``"answered"``:
            its answer is in the cache (``value``); ``"busy"``: another live
            run is sending it.
        value : object or None
            The stored answer, when ``"answered"``.
        """
        now = time.time()
        with self._transaction() as conn:
            row = conn.execute("SELECT value FROM responses WHERE key = ?", (key,)).fetchone()
            if row is not None:
                return "answered", json.loads(row[0])
            held = conn.execute(
                "SELECT owner, pid, host, expires FROM claims WHERE key = ?", (key,)
            ).fetchone()
            if held is not None and held[0] != owner and held[3] > now and _process_alive(
                held[1], held[2]
            ):
                return "busy", None
            conn.execute(
                "INSERT OR REPLACE INTO claims (key, owner, pid, host, expires) "
                "VALUES (?, ?, ?, ?, ?)",
                (key, owner, os.getpid(), _claimant(), now + lease),
            )
        return "claimed", None

    def release(self, keys, owner):
        """Drop ``owner``'s claims on ``keys`` (its calls failed or were not made).

        Parameters
        ----------
        keys : iterable of str
        owner : str
        """
        with self._transaction() as conn:
            for chunk, marks in _in_chunks(list(keys)):
                conn.execute(f"DELETE FROM claims WHERE owner = ? AND key IN ({marks})",
                             [owner, *chunk])

    def add_batch(self, token, *, endpoint, model, input_file_id, keys):
        """Record a batch about to be submitted (its id comes with :meth:`set_batch_id`).

        Parameters
        ----------
        token : str
            Names the submission; the batch carries it in its metadata, so
            that it can be found when the run stopped before it knew the id.
        endpoint : str
            The endpoint's public URL (no credential).
        model : str
            The model id of the cache keys.
        input_file_id : str
            The uploaded request file.
        keys : list of str
            The keys of its requests, which are also their ``custom_id``.
        """
        with self._transaction() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO batches (token, endpoint, model, input_file_id, batch_id, "
                "keys, created) VALUES (?, ?, ?, ?, NULL, ?, ?)",
                (token, endpoint, model, input_file_id, json.dumps(list(keys)), time.time()),
            )

    def set_batch_id(self, token, batch_id):
        """Note the id the provider gave the batch recorded as ``token``."""
        with self._transaction() as conn:
            conn.execute("UPDATE batches SET batch_id = ? WHERE token = ?", (batch_id, token))

    def pending_batches(self, endpoint=None, model=None):
        """The batches recorded (for ``endpoint`` and ``model``) whose answers are not stored.

        Parameters
        ----------
        endpoint, model : str, default=None
            Only the batches of this endpoint's public URL and model id;
            None: of any.

        Returns
        -------
        batches : list of dict
            ``token``, ``endpoint``, ``model``, ``input_file_id``,
            ``batch_id`` (None when the run stopped before the provider
            acknowledged it), ``keys`` and ``created`` (a Unix time), oldest
            first.
        """
        where, args = [], []
        for column, value in (("endpoint", endpoint), ("model", model)):
            if value is not None:
                where.append(f"{column} = ?")
                args.append(value)
        rows = self._connect().execute(
            "SELECT token, endpoint, model, input_file_id, batch_id, keys, created FROM batches "
            + (f"WHERE {' AND '.join(where)} " if where else "") + "ORDER BY created",
            args,
        ).fetchall()
        return [{"token": token, "endpoint": url, "model": name, "input_file_id": file_id,
                 "batch_id": batch_id, "keys": json.loads(keys), "created": created}
                for token, url, name, file_id, batch_id, keys, created in rows]

    def drop_batch(self, token):
        """Forget a recorded batch (its answers are stored, or it is known to be gone).

        Parameters
        ----------
        token : str
            The record's token (batch ids are unique only per endpoint).

        Returns
        -------
        dropped : bool
            Whether a record was forgotten.
        """
        with self._transaction() as conn:
            cursor = conn.execute("DELETE FROM batches WHERE token = ?", (token,))
        return cursor.rowcount > 0

    def __len__(self):
        return self._connect().execute("SELECT COUNT(*) FROM responses").fetchone()[0]

    def __repr__(self):
        return f"ResponseCache({str(self.path)!r})"

    def __getstate__(self):
        return {"path": self.path, "timeout": self.timeout}

    def __setstate__(self, state):
        self.path, self.timeout = state["path"], state["timeout"]
        self._local = threading.local()

    def _transaction(self):
        """A write transaction (``BEGIN IMMEDIATE``) on this thread's connection."""
        return _Transaction(self._connect())

    def _connect(self):
        """This thread's connection, opened on first use (and again in a forked child)."""
        conn = getattr(self._local, "conn", None)
        if conn is not None and self._local.pid == os.getpid():
            return conn
        conn = sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None)
        # WAL: readers never block the writer, and a committed answer survives
        # a kill -9 of the process (synchronous=NORMAL is crash-safe in WAL).
        for attempt in range(50):
            try:
                conn.execute("PRAGMA journal_mode=WAL")
                break
            except sqlite3.OperationalError:  # another process is switching the mode
                time.sleep(0.05 * (attempt + 1))
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute(f"PRAGMA busy_timeout={int(self.timeout * 1000)}")
        self._local.conn, self._local.pid = conn, os.getpid()
        return conn


class _Transaction:
    """``BEGIN IMMEDIATE`` ... ``COMMIT`` (``ROLLBACK`` on error), as a context manager."""

    def __init__(self, conn):
        self.conn = conn

    def __enter__(self):
        self.conn.execute("BEGIN IMMEDIATE")
        return self.conn

    def __exit__(self, exc_type, exc, tb):
        self.conn.execute("COMMIT" if exc_type is None else "ROLLBACK")
