"""OpenAILabeler(batch=True) against a real Batch API server on 127.0.0.1 (batch_server.py)."""

import json
import logging
import os
import shlex
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.utils._param_validation import InvalidParameterError

from skfreeal import FreeALClassifier
from skfreeal.labelers import (BudgetExceededError, LLMCallError, OpenAILabeler,
                               ResponseCache)
from skfreeal.labelers import _batch_files

sys.path.insert(0, str(Path(__file__).parent))
from fault_server import keyword_ids, service_texts  # noqa: E402

LABELS = ["negative", "positive"]
KEY = "sk-batch-SECRET-9e8d7c6b5a4f3e2d1c0b"
# Tiny waits: a batch moves one step a read, so a test takes a handful of reads.
FAST = dict(batch_poll_interval=0.01, batch_max_poll_interval=0.04, retry_base_delay=0.01,
            retry_max_delay=0.02, timeout=10.0)
DEMOS = [("a good day", 1), ("a bad day", 0)]


make_texts = service_texts


def expected_ids(texts):
    return np.array(keyword_ids(texts, LABELS))


def make_labeler(server, **params):
    defaults = dict(base_url=server.base_url, labels=LABELS, task="Classify the sentiment.",
                    batch=True, cache=None, **FAST)
    defaults.update(params)
    return OpenAILabeler(server.model, **defaults)


def created_batches(server):
    return [detail for route, detail in server.events if route == "create"]


# -- the happy path --------------------------------------------------------------------


def test_answers_equal_the_synchronous_ones_and_fill_the_cache(batch_servers, fault_servers,
                                                               tmp_path):
    texts = make_texts(24)
    sync_server = fault_servers()
    srv = batch_servers(model=sync_server.model)
    synchronous = make_labeler(sync_server, batch=False, base_url=sync_server.base_url)
    expected = synchronous.annotate_proba(texts, DEMOS)

    cache = tmp_path / "batch.sqlite"
    labeler = make_labeler(srv, cache=cache)
    proba = labeler.annotate_proba(texts, DEMOS)

    np.testing.assert_array_equal(proba, expected)
    assert srv.n_files_uploaded == 1 and len(created_batches(srv)) == 1
    (batch_id,) = created_batches(srv)
    assert srv.statuses(batch_id) == ["in_progress", "finalizing", "completed"]
    lines = srv.requests_of(batch_id)
    assert len(lines) == len(texts)
    assert all(len(line["custom_id"]) == 64 and line["url"] == "/v1/chat/completions"
               and line["method"] == "POST" for line in lines)
    body = lines[0]["body"]
    assert body["model"] == srv.model and body["logprobs"] is True
    assert body["response_format"]["type"] == "json_schema"
    assert labeler.usage_.calls == len(texts) and labeler.usage_.cache_hits == 0
    assert len(ResponseCache(cache)) == len(texts)
    assert ResponseCache(cache).pending_batches(labeler.endpoint(), srv.model) == []

    n_events = len(srv.events)
    again = clone(labeler)
    np.testing.assert_array_equal(again.annotate_proba(texts, DEMOS), expected)
    assert len(srv.events) == n_events  # no upload, no batch, no read
    assert again.usage_.calls == 0 and again.usage_.cache_hits == len(texts)
    # the synchronous path reads the batch's answers from the same cache
    sync_again = clone(synchronous).set_params(cache=cache)
    sync_again.annotate_proba(texts, DEMOS)
    assert sync_again.usage_.calls == 0


def test_progress_bar_shows_status_requests_done_and_elapsed(batch_servers, capsys):
    srv = batch_servers(lines_per_poll=3)
    labeler = make_labeler(srv, verbose=2)
    ids, _ = labeler.annotate(make_texts(6))
    np.testing.assert_array_equal(ids, expected_ids(make_texts(6)))
    err = capsys.readouterr().err
    assert "batch in_progress" in err and "batch completed" in err
    assert "6/6 requests" in err and "elapsed" in err


@pytest.mark.parametrize("limit", [("MAX_REQUESTS", 4), ("MAX_BYTES", 2500)])
def test_a_large_step_is_split_into_files_within_the_limits(batch_servers, monkeypatch, limit):
    monkeypatch.setattr(_batch_files, *limit)  # the server refuses a file past the same limit
    srv = batch_servers(**{limit[0].lower(): limit[1]})
    texts = make_texts(10)
    ids, _ = make_labeler(srv).annotate(texts)
    np.testing.assert_array_equal(ids, expected_ids(texts))
    batches = created_batches(srv)
    assert len(batches) >= 3 and srv.n_files_uploaded == len(batches)
    sent = [r["custom_id"] for b in batches for r in srv.requests_of(b)]
    assert len(sent) == len(set(sent)) == len(texts)
    assert all(srv.batches[b]["status"] == "completed" for b in batches)


# -- failures --------------------------------------------------------------------------


def test_failed_lines_go_out_again_in_a_new_batch(batch_servers, caplog):
    texts = make_texts(8)
    srv = batch_servers(line_faults={texts[0]: ["500"], texts[1]: ["429", "no_response"],
                                     texts[2]: ["unreadable"]})
    labeler = make_labeler(srv)
    with caplog.at_level(logging.INFO, logger="skfreeal"):
        ids, _ = labeler.annotate(texts)
    np.testing.assert_array_equal(ids, expected_ids(texts))
    sizes = [len(srv.requests_of(b)) for b in created_batches(srv)]
    assert sizes == [8, 3, 1]
    assert labeler.usage_.calls == 8 and labeler.usage_.billed_failures == 1
    assert labeler.usage_.retries == 4  # a request sent again counts as a retry
    assert ("3 requests of batch" in caplog.text and "go out again in a new batch: 1 HTTP 429, "
            "1 HTTP 500, 1 unreadable_answer (the first: " in caplog.text)
    assert "1 no response" not in caplog.text and "1 server_error (the first:" in caplog.text


def test_a_request_another_run_holds_does_not_hold_up_the_batch(batch_servers, tmp_path):
    """Two runs on one cache must not wait on each other (each holding claims the other needs)."""
    texts = make_texts(6)
    srv = batch_servers()
    cache = tmp_path / "c.sqlite"
    labeler = make_labeler(srv, cache=str(cache))
    (held, *_), _ = _requests_of(labeler, texts)
    ResponseCache(cache).claim(held, "another run", lease=3600.0)

    def other_run_gives_up():  # after our batch went out, or after 10 s if it never does
        deadline = time.monotonic() + 10.0
        while not created_batches(srv) and time.monotonic() < deadline:
            time.sleep(0.01)
        ResponseCache(cache).release([held], "another run")

    thread = threading.Thread(target=other_run_gives_up)
    thread.start()
    ids, _ = labeler.annotate(texts)
    thread.join()
    np.testing.assert_array_equal(ids, expected_ids(texts))
    # the free requests went out while the other run held one; that one, taken over, after
    assert [len(srv.requests_of(b)) for b in created_batches(srv)] == [5, 1]


def test_an_answer_holding_a_unicode_line_separator_is_read():
    line = json.dumps({"id": "r1", "custom_id": "k1", "response": {
        "status_code": 200, "body": {"choices": [{"message": {"content": "a\u2028b"}}]}}},
        ensure_ascii=False)
    assert "\u2028" in line  # unescaped, as pydantic (vLLM's run_batch) writes it
    (result,) = _batch_files.read_results(line + "\n")
    assert result.custom_id == "k1"


@pytest.mark.parametrize("on_failure", ["abstain", "raise"])
def test_a_request_that_fails_in_every_batch_abstains_or_raises(batch_servers, tmp_path,
                                                               on_failure):
    texts = make_texts(6)
    srv = batch_servers(line_faults={texts[0]: ["503"] * 5})
    labeler = make_labeler(srv, max_retries=1, on_failure=on_failure, cache=tmp_path / "c.sqlite")
    if on_failure == "abstain":
        ids, confidence = labeler.annotate(texts)
        assert ids[0] == -1 and confidence[0] == 0.0
        np.testing.assert_array_equal(ids[1:], expected_ids(texts)[1:])
        assert labeler.usage_.failed == 1
    else:
        with pytest.raises(LLMCallError, match=r"failed in batch \S+ after 2 batch\(es\): "
                                               r"HTTP 503") as info:
            labeler.annotate(texts)
        assert info.value.transient and info.value.status_code == 503
    assert len(created_batches(srv)) == 2  # the first batch and one retry
    assert len(ResponseCache(tmp_path / "c.sqlite")) == len(texts) - 1


def test_an_error_no_retry_can_fix_stops_the_run_and_keeps_the_answers(batch_servers, tmp_path):
    texts = make_texts(6)
    srv = batch_servers(line_faults={texts[3]: ["400"]})
    labeler = make_labeler(srv, on_failure="abstain", cache=tmp_path / "c.sqlite")
    with pytest.raises(LLMCallError, match="HTTP 400 \\(Injected client error 400.\\)") as info:
        labeler.annotate(texts)
    assert info.value.status_code == 400 and not info.value.transient
    assert len(created_batches(srv)) == 1
    assert len(ResponseCache(tmp_path / "c.sqlite")) == len(texts) - 1


def test_a_refused_answer_format_goes_out_again_in_a_simpler_one(batch_servers):
    srv = batch_servers(schema_formats=("json_object",))
    texts = make_texts(4)
    labeler = make_labeler(srv, max_retries=0)
    ids, _ = labeler.annotate(texts)
    np.testing.assert_array_equal(ids, expected_ids(texts))
    first, second = (srv.requests_of(b) for b in created_batches(srv))
    assert first[0]["body"]["response_format"]["type"] == "json_schema"
    assert second[0]["body"]["response_format"]["type"] == "json_object"


def test_an_expired_batch_keeps_its_answers_and_sends_the_rest_again(batch_servers, caplog):
    texts = make_texts(10)
    srv = batch_servers(expire={0: 4})
    labeler = make_labeler(srv)
    with caplog.at_level(logging.INFO, logger="skfreeal"):
        ids, _ = labeler.annotate(texts)
    np.testing.assert_array_equal(ids, expected_ids(texts))
    first, second = created_batches(srv)
    assert srv.batches[first]["status"] == "expired"
    assert len(srv.requests_of(second)) == 6
    assert labeler.usage_.calls == 10
    assert f"Batch {first} expired" in caplog.text and "4 answers" in caplog.text
    assert "6 requests of batch" in caplog.text and "6 batch_expired" in caplog.text


def test_a_batch_that_fails_validation_stops_the_run(batch_servers):
    srv = batch_servers(fail_validation={0})
    with pytest.raises(LLMCallError, match="failed validation: Injected validation failure"):
        make_labeler(srv, on_failure="abstain").annotate(make_texts(3))
    assert len(created_batches(srv)) == 1


def test_a_batch_cancelled_at_the_provider_stops_the_run(batch_servers, tmp_path):
    texts = make_texts(6)
    srv = batch_servers(lines_per_poll=2)
    srv.pause()  # the test moves the batch on itself
    labeler = make_labeler(srv, cache=tmp_path / "c.sqlite")
    outcome = {}

    def annotate():
        try:
            labeler.annotate(texts)
        except LLMCallError as exc:
            outcome["error"] = exc

    worker = threading.Thread(target=annotate)
    worker.start()
    _wait_for(lambda: srv.n_batches_created == 1)
    (batch_id,) = created_batches(srv)
    assert [srv.advance(batch_id) for _ in range(2)] == ["in_progress", "in_progress"]
    srv.cancel(batch_id)  # two requests answered, then someone cancels it
    srv.resume()
    worker.join(30)
    assert "cancelled at the provider" in str(outcome["error"])
    assert not outcome["error"].transient
    assert len(ResponseCache(tmp_path / "c.sqlite")) == 2
    assert srv.n_batches_created == 1


# -- never paying twice ----------------------------------------------------------------


_WORKER = textwrap.dedent("""
    import json, sys
    from skfreeal.labelers import OpenAILabeler
    texts = json.loads(sys.argv[1])
    OpenAILabeler("batch-model", base_url=sys.argv[2], labels=["negative", "positive"],
                  task="Classify the sentiment.", cache=sys.argv[3], batch=True,
                  batch_poll_interval=0.01,
                  batch_max_poll_interval=0.02).annotate(texts)
    print("finished")
""")


def _kill_a_batch_run_while_it_polls(srv, texts, cache, tmp_path, n_polls):
    """Run _WORKER in a child until it has read its batch ``n_polls`` times, then kill -9 it."""
    srv.pause()  # the batch waits at "validating" while the worker polls it
    worker = tmp_path / "worker.py"
    worker.write_text(_WORKER)
    proc = subprocess.Popen([sys.executable, str(worker), json.dumps(texts), srv.url, str(cache)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    try:
        _wait_for(lambda: srv.n_polls >= n_polls or proc.poll() is not None, timeout=120)
        assert proc.poll() is None, proc.stderr.read().decode()
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()


def test_kill_9_while_polling_then_the_same_run_resumes_the_same_batch(batch_servers, tmp_path,
                                                                       caplog):
    texts = make_texts(12, prefix="killed")
    cache = tmp_path / "shared.sqlite"
    srv = batch_servers()
    _kill_a_batch_run_while_it_polls(srv, texts, cache, tmp_path, n_polls=3)
    (batch_id,) = created_batches(srv)
    (record,) = ResponseCache(cache).pending_batches(srv.url, srv.model)
    assert record["batch_id"] == batch_id and len(record["keys"]) == len(texts)

    srv.resume()
    labeler = make_labeler(srv, cache=cache)
    with caplog.at_level(logging.INFO, logger="skfreeal"):
        ids, _ = labeler.annotate(texts)
    np.testing.assert_array_equal(ids, expected_ids(texts))
    assert srv.n_batches_created == 1 and srv.n_files_uploaded == 1
    assert f"Resuming batch {batch_id} of 12 requests" in caplog.text
    assert labeler.usage_.calls == len(texts)
    assert ResponseCache(cache).pending_batches(srv.url, srv.model) == []
    assert clone(labeler).annotate(texts)[0].tolist() == ids.tolist()
    assert srv.n_batches_created == 1


def test_a_synchronous_run_collects_a_stopped_batch_instead_of_paying_again(batch_servers,
                                                                           tmp_path, caplog):
    texts = make_texts(12, prefix="switched")
    cache = tmp_path / "shared.sqlite"
    srv = batch_servers()
    _kill_a_batch_run_while_it_polls(srv, texts, cache, tmp_path, n_polls=2)
    srv.resume()
    extra = make_texts(3, prefix="new")  # not in the batch: these are sent one by one
    prices = {srv.model: (2.0, 4.0)}
    labeler = make_labeler(srv, cache=cache, batch=False, price_table=prices)
    with caplog.at_level(logging.INFO, logger="skfreeal"):
        ids, _ = labeler.annotate(texts + extra)
    np.testing.assert_array_equal(ids, expected_ids(texts + extra))
    assert srv.n_batches_created == 1 and srv.n_files_uploaded == 1
    assert sum(route == "chat" for route, _ in srv.events) == len(extra)
    assert "12 of the 15 requests of this pass are in a batch submitted earlier" in caplog.text
    assert ResponseCache(cache).pending_batches(srv.url, srv.model) == []
    assert labeler.usage_.calls == len(texts) + len(extra)
    # The provider bills the batch at the batch price, whatever this run's setting.
    full = [make_labeler(srv, batch=False, price_table=prices) for _ in range(2)]
    full[0].annotate(texts)
    full[1].annotate(extra)
    assert labeler.usage_.cost == pytest.approx(
        full[0].usage_.cost * labeler.batch_price_factor + full[1].usage_.cost)


def test_collecting_a_stopped_batch_reserves_and_charges_the_batch_price(batch_servers,
                                                                         tmp_path):
    texts = make_texts(8, prefix="half-price")
    cache = tmp_path / "shared.sqlite"
    srv = batch_servers(line_faults={texts[0]: ["unreadable"]})
    _kill_a_batch_run_while_it_polls(srv, texts, cache, tmp_path, n_polls=2)
    srv.resume()
    prices = {srv.model: (2.0, 4.0)}
    labeler = make_labeler(srv, cache=cache, batch=False, price_table=prices)
    # Room for 6 worst cases at the synchronous price: 8 at that price would not fit,
    # 8 at the batch price (half) do, so the batch is collected, not refused.
    labeler.set_params(max_cost=6 * _worst_case_cost(labeler, texts))
    ids, _ = labeler.annotate(texts)
    np.testing.assert_array_equal(ids, expected_ids(texts))
    assert srv.n_batches_created == 1
    assert sum(route == "chat" for route, _ in srv.events) == 1  # the unreadable line, again
    # The batch's lines, the unreadable one included, are billed at the batch price; the
    # request sent again one by one at the full price.
    full = [make_labeler(srv, batch=False, price_table=prices) for _ in range(2)]
    full[0].annotate(texts)
    full[1].annotate(texts[:1])
    assert labeler.usage_.cost == pytest.approx(
        full[0].usage_.cost * labeler.batch_price_factor + full[1].usage_.cost)


def _resume_a_killed_batch_of_12(batch_servers, tmp_path, prefix, batch):
    """A batch run of 12 texts killed while polling; a labeler sharing its cache, and prices."""
    texts = make_texts(12, prefix=prefix)
    cache = tmp_path / "shared.sqlite"
    srv = batch_servers()
    _kill_a_batch_run_while_it_polls(srv, texts, cache, tmp_path, n_polls=2)
    srv.resume()
    labeler = make_labeler(srv, cache=cache, batch=batch, price_table={srv.model: (2.0, 4.0)})
    return srv, texts, cache, labeler


@pytest.mark.parametrize("batch", [False, True])
def test_a_resumed_batch_counts_the_answers_of_requests_this_run_does_not_ask(
        batch_servers, tmp_path, caplog, batch):
    srv, texts, cache, labeler = _resume_a_killed_batch_of_12(batch_servers, tmp_path,
                                                              "narrowed", batch)
    prices = labeler.price_table
    # The same cache, now asked for only 4 of the 12 texts the stopped run sent.
    with caplog.at_level(logging.INFO, logger="skfreeal"):
        ids, _ = labeler.annotate(texts[:4])
    np.testing.assert_array_equal(ids, expected_ids(texts[:4]))
    assert srv.n_batches_created == 1 and not any(route == "chat" for route, _ in srv.events)
    # All 12 were billed when the batch ran: this run counts all 12, at the batch price.
    assert labeler.usage_.calls == len(texts)
    assert "8 of them answer requests that the run which submitted the batch" in caplog.text
    reference = make_labeler(srv, batch=False, price_table=prices)
    reference.annotate(texts)
    assert labeler.usage_.cost == pytest.approx(
        reference.usage_.cost * labeler.batch_price_factor)
    # The 8 others are cached: asking for them costs nothing more, and counts nothing twice.
    later = make_labeler(srv, cache=cache, batch=batch, price_table=prices)
    assert later.annotate(texts)[0].tolist() == expected_ids(texts).tolist()
    assert later.usage_.calls == 0 and later.usage_.cache_hits == len(texts)


def test_a_resumed_batch_does_not_count_answers_the_cache_already_holds(batch_servers,
                                                                        tmp_path, caplog):
    srv, texts, cache, labeler = _resume_a_killed_batch_of_12(batch_servers, tmp_path,
                                                              "stored-meanwhile", True)
    # Meanwhile a synchronous run sharing the cache asked 8 of them (and paid for them).
    # (Its record hidden from that run, which would collect the batch rather than send.)
    store = ResponseCache(cache)
    (record,) = store.pending_batches(srv.url, srv.model)
    store.drop_batch(record["token"])
    make_labeler(srv, cache=cache, batch=False).annotate(texts[4:])
    store.add_batch(record["token"], endpoint=srv.url, model=srv.model,
                    input_file_id=record["input_file_id"], keys=record["keys"])
    store.set_batch_id(record["token"], record["batch_id"])
    with caplog.at_level(logging.INFO, logger="skfreeal"):
        ids, _ = labeler.annotate(texts[:4])
    np.testing.assert_array_equal(ids, expected_ids(texts[:4]))
    # The batch answers all 12; 8 were stored by the synchronous run: neither kept nor counted.
    assert labeler.usage_.calls == 4
    assert "completed after" in caplog.text and ": 4 answers, 0 requests failed" in caplog.text
    assert "8 more answers of batch" in caplog.text and "were not kept" in caplog.text
    assert "of them answer requests that the run which submitted" not in caplog.text


@pytest.mark.parametrize("batch", [False, True])
def test_a_resumed_batch_keeps_the_answers_its_budget_did_not_open(batch_servers, tmp_path,
                                                                   batch):
    srv, texts, cache, labeler = _resume_a_killed_batch_of_12(batch_servers, tmp_path,
                                                              "over-budget", batch)
    # Room for 4 worst cases at the price this run reserves them at (the batch price).
    worst = _worst_case_cost(labeler, texts) * (labeler.batch_price_factor if not batch else 1)
    labeler.set_params(max_cost=4.5 * worst)
    with pytest.raises(BudgetExceededError):
        labeler.annotate(texts)
    # The batch answered all 12: the 8 the budget did not open are paid for, so they are
    # kept and counted, and the next run pays nothing.
    assert len(ResponseCache(cache)) == len(texts)
    assert labeler.usage_.calls == len(texts)
    later = make_labeler(srv, cache=cache, batch=batch)
    np.testing.assert_array_equal(later.annotate(texts)[0], expected_ids(texts))
    assert later.usage_.calls == 0 and srv.n_batches_created == 1
    assert not any(route == "chat" for route, _ in srv.events)


def test_ctrl_c_while_polling_stops_at_once_and_the_batch_is_resumed(batch_servers, tmp_path):
    texts = make_texts(5, prefix="interrupted")
    cache = tmp_path / "c.sqlite"
    srv = batch_servers()
    srv.pause()
    labeler = make_labeler(srv, cache=cache, batch_poll_interval=30.0,
                           batch_max_poll_interval=60.0)
    sent = []

    def interrupt():
        _wait_for(lambda: srv.n_batches_created == 1)
        time.sleep(0.3)  # into the 30 s wait
        sent.append(time.monotonic())
        os.kill(os.getpid(), signal.SIGINT)

    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    threading.Thread(target=interrupt, daemon=True).start()
    try:
        with pytest.raises(KeyboardInterrupt):
            labeler.annotate(texts)
        stopped = time.monotonic()
    finally:
        signal.signal(signal.SIGINT, previous)
    assert stopped - sent[0] < 2.0
    assert len(ResponseCache(cache).pending_batches(srv.url, srv.model)) == 1

    srv.resume()
    resumed = clone(labeler).set_params(batch_poll_interval=0.01, batch_max_poll_interval=0.02)
    ids, _ = resumed.annotate(texts)
    np.testing.assert_array_equal(ids, expected_ids(texts))
    assert srv.n_batches_created == 1 and srv.n_files_uploaded == 1


def test_a_lost_answer_to_the_batch_creation_is_found_by_its_mark(batch_servers):
    srv = batch_servers(create_faults=["drop"])
    texts = make_texts(4)
    ids, _ = make_labeler(srv).annotate(texts)
    np.testing.assert_array_equal(ids, expected_ids(texts))
    assert srv.n_batches_created == 1 and srv.n_files_uploaded == 1
    assert any(route == "list" for route, _ in srv.events)


@pytest.mark.parametrize("created", [True, False], ids=["created", "never-created"])
def test_a_record_without_a_batch_id_is_found_or_submitted_again(batch_servers, tmp_path,
                                                                 created):
    """The run stopped between recording the batch and hearing its id."""
    texts = make_texts(4, prefix="unacknowledged")
    cache = ResponseCache(tmp_path / "c.sqlite")
    srv = batch_servers()
    # what the stopped run had done: the file uploaded, the batch recorded (and maybe created)
    probe = make_labeler(srv, cache=cache.path, batch=False, base_url=srv.url)
    keys, lines = _requests_of(probe, texts)
    file_id = srv.upload(b"".join(lines), "batch", "stopped.jsonl")["id"]
    cache.add_batch("token-1", endpoint=srv.url, model=srv.model, input_file_id=file_id,
                    keys=keys)
    if created:
        srv.create({"input_file_id": file_id, "endpoint": "/v1/chat/completions",
                    "completion_window": "24h", "metadata": {"skfreeal_submission": "token-1"}})
    ids, _ = make_labeler(srv, cache=cache.path).annotate(texts)
    np.testing.assert_array_equal(ids, expected_ids(texts))
    assert srv.n_batches_created == 1
    assert cache.pending_batches(srv.url, srv.model) == []


def _record_unknown_batch(srv, cache, texts, token="token-2"):
    """A batch recorded for ``texts`` under an id the endpoint does not know."""
    keys, _ = _requests_of(make_labeler(srv, batch=False), texts)
    cache.add_batch(token, endpoint=srv.url, model=srv.model, input_file_id="file-x", keys=keys)
    cache.set_batch_id(token, "batch_gone")


def test_a_recorded_batch_the_endpoint_does_not_know_stops_the_run_and_is_kept(batch_servers,
                                                                               tmp_path):
    """It may run, and be billed, under another key or project: never sent twice unasked."""
    from cli_helpers import run_cli

    texts = make_texts(3, prefix="forgotten")
    cache = ResponseCache(tmp_path / "my cache.sqlite")
    srv = batch_servers()
    _record_unknown_batch(srv, cache, texts)
    labeler = make_labeler(srv, cache=cache.path, api_key=KEY)
    with pytest.raises(LLMCallError) as info:
        labeler.annotate(texts)
    message = str(info.value)
    assert "Batch batch_gone is unknown to" in message and "HTTP 404" in message
    assert "Its 3 requests were not submitted again" in message and KEY not in message
    assert info.value.status_code == 404 and not info.value.transient
    assert srv.n_batches_created == 0 and not any(route == "chat" for route, _ in srv.events)
    assert [r["batch_id"] for r in cache.pending_batches(srv.url, srv.model)] == ["batch_gone"]

    # The command the message gives (the path, with a space, quoted) forgets the record;
    # then the run sends its requests again.
    listed = run_cli("batches", "--cache", cache.path)
    assert listed.returncode == 0, listed.stderr
    assert "1 batch(es) recorded in" in listed.stdout
    assert "batch_gone  token token-2  3 requests  recorded" in listed.stdout
    assert srv.url in listed.stdout
    program, *args = shlex.split(message.split("`")[1])
    assert program == "skfreeal" and args[:3] == ["batches", "--forget", "token-2"]
    forgot = run_cli(*args)
    assert forgot.returncode == 0, forgot.stderr
    assert "Forgot batch batch_gone (3 requests" in forgot.stdout
    assert cache.pending_batches() == []
    ids, _ = clone(labeler).annotate(texts)
    np.testing.assert_array_equal(ids, expected_ids(texts))
    assert srv.n_batches_created == 1


def test_a_recorded_batch_under_an_id_the_endpoint_does_not_know_is_found_by_its_mark(
        batch_servers, tmp_path):
    texts = make_texts(3, prefix="renamed")
    cache = ResponseCache(tmp_path / "c.sqlite")
    srv = batch_servers()
    probe = make_labeler(srv, cache=cache.path, batch=False)
    keys, lines = _requests_of(probe, texts)
    file_id = srv.upload(b"".join(lines), "batch", "stopped.jsonl")["id"]
    srv.create({"input_file_id": file_id, "endpoint": "/v1/chat/completions",
                "completion_window": "24h", "metadata": {"skfreeal_submission": "token-3"}})
    _record_unknown_batch(srv, cache, texts, token="token-3")
    ids, _ = make_labeler(srv, cache=cache.path).annotate(texts)
    np.testing.assert_array_equal(ids, expected_ids(texts))
    assert srv.n_batches_created == 1 and not any(route == "chat" for route, _ in srv.events)
    assert cache.pending_batches() == []


def test_the_batches_command_says_what_it_cannot_do(tmp_path):
    import sqlite3

    from cli_helpers import run_cli

    cache = ResponseCache(tmp_path / "c.sqlite")
    cache.add_batch("tok", endpoint="http://127.0.0.1:9/v1", model="m", input_file_id="f",
                    keys=["k1", "k2"])
    listed = run_cli("batches", "--cache", cache.path)
    assert "(id never heard)  token tok  2 requests  recorded" in listed.stdout
    missing = run_cli("batches", "--cache", tmp_path / "none.sqlite")
    assert missing.returncode == 2
    assert f"--cache {tmp_path / 'none.sqlite'}: no such file" in missing.stderr
    unknown = run_cli("batches", "--cache", cache.path, "--forget", "batch_nope")
    assert unknown.returncode == 2
    assert "--forget batch_nope: no batch with that token or id is recorded in" in (
        unknown.stderr)
    assert len(cache.pending_batches()) == 1
    empty = run_cli("batches", env={"SKFREEAL_CACHE_DIR": str(tmp_path / "fresh")})
    assert empty.returncode == 0 and "there is no response cache yet" in empty.stdout

    # Batch ids are unique per endpoint only (a restarted local server counts again).
    for token, model in (("old", "m"), ("live", "m2")):
        cache.add_batch(token, endpoint="http://127.0.0.1:9/v1", model=model,
                        input_file_id="f", keys=["k3"])
        cache.set_batch_id(token, "batch_000001")
    ambiguous = run_cli("batches", "--cache", cache.path, "--forget", "batch_000001")
    assert ambiguous.returncode == 2 and "2 records have that batch id" in ambiguous.stderr
    assert "give one of their tokens: old, live" in ambiguous.stderr
    assert run_cli("batches", "--cache", cache.path, "--forget", "old").returncode == 0
    assert [r["token"] for r in cache.pending_batches()] == ["tok", "live"]

    # Not a response cache: said so, and the file is not touched.
    text = tmp_path / "notes.txt"
    text.write_text("not a database\n" * 100)
    other = tmp_path / "other.sqlite"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE t (x)")
    before = other.read_bytes()
    for path, why in ((text, "cannot be read as a response cache"),
                      (other, "not a skfreeal response cache")):
        proc = run_cli("batches", "--cache", path)
        assert proc.returncode == 2 and f"--cache {path}: {why}" in proc.stderr, proc.stderr
    assert other.read_bytes() == before and not Path(f"{other}-wal").exists()


def test_the_forget_command_omits_the_default_cache(batch_servers, tmp_path, monkeypatch):
    monkeypatch.setenv("SKFREEAL_CACHE_DIR", str(tmp_path / "home"))
    texts = make_texts(2, prefix="default-cache")
    srv = batch_servers()
    labeler = make_labeler(srv, cache="auto")
    _record_unknown_batch(srv, labeler._get_cache(), texts)
    with pytest.raises(LLMCallError, match="`skfreeal batches --forget token-2` and run"):
        labeler.annotate(texts)


# -- cost and budget -------------------------------------------------------------------


def test_cost_estimate_and_budget_use_the_batch_price(batch_servers, tmp_path):
    srv = batch_servers()
    prices = {srv.model: (2.0, 4.0)}
    texts = make_texts(10)
    synchronous = make_labeler(srv, batch=False, price_table=prices)
    labeler = make_labeler(srv, price_table=prices)
    assert labeler.request_cost(texts)["prices"] == (1.0, 2.0)
    assert synchronous.request_cost(texts)["prices"] == (2.0, 4.0)
    assert clone(labeler).set_params(batch_price_factor=0.25).get_backend().prices() == (0.5, 1.0)
    estimates = [FreeALClassifier(LABELS, "Sentiment.", labeler=lab).estimate(texts)
                 for lab in (synchronous, labeler)]
    assert estimates[1]["expected_cost"] == pytest.approx(estimates[0]["expected_cost"] / 2)

    labeler.annotate(texts)
    usage = labeler.usage_
    assert usage.cost == pytest.approx((usage.prompt_tokens * 1.0
                                        + usage.completion_tokens * 2.0) / 1e6)


def test_the_budget_refuses_the_whole_batch_before_it_is_submitted(batch_servers, tmp_path,
                                                                   caplog):
    srv = batch_servers()
    texts = make_texts(10)
    labeler = make_labeler(srv, price_table={srv.model: (1.0, 1.0)},
                           cache=tmp_path / "c.sqlite")
    # room for the worst case of 3.5 requests at the batch price: a synchronous run would
    # send three, a batch sends none
    worst = _worst_case_cost(labeler, texts)
    labeler.set_params(max_cost=3.5 * worst)
    with caplog.at_level(logging.INFO, logger="skfreeal"):
        with pytest.raises(BudgetExceededError, match="max_cost=") as info:
            labeler.annotate(texts)
    assert info.value.n_done == 0 and srv.events == []
    assert "The batch of" in caplog.text and "is not submitted" in caplog.text
    ids, _ = clone(labeler).set_params(max_cost=1.0).annotate(texts)
    np.testing.assert_array_equal(ids, expected_ids(texts))
    assert srv.n_batches_created == 1


# -- secrets, parameters, command line -------------------------------------------------


def test_the_key_never_leaks(batch_servers, tmp_path, caplog, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    texts = make_texts(6, prefix="secret")
    srv = batch_servers(api_key=KEY, line_faults={texts[0]: ["500"], texts[1]: ["400"]})
    cache = tmp_path / "secret.sqlite"
    labeler = make_labeler(srv, api_key=KEY, cache=cache)
    srv.pause()
    errors = []

    def annotate():
        try:
            labeler.annotate(texts)
        except LLMCallError as exc:
            errors.append(exc)

    with caplog.at_level(logging.DEBUG):
        worker = threading.Thread(target=annotate)
        worker.start()
        _wait_for(lambda: ResponseCache(cache).pending_batches(srv.url, srv.model))
        recorded = b"".join(p.read_bytes() for p in tmp_path.glob("secret.sqlite*"))
        srv.resume()
        worker.join(30)
        with pytest.raises(LLMCallError) as wrong:
            clone(labeler).set_params(api_key="sk-wrong-0123456789abcdef").annotate(["good"])
    (error,) = errors
    assert "HTTP 400" in str(error)
    assert KEY.encode() not in recorded
    for path in tmp_path.glob("secret.sqlite*"):
        assert KEY.encode() not in path.read_bytes()
    assert KEY not in caplog.text
    assert "sk-wrong-0123456789abcdef" not in str(wrong.value) and wrong.value.status_code == 401
    assert wrong.value.__cause__ is None and wrong.value.__context__ is None
    assert KEY not in str(error) and "0123456789abcdef" not in caplog.text


def test_batch_parameters_are_validated():
    for name, value in [("batch", "yes"), ("batch_poll_interval", 0), ("batch_price_factor", 1.5),
                        ("batch_max_poll_interval", -1.0)]:
        with pytest.raises(InvalidParameterError, match=f"'{name}' parameter"):
            OpenAILabeler("m", cache=None, labels=LABELS, **{name: value}).annotate(["good"])


def test_the_command_line_batch_flag_reaches_the_labeler():
    import types

    from skfreeal.cli._errors import CLIError
    from skfreeal.cli._options import build_labeler

    base = dict(llm="openai", model="m", base_url=None, max_cost=None, max_llm_tokens=None,
                concurrency=None, prices=None, timeout=None, on_failure="raise")
    assert build_labeler(types.SimpleNamespace(**base, batch=True)).batch is True
    assert build_labeler(types.SimpleNamespace(**base, batch=False)).batch is False
    with pytest.raises(CLIError, match="--batch is only used with --llm openai"):
        build_labeler(types.SimpleNamespace(**{**base, "llm": "local", "model": None},
                                            batch=True))


def test_the_command_line_estimate_gives_the_batch_price(tmp_path):
    from click.testing import CliRunner

    from skfreeal.cli._main import cli

    table = tmp_path / "in.csv"
    table.write_text("text\n" + "\n".join(make_texts(40)) + "\n")
    args = ["estimate", str(table), "--text-column", "text", "--labels", "negative,positive",
            "--task", "Sentiment.", "--llm", "openai", "--model", "gpt-4o-mini", "--json"]
    runner = CliRunner()
    costs = []
    for extra in ([], ["--batch"]):
        result = runner.invoke(cli, args + extra, env={"OPENAI_API_KEY": "sk-not-used"})
        assert result.exit_code == 0, result.output
        costs.append(json.loads(result.stdout)["expected_cost"])
    assert costs[1] == pytest.approx(costs[0] / 2)
    help_text = runner.invoke(cli, ["label", "--help"]).output
    assert "--batch" in help_text


# -- helpers ---------------------------------------------------------------------------


def _requests_of(labeler, texts):
    """The cache keys and batch lines ``labeler`` would send for ``texts`` (zero-shot)."""
    from skfreeal.labelers._annotation import annotation_requests
    from skfreeal.labelers._cache import cache_key

    backend = labeler.get_backend()
    requests = annotation_requests(labeler, texts, [[]] * len(texts), LABELS,
                                   labeler._annotation_params(LABELS))
    keys = [cache_key(backend.model_id(), m, p) for m, p in requests]
    lines = [_batch_files.request_line(k, backend.request_body(m, p))
             for k, (m, p) in zip(keys, requests)]
    return keys, lines


def _worst_case_cost(labeler, texts):
    """The budget's worst case of one request of ``texts`` (the largest), in USD."""
    from skfreeal.labelers._annotation import annotation_requests

    requests = annotation_requests(labeler, texts, [[]] * len(texts), LABELS,
                                   labeler._annotation_params(LABELS))
    prompt, completion = labeler.get_backend().prices()
    return max(labeler._estimate_prompt_tokens(m) * prompt + p["max_tokens"] * completion
               for m, p in requests) / 1e6


def _wait_for(condition, timeout=30.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)
