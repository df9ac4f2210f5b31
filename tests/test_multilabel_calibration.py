"""Contextual calibration of label sets, through the local labeler's label-set path.

No model is loaded: the local model's runner is replaced by one that judges
each label by keywords and says "yes" to ``billing`` far more readily than
to the other labels, whatever the text (its tilt), on the content-free
inputs too. The requests go through :class:`~skfreeal.labelers.LocalLabeler`
as a real run's do (the label-set parameters, the judged prompt, the
request counting), in milliseconds.
"""

import numpy as np
import pytest
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.multiclass import OneVsRestClassifier
from sklearn.pipeline import make_pipeline

from skfreeal import MultiLabelFreeALClassifier
from skfreeal.calibration import CONTENT_FREE_INPUTS, calibrate_label_sets, label_set_prior
from skfreeal.labelers import FunctionLabeler, LocalLabeler
from skfreeal.labelers.backends._llama import LlamaCppBackend
from skfreeal.labels import MultiLabelSpace
from skfreeal.loop import DemoPolicy, RoundPolicy

NAMES = ["billing", "login", "shipping"]
TASK = "Which topics does the support ticket raise?"
WORDS = {"billing": "invoice", "login": "password", "shipping": "parcel"}
TEXTS = [f"ticket {i}: my {WORDS[NAMES[i % 3]]} is the problem" for i in range(12)]
GOLD = np.array([[int(j == i % 3) for j in range(3)] for i in range(12)], dtype=np.int8)


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


class TiltedRunner:
    """Judges each label by its keyword (2 log-odds either way), billing with 2.5 more."""

    TILT = np.array([2.5, 0.0, 0.0])

    def __init__(self):
        self.asked, self.systems = [], set()

    def score_label_set(self, messages, labels):
        text = messages[-1]["content"]
        self.asked.append(text)
        self.systems.add("true if it applies" if "true if it applies" in messages[0]["content"]
                         else messages[0]["content"])
        evidence = np.array([2.0 if WORDS[name] in text else -2.0 for name in labels])
        if text.strip() in CONTENT_FREE_INPUTS:
            evidence = np.full(len(labels), -2.0)  # nothing to say yes to
        proba = sigmoid(evidence + self.TILT[:len(labels)])
        return {"prompt_tokens": 50, "completion_tokens": len(labels), "text": "",
                "label_probs": proba.tolist()}

    def tokens(self, messages):  # the budget counts a prompt's tokens
        return [0] * sum(len(m["content"]) // 4 + 4 for m in messages)


@pytest.fixture
def runner(monkeypatch):
    runner = TiltedRunner()
    monkeypatch.setattr(LlamaCppBackend, "runner", lambda self: runner)
    return runner


@pytest.fixture
def model_file(tmp_path):
    path = tmp_path / "tilted.gguf"  # only its hash is read (the cache key's model id)
    path.write_bytes(b"not a model")
    return str(path)


def local(model_file, **params):
    return LocalLabeler(model_file, labels=MultiLabelSpace(NAMES), task=TASK, cache=None,
                        **params)


def test_contextual_calibration_removes_a_labels_excess(runner, model_file):
    raw = local(model_file, calibration=None).annotate_proba(TEXTS)
    assert (raw[:, 0] > 0.5).all()  # uncalibrated: billing on every ticket
    labeler = local(model_file, calibration="contextual")
    n_requests = labeler.calibration_requests(len(TEXTS))
    assert n_requests == 9
    labels, _ = labeler.annotate(TEXTS)
    np.testing.assert_array_equal(labels, GOLD)
    # the content-free inputs went to the model in the prompt of label sets (three zero-shot
    # contexts: the same three requests, answered once), and all nine count as requests
    asked_free = [text for text in runner.asked if text in CONTENT_FREE_INPUTS]
    assert sorted(asked_free) == sorted(CONTENT_FREE_INPUTS)
    assert runner.systems == {"true if it applies"}  # every request: each label judged
    usage = labeler.usage_
    assert usage.calls + usage.cache_hits == len(TEXTS) + n_requests
    # the tilt is each label's P(yes) on the content-free inputs, billing's the largest
    prior = labeler.calibration_prior(TEXTS)
    assert prior.argmax() == 0 and prior[1] == pytest.approx(prior[2])
    np.testing.assert_allclose(labeler.annotate_proba(TEXTS), calibrate_label_sets(raw, prior))


def test_the_tilt_kept_by_fit_annotate_proba_serves_later_calls(runner, model_file):
    labeler = local(model_file, calibration="contextual")
    assert labeler.calibration_requests(len(TEXTS), refit=True) == 9
    first = labeler.fit_annotate_proba(TEXTS)
    assert labeler.calibration_prior_.shape == (3,) and labeler.calibration_prior_.argmax() == 0
    assert labeler.calibration_requests(4) == 0  # the kept tilt: no content-free request
    asked = len(runner.asked)
    np.testing.assert_allclose(labeler.annotate_proba(TEXTS[:4]), first[:4])
    assert len(runner.asked) == asked + 4


@pytest.mark.parametrize("calibration", ["batch", None])
def test_label_sets_stay_uncalibrated_by_default_and_without_calibration(runner, model_file,
                                                                          calibration):
    labeler = local(model_file, calibration=calibration)
    assert labeler.calibration_requests(len(TEXTS), refit=True) == 0
    proba = labeler.fit_annotate_proba(TEXTS)
    assert labeler.calibration_prior_ is None and labeler.calibration_prior(TEXTS) is None
    np.testing.assert_allclose(proba, local(model_file, calibration=None).annotate_proba(TEXTS))
    assert not any(text in CONTENT_FREE_INPUTS for text in runner.asked)
    assert local(model_file).calibration == "batch"  # the default: label sets as they are


def test_a_written_label_set_is_not_calibrated_and_asks_nothing_more():
    """An answer written as a JSON list carries no probability per label to correct."""
    asked = []

    def writes(messages, **params):
        asked.append(messages[-1]["content"])
        return '["billing"]'

    labeler = FunctionLabeler(writes, labels=MultiLabelSpace(NAMES), task=TASK, cache=None,
                              calibration="contextual")
    assert labeler.calibration_requests(len(TEXTS)) == 0
    assert labeler.annotate_proba(TEXTS)[:, 0].tolist() == [1.0] * len(TEXTS)
    assert sorted(asked) == sorted(TEXTS)


def test_a_given_prior_is_divided_out_per_label(runner, model_file):
    labeler = local(model_file, calibration=None)
    raw = labeler.annotate_proba(TEXTS)
    np.testing.assert_allclose(labeler.annotate_proba(TEXTS, prior=np.ones(3)), raw)
    prior = label_set_prior(raw, pseudo_count=0)
    np.testing.assert_allclose(labeler.annotate_proba(TEXTS, prior=prior),
                               calibrate_label_sets(raw, prior))


def test_multilabel_freeal_counts_the_calibration_in_its_request_budget(runner, model_file):
    texts = [f"{t}, reference {i}" for i, t in enumerate(TEXTS * 3)]
    gold = np.vstack([GOLD] * 3)
    clf = MultiLabelFreeALClassifier(
        NAMES, TASK, labeler=local(model_file, calibration="contextual"),
        slm=make_pipeline(TfidfVectorizer(), OneVsRestClassifier(LogisticRegression())),
        embedder=make_pipeline(TfidfVectorizer(), TruncatedSVD(n_components=4, random_state=0)),
        demos=DemoPolicy(n_demos=2), rounds=RoundPolicy(n_rounds=2, max_requests_per_text=1.5),
        random_state=0)
    estimate = clf.estimate(texts, measure_speed=False)
    clf.fit(texts)
    assert clf.labeler_.calibration_prior_.argmax() == 0
    # round 0's labels are the calibrated ones: billing's excess is gone
    np.testing.assert_array_equal(clf.round_labels_[0], gold)
    usage = clf.labeler_.usage_
    made = usage.calls + usage.cache_hits
    assert made <= 1.5 * len(texts)
    assert estimate["calls_per_round"][0] == len(texts) + 9
    assert made >= len(texts) + 9
