"""FunctionLabeler: the annotator over a backend that calls a Python function (no model)."""

import pickle

import numpy as np
import pytest
from sklearn.base import clone

from skfreeal.labelers import FunctionLabeler, RequestEvent, ResponseCache, observing
from skfreeal.labelers.backends import Backend

LABELS = ["negative", "positive"]
TEXTS = ["a good day", "a bad day", "so good", "awful and bad"]


def answer(messages, **params):
    """Labels by keyword; writes a text of the asked label when asked for one."""
    ask = messages[-1]["content"]
    if "seed" in params:  # a demonstration-writing request
        word = "good" if 'label is "positive"' in ask else "bad"
        topics = ["the film", "our trip to the coast", "this new phone", "dinner at Luca's",
                  "the concert last night", "my sister's book", "the hotel room"]
        return f"{topics[params['seed'] % len(topics)]} was {word}, {params['seed']}"
    good = "good" in ask.rsplit("<text>", 1)[-1]
    return {"text": LABELS[good], "label_logprobs": [-1.2, -0.4] if good else [-0.4, -1.2],
            "prompt_tokens": 10, "completion_tokens": 1}


def make(tmp_path, **params):
    return FunctionLabeler(answer, labels=LABELS, task="Sentiment.",
                           cache=tmp_path / "c.sqlite", **params)


def test_annotates_with_the_annotators_prompts_and_caches(tmp_path):
    labeler = make(tmp_path)
    ids, confidence = labeler.annotate(TEXTS)
    assert ids.tolist() == [1, 0, 1, 0] and ((confidence > 0.5) & (confidence < 1)).all()
    assert labeler.usage_.calls == 4 and labeler.usage_.prompt_tokens == 40
    assert len(ResponseCache(tmp_path / "c.sqlite")) == 4
    again = clone(labeler)
    assert again.annotate(TEXTS)[0].tolist() == [1, 0, 1, 0]
    assert again.usage_.calls == 0 and again.usage_.cache_hits == 4
    assert isinstance(labeler.backend_, Backend) and "backend_" in again.__dict__


def test_writes_demonstrations_and_filters_them(tmp_path):
    demos = make(tmp_path).generate_demos(4, TEXTS, random_state=0)
    assert len(demos) == 4 and sorted(c for _, c in demos) == [0, 0, 1, 1]
    assert all(("good" in t) == (c == 1) for t, c in demos)


def test_pickles_and_clones_without_backend_or_observer(tmp_path):
    labeler = make(tmp_path)
    events = []
    with labeler.observing(events.append):
        labeler.annotate(TEXTS[:1])
        restored = pickle.loads(pickle.dumps(labeler))
    assert "backend_" not in restored.__dict__ and not restored._observers()
    assert not clone(labeler)._observers()
    assert restored.annotate(TEXTS[:1])[0].tolist() == [1]
    assert len(events) == 1  # the restored copy reports to no one


def test_a_bad_return_value_is_a_clear_error(tmp_path):
    labeler = FunctionLabeler(lambda messages, **params: 3, labels=LABELS, cache=None)
    with pytest.raises(TypeError, match=r"returned 3: it must return the answer's text"):
        labeler.annotate(["x"])
    with pytest.raises(ValueError, match="func"):
        FunctionLabeler("not callable", labels=LABELS).annotate(["x"])


def test_events_say_purpose_cache_and_tokens(tmp_path):
    labeler = make(tmp_path, calibration="contextual")
    events = []
    with observing(events.append):
        clone(labeler).generate_demos(2, TEXTS, random_state=0)
        labeler.annotate(TEXTS)
        labeler.annotate(TEXTS)
        with labeler.purpose("fill"):
            labeler.annotate_proba(TEXTS[:2])
    purposes = {e.purpose for e in events}
    assert purposes == {"generation", "annotation", "fill"}
    annotation = [e for e in events if e.purpose == "annotation"]
    # 4 texts, and 9 content-free requests the generation's checks asked already; then all
    assert sum(not e.cached for e in annotation) == 4
    assert sum(e.cached for e in annotation) == 9 + 13
    assert len(annotation) + sum(e.purpose == "fill" for e in events) == (
        labeler.usage_.calls + labeler.usage_.cache_hits)
    assert all(isinstance(e, RequestEvent) and e.zero_shot for e in annotation)
    assert annotation[0].prompt_tokens == 10 and annotation[0].seconds >= 0


def test_fit_annotate_proba_keeps_the_tilt_for_later_calls(tmp_path):
    labeler = make(tmp_path)
    first = labeler.fit_annotate_proba(TEXTS[:3])  # two positive, one negative
    prior = labeler.calibration_prior_
    assert prior[1] > prior[0]
    np.testing.assert_allclose(first, labeler.annotate_proba(TEXTS[:3], prior=prior))
    # later calls divide the kept tilt out, not the one of their own texts
    np.testing.assert_allclose(labeler.annotate_proba(TEXTS[3:]),
                               labeler.annotate_proba(TEXTS[3:], prior=prior))
    assert "calibration_prior_" not in clone(labeler).__dict__
