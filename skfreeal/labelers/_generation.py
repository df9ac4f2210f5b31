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
    """The first ``n`` requests when the labels (or label sets) take turns (their order
    within a turn)."""
    turn = {}
    ranks = []
    for i, _ in owners:
        ranks.append(turn.get(i, 0))
        turn[i] = ranks[-1] + 1
    keep = sorted(np.argsort(ranks, kind="stable")[:n])
    return [requests[j] for j in keep], [owners[j] for j in keep]


def _targets(n, space, rng):
    """What round 0 asks the LLM to write: label sets (tuples of ids) and how many of each.

    One label per text: each label, the ``n`` shared out evenly (no draw of
    ``rng``). A set of labels per text: two thirds of the ``n`` single
    labels shared out the same way, one third pairs of labels, every pair
    as often as the others, drawn in a random order, so that the
    demonstrations show texts with more than one label. (The share of pairs
    is a choice, not a measurement; single labels still come first.)
    """
    k = space.n_labels
    n_pairs = n // 3 if not space.exclusive and k > 1 else 0
    singles = n - n_pairs
    targets = [(i,) for i in range(k)]
    quota = [singles // k + (i < singles % k) for i in range(k)]
    if n_pairs:
        pairs = [(a, b) for a in range(k) for b in range(a + 1, k)]
        pairs = [pairs[j] for j in rng.permutation(len(pairs))]
        targets += pairs
        quota += [n_pairs // len(pairs) + (j < n_pairs % len(pairs)) for j in range(len(pairs))]
    return targets, quota


class DemoGenerationMixin:
    """``generate_demos`` for :class:`~skfreeal.labelers.BaseLabeler` (uses its ``_run``,
    ``annotate``, ``calibration_requests`` and prompt settings)."""

    def generate_demos(self, n, examples, random_state=None, *, max_requests=None):
        """Write ``n`` synthetic labelled texts in the style of ``examples``.

        FreeAL's demonstration generation: for each label, the LLM sees a
        few randomly drawn unlabelled examples and writes new texts of that
        label in their style. Answers are parsed (numbered lines, bullets or
        JSON) and cleaned; texts that copy an example, repeat one already
        kept, or name several labels (they talk about the task) are dropped;
        with ``filter_demos``, so are texts the model itself does not label
        as intended (zero-shot). The result is balanced over the labels.

        With a :class:`~skfreeal.labels.MultiLabelSpace` as ``labels``, the
        LLM writes texts for label sets: two thirds for one label each (and
        none of the others), one third for a pair of labels (every pair in
        turn, in a random order); a text may then name the labels of its
        set, and with ``filter_demos`` it is kept only when the model gives
        it exactly that set zero-shot.

        Parameters
        ----------
        n : int
            How many demonstrations to return.
        examples : iterable of str
            Unlabelled texts whose style to imitate.
        random_state : int, RandomState instance or None, default=None
            Which examples are shown (and which pairs of labels are asked
            for); falls back to ``self.random_state``.
        max_requests : int, default=None
            Requests (writing and checking, a check's calibration
            requests included, answered from the cache or not) to make at
            most: FreeAL's share of its request budget for this
            step. When the passes would go beyond it, the labels (or label
            sets) take turns for the requests left, so that each gets its
            share. None: no limit.

        Returns
        -------
        demos : list of (str, int) or list of (str, ndarray)
            (text, label id) pairs, labels interleaved, as balanced as the
            answers allow (a warning says when a label fell short); for a
            :class:`~skfreeal.labels.MultiLabelSpace`, (text, indicator row)
            pairs.
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
        space = self._label_space()
        examples = check_texts(examples, name="examples")
        rng = check_random_state(self.random_state if random_state is None else random_state)
        targets, quota = _targets(n, space, rng)
        # each target's label as the space stores it: an id, or an indicator row
        written = space.asarray([space.check_label(
            labels[t[0]] if space.exclusive else [labels[j] for j in t], where="target")
            for t in targets])
        collected = [[] for _ in targets]
        shown = [e for e in examples if e.strip()] or examples
        seen = {text_signature(e) for e in shown}  # examples, then every text kept
        # a check's calibration requests (contextual: 9 for three texts or more), kept aside
        calibrating = self.calibration_requests(3) if self.filter_demos else 0
        for _ in range(_GENERATION_PASSES):  # make up for short, copied or rejected answers
            wanted = [(i, q - len(c)) for i, (q, c) in enumerate(zip(quota, collected))
                      if q > len(c)]
            if not wanted or left < 1:
                break
            requests, owners = self._generation_requests(wanted, targets, labels, shown, rng,
                                                         exclusive=space.exclusive)
            # a text written is kept only once checked: each write keeps a request for it, or
            # a tight limit would buy writes it cannot check (and keep nothing)
            affordable = (left - calibrating) // 2 if self.filter_demos else left
            if len(requests) > affordable:
                requests, owners = _taking_turns(requests, owners, int(max(affordable, 0)))
            if not requests:
                break
            left -= len(requests)
            candidates = self._new_texts(self._run(requests), owners, targets, labels, seen)
            if candidates and self.filter_demos:
                candidates, left = self._checked(candidates, written, left, space)
            for text, i in candidates:
                if len(collected[i]) < quota[i]:
                    collected[i].append(text)
        short = {_target_name(targets[i], labels): (len(c), q)
                 for i, (c, q) in enumerate(zip(collected, quota)) if len(c) < q}
        if short:
            # not enough for one more text (written, then checked with its calibration)
            spent = left < (2 + calibrating if self.filter_demos else 1)
            limit = f" (the limit of {max_requests} requests was reached)" if spent else ""
            warnings.warn(
                "The LLM wrote fewer usable demonstrations than asked for some labels "
                f"(got, wanted){limit}: {short}.",
                stacklevel=3,
            )
        demos = []
        for rank in range(max(quota)):
            demos.extend((c[rank], written[i].tolist() if space.exclusive else written[i].copy())
                         for i, c in enumerate(collected) if rank < len(c))
        return demos

    def _checked(self, candidates, written, left, space):
        """The candidates the model labels as intended zero-shot, and the requests left.

        Only as many are checked as ``left`` pays for, with the check's
        calibration requests (:meth:`calibration_requests`); an unchecked
        text is not kept.
        """
        room = left - self.calibration_requests(len(candidates))
        candidates = candidates[:int(max(0, min(len(candidates), room)))]
        if not candidates:
            return [], left
        left -= len(candidates) + self.calibration_requests(len(candidates))
        ids, _ = self.annotate([text for text, _ in candidates])
        intended = written[[i for _, i in candidates]]
        return [c for c, ok in zip(candidates, space.agree(ids, intended)) if ok], left

    def _generation_requests(self, wanted, targets, labels, shown, rng, *, exclusive=True):
        """One request per text still wanted of each target; who asked for each."""
        mean_chars = np.mean([min(len(e), self.max_demo_chars) for e in shown])
        tokens_per_text = int(mean_chars / 3) + 12
        descriptions = self.label_descriptions or {}
        requests, owners = [], []
        for i, missing in wanted:
            names = [labels[j] for j in targets[i]]
            if exclusive:  # one label per text: the prompt FreeAL's single-label runs measured
                label, about, others = names[0], descriptions.get(names[0]), None
            else:
                label, about = tuple(names), tuple(descriptions.get(name) for name in names)
                others = [name for name in labels if name not in names]
            for start in range(0, missing, _TEXTS_PER_CALL):
                k = _texts_asked(min(_TEXTS_PER_CALL, missing - start))
                picked = rng.choice(len(shown), min(_EXAMPLES_PER_CALL, len(shown)), replace=False)
                messages = generation_messages(
                    label, [shown[j] for j in picked], k, task=self.task,
                    label_description=about, max_example_chars=self.max_demo_chars,
                    others=others,
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
    def _new_texts(responses, owners, targets, labels, seen):
        """The usable new texts of the answers: not a copy, a repeat or talk about the task."""
        candidates = []
        for (i, k), response in zip(owners, responses):
            if response is None:  # failed for good (on_failure="abstain")
                continue
            for text in parse_generated_texts(response["text"], labels)[:k]:
                key = text_signature(text)
                if (key in seen or talks_about_task(text, labels, max_named=len(targets[i]))
                        or is_near_copy(key, seen)):
                    continue
                seen.add(key)
                candidates.append((text, i))
        return candidates


def _target_name(target, labels):
    """A label set's name in a warning: its label names joined (one label: its name)."""
    return " & ".join(labels[j] for j in target)
