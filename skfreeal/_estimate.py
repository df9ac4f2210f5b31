"""Dry-run estimate of what ``FreeALClassifier.fit`` will cost, with no LLM call."""

import math

import numpy as np

__all__ = ["estimate_fit_cost", "expected_annotations"]

# Rough characters per token of English text for BPE tokenizers (used only
# when the labeler cannot count tokens itself).
CHARS_PER_TOKEN = 4.0


def expected_annotations(n_texts, *, n_rounds, label_fraction, max_annotations, noisy_fraction):
    """Expected LLM annotations per round, following the loop's rules.

    Round 0 annotates ``label_fraction`` of the texts; each later round
    re-annotates the noisy fraction of annotated texts still under
    ``max_annotations``, plus (when ``label_fraction < 1``) a new subset.

    Returns
    -------
    per_round : list of float
    """
    counts = np.zeros(max_annotations + 1)  # texts annotated k times
    counts[0] = n_texts
    per_round = []
    for round_ in range(n_rounds):
        todo = np.zeros_like(counts)
        if round_ == 0 or label_fraction < 1:
            new = min(counts[0], math.ceil(label_fraction * n_texts))
            todo[0] = new
        if round_ > 0:
            todo[1:max_annotations] += noisy_fraction * counts[1:max_annotations]
        per_round.append(float(todo.sum()))
        counts[1:] += todo[:-1]
        counts[:-1] -= todo[:-1]
    return per_round


def estimate_fit_cost(texts, labeler, *, n_rounds, n_demos, n_generated_demos,
                      label_fraction, max_annotations, noisy_fraction):
    """Expected calls, tokens and cost of a FreeAL fit on ``texts``.

    Parameters
    ----------
    texts : list of str
    labeler : labeler
        For skfreeal's labelers the prompts are built with the labeler's own
        prompt builders and its generation batching is followed; for others
        characters / 4 stand in for tokens and each generated demonstration
        counts as one call.
    n_rounds, n_demos, n_generated_demos, label_fraction, max_annotations : int or float
        The FreeALClassifier settings.
    noisy_fraction : float
        Assumed fraction of annotated texts found noisy in each round.

    Returns
    -------
    estimate : dict
    """
    if not 0 <= noisy_fraction <= 1:
        raise ValueError(f"noisy_fraction must be in [0, 1], got {noisy_fraction!r}.")
    n = len(texts)
    rules = dict(n_rounds=n_rounds, label_fraction=label_fraction,
                 max_annotations=max_annotations)
    per_round = expected_annotations(n, noisy_fraction=noisy_fraction, **rules)
    low = sum(expected_annotations(n, noisy_fraction=0.0, **rules))
    high = sum(expected_annotations(n, noisy_fraction=1.0, **rules))
    req = _request_shape(texts, labeler, n_demos=n_demos)
    prompt, completion = req["prompt_tokens"], req["completion_tokens"]
    gen_calls, gen_max = _generation_calls(labeler, n_generated_demos, req["demos_per_call"])
    gen_prompt, gen_completion = req["generation_prompt_tokens"], req[
        "generation_completion_tokens"]
    annotations = sum(per_round)
    est = {
        "n_texts": n,
        "expected_calls": int(round(annotations + gen_calls)),
        "min_calls": int(round(low + gen_calls)),
        "max_calls": int(round(high + gen_max)),
        "calls_per_round": [int(round(c)) for c in per_round],
        "generation_calls": int(gen_calls),
        "max_generation_calls": int(gen_max),
        "expected_prompt_tokens": int(round(annotations * prompt + gen_calls * gen_prompt)),
        "expected_completion_tokens": int(
            round(annotations * completion + gen_calls * gen_completion)
        ),
        "noisy_fraction": noisy_fraction,
    }
    est["expected_cost"] = _cost(labeler, est["expected_prompt_tokens"],
                                 est["expected_completion_tokens"])
    return est


def _generation_calls(labeler, n_generated, per_call):
    """Expected and largest calls of demo generation.

    One pass asks, per label, ``per_call`` texts a call (plus one spare
    when that is more than one);
    when the labeler checks its demonstrations (``filter_demos``) each
    candidate is also annotated once. Up to ``_GENERATION_PASSES`` passes
    are made when answers fall short.
    """
    if not n_generated:
        return 0, 0
    n_labels = len(labeler.labels or []) or 1
    quota = [n_generated // n_labels + (i < n_generated % n_labels) for i in range(n_labels)]
    from .labelers import _base

    asks = [_base._texts_asked(min(per_call, q - start))
            for q in quota for start in range(0, q, per_call)]
    checks = bool(getattr(labeler, "filter_demos", False))
    expected = len(asks) + (n_generated if checks else 0)
    largest = _base._GENERATION_PASSES * (len(asks) + (sum(asks) if checks else 0))
    return expected, largest


def _request_shape(texts, labeler, *, n_demos):
    """Prompt/completion tokens of a typical annotation and generation request.

    For skfreeal's labelers the real prompt builders are used on texts drawn
    from ``texts`` (demonstrations resemble them) and token counts come from
    the labeler's own estimator; other labelers fall back to characters / 4.
    """
    from .labelers import _base, _prompts

    rng = np.random.RandomState(0)
    sample = [texts[i] for i in rng.choice(len(texts), min(len(texts), 50), replace=False)]
    mean_chars = float(np.mean([len(t) for t in sample]))
    if not isinstance(labeler, _base.BaseLabeler):
        header = len(getattr(labeler, "task", "") or "") + 40 * len(labeler.labels or [])
        prompt = (header + (n_demos + 1) * (mean_chars + 20)) / CHARS_PER_TOKEN
        return {"prompt_tokens": prompt, "completion_tokens": 4.0, "demos_per_call": 1,
                "generation_prompt_tokens": prompt,
                "generation_completion_tokens": mean_chars / CHARS_PER_TOKEN}
    labels = labeler._check_labels()
    system = _prompts.system_prompt(labels, labeler.task, labeler.label_descriptions)
    sizes = []
    for i, text in enumerate(sample[:10]):
        demos = [(sample[(i + j + 1) % len(sample)], j % len(labels)) for j in range(n_demos)]
        messages = _prompts.annotation_messages(
            text, _prompts.order_demos(demos), labels, system,
            max_text_chars=labeler.max_text_chars, max_demo_chars=labeler.max_demo_chars,
        )
        sizes.append(_token_count(messages))
    per_call = _base._TEXTS_PER_CALL
    gen = _prompts.generation_messages(
        labels[0], sample[:_base._EXAMPLES_PER_CALL], _base._texts_asked(per_call),
        task=labeler.task,
        label_description=None, max_example_chars=labeler.max_demo_chars,
    )
    gen_completion = _base._texts_asked(per_call) * (min(mean_chars, labeler.max_demo_chars) / 3 + 12)
    return {
        "prompt_tokens": float(np.mean(sizes)),
        "completion_tokens": float(labeler._answer_max_tokens(labels)) / 2,
        "demos_per_call": per_call,
        "generation_prompt_tokens": float(_token_count(gen)),
        "generation_completion_tokens": float(gen_completion),
    }


def _token_count(messages):
    """Tokens of a chat request: characters / 4 plus a few per message."""
    n_chars = sum(len(m["content"]) for m in messages)
    return n_chars / CHARS_PER_TOKEN + 4 * len(messages)


def _cost(labeler, prompt_tokens, completion_tokens):
    prices = labeler._prices() if hasattr(labeler, "_prices") else None
    if prices is None:
        return None
    return (prompt_tokens * prices[0] + completion_tokens * prices[1]) / 1e6
