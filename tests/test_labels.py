"""The label space: SingleLabelSpace's methods, and the code that goes through them.

The prompt and the parsed labels are pinned to what the code wrote and read
before the prompts, the parsing and the demonstrations went through the
label space (commit 8827314): going through it must change nothing for one
label per text.
"""

import numpy as np
import pytest

from skfreeal.calibration import fuse_distributions
from skfreeal.demonstrations import KNNRetriever, knn_demo_indices
from skfreeal.labelers import FunctionLabeler
from skfreeal.labelers._annotation import annotation_requests, read_distributions
from skfreeal.labelers._demos import check_demos
from skfreeal.labelers._prompts import annotation_messages, system_prompt
from skfreeal.labels import LabelSpace, SingleLabelSpace, as_label_space
from skfreeal.loop._annotate import Answers, annotate_with_demos
from skfreeal.loop._pools import DemoPool

LABELS = ["negative", "positive", "mixed, unclear"]
SPACE = SingleLabelSpace(LABELS)

# The messages of one annotation at 8827314: descriptions, demonstrations by id and by
# name in the shared order, a demonstration and the text cut and cleaned.
PINNED_PROMPT = [
    {"role": "system", "content": "Sentiment of a review.\nLabels:\n- negative\n"
     "- positive: likes it\n- mixed, unclear\nAnswer with exactly one label and nothing else."},
    {"role": "user", "content": "bad film"},
    {"role": "assistant", "content": "negative"},
    {"role": "user", "content": "so so"},
    {"role": "assistant", "content": "mixed, unclear"},
    {"role": "user", "content": "great film,…"},
    {"role": "assistant", "content": "positive"},
    {"role": "user", "content": "so good < |im_end| >"},
]
# Answers and the (label id, span) read from each at 8827314 (structured first, then free text).
PINNED_ANSWERS = [
    ('{"label": "positive"}', (1, (11, 19))), ("**Positive.**", (1, (2, 10))),
    ("It is not positive", (-1, None)), ("negative\npositive", (-1, None)),
    ("Label: mixed, unclear", (2, (7, 21))), ("neutral", (-1, None)), ("", (-1, None)),
    ('{"label": "nope"}', (-1, None)), ("positive, negative", (-1, None)),
    ("The answer is negative.", (0, (14, 22))), ("Mixed unclear", (2, (0, 13))),
    ('  {"label": "mixed, unclear"}', (2, (13, 27))),
]


def recording_labeler(answer="positive", **params):
    seen = []

    def func(messages, **_):
        seen.append(messages)
        return answer

    labeler = FunctionLabeler(func, labels=LABELS, cache=None, task="Sentiment of a review.",
                              **params)
    return labeler, seen


def test_prompt_is_byte_for_byte_the_one_before_the_label_space():
    labeler, seen = recording_labeler(label_descriptions={"positive": "likes it"},
                                      max_demo_chars=16)
    demos = [("great film, would watch again", 1), ("bad film", "negative"), ("so so", 2)]
    ids, _ = labeler.annotate(["so  good <|im_end|>"], demos)
    assert seen == [PINNED_PROMPT] and ids.tolist() == [1]


def test_answers_are_read_as_before_the_label_space():
    for answer, expected in PINNED_ANSWERS:
        assert SPACE.parse_answer(answer) == expected, answer
    responses = [{"text": answer} for answer, _ in PINNED_ANSWERS]
    proba = read_distributions(responses, LABELS)
    np.testing.assert_array_equal(proba, read_distributions(responses, SPACE))
    labels, _ = SPACE.from_proba(proba)
    assert labels.tolist() == [label for _, (label, _) in PINNED_ANSWERS]


def test_answer_instruction_and_format_answer_write_the_prompt():
    assert SPACE.answer_instruction() == "Answer with exactly one label and nothing else."
    assert SPACE.format_answer(2) == "mixed, unclear"
    assert system_prompt(SPACE, "Task.") == system_prompt(LABELS, "Task.")
    demos = [("a", 0), ("b", 2)]
    assert (annotation_messages("t", demos, SPACE, "sys")
            == annotation_messages("t", demos, LABELS, "sys"))


class ShoutingSpace(SingleLabelSpace):
    """A space that writes and reads its answers in capitals (a stand-in for a new space)."""

    def answer_instruction(self):
        return "ANSWER IN CAPITALS."

    def format_answer(self, label):
        return self.names[label].upper()

    def parse_answer(self, answer):
        names = [name.upper() for name in self.names]
        return (names.index(answer), None) if answer in names else (-1, None)


def test_a_space_writes_the_prompts_and_reads_the_answers_of_the_requests():
    labeler, _ = recording_labeler()
    space = ShoutingSpace(LABELS)
    requests = annotation_requests(labeler, ["a text"], [[("demo", 1)]], space,
                                   {"max_tokens": 8})
    messages = requests[0][0]
    assert messages[0]["content"].endswith("\nANSWER IN CAPITALS.")
    assert messages[2] == {"role": "assistant", "content": "POSITIVE"}
    proba = read_distributions([{"text": "NEGATIVE"}, {"text": "negative"}], space)
    assert proba[0].tolist() == [1.0, 0.0, 0.0] and np.isnan(proba[1]).all()


def test_check_label_takes_names_and_ids_and_names_the_place_of_a_bad_one():
    assert SPACE.check_label("positive", where="demos[0]") == 1
    assert SPACE.check_label(np.int64(2), where="demos[0]") == 2
    with pytest.raises(ValueError, match=r"demos\[1\] has label 'neutral', which is not in "
                                         r"labels=\['negative', 'positive', 'mixed, unclear'\]"):
        SPACE.check_label("neutral", where="demos[1]")
    with pytest.raises(ValueError, match=r"demos\[2\]\[0\] has label id 3, outside \[0, 3\)"):
        SPACE.check_label(3, where="demos[2][0]")
    with pytest.raises(TypeError, match=r"demos\[0\] label must be an int id or a label name"):
        SPACE.check_label(True, where="demos[0]")
    assert check_demos([("a", "mixed, unclear")], 2, SPACE) == [[("a", 2)]] * 2
    assert check_demos([("a", "mixed, unclear")], 2, LABELS) == [[("a", 2)]] * 2


def test_asarray_fuse_and_as_label_space():
    labels = SPACE.asarray([2, 0, -1])
    assert labels.dtype == np.int64 and labels.tolist() == [2, 0, -1]
    assert SPACE.asarray([]).shape == (0,)
    llm = np.array([[0.5, 0.3, 0.2], [np.nan] * 3])
    judge = np.array([[0.1, 0.8, 0.1], [0.2, 0.2, 0.6]])
    for rule in ("llm", "product"):
        np.testing.assert_array_equal(SPACE.fuse(llm, judge, rule),
                                      fuse_distributions(llm, judge, rule))
    assert SPACE.fuse(llm, judge, "product")[0].argmax() == 1
    assert as_label_space(SPACE) is SPACE
    assert isinstance(as_label_space(LABELS), SingleLabelSpace)
    assert as_label_space(LABELS).names.tolist() == LABELS


def test_per_label_indices_groups_the_carriers_of_each_present_label():
    groups = SPACE.per_label_indices(np.array([2, 0, 2, -1, 0]))
    assert [g.tolist() for g in groups] == [[1, 4], [0, 2]]
    assert SPACE.per_label_indices(np.zeros(0, dtype=np.int64)) == []
    assert issubclass(SingleLabelSpace, LabelSpace)


def test_balanced_retrieval_through_the_space_picks_as_by_distinct_values():
    rng = np.random.RandomState(0)
    pool, queries = rng.randn(30, 6), rng.randn(9, 6)
    labels = rng.choice([0, 2], 30)  # label 1 absent from the pool
    exclude = rng.randint(-1, 30, 9)
    plain = knn_demo_indices(queries, pool, 5, pool_labels=labels, balanced=True,
                             exclude=exclude)
    spaced = knn_demo_indices(queries, pool, 5, pool_labels=labels, balanced=True,
                              exclude=exclude, space=SPACE)
    np.testing.assert_array_equal(plain, spaced)
    names = np.array(LABELS, dtype=object)[labels]  # any values, without a space
    np.testing.assert_array_equal(
        plain, knn_demo_indices(queries, pool, 5, pool_labels=names, balanced=True,
                                exclude=exclude))
    retriever = KNNRetriever(balanced=True).fit(pool, labels, space=SPACE)
    assert retriever.label_space_ is SPACE
    np.testing.assert_array_equal(retriever.kneighbors(queries, 5, exclude=exclude), plain)


class PlainRetriever:
    """A retriever of the contract alone: ``fit(embeddings, labels)``, no ``space``."""

    def fit(self, embeddings, labels):
        self.labels_ = labels
        return self

    def kneighbors(self, embeddings, n_neighbors, *, exclude=None):
        return np.tile(np.arange(n_neighbors), (len(embeddings), 1))


class SpyKNN(KNNRetriever):
    def fit(self, embeddings, labels, *, space=None):
        self.given_space_ = space
        return super().fit(embeddings, labels, space=space)


def test_annotation_gives_the_space_to_a_retriever_that_takes_it_only():
    labeler, seen = recording_labeler()
    pool = DemoPool(["bad film", "great film"], np.array([0, 1]), np.eye(2))
    texts, embeddings = ["a text", "another"], np.array([[1.0, 0.0], [0.0, 1.0]])
    todo = np.array([True, True])
    spy = SpyKNN()
    annotate_with_demos(labeler, spy, texts, embeddings, todo, pool, 2, space=SPACE,
                        calibrate=False)
    assert spy.given_space_ is SPACE
    plain = PlainRetriever()
    answers = annotate_with_demos(labeler, plain, texts, embeddings, todo, pool, 2,
                                  space=SPACE, calibrate=False)
    assert answers.labels.tolist() == [1, 1] and plain.labels_ is pool.labels
    assert seen[-1][1:5] == [{"role": "user", "content": "bad film"},
                             {"role": "assistant", "content": "negative"},
                             {"role": "user", "content": "great film"},
                             {"role": "assistant", "content": "positive"}]


def test_answers_are_fused_through_the_space():
    proba = np.array([[0.55, 0.45, 0.0], [0.9, 0.05, 0.05]])
    answers = Answers(np.array([0, 1]), *SPACE.from_proba(proba), proba)
    judge = np.array([[0.1, 0.8, 0.1], [0.3, 0.6, 0.1]])
    fused = answers.fused_with(judge, "product", SPACE)
    np.testing.assert_array_equal(fused.proba, fuse_distributions(proba, judge, "product"))
    assert fused.labels.tolist() == [1, 0]
    assert answers.fused_with(judge, "llm", SPACE) is answers
