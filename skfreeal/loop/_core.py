"""FreeAL's loop as a functional core: one function per round, one place that decides to stop.

:func:`run_rounds` runs the rounds on the resolved components and returns a
:class:`LoopResult`; :func:`train_final_student` trains the student once on
the final labels when a separate judge ran the rounds. Each round returns a
:class:`RoundResult` (a value: nothing is written on the estimator), and
:func:`stop_reason` reads it to say whether, and why, the loop stops. The
only state carried from round to round is the ``LabelState`` (the labels,
:mod:`skfreeal.loop._state`), the demonstration pool and the kept judge; the
labeler keeps its own calibration (estimated on round 0's answers).

A round may keep what the previous one left: a round whose judge learned
nothing keeps the previous judge (with the new labels); a round that made
the labels less consistent (:mod:`skfreeal.loop._consistency`, no gold
label) is rolled back whole, labels, judge and demonstrations. Either stops
the loop.
"""

import dataclasses
import logging
import time
from dataclasses import dataclass

import numpy as np
from sklearn.base import clone
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import Normalizer

from ._annotate import annotate_with_demos
from ._budget import RequestBudget, calibration_requests
from ._consistency import consistency_probe, label_consistency
from ._events import Step
from ._judge import learned_nothing, train_and_view
from ._pools import generated_pool, refined_pool, top_up_pool
from ._records import RoundMeter, StudentRecord

__all__ = ["LoopData", "LoopResult", "RoundResult", "run_rounds", "stop_reason",
           "train_final_student"]

logger = logging.getLogger("skfreeal")


@dataclass(frozen=True)
class LoopData:
    """The texts the loop works on, embedded once.

    Attributes
    ----------
    texts : list of str
    embeddings : ndarray of shape (n_texts, dim)
        Unit-length retrieval embeddings.
    embed : callable
        Embeds more texts the same way (the demonstration pools).
    space : LabelSpace
        What a label is, and the label names.
    eval_set : tuple or None
        Held-out ``(texts, label names)``, to monitor the final student.
    judge_inputs : list of str or ndarray
        What the judge learns from: the texts (the student judging) or their embeddings.
    judge_eval : tuple or None
        ``eval_set`` in the judge's inputs.
    """

    texts: list
    embeddings: np.ndarray
    embed: object
    space: object
    eval_set: tuple
    judge_inputs: object
    judge_eval: tuple


@dataclass(frozen=True)
class Judgement:
    """A round's trained judge and its view of the texts."""

    round: int
    model: object
    view: object


@dataclass(frozen=True)
class RoundResult:
    """What one round did, and what it found.

    Attributes
    ----------
    round : int
    pool : DemoPool or None
        The demonstrations the LLM saw (None: the round asked nothing).
    judgement : Judgement or None
        The judge trained this round (None: none trained, the labels
        converged or the round stopped before).
    record : RoundRecord or None
        Its ``history_`` record (None when it stopped before annotating).
    labels, clean_mask : ndarray or None
        The labels it left, and its judge's clean mask (with ``record``).
    nothing_to_annotate, one_class, converged, collapsed, rolled_back : bool
        The facts :func:`stop_reason` reads (``rolled_back``: the round made
        the labels less consistent, the previous round's labels are back).
    n_over_budget : int
        Texts the round would have annotated but the request budget left
        out (with ``nothing_to_annotate``: every text it would have asked).
    consistency : tuple or None
        The labels' consistency before and after the round, on the texts
        labelled before it (None: not compared).
    """

    round: int
    pool: object = None
    judgement: Judgement = None
    record: object = None
    labels: np.ndarray = None
    clean_mask: np.ndarray = None
    nothing_to_annotate: bool = False
    one_class: bool = False
    converged: bool = False
    collapsed: bool = False
    n_over_budget: int = 0
    rolled_back: bool = False
    consistency: tuple = None

    @property
    def over_budget(self):
        """Whether the request budget left out texts the round would have annotated."""
        return self.n_over_budget > 0

    @property
    def keeps_previous_judge(self):
        """Whether the previous round's judge stays the kept one (this round's is dropped)."""
        return self.collapsed or self.rolled_back


@dataclass(frozen=True)
class LoopResult:
    """The rounds' outcome: records, kept judge, last pool, why the loop stopped.

    ``n_over_budget`` is the annotations the request budget left out over
    the rounds, those of a round that stopped the loop without a record
    included.
    """

    records: tuple
    round_labels: np.ndarray
    round_clean_masks: np.ndarray
    judgement: Judgement
    pool: object
    stop_reason: str
    n_over_budget: int = 0

    @property
    def kept_round(self):
        """The round whose judge was kept."""
        return self.judgement.round


def stop_reason(result, *, judge_is_student):
    """Why the loop stops after ``result``'s round, or None to go on.

    Parameters
    ----------
    result : RoundResult
    judge_is_student : bool

    Returns
    -------
    reason : str or None
        ``"nothing_to_annotate"`` (every noisy text has used its
        annotations), ``"request_budget"`` (the request budget is spent),
        ``"one_class"`` (the answers would leave a single
        label: not taken), ``"no_change"`` (the labels converged),
        ``"round_worse"`` (the round made the labels less consistent: it is
        rolled back), ``"student_collapsed"`` / ``"judge_collapsed"`` (the
        round's judge learned nothing: the previous one is kept).
    """
    if result.nothing_to_annotate:
        return "request_budget" if result.over_budget else "nothing_to_annotate"
    if result.one_class:
        return "one_class"
    if result.converged:
        return "no_change"
    if result.rolled_back:  # the round's judge is dropped with its labels, collapsed or not
        return "round_worse"
    if result.collapsed:
        return "student_collapsed" if judge_is_student else "judge_collapsed"
    return None


def run_rounds(data, parts, state, events, rng):
    """Run the rounds of ``parts.rounds`` on ``data``, updating ``state``'s labels.

    Parameters
    ----------
    data : LoopData
    parts : Components
    state : LabelState
        The labels; updated in place round by round.
    events : Events
    rng : RandomState

    Returns
    -------
    result : LoopResult
    """
    kept, pool, results, reason, consistency = None, None, [], "max_rounds", None
    budget = RequestBudget(parts.labeler, parts.rounds.max_requests(len(data.texts)))
    for round_ in range(parts.rounds.n_rounds):
        result = run_round(round_, data, parts, state, kept, pool, consistency, events, rng,
                           budget)
        results.append(result)
        if not result.rolled_back:
            pool = result.pool or pool
        if result.judgement is not None and not result.keeps_previous_judge:
            kept = result.judgement
        if result.record is not None:
            consistency = result.record.label_consistency
            events.emit("on_round_end", result.record)
        reason = stop_reason(result, judge_is_student=parts.judge_is_student) or reason
        if reason != "max_rounds":
            break
    _warn_previous_kept(results[-1], kept, parts)
    ran = [r for r in results if r.record is not None]
    records = tuple(dataclasses.replace(r.record, judge_kept=r.round == kept.round) for r in ran)
    return LoopResult(
        records=records,
        # stacked on a new first axis: indicator matrices too (vstack joined their rows)
        round_labels=np.stack([r.labels for r in ran]),
        round_clean_masks=np.vstack([r.clean_mask for r in ran]),
        judgement=kept, pool=pool, stop_reason=reason,
        n_over_budget=sum(r.n_over_budget for r in results))


def _warn_previous_kept(result, kept, parts):
    """Say why the last round's judge (and, rolled back, its labels) gave way to an earlier one."""
    if kept is None or not result.keeps_previous_judge:
        return
    judged_by = parts.judge_name
    if result.rolled_back:
        before, after = result.consistency
        logger.warning(
            "Round %d made the labels less consistent: a probe trained on the other texts' "
            "labels gives %.3f of the texts their label, against %.3f before the round (lower "
            "by more than rollback_tolerance=%g; no gold label used). The round is rolled "
            "back: round %d's labels, %s and demonstrations are kept and the loop stops.",
            result.round, after, before, parts.rounds.rollback_tolerance, kept.round, judged_by)
        return
    logger.warning(
        "Round %d's %s agrees with its training labels hardly more than always answering "
        "their most frequent label would, and recovers them no better per label (it "
        "collapsed): round %d's %s is kept and the loop stops.",
        result.round, judged_by, kept.round, judged_by)


def run_round(round_, data, parts, state, kept, pool, consistency, events, rng, budget):
    """One round: pick the texts, build the pool, annotate, take the labels, judge them.

    ``consistency`` is the previous round's labels' (None in round 0); a
    round that lowers it by more than ``rollback_tolerance`` gives ``state``
    its previous labels back.
    """
    meter = RoundMeter(parts.labeler)
    view = kept.view if kept is not None else None
    todo = parts.rounds.to_annotate(round_, state, view, parts.query_strategy, rng)
    n_over = 0
    if round_ > 0:  # round 0's texts are in the budget's reserve
        left = budget.left() - calibration_requests(parts.labeler, todo.sum())  # 0: tilt kept
        todo, n_over = parts.rounds.within_budget(todo, left, view)
    if round_ > 0 and not todo.any():
        return RoundResult(round_, nothing_to_annotate=True, n_over_budget=n_over)
    pool = _demo_pool(round_, data, parts, state, kept, pool, events, rng, budget)
    with events.step(Step("annotating", round_, n=int(todo.sum()))):
        answers = annotate_with_demos(
            parts.labeler, parts.retriever, data.texts, data.embeddings, todo, pool,
            parts.demos.n_demos, space=data.space, calibrate=round_ == 0,
        ).fused_with(view.proba if view is not None else None, parts.rounds.label_fusion,
                     data.space)
    if round_ > 0 and state.leaves_one_class(answers):
        return RoundResult(round_, pool, one_class=True, n_over_budget=n_over)
    before = state.snapshot() if round_ > 0 else None
    changed, n_abstain = state.update(answers, round_)
    if round_ == 0 and _tops_up(data, parts):
        pool = top_up_pool(pool, state.labels, state.confidence, todo, data.texts,
                           data.embeddings, space=data.space,
                           min_per_label=parts.demos.min_per_label)
    converged = parts.rounds.converged(round_, changed)
    meter.llm_done()
    judgement, previous = None, consistency  # unchanged labels: the same figure
    if not converged:  # unchanged labels would train the same judge again
        judgement = _train_judge(round_, data, parts, state, events)
        view = judgement.view
        consistency = _consistency(data, parts, state.labels, state.known)
    record = meter.record(round_=round_, annotated=todo, n_abstain=n_abstain, changed=changed,
                          state=state, view=view, n_over_budget=n_over,
                          label_consistency=consistency)
    collapsed = (judgement is not None and kept is not None
                 and learned_nothing(judgement.view, state.labels, data.space))
    labels, compared = state.labels.copy(), None
    if judgement is not None and before is not None and previous is not None:
        # on the texts labelled before the round (the large-data mode adds new ones)
        same = np.array_equal(before.known, state.known)
        compared = (previous, consistency if same else
                    _consistency(data, parts, state.labels, before.known))
    rolled_back = compared is not None and parts.rounds.round_is_worse(*compared)
    if rolled_back:
        state.restore(before)
        record = dataclasses.replace(record, rolled_back=True)
    return RoundResult(round_, pool, judgement, record, labels, view.clean_mask.copy(),
                       converged=converged, collapsed=collapsed, n_over_budget=n_over,
                       rolled_back=rolled_back, consistency=compared)


def _n_generated(data, parts):
    """Synthetic demonstrations round 0 asks for."""
    n_first = parts.rounds.first_round_size(len(data.texts))
    return parts.demos.n_generated_for(n_classes=data.space.n_labels, n_first_round=n_first)


def _first_calibration(data, parts):
    """Requests round 0's annotation adds to calibrate the labeler (contextual calibration)."""
    n_first = parts.rounds.first_round_size(len(data.texts))
    return calibration_requests(parts.labeler, n_first, refit=True)


def _tops_up(data, parts):
    """Whether round 0's answers top up its pool: the fill's rule, where demos were written."""
    demos = parts.demos
    return bool(demos.fill_missing and demos.min_per_label and _n_generated(data, parts))


def _demo_pool(round_, data, parts, state, kept, pool, events, rng, budget):
    """Round 0: the LLM's synthetic demonstrations; later: the judge's clean medoids."""
    demos = parts.demos
    if round_ > 0:
        return refined_pool(
            kept.view, state.labels, data.texts, data.embeddings, kept.model, space=data.space,
            top_percent=demos.top_percent, per_class=demos.pool_per_class, rng=rng,
            previous=pool if demos.fill_missing else None, min_per_label=demos.min_per_label)
    n_generated = _n_generated(data, parts)
    given = data.space.keep(state.labels, state.fixed)
    with events.step(Step("writing", 0, n=n_generated)):
        return generated_pool(
            parts.labeler, data.texts, given, n_generated=n_generated, space=data.space,
            embed=data.embed, rng=rng, fill=demos.fill_missing,
            budget=budget.part(parts.rounds.demo_request_share(
                len(data.texts), reserved=_first_calibration(data, parts))),
            min_per_label=demos.min_per_label if demos.fill_missing else 0)


def _consistency(data, parts, labels, on):
    """The labels' out-of-fold consistency on the texts ``on``, None when not measured."""
    if parts.rounds.rollback_tolerance is None:
        return None
    probe = consistency_probe(parts.judge, parts.judge_is_student, data.space)
    if probe is None:
        return None
    return label_consistency(probe, data.embeddings, labels, on, data.space)


def _train_judge(round_, data, parts, state, events):
    """Train a fresh judge on the labels (round 0: the prototype itself)."""
    model = parts.judge if round_ == 0 else clone(parts.judge)
    with events.step(Step("training", round_, model=parts.judge_name)):
        view = train_and_view(model, data.judge_inputs, state.labels, space=data.space,
                              noise_filter=parts.noise_filter, eval_set=data.judge_eval)
    return Judgement(round_, model, view)


def train_final_student(data, parts, state, judgement, events):
    """With a separate judge: train the student once on the final labels.

    A student that learned nothing (see
    :func:`~skfreeal.loop.learned_nothing`) is replaced by the kept judge
    on the embedder's embeddings, with a warning.

    Returns
    -------
    student : estimator
        What ``predict`` uses.
    view : JudgeView
        The student's view (the judge's, when the student collapsed).
    record : StudentRecord
    """
    start = time.perf_counter()
    with events.step(Step("final")):
        view = train_and_view(parts.student, data.texts, state.labels, space=data.space,
                              noise_filter=parts.noise_filter, eval_set=data.eval_set)
    collapsed = learned_nothing(view, state.labels, data.space)
    record = StudentRecord(seconds=round(time.perf_counter() - start, 3), collapsed=collapsed,
                           eval_accuracy=view.eval_accuracy)
    if not collapsed:
        return parts.student, view, record
    logger.warning(
        "The student trained on the final labels agrees with them hardly more than always "
        "answering their most frequent label would, and recovers them no better per label "
        "(it collapsed): the judge, on the embedder's embeddings, predicts instead.")
    student = make_pipeline(parts.embedder, Normalizer(), judgement.model)
    return student, judgement.view, record
