"""Issue 15 on the command line, against the fault server on 127.0.0.1.

Which endpoint ``--llm openai`` calls (and says it calls), Ctrl-C during LLM
calls, ``--timeout``, prices for ``--max-cost``, credentials in the URL,
label names that collide.
"""

import json
import os
import signal
import subprocess
import sys
import time
import types

import pytest
from cli_helpers import LABELS, TASK, error_lines, run_cli, write_csv
from fault_server import FaultServer

from skfreeal.cli._errors import CLIError
from skfreeal.cli._options import build_labeler, check_endpoint

TEXTS = [f"review {i}: the blender was {['good', 'bad'][i % 2]} overall" for i in range(8)]
PASSWORD = "pw-URLSECRET-77"


@pytest.fixture
def server():
    servers = []

    def start(**kwargs):
        servers.append(FaultServer(model="fault-model", labels=LABELS.split(","), **kwargs).start())
        return servers[-1]

    yield start
    for s in servers:
        s.stop()


@pytest.fixture
def reviews(tmp_path):
    return write_csv(tmp_path / "reviews.csv", ["text"], [[t] for t in TEXTS])


def openai_args(command, table, *extra, model="fault-model"):
    return [command, table, "--text-column", "text", "--labels", LABELS, "--task", TASK,
            "--llm", "openai", "--model", model, *extra]


@pytest.mark.slow  # embeds with the packaged MiniLM before the first call
def test_sigint_during_llm_calls_exits_130_within_2_seconds_at_openai_base_url(
        server, reviews, tmp_path, tiny_encoder_path):
    srv = server(delay=120.0)  # every answer takes two minutes
    env = dict(os.environ, OPENAI_BASE_URL=srv.base_url, OPENAI_API_KEY="sk-test")
    env.pop("SKFREEAL_DEBUG", None)
    cmd = openai_args("label", reviews, "--out", tmp_path / "out.csv", "--slm", tiny_encoder_path,
                      "--n-demos", "2", "--concurrency", "4", "--timeout", "300")
    proc = subprocess.Popen([sys.executable, "-m", "skfreeal", *map(str, cmd)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        deadline = time.monotonic() + 240
        while srv.n_received < 2:  # the calls are in flight at the server
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline
            time.sleep(0.05)
        sent = time.monotonic()
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=60)
        elapsed = time.monotonic() - sent
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, stderr
    assert elapsed < 2.0, elapsed
    # the texts went to $OPENAI_BASE_URL, and the command said so first
    said = f"skfreeal: LLM: model 'fault-model' at {srv.base_url} ($OPENAI_BASE_URL)"
    assert said in stderr.splitlines()
    assert "interrupted" in error_lines(types.SimpleNamespace(stderr=stderr))[-1]
    n = srv.n_received
    time.sleep(1.0)
    assert srv.n_received == n  # nothing sent after the interrupt
    assert not (tmp_path / "out.csv").exists()


def test_estimate_takes_prices_and_says_the_endpoint(server, reviews):
    srv = server()
    env = {"OPENAI_BASE_URL": srv.base_url}
    proc = run_cli(*openai_args("estimate", reviews, "--json", "--max-cost", "1",
                                "--price-per-million", "2,4", model="qwen2.5:7b"), env=env)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["endpoint"] == f"{srv.base_url} ($OPENAI_BASE_URL)"
    expected = (result["expected_prompt_tokens"] * 2 + result["expected_completion_tokens"] * 4)
    assert result["expected_cost"] == pytest.approx(expected / 1e6)
    assert srv.n_received == 0  # an estimate calls nothing


def test_a_budget_without_a_price_stops_before_reading_or_embedding(server, reviews, tmp_path):
    srv = server()
    proc = run_cli(*openai_args("label", reviews, "--out", tmp_path / "out.csv",
                                "--base-url", srv.base_url, "--max-cost", "2",
                                model="qwen2.5:7b"), timeout=60)
    assert proc.returncode == 2
    (line,) = error_lines(proc)
    assert "--max-cost 2 needs the price of --model 'qwen2.5:7b'" in line
    assert srv.n_received == 0 and not (tmp_path / "out.csv").exists()


def opts(**given):
    base = dict(llm="openai", model="m", base_url=None, max_cost=None, max_llm_tokens=None,
                concurrency=None, prices=None, timeout=None, on_failure="raise")
    return types.SimpleNamespace(**{**base, **given})


def test_timeout_prices_and_on_failure_reach_the_labeler():
    labeler = build_labeler(opts(timeout=5.0, prices=(0.1, 0.2), max_cost=1.0,
                                 on_failure="abstain"))
    assert labeler.timeout == 5.0 and labeler.price_table == {"m": (0.1, 0.2)}
    assert labeler.on_failure == "abstain"
    for option, value in [("timeout", 5.0), ("prices", (0.0, 0.0))]:
        with pytest.raises(CLIError, match="only used with --llm openai"):
            build_labeler(opts(llm="local", model=None, **{option: value}))


@pytest.mark.parametrize("value", ["1", "a,b", "-1,2", "1,2,3", "nan,1", "inf,0"])
def test_bad_prices_are_refused(value):
    import click

    from skfreeal.cli._options import parse_prices

    with pytest.raises(click.BadParameter, match="PROMPT,COMPLETION"):
        parse_prices(None, None, value)
    assert parse_prices(None, None, " 0.15, 0.6 ") == (0.15, 0.6)


def test_endpoint_check_sends_url_credentials_and_never_prints_them(server, caplog):
    srv = server(basic_auth=("me", PASSWORD))
    url = srv.base_url.replace("http://", f"http://me:{PASSWORD}@")
    check_endpoint(url)  # reachable: no error
    dead = url.replace(str(srv._httpd.server_address[1]), "9")  # the discard port: refused
    with pytest.raises(CLIError) as info:
        check_endpoint(dead, timeout=2)
    message = str(info.value)
    assert "cannot reach the LLM endpoint http://127.0.0.1:9/v1 (--base-url)" in message
    assert PASSWORD not in message and info.value.__context__ is None


def test_a_base_url_without_scheme_never_shows_its_password():
    """urlsplit reads "me:pw@host/v1" as the scheme "me": the password stayed in."""
    bare = f"me:{PASSWORD}@127.0.0.1:9/v1"
    with pytest.raises(CLIError) as info:
        check_endpoint(bare, timeout=2)
    assert PASSWORD not in str(info.value) and "127.0.0.1:9/v1" in str(info.value)


def test_report_meta_names_the_endpoint_without_credentials():
    from skfreeal.cli._label import _report_meta

    meta = _report_meta(opts(base_url=f"https://me:{PASSWORD}@example.invalid/v1", n_rounds=1,
                             n_demos=2, seed=0, slm_path=None, input_path="in.csv",
                             text_column="text", task=TASK, labels=["a", "b"]),
                        types.SimpleNamespace(rows=[], texts=[]), 1.0)
    assert meta["LLM"] == "openai (m) at https://example.invalid/v1 (--base-url)"


def test_report_meta_lists_the_loop_settings_the_classifier_ran():
    from skfreeal import FreeALClassifier, RoundPolicy
    from skfreeal.cli._label import _report_meta
    from skfreeal.labelers import OpenAILabeler

    run = opts(base_url=None, n_rounds=2, n_demos=2, seed=0, slm_path=None,
               input_path="in.csv", text_column="text", task=TASK, labels=["a", "b"])
    clf = FreeALClassifier(["a", "b"], TASK, judge=None,
                           labeler=OpenAILabeler("m", calibration="contextual"),
                           rounds=RoundPolicy(2, label_fusion="llm", max_requests_per_text=None,
                                              rollback_tolerance=0.02))
    meta = _report_meta(run, types.SimpleNamespace(rows=[], texts=[]), 1.0, clf)
    assert {key: meta[key] for key in ("judge", "label fusion", "LLM requests per text at most",
                                       "rollback tolerance", "calibration")} == {
        "judge": "student", "label fusion": "llm", "LLM requests per text at most": "no cap",
        "rollback tolerance": "0.02", "calibration": "contextual"}
    defaults = _report_meta(run, types.SimpleNamespace(rows=[], texts=[]), 1.0,
                            FreeALClassifier(["a", "b"], TASK, labeler=OpenAILabeler("m")))
    assert (defaults["judge"], defaults["LLM requests per text at most"],
            defaults["rollback tolerance"], defaults["calibration"]) == ("probe", "2", "off",
                                                                         "batch")


@pytest.mark.parametrize("value, message", [("Positive,positive!", "cannot be told apart"),
                                            ("good,bad\x07", "without control characters")])
def test_labels_that_collide_are_refused_before_reading(value, message):
    import click

    from skfreeal.cli._options import parse_labels

    with pytest.raises(click.BadParameter, match=message):
        parse_labels(None, None, value)


def test_predict_examples_say_that_a_model_file_runs_code():
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    for page in (root / "README.md", root / "docs" / "user_guide" / "cli.rst"):
        text = page.read_text()
        example = text.index("skfreeal predict model.joblib")
        nearby = text[max(0, example - 400): example + 400]
        assert "runs code" in nearby and "trust" in nearby, page
