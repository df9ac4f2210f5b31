"""Demonstrations: checking those given to ``annotate``, judging those the LLM writes."""

from ..labels import as_label_space

__all__ = ["check_demos", "is_near_copy", "text_signature"]


def check_demos(demos, n_texts, labels):
    """Per-text lists of (text, label) from the three accepted forms.

    Parameters
    ----------
    demos : None, sequence of (str, label) or list of such sequences
        As :meth:`~skfreeal.labelers.BaseLabeler.annotate` takes them.
    n_texts : int
    labels : list of str or LabelSpace
        The label names (a label is a name or an id), or the label space
        that reads each demonstration's label
        (:meth:`~skfreeal.labels.LabelSpace.check_label`).

    Returns
    -------
    per_text : list of list of (str, label)
        The space's label of each demonstration (an id, for label names).
    """
    space = as_label_space(labels)
    if demos is None:
        return [[]] * n_texts
    if isinstance(demos, (str, bytes)) or not hasattr(demos, "__len__"):
        raise TypeError(
            "demos must be None, a sequence of (text, label) pairs, or one such sequence "
            f"per text; got {type(demos).__name__}."
        )
    demos = list(demos)
    if not demos:
        return [[]] * n_texts
    if _is_pair(demos[0]):
        shared = [_check_pair(pair, space, f"demos[{i}]") for i, pair in enumerate(demos)]
        return [shared] * n_texts
    if len(demos) != n_texts:
        raise ValueError(
            f"demos has {len(demos)} entries but there are {n_texts} texts: give one "
            "sequence of (text, label) pairs per text, or one sequence shared by all."
        )
    return [
        [_check_pair(pair, space, f"demos[{i}][{j}]") for j, pair in enumerate(seq)]
        for i, seq in enumerate(demos)
    ]


def _check_pair(pair, space, where):
    if not _is_pair(pair):
        raise TypeError(f"{where} must be a (text, label) pair, got {pair!r:.80}.")
    text, label = pair
    return text, space.check_label(label, where=where)


def _is_pair(item):
    return isinstance(item, (tuple, list)) and len(item) == 2 and isinstance(item[0], str)


def text_signature(text):
    """Letters and digits only, lower-cased: spacing and punctuation do not make a text new."""
    return "".join(c for c in text.lower() if c.isalnum())


def is_near_copy(signature, originals, min_chars=12, max_similarity=0.85):
    """Whether a text (its :func:`text_signature`) nearly copies one of ``originals`` (signatures).

    A copy contains a long piece of an original (or is one), or matches it
    closely (``difflib`` ratio): small models rewrite an example with a
    changed name or word and call it new.
    """
    from difflib import SequenceMatcher

    if len(signature) < min_chars:
        return False
    for original in originals:
        if len(original) >= min_chars and (signature in original or original in signature):
            return True
        matcher = SequenceMatcher(None, signature, original, autojunk=False)
        if matcher.real_quick_ratio() >= max_similarity and matcher.ratio() >= max_similarity:
            return True
    return False
