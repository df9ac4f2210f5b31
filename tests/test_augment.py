"""Augmenters: the EDA default, the callable adapter, seeding and errors."""

import numpy as np
import pytest
from sklearn.base import clone

from skfreeal.slm import EDAAugmenter, FunctionAugmenter, eda_augment

TEXTS = ["the movie was really very good fun", "awful", "what a long and boring day it was"]


def test_eda_changes_words_but_not_their_multiset_when_only_swapping():
    out = EDAAugmenter(p_delete=0.0, p_swap=0.3, random_state=0).transform(TEXTS)
    assert len(out) == 3 and out[1] == "awful"
    assert sorted(out[0].split()) == sorted(TEXTS[0].split()) and out[0] != TEXTS[0]


def test_eda_deletion_keeps_a_subsequence_and_at_least_one_word():
    out = EDAAugmenter(p_delete=0.5, p_swap=0.0, random_state=1).transform(TEXTS * 5)
    for src, aug in zip(TEXTS * 5, out):
        words = iter(src.split())
        assert aug.split() and all(w in words for w in aug.split())  # order kept
    assert any(len(a.split()) < len(s.split()) for s, a in zip(TEXTS * 5, out))
    assert eda_augment("a b", np.random.RandomState(0), p_delete=0.999, p_swap=0) in {"a", "b"}


def test_seeding_repeats_and_per_call_seed_overrides():
    aug = EDAAugmenter(random_state=3)
    assert aug.transform(TEXTS * 4) == aug.transform(TEXTS * 4)
    assert aug.augment(TEXTS * 4, random_state=5) == EDAAugmenter(random_state=5).augment(TEXTS * 4)
    assert aug.augment(TEXTS * 4, random_state=5) != aug.augment(TEXTS * 4, random_state=6)


def test_function_augmenter_passes_random_state_when_accepted():
    calls = []

    def paraphrase(texts, random_state=None):
        calls.append(random_state)
        return [t + "!" for t in texts]

    aug = FunctionAugmenter(paraphrase, random_state=7)
    assert aug.transform(["hi"]) == ["hi!"]
    assert aug.augment(["hi"], random_state=9) == ["hi!"]
    assert calls == [7, 9]


def test_function_augmenter_kw_args_and_clone():
    aug = FunctionAugmenter(lambda texts, suffix: [t + suffix for t in texts],
                            kw_args={"suffix": "?"})
    assert aug.fit(TEXTS).transform(["ok"]) == ["ok?"]
    assert clone(aug).get_params()["kw_args"] == {"suffix": "?"}


@pytest.mark.parametrize(
    "func, error, match",
    [
        (lambda texts: texts[:1], ValueError, "one text per input text: got 1 texts for 3 inputs"),
        (lambda texts: [None] * len(texts), TypeError,
         r"func '<lambda>'.*\[0\] must be a str, got NoneType"),
        (lambda texts: "one string", TypeError, "got a single str"),
    ],
)
def test_function_augmenter_checks_the_output(func, error, match):
    with pytest.raises(error, match=match):
        FunctionAugmenter(func).augment(TEXTS)


@pytest.mark.parametrize(
    "aug, match",
    [
        (EDAAugmenter(p_delete=1.0), r"'p_delete' parameter of EDAAugmenter .* Got 1.0"),
        (EDAAugmenter(p_swap=-0.1), r"'p_swap' parameter of EDAAugmenter .* Got -0.1"),
        (FunctionAugmenter("not callable"),
         r"'func' parameter of FunctionAugmenter .* Got 'not callable'"),
    ],
)
def test_bad_parameters_are_named(aug, match):
    with pytest.raises(ValueError, match=match):
        aug.augment(TEXTS)


def test_bad_texts():
    with pytest.raises(TypeError, match="X must be an iterable of texts, got a single str"):
        EDAAugmenter().augment("a text")
    with pytest.raises(TypeError, match=r"X\[1\] must be a str, got int"):
        EDAAugmenter().transform(["a", 1])
