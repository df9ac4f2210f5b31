"""The demonstration pools the LLM sees: round 0's synthetic one, later rounds' refined one."""

import contextlib
import inspect
import warnings
from dataclasses import dataclass

import numpy as np

from ..base import ProbabilisticLabeler
from .._seeds import draw_seed
from ..demonstrations import select_demo_pool
from ._budget import calibration_requests
from ._judge import model_embeddings

__all__ = ["DemoPool", "fill_short_labels", "generated_pool", "refined_pool", "top_up_pool"]

@dataclass
class DemoPool:
    """Labelled demonstrations the LLM sees: texts, labels (the label space's), embeddings."""

    texts: list
    labels: np.ndarray
    embeddings: np.ndarray

    def as_pairs(self, space):
        """``(text, label)`` pairs, the label as the user reads it (``space.decode``: a name)."""
        return list(zip(self.texts, space.decode(self.labels)))


def generated_pool(labeler, texts, given, *, n_generated, space, embed, rng, fill=True,
                   budget=None, min_per_label=1):
    """Round 0's pool: the given labels (if any) plus the LLM's synthetic demos.

    The LLM sees ``max(4 * n_classes, 20)`` random training texts as
    examples of the data's style. With ``fill``, a label left with fewer
    than half its share of demonstrations gets the training texts the LLM
    itself labels with it most confidently (:func:`fill_short_labels`).
    Writing and filling share ``budget`` (a
    :class:`~skfreeal.loop._budget.RequestBudget`; None: no limit): the
    fill labels no more texts than the writing left requests for. Labels
    short of ``min_per_label`` are not named in the fill's warning: the
    loop tops them up from round 0's answers and names those still short.
    """
    n_classes = space.n_labels
    pool_texts, pool_labels = [], []
    if space.is_known(given).any():
        idx = np.flatnonzero(space.is_known(given))
        pool_texts += [texts[i] for i in idx]
        pool_labels += given[idx].tolist()
    if n_generated and (budget is None or budget.left() > 0):  # no share: zero-shot
        n_examples = min(len(texts), max(n_classes * 4, 20))
        examples = [texts[i] for i in rng.choice(len(texts), n_examples, replace=False)]
        generated = _generate(labeler, n_generated, examples, draw_seed(rng), budget)
        pool_texts += [t for t, _ in generated]
        # the space reads each label: an id (or name), or a set's indicator row
        pool_labels += [space.check_label(c, where=f"generate_demos()[{j}]")
                        for j, (_, c) in enumerate(generated)]
        target = max(1, n_generated // n_classes // 2)
        counts = space.counts(space.asarray(pool_labels))
        if fill and (counts < target).any():
            added = fill_short_labels(
                labeler, texts, counts, target, rng, space=space,
                candidates=np.flatnonzero(~space.is_known(given)),
                max_requests=None if budget is None else budget.left(), floor=min_per_label)
            pool_texts += [texts[i] for i, _ in added]
            pool_labels += [c for _, c in added]
    embeddings = embed(pool_texts) if pool_texts else np.zeros((0, 1), np.float32)
    return DemoPool(pool_texts, space.asarray(pool_labels), embeddings)


def fill_short_labels(labeler, texts, counts, target, rng, *, space, candidates=None,
                      max_requests=None, floor=0):
    """Demonstrations for the labels short of ``target``, from the training texts.

    The LLM labels a random sample of ``8 * n_classes`` of the ``candidates``
    (default: every training text; at most ``max_requests`` of them)
    zero-shot; each short label takes the texts it labelled with that label
    most confidently (calibrated, for a labeler that gives distributions),
    each with the label the LLM gave it (for label sets, the whole set; a
    text is taken once). A label no text got stays short, with a warning
    (unless it is left below ``floor``: the caller names those).

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
    max_requests : int, default=None
        Requests to make at most (round 0's share of the request budget
        left): texts labelled, and the labeler's calibration requests
        (:func:`~skfreeal.loop._budget.calibration_requests`); None: no
        limit.
    floor : int, default=0
        Labels left with fewer demonstrations are not in the warning.

    Returns
    -------
    added : list of (int, label)
        ``(text index, label)`` pairs: a label id, or a set's indicator row
        (as a list).
    """
    n_classes = counts.size
    candidates = np.arange(len(texts)) if candidates is None else np.asarray(candidates)
    size = min(candidates.size, 8 * n_classes)
    if max_requests is not None:  # the annotation's calibration requests count too
        size = int(min(size, max_requests - calibration_requests(labeler, size)))
    if size <= 0:
        return []
    sample = candidates[rng.choice(candidates.size, size, replace=False)]
    batch = [texts[i] for i in sample]
    with _purpose(labeler, "fill"):
        if isinstance(labeler, ProbabilisticLabeler):
            ids, confidence = space.from_proba(labeler.annotate_proba(batch))
        else:
            ids, confidence = (np.asarray(a) for a in labeler.annotate(batch))
    added, still_short = [], {}
    taken = np.zeros(size, dtype=bool)  # a text carrying two short labels is added once
    for label in np.flatnonzero(counts < target):
        carries = space.carriers(ids, label)
        have = counts[label] + np.count_nonzero(carries & taken)  # with another label's texts
        mine = np.flatnonzero(carries & ~taken)
        best = mine[np.argsort(-confidence[mine], kind="stable")][: max(0, target - have)]
        taken[best] = True
        added += [(int(sample[j]), ids[j].tolist()) for j in best]
        if floor <= have + best.size < target:
            still_short[int(label)] = int(have + best.size)
    if still_short:
        warnings.warn(
            "Some labels have fewer round-0 demonstrations than the "
            f"{target} wanted, even after the LLM labelled {len(batch)} training texts "
            f"(label id: demonstrations): {still_short}.",
            stacklevel=3,
        )
    return added


def _generate(labeler, n, examples, seed, budget):
    """``labeler.generate_demos``, within ``budget`` when the labeler takes a limit."""
    limit = {}
    if budget is not None and budget.left() != np.inf and _takes_limit(labeler):
        limit = {"max_requests": int(budget.left())}
    return labeler.generate_demos(n, examples, random_state=seed, **limit)


def _takes_limit(labeler):
    """Whether ``generate_demos`` takes ``max_requests`` (optional in the Labeler contract)."""
    return "max_requests" in inspect.signature(labeler.generate_demos).parameters


def top_up_pool(pool, labels, confidence, candidates, texts, embeddings, *, space,
                min_per_label):
    """Round 0's pool, with labels short of ``min_per_label`` given round 0's own answers.

    A short label takes the ``candidates`` (texts round 0 annotated) the LLM
    gave it, most confident first, that are not in the pool yet: answers
    already paid for, no new request. One warning names the labels still
    short, and why.

    Parameters
    ----------
    pool : DemoPool
    labels, confidence : ndarray of shape (n_texts,)
        The labels after round 0, and the probability of each.
    candidates : ndarray of bool, shape (n_texts,)
    texts : list of str
    embeddings : ndarray of shape (n_texts, dim)
    space : LabelSpace
    min_per_label : int

    Returns
    -------
    pool : DemoPool
    """
    counts = space.counts(pool.labels)
    short = np.flatnonzero(counts < min_per_label)
    if short.size == 0:
        return pool
    in_pool = set(pool.texts)
    free = np.array([bool(c) and texts[i] not in in_pool for i, c in enumerate(candidates)],
                    dtype=bool)
    added = []
    for label in short:
        mine = np.flatnonzero(free & space.carriers(labels, label))
        best = mine[np.argsort(-confidence[mine], kind="stable")][: min_per_label - counts[label]]
        added += best.tolist()
        counts[label] += best.size
        free[best] = False
    still = {name: int(c) for name, c in zip(space.names, counts) if c < min_per_label}
    if still:
        warnings.warn(
            f"{len(still)} label(s) have fewer than min_per_label={min_per_label} "
            f"demonstrations after round 0 (label: demonstrations): {still}. The LLM wrote "
            "too few usable demonstrations of them and gave them to too few of the "
            f"{int(np.sum(candidates))} training texts it labelled in round 0; texts of these "
            "labels are annotated without an example of them in context. A short description "
            "of each label (labels={name: description}) may help the LLM tell them apart.",
            stacklevel=3,
        )
    if not added:
        return pool
    idx = np.asarray(added, dtype=int)
    # an empty pool's embeddings have no width (round 0 wrote nothing: no share of the budget)
    before = pool.embeddings if pool.texts else pool.embeddings.reshape(0, embeddings.shape[1])
    return DemoPool(pool.texts + [texts[i] for i in idx],
                    np.concatenate([pool.labels, labels[idx]]),
                    np.concatenate([before, embeddings[idx]]))


def _purpose(labeler, name):
    """The labeler's request purpose for the block (a labeler without purposes: none)."""
    purpose = getattr(labeler, "purpose", None)
    return purpose(name) if purpose is not None else contextlib.nullcontext()


def refined_pool(view, labels, texts, embeddings, judge, *, space, top_percent, per_class, rng,
                 previous=None, min_per_label=1):
    """A later round's pool: per class, R% smallest-loss clean texts, then k-medoids.

    Only texts on which the round's judge agrees with the current label are
    candidates; the medoids are taken in the judge's own embedding space
    when it has one (a robust student judging), and labelled with the
    judge's label. A label left with fewer than ``min_per_label``
    demonstrations keeps its demonstrations of the ``previous`` pool.
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
    for label in np.flatnonzero(space.counts(pool.labels) < min_per_label):
        keep |= space.carriers(previous.labels, label)
    kept = np.flatnonzero(keep)
    if kept.size == 0:
        return pool
    return DemoPool(pool.texts + [previous.texts[j] for j in kept],
                    np.concatenate([pool.labels, previous.labels[kept]]),
                    np.concatenate([pool.embeddings, previous.embeddings[kept]]))
