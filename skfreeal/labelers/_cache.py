"""A persistent LLM response cache: SQLite in WAL mode, shared by threads and processes.

Every answer is written (and committed) as soon as it arrives, so a run that
is killed half-way loses at most the answers in flight, and a re-run sends
only the texts that were never answered. The key is a hash of what decides
the answer (model id, messages, sampling parameters) and nothing else: no
credential, no endpoint URL.
"""

import hashlib
import json
import os
import sqlite3
import threading
import time
from pathlib import Path

__all__ = ["ResponseCache", "cache_key"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS responses (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    created REAL NOT NULL
)
"""


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
        with self._connect() as conn:
            conn.execute(_SCHEMA)

    def get_many(self, keys):
        """Stored values of the keys that are present.

        Parameters
        ----------
        keys : iterable of str

        Returns
        -------
        found : dict of str to object
        """
        keys = list(dict.fromkeys(keys))
        found = {}
        conn = self._connect()
        for i in range(0, len(keys), 500):  # SQLite's bound-parameter limit
            chunk = keys[i : i + 500]
            rows = conn.execute(
                f"SELECT key, value FROM responses WHERE key IN ({','.join('?' * len(chunk))})",
                chunk,
            ).fetchall()
            found.update((key, json.loads(value)) for key, value in rows)
        return found

    def put(self, key, value):
        """Store (or replace) one value, committed at once.

        Parameters
        ----------
        key : str
        value : JSON-serialisable object
        """
        self._connect().execute(
            "INSERT OR REPLACE INTO responses (key, value, created) VALUES (?, ?, ?)",
            (key, json.dumps(value, ensure_ascii=False), time.time()),
        )

    def __len__(self):
        return self._connect().execute("SELECT COUNT(*) FROM responses").fetchone()[0]

    def __repr__(self):
        return f"ResponseCache({str(self.path)!r})"

    def __getstate__(self):
        return {"path": self.path, "timeout": self.timeout}

    def __setstate__(self, state):
        self.path, self.timeout = state["path"], state["timeout"]
        self._local = threading.local()

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
