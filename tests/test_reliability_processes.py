"""Issue 15, the parts that need other processes: Ctrl-C, shared caches, ``kill -9``.

Each test starts a Python child that labels texts through the real OpenAI
client against :class:`fault_server.FaultServer` on 127.0.0.1.
"""

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from test_labelers_openai import expected_ids, make_labeler, make_texts, server  # noqa: E402,F401

ROOT = Path(__file__).resolve().parent.parent


def python_env():
    """The environment of a child Python that imports this worktree's skfreeal."""
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    return dict(os.environ, PYTHONPATH=path)


def default_sigint():
    # A child started from a background job inherits SIGINT ignored, and Python then
    # installs no KeyboardInterrupt handler: give it the default disposition back.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def start_python(code, *args, env=None):
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code), *map(str, args)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**python_env(), **(env or {})}, preexec_fn=default_sigint,
    )


def wait_for(predicate, timeout=60.0, proc=None):
    deadline = time.monotonic() + timeout
    while not predicate():
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"the child ended early: {proc.communicate()}")
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


# -- 2. Ctrl-C -----------------------------------------------------------------------

ANNOTATE = """
    import json, sys, time
    from skfreeal.labelers import OpenAILabeler
    labeler = OpenAILabeler("fault-model", base_url=sys.argv[1], labels=["negative", "positive"],
                            cache=sys.argv[2], max_concurrency=int(sys.argv[3]), timeout=30.0,
                            retry_base_delay=0.5, retry_max_delay=2.0)
    try:
        labeler.annotate(json.loads(sys.argv[4]))
    except KeyboardInterrupt:
        print("KeyboardInterrupt at", time.time(), flush=True)
        raise
"""


# Concurrency 4 (worker threads) is run by tests/test_reliability_suite.py; here the calls go
# out in the caller's thread.
@pytest.mark.parametrize("concurrency", [1])
def test_sigint_stops_calls_and_retries_within_2_seconds(server, tmp_path, concurrency):
    texts = make_texts(10, prefix="sigint")  # sent in this order
    # text 0 is answered, then two hang for a minute and two are retrying
    faults = {texts[1]: ["hang"], texts[2]: ["500"] * 5, texts[3]: ["hang"],
              texts[4]: ["500"] * 5}
    srv = server(faults=faults, hang_seconds=60.0)
    cache = tmp_path / "sigint.sqlite"
    proc = start_python(ANNOTATE, srv.base_url, cache, concurrency, json.dumps(texts))
    wait_for(lambda: any(e["outcome"] == "hang" for e in srv.log), proc=proc)
    if concurrency > 1:
        wait_for(lambda: sum(e["outcome"] == "500" for e in srv.log) >= 2, proc=proc)
    n_before = len(srv.log)
    sent = time.time()
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode != 0 and "KeyboardInterrupt" in err  # raised to the top
    raised = float(out.split()[-1])
    assert raised - sent < 2.0, (raised - sent, err)
    time.sleep(1.5)  # what a surviving retry loop would send
    assert len(srv.log) == n_before  # no request after the interrupt
    from skfreeal.labelers import ResponseCache

    # every answer received before the interrupt is kept
    answered = [e for e in srv.log if e["outcome"] == "ok"]
    assert len(ResponseCache(cache)) == len(answered) > 0


# -- 7. a shared cache is paid once -----------------------------------------------------

# Two processes sharing a cache pay once: tests/test_reliability_suite.py.
SHARED = """
    import json, sys
    from skfreeal.labelers import OpenAILabeler
    ids, _ = OpenAILabeler("fault-model", base_url=sys.argv[1], labels=["negative", "positive"],
                           cache=sys.argv[2], max_concurrency=4).annotate(json.loads(sys.argv[3]))
    print(json.dumps(ids.tolist()))
"""


def test_a_claim_of_a_killed_process_lapses(server, tmp_path):
    texts = make_texts(6, prefix="claim")
    srv = server(faults={t: ["hang"] for t in texts}, hang_seconds=60.0)
    cache = tmp_path / "claims.sqlite"
    proc = start_python(SHARED, srv.base_url, cache, json.dumps(texts))
    wait_for(lambda: len(srv.log) >= 4, proc=proc)  # four claimed and in flight
    proc.kill()
    proc.wait()
    srv.faults.clear()
    start = time.monotonic()
    ids, _ = make_labeler(srv, cache=cache).annotate(texts)
    assert time.monotonic() - start < 5  # the dead process's claims did not hold it up
    np.testing.assert_array_equal(ids, expected_ids(texts))
