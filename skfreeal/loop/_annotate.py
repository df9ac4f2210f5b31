"""Annotation with demonstrations: the LLM's answers for the texts a round asks."""

from dataclasses import dataclass

import numpy as np

from ..base import ProbabilisticLabeler
from ..calibration import calibrate, fuse_distributions, most_probable

__all__ = ["Answers", "annotate_with_demos"]


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

    def fused_with(self, judge_proba, rule):
        """The answers combined with the judge's distributions of the same texts."""
        if self.proba is None or judge_proba is None or rule == "llm":
            return self
        proba = fuse_distributions(self.proba, judge_proba[self.idx], rule)
        return Answers(self.idx, *most_probable(proba), proba, self.prior)


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
