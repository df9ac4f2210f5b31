"""Annotation with demonstrations: the LLM's answers for the texts a round asks."""

from dataclasses import dataclass

import numpy as np
from sklearn.utils.validation import has_fit_parameter

from ..base import ProbabilisticLabeler

__all__ = ["Answers", "annotate_with_demos"]


@dataclass
class Answers:
    """The LLM's answers for the texts ``idx``: labels, confidences, distributions.

    ``labels`` are the label space's (unknown where the LLM abstained);
    ``proba`` is None when the labeler gives no distributions.
    """

    idx: np.ndarray
    labels: np.ndarray
    confidence: np.ndarray
    proba: np.ndarray = None

    def fused_with(self, judge_proba, rule, space):
        """The answers combined with the judge's distributions of the same texts."""
        if self.proba is None or judge_proba is None or rule == "llm":
            return self
        proba = space.fuse(self.proba, judge_proba[self.idx], rule)
        return Answers(self.idx, *space.from_proba(proba), proba)


def annotate_with_demos(labeler, retriever, texts, embeddings, todo, pool, n_demos, *, space,
                        calibrate):
    """Ask the LLM for the labels of the ``todo`` texts with their nearest demos.

    A pool item that is the text itself is never shown as its demonstration.
    A retriever whose ``fit`` takes ``space`` is given the label space.
    A labeler that gives label distributions is asked for them; with
    ``calibrate`` it first estimates the tilt to divide out on these texts
    (:meth:`~skfreeal.labelers.BaseLabeler.fit_annotate_proba`) and keeps it
    for its later answers.

    Parameters
    ----------
    labeler : labeler
    retriever : retriever
    texts : list of str
    embeddings : ndarray of shape (n_texts, dim)
    todo : ndarray of bool
        The texts to annotate.
    pool : DemoPool
    n_demos : int
        Demonstrations per text (0: zero-shot).
    space : LabelSpace
    calibrate : bool
        Estimate the labeler's calibration on these answers (the loop's first annotation).

    Returns
    -------
    answers : Answers
    """
    idx = np.flatnonzero(todo)
    if idx.size == 0:
        return Answers(idx, space.unknown(0), np.zeros(0))
    demos = None
    if n_demos and len(pool.texts):
        position = {t: j for j, t in enumerate(pool.texts)}
        exclude = np.array([position.get(texts[i], -1) for i in idx])
        # The space is passed only to a retriever that takes it: the contract
        # (skfreeal.base.Retriever) is fit(embeddings, labels).
        given = {"space": space} if has_fit_parameter(retriever, "space") else {}
        nearest = retriever.fit(pool.embeddings, pool.labels, **given).kneighbors(
            embeddings[idx], n_demos, exclude=exclude
        )
        # A second copy of the text in the pool (a duplicated training text) is
        # no demonstration of it either.
        labels = pool.labels.tolist()  # plain Python labels (ints, for label ids)
        demos = [[(pool.texts[j], labels[j]) for j in row if pool.texts[j] != texts[i]]
                 for i, row in zip(idx, nearest)]
    batch = [texts[i] for i in idx]
    if isinstance(labeler, ProbabilisticLabeler):
        ask = labeler.fit_annotate_proba if calibrate else labeler.annotate_proba
        proba = np.asarray(ask(batch, demos), dtype=np.float64)
        return Answers(idx, *space.from_proba(proba), proba)
    return Answers(idx, *labeler.annotate(batch, demos))
