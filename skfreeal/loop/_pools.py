"""The demonstration pools the LLM sees: round 0's synthetic one, later rounds' refined one."""

import contextlib
import warnings
from dataclasses import dataclass

import numpy as np

from ..base import ProbabilisticLabeler
from .._seeds import draw_seed
from ..demonstrations import select_demo_pool
from ._judge import model_embeddings

__all__ = ["DemoPool", "fill_short_labels", "generated_pool", "refined_pool"]

@dataclass
class DemoPool:
    """Labelled demonstrations the LLM sees: texts, labels (the label space's), embeddings."""

    texts: list
    labels: np.ndarray
    embeddings: np.ndarray

    def as_pairs(self, space):
        """``(text, label)`` pairs, the label as the user reads it (``space.decode``: a name)."""
        return list(zip(self.texts, space.decode(self.labels)))


def generated_pool(labeler, texts, given, *, n_generated, space, embed, rng, fill=True):
    """Round 0's pool: the given labels (if any) plus the LLM's synthetic demos.

    The LLM sees ``max(4 * n_classes, 20)`` random training texts as
    examples of the data's style. With ``fill``, a label left with fewer
    than half its share of demonstrations gets the training texts the LLM
    itself labels with it most confidently (:func:`fill_short_labels`).
    """
    n_classes = space.n_labels
    pool_texts, pool_labels = [], []
    if space.is_known(given).any():
        idx = np.flatnonzero(space.is_known(given))
        pool_texts += [texts[i] for i in idx]
        pool_labels += given[idx].tolist()
    if n_generated:
        n_examples = min(len(texts), max(n_classes * 4, 20))
        examples = [texts[i] for i in rng.choice(len(texts), n_examples, replace=False)]
        generated = labeler.generate_demos(
            n_generated, examples, random_state=draw_seed(rng)
        )
        pool_texts += [t for t, _ in generated]
        pool_labels += [int(c) for _, c in generated]
        target = max(1, n_generated // n_classes // 2)
        counts = space.counts(space.asarray(pool_labels))
        if fill and (counts < target).any():
            added = fill_short_labels(labeler, texts, counts, target, rng, space=space,
                                      candidates=np.flatnonzero(~space.is_known(given)))
            pool_texts += [texts[i] for i, _ in added]
            pool_labels += [c for _, c in added]
    embeddings = embed(pool_texts) if pool_texts else np.zeros((0, 1), np.float32)
    return DemoPool(pool_texts, space.asarray(pool_labels), embeddings)


def fill_short_labels(labeler, texts, counts, target, rng, *, space, candidates=None):
    """Demonstrations for the labels short of ``target``, from the training texts.

    The LLM labels a random sample of ``8 * n_classes`` of the ``candidates``
    (default: every training text) zero-shot; each short label takes the
    texts it labelled with that label most confidently (calibrated, for a
    labeler that gives distributions). A label no text got stays short,
    with a warning.

    Parameters
    ----------
    labeler : BaseLabeler
        The LLM.
    texts : list of str
        The training texts.
    counts : ndarray of shape (n_classes,)
        Demonstrations each label has so far.
    target : int
        Demonstrations wanted per label.
    rng : RandomState
        Draws the sample.
    space : LabelSpace
    candidates : ndarray of int, default=None
        Indices of the texts the LLM may label: the round-0 pool leaves
        out the texts whose labels the user gave, which are never sent
        to the LLM for a label (and are in the pool already).

    Returns
    -------
    added : list of (int, int)
        ``(text index, label id)`` pairs.
    """
    n_classes = counts.size
    candidates = np.arange(len(texts)) if candidates is None else np.asarray(candidates)
    if candidates.size == 0:
        return []
    sample = candidates[rng.choice(candidates.size, min(candidates.size, 8 * n_classes),
                                   replace=False)]
    batch = [texts[i] for i in sample]
    with _purpose(labeler, "fill"):
        if isinstance(labeler, ProbabilisticLabeler):
            ids, confidence = space.from_proba(labeler.annotate_proba(batch))
        else:
            ids, confidence = (np.asarray(a) for a in labeler.annotate(batch))
    added, still_short = [], {}
    for label in np.flatnonzero(counts < target):
        mine = np.flatnonzero(space.carriers(ids, label))
        best = mine[np.argsort(-confidence[mine], kind="stable")][: target - counts[label]]
        added += [(int(sample[j]), int(label)) for j in best]
        if counts[label] + best.size < target:
            still_short[int(label)] = int(counts[label] + best.size)
    if still_short:
        warnings.warn(
            "Some labels have fewer round-0 demonstrations than the "
            f"{target} wanted, even after the LLM labelled {len(batch)} training texts "
            f"(label id: demonstrations): {still_short}.",
            stacklevel=3,
        )
    return added


def _purpose(labeler, name):
    """The labeler's request purpose for the block (a labeler without purposes: none)."""
    purpose = getattr(labeler, "purpose", None)
    return purpose(name) if purpose is not None else contextlib.nullcontext()


def refined_pool(view, labels, texts, embeddings, judge, *, space, top_percent, per_class, rng,
                 previous=None):
    """A later round's pool: per class, R% smallest-loss clean texts, then k-medoids.

    Only texts on which the round's judge agrees with the current label are
    candidates; the medoids are taken in the judge's own embedding space
    when it has one (a robust student judging), and labelled with the
    judge's label. A label left
    with no candidate keeps its demonstrations of the ``previous`` pool.
    """
    agree = space.is_known(labels) & space.agree(view.pred, labels)
    idx = select_demo_pool(
        model_embeddings(judge, texts, embeddings), view.losses,
        space.keep(labels, agree), clean_mask=view.clean_mask,
        top_percent=top_percent, per_class=per_class, random_state=rng, space=space,
    )
    pool = DemoPool([texts[i] for i in idx], view.pred[idx], embeddings[idx])
    if previous is None:
        return pool
    # The previous demonstrations of the labels the new pool lacks.
    keep = np.zeros(len(previous.texts), dtype=bool)
    for label in np.flatnonzero(space.counts(pool.labels) == 0):
        keep |= space.carriers(previous.labels, label)
    kept = np.flatnonzero(keep)
    if kept.size == 0:
        return pool
    return DemoPool(pool.texts + [previous.texts[j] for j in kept],
                    np.concatenate([pool.labels, previous.labels[kept]]),
                    np.concatenate([pool.embeddings, previous.embeddings[kept]]))
