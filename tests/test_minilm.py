"""The packaged all-MiniLM-L6-v2, offline: the default backbone and embedder (short)."""

import pytest

from skfreeal import RobustTextClassifier
from skfreeal.slm import SentenceEmbedder

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("torch_single_thread")]

POS = ["I love this, what a great day", "this is wonderful news", "such a happy moment",
       "best film I have seen", "amazing service, thank you", "I really enjoyed it"]
NEG = ["I hate this, what an awful day", "this is terrible news", "such a sad moment",
       "worst film I have seen", "horrible service, never again", "I really disliked it"]


def test_default_embedder_is_minilm_and_semantic():
    emb = SentenceEmbedder().fit()
    out = emb.transform(["a movie I loved", "a film I enjoyed", "the bank raised interest rates"])
    assert out.shape == (3, 384) and emb.n_features_out_ == 384
    assert out[0] @ out[1] > out[0] @ out[2] + 0.2


def test_default_classifier_fits_minilm_robustly():
    X, y = POS + NEG, ["pos"] * 6 + ["neg"] * 6
    clf = RobustTextClassifier(max_epochs=4, warmup_epochs=2, batch_size=4, lr=2e-4,
                               random_state=0).fit(X, y)
    assert clf.embed(X[:2]).shape == (2, 384)
    assert [h["robust"] for h in clf.history_] == [False, False, True, True]
    assert clf.history_[-1]["loss"] < clf.history_[0]["loss"]
    assert clf.score(["what a lovely happy day", "an awful, sad film"], ["pos", "neg"]) == 1.0
