"""Answers that can only be labels, and label distributions, over HTTP (fault server)."""

import sys
from pathlib import Path

import numpy as np
import pytest

from skfreeal.labelers import OpenAILabeler

sys.path.insert(0, str(Path(__file__).parent))
from fault_server import keyword_label  # noqa: E402

LABELS = ["negative", "positive"]


@pytest.fixture
def server(fault_servers):
    return fault_servers


def make_labeler(server, **params):
    defaults = dict(base_url=server.base_url, labels=LABELS, task="Classify the sentiment.",
                    cache=None, timeout=2.0, retry_base_delay=0.01, retry_max_delay=0.05)
    defaults.update(params)
    return OpenAILabeler(server.model, **defaults)


TEXTS = ["the crew was good", "my seat was awful", "great lounge", "bad wifi"]
EXPECTED = [LABELS.index(keyword_label(t)) for t in TEXTS]


def _formats(srv):
    return [entry.get("response_format") for entry in srv.log]


def test_the_answer_schema_is_asked_and_read(server):
    srv = server()
    labeler = make_labeler(srv)
    proba = labeler.annotate_proba(TEXTS)
    assert proba.argmax(1).tolist() == EXPECTED
    np.testing.assert_allclose(proba.max(1), 0.91)  # 0.9 + half the 2% left by the top two
    assert _formats(srv) == ["json_schema"] * len(TEXTS)


@pytest.mark.parametrize("accepted, used", [(("json_object",), "json_object"), ((), None)])
def test_an_endpoint_that_refuses_the_schema_gets_a_simpler_format_once(server, accepted, used):
    srv = server(schema_formats=accepted)
    labeler = make_labeler(srv, max_concurrency=1)
    ids, confidence = labeler.annotate(TEXTS)
    assert ids.tolist() == EXPECTED and (confidence > 0.5).all()
    refused = [f for f in _formats(srv) if f not in (used,)]
    # the first text tries the refused formats once; the later texts go straight to the one
    # that worked
    assert len(refused) == (1 if accepted else 2)
    assert _formats(srv)[-len(TEXTS) + 1:] == [used] * (len(TEXTS) - 1)


def test_an_off_enum_answer_is_an_abstention_not_a_label(server):
    srv = server(off_label={"so-so"})
    ids, confidence = make_labeler(srv).annotate(["so-so", "good"])
    assert ids.tolist() == [-1, 1] and confidence[0] == 0.0


def test_free_text_is_still_read_when_constrained_is_off(server):
    srv = server()
    ids, _ = make_labeler(srv, constrained=False).annotate(TEXTS)
    assert ids.tolist() == EXPECTED and _formats(srv) == [None] * len(TEXTS)


def test_batch_calibration_removes_a_tilt_the_endpoint_shows(server):
    """Texts the endpoint's keyword rule calls negative by default (no keyword) are the tilt."""
    srv = server()
    neutral = [f"text {i} about the flight" for i in range(12)]  # no keyword: "negative"
    raw = make_labeler(srv, calibration=None).annotate_proba(neutral + TEXTS)
    calibrated = make_labeler(srv).annotate_proba(neutral + TEXTS)
    assert raw[:12].argmax(1).tolist() == [0] * 12
    assert calibrated[:12, 0].mean() < raw[:12, 0].mean()  # less sure of the tilted label
    np.testing.assert_allclose(calibrated.sum(1), 1.0)
