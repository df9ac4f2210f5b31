"""Annotation requests and their answers read as label distributions.

The labeler asks, for each text, one chat request (system message with the
task and labels, the demonstrations as user/assistant turns, the text last)
and reads each answer into a probability per label:

- an answer that carries label scores (the local model scores every label's
  token sequence) gives their softmax;
- an answer that carries a probability per label (the local model judging
  each label of a set on its own) gives them as they are;
- a JSON answer ``{"label": ...}`` (structured output) or a free-text one is
  read into one label, and the ``top_logprobs`` at that label's first token
  spread the probability over the labels (one-hot without logprobs);
- an answer that names no label gives no distribution (a row of NaN).

Calibration then divides the LLM's tilt towards some labels out of the rows
(:mod:`skfreeal.calibration`; for label sets, each label's tilt relative to
the others, and only where each label is judged on its own).
"""

import numpy as np

from ..calibration import CONTENT_FREE_INPUTS, batch_prior, label_set_prior
from ..labels import as_label_space
from ._distributions import distribution_from_logprobs, distribution_from_scores
from ._prompts import annotation_messages, order_demos, system_prompt

__all__ = [
    "annotation_requests",
    "content_free_requests",
    "label_schema",
    "n_content_free_requests",
    "read_distributions",
]


def label_schema(labels):
    """The JSON schema of an answer that can only be one of ``labels`` (or a set of them).

    ``labels`` is the label names (one per answer) or a label space: a
    :class:`~skfreeal.labels.MultiLabelSpace` asks for ``{"labels": [...]}``,
    distinct names, at least ``min_labels`` of them.

    Examples
    --------
    >>> label_schema(["neg", "pos"])["properties"]["label"]["enum"]
    ['neg', 'pos']
    >>> from skfreeal.labels import MultiLabelSpace
    >>> label_schema(MultiLabelSpace(["billing", "login"]))["properties"]["labels"]["minItems"]
    1
    """
    space = as_label_space(labels)
    if not space.exclusive:
        names = {"type": "string", "enum": space.names.tolist()}
        return {
            "type": "object",
            "properties": {"labels": {"type": "array", "items": names,
                                      "minItems": space.min_labels, "uniqueItems": True}},
            "required": ["labels"],
            "additionalProperties": False,
        }
    return {
        "type": "object",
        "properties": {"label": {"type": "string", "enum": space.names.tolist()}},
        "required": ["label"],
        "additionalProperties": False,
    }


def annotation_requests(labeler, texts, per_text_demos, labels, params):
    """One ``(messages, params)`` request per text, demonstrations in prompt order.

    ``labels`` is the label names or the :class:`~skfreeal.labels.LabelSpace`
    that writes the prompt's answers.
    """
    labels = as_label_space(labels)
    system = system_prompt(labels, labeler.task, labeler.label_descriptions)
    max_new = params["max_tokens"]
    requests = []
    for text, demos in zip(texts, per_text_demos):
        messages = annotation_messages(
            text,
            order_demos(demos) if labeler.demo_order == "shared" else demos,
            labels,
            system,
            max_text_chars=labeler.max_text_chars,
            max_demo_chars=labeler.max_demo_chars,
        )
        requests.append((labeler.get_backend().fit_to_context(messages, max_new), params))
    return requests


def content_free_requests(labeler, per_text_demos, labels, params, n_contexts=3):
    """Requests for content-free inputs in up to ``n_contexts`` of the texts' prompt contexts.

    The contexts are the demonstration sets of texts spread over the batch
    (first, middle, last): the tilt an LLM shows depends on the
    demonstrations it sees.
    """
    n = len(per_text_demos)
    contexts = [per_text_demos[i] if n else [] for i in _context_picks(n, n_contexts)]
    return annotation_requests(
        labeler, [c for c in CONTENT_FREE_INPUTS for _ in contexts],
        [d for _ in CONTENT_FREE_INPUTS for d in contexts], labels, params,
    )


def n_content_free_requests(n_texts, n_contexts=3):
    """Requests :func:`content_free_requests` makes for a call on ``n_texts`` texts.

    Each counts in the labeler's ``usage_`` (as a call, or a cache hit when
    two contexts are the same, as zero-shot ones are).

    Examples
    --------
    >>> n_content_free_requests(40), n_content_free_requests(2)
    (9, 6)
    """
    return len(CONTENT_FREE_INPUTS) * len(_context_picks(n_texts, n_contexts))


def _context_picks(n, n_contexts):
    """The texts whose prompt contexts the content-free inputs are shown in."""
    return sorted({0, n // 2, n - 1})[:n_contexts] if n else [0]


def _distribution(response, space):
    probs = response.get("label_probs")  # a label set, each label judged on its own
    if probs is not None:
        return np.asarray(probs, dtype=np.float64)
    scores = response.get("label_logprobs")
    if scores is not None:
        return distribution_from_scores(scores)
    text = response.get("text") or ""
    label, span = space.parse_answer(text)
    known = bool(space.is_known(space.asarray([label]))[0])
    if not known:
        return np.full(space.n_labels, np.nan)
    if span is None:  # named, but not where the tokens can tell (escaped; a label set)
        return space.one_hot(space.asarray([label]))[0]
    return distribution_from_logprobs(response.get("logprobs"), span, text,
                                      space.names.tolist(), label)


def read_distributions(responses, labels):
    """The label distribution of each answer, shape ``(n_answers, n_labels)``; NaN rows abstain.

    ``labels`` is the label names or the :class:`~skfreeal.labels.LabelSpace`
    that reads the answers.
    """
    space = as_label_space(labels)
    out = np.full((len(responses), space.n_labels), np.nan)
    for i, response in enumerate(responses):
        if response is not None:  # None: failed for good, left unanswered (on_failure)
            out[i] = _distribution(response, space)
    return out


def mean_prior(responses, labels):
    """The mean distribution of content-free answers (None when none names a label).

    Shrunk towards uniform like any batch (:func:`~skfreeal.calibration.batch_prior`,
    5 pseudo-answers per label): the nine content-free answers of a call
    weigh 9 against ``5 * n_labels``, so the tilt divided out is a damped
    one (Zhao et al. divide by the plain mean of three). For a set of
    labels judged one at a time, each label's mean P(yes), shrunk towards
    the mean over the labels (:func:`~skfreeal.calibration.label_set_prior`,
    9 answers against 10).
    """
    space = as_label_space(labels)
    proba = read_distributions(responses, space)
    return batch_prior(proba) if space.exclusive else label_set_prior(proba)
