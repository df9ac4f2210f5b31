"""Reliability of the LLM labelers against a server that fails (issue 15).

Usage::

    python -m benchmarks.reliability                 # 1,000 texts (the issue's size)
    python -m benchmarks.reliability --quick         # 100 texts, no CLI run: a smoke run
    python -m benchmarks.reliability --report-only   # JSON -> docs table

Every scenario runs :class:`~skfreeal.labelers.OpenAILabeler` through the
real OpenAI client against ``tests/fault_server.py`` on 127.0.0.1, a server
that labels by keyword (so every right label is known) and injects faults:

- **faults**: 20% and 50% of the texts meet mixed faults (429 with
  Retry-After, 500, 503, hangs past the timeout, dropped connections,
  malformed / truncated / choice-less 200s, answers that come after the
  timeout, off-label answers): no text may be lost, mislabelled or paid
  twice;
- **budget**: the same faults under ``max_cost``: what the server billed
  (answers and unreadable 200s alike) may pass the cap by one call at most;
- **kill -9**: a labelling process killed at two points, then run again:
  only the requests in flight at each kill may be paid twice;
- **two processes** on the same texts and cache at once: at most 1.05x the
  calls of one;
- **SIGINT**: Ctrl-C while calls hang and retry: the API raises
  ``KeyboardInterrupt`` and ``skfreeal label`` exits 130, within 2 s, and
  no request follows;
- **secrets**: a key and URL credentials looked for in every surface
  (``repr``, ``str``, ``json.dumps(get_params())``, pickles, joblib files,
  errors and their ``__cause__``/``__context__``, logs at DEBUG, the cache
  file, the command line's output, the report's metadata): no leak.

Results go to ``benchmarks/results/reliability.json`` (``reliability_quick.json``
for ``--quick``) and, from the JSON, to ``docs/benchmarks_reliability.rst``
(from the full run when there is one). ``tests/test_reliability_suite.py`` runs
the same checks at a small size.
"""

import argparse
import contextlib
import io
import json
import logging
import os
import pickle
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
import traceback
from pathlib import Path

import numpy as np

from ._common import BENCH_DIR, RESULTS_DIR, format_load, machine_info, write_result

sys.path.insert(0, str(BENCH_DIR.parent / "tests"))
from fault_server import FaultServer, keyword_label  # noqa: E402

__all__ = ["SCENARIOS", "run_suite", "render", "main"]

ROOT = BENCH_DIR.parent
DOC = ROOT / "docs" / "benchmarks_reliability.rst"
LABELS = ["negative", "positive"]
MODEL = "fault-model"
KEY = "sk-bench-SECRET-9d8c7b6a5f4e3d2c1b0a"
PASSWORD = "pw-BENCH-URLSECRET"
# Each faulty text meets one or two of these before it is answered.
FAULTS = ["429", "500", "503", "hang", "drop", "malformed", "truncated", "empty_choices",
          "late"]
CONCURRENCY = 8
# The client's timeout, and how long a hang or a late answer lasts (past it). The margin is
# for a loaded machine: an answer the server sent at once but the client read after its
# timeout is asked again and paid twice (the test suite saw one at 0.3 s on 2 busy cores).
TIMEOUT = 1.0
PAST_TIMEOUT = 1.5
PRICE = 1000.0  # USD per million tokens: 0.001 USD a token, so costs are easy to read


def make_texts(n, prefix):
    """``n`` distinct texts whose keyword gives their label."""
    words = ["good", "bad", "great", "awful"]
    return [f"{prefix} {i:05d}: the service was {words[i % 4]} today" for i in range(n)]


def plan_faults(texts, rate, seed):
    """(faults per text, off-label texts): ``rate`` of the texts meet faults, 1 in 10 of
    those is answered off-label (never a label), the rest meet one or two transient faults."""
    rng = np.random.RandomState(seed)
    chosen = rng.choice(len(texts), int(round(rate * len(texts))), replace=False)
    faults, off_label = {}, set()
    for rank, i in enumerate(chosen):
        if rank % 10 == 9:
            off_label.add(texts[i])
        else:
            faults[texts[i]] = list(rng.choice(FAULTS, 1 + (rank % 3 == 0)))
    return faults, off_label


def labeler_for(server, **params):
    from skfreeal.labelers import OpenAILabeler

    defaults = dict(base_url=server.base_url, labels=LABELS, task="Classify the sentiment.",
                    timeout=TIMEOUT, max_retries=6, retry_base_delay=0.02, retry_max_delay=0.2,
                    max_concurrency=CONCURRENCY, cache=None)
    defaults.update(params)
    return OpenAILabeler(MODEL, **defaults)


def _env():
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    return dict(os.environ, PYTHONPATH=path)


def _child(code, *args, env=None):
    """A Python child that imports this checkout's skfreeal; SIGINT reaches it as Ctrl-C."""
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code), *map(str, args)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**_env(), **(env or {})},
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )


def _wait(predicate, proc=None, timeout=300.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"the child ended early: {proc.communicate()[1][-2000:]}")
        if time.monotonic() > deadline:
            raise RuntimeError("timed out")
        time.sleep(0.01)


# ---------------------------------------------------------------- scenarios


def faults(n, rate, seed=0):
    """Mixed faults on ``rate`` of ``n`` texts: none lost, wrong or paid twice."""
    texts = make_texts(n, f"faults{rate}")
    plan, off_label = plan_faults(texts, rate, seed)
    with FaultServer(faults=plan, off_label=off_label, hang_seconds=PAST_TIMEOUT,
                     late_seconds=PAST_TIMEOUT) as server:
        labeler = labeler_for(server)
        start = time.perf_counter()
        ids, _ = labeler.annotate(texts)
        seconds = time.perf_counter() - start
        answered = server.answered()
    expected = np.array([-1 if t in off_label else LABELS.index(keyword_label(t))
                         for t in texts])
    lost = int(np.sum((ids == -1) & (expected != -1)))
    wrong = int(np.sum((ids != expected) & (ids != -1)))
    counts = {}
    for text in answered:
        counts[text] = counts.get(text, 0) + 1
    duplicated = sum(c - 1 for c in counts.values())
    usage = labeler.usage_
    return {
        "n": n, "fault_rate": rate, "faulty_texts": len(plan), "off_label_texts": len(off_label),
        "injected_faults": sum(len(v) for v in plan.values()),
        "lost": lost, "wrong": wrong, "duplicated": duplicated,
        "off_label_abstained": int(np.sum(ids[expected == -1] == -1)),
        "calls": usage.calls, "retries": usage.retries,
        "billed_failures": usage.billed_failures, "seconds": round(seconds, 2),
        "ok": lost == 0 and wrong == 0 and duplicated == 0,
    }


def budget(n, rate, seed=0):
    """The same faults under ``max_cost``: the server's bill passes it by one call at most."""
    from skfreeal.labelers import BudgetExceededError

    texts = make_texts(n, f"budget{rate}")
    plan, off_label = plan_faults(texts, rate, seed)
    with FaultServer(faults=plan, off_label=off_label, hang_seconds=PAST_TIMEOUT,
                     late_seconds=PAST_TIMEOUT) as server:
        # a third of what every text once would cost, whatever n
        per_text = 0.001 * (40 + 3)
        max_cost = round(n * per_text / 3, 3)
        labeler = labeler_for(server, max_cost=max_cost, price_table={MODEL: (PRICE, PRICE)})
        stopped = False
        try:
            labeler.annotate(texts)
        except BudgetExceededError:
            stopped = True
        time.sleep(PAST_TIMEOUT + 0.5)  # late answers still land at the server
        billed = server.billed()
    billed_cost = sum(e["usage"]["total_tokens"] for e in billed) * PRICE / 1e6
    one_call = max(e["usage"]["total_tokens"] for e in billed) * PRICE / 1e6
    overshoot = max(0.0, billed_cost - max_cost)
    return {
        "n": n, "fault_rate": rate, "max_cost": max_cost, "stopped_by_budget": stopped,
        "billed_cost": round(billed_cost, 4), "billed_requests": len(billed),
        "charged_cost": round(labeler.usage_.cost, 4),
        "billed_failures": labeler.usage_.billed_failures,
        "overshoot": round(overshoot, 4), "one_call_cost": round(one_call, 4),
        "ok": stopped and overshoot <= one_call + 1e-9,
    }


_WORKER = """
    import json, sys
    from skfreeal.labelers import OpenAILabeler
    texts = json.loads(open(sys.argv[3]).read())
    ids, _ = OpenAILabeler("fault-model", base_url=sys.argv[1], labels=["negative", "positive"],
                           cache=sys.argv[2], max_concurrency=int(sys.argv[4]),
                           timeout=30.0).annotate(texts)
    print(json.dumps(ids.tolist()))
"""


def kill9(n, folder):
    """``kill -9`` at 30% and 70% answered, then a run to the end: only calls in flight re-made."""
    from skfreeal.labelers import ResponseCache

    texts = make_texts(n, "kill9")
    cache = Path(folder) / "kill9.sqlite"
    texts_file = Path(folder) / "kill9.json"
    texts_file.write_text(json.dumps(texts))
    in_flight = []
    with FaultServer(delay=0.02) as server:
        for fraction in (0.3, 0.7):
            proc = _child(_WORKER, server.base_url, cache, texts_file, CONCURRENCY)
            _wait(lambda: len(server.answered()) >= fraction * n, proc)
            proc.kill()
            proc.wait()
            time.sleep(0.5)  # what the dead process had in flight reaches the log
            lost = len(server.answered()) - len(ResponseCache(cache))  # paid, never stored
            in_flight.append(lost - sum(in_flight))
        proc = _child(_WORKER, server.base_url, cache, texts_file, CONCURRENCY)
        out, err = proc.communicate(timeout=600)
        answered = server.answered()
    ids = json.loads(out) if proc.returncode == 0 else None
    expected = [LABELS.index(keyword_label(t)) for t in texts]
    re_made = len(answered) - len(set(answered))
    return {
        "n": n, "kills": 2, "concurrency": CONCURRENCY, "in_flight_at_kills": in_flight,
        "re_made_calls": re_made, "all_labelled": ids == expected,
        "ok": ids == expected and re_made <= sum(in_flight)
        and all(k <= CONCURRENCY for k in in_flight),
    }


def two_processes(n, folder):
    """Two processes label the same texts into one cache at once: at most 1.05x one's calls."""
    texts = make_texts(n, "pair")
    cache = Path(folder) / "pair.sqlite"
    texts_file = Path(folder) / "pair.json"
    texts_file.write_text(json.dumps(texts))
    with FaultServer(delay=0.01) as server:
        procs = [_child(_WORKER, server.base_url, cache, texts_file, CONCURRENCY)
                 for _ in range(2)]
        outs = [p.communicate(timeout=600) for p in procs]
        n_calls = len(server.answered())
    expected = [LABELS.index(keyword_label(t)) for t in texts]
    same = all(p.returncode == 0 and json.loads(o) == expected for p, (o, _) in zip(procs, outs))
    return {"n": n, "processes": 2, "calls": n_calls, "calls_per_text": round(n_calls / n, 4),
            "all_labelled": same, "ok": same and n_calls <= 1.05 * n}


_INTERRUPTED = """
    import json, sys, time
    from skfreeal.labelers import OpenAILabeler
    labeler = OpenAILabeler("fault-model", base_url=sys.argv[1], labels=["negative", "positive"],
                            cache=sys.argv[2], max_concurrency=4, timeout=60.0,
                            retry_base_delay=0.5, retry_max_delay=2.0)
    try:
        labeler.annotate(json.loads(sys.argv[3]))
    except KeyboardInterrupt:
        print("KeyboardInterrupt at", time.time(), flush=True)
"""


# A request the server reads this long after the signal was sent after it (a request
# already on its way when the signal left is read within milliseconds).
_IN_TRANSIT = 0.1


def _interrupt(proc, server, ready):
    """SIGINT once ``ready()``; (seconds to exit, requests sent after it, stdout+err, sent at)."""
    _wait(ready, proc)
    sent, sent_at = time.monotonic(), time.time()
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    seconds = time.monotonic() - sent
    time.sleep(1.5)  # what a surviving retry loop would send
    after = sum(t > sent + _IN_TRANSIT for t in list(server.received_at))
    return seconds, after, out + err, sent_at


def sigint(folder, cli=True):
    """Ctrl-C while calls hang and retry: API and command line stop within 2 s."""
    texts = make_texts(10, "sigint")
    plan = {texts[1]: ["hang"], texts[2]: ["500"] * 6, texts[3]: ["hang"], texts[4]: ["500"] * 6}
    with FaultServer(faults=plan, hang_seconds=120.0) as server:
        proc = _child(_INTERRUPTED, server.base_url, Path(folder) / "sigint.sqlite",
                      json.dumps(texts))
        seconds, after, output, sent_at = _interrupt(
            proc, server, lambda: sum(e["outcome"] in ("hang", "500") for e in server.log) >= 3)
        raised = [float(line.split()[-1]) for line in output.splitlines()
                  if line.startswith("KeyboardInterrupt at")]
        api = {"seconds_to_raise": round(raised[0] - sent_at, 3) if raised else None,
               "seconds_to_exit": round(seconds, 3), "requests_after": after,
               "exit_status": proc.returncode}
        if not raised:  # what the child said instead, for the failure's report
            api["output_tail"] = output[-2000:]
    result = {"api": api,
              "ok": bool(raised) and api["seconds_to_raise"] < 2 and after == 0}
    if cli:
        table = Path(folder) / "sigint.csv"
        table.write_text("text\n" + "\n".join(texts) + "\n")
        with FaultServer(delay=120.0) as server:
            cmd = ["label", table, "--text-column", "text", "--labels", ",".join(LABELS),
                   "--task", "Classify the sentiment.", "--llm", "openai", "--model", MODEL,
                   "--base-url", server.base_url, "--n-demos", "2", "--concurrency", "4",
                   "--out", Path(folder) / "sigint-out.csv"]
            proc = subprocess.Popen(
                [sys.executable, "-m", "skfreeal", *map(str, cmd)], stdout=subprocess.PIPE,
                stderr=subprocess.PIPE, text=True, env=_env(),
                preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
            # every request hangs: once four are in, the pool is full and nothing else goes out
            seconds, after, _, _ = _interrupt(proc, server, lambda: server.n_received >= 4)
            result["cli"] = {"seconds_to_exit": round(seconds, 3), "requests_after": after,
                             "exit_status": proc.returncode}
        result["ok"] = result["ok"] and seconds < 2 and after == 0 and proc.returncode == 130
    return result


def secrets(folder):
    """A key and URL credentials, looked for in every surface a run leaves."""
    import joblib
    from sklearn.base import clone

    from skfreeal.cli._label import _report_meta
    from skfreeal.labelers import LLMCallError

    folder = Path(folder)
    surfaces = {}
    logs = io.StringIO()
    handler = logging.StreamHandler(logs)
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        with FaultServer(basic_auth=("me", PASSWORD),
                         faults={"good one": ["500", "malformed"]}) as server:
            url = server.base_url.replace("http://", f"http://me:{PASSWORD}@")
            labeler = labeler_for(server, base_url=url, api_key=KEY,
                                  cache=folder / "secrets.sqlite")
            labeler.annotate(["good one", "bad one"])
            errors = []
            for bad in (clone(labeler).set_params(base_url=url.replace(PASSWORD, "x")),
                        clone(labeler).set_params(model="missing-model")):
                try:
                    bad.annotate(["great"])
                except LLMCallError as exc:
                    errors.append(exc)
            with FaultServer(api_key="the-right-key") as keyed:  # a 401 that echoes the key
                try:
                    labeler_for(keyed, api_key=KEY).annotate(["awful"])
                except LLMCallError as exc:
                    errors.append(exc)
            cli_env = dict(_env(), OPENAI_API_KEY=KEY, OPENAI_BASE_URL=url)
            table = folder / "secrets.csv"
            table.write_text("text\ngood one\nbad one\n")
            cli = subprocess.run(
                [sys.executable, "-m", "skfreeal", "estimate", str(table), "--text-column",
                 "text", "--labels", ",".join(LABELS), "--task", "Sentiment.", "--llm", "openai",
                 "--model", MODEL, "--json"], capture_output=True, text=True, env=cli_env,
                timeout=300)
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
    params = labeler.get_params()
    surfaces["repr"] = repr(labeler)
    surfaces["str"] = str(labeler)
    surfaces["get_params json"] = json.dumps(params, default=str)
    surfaces["get_params repr"] = repr(params)
    surfaces["pickle"] = pickle.dumps(labeler)
    surfaces["pickle of get_params"] = pickle.dumps(params)
    joblib.dump(labeler, folder / "labeler.joblib")
    surfaces["joblib file"] = (folder / "labeler.joblib").read_bytes()
    for i, error in enumerate(errors):
        chain = []
        while error is not None:
            chain += [str(error), repr(error), "".join(traceback.format_exception(error))]
            error = error.__cause__ or error.__context__
        surfaces[f"error {i} and its chain"] = "\n".join(chain)
    surfaces["logs (DEBUG, every logger)"] = logs.getvalue()
    surfaces["cache file"] = b"".join(p.read_bytes() for p in folder.glob("secrets.sqlite*"))
    surfaces["CLI output"] = cli.stdout + cli.stderr
    meta_opts = argparse.Namespace(llm="openai", model=MODEL, base_url=url, input_path="in.csv",
                                   text_column="text", task="t", labels=LABELS, slm_path=None,
                                   n_rounds=1, n_demos=2, seed=0)
    surfaces["report metadata"] = json.dumps(
        _report_meta(meta_opts, argparse.Namespace(rows=[], texts=[]), 1.0))
    leaks = []
    for name, value in surfaces.items():
        for secret in (KEY, PASSWORD):
            found = secret.encode() in value if isinstance(value, bytes) else secret in value
            if found:
                leaks.append(f"{name}: {'key' if secret == KEY else 'URL password'}")
    return {"surfaces": sorted(surfaces), "n_surfaces": len(surfaces), "errors": len(errors),
            "cli_exit_status": cli.returncode, "leaks": leaks,
            "ok": not leaks and len(errors) == 3 and cli.returncode == 0}


SCENARIOS = ("faults", "budget", "kill9", "two_processes", "sigint", "secrets")


def run_suite(n=1000, *, rates=(0.2, 0.5), cli=True, seed=0, results_dir=None, write=True,
              name="reliability", command=None):
    """Run every scenario on ``n`` texts; return the result dict (written as JSON when asked)."""
    logging.getLogger("skfreeal").setLevel(logging.ERROR)  # the failures are the point
    result = {"name": name, "suite": "reliability", "n": n, "seed": seed,
              "concurrency": CONCURRENCY, "machine": machine_info()}
    with tempfile.TemporaryDirectory() as folder:
        os.environ.setdefault("SKFREEAL_CACHE_DIR", str(Path(folder) / "cache"))
        checks = {}
        for rate in rates:
            checks[f"faults_{int(rate * 100)}"] = faults(n, rate, seed)
            checks[f"budget_{int(rate * 100)}"] = budget(n, rate, seed)
        checks["kill9"] = kill9(n, folder)
        checks["two_processes"] = two_processes(n, folder)
        checks["sigint"] = sigint(folder, cli=cli)
        checks["secrets"] = secrets(folder)
    result["checks"] = checks
    result["passed"] = all(c["ok"] for c in checks.values())
    if command is not None:
        result["command"] = command
    if write:
        result["path"] = str(write_result(result, name, results_dir=results_dir))
    return result


# ---------------------------------------------------------------- report


def _row(name, check):
    verdict = "pass" if check["ok"] else "**FAIL**"
    if name.startswith("faults"):
        figure = (f"{check['lost']} lost, {check['wrong']} wrong, {check['duplicated']} "
                  f"duplicated; {check['injected_faults']} faults on {check['faulty_texts']} "
                  f"texts, {check['off_label_texts']} off-label answers (all abstained: "
                  f"{check['off_label_abstained']}), {check['retries']} retries, "
                  f"{check['seconds']} s")
        what = f"{int(check['fault_rate'] * 100)}% of the texts meet faults"
    elif name.startswith("budget"):
        figure = (f"billed {check['billed_cost']:.3f} USD for max_cost={check['max_cost']}: "
                  f"overshoot {check['overshoot']:.3f} (one call: {check['one_call_cost']:.3f}); "
                  f"charged {check['charged_cost']:.3f}, of which {check['billed_failures']} "
                  "unreadable answers")
        what = f"max_cost with {int(check['fault_rate'] * 100)}% faults"
    elif name == "kill9":
        figure = (f"{check['re_made_calls']} calls re-made; in flight at the kills: "
                  f"{check['in_flight_at_kills']} (concurrency {check['concurrency']})")
        what = "kill -9 at 30% and 70%, then a re-run"
    elif name == "two_processes":
        figure = f"{check['calls']} calls for {check['n']} texts ({check['calls_per_text']}x)"
        what = "two processes, same texts and cache"
    elif name == "sigint":
        api = check["api"]
        figure = (f"API: KeyboardInterrupt raised after {api['seconds_to_raise']} s (process "
                  f"gone after {api['seconds_to_exit']:.2f} s), {api['requests_after']} requests "
                  "after")
        if "cli" in check:
            c = check["cli"]
            figure += (f"; CLI: exit {c['exit_status']} after {c['seconds_to_exit']:.2f} s, "
                       f"{c['requests_after']} requests after")
        what = "SIGINT while calls hang and retry"
    else:
        figure = (f"{len(check['leaks'])} leaks in {check['n_surfaces']} surfaces"
                  + (": " + "; ".join(check["leaks"]) if check["leaks"] else ""))
        what = "secrets scan (key and URL password)"
    return what, figure, verdict


def render(result):
    """The docs page of a result, as reStructuredText."""
    machine = result["machine"]
    lines = [
        "Reliability against a failing server",
        "=====================================",
        "",
        "``benchmarks/reliability.py`` runs :class:`~skfreeal.labelers.OpenAILabeler` (and",
        "``skfreeal label``) through the real OpenAI client against the project's fault-",
        "injecting server (``tests/fault_server.py``) on 127.0.0.1; the server labels by",
        "keyword, so every right label is known. See the module docstring for the scenarios;",
        "``tests/test_reliability_suite.py`` runs the same checks at a small size with",
        "``python -m pytest``.",
        "",
        f"{result['n']:,} texts, concurrency {result['concurrency']}, seed {result['seed']}; "
        f"command ``{result.get('command', '')}``; revision "
        f"``{(machine.get('git') or {}).get('commit')}``"
        + (" (uncommitted changes)" if (machine.get("git") or {}).get("dirty") else "")
        + f"; {machine.get('processor')}, {machine.get('usable_cores')} cores, load "
        f"{format_load(machine.get('load_average_at_start'))} at the start; "
        f"finished {result.get('finished_at', '')}.",
        "",
        ".. list-table::",
        "   :header-rows: 1",
        "   :widths: 25 60 15",
        "",
        "   * - Scenario",
        "     - Figures",
        "     - Verdict",
    ]
    for name, check in result["checks"].items():
        what, figure, verdict = _row(name, check)
        lines += [f"   * - {what}", f"     - {figure}", f"     - {verdict}"]
    lines += ["", f"All checks {'pass' if result['passed'] else 'do not pass'}.", ""]
    return "\n".join(lines)


def build_doc(results_dir=None, doc=DOC):
    """Write the docs page from ``reliability.json`` (else the quick run's JSON)."""
    folder = Path(results_dir or RESULTS_DIR)
    path = folder / "reliability.json"
    if not path.exists():
        path = folder / "reliability_quick.json"
    result = json.loads(path.read_text())
    doc.write_text(render(result))
    return doc


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m benchmarks.reliability",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=1000, help="texts per scenario (1000)")
    parser.add_argument("--quick", action="store_true", help="100 texts, no CLI run")
    parser.add_argument("--no-cli", action="store_true", help="skip the command-line SIGINT run")
    parser.add_argument("--report-only", action="store_true",
                        help="only rebuild docs/benchmarks_reliability.rst from the JSON")
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parser.parse_args(argv)
    command = " ".join(["python -m benchmarks.reliability", *argv])
    if not args.report_only:
        if args.quick:
            result = run_suite(100, cli=False, name="reliability_quick", command=command)
        else:
            result = run_suite(args.n, cli=not args.no_cli, command=command)
        for name, check in result["checks"].items():
            what, figure, verdict = _row(name, check)
            print(f"{verdict:>8}  {what}: {figure}")
    print(f"wrote {build_doc()}")
    return 0


if __name__ == "__main__":
    with contextlib.suppress(BrokenPipeError):
        raise SystemExit(main())
