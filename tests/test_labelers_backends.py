"""The backends the labelers build: when they are rebuilt, shared, and never pickled."""

import pickle

import pytest
from sklearn.base import clone

from skfreeal.labelers import (
    BaseLabeler,
    FunctionLabeler,
    LocalLabeler,
    OpenAILabeler,
    Secret,
)
from skfreeal.labelers.backends import LlamaCppBackend, OpenAIBackend

LABELS = ["negative", "positive"]
KEY = "sk-test-0123456789abcdef"


def by_keyword(messages, **params):
    return LABELS["good" in messages[-1]["content"]]


def test_a_backend_is_kept_until_a_parameter_it_is_built_from_changes():
    labeler = OpenAILabeler("m", api_key=KEY, base_url="http://127.0.0.1:9/v1", labels=LABELS)
    backend = labeler.get_backend()
    assert isinstance(backend, OpenAIBackend) and labeler.get_backend() is backend
    labeler.set_params(temperature=0.5, labels=["a", "b"])  # the annotator's parameters
    assert labeler.get_backend() is backend
    labeler.set_params(timeout=5.0)
    assert labeler.get_backend() is not backend and labeler.get_backend().timeout == 5.0
    assert clone(labeler).__dict__.get("backend_") is None


def test_share_backend_shares_one_backend_between_labelers_built_alike(tmp_path):
    first = FunctionLabeler(by_keyword, labels=LABELS, cache=None)
    second = FunctionLabeler(by_keyword, labels=LABELS, cache=tmp_path / "c.sqlite",
                             demo_order="given")
    assert second.share_backend(first) is second
    assert second.get_backend() is first.get_backend()
    assert second.annotate(["good", "bad"])[0].tolist() == [1, 0]
    assert second.usage_.calls == 2 and not hasattr(first, "usage_")  # the usage is each one's
    second.set_params(model_id="another")  # built from another parameter: its own again
    assert second.get_backend() is not first.get_backend()


@pytest.mark.parametrize("other", [
    FunctionLabeler(by_keyword, model_id="other-rules", labels=LABELS),
    LocalLabeler("smollm2-135m", labels=LABELS),
])
def test_share_backend_refuses_a_labeler_built_otherwise(other):
    labeler = FunctionLabeler(by_keyword, labels=LABELS)
    with pytest.raises(ValueError, match="other=.*builds its backend from other parameters"):
        labeler.share_backend(other)


def test_local_labelers_with_another_model_setting_do_not_share_a_model():
    small = LocalLabeler("smollm2-135m", n_ctx=512, labels=LABELS)
    with pytest.raises(ValueError, match="LocalLabeler's model, n_ctx"):
        LocalLabeler("smollm2-135m", n_ctx=1024, labels=LABELS).share_backend(small)
    assert "backend_" not in small.__dict__  # refused before any model is loaded
    assert isinstance(small.get_backend(), LlamaCppBackend)


def test_backends_hold_secrets_masked_and_refuse_to_pickle():
    labeler = OpenAILabeler("m", api_key=KEY, base_url="https://me:pass-0123456789@host/v1",
                            labels=LABELS)
    backend = labeler.get_backend()
    assert isinstance(backend.api_key, Secret) and isinstance(backend.base_url, Secret)
    assert KEY not in repr(vars(backend)) and "pass-0123456789" not in repr(vars(backend))
    scrubbed = backend.scrub(f"echo {KEY} and pass-0123456789")
    assert KEY not in scrubbed and "0123456789" not in scrubbed and scrubbed.startswith("echo ***")
    with pytest.raises(TypeError, match="never pickled") as raised:
        pickle.dumps(backend)
    assert KEY not in str(raised.value)
    assert KEY.encode() not in pickle.dumps(labeler)  # the labeler pickles, without it
    with pytest.raises(TypeError, match="never pickled"):
        pickle.dumps(LlamaCppBackend("smollm2-135m"))


def test_a_labeler_without_a_backend_says_what_to_write():
    class NoBackend(BaseLabeler):
        pass

    with pytest.raises(NotImplementedError, match="NoBackend must build its backend in "
                                                  "_make_backend"):
        NoBackend(labels=LABELS, cache=None).annotate(["a text"])
