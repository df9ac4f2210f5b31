"""FreeAL end to end: the transformer student and a real HTTP LLM endpoint.

The whole loop runs with real parts: ``OpenAILabeler`` with its SQLite cache
talks to an OpenAI-compatible server on 127.0.0.1 (``fault_server``, a
deterministic keyword annotator that errs on a known set of texts in its
first answer), the student is ``RobustTextClassifier`` on the tiny encoder,
and retrieval uses ``SentenceEmbedder`` on the same encoder. The server's
request log is the ground truth for what the loop asked the LLM.
"""

import re
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, KFold

from skfreeal import FreeALClassifier, GMMNoiseFilter, RobustTextClassifier
from skfreeal.labelers import OpenAILabeler
from skfreeal.slm import SentenceEmbedder

sys.path.insert(0, str(Path(__file__).parent))
from fault_server import FaultServer, keyword_label, passenger_texts  # noqa: E402
from test_freeal import with_policies  # noqa: E402

pytestmark = pytest.mark.usefixtures("torch_single_thread")

LABELS = ["negative", "positive"]
TASK = "Classify the sentiment of an airline passenger's tweet."
make_texts = passenger_texts


def gold_of(texts):
    return np.array([keyword_label(t) for t in texts], dtype=object)


def is_generation(entry):
    return re.search(r"Write (\d+|one) new texts?\b", entry["text"]) is not None


def annotation_counts(server):
    return Counter(e["text"] for e in server.log if e["outcome"] == "ok" and not is_generation(e))


@pytest.fixture
def llm_server():
    wrong = [f"passenger {i}:" for i in range(0, 48, 5)]  # a fifth wrong at first
    with FaultServer(wrong_first=wrong) as server:
        yield server


def make_clf(server, encoder, cache, **params):
    labeler = OpenAILabeler(server.model, base_url=server.base_url, api_key="sk-local-e2e",
                            cache=cache, max_concurrency=4, timeout=5.0)
    slm = RobustTextClassifier(encoder, max_epochs=4, warmup_epochs=2, rampup_epochs=2,
                               batch_size=16, lr=1e-3, device="cpu")
    defaults = dict(labeler=labeler, slm=slm, embedder=SentenceEmbedder(encoder, device="cpu"),
                    n_rounds=2, n_demos=4, n_generated=8, random_state=0)
    defaults.update(params)
    return FreeALClassifier(LABELS, TASK, **with_policies(defaults))


def test_whole_loop_keeps_its_invariants(llm_server, tiny_encoder_path, tmp_path):
    texts = make_texts(48)
    clf = make_clf(llm_server, tiny_encoder_path, tmp_path / "responses.sqlite")
    clf.fit(texts)

    # What the server saw, text by text, is what the estimator says it asked.
    asked = annotation_counts(llm_server)
    np.testing.assert_array_equal(clf.n_annotations_, [asked[t] for t in texts])
    assert clf.n_annotations_.min() == 1 and clf.n_annotations_.max() <= 2

    # Round 1 re-annotated exactly the texts the round-0 student found noisy.
    noisy0 = ~clf.round_clean_masks_[0]
    assert 0 < noisy0.sum() < len(texts)
    np.testing.assert_array_equal(clf.n_annotations_ == 2, noisy0)

    # LLM calls on the training texts: one per text, plus one per noisy text.
    # Round 0's demo pool costs apart: generation calls, and one check call
    # per generated demo (``filter_demos``), a fixed cost that does not grow with n.
    annotation_calls = sum(asked[t] for t in texts)
    assert annotation_calls == len(texts) + noisy0.sum()
    assert annotation_calls / len(texts) <= 1 + noisy0.mean()
    n_pool_calls = len(llm_server.log) - annotation_calls
    assert any(is_generation(e) for e in llm_server.log)
    # At most the dry run's worst case for generation; the dry run calls nobody, so the
    # server's log still matches the fitted labeler's count.
    estimate = clf.estimate(texts)
    assert n_pool_calls <= estimate["max_generation_calls"]
    assert len(llm_server.log) <= estimate["max_calls"]
    assert clf.usage_["calls"] == len(llm_server.log)

    # The history agrees with the labels.
    h0, h1 = clf.history_
    assert h0["n_annotated"] == len(texts) and h1["n_annotated"] == noisy0.sum()
    assert h0["clean_fraction"] == pytest.approx(1 - noisy0.mean())
    assert h1["n_changed"] == np.sum(clf.round_labels_[1] != clf.round_labels_[0])
    assert h1["n_labelled"] == np.sum(clf.label_ids_ >= 0)
    assert h0["calls"] + h1["calls"] == clf.usage_["calls"]
    np.testing.assert_array_equal(clf.round_labels_[-1], clf.label_ids_)
    changed = clf.round_labels_[1] != clf.round_labels_[0]
    assert changed.any() and np.all(clf.label_round_[changed] == 1)
    assert not changed[~noisy0].any()  # clean texts keep their first label

    # The wrong first answers that round 1 looked at again are now right.
    gold = gold_of(texts)
    fixed = noisy0 & (clf.round_labels_[0] >= 0)
    assert np.all(clf.classes_[clf.label_ids_[fixed]] == gold[fixed])

    # predict uses the student alone: the server sees nothing more.
    before = len(llm_server.log)
    assert clf.predict(texts[:5]).shape == (5,)
    assert len(llm_server.log) == before

    # A second identical fit is answered from the cache: zero calls.
    again = clone(clf).fit(texts)
    assert len(llm_server.log) == before
    assert again.usage_["calls"] == 0
    assert again.usage_["cache_hits"] == clf.usage_["calls"]
    np.testing.assert_array_equal(again.label_ids_, clf.label_ids_)


# 24 texts a fold leave round 0's writing 18 of the 48 requests the budget allows (2 a text):
# the LLM server's answers fill 2 of the 4 demonstrations a label, which the fit says in a warning
@pytest.mark.filterwarnings("ignore:The LLM wrote fewer usable demonstrations:UserWarning")
def test_grid_search_reuses_cached_annotations(llm_server, tiny_encoder_path, tmp_path):
    texts = np.array(make_texts(48), dtype=object)
    clf = make_clf(llm_server, tiny_encoder_path, tmp_path / "responses.sqlite",
                   noise_filter=GMMNoiseFilter())
    fits = []

    def scorer(estimator, X, y):
        fits.append({"fold": X[0], "round0_calls": estimator.history_[0]["calls"],
                     "round0_hits": estimator.history_[0]["cache_hits"]})
        return estimator.score(X, y)

    grid = GridSearchCV(clf, {"demos__top_percent": [0.1, 0.2, 0.5],
                              "noise_filter__threshold": [0.5, 0.7]},
                        cv=KFold(2, shuffle=True, random_state=0), scoring=scorer)
    grid.fit(texts, gold_of(texts))

    assert len(fits) == 12
    for fold in {f["fold"] for f in fits}:
        runs = [f for f in fits if f["fold"] == fold]
        # The first fit on a fold pays for round 0; the five after it reuse it all.
        assert runs[0]["round0_calls"] > 0
        assert all(r["round0_calls"] == 0 for r in runs[1:])
        paid = runs[0]["round0_calls"] + runs[0]["round0_hits"]
        assert all(r["round0_hits"] == paid for r in runs[1:])
    # No prompt ever reached the server twice: every repeat came from the cache.
    digests = Counter(e["digest"] for e in llm_server.log)
    assert max(digests.values()) == 1
    # The threshold searched is the judge's split (the student splits with its own filter).
    best = grid.best_estimator_
    assert best.noise_filter.threshold == grid.best_params_["noise_filter__threshold"]
    assert best.judge_ is not None and best.slm_.noise_filter is None
