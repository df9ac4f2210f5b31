"""The label trie's evaluated prefixes and their layout as one batch (no model needed)."""

import itertools

import numpy as np
import pytest

from skfreeal.labelers._label_trie import branch_batches, score_label_sequences, trie_reads

# Labels with shared prefixes, one a prefix of another, case variants, a lone label:
# 0 "card arrival" (1, 2, 3) / "Card arrival" (9, 2, 3); 1 "card linking" (1, 2, 4);
# 2 "card" (1,); 3 "cash" (1, 5, 6); 4 "cash back" (1, 5, 7); 5 "top up" (8,)
SEQUENCES = [(1, 2, 3), (9, 2, 3), (1, 2, 4), (1,), (1, 5, 6), (1, 5, 7), (8,)]
OWNERS = [0, 0, 1, 2, 3, 4, 5]
END = [0]


def test_reads_are_the_walks_calls_and_the_tokens_it_reads():
    calls = []

    def model(prefix):
        calls.append(prefix)
        return np.zeros(10)

    score_label_sequences(SEQUENCES, OWNERS, 6, model, END)
    reads = trie_reads(SEQUENCES, OWNERS, 6, END)
    assert list(reads) == [c for c in calls if c]
    assert reads == {(1,): (0, 2, 5), (1, 2): (3, 4), (1, 5): (6, 7)}


def test_scores_from_the_reads_alone_equal_the_full_distributions():
    rng = np.random.default_rng(0)
    full = {}

    def model(prefix):
        if prefix not in full:
            logits = rng.normal(size=10)
            full[prefix] = logits - np.log(np.exp(logits).sum())
        return full[prefix]

    expected, n = score_label_sequences(SEQUENCES, OWNERS, 6, model, END)
    reads = trie_reads(SEQUENCES, OWNERS, 6, END)
    sparse = {prefix: {t: full[prefix][t] for t in tokens} for prefix, tokens in reads.items()}
    sparse[()] = full[()]
    scores, n_sparse = score_label_sequences(SEQUENCES, OWNERS, 6, sparse.__getitem__, END)
    np.testing.assert_array_equal(scores, expected)
    assert n_sparse == n == 3


def _prefixes(depths, width):
    """Every prefix of a full tree with ``width`` branches a node, ``depths`` deep."""
    return [p for d in range(1, depths + 1) for p in itertools.product(range(width), repeat=d)]


@pytest.mark.parametrize("max_seqs, max_tokens", [(255, 1000), (2, 1000), (1, 1000), (255, 5)])
def test_a_batch_token_shares_a_sequence_with_its_ancestors_only(max_seqs, max_tokens):
    prefixes = _prefixes(3, 3)
    groups = branch_batches(prefixes, max_seqs, max_tokens)
    covered = set()
    for group in groups:
        assert max(max(ids) for _, ids in group) <= max_seqs
        assert len(group) <= max(max_tokens, 3)  # a path longer than the room is alone
        position = {prefix: i for i, (prefix, _) in enumerate(group)}
        seqs = dict(group)
        for a, b in itertools.combinations(seqs, 2):
            related = a == b[: len(a)] or b == a[: len(b)]
            assert bool(set(seqs[a]) & set(seqs[b])) == related, (a, b)
        for prefix in seqs:  # a parent is evaluated before (or with) its children
            assert len(prefix) == 1 or position[prefix[:-1]] < position[prefix]
        covered |= set(seqs)
    assert covered == set(prefixes)


def test_batches_split_by_sequences_and_by_room():
    prefixes = _prefixes(2, 4)  # 4 + 16 prefixes, 16 leaves
    assert len(branch_batches(prefixes, 255, 1000)) == 1
    assert [len(g) for g in branch_batches(prefixes, 8, 1000)] == [10, 10]
    # 5 tokens of room: one first-level node and its 4 children a group
    assert [len(g) for g in branch_batches(prefixes, 255, 5)] == [5, 5, 5, 5]
    assert branch_batches([], 255, 1000) == []
