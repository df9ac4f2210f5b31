"""The loop's events: a user's callback sees each step, each round and each LLM request."""

from collections import Counter

import pytest

from skfreeal import DemoPolicy, FreeALClassifier, RoundPolicy
from skfreeal.labelers import FunctionLabeler
from skfreeal.loop import Callback, RoundRecord, Step
from test_freeal import make_texts, tfidf_embedder, tfidf_slm
from test_labelers_function import answer

LABELS = ["negative", "positive"]


class Recorder(Callback):
    """Keeps every event it is sent, in order."""

    def __init__(self):
        self.seen = []
        self.requests = Counter()

    def on_fit_begin(self, n_texts):
        self.seen.append(("fit_begin", n_texts))

    def on_step_begin(self, step):
        self.seen.append(("begin", step.kind, step.round))

    def on_step_end(self, step):
        self.seen.append(("end", step.kind, step.round))

    def on_round_end(self, record):
        self.seen.append(("round_end", record))

    def on_request(self, event):
        self.requests[event.purpose, event.cached] += 1

    def on_fit_end(self, stop_reason, n_rounds):
        self.seen.append(("fit_end", stop_reason, n_rounds))


def fit_with(callbacks, tmp_path):
    texts = [t.replace("#", "good #") if i % 2 else t.replace("#", "bad #")
             for i, t in enumerate(make_texts(40)[0])]
    labeler = FunctionLabeler(answer, cache=tmp_path / "answers.sqlite")
    clf = FreeALClassifier(LABELS, "Sentiment.", labeler=labeler, slm=tfidf_slm(),
                           embedder=tfidf_embedder(), rounds=RoundPolicy(2),
                           demos=DemoPolicy(2, n_generated=4), random_state=0)
    return clf.fit(texts, callbacks=callbacks)


def test_a_callback_follows_the_steps_rounds_and_requests_of_fit(tmp_path):
    recorder = Recorder()
    clf = fit_with([recorder], tmp_path)
    kinds = [e[:2] for e in recorder.seen if e[0] in ("begin", "end")]
    assert kinds[:4] == [("begin", "embedding"), ("end", "embedding"),
                         ("begin", "writing"), ("end", "writing")]
    assert ("begin", "final") in kinds and kinds[-1] == ("end", "final")  # the probe judged
    rounds = [e[1] for e in recorder.seen if e[0] == "round_end"]
    assert [r.round for r in rounds] == [0, 1][:clf.n_rounds_]
    assert all(isinstance(r, RoundRecord) for r in rounds)
    # The same records as history_, but for judge_kept: known once the loop has stopped.
    assert [{**r, "judge_kept": None} for r in rounds] == [
        {**r, "judge_kept": None} for r in clf.history_]
    assert recorder.seen[0] == ("fit_begin", 40)
    assert recorder.seen[-1] == ("fit_end", clf.stop_reason_, clf.n_rounds_)
    # Every request the labeler answered reached the callback, with its purpose.
    answered = sum(n for (_, cached), n in recorder.requests.items() if not cached)
    assert answered == clf.usage_["calls"] > 0
    purposes = {purpose for purpose, _ in recorder.requests}
    assert {"generation", "annotation"} <= purposes
    annotated = sum(n for (p, _), n in recorder.requests.items() if p == "annotation")
    assert annotated == sum(r.n_annotated for r in rounds)


def test_a_second_fit_is_answered_from_the_cache_and_says_so(tmp_path):
    fit_with([], tmp_path)
    recorder = Recorder()
    clf = fit_with([recorder], tmp_path)
    assert clf.usage_["calls"] == 0
    assert recorder.requests and all(cached for _, cached in recorder.requests)


def test_steps_name_their_progress_stage():
    assert Step("annotating", 1, n=5).name == "round 1: annotating"
    assert Step("writing", 0).name == "round 0: writing demonstrations"
    assert Step("final").name == "training the student"


def test_a_callback_that_is_no_callback_is_refused_before_any_work(tmp_path):
    with pytest.raises(TypeError, match=r"callbacks\[1\] must be a skfreeal.loop.Callback.*"
                                        r"got <built-in function print>"):
        fit_with([Recorder(), print], tmp_path)
    assert not (tmp_path / "answers.sqlite").exists()  # no LLM request was made


def test_a_callback_that_raises_stops_fit_with_its_error(tmp_path):
    class Fails(Callback):
        def on_round_end(self, record):
            raise RuntimeError("stop here")

    with pytest.raises(RuntimeError, match="stop here"):
        fit_with([Fails()], tmp_path)


def test_labels_given_with_descriptions_reach_the_llms_prompt(tmp_path):
    """labels as {name: description}: the LLM reads each name with its description;
    classes_ and predictions are the names."""
    prompts = []

    def recording(messages, **params):
        prompts.append(messages[0]["content"])
        return answer(messages, **params)

    texts = [f"a good day {i}" if i % 2 else f"a bad day {i}" for i in range(20)]
    labels = {"negative": "the writer is unhappy", "positive": "the writer is pleased"}
    clf = FreeALClassifier(labels, "Sentiment.",
                           labeler=FunctionLabeler(recording, model_id="described", cache=None),
                           slm=tfidf_slm(), embedder=tfidf_embedder(), rounds=RoundPolicy(1),
                           demos=DemoPolicy(0), random_state=0).fit(texts)
    assert clf.classes_.tolist() == ["negative", "positive"]
    assert any("- negative: the writer is unhappy" in p for p in prompts)
    assert clf.labeler_.label_descriptions == labels and clf.labeler.label_descriptions is None
    with pytest.raises(ValueError, match=r"labels\['positive'\] must describe the label in one "
                                         r"line of text .* got ''"):
        clf.set_params(labels={"negative": "unhappy", "positive": ""}).fit(texts)
