"""The dry run of a labeler: what its requests would cost, without a call."""

import numpy as np

from .._validation import check_texts
from ._generation import _EXAMPLES_PER_CALL, _GENERATION_PASSES, _TEXTS_PER_CALL, _texts_asked
from ._prompts import annotation_messages, generation_messages, order_demos, system_prompt

__all__ = ["RequestCostMixin", "demo_label"]


def demo_label(space, j):
    """A made-up label of the ``j``-th demonstration of a dry run or a timed request.

    Label ``j`` (modulo the labels); for a space of label sets, the set of
    that one label (a judged set writes every label whatever it carries).
    """
    j %= space.n_labels
    return j if space.exclusive else np.eye(space.n_labels, dtype=np.int8)[j]


def _approximate_tokens(messages):
    """Tokens of a chat request without a tokenizer: characters / 4 plus 4 a message."""
    return sum(len(m["content"]) for m in messages) / 4.0 + 4 * len(messages)


class RequestCostMixin:
    """:meth:`request_cost`, for :class:`~skfreeal.labelers.BaseLabeler`."""

    def request_cost(self, texts, *, n_demos=0, n_generated=0):
        """Typical tokens and prices of this labeler's requests, for a dry run (no call).

        Prompts are built by the labeler's own prompt builders from texts
        drawn from ``texts`` (demonstrations resemble them) and counted as
        characters / 4 plus 4 tokens a message: no tokenizer or model is
        loaded. Demo generation follows :meth:`generate_demos`: one call per
        text asked of a label, plus one zero-shot check per text written
        when ``filter_demos`` is on (and the check's calibration requests,
        :meth:`calibration_requests`), and up to 5 passes when answers fall
        short.

        Parameters
        ----------
        texts : sequence of str
            The texts that will be labelled.
        n_demos : int, default=0
            Demonstrations in each annotation prompt.
        n_generated : int, default=0
            Demonstrations to write with :meth:`generate_demos`.

        Returns
        -------
        cost : dict
            ``prompt_tokens`` and ``completion_tokens`` (float) of one
            annotation request; ``generation_calls`` and
            ``max_generation_calls`` (int), expected and largest calls to
            write ``n_generated`` demonstrations; ``generation_prompt_tokens``
            and ``generation_completion_tokens`` (float) of one such call;
            ``prices``, USD per million (prompt, completion) tokens, or None
            when the model's price is unknown.
        """
        self._validate_params()
        labels = self._check_labels()
        texts = check_texts(texts, name="texts")
        rng = np.random.RandomState(0)
        sample = [texts[i] for i in rng.choice(len(texts), min(len(texts), 50), replace=False)]
        mean_chars = float(np.mean([len(t) for t in sample]))
        # the prompts of real requests: a label set's answers as the backend asks for them
        space, _, prompt_space = self._annotation_setup()
        system = system_prompt(prompt_space, self.task, self.label_descriptions)
        sizes = []
        for i, text in enumerate(sample[:10]):
            demos = [(sample[(i + j + 1) % len(sample)], demo_label(space, j))
                     for j in range(n_demos)]
            messages = annotation_messages(
                text, order_demos(demos), prompt_space, system,
                max_text_chars=self.max_text_chars, max_demo_chars=self.max_demo_chars,
            )
            sizes.append(_approximate_tokens(messages))
        asked = _texts_asked(_TEXTS_PER_CALL)
        generation = generation_messages(
            labels[0], sample[:_EXAMPLES_PER_CALL], asked, task=self.task,
            label_description=None, max_example_chars=self.max_demo_chars,
        )
        quota = [n_generated // len(labels) + (i < n_generated % len(labels))
                 for i in range(len(labels))]
        asks = [_texts_asked(min(_TEXTS_PER_CALL, q - start))
                for q in quota for start in range(0, q, _TEXTS_PER_CALL)]
        # with filter_demos each pass checks what it wrote (and calibrates the check)
        checks = [n_generated, sum(asks)] if self.filter_demos and n_generated else [0, 0]
        checks = [c + self.calibration_requests(c) if c else 0 for c in checks]
        return {
            "prompt_tokens": float(np.mean(sizes)),
            "completion_tokens": float(self._answer_max_tokens(labels)) / 2,
            "generation_calls": len(asks) + checks[0],
            "max_generation_calls": _GENERATION_PASSES * (len(asks) + checks[1]),
            "generation_prompt_tokens": float(_approximate_tokens(generation)),
            "generation_completion_tokens": asked * (
                min(mean_chars, self.max_demo_chars) / 3 + 12),
            "prices": self.get_backend().prices(),
        }
