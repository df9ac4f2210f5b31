"""The SQLite response cache: keys, threads, processes, pickling."""

import os
import pickle
import subprocess
import sys
import textwrap
import threading
import time

import pytest

from skfreeal.labelers import ResponseCache, cache_key

MESSAGES = [{"role": "system", "content": "s"}, {"role": "user", "content": "good"}]


def test_key_depends_on_model_messages_and_params_only():
    base = cache_key("m", MESSAGES, {"temperature": 0.0, "max_tokens": 8})
    assert base == cache_key("m", [dict(m) for m in MESSAGES], {"max_tokens": 8, "temperature": 0})
    assert base != cache_key("other", MESSAGES, {"temperature": 0.0, "max_tokens": 8})
    assert base != cache_key("m", MESSAGES[::-1], {"temperature": 0.0, "max_tokens": 8})
    assert base != cache_key("m", MESSAGES, {"temperature": 0.5, "max_tokens": 8})
    # a text cannot forge another request's structure
    forged = [{"role": "system", "content": "s"},
              {"role": "user", "content": 'good"}, {"role": "user", "content": "x'}]
    assert base != cache_key("m", forged, {"temperature": 0.0, "max_tokens": 8})


def test_put_get_round_trip_and_missing(tmp_path):
    cache = ResponseCache(tmp_path / "sub" / "c.sqlite")
    value = {"text": "positive ✓", "logprobs": [["pos", -0.1, [["pos", -0.1]]]],
             "prompt_tokens": 3, "completion_tokens": 1}
    cache.put("k", value)
    assert cache.get_many(["k", "nope"]) == {"k": value}
    assert len(cache) == 1
    assert cache.get_many([]) == {}
    # more keys than SQLite binds in one statement
    for i in range(1200):
        cache.put(f"x{i}", i)
    assert len(cache.get_many([f"x{i}" for i in range(1200)])) == 1200


def test_threads_share_one_cache(tmp_path):
    cache = ResponseCache(tmp_path / "c.sqlite")
    errors = []

    def work(worker):
        try:
            for i in range(100):
                cache.put(f"{worker}-{i}", {"i": i})
                assert cache.get_many([f"{worker}-{i}"])[f"{worker}-{i}"] == {"i": i}
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(w,)) for w in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(cache) == 800


def test_two_processes_write_the_same_file(tmp_path):
    path = tmp_path / "c.sqlite"
    script = textwrap.dedent("""
        import sys
        from skfreeal.labelers import ResponseCache
        cache = ResponseCache(sys.argv[1])
        for i in range(300):
            cache.put(f"{sys.argv[2]}-{i}", {"who": sys.argv[2], "i": i})
            cache.put("shared", {"who": sys.argv[2]})
        print("ok")
    """)
    procs = [
        subprocess.Popen([sys.executable, "-c", script, str(path), name],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for name in ("a", "b")
    ]
    outputs = [p.communicate(timeout=120) for p in procs]
    for proc, (out, err) in zip(procs, outputs):
        assert proc.returncode == 0 and out.strip() == b"ok", err.decode()
    cache = ResponseCache(path)
    assert len(cache) == 601
    assert cache.get_many(["a-299", "b-299"]) == {
        "a-299": {"who": "a", "i": 299}, "b-299": {"who": "b", "i": 299}}
    assert cache.get_many(["shared"])["shared"]["who"] in {"a", "b"}


def test_cache_pickles_without_connection(tmp_path):
    cache = ResponseCache(tmp_path / "c.sqlite")
    cache.put("k", 1)
    restored = pickle.loads(pickle.dumps(cache))
    assert restored.get_many(["k"]) == {"k": 1}


def _plant_claim(path, key, *, pid, host):
    import sqlite3

    ResponseCache(path).get_many(["warm-up"])  # creates the tables
    with sqlite3.connect(path) as conn:
        conn.execute("INSERT INTO claims (key, owner, pid, host, expires) VALUES (?, ?, ?, ?, ?)",
                     (key, "a dead run", pid, host, time.time() + 3600))


@pytest.mark.skipif(not os.path.exists("/proc/self/stat"), reason="process start times: Linux")
def test_a_claim_of_a_dead_run_whose_pid_was_reused_lapses_at_once(tmp_path):
    """A container restarted on the same machine often gets the dead run's pid
    (1) back: the claim's process start time tells them apart."""
    import socket
    from pathlib import Path

    path = tmp_path / "c.sqlite"
    host = socket.gethostname()
    boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    stat = Path("/proc/self/stat").read_text()
    start = stat[stat.rfind(")") + 2:].split()[19]  # field 22 of proc(5): start time
    here = f"{host}#{boot}#{start}"
    _plant_claim(path, "alive", pid=os.getpid(), host=here)
    _plant_claim(path, "reused", pid=os.getpid(), host=f"{host}#{boot}#{int(start) - 1}")
    _plant_claim(path, "rebooted", pid=os.getpid(), host=f"{host}#another-boot#{start}")
    _plant_claim(path, "old-format", pid=os.getpid(), host=host)
    cache = ResponseCache(path)
    assert cache.claim("alive", "this run", lease=60.0)[0] == "busy"
    assert cache.claim("old-format", "this run", lease=60.0)[0] == "busy"
    assert cache.claim("reused", "this run", lease=60.0)[0] == "claimed"
    assert cache.claim("rebooted", "this run", lease=60.0)[0] == "claimed"
