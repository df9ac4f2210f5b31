"""A fitted FreeALClassifier saves only what prediction needs.

Fitted on 30 texts with the packaged MiniLM as student and as retrieval
embedder (one epoch, a rule labeler): the retrieval embedder's weights, the
optimizer, data loaders and other training-only state must not travel with
the model file.
"""

import io

import joblib
import numpy as np
import pytest

from skfreeal import DemoPolicy, FreeALClassifier, RobustTextClassifier, RoundPolicy
from test_freeal import RuleLabeler, make_texts

MB = 1e6


def _dumped_size(obj):
    buffer = io.BytesIO()
    joblib.dump(obj, buffer)
    return len(buffer.getvalue())


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_model_file_holds_the_student_only_and_predicts_the_same(tmp_path):
    texts, _ = make_texts(30)
    clf = FreeALClassifier(
        ["negative", "positive"], "Sentiment of a short review.", labeler=RuleLabeler(),
        slm=RobustTextClassifier(max_epochs=1, warmup_epochs=1, random_state=0),
        demos=DemoPolicy(2), rounds=RoundPolicy(1), random_state=0,
    ).fit(texts)
    new = ["what a lovely day", "the food was awful", texts[0]]
    before = clf.predict_proba(new)

    path = tmp_path / "model.joblib"
    joblib.dump(clf, path)
    assert path.stat().st_size <= 100 * MB
    loaded = joblib.load(path)
    np.testing.assert_array_equal(loaded.predict_proba(new), before)
    np.testing.assert_array_equal(loaded.predict(new), clf.predict(new))

    # Where the bytes are: the student's weights, and little else.
    weights = sum(p.numel() * p.element_size()
                  for p in clf.slm_.net_.module_.state_dict().values())
    assert _dumped_size(clf.slm_) - weights <= 5 * MB  # tokenizer, classes, split
    for name, value in vars(clf).items():
        if name != "slm_":
            assert _dumped_size(value) <= 1 * MB, name  # no embedder, no LLM, no cache
