"""A labeler over any Python callable: the smallest backend, and proof of the split."""

import math

from ._base import BaseLabeler
from ._params import inherits_params
from .backends import Backend

__all__ = ["CallableBackend", "FunctionLabeler"]


def _tokens(text):  # no tokenizer: characters / 4
    return math.ceil(len(text) / 4)

class CallableBackend(Backend):
    """A :class:`~skfreeal.labelers.backends.Backend` that calls ``func(messages, **params)``.

    ``func`` returns the answer's text, or a dict with ``text`` and
    optionally ``logprobs``, ``label_logprobs``, ``prompt_tokens`` and
    ``completion_tokens`` (counted as characters / 4 when missing).
    """

    def __init__(self, func, model_id, *, concurrency=1):
        self.func, self._model_id, self._concurrency = func, model_id, concurrency

    def model_id(self):
        return self._model_id

    def describe(self):
        return f"function {self._model_id!r}"

    def concurrency(self):
        return self._concurrency

    def complete(self, messages, params, *, run=None):
        answer = self.func(messages, **params)
        if isinstance(answer, str):
            answer = {"text": answer}
        if not isinstance(answer, dict) or not isinstance(answer.get("text"), str):
            raise TypeError(f"func={self._model_id} returned {repr(answer)[:60]}: it must "
                            "return the answer's text (a str) or a dict with a 'text' str.")
        prompt = sum(_tokens(m["content"]) + 4 for m in messages)
        return {"logprobs": None, "cached_tokens": 0, **answer,
                "prompt_tokens": int(answer.get("prompt_tokens") or prompt),
                "completion_tokens": int(answer.get("completion_tokens")
                                         or _tokens(answer["text"]))}


class FunctionLabeler(BaseLabeler):
    """LLM annotator over any Python function that answers a chat request.

    Everything but the call is the annotator's: prompts, parsing, label
    distributions, calibration, demonstration writing, the cache, the
    budget and the usage record.

    Parameters
    ----------
    func : callable
        ``func(messages, **params) -> str or dict``: ``messages`` is a list
        of ``{"role", "content"}`` dicts, ``params`` the sampling
        parameters (``temperature``, ``max_tokens``, ``seed``, ``logprobs``,
        ``top_logprobs``). It returns the answer's text, or a dict as
        :class:`CallableBackend` reads it. A module-level function pickles.
    model_id : str, default=None
        What names the model in the cache key; None uses the function's
        module and name. Give a new one when the function answers
        differently, or its cached answers are reused.
    labels, task, label_descriptions, cache, max_cost, max_tokens, price_table, \
temperature, generation_temperature, max_concurrency, max_text_chars, \
max_demo_chars, demo_order, filter_demos, constrained, calibration, on_failure, \
random_state, verbose
        See :class:`BaseLabeler`. ``max_concurrency`` calls run on threads.

    Examples
    --------
    >>> def by_keyword(messages, **params):
    ...     return "positive" if "good" in messages[-1]["content"] else "negative"
    >>> labeler = FunctionLabeler(by_keyword, labels=["negative", "positive"], cache=None)
    >>> labeler.annotate(["a good day", "a bad day"])[0].tolist()
    [1, 0]
    """

    _parameter_constraints = {**BaseLabeler._parameter_constraints,
                              "func": [callable], "model_id": [str, None]}

    @inherits_params(BaseLabeler)
    def __init__(self, func, *, model_id=None, max_concurrency=1, **base_params):
        super().__init__(max_concurrency=max_concurrency, **base_params)
        self.func = func
        self.model_id = model_id

    def _backend_config(self):
        return (self.func, self.model_id, self.max_concurrency)

    def _make_backend(self):
        name = self.model_id or "function:{}.{}".format(
            getattr(self.func, "__module__", None),
            getattr(self.func, "__qualname__", type(self.func).__name__))
        return CallableBackend(self.func, name, concurrency=self.max_concurrency)
