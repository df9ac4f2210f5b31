"""The labelers' parameters: declared once, seen whole by scikit-learn and Sphinx."""

import inspect

import pytest
from sklearn.base import clone
from sklearn.utils._param_validation import InvalidParameterError
from sklearn.utils.estimator_checks import (
    check_do_not_raise_errors_in_init_or_set_params,
    check_estimator_cloneable,
    check_estimator_repr,
    check_get_params_invariance,
    check_no_attributes_set_in_init,
    check_parameters_default_constructible,
    check_set_params,
)

from skfreeal.labelers import BaseLabeler, LocalLabeler, OpenAILabeler
from skfreeal.labelers._params import inherits_params

SHARED = {
    "labels": None, "task": None, "label_descriptions": None, "cache": "auto", "max_cost": None,
    "max_tokens": None, "price_table": None, "temperature": 0.0, "generation_temperature": 0.7,
    "max_concurrency": 8, "max_text_chars": 1000, "max_demo_chars": 200, "demo_order": "shared",
    "filter_demos": True, "constrained": True, "calibration": "batch", "on_failure": "raise",
    "random_state": None, "verbose": 0,
}
OWN = {
    BaseLabeler: {},
    OpenAILabeler: {"model": inspect.Parameter.empty, "base_url": None, "api_key": None,
                    "timeout": 60.0, "max_retries": 6, "retry_base_delay": 0.5,
                    "retry_max_delay": 30.0, "logprobs": True, "batch": False,
                    "batch_poll_interval": 5.0, "batch_max_poll_interval": 60.0,
                    "batch_price_factor": 0.5},
    LocalLabeler: {"model": "qwen2.5-coder-0.5b", "n_ctx": 2048, "n_threads": None,
                   "n_batch": 512},
}
LABELERS = [BaseLabeler(), OpenAILabeler("gpt-4o-mini"), LocalLabeler()]
CHECKS = [check_estimator_cloneable, check_estimator_repr, check_no_attributes_set_in_init,
          check_do_not_raise_errors_in_init_or_set_params, check_get_params_invariance,
          check_set_params, check_parameters_default_constructible]


@pytest.mark.parametrize("cls", list(OWN), ids=lambda c: c.__name__)
def test_signature_lists_every_parameter_with_its_default(cls):
    expected = {**OWN[cls], **SHARED}
    if cls is LocalLabeler:
        expected["max_concurrency"] = 1  # the in-process model answers one at a time
    params = inspect.signature(cls).parameters
    assert list(params) == list(expected)  # own parameters first, then the shared ones
    assert {name: p.default for name, p in params.items()} == expected
    assert all(p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) for p in params.values())
    assert sorted(cls._get_param_names()) == sorted(expected)
    assert set(cls._parameter_constraints) == set(expected)


@pytest.mark.parametrize("labeler", LABELERS, ids=lambda e: type(e).__name__)
@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.__name__)
def test_labelers_pass_scikit_learns_api_checks(labeler, check):
    check(type(labeler).__name__, labeler)


def test_shared_parameters_go_through_get_set_params_clone_and_repr():
    labeler = LocalLabeler("smollm2-135m", n_ctx=512, task="Topic.", max_concurrency=2,
                           temperature=0.3)
    params = labeler.get_params()
    assert params["task"] == "Topic." and params["max_concurrency"] == 2
    assert params["n_ctx"] == 512 and params["verbose"] == 0
    twin = clone(labeler).set_params(verbose=1, n_batch=64)
    assert (twin.task, twin.temperature, twin.verbose, twin.n_batch) == ("Topic.", 0.3, 1, 64)
    assert " ".join(repr(labeler).split()) == (
        "LocalLabeler(max_concurrency=2, model='smollm2-135m', n_ctx=512, task='Topic.', "
        "temperature=0.3)")
    assert repr(LocalLabeler(max_concurrency=1)) == "LocalLabeler()"
    assert repr(OpenAILabeler("m", max_concurrency=8)) == "OpenAILabeler(model='m')"


def test_unknown_and_invalid_parameters_are_refused():
    with pytest.raises(TypeError, match="unexpected keyword argument 'max_cocurrency'"):
        OpenAILabeler("m", max_cocurrency=2)
    with pytest.raises(ValueError, match="Invalid parameter 'max_cocurrency'"):
        LocalLabeler().set_params(max_cocurrency=2)
    labeler = OpenAILabeler("m", labels=["a", "b"], temperature=5.0)
    with pytest.raises(InvalidParameterError, match="'temperature' parameter of OpenAILabeler"):
        labeler.request_cost(["a text"])


def test_inherits_params_needs_a_var_keyword_to_forward():
    with pytest.raises(TypeError, match=r"must end with \*\*kwargs.*BaseLabeler.__init__"):
        inherits_params(BaseLabeler)(lambda self, model=None: None)


def test_the_answer_room_counts_a_cjk_label_by_its_bytes():
    """One character of Chinese is about one token, not a third of one: an answer
    cut short would be an abstention, and cached as one."""
    labeler = OpenAILabeler("m")
    assert labeler._answer_max_tokens(["negative", "positive"]) == 8 + 8 // 3
    assert labeler._answer_max_tokens(["科学与技术新闻报道", "体育"]) == 8 + 9


def test_a_claim_outlasts_every_retry_a_server_may_ask_for():
    """A run on another machine must not take over (and pay again for) a request
    whose first run is still waiting out a 300 s Retry-After."""
    from skfreeal.labelers._retry import MAX_RETRY_AFTER

    labeler = OpenAILabeler("m", max_retries=6, retry_max_delay=30.0, timeout=60.0)
    assert labeler.get_backend().claim_lease() >= 7 * 60.0 + 6 * MAX_RETRY_AFTER
