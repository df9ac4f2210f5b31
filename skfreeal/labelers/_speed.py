"""How fast a local LLM answers on this machine, measured on a few real requests.

For a model run in-process the real cost of labelling is time, and machines
differ several times over in speed per core (and with what else runs), so a
time quoted from another machine is wrong here. :func:`measure_speed` sends a
few requests of each kind a FreeAL fit sends (zero-shot labelling,
labelling with demonstrations, writing a demonstration), built from the
user's own texts by the labeler's own prompt builders, straight to the model
(past the cache, so that they are timed; they are not charged to ``usage_``)
and times them.
"""

import time

import numpy as np

from .._progress import progress_bar
from .._validation import check_texts
from ._generation import _EXAMPLES_PER_CALL, _texts_asked
from ._prompts import annotation_messages, generation_messages, order_demos, system_prompt
from ._request_cost import demo_label

__all__ = ["measure_speed"]


def _timed(backend, messages, params, bar):
    start = time.perf_counter()
    response = backend.complete(messages, params)
    seconds = time.perf_counter() - start
    if bar is not None:
        bar.update(1)
    return seconds, response


def _timed_generation(labeler, backend, label, sample, bar):
    """One timed demonstration-writing request for ``label``, shown ``sample``'s first texts."""
    asked = _texts_asked(1)
    mean_chars = np.mean([min(len(t), labeler.max_demo_chars) for t in sample])
    messages = generation_messages(label, sample[:_EXAMPLES_PER_CALL], asked, task=labeler.task,
                                   max_example_chars=labeler.max_demo_chars)
    return _timed(backend, messages, {"temperature": float(labeler.generation_temperature),
                                      "max_tokens": min(1024, asked * (int(mean_chars / 3) + 12)),
                                      "seed": 0}, bar)


def measure_speed(labeler, texts, *, n_demos, n_calls=3):
    """Seconds per request of each kind, and tokens per second, on this machine.

    One untimed request first loads the model. Then ``n_calls`` zero-shot
    labelling requests, ``2 * n_calls`` with ``n_demos`` demonstrations (other
    texts of ``texts`` with made-up labels: the prompt's length is what
    counts) and one demonstration-writing request are timed. Consecutive
    prompts share their system prompt, and the labelling requests with
    demonstrations share them too, as in a real run: the labeler sends a
    pass's requests ordered by their messages, so that neighbours, which
    mostly retrieve the same demonstrations from FreeAL's pool, share a long
    prefix the model does not evaluate again. The first of them evaluates
    the demonstrations, the others reuse them: their mean leans to the slow
    side of a real pass, where a prefix serves more neighbours. (Measured on
    tweets with 4 demonstrations: 1.0 s a request, against 0.7 s in the
    real pass; with distinct demonstrations per request it was 2.8 s.)
    Labelling requests are built as the labeler's own (``_annotation_setup``),
    so a label set's per-label judgements are timed too (0.53 against 0.26
    CPU s a request at 5 labels, 1.08 at 20: ``label_sets_timing.json``).

    Parameters
    ----------
    labeler : BaseLabeler
        A labeler whose calls cost only time (a :class:`LocalLabeler`); its
        ``labels`` and ``task`` must be set.
    texts : sequence of str
        Texts like those to label.
    n_demos : int
        Demonstrations per labelling prompt.
    n_calls : int, default=3
        Timed requests of each labelling kind.

    Returns
    -------
    speed : dict
        ``zero_shot_seconds``, ``annotation_seconds`` and
        ``generation_seconds`` (mean seconds per request),
        ``prompt_tokens_per_second`` (prompt tokens evaluated, the reused
        prefix excluded) and ``generated_tokens_per_second``.
    """
    labels = labeler._check_labels()
    texts = check_texts(texts, name="texts")
    rng = np.random.RandomState(0)
    pick = rng.choice(len(texts), min(len(texts), 3 * n_calls + 1 + n_demos), replace=False)
    sample = [texts[i] for i in pick]
    # requests of the real kind: for a label set, the local model's prompt plus one
    # continuation a label, so that the time grows with the labels as it does in a fit
    space, params, prompt_space = labeler._annotation_setup()
    backend = labeler.get_backend()
    system = system_prompt(prompt_space, labeler.task, labeler.label_descriptions)

    shared = [(sample[-1 - j], demo_label(space, j)) for j in range(n_demos)]

    def labelling(i, k):
        demos = shared[:k]
        messages = annotation_messages(
            sample[i % len(sample)], order_demos(demos), prompt_space, system,
            max_text_chars=labeler.max_text_chars, max_demo_chars=labeler.max_demo_chars,
        )
        return backend.fit_to_context(messages, params["max_tokens"])

    bar = progress_bar(3 * n_calls + 2, desc="timing the LLM", unit="request",
                       verbose=labeler.verbose)
    _timed(backend, labelling(0, 0), params, bar)  # loads the model
    zero = [_timed(backend, labelling(i, 0), params, bar) for i in range(1, n_calls + 1)]
    with_demos = [_timed(backend, labelling(n_calls + i, n_demos), params, bar)
                  for i in range(1, 2 * n_calls + 1)]
    generation = [_timed_generation(labeler, backend, labels[0], sample, bar)]
    if bar is not None:
        bar.close()
    labelled = zero + with_demos
    evaluated = sum(r["prompt_tokens"] - r.get("cached_tokens", 0) for _, r in labelled)
    generated = sum(r["completion_tokens"] for _, r in generation)
    return {
        "zero_shot_seconds": float(np.mean([s for s, _ in zero])),
        "annotation_seconds": float(np.mean([s for s, _ in (with_demos if n_demos else zero)])),
        "generation_seconds": float(np.mean([s for s, _ in generation])),
        "prompt_tokens_per_second": evaluated / max(sum(s for s, _ in labelled), 1e-9),
        "generated_tokens_per_second": generated / max(sum(s for s, _ in generation), 1e-9),
    }

