"""Many labels: every label with demonstrations (or named), and the request cap (issue 41)."""

import re
import warnings

import numpy as np
import pytest
from test_freeal import tfidf_embedder, tfidf_slm

from skfreeal import DemoPolicy, FreeALClassifier, RoundPolicy
from skfreeal.calibration import CONTENT_FREE_INPUTS
from skfreeal.labelers import FunctionLabeler

N_LABELS, NEVER = 30, range(25, 30)  # the LLM never gives the last five labels
NAMES = [f"topic_{i:02d}" for i in range(N_LABELS)]
DESCRIPTIONS = {name: f"texts about keyword kw{i:02d}" for i, name in enumerate(NAMES)}


def many_texts(per_label=2):
    return [f"a note on kw{i:02d} number {j}" for j in range(per_label) for i in range(N_LABELS)]


def topics(prompts):
    """An LLM that labels by keyword but answers topic_00 for the NEVER labels' texts, and
    writes a text with the asked label's keyword. Keeps every prompt in ``prompts`` (a
    function, so that the labeler's clone in ``fit`` keeps the same list)."""

    def answer(messages, **params):
        ask = messages[-1]["content"]
        prompts.append(" ".join(m["content"] for m in messages))
        if "seed" in params:  # a demonstration-writing request
            label = int(re.search(r'"topic_(\d\d)"', ask).group(1))
            return f"another note on kw{label:02d}, {distinct_words(params['seed'])}"
        label = int(re.findall(r"kw(\d\d)", ask.rsplit("<text>", 1)[-1])[0])
        return NAMES[0 if label in NEVER else label]

    return answer


WORDS = ["apple", "river", "stone", "cloud", "lamp", "forest", "engine", "violin", "harbor",
         "pepper", "candle", "meadow"]


def distinct_words(seed):
    """Four words that differ from one seed to the next (no demonstration is a near copy)."""
    return " ".join(WORDS[(seed // len(WORDS) ** k) % len(WORDS)] for k in range(4))


def requests(clf):
    """Requests the fit made, as the benchmarks count them (cached ones too)."""
    return clf.usage_["calls"] + clf.usage_["cache_hits"]


def fit_topics(texts, **demos):
    prompts = []
    clf = FreeALClassifier(DESCRIPTIONS, "The topic of a note.",
                           labeler=FunctionLabeler(topics(prompts), model_id="topics", cache=None),
                           slm=tfidf_slm(), embedder=tfidf_embedder(),
                           demos=DemoPolicy(**demos), random_state=0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        clf.fit(texts)
    return clf, prompts, [str(w.message) for w in caught]


def test_labels_the_llm_never_gives_are_named_in_one_warning():
    texts = many_texts()
    clf, prompts, messages = fit_topics(texts)
    named = [m for m in messages if "min_per_label=1" in m]
    assert len(named) == 1
    for i in range(N_LABELS):
        assert (f"'{NAMES[i]}': 0" in named[0]) == (i in NEVER)
    assert "gave them to too few of the 60 training texts" in named[0]
    # every other label has a demonstration after round 0, and in the final pool
    assert set(clf.demos_per_label_) == set(NAMES)
    assert all(clf.demos_per_label_[n] >= 1 for i, n in enumerate(NAMES) if i not in NEVER)
    pairs = dict.fromkeys(NAMES, 0)
    for _, name in clf.demos_:
        pairs[name] += 1
    assert pairs == clf.demos_per_label_
    # the LLM saw the descriptions when writing and when annotating
    assert any('"topic_03" (texts about keyword kw03)' in p for p in prompts)
    assert any("topic_03: texts about keyword kw03" in p for p in prompts)


def test_thirty_labels_cost_at_most_two_requests_a_text():
    texts = many_texts()
    clf, _, _ = fit_topics(texts)
    cap = RoundPolicy().max_requests(len(texts))
    assert requests(clf) <= cap == 2 * len(texts)
    # the same fit uncapped: its demonstration work grows with the labels and passes the cap
    free = FreeALClassifier(DESCRIPTIONS, "The topic of a note.",
                            labeler=FunctionLabeler(topics([]), model_id="topics", cache=None),
                            slm=tfidf_slm(), embedder=tfidf_embedder(),
                            rounds=RoundPolicy(max_requests_per_text=None), random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        free.fit(texts)
    assert requests(free) > cap
    # the estimate says the figure before the run, within the cap
    est = clf.estimate(texts, measure_speed=False)
    assert est["expected_requests_per_text"] <= est["max_requests_per_text"] == 2.0
    assert est["max_calls"] <= cap


def test_a_round_over_the_cap_annotates_the_noisiest_texts_and_says_so():
    texts = many_texts()
    clf = FreeALClassifier(DESCRIPTIONS, "The topic of a note.",
                           labeler=FunctionLabeler(topics([]), model_id="topics", cache=None),
                           slm=tfidf_slm(), embedder=tfidf_embedder(),
                           rounds=RoundPolicy(3, max_requests_per_text=1.1, max_annotations=3),
                           demos=DemoPolicy(n_generated=0), random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf.fit(texts)
    cap = clf.rounds.max_requests(len(texts))
    assert requests(clf) == cap  # round 0 took 60, round 1 the 6 left
    h1 = clf.history_[1]
    assert h1["n_annotated"] == cap - len(texts) and h1["n_over_budget"] > 0
    # the 6 texts asked again are the noisy ones of the largest loss
    asked = clf.n_annotations_ == 2
    noisy = ~clf.round_clean_masks_[0]
    assert noisy[asked].all() and asked.sum() == 6
    # with nothing left for round 1, the loop stops and says why
    clf.set_params(rounds__max_requests_per_text=1.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf.fit(texts)
    assert clf.stop_reason_ == "request_budget" and clf.n_rounds_ == 1


def few_label_fit(cap, texts, calls):
    def answer(messages, **params):
        calls.append((messages, params))
        ask = messages[-1]["content"]
        if "seed" in params:
            word = "good" if '"positive"' in ask else "bad"
            return f"the {distinct_words(params['seed'])} was {word}"
        return "positive" if "good" in ask.rsplit("<text>", 1)[-1] else "negative"

    return FreeALClassifier(
        ["negative", "positive"], "Sentiment.",
        labeler=FunctionLabeler(answer, model_id="few", cache=None), slm=tfidf_slm(),
        embedder=tfidf_embedder(), rounds=RoundPolicy(max_requests_per_text=cap),
        random_state=0).fit(texts)


def test_a_few_label_fit_is_unchanged_by_the_cap():
    rng = np.random.RandomState(0)
    texts = [f"{rng.choice(['good', 'bad', 'fine'])} day number {i}" for i in range(100)]
    capped_calls, free_calls = [], []
    capped = few_label_fit(2.0, texts, capped_calls)
    free = few_label_fit(None, texts, free_calls)
    assert capped_calls == free_calls  # the same requests, in the same order
    np.testing.assert_array_equal(capped.label_ids_, free.label_ids_)
    assert capped.stop_reason_ == free.stop_reason_
    # what the policies' arithmetic says: each demonstration written, then checked;
    # every text in round 0; the texts judged noisy in round 1
    n_generated = DemoPolicy().n_generated_for(n_classes=2, n_first_round=len(texts))
    annotated = sum(h["n_annotated"] for h in capped.history_)
    assert requests(capped) == len(capped_calls) == 2 * n_generated + annotated
    assert all(h["n_over_budget"] == 0 for h in capped.history_)
    assert requests(capped) <= RoundPolicy().max_requests(len(texts))


def test_the_cap_must_leave_room_for_round_0():
    with pytest.raises(ValueError, match="max_requests_per_text"):
        RoundPolicy(max_requests_per_text=0.5).validate()


def test_over_the_cap_the_noisiest_texts_go_first():
    from skfreeal.loop import JudgeView

    view = JudgeView(proba=None, losses=np.array([0.1, np.nan, 0.9, 0.5, 2.0]),
                     pred=None, clean_mask=None)
    todo = np.array([True, True, True, True, False])
    cut, n_over = RoundPolicy().within_budget(todo, 2, view)
    assert cut.tolist() == [False, True, True, False, False] and n_over == 2
    assert RoundPolicy().within_budget(todo, np.inf, view)[0] is todo


def test_writing_within_a_request_limit_lets_the_labels_take_turns():
    asked = []

    def write(messages, **params):
        asked.append(re.search(r'"(\w+)"', messages[-1]["content"]).group(1))
        return f"a text, {distinct_words(params['seed'])}"

    labeler = FunctionLabeler(write, labels=["a", "b", "c"], task="Letters.", cache=None,
                              filter_demos=False)
    with pytest.warns(UserWarning, match="fewer usable demonstrations .* limit of 4 requests"):
        demos = labeler.generate_demos(6, ["an example", "another one"], random_state=0,
                                       max_requests=4)
    # (requests go out sorted by their prompts, so the order asked is not the order built)
    assert sorted(asked) == ["a", "a", "b", "c"] and [label for _, label in demos] == [0, 1, 2, 0]
    with pytest.raises(ValueError, match="max_requests must be a non-negative int"):
        labeler.generate_demos(6, ["an example"], max_requests=-1)


def test_a_tight_limit_writes_only_what_it_can_check_and_the_labels_take_turns():
    # 12 requests for 6 labels: 6 writes and their 6 checks, one label each (writing all 12
    # first, as before, left no request to check them, and an unchecked text is not kept)
    names = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta"]
    kinds = []

    def llm(messages, **params):
        asked = re.search(r'correct label is "(\w+)"', messages[-1]["content"])
        kinds.append("write" if asked else "check")
        if asked:
            return f"{asked.group(1)} {distinct_words(params['seed'])}"
        return next(n for n in names if n in messages[-1]["content"].rsplit("<text>", 1)[-1])

    labeler = FunctionLabeler(llm, labels=names, task="Greek letters.", cache=None,
                              constrained=False, calibration=None)
    with pytest.warns(UserWarning, match="limit of 12 requests"):
        demos = labeler.generate_demos(12, ["an example", "another one"], random_state=0,
                                       max_requests=12)
    assert kinds.count("write") == kinds.count("check") == 6
    assert sorted(label for _, label in demos) == list(range(6))


def test_no_share_for_writing_leaves_round_0_zero_shot_and_tops_up_its_empty_pool():
    # 1.2 requests a text leave round 0's writing no share: the pool starts empty, and the
    # labels short of min_per_label take round 0's answers (an empty pool's embeddings
    # used to have no width, and joining them failed)
    rng = np.random.RandomState(0)
    texts = [f"{rng.choice(['good', 'bad'])} day number {i}" for i in range(40)]
    assert RoundPolicy(max_requests_per_text=1.2).demo_request_share(len(texts)) == 0
    calls = []
    clf = few_label_fit(1.2, texts, calls)
    assert not any("seed" in params for _, params in calls)  # nothing written
    assert sorted({label for _, label in clf.demos_}) == ["negative", "positive"]
    assert requests(clf) <= RoundPolicy(max_requests_per_text=1.2).max_requests(len(texts))


def test_a_round_cut_only_partly_is_told_by_the_fit_and_its_summaries():
    # round 1 of 2 is cut to the 6 requests left: the loop ends for another reason (its
    # answers changed no label), and only n_over_budget_ (and the round's record) say that
    # the budget cut it
    from types import SimpleNamespace

    from skfreeal.demo import _report_rounds
    from skfreeal.loop._records import over_budget_summary

    texts = many_texts()
    clf = FreeALClassifier(DESCRIPTIONS, "The topic of a note.",
                           labeler=FunctionLabeler(topics([]), model_id="topics", cache=None),
                           slm=tfidf_slm(), embedder=tfidf_embedder(),
                           rounds=RoundPolicy(2, max_requests_per_text=1.1),
                           demos=DemoPolicy(n_generated=0), random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf.fit(texts)
    left_out = clf.history_[1].n_over_budget
    assert clf.stop_reason_ == "no_change" and left_out > 0
    assert clf.n_over_budget_ == left_out
    line = over_budget_summary(clf)
    assert line == (f"the request budget (max_requests_per_text) left {left_out} annotation(s) "
                    f"un-asked (round 1: {left_out}); the loop stopped: no_change")
    # the demo prints that line after its rounds
    printed = []
    y = clf.classes_[np.maximum(clf.label_ids_, 0)]
    fake = SimpleNamespace(**{k: getattr(clf, k) for k in (
        "history_", "round_labels_", "classes_", "n_over_budget_", "n_rounds_", "stop_reason_")},
        student_record_=None)
    fake.history_ = [{**dict(h), "eval_accuracy": 0.5} for h in clf.history_]
    _report_rounds(fake, y, "judge", printed.append)
    assert printed[-1] == line
    # the round the budget stops has no record: its texts are counted all the same
    clf.set_params(rounds=RoundPolicy(3, max_requests_per_text=1.0))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf.fit(texts)
    assert clf.stop_reason_ == "request_budget" and clf.n_rounds_ == 1
    assert clf.history_[0].n_over_budget == 0 and clf.n_over_budget_ > 0
    assert f"(round 1, stopped: {clf.n_over_budget_})" in over_budget_summary(clf)


def test_a_fit_the_cap_never_bound_has_nothing_over_budget(caplog):
    from types import SimpleNamespace

    from skfreeal.cli._label import _log_summary
    from skfreeal.loop._records import over_budget_summary

    rng = np.random.RandomState(0)
    texts = [f"{rng.choice(['good', 'bad', 'fine'])} day number {i}" for i in range(100)]
    clf = few_label_fit(2.0, texts, [])
    assert clf.n_over_budget_ == 0 and over_budget_summary(clf) is None
    # the command line's summary says it only when the budget cut something
    data = SimpleNamespace(gold=None)
    with caplog.at_level("INFO", logger="skfreeal"):
        _log_summary(clf, data, 1.0, None)
        assert "request budget" not in caplog.text
        clf.n_over_budget_ = 7
        _log_summary(clf, data, 1.0, None)
    assert ("the request budget (max_requests_per_text) left 7 annotation(s) un-asked "
            f"(round {clf.n_rounds_}, stopped: 7); the loop stopped: {clf.stop_reason_} "
            "(--max-requests-per-text raises the budget)") in caplog.text


def contextual_llm(kinds):
    """Sentiment by keyword; records each request's kind (write, content-free or label)."""

    def answer(messages, **params):
        ask = messages[-1]["content"]
        if "seed" in params:
            kinds.append("write")
            word = "good" if '"positive"' in ask else "bad"
            return f"the {distinct_words(params['seed'])} was {word}"
        kinds.append("content-free" if ask in CONTENT_FREE_INPUTS else "label")
        return "positive" if "good" in ask else "negative"

    return answer


def test_contextual_calibration_requests_are_counted_by_the_labeler():
    from skfreeal.labels import MultiLabelSpace

    labeler = FunctionLabeler(contextual_llm([]), labels=["negative", "positive"],
                              task="Sentiment.", cache=None, calibration="contextual")
    assert labeler.calibration_requests(40) == 9 and labeler.calibration_requests(2) == 6
    assert labeler.set_params(calibration="batch").calibration_requests(40) == 0
    labeler.set_params(calibration="contextual")
    labeler.fit_annotate_proba(["good day", "bad day", "good one", "bad one"])
    usage = labeler.usage_
    assert usage.calls + usage.cache_hits == 4 + 9  # the content-free inputs count
    # the tilt is kept: a later annotation makes none, fit_annotate_proba estimates it again
    assert labeler.calibration_requests(40) == 0
    assert labeler.calibration_requests(40, refit=True) == 9
    sets = FunctionLabeler(contextual_llm([]), labels=MultiLabelSpace(["a", "b"]),
                           task="Topics.", calibration="contextual")
    assert sets.calibration_requests(40) == 0  # a set of labels is not calibrated


def test_writing_within_a_limit_counts_the_checks_contextual_calibration():
    # 12 requests: each check of written texts adds 9 content-free requests (they used to
    # come on top: 6 writes, 6 checks and 9 = 21 requests for a limit of 12)
    kinds = []
    labeler = FunctionLabeler(contextual_llm(kinds), labels=["negative", "positive"],
                              task="Sentiment.", cache=None, calibration="contextual")
    with pytest.warns(UserWarning, match="limit of 12 requests"):
        labeler.generate_demos(12, ["an example", "another one"], random_state=0,
                               max_requests=12)
    usage = labeler.usage_
    assert usage.calls + usage.cache_hits <= 12
    # one write and its check, with the check's content-free inputs (3 sent: zero-shot,
    # the three contexts are the same; the 6 repeats count as cache hits)
    assert kinds.count("write") >= 1 and kinds.count("content-free") == 3
    assert len(kinds) == usage.calls


def contextual_fit(cap, texts, kinds, n_rounds=1):
    return FreeALClassifier(
        ["negative", "positive"], "Sentiment.",
        labeler=FunctionLabeler(contextual_llm(kinds), model_id="ctx", cache=None,
                                calibration="contextual"),
        slm=tfidf_slm(), embedder=tfidf_embedder(),
        rounds=RoundPolicy(n_rounds, max_requests_per_text=cap), random_state=0)


def test_a_capped_fit_counts_contextual_calibration_and_so_does_its_estimate():
    rng = np.random.RandomState(0)
    texts = [f"{rng.choice(['good', 'bad'])} day number {i}" for i in range(40)]
    cap = RoundPolicy(max_requests_per_text=1.5).max_requests(len(texts))
    clf = contextual_fit(1.5, texts, [])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf.fit(texts)
    assert requests(clf) <= cap
    # round 0's 9 content-free requests are reserved beside its 40 annotations
    assert clf.rounds.demo_request_share(40, reserved=9) == cap - 40 - 9
    assert clf.history_[0].calls + clf.history_[0].cache_hits >= 40 + 9
    # the estimate counts them where fit makes them
    est = clf.estimate(texts, measure_speed=False)
    batch = clone_with(clf, calibration="batch").estimate(texts, measure_speed=False)
    assert est["calls_per_round"][0] == 40 + 9 and batch["calls_per_round"][0] == 40
    assert est["expected_calls"] <= cap and est["max_calls"] <= cap
    assert est["expected_requests_per_text"] == pytest.approx(est["expected_calls"] / 40,
                                                              abs=1e-3)


def clone_with(clf, **labeler_params):
    from sklearn.base import clone

    again = clone(clf)
    again.labeler.set_params(**labeler_params)
    return again


def test_a_cap_without_room_for_round_0s_calibration_is_refused_before_any_request():
    texts = [f"good day number {i}" for i in range(40)]
    kinds = []
    with pytest.raises(ValueError, match=r"max_requests_per_text=1\.1 allows 44 LLM requests "
                       r"for the 40 texts, and round 0 alone makes 49: 40 annotations and 9 "
                       r".*at least 1\.23"):
        contextual_fit(1.1, texts, kinds).fit(texts)
    assert kinds == []


def test_an_infinite_cap_is_no_cap():
    assert RoundPolicy(max_requests_per_text=float("inf")).max_requests(40) == np.inf
