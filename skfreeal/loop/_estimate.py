"""Dry-run estimate of what ``FreeALClassifier.fit`` will cost, with no LLM call."""

import numpy as np

from ._budget import calibration_requests

__all__ = ["estimate_fit_cost", "expected_llm_seconds", "within_cap"]

# Rough characters per token of English text for BPE tokenizers, and the
# passes over short labels that skfreeal's labelers make when writing
# demonstrations: what a labeler without ``request_cost`` is assumed to do.
CHARS_PER_TOKEN = 4.0
_GENERATION_PASSES = 5


def estimate_fit_cost(texts, labeler, *, rounds, n_demos, n_generated_demos, noisy_fraction,
                      speed=None, fill_missing_demos=False):
    """Expected calls, tokens and cost of a FreeAL fit on ``texts``.

    The rounds' arithmetic is here; a request's cost comes from the labeler's
    ``request_cost`` (real prompts, characters / 4 as tokens), or without it
    is guessed from the texts' length (a written demonstration one call, two
    with ``filter_demos``; the cost unknown).

    The cap ``rounds.max_requests_per_text`` applies as in ``fit``: writing
    and filling take at most ``rounds.demo_request_share``, the later
    rounds what is left, so that every figure stays within the cap.
    Contextual calibration's requests count as in ``fit``: round 0's in
    ``calls_per_round[0]``, the checks' in ``generation_calls`` (from
    ``request_cost``), the fill's in ``max_generation_calls``.

    Parameters
    ----------
    texts : list of str
    labeler : labeler
    rounds : RoundPolicy
        The loop's schedule (its rule of which texts each round asks).
    n_demos, n_generated_demos : int
        Demonstrations per text, and round 0's synthetic ones.
    noisy_fraction : float
        Assumed fraction of annotated texts found noisy in each round.
    speed : dict, default=None
        Seconds per request measured on this machine
        (:func:`skfreeal.labelers._speed.measure_speed`): adds
        ``expected_llm_seconds``.
    fill_missing_demos : bool, default=False
        ``DemoPolicy.fill_missing``: when the LLM writes too few demonstrations of
        some label, it labels ``8 * n_classes`` texts zero-shot to fill
        them. Counted in ``max_calls`` and ``max_generation_calls`` only.

    Returns
    -------
    estimate : dict
    """
    if not 0 <= noisy_fraction <= 1:
        raise ValueError(f"noisy_fraction must be in [0, 1], got {noisy_fraction!r}.")
    n = len(texts)
    # round 0's calibration requests (contextual calibration) go with its annotations
    calibration = calibration_requests(labeler, rounds.first_round_size(n), refit=True)
    cap, share = rounds.max_requests(n), rounds.demo_request_share(n, reserved=calibration)
    req = _request_cost(labeler, texts, n_demos=n_demos, n_generated=n_generated_demos)
    gen_calls = min(req["generation_calls"], share)
    fill_calls = _fill_calls(labeler, n) if fill_missing_demos and n_generated_demos else 0
    max_gen_calls = min(req["max_generation_calls"] + fill_calls, share)
    per_round = _per_round(rounds, n, noisy_fraction, calibration, cap - gen_calls)
    low = sum(_per_round(rounds, n, 0.0, calibration, cap - gen_calls))
    high = sum(_per_round(rounds, n, 1.0, calibration, cap - max_gen_calls))
    annotations = sum(per_round)
    prompt = annotations * req["prompt_tokens"] + gen_calls * req["generation_prompt_tokens"]
    completion = (annotations * req["completion_tokens"]
                  + gen_calls * req["generation_completion_tokens"])
    prices = req["prices"]
    checks = n_generated_demos if getattr(labeler, "filter_demos", False) else 0
    checks = min(checks, gen_calls // 2)  # a capped writing checks what it wrote
    seconds = None if speed is None else expected_llm_seconds(
        speed, annotations=annotations, writes=gen_calls - checks, checks=checks)
    return {
        "n_texts": n,
        "expected_calls": int(round(annotations + gen_calls)),
        "expected_requests_per_text": round((annotations + gen_calls) / n, 3),
        "max_requests_per_text": rounds.max_requests_per_text,
        "min_calls": int(round(low + gen_calls)),
        "max_calls": int(round(high + max_gen_calls)),
        "calls_per_round": [int(round(c)) for c in per_round],
        "generation_calls": int(gen_calls),
        "max_generation_calls": int(max_gen_calls),
        "expected_prompt_tokens": int(round(prompt)),
        "expected_completion_tokens": int(round(completion)),
        "noisy_fraction": noisy_fraction,
        "expected_cost": None if prices is None else (
            (int(round(prompt)) * prices[0] + int(round(completion)) * prices[1]) / 1e6),
        "expected_llm_seconds": seconds,
        "llm_speed": speed,
    }


def within_cap(per_round, left):
    """Annotations per round once the cap stops the later rounds at ``left`` requests in all.

    Round 0 is annotated in full (the budget reserves it); a later round
    gets what the rounds before it left.

    Examples
    --------
    >>> within_cap([100.0, 50.0, 30.0], 130)
    [100.0, 30.0, 0.0]
    """
    capped = []
    for round_, count in enumerate(per_round):
        taken = count if round_ == 0 else min(count, max(left, 0))
        capped.append(float(taken))
        left -= taken
    return capped


def expected_llm_seconds(speed, *, annotations, writes=0, checks=0, zero_shot=0):
    """Seconds the LLM needs for these requests at the measured ``speed``.

    Parameters
    ----------
    speed : dict
        Seconds per request of each kind, as measured by
        :func:`skfreeal.labelers._speed.measure_speed`.
    annotations : float
        Labelling requests with demonstrations (the fit's annotations).
    writes : float, default=0
        Demonstration-writing requests.
    checks, zero_shot : float, default=0
        Zero-shot labelling requests (the check of each written
        demonstration; any other).

    Returns
    -------
    seconds : float

    Examples
    --------
    >>> speed = {"annotation_seconds": 0.5, "generation_seconds": 2.0,
    ...          "zero_shot_seconds": 0.1}
    >>> expected_llm_seconds(speed, annotations=100, writes=10, checks=10)
    71.0
    """
    return float(annotations * speed["annotation_seconds"]
                 + writes * speed["generation_seconds"]
                 + (checks + zero_shot) * speed["zero_shot_seconds"])


def _per_round(rounds, n, noisy_fraction, calibration, left):
    """Requests per round within the cap: the annotations, round 0's calibration with its own."""
    per_round = rounds.expected_annotations(n, noisy_fraction=noisy_fraction)
    return within_cap([per_round[0] + calibration, *per_round[1:]], left)


def _request_cost(labeler, texts, *, n_demos, n_generated):
    """The labeler's ``request_cost`` (optional in the Labeler protocol), else a guess."""
    if hasattr(labeler, "request_cost"):
        return labeler.request_cost(texts, n_demos=n_demos, n_generated=n_generated)
    return _guessed_request_cost(labeler, texts, n_demos=n_demos, n_generated=n_generated)


def _fill_calls(labeler, n):
    """Requests of the fill, at most: ``8 * n_classes`` texts labelled zero-shot, calibrated."""
    texts = min(n, 8 * _n_labels(labeler))
    return texts + calibration_requests(labeler, texts)


def _guessed_request_cost(labeler, texts, *, n_demos, n_generated):
    """What ``request_cost`` would say, guessed for a labeler that does not have it."""
    rng = np.random.RandomState(0)
    sample = [texts[i] for i in rng.choice(len(texts), min(len(texts), 50), replace=False)]
    mean_chars = float(np.mean([len(t) for t in sample]))
    header = len(getattr(labeler, "task", "") or "") + 40 * _n_labels(labeler)
    prompt = (header + (n_demos + 1) * (mean_chars + 20)) / CHARS_PER_TOKEN
    calls = n_generated * (2 if getattr(labeler, "filter_demos", False) else 1)
    return {
        "prompt_tokens": prompt,
        "completion_tokens": 4.0,
        "generation_calls": calls,
        "max_generation_calls": _GENERATION_PASSES * calls,
        "generation_prompt_tokens": prompt,
        "generation_completion_tokens": mean_chars / CHARS_PER_TOKEN,
        "prices": None,
    }


def _n_labels(labeler):
    """The labels of the labeler's ``labels``: names, or a label space (a set of them a text)."""
    from ..labels import LabelSpace

    labels = labeler.labels
    return labels.n_labels if isinstance(labels, LabelSpace) else len(labels or [])
