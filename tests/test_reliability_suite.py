"""The reliability benchmark's checks at a small size (``benchmarks/reliability.py``).

The full run (1,000 texts) writes ``benchmarks/results/reliability.json``;
here every scenario runs on 40 texts against the fault server, so that
``python -m pytest`` keeps the suite's claims true: no text lost, wrong or
paid twice under faults, the budget passed by one call at most, only calls
in flight re-made after ``kill -9``, one payment for two processes, Ctrl-C
within 2 seconds, no secret in any surface.
"""

import pytest

from benchmarks import reliability

N = 40


@pytest.mark.parametrize("rate", [0.2, 0.5])
def test_faults_lose_nothing_and_pay_once(rate):
    check = reliability.faults(N, rate)
    assert (check["lost"], check["wrong"], check["duplicated"]) == (0, 0, 0), check
    assert check["injected_faults"] > 0 and check["ok"]


@pytest.mark.parametrize("rate", [0.2, 0.5])
def test_budget_is_passed_by_one_call_at_most(rate):
    check = reliability.budget(N, rate)
    assert check["stopped_by_budget"] and check["overshoot"] <= check["one_call_cost"], check


def test_kill_9_twice_re_makes_only_calls_in_flight(tmp_path):
    check = reliability.kill9(N, tmp_path)
    assert check["all_labelled"] and check["re_made_calls"] <= sum(check["in_flight_at_kills"])
    assert check["ok"], check


def test_two_processes_pay_once(tmp_path):
    check = reliability.two_processes(N, tmp_path)
    assert check["all_labelled"] and check["calls"] <= 1.05 * N, check


def test_sigint_raises_within_2_seconds(tmp_path):
    check = reliability.sigint(tmp_path, cli=False)  # the CLI: tests/test_cli_reliability.py
    assert check["ok"], check


def test_secrets_scan_finds_no_leak(tmp_path):
    check = reliability.secrets(tmp_path)
    assert check["leaks"] == [] and check["n_surfaces"] >= 14 and check["ok"], check


def test_render_lists_every_check():
    result = {"n": 3, "seed": 0, "concurrency": 8, "passed": True, "command": "x",
              "machine": {"git": {"commit": "abc", "dirty": False}, "processor": "cpu",
                          "usable_cores": 2, "load_average_at_start": [1.0, 1.0, 1.0]},
              "checks": {"faults_20": {"ok": True, "lost": 0, "wrong": 0, "duplicated": 0,
                                       "injected_faults": 1, "faulty_texts": 1,
                                       "off_label_texts": 0, "off_label_abstained": 0,
                                       "retries": 1, "seconds": 0.1, "fault_rate": 0.2}}}
    page = reliability.render(result)
    assert "0 lost, 0 wrong, 0 duplicated" in page and "``abc``" in page
