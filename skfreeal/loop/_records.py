"""What the loop tells of each round, as records with fixed fields."""

import dataclasses
import time
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

__all__ = ["RoundMeter", "RoundRecord", "StudentRecord", "labeler_usage", "over_budget_summary"]

USAGE_KEYS = ("calls", "prompt_tokens", "completion_tokens", "cache_hits", "cost", "failed")


class _Record(Mapping):
    """A frozen dataclass that also reads as a mapping (``record["round"]``, ``dict(record)``)."""

    def __getitem__(self, key):
        if key not in self._names():
            raise KeyError(key)
        return getattr(self, key)

    def __iter__(self):
        return iter(self._names())

    def __len__(self):
        return len(self._names())

    @classmethod
    def _names(cls):
        return tuple(f.name for f in dataclasses.fields(cls))


@dataclass(frozen=True, eq=False)
class RoundRecord(_Record):
    """One round of the loop, as ``FreeALClassifier.history_`` keeps it.

    Attributes
    ----------
    round : int
    n_annotated : int
        Texts the LLM annotated in the round.
    n_abstain : int
        Of those, the ones it gave no label.
    n_changed : int
        Texts whose label the round changed.
    n_labelled : int
        Texts with a label after the round.
    clean_fraction : float
        Share of the labelled texts the round's judge found clean.
    judge_agreement : float
        Share of the labelled texts on which the judge's prediction is the label.
    calls, prompt_tokens, completion_tokens, cache_hits, failed : int
        The labeler's usage in the round (``failed``: texts whose request
        failed all its attempts and were left unlabelled).
    cost : float
        Its estimated cost.
    llm_seconds, judge_seconds, seconds : float
        Wall time of the LLM phase, of the judge's training (and of the
        ``label_consistency`` measure), of the round.
    eval_accuracy : float or None
        The judge's accuracy on ``eval_set`` (None without one).
    judge_kept : bool
        Whether this round's judge is the kept one (``kept_round_``); known
        once the loop has stopped (False in the ``on_round_end`` event).
    n_over_budget : int
        Texts the round would have annotated but left out, the noisiest
        kept, to stay within ``RoundPolicy.max_requests_per_text``.
    label_consistency : float or None
        How well the round's labels predict each other, with no gold label:
        the share of the labelled texts whose label a probe trained on the
        other texts' labels gives them (out of fold; see
        ``RoundPolicy.rollback_tolerance``). None when not measured
        (``rollback_tolerance=None``).
    rolled_back : bool
        Whether the round lowered the labels' consistency by more than
        ``rollback_tolerance`` and was undone: the labels it proposed are
        ``round_labels_[r]``, the previous round's were kept.
    """

    round: int
    n_annotated: int
    n_abstain: int
    n_changed: int
    n_labelled: int
    clean_fraction: float
    judge_agreement: float
    calls: int
    prompt_tokens: int
    completion_tokens: int
    cache_hits: int
    cost: float
    failed: int
    llm_seconds: float
    judge_seconds: float
    seconds: float
    eval_accuracy: float = None
    judge_kept: bool = False
    n_over_budget: int = 0
    label_consistency: float = None
    rolled_back: bool = False


@dataclass(frozen=True, eq=False)
class StudentRecord(_Record):
    """The final student's training, when a separate judge ran the rounds.

    Attributes
    ----------
    seconds : float
        Its training time.
    collapsed : bool
        Whether it learned nothing (see
        :func:`~skfreeal.loop.learned_nothing`); the judge then predicts.
    eval_accuracy : float or None
        Its accuracy on ``eval_set``, collapsed or not (None without one).
    """

    seconds: float
    collapsed: bool
    eval_accuracy: float = None


def labeler_usage(labeler):
    """The labeler's cumulated usage as a dict (zeros when it keeps none)."""
    usage = getattr(labeler, "usage_", None)
    if usage is None:
        return dict.fromkeys(USAGE_KEYS, 0)
    if hasattr(usage, "as_dict"):
        usage = usage.as_dict()
    return {k: usage.get(k, 0) for k in USAGE_KEYS}


def over_budget_summary(clf):
    """One line on what the request budget left un-asked in a fitted FreeAL (None: nothing).

    For the run summaries (the command line's, the demo's): ``stop_reason_``
    says ``"request_budget"`` only when the budget stopped the loop, not
    when it cut a round short.

    Parameters
    ----------
    clf : fitted FreeALClassifier

    Returns
    -------
    line : str or None
    """
    n = getattr(clf, "n_over_budget_", 0)
    if not n:
        return None
    per_round = {h["round"]: h["n_over_budget"] for h in clf.history_ if h["n_over_budget"]}
    where = [f"round {r}: {k}" for r, k in per_round.items()]
    if n > sum(per_round.values()):  # the round that stopped the loop keeps no record
        where.append(f"round {clf.n_rounds_}, stopped: {n - sum(per_round.values())}")
    return (f"the request budget (max_requests_per_text) left {n} annotation(s) un-asked "
            f"({', '.join(where)}); the loop stopped: {clf.stop_reason_}")


class RoundMeter:
    """Times a round's LLM and judge phases and diffs the labeler's usage over it.

    Parameters
    ----------
    labeler : labeler
    """

    def __init__(self, labeler):
        self.labeler = labeler
        self._t0 = self._t_llm = time.perf_counter()
        self._usage0 = labeler_usage(labeler)

    def llm_done(self):
        """Mark the end of the LLM phase (the judge's training follows)."""
        self._t_llm = time.perf_counter()

    def record(self, *, round_, annotated, n_abstain, changed, state, view, n_over_budget=0,
               label_consistency=None):
        """The record of the round that just ended.

        Parameters
        ----------
        round_ : int
        annotated : ndarray of bool
            Texts the LLM annotated this round.
        n_abstain : int
        changed : ndarray of bool
            Texts whose label changed.
        state : LabelState
            Every text's label after the round.
        view : JudgeView
            The judge's view after the round.
        n_over_budget : int, default=0
            Texts left out for the request budget.
        label_consistency : float, default=None
            The labels' out-of-fold consistency after the round.

        Returns
        -------
        record : RoundRecord
        """
        end = time.perf_counter()
        usage = labeler_usage(self.labeler)
        labelled = state.known
        agree = state.space.agree(view.pred[labelled], state.labels[labelled])
        return RoundRecord(
            round=int(round_), n_annotated=int(np.sum(annotated)), n_abstain=int(n_abstain),
            n_changed=int(np.sum(changed)), n_labelled=int(labelled.sum()),
            clean_fraction=float(view.clean_mask[labelled].mean()) if labelled.any() else 0.0,
            judge_agreement=float(agree.mean()) if labelled.any() else 0.0,
            **{k: usage[k] - self._usage0[k] for k in USAGE_KEYS},
            llm_seconds=round(self._t_llm - self._t0, 3),
            judge_seconds=round(end - self._t_llm, 3), seconds=round(end - self._t0, 3),
            eval_accuracy=view.eval_accuracy, n_over_budget=int(n_over_budget),
            label_consistency=label_consistency,
        )
