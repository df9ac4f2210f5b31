"""The probability of each label as a whole answer, read off a model's next-token logits.

A local model is never asked to *generate* a label: the labeler reads, from
the model's logits after the prompt, the probability of each label's token
sequence, and the answer is the most probable label. Every answer is
therefore a label (no abstention for format reasons), and the result is a
distribution over all labels rather than the greedy path's one label.

The label sequences form a trie. The model is evaluated only where labels
still share a prefix: once a prefix belongs to one label alone, its
probability is that label's (what follows is the model spelling out a label
it has already chosen). Two labels with distinct first tokens, the common
case, cost no evaluation beyond the prompt. A label whose sequence ends
where another's goes on gets the probability of ending the answer there.

Which prefixes are evaluated depends on the labels alone, not on the model's
answers (:func:`trie_reads`), so a backend can evaluate them all at once:
:func:`branch_batches` lays them out as one batch of tokens in which each
prefix sees only its own ancestors (one sequence per branch of the trie).
"""

import numpy as np

__all__ = ["branch_batches", "score_label_sequences", "trie_leaves", "trie_reads"]

_END = -1  # the "answer ends here" edge of the trie


def _logsumexp(values):
    values = np.asarray(values, dtype=np.float64)
    if values.size == 0 or not np.isfinite(values).any():
        return -np.inf
    top = values[np.isfinite(values)].max()
    return float(top + np.log(np.exp(values - top).sum()))


def score_label_sequences(sequences, owners, n_labels, next_logprobs, end_ids):
    """Log-probability of each label, from the token sequences that spell it.

    Parameters
    ----------
    sequences : list of tuple of int
        Token sequences, one per way of writing a label (several per label:
        its case variants).
    owners : list of int
        The label of each sequence.
    n_labels : int
    next_logprobs : callable
        ``next_logprobs(prefix)`` returns the log-softmax over the vocabulary
        of the token that follows the prompt and ``prefix`` (a tuple of
        token ids; the empty tuple gives the prompt's own next token), or
        any mapping that holds the tokens :func:`trie_reads` lists for it.
    end_ids : sequence of int
        Tokens that end an answer (end of turn / of text).

    Returns
    -------
    logprobs : ndarray of shape (n_labels,)
        ``log p(label)``; ``-inf`` for a label with no sequence.
    n_evaluated : int
        How many prefixes had to be evaluated (calls of ``next_logprobs``
        with a non-empty prefix).

    Examples
    --------
    >>> import numpy as np
    >>> lp = np.log([0.5, 0.3, 0.2])           # tokens 0, 1, 2 after the prompt
    >>> scores, n = score_label_sequences([(0,), (1,), (2,)], [0, 1, 1], 2, lambda p: lp, [])
    >>> np.exp(scores).round(2).tolist(), n
    ([0.5, 0.5], 0)
    """
    found = [[] for _ in range(n_labels)]
    unique = sorted({(tuple(seq), owner) for seq, owner in zip(sequences, owners) if len(seq)})
    counter = [0]

    def walk(prefix, logp, group):
        labels = {owner for _, owner in group}
        if len(labels) == 1:
            found[labels.pop()].append(logp)
            return
        if prefix:
            counter[0] += 1
        lp = next_logprobs(prefix)
        depth = len(prefix)
        branches = {}
        for seq, owner in group:
            branches.setdefault(seq[depth] if len(seq) > depth else _END, []).append((seq, owner))
        for token, members in branches.items():
            if token == _END:
                p_end = _logsumexp([lp[t] for t in end_ids])
                for _, owner in members:
                    found[owner].append(logp + p_end)
            else:
                walk(prefix + (token,), logp + float(lp[token]), members)

    if unique:
        walk((), 0.0, unique)
    return np.array([_logsumexp(values) for values in found]), counter[0]


class _Reads(dict):
    """Log-probabilities of zero that remember which tokens were asked for."""

    def __missing__(self, token):
        self[token] = 0.0
        return 0.0


def trie_reads(sequences, owners, n_labels, end_ids):
    """The prefixes :func:`score_label_sequences` evaluates, and the tokens it reads after each.

    The walk never looks at the values it reads to choose where to go, so a
    dry run with dummy log-probabilities finds exactly its calls.

    Returns
    -------
    reads : dict of tuple of int to tuple of int
        For each non-empty prefix evaluated, in the walk's order, the tokens
        whose log-probability is read after it (its branches and, where a
        label ends there, ``end_ids``).

    Examples
    --------
    >>> trie_reads([(1, 2), (1, 3), (4,)], [0, 1, 2], 3, [0])
    {(1,): (2, 3)}
    """
    reads = {}
    score_label_sequences(sequences, owners, n_labels,
                          lambda prefix: reads.setdefault(prefix, _Reads()), end_ids)
    return {prefix: tuple(tokens) for prefix, tokens in reads.items() if prefix}


def trie_leaves(prefixes):
    """The prefixes that begin no other, sorted (so a subtree's leaves stay together).

    Examples
    --------
    >>> trie_leaves([(1,), (1, 2), (1, 3), (4,)])
    [(1, 2), (1, 3), (4,)]
    """
    prefixes = set(map(tuple, prefixes))
    return sorted(prefixes - {prefix[:-1] for prefix in prefixes})


def branch_batches(prefixes, max_seqs, max_tokens):
    """Lay trie prefixes out as batches of one token each, with the sequences that see it.

    Each prefix is one token (its last) at depth ``len(prefix)``; a sequence
    is one leaf of the prefixes' tree with its ancestors. Two tokens share a
    sequence exactly when one prefix begins the other, so under a causal
    mask by sequence and position each token attends to the prompt and its
    own ancestors only, as when the prefix alone follows the prompt.

    Parameters
    ----------
    prefixes : iterable of tuple of int
        Non-empty prefixes, each with its shorter non-empty prefixes present.
    max_seqs : int
        Most sequences in a group (sequence ids run from 1; 0 is the prompt's).
    max_tokens : int
        Most tokens in a group (the room left in the KV cache). A leaf whose
        path alone is longer gets a group of its own.

    Returns
    -------
    groups : list of list of (tuple of int, tuple of int)
        ``(prefix, seq_ids)`` in order of depth: a parent always comes before
        its children. A prefix on the paths of two groups is in both.

    Examples
    --------
    >>> branch_batches([(1,), (1, 2), (1, 3)], max_seqs=8, max_tokens=64)
    [[((1,), (1, 2)), ((1, 2), (1,)), ((1, 3), (2,))]]
    >>> len(branch_batches([(1,), (1, 2), (1, 3)], max_seqs=1, max_tokens=64))
    2
    """
    groups, leaf_groups, nodes = [], [], set()
    for leaf in trie_leaves(prefixes):
        path = {leaf[:depth] for depth in range(1, len(leaf) + 1)}
        if leaf_groups and (len(leaf_groups[-1]) >= max_seqs
                            or len(nodes | path) > max_tokens):
            leaf_groups.append([])
            nodes = set()
        if not leaf_groups:
            leaf_groups.append([])
        leaf_groups[-1].append(leaf)
        nodes |= path
    for group in leaf_groups:
        members = {leaf[:depth] for leaf in group for depth in range(1, len(leaf) + 1)}
        groups.append([
            (node, tuple(i + 1 for i, leaf in enumerate(group) if leaf[:len(node)] == node))
            for node in sorted(members, key=lambda node: (len(node), node))
        ])
    return groups
