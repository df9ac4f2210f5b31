"""Round book-keeping: the label state, the round records, the schedule, the query strategies."""

import numpy as np
import pytest

from skfreeal.labels import SingleLabelSpace
from skfreeal.loop import DemoPolicy, JudgeView, RoundPolicy, RoundRecord
from skfreeal.loop._annotate import Answers
from skfreeal.loop._core import RoundResult, stop_reason
from skfreeal.loop._records import RoundMeter
from skfreeal.loop._state import LabelState
from skfreeal.query import RandomQuery, UncertaintyQuery, uncertainty_scores

TWO = SingleLabelSpace(["negative", "positive"])


def test_label_state_keeps_given_labels_and_previous_answers():
    state = LabelState(np.array([1, -1, -1, -1]), TWO)
    assert state.fixed.tolist() == [True, False, False, False]
    assert state.never_annotated().tolist() == [False, True, True, True]
    first = Answers(np.array([1, 2, 3]), [0, 1, -1], [0.9, 0.8, 0.0])
    changed, n_abstain = state.update(first, 0)
    assert state.labels.tolist() == [1, 0, 1, -1] and n_abstain == 1
    assert changed.tolist() == [False, True, True, False]
    assert np.isnan(state.confidence[3]) and state.confidence[0] == 1.0
    # an abstention keeps the earlier answer
    proba = np.array([[np.nan, np.nan], [0.7, 0.3]])
    changed, _ = state.update(Answers(np.array([1, 2]), [-1, 0], [0.0, 0.7], proba), 1)
    assert state.labels.tolist() == [1, 0, 0, -1] and changed.tolist() == [False, False, True, False]
    assert state.round.tolist() == [-1, 0, 1, -1]
    assert state.n_annotations.tolist() == [0, 2, 2, 1]
    np.testing.assert_allclose(state.proba[:3], [[0, 1], [1, 0], [0.7, 0.3]])  # one-hot or given
    assert np.isnan(state.proba[3]).all()


def test_noisy_within_budget_caps_annotations_and_skips_given_labels():
    state = LabelState(np.array([0, -1, -1, -1]), TWO)
    state.update(Answers(np.array([1, 2]), [0, 1], [1.0, 1.0]), 0)
    state.update(Answers(np.array([2]), [1], [1.0]), 1)
    clean = np.array([False, False, False, True])
    assert state.noisy_within_budget(clean, 2).tolist() == [False, True, False, False]
    assert state.noisy_within_budget(clean, 3).tolist() == [False, True, True, False]


def test_round_meter_diffs_usage_into_a_record_with_fixed_fields():
    class Labeler:
        usage_ = {"calls": 3, "prompt_tokens": 30, "completion_tokens": 3,
                  "cache_hits": 0, "cost": 0.0}

    lab = Labeler()
    rec = RoundMeter(lab)
    lab.usage_ = dict(lab.usage_, calls=5, prompt_tokens=50)
    rec.llm_done()
    state = LabelState(np.array([0, 1, -1]), TWO)
    view = JudgeView(proba=np.array([[0.9, 0.1], [0.8, 0.2], [0.1, 0.9]]),
                     losses=np.array([0.1, 1.6, np.nan]), pred=np.array([0, 0, 1]),
                     clean_mask=np.array([True, False, False]), eval_accuracy=0.75)
    entry = rec.record(round_=0, annotated=np.ones(3, bool), n_abstain=1,
                       changed=np.zeros(3, bool), state=state, view=view)
    assert entry["calls"] == 2 and entry["prompt_tokens"] == 20
    assert entry["n_labelled"] == 2 and entry["clean_fraction"] == 0.5
    assert entry["judge_agreement"] == 0.5 and entry["eval_accuracy"] == 0.75
    assert isinstance(entry, RoundRecord) and entry.failed == 0 and not entry.judge_kept
    assert list(entry) == list(RoundRecord.__dataclass_fields__)  # the same fields every round
    assert dict(entry)["calls"] == 2
    with pytest.raises(AttributeError):
        entry.calls = 3  # frozen


@pytest.mark.parametrize("facts, judge_is_student, reason", [
    ({}, True, None),
    (dict(nothing_to_annotate=True), True, "nothing_to_annotate"),
    (dict(one_class=True), False, "one_class"),
    (dict(converged=True), False, "no_change"),
    (dict(collapsed=True), True, "student_collapsed"),
    (dict(collapsed=True), False, "judge_collapsed"),
    (dict(rolled_back=True, collapsed=True), False, "round_worse"),  # its judge goes too
])
def test_one_place_decides_why_the_loop_stops(facts, judge_is_student, reason):
    assert stop_reason(RoundResult(1, **facts), judge_is_student=judge_is_student) == reason


def test_the_schedule_asks_the_noisy_texts_and_the_next_share():
    state = LabelState(np.array([-1] * 10), TWO)
    rng = np.random.RandomState(0)
    policy = RoundPolicy(label_fraction=0.3)
    from skfreeal.query import RandomQuery

    first = policy.to_annotate(0, state, None, RandomQuery(), rng)
    assert first.sum() == 3
    state.update(Answers(np.flatnonzero(first), [0, 1, 0], [1.0] * 3), 0)
    view = JudgeView(proba=np.full((10, 2), 0.5), losses=np.zeros(10), pred=np.zeros(10, int),
                     clean_mask=np.zeros(10, bool))
    second = policy.to_annotate(1, state, view, RandomQuery(), rng)
    assert second[first].all() and second.sum() == 6  # the 3 noisy, and 3 new
    assert policy.expected_annotations(10, noisy_fraction=1.0)[:2] == [3.0, 6.0]
    assert RoundPolicy().converged(1, np.zeros(3, bool))
    assert not policy.converged(1, np.zeros(3, bool))  # new texts come in P% mode
    with pytest.raises(ValueError, match=r"label_fraction=0\.3 has the LLM label 1 of the 3"):
        policy.check_first_round(3, 0)


def test_policies_validate_their_settings_by_name():
    with pytest.raises(ValueError, match="'max_annotations' parameter of RoundPolicy"):
        RoundPolicy(max_annotations=0).validate()
    with pytest.raises(ValueError, match="'n_demos' parameter of DemoPolicy"):
        DemoPolicy(n_demos=-1).validate()
    assert DemoPolicy(4).pool_per_class == 5 and DemoPolicy(8).pool_per_class == 8


def test_random_query_draws_among_candidates():
    picked = RandomQuery().select(np.arange(50, 100), 10, random_state=0)
    assert len(set(picked)) == 10 and all(50 <= i < 100 for i in picked)
    assert RandomQuery().select([1, 2], 5, random_state=0).size == 2
    assert RandomQuery().select([], 5).size == 0


def test_uncertainty_query_takes_the_least_sure_texts():
    proba = np.array([[0.9, 0.1], [0.55, 0.45], [0.5, 0.5], [0.8, 0.2]])
    assert sorted(UncertaintyQuery().select([0, 1, 2, 3], 2, proba=proba)) == [1, 2]
    assert UncertaintyQuery().select([0, 3], 1, proba=proba).tolist() == [3]
    with pytest.raises(ValueError, match="needs the student's probabilities"):
        UncertaintyQuery().select([0, 1], 1)


@pytest.mark.parametrize("measure", ["margin", "entropy", "least_confident"])
def test_uncertainty_scores_rank_a_flat_distribution_first(measure):
    scores = uncertainty_scores([[0.98, 0.01, 0.01], [0.34, 0.33, 0.33], [0.6, 0.3, 0.1]],
                                measure=measure)
    assert np.argmax(scores) == 1 and np.argmin(scores) == 0


def test_a_later_pool_keeps_the_previous_demos_of_a_label_it_lost():
    """The student agrees with no text of label 0: its old demonstrations stay."""
    from skfreeal.loop._pools import DemoPool, refined_pool

    labels = np.array([0, 0, 1, 1, 1, 1])
    view = JudgeView(proba=np.tile([0.2, 0.8], (6, 1)), losses=np.linspace(0.1, 0.6, 6),
                     pred=np.ones(6, int), clean_mask=np.ones(6, dtype=bool))
    texts = [f"text {i}" for i in range(6)]
    embeddings = np.eye(6, dtype=np.float32)
    previous = DemoPool(["old negative", "old positive"], np.array([0, 1]),
                        np.zeros((2, 6), np.float32))
    kwargs = dict(space=TWO, top_percent=1.0, per_class=2, rng=np.random.RandomState(0))
    alone = refined_pool(view, labels, texts, embeddings, None, **kwargs)
    assert set(alone.labels.tolist()) == {1}
    kept = refined_pool(view, labels, texts, embeddings, None, previous=previous, **kwargs)
    assert kept.texts[-1] == "old negative" and kept.labels.tolist().count(0) == 1
    assert "old positive" not in kept.texts and kept.embeddings.shape == (len(kept.texts), 6)


def test_a_later_pool_keeps_the_previous_demos_of_a_label_short_of_min_per_label():
    """Label 1 has a single clean text the judge agrees with: with min_per_label=2 its
    previous demonstrations stay too; with 1 (the default) they do not."""
    from skfreeal.loop._pools import DemoPool, refined_pool

    labels = np.array([0, 0, 0, 0, 1, 0])
    view = JudgeView(proba=np.tile([0.8, 0.2], (6, 1)), losses=np.linspace(0.1, 0.6, 6),
                     pred=labels.copy(), clean_mask=np.ones(6, dtype=bool))
    texts = [f"text {i}" for i in range(6)]
    previous = DemoPool(["old negative", "old positive"], np.array([0, 1]),
                        np.zeros((2, 6), np.float32))
    kwargs = {"space": TWO, "top_percent": 1.0, "per_class": 2, "previous": previous}
    one = refined_pool(view, labels, texts, np.eye(6, dtype=np.float32), None,
                       rng=np.random.RandomState(0), **kwargs)
    assert one.labels.tolist().count(1) == 1 and "old positive" not in one.texts
    two = refined_pool(view, labels, texts, np.eye(6, dtype=np.float32), None,
                       rng=np.random.RandomState(0), min_per_label=2, **kwargs)
    assert two.labels.tolist().count(1) == 2 and "old positive" in two.texts
    assert "old negative" not in two.texts  # label 0 has its 2
