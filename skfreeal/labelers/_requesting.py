"""How a labeler's requests are made: its backend, cache, budget, observers and purposes.

:class:`RequestingMixin` is the plumbing between the annotator
(:class:`~skfreeal.labelers.BaseLabeler`'s verbs) and the backend: it builds
the backend from the labeler's parameters (``_make_backend``, again when
``_backend_config`` changes), opens the response cache, makes the budget,
keeps the observers and the purpose of the verb in progress, and hands a
list of requests to the request engine (:class:`~skfreeal.labelers._engine.RequestRun`).
None of its state is a parameter: ``clone`` and pickles leave it all behind.
"""

import threading
from contextlib import contextmanager
from pathlib import Path

from .._cache_dir import get_cache_dir
from .._progress import progress_bar
from ._cache import ResponseCache
from ._engine import RequestRun
from ._usage import Budget, Usage, estimate_prompt_tokens

__all__ = ["RequestingMixin"]


class RequestingMixin:
    """The backend, the cache, the budget, the observers and the run of a labeler."""

    # -- the backend ----------------------------------------------------------------

    def _make_backend(self):
        """The :class:`~skfreeal.labelers.backends.Backend` that sends this labeler's requests.

        Built from the labeler's parameters; :meth:`_backend_config` says
        which (a new value builds a new backend).
        """
        raise NotImplementedError(
            f"{type(self).__name__} must build its backend in _make_backend() (a "
            "skfreeal.labelers.backends.Backend; see FunctionLabeler for the smallest one).")

    def _backend_config(self):
        """What the backend is built from: a new value rebuilds it (default: None)."""
        return None

    def get_backend(self):
        """The backend that sends this labeler's requests, built on first use.

        Built again when the parameters it is built from changed; kept in
        ``backend_``, never pickled nor cloned.

        Returns
        -------
        backend : Backend
        """
        config = self._backend_config()
        backend = self.__dict__.get("backend_")
        if backend is None or self.__dict__.get("_backend_built_for") != config:
            backend = self.backend_ = self._make_backend()
            self._backend_built_for = config
        return backend

    def _built_by_backend(self, name, missing):
        """The backend's attribute ``name`` once a request built it, never built here.

        Before (and after a pickle, which leaves the backend out) it raises
        ``AttributeError(missing)``, so that ``hasattr`` says False.
        """
        value = getattr(self.__dict__.get("backend_"), name, None)
        if value is None:
            raise AttributeError(missing)
        return value

    def share_backend(self, other):
        """Use ``other``'s backend (and so its loaded model or client) from now on.

        For labelers that differ only in what the annotator does (prompts,
        cache, calibration...): two :class:`~skfreeal.labelers.LocalLabeler`
        then hold one model in memory. A later change of a parameter the
        backend is built from builds this labeler its own again.

        Parameters
        ----------
        other : BaseLabeler
            A labeler of the same class whose backend is built from the
            same parameters.

        Returns
        -------
        self : BaseLabeler

        Raises
        ------
        ValueError
            When ``other`` is of another class or builds its backend from
            other parameters.
        """
        if type(other) is not type(self) or other._backend_config() != self._backend_config():
            raise ValueError(
                f"other={type(other).__name__}(...) builds its backend from other parameters "
                f"than this {type(self).__name__}: only a labeler of the same class with the "
                "same backend parameters (e.g. LocalLabeler's model, n_ctx, n_threads and "
                "n_batch) can share it.")
        self.backend_ = other.get_backend()
        self._backend_built_for = self._backend_config()
        return self

    def _estimate_prompt_tokens(self, messages):
        """An upper estimate of a request's prompt tokens, for the budget.

        The backend's count when it has the tokenizer; else one token per
        UTF-8 byte until an answer has told the real ratio, then the largest
        ratio seen with a 25% margin, plus a few tokens a message.
        """
        n_tokens = self.get_backend().count_prompt_tokens(messages)
        if n_tokens is not None:
            return n_tokens
        return estimate_prompt_tokens(messages, getattr(self, "_tokens_per_byte", None))

    def _learn_tokens_per_byte(self, messages, prompt_tokens):
        """Keep the largest tokens-per-byte ratio seen (the budget's prompt estimate)."""
        n_bytes = sum(len(m["content"].encode("utf-8")) for m in messages)
        ratio = prompt_tokens / max(1, n_bytes)
        self._tokens_per_byte = max(ratio, getattr(self, "_tokens_per_byte", None) or 0.0)

    # -- the cache and the budget ---------------------------------------------------

    def _get_cache(self):
        if self.cache is None:
            return None
        path = get_cache_dir() / "responses.sqlite" if self.cache == "auto" else Path(self.cache)
        cache = getattr(self, "_response_cache", None)
        if cache is None or cache.path != path:
            cache = self._response_cache = ResponseCache(path)
        return cache

    def _budget(self):
        if not hasattr(self, "usage_"):
            self.usage_ = Usage()
        if getattr(self, "_usage_lock", None) is None:
            self._usage_lock = threading.Lock()
        self.check_budget()
        backend = self.get_backend()
        return Budget(
            self.usage_,
            max_tokens=self.max_tokens,
            max_cost=self.max_cost,
            prices=backend.prices(),
            what=f"model {backend.model_id()!r}",
            lock=self._usage_lock,
        )

    def check_budget(self):
        """Refuse a cost cap that cannot be checked (no price for the model), before any call.

        :class:`~skfreeal.FreeALClassifier` calls it before it embeds a text;
        every request checks it again.

        Raises
        ------
        ValueError
            When ``max_cost`` is set and the model has no price.
        """
        if self.max_cost is not None and self.get_backend().prices() is None:
            raise ValueError(
                f"max_cost={self.max_cost} needs a price for {self.get_backend().describe()}, "
                "which is not "
                "in the price table; pass price_table={model: (usd_per_1M_prompt, "
                "usd_per_1M_completion)} (on the command line: --price-per-million "
                "PROMPT,COMPLETION)."
            )

    # -- the run --------------------------------------------------------------------

    def _run(self, requests):
        """Answer ``(messages, params)`` requests: cache first, then the backend.

        Identical requests are sent once, and a request another run sharing
        the cache is sending is waited for, not sent again. Requests go out
        in the order of their messages, so that consecutive prompts share
        long prefixes; the backend's ``complete_batch`` sends them. A request
        that failed for good is None in the result with ``on_failure="abstain"``.
        See :class:`~skfreeal.labelers._engine.RequestRun`.
        """
        self.get_backend().open()
        calls = self.__dict__.get("_calls") or [{}]
        return RequestRun(self, requests, calls[0]).execute()

    def _progress(self, total):
        return progress_bar(total, desc=f"LLM calls ({self.get_backend().describe()})",
                            unit="call", verbose=self.verbose)

    # -- the observers and the purposes ---------------------------------------------

    @contextmanager
    def observing(self, callback):
        """Call ``callback(event)`` for each request of this labeler made in the block.

        Each event is a :class:`~skfreeal.labelers.RequestEvent` (its
        purpose, cached or not, tokens, seconds). The observer is not a
        parameter: ``clone`` and pickles leave it behind. To observe the
        clones ``FreeALClassifier.fit`` makes, use
        :func:`skfreeal.labelers.observing`.

        Parameters
        ----------
        callback : callable
            ``callback(RequestEvent)``; quick and thread-safe.
        """
        if not callable(callback):
            raise TypeError(f"callback must be callable, got {callback!r}.")
        observers = self.__dict__.setdefault("_observer_list", [])
        observers.append(callback)
        try:
            yield self
        finally:
            observers.remove(callback)

    def _observers(self):
        return tuple(self.__dict__.get("_observer_list", ()))

    @contextmanager
    def purpose(self, name):
        """Report the requests of the block with the purpose ``name`` (e.g. ``"fill"``).

        The outermost purpose wins: inside it, the verbs' own purposes
        (``"generation"``, ``"annotation"``, ``"calibration"``) are not used.
        """
        if not isinstance(name, str) or not name:
            raise ValueError(f"name must be a non-empty str, got {name!r}.")
        with self._call(name):
            yield self

    @contextmanager
    def _call(self, purpose, *, zero_shot=False, prior_given=False):
        """A verb (or a caller's step) in progress: the outermost one names the requests."""
        calls = self.__dict__.setdefault("_calls", [])
        calls.append({"purpose": purpose, "zero_shot": zero_shot, "prior_given": prior_given})
        try:
            yield
        finally:
            calls.pop()
