"""A backend that overrides only ``complete_batch`` keeps the cache, the budget and the usage."""

import numpy as np
import pytest
from sklearn.base import clone

from skfreeal.labelers import BaseLabeler, BudgetExceededError, ResponseCache
from skfreeal.labelers.backends import Backend

LABELS = ["negative", "positive"]


class BatchBackend(Backend):
    """Answers all the requests of a run at once, like a Batch API, and records each batch."""

    def __init__(self, batches):
        self.batches = batches

    def model_id(self):
        return "batch-model"

    def prices(self):
        return (1e6, 1e6)  # 1 USD a token: max_cost counts tokens

    def complete_batch(self, jobs, deliver, *, run):
        batch = list(jobs)  # as many as the budget allows
        self.batches.append([j.messages[-1]["content"] for j in batch])
        for job in batch:
            text = job.messages[-1]["content"]
            deliver(job, {"text": "positive" if "good" in text else "negative",
                          "logprobs": None, "prompt_tokens": 30, "completion_tokens": 2})


class BatchLabeler(BaseLabeler):
    """A labeler over :class:`BatchBackend`; ``batches_`` lists the batches it sent."""

    def _make_backend(self):
        return BatchBackend(self.__dict__.setdefault("batches_", []))


def make_texts(n):
    return [f"review {i}: {'good' if i % 2 else 'bad'} film" for i in range(n)]


def test_batch_override_gets_cache_dedup_and_usage(tmp_path):
    path = tmp_path / "batch.sqlite"
    texts = make_texts(6)
    labeler = BatchLabeler(labels=LABELS, cache=path)
    ids, confidence = labeler.annotate(texts + texts[:2])  # two repeats, sent once
    assert ids.tolist() == [0, 1] * 4 and confidence.tolist() == [1.0] * 8
    (batch,) = labeler.batches_
    assert len(batch) == 6 and batch == sorted(batch)  # in send order
    usage = labeler.usage_
    assert usage.calls == 6 and usage.cache_hits == 2
    assert usage.prompt_tokens == 6 * 30 and usage.completion_tokens == 6 * 2
    assert len(ResponseCache(path)) == 6

    again = clone(labeler)
    ids, _ = again.annotate(make_texts(8))  # six cached, two new
    assert ids.tolist() == [0, 1] * 4
    assert [len(b) for b in again.batches_] == [2]
    assert again.usage_.calls == 2 and again.usage_.cache_hits == 6
    assert len(ResponseCache(path)) == 8


@pytest.mark.parametrize("budget", [{"max_tokens": 1500}, {"max_cost": 1500.0}])
def test_batch_override_is_stopped_by_the_budget(tmp_path, budget):
    path = tmp_path / "budget.sqlite"
    texts = make_texts(20)
    labeler = BatchLabeler(labels=LABELS, cache=path, **budget)
    with pytest.raises(BudgetExceededError, match="would be passed") as info:
        labeler.annotate(texts)
    (batch,) = labeler.batches_
    assert 0 < len(batch) < len(texts)
    assert labeler.usage_.calls == len(batch) == info.value.n_done
    assert info.value.n_total == len(texts)
    assert len(ResponseCache(path)) == len(batch)  # what was answered is kept

    resumed = clone(labeler).set_params(max_tokens=None, max_cost=None)
    ids, _ = resumed.annotate(texts)
    np.testing.assert_array_equal(ids, [0, 1] * 10)
    assert [len(b) for b in resumed.batches_] == [len(texts) - len(batch)]
    assert not set(resumed.batches_[0]) & set(batch)
    assert resumed.usage_.cache_hits == len(batch)


def test_base_labeler_without_a_backend_says_so():
    with pytest.raises(NotImplementedError):
        BaseLabeler(labels=LABELS, cache=None).annotate(["good"])
