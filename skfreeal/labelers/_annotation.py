"""Annotation requests and their answers read as label distributions.

The labeler asks, for each text, one chat request (system message with the
task and labels, the demonstrations as user/assistant turns, the text last)
and reads each answer into a probability per label:

- an answer that carries label scores (the local model scores every label's
  token sequence) gives their softmax;
- a JSON answer ``{"label": ...}`` (structured output) or a free-text one is
  read into one label, and the ``top_logprobs`` at that label's first token
  spread the probability over the labels (one-hot without logprobs);
- an answer that names no label gives no distribution (a row of NaN).

Calibration then divides the LLM's tilt towards some labels out of the rows
(:mod:`skfreeal.calibration`).
"""

import json

import numpy as np

from ..calibration import CONTENT_FREE_INPUTS, batch_prior
from ._distributions import distribution_from_logprobs, distribution_from_scores
from ._parsing import parse_label
from ._prompts import annotation_messages, order_demos, system_prompt

__all__ = [
    "annotation_requests",
    "content_free_requests",
    "label_schema",
    "parse_structured_label",
    "read_distributions",
]


def label_schema(labels):
    """The JSON schema of an answer that can only be one of ``labels``.

    Examples
    --------
    >>> label_schema(["neg", "pos"])["properties"]["label"]["enum"]
    ['neg', 'pos']
    """
    return {
        "type": "object",
        "properties": {"label": {"type": "string", "enum": list(labels)}},
        "required": ["label"],
        "additionalProperties": False,
    }


def parse_structured_label(answer, labels):
    """Read a structured answer ``{"label": "<name>"}``: ``(label id, span)`` or ``(-1, None)``.

    Examples
    --------
    >>> parse_structured_label('{"label": "pos"}', ["neg", "pos"])
    (1, (11, 14))
    >>> parse_structured_label("pos", ["neg", "pos"])
    (-1, None)
    """
    text = (answer or "").strip()
    if not text.startswith("{"):
        return -1, None
    try:
        value = json.loads(text)
    except ValueError:
        return -1, None
    name = value.get("label") if isinstance(value, dict) else None
    if not isinstance(name, str) or name not in labels:
        return -1, None
    start = answer.find(json.dumps(name, ensure_ascii=False)[1:-1], answer.find(":"))
    return labels.index(name), ((start, start + len(name)) if start >= 0 else None)


def _prompt(labeler, labels):
    return system_prompt(labels, labeler.task, labeler.label_descriptions)


def annotation_requests(labeler, texts, per_text_demos, labels, params):
    """One ``(messages, params)`` request per text, demonstrations in prompt order."""
    system = _prompt(labeler, labels)
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
    picks = sorted({0, n // 2, n - 1})[:n_contexts] if n else [0]
    contexts = [per_text_demos[i] if n else [] for i in picks]
    return annotation_requests(
        labeler, [c for c in CONTENT_FREE_INPUTS for _ in contexts],
        [d for _ in CONTENT_FREE_INPUTS for d in contexts], labels, params,
    )


def _distribution(response, labels):
    scores = response.get("label_logprobs")
    if scores is not None:
        return distribution_from_scores(scores)
    text = response.get("text") or ""
    label_id, span = parse_structured_label(text, labels)
    if label_id < 0:
        label_id, span = parse_label(text, labels)
    if label_id >= 0 and span is None:  # named, but not where the tokens can tell (escaped)
        return np.eye(len(labels))[label_id]
    return distribution_from_logprobs(response.get("logprobs"), span, text, labels, label_id)


def read_distributions(responses, labels):
    """The label distribution of each answer, shape ``(n_answers, n_labels)``; NaN rows abstain."""
    out = np.full((len(responses), len(labels)), np.nan)
    for i, response in enumerate(responses):
        if response is not None:  # None: failed for good, left unanswered (on_failure)
            out[i] = _distribution(response, labels)
    return out


def mean_prior(responses, labels):
    """The mean distribution of content-free answers (None when none names a label).

    Shrunk towards uniform like any batch (:func:`~skfreeal.calibration.batch_prior`,
    5 pseudo-answers per label): the nine content-free answers of a call
    weigh 9 against ``5 * n_labels``, so the tilt divided out is a damped
    one (Zhao et al. divide by the plain mean of three).
    """
    return batch_prior(read_distributions(responses, labels))
