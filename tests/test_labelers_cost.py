"""The labeler's own cost model (request_cost) and the dry-run arithmetic around it."""

import pytest
from sklearn.base import BaseEstimator

from skfreeal.loop import RoundPolicy
from skfreeal.loop._estimate import estimate_fit_cost
from skfreeal.labelers import LocalLabeler, OpenAILabeler

LABELS = ["negative", "positive"]
TEXTS = [f"review {i}: the service was {'good' if i % 2 else 'bad'} today" * (1 + i % 3)
         for i in range(40)]
# Uncapped, for the arithmetic itself; the cap has its own tests below.
RULES = dict(rounds=RoundPolicy(2, label_fraction=1.0, max_annotations=2,
                                max_requests_per_text=None), noisy_fraction=0.25)


def test_request_cost_of_an_openai_labeler_makes_no_call():
    labeler = OpenAILabeler("gpt-4o-mini", base_url="http://127.0.0.1:9/v1", labels=LABELS,
                            task="Classify the sentiment.", cache=None)
    cost = labeler.request_cost(TEXTS, n_demos=4, n_generated=8)
    assert cost["prices"] == (0.15, 0.6)
    # one call a text written, and one zero-shot check of it (filter_demos)
    assert cost["generation_calls"] == 16 and cost["max_generation_calls"] == 5 * 16
    assert 0 < cost["completion_tokens"] < cost["prompt_tokens"]
    assert cost["generation_prompt_tokens"] > 0 and cost["generation_completion_tokens"] > 0
    assert not hasattr(labeler, "usage_") and not hasattr(labeler, "client_")
    bigger = labeler.request_cost(TEXTS, n_demos=8, n_generated=8)["prompt_tokens"]
    assert bigger > cost["prompt_tokens"]


def test_request_cost_follows_the_labelers_settings():
    labeler = OpenAILabeler("my-model", labels=LABELS, filter_demos=False)
    cost = labeler.request_cost(TEXTS, n_generated=7)
    assert cost["prices"] is None  # not in the price table
    assert cost["generation_calls"] == 7 and cost["max_generation_calls"] == 35
    assert labeler.request_cost(TEXTS)["generation_calls"] == 0
    priced = labeler.set_params(price_table={"my-model": (1.0, 2.0)}).request_cost(TEXTS)
    assert priced["prices"] == (1.0, 2.0)
    # the local model is free, and its cost model loads no model
    local = LocalLabeler("no-such-model.gguf", labels=LABELS).request_cost(TEXTS, n_demos=2)
    assert local["prices"] == (0.0, 0.0) and local["prompt_tokens"] > 0


def test_request_cost_checks_labels_and_texts():
    with pytest.raises(TypeError, match="labels is None"):
        OpenAILabeler("m").request_cost(TEXTS)
    with pytest.raises(TypeError, match="iterable of texts"):
        OpenAILabeler("m", labels=LABELS).request_cost("one text")


class PlainLabeler(BaseEstimator):
    """A labeler that is not a BaseLabeler and has no cost model."""

    def __init__(self, labels=None, task=None):
        self.labels = labels
        self.task = task

    def annotate(self, texts, demos=None):
        raise AssertionError("a dry run makes no call")


class CostedLabeler(PlainLabeler):
    """Not a BaseLabeler either, but it knows what its requests cost."""

    def request_cost(self, texts, *, n_demos, n_generated):
        return {"prompt_tokens": 100.0 + n_demos, "completion_tokens": 2.0,
                "generation_calls": n_generated, "max_generation_calls": 3 * n_generated,
                "generation_prompt_tokens": 50.0, "generation_completion_tokens": 20.0,
                "prices": (1.0, 10.0)}


def test_estimate_does_the_rounds_arithmetic_on_the_labelers_costs():
    est = estimate_fit_cost(TEXTS, CostedLabeler(LABELS), n_demos=4, n_generated_demos=6, **RULES)
    annotations = 40 + 0.25 * 40
    assert est["calls_per_round"] == [40, 10]
    assert est["expected_calls"] == annotations + 6 and est["min_calls"] == 46
    assert est["max_calls"] == 80 + 18 and est["max_generation_calls"] == 18
    assert est["expected_prompt_tokens"] == annotations * 104 + 6 * 50
    assert est["expected_completion_tokens"] == annotations * 2 + 6 * 20
    assert est["expected_cost"] == pytest.approx((5500 * 1.0 + 220 * 10.0) / 1e6)


def test_estimate_bounds_the_zero_shot_pass_that_fills_short_labels():
    est = estimate_fit_cost(TEXTS, CostedLabeler(LABELS), n_demos=4, n_generated_demos=6,
                            fill_missing_demos=True, **RULES)
    fill = min(len(TEXTS), 8 * len(LABELS))
    assert est["max_generation_calls"] == 18 + fill and est["max_calls"] == 80 + 18 + fill
    assert est["expected_calls"] == 40 + 0.25 * 40 + 6  # a fill pass is not expected


def test_estimate_keeps_every_figure_within_the_request_cap():
    rounds = RoundPolicy(2)  # the paper's 2 requests a text
    share = rounds.demo_request_share(len(TEXTS))
    assert share == 80 - (40 + 0.25 * 40)  # what the cap leaves after the expected annotations
    est = estimate_fit_cost(TEXTS, CostedLabeler(LABELS), n_demos=4, n_generated_demos=6,
                            fill_missing_demos=True, rounds=rounds, noisy_fraction=0.25)
    # the expected figure is the uncapped one (it is within the cap)
    assert est["expected_calls"] == 40 + 10 + 6
    assert est["expected_requests_per_text"] == pytest.approx(56 / 40)
    assert est["max_requests_per_text"] == 2.0
    # the worst case: writing and filling stop at their share, round 1 at the cap
    assert est["max_generation_calls"] == share and est["max_calls"] == 80


def test_estimate_at_many_labels_stays_within_two_requests_a_text():
    labels = [f"intent {i}" for i in range(77)]
    rounds = RoundPolicy(2)
    est = estimate_fit_cost(TEXTS, CostedLabeler(labels), n_demos=4, n_generated_demos=77,
                            fill_missing_demos=True, rounds=rounds, noisy_fraction=0.25)
    share = rounds.demo_request_share(len(TEXTS))
    assert est["generation_calls"] == share < 77  # writing is cut to its share of the cap
    assert est["expected_requests_per_text"] <= 2.0 and est["max_calls"] <= 80
    uncapped = estimate_fit_cost(TEXTS, CostedLabeler(labels), n_demos=4, n_generated_demos=77,
                                 fill_missing_demos=True, **RULES)
    assert uncapped["expected_requests_per_text"] > 2.0  # what the cap prevents


def test_estimate_guesses_for_a_labeler_without_a_cost_model():
    est = estimate_fit_cost(TEXTS, PlainLabeler(LABELS, "Sentiment."), n_demos=4,
                            n_generated_demos=6, **RULES)
    assert est["generation_calls"] == 6 and est["max_generation_calls"] == 30
    assert est["expected_prompt_tokens"] > 0 and est["expected_cost"] is None
