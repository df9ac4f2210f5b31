"""Round 0's written demonstrations for label sets: the LLM writes texts with one or more labels.

The "LLM" is a rule function: asked to write a text whose labels are a
set, it writes a support ticket with words of those topics (every third
answer one with a word of a topic it was told to leave out, which the
zero-shot check must drop); asked for a text's labels, it answers the
keyword set (:func:`test_multilabel.keyword_sets`).
"""

import json
import re
import sys
from pathlib import Path

import numpy as np
import pytest

from skfreeal.labelers import FunctionLabeler
from skfreeal.labels import MultiLabelSpace
from skfreeal.loop import DemoPolicy, RoundPolicy

sys.path.insert(0, str(Path(__file__).parent))
from test_multilabel import NAMES, WORDS, keyword_sets, make_clf, make_tickets

TASK = "Which topics does the support ticket raise?"
_ASKED = re.compile(r'correct labels? (?:is|are) (.*?)\. It must clearly have', re.DOTALL)


def asked_sets(messages):
    """The label set a generation prompt asks for (None for an annotation prompt)."""
    found = _ASKED.search(messages[-1]["content"])
    return None if found is None else re.findall(r'"([^"]+)"', found.group(1))


def written_ticket(names, n, stray=False):
    """A ticket with two words of each topic in ``names`` (and one of another, if ``stray``)."""
    parts = [WORDS[name][(n + j) % len(WORDS[name])] for name in names for j in range(2)]
    if stray:
        parts.append(WORDS[next(m for m in NAMES if m not in names)][0])
    return f"written {n}: hello, " + ", ".join(parts)


class Writer:
    """The rule LLM; it keeps the prompts it was sent (in a list a fit's clone shares)."""

    def __init__(self):
        self.prompts = []

    def __deepcopy__(self, memo):  # clone(labeler) copies the function: share the record
        return self

    def __call__(self, messages, **params):
        self.prompts.append(messages)
        wanted = asked_sets(messages)
        if wanted is None:
            return json.dumps(keyword_sets(messages[-1]["content"]))
        n = sum(asked_sets(m) is not None for m in self.prompts)
        return written_ticket(wanted, n, stray=n % 3 == 0)

    def generation_prompts(self):
        return [m for m in self.prompts if asked_sets(m) is not None]


def labeler(writer, **params):
    return FunctionLabeler(writer, model_id="writer-v1", cache=None,
                           labels=MultiLabelSpace(NAMES), task=TASK, **params)


def test_the_llm_writes_single_labels_and_pairs_each_checked():
    writer = Writer()
    examples, _ = make_tickets(20, seed=5)
    demos = labeler(writer).generate_demos(9, examples, random_state=0)
    assert len(writer.generation_prompts()) > 9  # the stray texts were written again
    rows = np.array([row for _, row in demos])
    assert rows.dtype == np.int8 and rows.shape[1] == 3
    # a third pairs, two thirds single labels; every label in both
    sets = [tuple(np.flatnonzero(r)) for r in rows]
    assert {len(s) for s in sets} == {1, 2}
    assert sorted(len(s) for s in sets) == [1] * 6 + [2] * 3
    assert (rows.sum(axis=0) > 0).all()
    # the checked sets are the texts' own (the stray word was dropped by the zero-shot check)
    for text, row in demos:
        assert [NAMES[k] for k in np.flatnonzero(row)] == keyword_sets(text)
    asked = [asked_sets(m) for m in writer.generation_prompts()]
    assert ["billing", "login"] in asked or ["billing", "shipping"] in asked
    # a prompt names the labels the text must not carry
    one = writer.generation_prompts()[0][-1]["content"]
    others = [n for n in NAMES if n not in asked[0]]
    assert f'none of the others ({", ".join(map(json.dumps, others))})' in one


def test_without_the_check_a_stray_topic_stays_in_the_text_not_in_its_set():
    writer = Writer()
    examples, _ = make_tickets(20, seed=5)
    demos = labeler(writer, filter_demos=False).generate_demos(6, examples, random_state=0)
    assert len(demos) == 6  # no check: every text written is kept, with the set asked
    asked = [asked_sets(m) for m in writer.generation_prompts()]
    assert sorted(tuple(NAMES[k] for k in np.flatnonzero(r)) for _, r in demos) == \
        sorted(tuple(a) for a in asked)


def test_the_writing_keeps_within_max_requests():
    writer = Writer()
    examples, _ = make_tickets(20, seed=5)
    with pytest.warns(UserWarning, match="the limit of 5 requests was reached"):
        demos = labeler(writer).generate_demos(9, examples, random_state=0, max_requests=5)
    # writing and checking together; each text written keeps a request for its check
    written = len(writer.generation_prompts())
    assert len(writer.prompts) <= 5 and len(writer.prompts) == 2 * written
    assert len(demos) <= written


def writing_clf(writer, n_generated, **rounds):
    return make_clf().set_params(
        labeler=FunctionLabeler(writer, model_id="writer-v1", cache=None),
        demos=DemoPolicy(n_demos=4, n_generated=n_generated),
        rounds=RoundPolicy(n_rounds=2, **rounds))


def test_a_fit_writes_label_sets_and_shows_them_as_demonstrations():
    writer = Writer()
    X, _ = make_tickets(60, seed=1)
    clf = writing_clf(writer, 6)
    clf.fit(X)
    assert len(writer.generation_prompts()) >= 6
    # round 0's annotation prompts show written texts, each answered with its label set
    round0 = [m for m in writer.prompts if asked_sets(m) is None and len(m) > 2
              and any(d["content"].startswith("written") for d in m if d["role"] == "user")]
    assert round0, "the written demonstrations are shown in round 0"
    answers = [json.loads(d["content"]) for m in round0 for d in m if d["role"] == "assistant"]
    assert all(set(a) <= set(NAMES) and a for a in answers)
    assert any(len(a) == 2 for a in answers)


def test_none_still_writes_nothing_and_the_request_budget_holds():
    writer = Writer()
    X, _ = make_tickets(40, seed=1)
    writing_clf(writer, None).fit(X)
    assert writer.generation_prompts() == []  # n_generated=None: zero-shot round 0
    writer = Writer()
    clf = writing_clf(writer, 30, max_requests_per_text=1.7)
    share = clf.rounds.demo_request_share(40)
    assert 0 < share < 30
    with pytest.warns(UserWarning, match=f"the limit of {share} requests was reached"):
        clf.fit(X)
    written = len(writer.generation_prompts())
    assert 0 < written <= share  # writing and checking share round 0's part of the budget
    assert len(writer.prompts) <= clf.rounds.max_requests(40)
