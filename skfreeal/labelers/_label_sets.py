"""The probability of each label of a set, each judged on its own after one shared prompt.

For a multi-label space a local model is not asked which label the answer
is (one distribution over the labels) but, for every label, whether the
text carries it. The answer is read as a JSON object of truth values
(``{"billing": true, "login": false}``), the form the prompt asks for and
its demonstrations show (:class:`JudgedLabelSets`): label ``k``'s continuation is the
opening of such an object that names it, ``{"billing":``, and the model's
next token is read for ``true`` against ``false``:

    p(label k) = P(true) / (P(true) + P(false))

Each continuation follows the prompt alone (it does not see the other
labels' keys), so the labels are judged independently and the
probabilities need not sum to one. The continuations share the prompt's KV
cache and their own common opening (``{"``): as a trie of prefixes they go
through the same batched tree decode as the single-label trie
(:func:`~skfreeal.labelers.backends._llama_tree.eval_branches`), only the
last token of each continuation needing its logits.
"""

import json

import numpy as np

from ..labels import MultiLabelSpace

__all__ = [
    "SCORE_LABEL_SET",
    "TRUTH_WORDS",
    "JudgedLabelSets",
    "judgement_prefix",
    "judgement_reads",
    "label_set_probabilities",
]

#: The request parameter that asks a backend to judge each label of a set (its label names).
SCORE_LABEL_SET = "score_label_set"

#: The words read after a label's key: its "carries" and "does not carry", with and without
#: the space JSON writes after the colon (each kept where it is one token).
TRUTH_WORDS = ((" true", "true"), (" false", "false"))


class JudgedLabelSets(MultiLabelSpace):
    """A label set written as a JSON object of every label's truth value.

    The prompt of a model that judges each label on its own: it asks for
    ``{"billing": true, "login": false, ...}`` and the demonstrations show
    their label sets so, for the continuations to be what the model expects.
    (On 20 one-tag StackOverflow questions, zero-shot, the 0.5B Qwen model
    asked for a JSON list put ``true`` above one half after 17.6 of the 20
    tags a question, micro F1 0.10; asked for this object, after 2.5, micro
    F1 0.44.)

    Examples
    --------
    >>> JudgedLabelSets(["billing", "login"]).format_answer([1, 0])
    '{"billing": true, "login": false}'
    """

    @classmethod
    def of(cls, space):
        """The same labels, threshold and ``min_labels`` as ``space``."""
        return cls(space.names.tolist(), threshold=space.threshold, min_labels=space.min_labels)

    def answer_instruction(self):
        none = "" if self.min_labels == 0 else " (at least one is true)"
        return ("Answer with a JSON object that maps every label to true if it applies to the "
                f"text and false if not{none}, and nothing else.")

    def format_answer(self, label):
        row = self._rows(label)[0]
        return json.dumps({name: bool(on) for name, on in zip(self.names.tolist(), row)},
                          ensure_ascii=False)

    def parse_answer(self, answer):
        """An object of truth values (the labels mapped to true), else as a JSON list or text."""
        try:
            value = json.loads((answer or "").strip())
        except ValueError:
            value = None
        if isinstance(value, dict) and value and all(isinstance(v, bool) for v in value.values()):
            row = np.array([value.get(name) is True for name in self.names.tolist()],
                           dtype=np.int8)
            return (row if row.sum() >= self.min_labels else self.unknown(1)[0]), None
        return super().parse_answer(answer)


def judgement_prefix(label):
    """The start of a JSON object of truth values whose first key is ``label``.

    Examples
    --------
    >>> judgement_prefix("billing")
    '{"billing":'
    """
    return "{" + json.dumps(label, ensure_ascii=False) + ":"


def judgement_reads(sequences, truth_ids):
    """Every prefix of the continuations, with the tokens read after it.

    Parameters
    ----------
    sequences : list of tuple of int
        The tokens of each label's :func:`judgement_prefix`, one per label.
    truth_ids : tuple of (tuple of int, tuple of int)
        The "true" and the "false" token ids.

    Returns
    -------
    reads : dict of tuple of int to tuple of int
        Each non-empty prefix, shortest first; the whole continuations read
        ``truth_ids``, the prefixes inside them read nothing (they are only
        context for the tokens after them).

    Examples
    --------
    >>> judgement_reads([(1, 2), (1, 3)], ((7,), (8,)))
    {(1,): (), (1, 2): (7, 8), (1, 3): (7, 8)}
    """
    wanted = tuple(truth_ids[0]) + tuple(truth_ids[1])
    reads = {}
    for seq in sequences:
        for depth in range(1, len(seq)):
            reads.setdefault(tuple(seq[:depth]), ())
    for seq in sequences:
        reads[tuple(seq)] = wanted
    return dict(sorted(reads.items(), key=lambda item: (len(item[0]), item[0])))


def label_set_probabilities(table, sequences, truth_ids):
    """``P(true) / (P(true) + P(false))`` after each label's continuation.

    Parameters
    ----------
    table : mapping of tuple of int to mapping of int to float
        The next-token log-probabilities after each continuation (as
        :func:`~skfreeal.labelers.backends._llama_tree.eval_branches` gives them).
    sequences : list of tuple of int
        Each label's continuation.
    truth_ids : tuple of (tuple of int, tuple of int)
        The "true" and the "false" token ids.

    Returns
    -------
    proba : ndarray of shape (n_labels,)
        NaN for a label after which the model puts no probability on either.

    Examples
    --------
    >>> import numpy as np
    >>> table = {(1, 2): {7: np.log(0.6), 8: np.log(0.2)}, (1, 3): {7: np.log(0.1), 8: np.log(0.3)}}
    >>> label_set_probabilities(table, [(1, 2), (1, 3)], ((7,), (8,))).round(2).tolist()
    [0.75, 0.25]
    """
    yes_ids, no_ids = truth_ids
    out = np.full(len(sequences), np.nan)
    for k, seq in enumerate(sequences):
        lp = table[tuple(seq)]
        yes = sum(np.exp(lp[t]) for t in yes_ids)
        no = sum(np.exp(lp[t]) for t in no_ids)
        if yes + no > 0:
            out[k] = yes / (yes + no)
    return out
