"""Label distributions from label scores and from an endpoint's top_logprobs."""

import math

import numpy as np

from skfreeal.labelers._distributions import (
    distribution_from_logprobs,
    distribution_from_scores,
    label_surface_forms,
)

SENTIMENT = ["negative", "positive"]
TOPICS = ["Science & Mathematics", "Society & Culture", "Sports", "Health"]


def lp(p):
    return math.log(p)


def test_scores_become_a_softmax_over_labels():
    np.testing.assert_allclose(distribution_from_scores([lp(0.3), lp(0.1), -np.inf]),
                               [0.75, 0.25, 0.0])
    assert np.isnan(distribution_from_scores([-np.inf, -np.inf])).all()


def test_surface_forms_are_distinct():
    assert label_surface_forms("positive") == ["positive", "Positive"]
    assert label_surface_forms("Health") == ["Health", "health"]


def test_top_logprobs_spread_over_the_labels_they_begin():
    logprobs = [["pos", lp(0.6), [["pos", lp(0.6)], ["neg", lp(0.3)], ["Pos", lp(0.05)]]],
                ["itive", lp(0.99), []]]
    proba = distribution_from_logprobs(logprobs, (0, 8), "positive", SENTIMENT, 1)
    # "pos" and "Pos" both begin "positive"; 5% left uncovered is spread evenly
    np.testing.assert_allclose(proba, [0.3 + 0.025, 0.65 + 0.025])


def test_a_label_inside_json_is_read_after_its_quote():
    answer = '{"label": "negative"}'
    start = answer.index("negative")
    logprobs = [['{"', lp(1.0), []], ["label", lp(1.0), []], ['":', lp(1.0), []],
                [' "', lp(1.0), []],
                ["neg", lp(0.7), [["neg", lp(0.7)], ["pos", lp(0.3)]]],
                ["ative", lp(1.0), []], ['"}', lp(1.0), []]]
    proba = distribution_from_logprobs(logprobs, (start, start + 8), answer, SENTIMENT, 0)
    np.testing.assert_allclose(proba, [0.7, 0.3])


def test_a_token_shared_by_labels_goes_to_the_chosen_one():
    logprobs = [["S", lp(0.8), [["S", lp(0.8)], ["Health", lp(0.2)]]], ["ports", lp(1.0), []]]
    proba = distribution_from_logprobs(logprobs, (0, 6), "Sports", TOPICS, 2)
    np.testing.assert_allclose(proba, [0.0, 0.0, 0.8, 0.2])


def test_an_alternative_that_spells_a_whole_label_goes_to_that_label():
    """Labels "1".."10": the alternative "1" beside the chosen "10" is the label "1"."""
    numbers = [str(i) for i in range(1, 11)]
    logprobs = [["10", lp(0.5), [["10", lp(0.5)], ["1", lp(0.4)], ["9", lp(0.1)]]]]
    proba = distribution_from_logprobs(logprobs, (0, 2), "10", numbers, 9)
    np.testing.assert_allclose(proba[[0, 8, 9]], [0.4, 0.1, 0.5])
    # The chosen token is the chosen label's, even when it spells a shorter label whole.
    split = [["1", lp(0.6), [["1", lp(0.6)], ["9", lp(0.4)]]], ["0", lp(1.0), []]]
    proba = distribution_from_logprobs(split, (0, 2), "10", numbers, 9)
    np.testing.assert_allclose(proba[[0, 8, 9]], [0.0, 0.4, 0.6])


def test_no_logprobs_is_one_hot_and_no_label_is_unknown():
    np.testing.assert_array_equal(
        distribution_from_logprobs(None, (0, 8), "positive", SENTIMENT, 1), [0.0, 1.0])
    assert np.isnan(distribution_from_logprobs(None, None, "maybe", SENTIMENT, -1)).all()


def _fake_model(table, vocab=6):
    """next_logprobs from a table prefix -> {token: p}; the rest of the mass on token 5."""
    calls = []

    def next_logprobs(prefix):
        calls.append(prefix)
        probs = np.full(vocab, 1e-12)
        for token, p in table.get(prefix, {}).items():
            probs[token] = p
        probs[5] += max(0.0, 1.0 - probs.sum())
        return np.log(probs / probs.sum())

    return next_logprobs, calls


def test_trie_scores_evaluate_only_shared_prefixes():
    from skfreeal.labelers._label_trie import score_label_sequences

    # labels: 0 = (1, 2), 1 = (1, 3), 2 = (4,); labels 0 and 1 share token 1
    model, calls = _fake_model({(): {1: 0.6, 4: 0.3}, (1,): {2: 0.25, 3: 0.75}})
    scores, n = score_label_sequences([(1, 2), (1, 3), (4,)], [0, 1, 2], 3, model, [0])
    np.testing.assert_allclose(np.exp(scores), [0.15, 0.45, 0.3])
    assert n == 1 and calls == [(), (1,)]


def test_trie_scores_sum_case_variants_and_handle_a_label_that_prefixes_another():
    from skfreeal.labelers._label_trie import score_label_sequences

    # label 0 = (1,) or its variant (2,); label 1 = (1, 3): "Health" vs "Health care"
    model, _ = _fake_model({(): {1: 0.5, 2: 0.2}, (1,): {0: 0.4, 3: 0.6}})
    scores, n = score_label_sequences([(1,), (2,), (1, 3)], [0, 0, 1], 2, model, [0])
    np.testing.assert_allclose(np.exp(scores), [0.5 * 0.4 + 0.2, 0.5 * 0.6])
    assert n == 1
