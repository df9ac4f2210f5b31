"""Input checks shared by the estimators."""

import numpy as np
import pytest

from skfreeal._validation import check_partial_labels, check_texts


def test_check_texts_accepts_iterables_and_one_column_frames():
    assert check_texts(("a", "b")) == ["a", "b"]
    assert check_texts(np.array([["a"], ["b"]])) == ["a", "b"]
    assert check_texts(t for t in ["x"]) == ["x"]


@pytest.mark.parametrize("X, exc, match", [
    ("just one text", TypeError, "iterable of texts.*single str"),
    ([], ValueError, "X is empty"),
    (["ok", 3, "fine"], TypeError, r"X\[1\] must be a str, got int"),
    (["ok", None], TypeError, r"X\[1\] must be a str, got NoneType"),
    (np.array([["a", "b"]]), ValueError, "single text column"),
    (42, TypeError, "iterable of texts"),
])
def test_check_texts_rejects_bad_input_naming_it(X, exc, match):
    with pytest.raises(exc, match=match):
        check_texts(X)


def test_check_texts_empty_strings_optional():
    with pytest.raises(ValueError, match=r"texts\[1\] is an empty text"):
        check_texts(["a", "  "], name="texts", allow_empty_strings=False)


def test_check_partial_labels_encodes_and_marks_missing():
    classes, codes = check_partial_labels(["pos", None, "neg", -1, np.nan], 5)
    assert classes.tolist() == ["neg", "pos"]
    assert codes.tolist() == [1, -1, 0, -1, -1]
    classes, codes = check_partial_labels([3, -1, 1], 3)
    assert classes.tolist() == [1, 3] and codes.tolist() == [1, -1, 0]
    # A float column that mixes -1 and NaN (pandas, numpy): -1.0 is unlabelled too.
    classes, codes = check_partial_labels(np.array([0.0, 1.0, -1.0, np.nan]), 4)
    assert classes.tolist() == [0.0, 1.0] and codes.tolist() == [0, 1, -1, -1]


def test_check_partial_labels_errors():
    with pytest.raises(ValueError, match="y has 2 entries but X has 3"):
        check_partial_labels(["a", "b"], 3)
    with pytest.raises(TypeError, match="mixes integer and string"):
        check_partial_labels(["a", 1], 2)
    with pytest.raises(TypeError, match="single string"):
        check_partial_labels("ab", 2)


@pytest.mark.parametrize("texts", [["only one"], ["same", "same", " same "], ["", "x", "  "]])
def test_check_fit_texts_wants_two_distinct_texts(texts):
    from skfreeal._validation import check_fit_texts

    with pytest.raises(ValueError, match="at least two distinct texts.*No LLM call was made"):
        check_fit_texts(texts)
    assert check_fit_texts(["a", "b", "a"]) == ["a", "b", "a"]


@pytest.mark.parametrize("texts, message", [({"a": "good"}, "got a dict"),
                                            ({"a": 1}.keys(), "got a dict_keys"),
                                            (frozenset(["a"]), "got a frozenset")])
def test_check_texts_refuses_mappings_and_sets(texts, message):
    from skfreeal._validation import check_texts

    with pytest.raises(TypeError, match=message):
        check_texts(texts)
