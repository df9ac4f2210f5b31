"""FreeAL's round-0 demonstration generation: the LLM writes labelled texts in the data's style."""

import warnings
from numbers import Integral

import numpy as np
from sklearn.utils import check_random_state

from .._validation import check_texts
from ._demos import is_near_copy, text_signature
from ._parsing import parse_generated_texts, talks_about_task
from ._prompts import generation_messages

__all__ = ["DemoGenerationMixin"]

# Unlabelled examples shown per demo-generation call, and texts asked per call.
# One text a call: asked for a list, small local models copy the examples or
# repeat one text (Qwen2.5-0.5B kept 1 of 16 asked on tweets); asked for one
# text beside two examples, it wrote 15 of 16 usable ones. The extra prompt
# tokens are small next to the annotation of the data set.
_EXAMPLES_PER_CALL = 2
_TEXTS_PER_CALL = 1
# Passes over the labels that still lack demonstrations.
_GENERATION_PASSES = 5


def _texts_asked(k):
    """Texts asked of one generation call for ``k`` wanted: a list gets one spare."""
    return k + (k > 1)


def _taking_turns(requests, owners, n):
    """The first ``n`` requests when the labels take turns (label order within a turn)."""
    turn = {}
    ranks = []
    for i, _ in owners:
        ranks.append(turn.get(i, 0))
        turn[i] = ranks[-1] + 1
    keep = sorted(np.argsort(ranks, kind="stable")[:n])
    return [requests[j] for j in keep], [owners[j] for j in keep]


class DemoGenerationMixin:
    """``generate_demos`` for :class:`~skfreeal.labelers.BaseLabeler` (uses its ``_run``,
    ``annotate`` and prompt settings)."""

    def generate_demos(self, n, examples, random_state=None, *, max_requests=None):
        """Write ``n`` synthetic labelled texts in the style of ``examples``.

        FreeAL's demonstration generation: for each label, the LLM sees a
        few randomly drawn unlabelled examples and writes new texts of that
        label in their style. Answers are parsed (numbered lines, bullets or
        JSON) and cleaned; texts that copy an example, repeat one already
        kept, or name several labels (they talk about the task) are dropped;
        with ``filter_demos``, so are texts the model itself does not label
        as intended (zero-shot). The result is balanced over the labels.

        Parameters
        ----------
        n : int
            How many demonstrations to return.
        examples : iterable of str
            Unlabelled texts whose style to imitate.
        random_state : int, RandomState instance or None, default=None
            Which examples are shown; falls back to ``self.random_state``.
        max_requests : int, default=None
            Requests (writing and checking, answered from the cache or not)
            to make at most: FreeAL's share of its request budget for this
            step. When the passes would go beyond it, the labels take turns
            for the requests left, so that each gets its share. None: no
            limit.

        Returns
        -------
        demos : list of (str, int)
            (text, label id) pairs, labels interleaved, as balanced as the
            answers allow (a warning says when a label fell short).
        """
        with self._call("generation"):
            return self._generate_demos(n, examples, random_state, max_requests)

    def _generate_demos(self, n, examples, random_state, max_requests):
        self._validate_params()
        if isinstance(n, (bool, np.bool_)) or not isinstance(n, (Integral, np.integer)) or n < 1:
            raise ValueError(f"n must be a positive int, got {n!r}.")
        if max_requests is not None and (
                isinstance(max_requests, bool) or not isinstance(max_requests, Integral)
                or max_requests < 0):
            raise ValueError(f"max_requests must be a non-negative int or None, "
                             f"got {max_requests!r}.")
        left = np.inf if max_requests is None else int(max_requests)
        labels = self._check_labels()
        examples = check_texts(examples, name="examples")
        rng = check_random_state(self.random_state if random_state is None else random_state)
        quota = [n // len(labels) + (i < n % len(labels)) for i in range(len(labels))]
        collected = [[] for _ in labels]
        shown = [e for e in examples if e.strip()] or examples
        seen = {text_signature(e) for e in shown}  # examples, then every text kept
        for _ in range(_GENERATION_PASSES):  # make up for short, copied or rejected answers
            wanted = [(i, q - len(c)) for i, (q, c) in enumerate(zip(quota, collected))
                      if q > len(c)]
            if not wanted or left < 1:
                break
            requests, owners = self._generation_requests(wanted, labels, shown, rng)
            if len(requests) > left:
                requests, owners = _taking_turns(requests, owners, int(left))
            left -= len(requests)
            candidates = self._new_texts(self._run(requests), owners, labels, seen)
            if candidates and self.filter_demos:
                candidates = candidates[:int(min(len(candidates), left))]  # unchecked: not kept
                left -= len(candidates)
                ids, _ = self.annotate([text for text, _ in candidates]) if candidates else ([], [])
                candidates = [c for c, got in zip(candidates, ids) if got == c[1]]
            for text, i in candidates:
                if len(collected[i]) < quota[i]:
                    collected[i].append(text)
        short = {labels[i]: (len(c), q) for i, (c, q) in enumerate(zip(collected, quota))
                 if len(c) < q}
        if short:
            limit = f" (the limit of {max_requests} requests was reached)" if left < 1 else ""
            warnings.warn(
                "The LLM wrote fewer usable demonstrations than asked for some labels "
                f"(got, wanted){limit}: {short}.",
                stacklevel=3,
            )
        demos = []
        for rank in range(max(quota)):
            demos.extend((c[rank], i) for i, c in enumerate(collected) if rank < len(c))
        return demos

    def _generation_requests(self, wanted, labels, shown, rng):
        """One request per text still wanted of each label; who asked for each."""
        mean_chars = np.mean([min(len(e), self.max_demo_chars) for e in shown])
        tokens_per_text = int(mean_chars / 3) + 12
        requests, owners = [], []
        for i, missing in wanted:
            for start in range(0, missing, _TEXTS_PER_CALL):
                k = _texts_asked(min(_TEXTS_PER_CALL, missing - start))
                picked = rng.choice(len(shown), min(_EXAMPLES_PER_CALL, len(shown)), replace=False)
                messages = generation_messages(
                    labels[i], [shown[j] for j in picked], k, task=self.task,
                    label_description=(self.label_descriptions or {}).get(labels[i]),
                    max_example_chars=self.max_demo_chars,
                )
                params = {
                    "temperature": float(self.generation_temperature),
                    "max_tokens": min(1024, k * tokens_per_text),
                    "seed": int(rng.randint(2**31 - 1)),
                }
                requests.append((messages, params))
                owners.append((i, k))
        return requests, owners

    @staticmethod
    def _new_texts(responses, owners, labels, seen):
        """The usable new texts of the answers: not a copy, a repeat or talk about the task."""
        candidates = []
        for (i, k), response in zip(owners, responses):
            if response is None:  # failed for good (on_failure="abstain")
                continue
            for text in parse_generated_texts(response["text"], labels)[:k]:
                key = text_signature(text)
                if key in seen or talks_about_task(text, labels) or is_near_copy(key, seen):
                    continue
                seen.add(key)
                candidates.append((text, i))
        return candidates
