"""The local model's label sets: each label judged on its own after one shared prompt.

The pure functions need no model; the rest uses the tiny SmolLM2-135M (its
judgements are weak: these tests check the scoring, not accuracy).
"""

import importlib.util
import warnings

import numpy as np
import pytest
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.multiclass import OneVsRestClassifier
from sklearn.pipeline import make_pipeline

from skfreeal import MultiLabelFreeALClassifier
from skfreeal.labelers import LocalLabeler
from skfreeal.labelers._label_sets import (
    JudgedLabelSets,
    judgement_reads,
    label_set_probabilities,
)
from skfreeal.labelers._label_trie import branch_batches
from skfreeal.labels import MultiLabelSpace
from skfreeal.loop import DemoPolicy, RoundPolicy

NAMES = ["billing", "login", "shipping", "refund", "account_deletion"]
TASK = "Which topics does the support ticket raise?"
TEXTS = ["I was charged twice and now I cannot log in.",
         "My parcel never arrived, I want my money back.",
         "Please delete my account and all my data."]

needs_llama = pytest.mark.skipif(
    importlib.util.find_spec("llama_cpp") is None,
    reason="llama-cpp-python is not installed (pip install 'skfreeal[smollm]')")


def test_reads_every_prefix_and_the_truth_words_after_each_whole_continuation():
    reads = judgement_reads([(1, 2, 3), (1, 4), (1, 2, 5)], ((7,), (8, 9)))
    assert reads == {(1,): (), (1, 2): (), (1, 4): (7, 8, 9), (1, 2, 3): (7, 8, 9),
                     (1, 2, 5): (7, 8, 9)}
    # laid out as one batch: one sequence a label, the shared opening on all of them
    (group,) = branch_batches(reads, max_seqs=8, max_tokens=64)
    assert dict(group)[(1,)] == (1, 2, 3)


def test_probabilities_are_true_against_false_per_label_and_nan_without_either():
    table = {(1,): {7: np.log(0.3), 8: np.log(0.1), 9: np.log(0.2)},
             (2,): {7: np.log(0.9), 8: np.log(0.05), 9: np.log(0.05)},
             (3,): {7: -np.inf, 8: -np.inf, 9: -np.inf}}
    proba = label_set_probabilities(table, [(1,), (2,), (3,)], ((7,), (8, 9)))
    np.testing.assert_allclose(proba[:2], [0.5, 0.9])
    assert np.isnan(proba[2])


@pytest.fixture(scope="module")
def labeler():
    labeler = LocalLabeler("smollm2-135m", n_ctx=512, n_threads=1, task=TASK,
                           labels=MultiLabelSpace(NAMES), cache=None)
    labeler.annotate(["warm up"])  # loads the model once for the module
    return labeler


def _one_at_a_time(runner, messages, labels):
    """Each label's continuation evaluated alone after the prompt, token by token."""
    sequences, truth_ids, _ = runner._judgement_sequences(labels)
    runner._eval_prompt(messages)
    llm = runner.llm
    base, out = llm.n_tokens, []
    for seq in sequences:
        llm.n_tokens = base
        for token in seq:
            llm.eval([token])
        lp = runner._logprobs()
        table = {seq: {t: lp[t] for ids in truth_ids for t in ids}}
        out.append(label_set_probabilities(table, [seq], truth_ids)[0])
    llm.n_tokens = base
    return np.array(out)


@pytest.mark.slow
@needs_llama
def test_each_label_gets_its_own_probability_equal_to_scoring_it_alone(labeler):
    from skfreeal.labelers._prompts import annotation_messages, system_prompt

    space = JudgedLabelSets.of(labeler.labels)
    runner = labeler.get_backend().runner()
    system = system_prompt(space, TASK)
    sums = []
    for text in TEXTS:
        messages = annotation_messages(text, [], space, system)
        reference = _one_at_a_time(runner, messages, NAMES)
        for max_seqs in (None, 2):  # one batch; several sharing the opening
            runner.max_branch_seqs = max_seqs
            try:
                answer = runner.score_label_set(messages, NAMES)
            finally:
                runner.max_branch_seqs = None
            proba = np.array(answer["label_probs"])
            assert proba.shape == (len(NAMES),) and ((proba >= 0) & (proba <= 1)).all()
            # up to llama.cpp's batch-shape rounding (as for the single-label trie)
            np.testing.assert_allclose(proba, reference, atol=0.06)
        sums.append(proba.sum())
    # judged one by one: no row is a distribution over the labels
    assert not np.allclose(sums, 1.0, atol=0.05)


@pytest.mark.slow
@needs_llama
def test_annotate_proba_evaluates_each_prompt_once(labeler, monkeypatch):
    runner = labeler.get_backend().runner()
    calls = []
    real_eval = runner.llm.eval
    monkeypatch.setattr(runner.llm, "eval", lambda tokens: calls.append(len(tokens)) or
                        real_eval(tokens))
    before = labeler.usage_.copy()
    proba = labeler.annotate_proba(TEXTS)
    used = labeler.usage_ - before
    assert proba.shape == (len(TEXTS), len(NAMES)) and np.isfinite(proba).all()
    assert ((proba >= 0) & (proba <= 1)).all()
    # one prompt evaluation a text; the continuations went through the batched decode
    assert len(calls) == len(TEXTS) and used.calls == len(TEXTS)
    labels, confidence = labeler.annotate(TEXTS)
    assert labels.shape == (len(TEXTS), len(NAMES)) and (labels.sum(axis=1) >= 1).all()
    expected_labels, expected_confidence = MultiLabelSpace(NAMES).from_proba(proba)
    np.testing.assert_array_equal(labels, expected_labels)
    np.testing.assert_allclose(confidence, expected_confidence)


def test_judged_prompt_asks_for_every_label_and_demos_show_their_truth_values():
    space = JudgedLabelSets.of(MultiLabelSpace(NAMES[:3], threshold=0.4, min_labels=0))
    assert space.threshold == 0.4 and space.min_labels == 0
    assert "JSON object" in space.answer_instruction()
    assert "at least one" not in space.answer_instruction()
    answer = space.format_answer(space.encode([["login"]], 1)[0])
    assert answer == '{"billing": false, "login": true, "shipping": false}'
    # the answer reads back as the same set (the path of a backend without label_probs)
    assert space.parse_answer(answer)[0].tolist() == [0, 1, 0]


@pytest.mark.slow
@needs_llama
def test_the_local_labeler_prompts_with_the_judged_form(labeler, monkeypatch):
    runner = labeler.get_backend().runner()
    seen, real = [], runner.score_label_set
    monkeypatch.setattr(runner, "score_label_set",
                        lambda messages, labels: seen.append(messages) or real(messages, labels))
    labeler.annotate_proba(TEXTS[:1], [(TEXTS[2], ["account_deletion"])])
    (messages,) = seen
    assert "true if it applies" in messages[0]["content"]
    assert messages[2] == {"role": "assistant", "content": JudgedLabelSets(NAMES).format_answer(
        MultiLabelSpace(NAMES).encode([["account_deletion"]], 1)[0])}


@pytest.mark.slow
@needs_llama
def test_single_label_requests_are_unchanged_by_the_label_set_path(labeler):
    single = LocalLabeler("smollm2-135m", n_ctx=512, n_threads=1, task=TASK, labels=NAMES,
                          cache=None).share_backend(labeler)
    params = single._annotation_params(NAMES)
    assert "score_labels" in params and "score_label_set" not in params
    proba = single.annotate_proba(TEXTS[:1])
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)


@pytest.mark.slow
@needs_llama
# the tiny model may give one label to every text: the plain one-vs-rest student
# then says so (a scikit-learn warning about the student, not the labeler)
@pytest.mark.filterwarnings("ignore:Label .* is present in all training examples")
def test_multilabel_freeal_fits_end_to_end_with_the_local_labeler(labeler):
    texts = TEXTS + ["I forgot my password again.", "The invoice shows a wrong amount.",
                     "Where is my package? Tracking has not moved in a week.",
                     "Refund me for the broken item please.", "Cannot sign in with my email."]
    clf = MultiLabelFreeALClassifier(
        NAMES, TASK,
        labeler=LocalLabeler("smollm2-135m", n_ctx=512, n_threads=1, cache=None),
        slm=make_pipeline(TfidfVectorizer(), OneVsRestClassifier(LogisticRegression())),
        embedder=make_pipeline(TfidfVectorizer(), TruncatedSVD(n_components=4, random_state=0)),
        demos=DemoPolicy(n_demos=2), rounds=RoundPolicy(n_rounds=1), random_state=0)
    clf.fit(texts)
    assert clf.label_ids_.shape == (len(texts), len(NAMES))
    assert clf.label_proba_.shape == (len(texts), len(NAMES))
    pred = clf.predict(["I was charged twice"])
    assert pred.shape == (1, len(NAMES)) and pred.sum() >= 1


@pytest.mark.slow
@needs_llama
def test_the_local_model_writes_a_text_for_a_pair_of_labels_and_checks_it(labeler, monkeypatch):
    sent = []
    run = type(labeler)._run
    monkeypatch.setattr(type(labeler), "_run",
                        lambda self, requests: sent.extend(requests) or run(self, requests))
    # 3 demonstrations: 2 single labels and 1 pair written, each text written then checked
    # (6 requests: every write keeps a request for its check)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # the 135M model may write too few
        demos = labeler.generate_demos(3, TEXTS, random_state=0, max_requests=6)
    writes = [m for m, _ in sent if "It must clearly have" in m[-1]["content"]]
    assert len(writes) == 3 and sum("labels are" in m[-1]["content"] for m in writes) == 1
    checks = [m for m, _ in sent if m not in writes]
    assert 1 <= len(checks) <= len(writes) and len(sent) <= 6
    assert all("JSON object" in m[0]["content"] for m in checks)  # each label judged
    assert len(demos) <= len(checks) and all(row.shape == (len(NAMES),) for _, row in demos)
