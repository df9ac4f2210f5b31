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
"""

import numpy as np

__all__ = ["score_label_sequences"]

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
        token ids; the empty tuple gives the prompt's own next token).
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
