"""Observing a labeler's requests: one :class:`RequestEvent` per request, with its purpose.

The request engine reports every request of a run to the observers in
place, from the thread that runs the labeler's verb or a worker thread of
the run: an answer that came from the model (``cached=False``, with its
tokens and seconds) or from the cache (a stored answer, a request asked
twice in one pass, or one another run sharing the cache answered). The
events add up to the ``calls`` and ``cache_hits`` of the labeler's
``usage_``.

Each request has a *purpose*, the outermost one declared: the labeler's
verbs declare ``"generation"`` (:meth:`~BaseLabeler.generate_demos`, its
zero-shot checks included), ``"annotation"`` (:meth:`~BaseLabeler.annotate_proba`,
a ``"contextual"`` calibration inside it included) and ``"calibration"``
(:meth:`~BaseLabeler.calibration_prior`); a caller declares its own around
a step with :meth:`~BaseLabeler.purpose` (e.g. ``"fill"``).

Observers are attached with :meth:`BaseLabeler.observing` (one labeler)
or :func:`observing` (every labeler used in the ``with`` block, clones
included): neither is a parameter, so none survives ``clone`` or a pickle.
"""

import contextvars
import threading
from contextlib import contextmanager
from dataclasses import dataclass

__all__ = ["RequestEvent", "observing"]

_GLOBAL = contextvars.ContextVar("skfreeal_request_observers", default=())


@dataclass(frozen=True)
class RequestEvent:
    """One request of a labeler, answered by the model or by the cache.

    Attributes
    ----------
    purpose : str
        ``"generation"``, ``"annotation"``, ``"calibration"``, or the one a
        caller declared with :meth:`BaseLabeler.purpose`.
    cached : bool
        Answered without a call (the cache, or the same request in flight).
    prompt_tokens, completion_tokens : int
        The call's tokens (0 for a cached answer).
    seconds : float
        From the request being taken for sending to its answer (0 when cached).
    model : str
        The model, as messages name it (no credential).
    zero_shot : bool
        The verb was asked with no demonstrations (``demos=None``).
    prior_given : bool
        The verb was given its calibration (``prior=``) by the caller.
    """

    purpose: str
    cached: bool
    prompt_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0
    model: str = ""
    zero_shot: bool = False
    prior_given: bool = False


@contextmanager
def observing(callback):
    """Call ``callback(event)`` for every request of every labeler used in the block.

    Clones of a labeler (``FreeALClassifier.fit`` clones its ``labeler``)
    are observed too. Worker threads of a run report to the observers of
    the thread that started it.

    Parameters
    ----------
    callback : callable
        ``callback(RequestEvent)``; it must be quick and thread-safe.

    Examples
    --------
    >>> from skfreeal.labelers import observing
    >>> events = []
    >>> with observing(events.append):
    ...     pass  # labeler.annotate(texts), clf.fit(X), ...
    >>> events
    []
    """
    if not callable(callback):
        raise TypeError(f"callback must be callable, got {callback!r}.")
    token = _GLOBAL.set(_GLOBAL.get() + (callback,))
    try:
        yield callback
    finally:
        _GLOBAL.reset(token)


class Reporter:
    """Sends a run's events to its observers (those in place when the run started)."""

    def __init__(self, observers, purpose, model, zero_shot=False, prior_given=False):
        self.observers = tuple(observers) + _GLOBAL.get()
        self.base = {"purpose": purpose, "model": model, "zero_shot": zero_shot,
                     "prior_given": prior_given}
        self.lock = threading.Lock()

    def __bool__(self):
        return bool(self.observers)

    def report(self, **fields):
        if not self.observers:
            return
        event = RequestEvent(**self.base, **fields)
        with self.lock:  # observers see one event at a time
            for callback in self.observers:
                callback(event)
