"""MultiLabelFreeALClassifier.estimate: the dry run of a multi-label fit.

No LLM is loaded: a labeler that fails on any request, the local labeler's
cost model (which loads no model) and, for the timed requests, a stand-in for
the local model's runner that takes longer the more labels it judges.
"""

import time

import numpy as np
import pytest

from skfreeal import FreeALClassifier, MultiLabelFreeALClassifier
from skfreeal.labelers import FunctionLabeler, LocalLabeler
from skfreeal.labelers._label_sets import SCORE_LABEL_SET
from skfreeal.labelers.backends._llama import LlamaCppBackend
from skfreeal.loop import DemoPolicy, RoundPolicy

TEXTS = [f"ticket {i}: charged twice for order {i} and the parcel is late" for i in range(200)]
TASK = "Which topics does the support ticket raise?"


def names(k):
    return [f"topic_{i}" for i in range(k)]


def no_call(messages, **params):
    raise AssertionError("an estimate makes no request")


def test_a_dry_run_follows_the_rounds_and_writes_no_demonstrations():
    clf = MultiLabelFreeALClassifier(names(3), TASK,
                                     labeler=FunctionLabeler(no_call, model_id="none", cache=None),
                                     rounds=RoundPolicy(n_rounds=2))
    est = clf.estimate(TEXTS)
    assert est["n_texts"] == 200 and est["calls_per_round"][0] == 200
    assert est["generation_calls"] == 0 == est["max_generation_calls"]
    # round 1 asks the assumed noisy quarter again, within the cap of requests a text
    assert est["calls_per_round"] == [200, 50]
    assert est["expected_requests_per_text"] == 1.25
    assert est["min_calls"] == 200 and est["max_calls"] == 400
    assert est["expected_requests_per_text"] <= est["max_requests_per_text"]
    assert est["expected_llm_seconds"] is None  # not a local model: nothing timed


def test_the_request_budget_stops_the_later_rounds():
    clf = MultiLabelFreeALClassifier(names(3), TASK,
                                     labeler=FunctionLabeler(no_call, model_id="none", cache=None),
                                     rounds=RoundPolicy(n_rounds=3, max_requests_per_text=1.1))
    est = clf.estimate(TEXTS, noisy_fraction=0.5)
    assert est["calls_per_round"] == [200, 20, 0] and est["max_calls"] == 220


def test_what_fit_refuses_the_estimate_refuses():
    clf = MultiLabelFreeALClassifier(names(3), TASK,
                                     rounds=RoundPolicy(query_strategy="uncertainty"))
    with pytest.raises(ValueError, match="uncertainty"):
        clf.estimate(TEXTS, measure_speed=False)


def test_written_label_sets_count_as_the_single_label_writing_does():
    """Round 0 writes label sets when asked (n_generated > 0): as many requests as one label."""
    demos = DemoPolicy(n_generated=6)
    multi = MultiLabelFreeALClassifier(names(3), TASK, demos=demos)
    single = FreeALClassifier(names(3), TASK, demos=demos)
    calls = multi.estimate(TEXTS, measure_speed=False)["generation_calls"]
    assert calls >= 6 and calls == single.estimate(TEXTS, measure_speed=False)["generation_calls"]
    assert MultiLabelFreeALClassifier(names(3), TASK).estimate(
        TEXTS, measure_speed=False)["generation_calls"] == 0  # writes none by default


def test_a_local_models_label_set_prompts_grow_with_the_labels():
    """Its demonstrations show every label's truth value: a longer prompt a label."""
    def prompt_tokens(cls, k):
        clf = cls(names(k), TASK, labeler=LocalLabeler("no-such-model.gguf"))
        return clf.estimate(TEXTS, measure_speed=False)["expected_prompt_tokens"] / 250

    single = {k: prompt_tokens(FreeALClassifier, k) for k in (5, 20)}
    multi = {k: prompt_tokens(MultiLabelFreeALClassifier, k) for k in (5, 20)}
    assert multi[5] > single[5] and multi[20] > 2 * single[20]
    assert multi[20] - multi[5] > 5 * (single[20] - single[5])


class Runner:
    """The local model's runner, judging each label in 10 ms; it records each request."""

    def __init__(self):
        self.requests = []

    def _answer(self, kind, messages, **extra):
        self.requests.append((kind, messages, extra))
        return {"prompt_tokens": 100, "completion_tokens": 4, "text": "topic_0", **extra}

    def score_label_set(self, messages, labels):
        time.sleep(0.01 * len(labels))
        return self._answer("label set", messages, label_probs=[0.5] * len(labels),
                            labels=list(labels))

    def score_labels(self, messages, labels):
        return self._answer("one label", messages, labels=list(labels))

    def complete(self, messages, **params):
        return self._answer("writing", messages)


@pytest.fixture
def runner(monkeypatch):
    runner = Runner()
    monkeypatch.setattr(LlamaCppBackend, "runner", lambda self: runner)
    return runner


def test_the_timed_requests_are_label_set_requests_and_their_time_grows_with_the_labels(
        runner):
    clf = MultiLabelFreeALClassifier(names(5), TASK, labeler=LocalLabeler("no-such-model.gguf"),
                                     demos=DemoPolicy(n_demos=2))
    five = clf.estimate(TEXTS[:20])
    judged = [r for r in runner.requests if r[0] == "label set"]
    # one untimed request loads the model, then 3 zero-shot and 6 with demonstrations
    assert len(judged) == 10 and all(r[2]["labels"] == names(5) for r in judged)
    with_demos = [messages for _, messages, _ in judged if len(messages) > 2]
    assert len(with_demos) == 6
    # the demonstrations answer as the model is asked to: every label's truth value
    assert with_demos[0][2]["content"].startswith('{"topic_0": ')
    runner.requests.clear()
    twenty = clf.set_params(labels=names(20)).estimate(TEXTS[:20])
    assert all(r[2]["labels"] == names(20) for r in runner.requests if r[0] == "label set")
    speed5, speed20 = five["llm_speed"], twenty["llm_speed"]
    assert speed20["annotation_seconds"] > 2 * speed5["annotation_seconds"]
    assert twenty["expected_llm_seconds"] > 2 * five["expected_llm_seconds"]
    assert five["expected_llm_seconds"] == pytest.approx(
        five["expected_calls"] * speed5["annotation_seconds"])


def test_a_single_label_fit_still_times_one_label_requests(runner):
    FreeALClassifier(names(5), TASK, labeler=LocalLabeler("no-such-model.gguf"),
                     demos=DemoPolicy(n_demos=2)).estimate(TEXTS[:20])
    kinds = [kind for kind, _, _ in runner.requests]
    assert kinds.count("one label") == 10 and "label set" not in kinds
    assert np.all([r[2]["labels"] == names(5) for r in runner.requests if r[0] == "one label"])
