"""scikit-learn's estimator checks over the public estimators of the student half.

The noise filters take a column of losses: scikit-learn's checks run in
full, and the ones built on assumptions a loss filter does not meet are
listed with the reason. The text estimators (the classifier, the embedder,
the augmenters) declare ``input_tags.string=True, two_d_array=False``, so
``parametrize_with_checks`` only checks that they clone; the data-free API
checks are run on them explicitly, and the data checks have text-input
counterparts below (fit returns self, parameters untouched, idempotent fit,
pickling, order and subset invariance, unfitted errors).
"""

import pickle

import joblib
import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.utils.estimator_checks import (
    check_do_not_raise_errors_in_init_or_set_params,
    check_estimator_cloneable,
    check_estimator_repr,
    check_estimator_tags_renamed,
    check_get_params_invariance,
    check_mixin_order,
    check_no_attributes_set_in_init,
    check_parameters_default_constructible,
    check_set_params,
    check_valid_tag_types,
    parametrize_with_checks,
)

from skfreeal import GMMNoiseFilter, RobustTextClassifier, SmallLossNoiseFilter
from skfreeal.slm import EDAAugmenter, FunctionAugmenter, SentenceEmbedder

ONE_D = ("1-D losses (one per sample) are a noise filter's natural input: accepted on "
         "purpose, where the check expects an error")
FILTER_FAILURES = {"check_fit1d": ONE_D, "check_fit2d_predict1d": ONE_D}

# Replaced by the session's tiny encoder before a check runs.
TINY = "<tiny-encoder>"

pytestmark = pytest.mark.usefixtures("torch_single_thread")


def text_estimators():
    return [
        RobustTextClassifier(TINY, max_epochs=2, warmup_epochs=1, batch_size=4, lr=3e-3,
                             random_state=0),
        SentenceEmbedder(TINY),
        EDAAugmenter(random_state=0),
        FunctionAugmenter(_reverse_words),
    ]


def _reverse_words(texts):
    return [" ".join(reversed(t.split())) for t in texts]


def _ready(estimator, path):
    if getattr(estimator, "model_name_or_path", None) == TINY:
        estimator.set_params(model_name_or_path=path)
    return estimator


def _expected_failures(estimator):
    return FILTER_FAILURES if isinstance(estimator, (GMMNoiseFilter, SmallLossNoiseFilter)) else {}


@parametrize_with_checks(
    [GMMNoiseFilter(random_state=0), SmallLossNoiseFilter(), *text_estimators()],
    expected_failed_checks=_expected_failures,
)
def test_sklearn_compatible(estimator, check, tiny_encoder_path):
    check(_ready(estimator, tiny_encoder_path))


API_CHECKS = [
    check_estimator_cloneable,
    check_estimator_tags_renamed,
    check_valid_tag_types,
    check_estimator_repr,
    check_no_attributes_set_in_init,
    check_do_not_raise_errors_in_init_or_set_params,
    check_get_params_invariance,
    check_set_params,
    check_parameters_default_constructible,
    check_mixin_order,
]


@pytest.mark.parametrize("estimator", text_estimators(), ids=lambda e: type(e).__name__)
@pytest.mark.parametrize("check", API_CHECKS, ids=lambda c: c.__name__)
def test_text_estimators_pass_the_data_free_checks(estimator, check):
    check(type(estimator).__name__, estimator)


TEXTS = [
    "good great happy day", "bad awful sad day", "love this nice fun", "hate this ugly pain",
    "best joy ever", "worst dull thing", "nice nice good", "bad bad awful", "fun fun joy",
    "sad pain hate", "great love best", "dull ugly worst",
]
LABELS = np.array(["pos", "neg"] * 6)


def _output(estimator, X):
    if hasattr(estimator, "predict_proba"):
        return estimator.predict_proba(X)
    out = estimator.transform(X)
    return np.asarray(out)


@pytest.mark.parametrize("estimator", text_estimators(), ids=lambda e: type(e).__name__)
def test_text_estimator_fit_contract(estimator, tiny_encoder_path):
    """fit returns self, leaves the parameters alone and is idempotent."""
    estimator = _ready(estimator, tiny_encoder_path)
    params = joblib.hash(estimator.get_params())
    first = clone(estimator)
    assert first.fit(TEXTS, LABELS) is first
    assert joblib.hash(first.get_params()) == params
    assert not {k for k in vars(first) if not k.endswith("_")} - set(estimator.get_params())
    again = first.fit(TEXTS, LABELS)
    fresh = clone(estimator).fit(TEXTS, LABELS)
    np.testing.assert_array_equal(_output(again, TEXTS), _output(fresh, TEXTS))


@pytest.mark.parametrize("estimator", text_estimators(), ids=lambda e: type(e).__name__)
def test_text_estimator_pickle_and_invariance(estimator, tiny_encoder_path):
    """Pickling keeps outputs; outputs follow the input order and do not depend on the batch."""
    fitted = clone(_ready(estimator, tiny_encoder_path)).fit(TEXTS, LABELS)
    out = _output(fitted, TEXTS)
    loaded = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(_output(loaded, TEXTS), out)
    if isinstance(fitted, (EDAAugmenter, FunctionAugmenter)):
        return  # seeded per call: a sub-list draws other random numbers
    order = np.random.RandomState(0).permutation(len(TEXTS))
    np.testing.assert_allclose(_output(fitted, [TEXTS[i] for i in order]), out[order], atol=1e-5)
    for i in (0, 5):
        np.testing.assert_allclose(_output(fitted, [TEXTS[i]]), out[i : i + 1], atol=1e-5)


@pytest.mark.parametrize(
    "estimator",
    [e for e in text_estimators() if not isinstance(e, (EDAAugmenter, FunctionAugmenter))],
    ids=lambda e: type(e).__name__,
)
def test_text_estimator_unfitted_raises(estimator):
    methods = ["predict", "predict_proba", "decision_function", "embed", "transform"]
    for method in [m for m in methods if hasattr(estimator, m)]:
        with pytest.raises(NotFittedError):
            getattr(estimator, method)(TEXTS)
