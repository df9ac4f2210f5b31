"""The LLM steps of a FreeAL round: build the demonstration pool, annotate with it."""

from dataclasses import dataclass

import numpy as np

from ._student import student_embeddings
from .demonstrations import select_demo_pool

__all__ = ["DemoPool", "annotate_with_demos", "generated_pool", "refined_pool"]

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


def generated_pool(labeler, texts, given, *, n_generated, n_classes, embed, rng):
    """Round 0's pool: the given labels (if any) plus the LLM's synthetic demos.

    The LLM sees ``max(4 * n_classes, 20)`` random training texts as
    examples of the data's style.
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
    embeddings = embed(pool_texts) if pool_texts else np.zeros((0, 1), np.float32)
    return DemoPool(pool_texts, np.asarray(pool_labels, dtype=np.int64), embeddings)


def refined_pool(view, labels, texts, embeddings, student, *, top_percent, per_class, rng):
    """A later round's pool: per class, R% smallest-loss clean texts, then k-medoids.

    Only texts on which the student agrees with the current label are
    candidates; the medoids are taken in the student's own embedding space
    when it has one, and labelled with the student's label.
    """
    agree = (labels >= 0) & (view.pred == labels)
    idx = select_demo_pool(
        student_embeddings(student, texts, embeddings), view.losses,
        np.where(agree, labels, -1), clean_mask=view.clean_mask, top_percent=top_percent,
        per_class=per_class, random_state=rng,
    )
    return DemoPool([texts[i] for i in idx], view.pred[idx], embeddings[idx])


def annotate_with_demos(labeler, retriever, texts, embeddings, todo, pool, n_demos):
    """Ask the LLM for the labels of the ``todo`` texts with their nearest demos.

    A pool item that is the text itself is never shown as its demonstration.

    Returns
    -------
    idx : ndarray of int64
        The annotated texts.
    ids, confidence : ndarray
        The labeler's answers for them.
    """
    idx = np.flatnonzero(todo)
    if idx.size == 0:
        return idx, np.zeros(0, np.int64), np.zeros(0)
    demos = None
    if n_demos and len(pool.texts):
        position = {t: j for j, t in enumerate(pool.texts)}
        exclude = np.array([position.get(texts[i], -1) for i in idx])
        nearest = retriever.fit(pool.embeddings, pool.labels).kneighbors(
            embeddings[idx], n_demos, exclude=exclude
        )
        demos = [[(pool.texts[j], int(pool.labels[j])) for j in row] for row in nearest]
    ids, confidence = labeler.annotate([texts[i] for i in idx], demos)
    return idx, ids, confidence
