"""The LLM steps of a FreeAL round: build the demonstration pool, annotate with it."""

import warnings
from dataclasses import dataclass

import numpy as np

from ._student import student_embeddings
from .base import ProbabilisticLabeler
from .calibration import calibrate, fuse_distributions, most_probable
from .demonstrations import select_demo_pool

__all__ = [
    "Answers",
    "DemoPool",
    "annotate_with_demos",
    "fill_short_labels",
    "generated_pool",
    "refined_pool",
]

_MAX_SEED = np.iinfo(np.int32).max


@dataclass
class DemoPool:
    """Labelled demonstrations the LLM sees: texts, label ids, embeddings."""

    texts: list
    labels: np.ndarray
    embeddings: np.ndarray

    def as_pairs(self, classes):
        """``(text, label name)`` pairs."""
        return [(t, classes[c]) for t, c in zip(self.texts, self.labels)]


@dataclass
class Answers:
    """The LLM's answers for the texts ``idx``: label ids, confidences, distributions.

    ``proba`` is None when the labeler gives no distributions; ``prior`` is
    the tilt divided out of them (None: none, or not a probabilistic labeler).
    """

    idx: np.ndarray
    ids: np.ndarray
    confidence: np.ndarray
    proba: np.ndarray = None
    prior: np.ndarray = None

    def fused_with(self, student_proba, rule):
        """The answers combined with the student's distributions of the same texts."""
        if self.proba is None or student_proba is None or rule == "llm":
            return self
        proba = fuse_distributions(self.proba, student_proba[self.idx], rule)
        return Answers(self.idx, *most_probable(proba), proba, self.prior)


def generated_pool(labeler, texts, given, *, n_generated, n_classes, embed, rng, fill=True):
    """Round 0's pool: the given labels (if any) plus the LLM's synthetic demos.

    The LLM sees ``max(4 * n_classes, 20)`` random training texts as
    examples of the data's style. With ``fill``, a label left with fewer
    than half its share of demonstrations gets the training texts the LLM
    itself labels with it most confidently (:func:`fill_short_labels`).
    """
    pool_texts, pool_labels = [], []
    if (given >= 0).any():
        idx = np.flatnonzero(given >= 0)
        pool_texts += [texts[i] for i in idx]
        pool_labels += given[idx].tolist()
    if n_generated:
        n_examples = min(len(texts), max(n_classes * 4, 20))
        examples = [texts[i] for i in rng.choice(len(texts), n_examples, replace=False)]
        generated = labeler.generate_demos(
            n_generated, examples, random_state=rng.randint(_MAX_SEED)
        )
        pool_texts += [t for t, _ in generated]
        pool_labels += [int(c) for _, c in generated]
        target = max(1, n_generated // n_classes // 2)
        counts = np.bincount(np.asarray(pool_labels, dtype=np.int64), minlength=n_classes)
        if fill and (counts < target).any():
            added = fill_short_labels(labeler, texts, counts, target, rng,
                                      candidates=np.flatnonzero(given < 0))
            pool_texts += [texts[i] for i, _ in added]
            pool_labels += [c for _, c in added]
    embeddings = embed(pool_texts) if pool_texts else np.zeros((0, 1), np.float32)
    return DemoPool(pool_texts, np.asarray(pool_labels, dtype=np.int64), embeddings)


def fill_short_labels(labeler, texts, counts, target, rng, candidates=None):
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
    if isinstance(labeler, ProbabilisticLabeler):
        ids, confidence = most_probable(labeler.annotate_proba(batch))
    else:
        ids, confidence = (np.asarray(a) for a in labeler.annotate(batch))
    added, still_short = [], {}
    for label in np.flatnonzero(counts < target):
        mine = np.flatnonzero(ids == label)
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


def refined_pool(view, labels, texts, embeddings, student, *, top_percent, per_class, rng,
                 previous=None):
    """A later round's pool: per class, R% smallest-loss clean texts, then k-medoids.

    Only texts on which the student agrees with the current label are
    candidates; the medoids are taken in the student's own embedding space
    when it has one, and labelled with the student's label. A label left
    with no candidate keeps its demonstrations of the ``previous`` pool.
    """
    agree = (labels >= 0) & (view.pred == labels)
    idx = select_demo_pool(
        student_embeddings(student, texts, embeddings), view.losses,
        np.where(agree, labels, -1), clean_mask=view.clean_mask, top_percent=top_percent,
        per_class=per_class, random_state=rng,
    )
    pool = DemoPool([texts[i] for i in idx], view.pred[idx], embeddings[idx])
    if previous is None:
        return pool
    kept = np.flatnonzero(~np.isin(previous.labels, pool.labels))
    if kept.size == 0:
        return pool
    return DemoPool(pool.texts + [previous.texts[j] for j in kept],
                    np.concatenate([pool.labels, previous.labels[kept]]),
                    np.concatenate([pool.embeddings, previous.embeddings[kept]]))


def annotate_with_demos(labeler, retriever, texts, embeddings, todo, pool, n_demos, *,
                        prior=None):
    """Ask the LLM for the labels of the ``todo`` texts with their nearest demos.

    A pool item that is the text itself is never shown as its demonstration.
    A labeler that gives label distributions is asked for them, calibrated
    by ``prior`` when given, else by the tilt the labeler estimates on these
    texts (returned as ``Answers.prior`` for the next rounds).

    Returns
    -------
    answers : Answers
    """
    idx = np.flatnonzero(todo)
    if idx.size == 0:
        return Answers(idx, np.zeros(0, np.int64), np.zeros(0))
    demos = None
    if n_demos and len(pool.texts):
        position = {t: j for j, t in enumerate(pool.texts)}
        exclude = np.array([position.get(texts[i], -1) for i in idx])
        nearest = retriever.fit(pool.embeddings, pool.labels).kneighbors(
            embeddings[idx], n_demos, exclude=exclude
        )
        # A second copy of the text in the pool (a duplicated training text) is
        # no demonstration of it either.
        demos = [[(pool.texts[j], int(pool.labels[j])) for j in row if pool.texts[j] != texts[i]]
                 for i, row in zip(idx, nearest)]
    batch = [texts[i] for i in idx]
    if isinstance(labeler, ProbabilisticLabeler):
        if prior is None:  # read the answers once: uncalibrated, then the tilt from them
            raw = labeler.annotate_proba(batch, demos, prior=np.ones(len(labeler.labels)))
            prior = labeler.calibration_prior(batch, demos, raw=raw)
            proba = calibrate(np.asarray(raw, dtype=np.float64), prior)
        else:
            proba = np.asarray(labeler.annotate_proba(batch, demos, prior=prior), np.float64)
        return Answers(idx, *most_probable(proba), proba, prior)
    return Answers(idx, *labeler.annotate(batch, demos))
