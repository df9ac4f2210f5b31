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
        Asked for ``estimate_request(texts, n_demos)`` (prompt and completion
        tokens of one annotation, and calls per generated demonstration)
        when it has it; else characters / 4 stand in for tokens.
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
    if hasattr(labeler, "estimate_request"):
        req = labeler.estimate_request(texts, n_demos=n_demos)
        prompt, completion = req["prompt_tokens"], req["completion_tokens"]
        gen_calls = math.ceil(n_generated_demos / max(req.get("demos_per_call", 1), 1))
        gen_prompt, gen_completion = req.get("generation_prompt_tokens", prompt), req.get(
            "generation_completion_tokens", completion * 10)
    else:
        mean_chars = float(np.mean([len(t) for t in texts]))
        header = len(getattr(labeler, "task", "") or "") + 40 * len(labeler.labels or [])
        prompt = (header + (n_demos + 1) * (mean_chars + 20)) / CHARS_PER_TOKEN
        completion = 4.0
        gen_calls = n_generated_demos
        gen_prompt, gen_completion = prompt, mean_chars / CHARS_PER_TOKEN
    annotations = sum(per_round)
    est = {
        "n_texts": n,
        "expected_calls": int(round(annotations + gen_calls)),
        "min_calls": int(round(low + gen_calls)),
        "max_calls": int(round(high + gen_calls)),
        "calls_per_round": [int(round(c)) for c in per_round],
        "generation_calls": int(gen_calls),
        "expected_prompt_tokens": int(round(annotations * prompt + gen_calls * gen_prompt)),
        "expected_completion_tokens": int(
            round(annotations * completion + gen_calls * gen_completion)
        ),
        "noisy_fraction": noisy_fraction,
    }
    est["expected_cost"] = _cost(labeler, est["expected_prompt_tokens"],
                                 est["expected_completion_tokens"])
    return est


def _cost(labeler, prompt_tokens, completion_tokens):
    price = getattr(labeler, "price_of", None)
    if price is None:
        return None
    return price(prompt_tokens, completion_tokens)
