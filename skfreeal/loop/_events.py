"""The loop's events, and the callbacks that follow them.

The loop says what it does (a step begins or ends, a round ends, each LLM
request is answered, the fit ends); the progress display, the log lines and a benchmark's accounting
each subscribe with a :class:`Callback` instead of reaching into the loop.
As in skorch, a callback overrides the ``on_*`` hooks it needs; the others
do nothing. ``FreeALClassifier.fit(X, callbacks=[...])`` adds the user's
own to the built-in ones.

Examples
--------
>>> class Rounds(Callback):
...     def __init__(self):
...         self.seen = []
...     def on_round_end(self, record):
...         self.seen.append(record["round"])
"""

import contextlib
import logging
from dataclasses import dataclass

from .._console import ensure_log_handler
from .._progress import progress_stage, progress_timer

__all__ = ["Callback", "Events", "LogCallback", "ProgressCallback", "Step"]

logger = logging.getLogger("skfreeal")


@dataclass(frozen=True)
class Step:
    """A step of the loop a user may wait on.

    Attributes
    ----------
    kind : {"embedding", "writing", "annotating", "training", "final"}
        Embedding the texts, round 0's demonstration writing, a round's
        annotation, a round's judge training, the final student's training.
    round : int or None
        The round it belongs to (None for embedding and the final student).
    n : int or None
        Texts to embed or annotate, demonstrations to write.
    model : str or None
        For training: ``"judge"`` or ``"student"`` (who judges the rounds).
    """

    kind: str
    round: int = None
    n: int = None
    model: str = None

    @property
    def name(self):
        """The step's name as progress shows it (``"round 1: annotating"``)."""
        if self.kind == "embedding":
            return "embedding"
        if self.kind == "final":
            return "training the student"
        return f"round {self.round}: " + {"writing": "writing demonstrations",
                                          "annotating": "annotating",
                                          "training": "training"}[self.kind]


class Callback:
    """Base class of the loop's callbacks: every hook does nothing."""

    def on_fit_begin(self, n_texts):
        """The loop starts on ``n_texts`` texts."""

    def on_step_begin(self, step):
        """A :class:`Step` begins."""

    def on_step_end(self, step):
        """A :class:`Step` ends (also when it raised)."""

    def on_round_end(self, record):
        """A round ended: its :class:`~skfreeal.loop.RoundRecord`."""

    def on_request(self, event):
        """An LLM request was answered (or found in the cache): its
        :class:`~skfreeal.labelers.RequestEvent`, with its purpose. Called from
        the labeler's worker threads, one event at a time: keep it quick."""

    def on_fit_end(self, stop_reason, n_rounds):
        """The loop stopped after ``n_rounds`` rounds, for ``stop_reason``."""


class Events:
    """Sends each event to every callback, in order.

    Parameters
    ----------
    callbacks : list of Callback
        The user's (``fit``'s ``callbacks``), checked.
    builtin : list of Callback, default=()
        The library's own, called first.
    """

    def __init__(self, callbacks, *, builtin=()):
        callbacks = list(callbacks or [])
        self.callbacks = [*builtin, *callbacks]
        for i, callback in enumerate(callbacks):
            if not isinstance(callback, Callback):
                raise TypeError(
                    f"callbacks[{i}] must be a skfreeal.loop.Callback (subclass it and override "
                    f"the on_* hooks you need), got {callback!r}.")

    def emit(self, hook, *args):
        """Call ``hook`` (an ``on_*`` name) on every callback."""
        for callback in self.callbacks:
            getattr(callback, hook)(*args)

    def request(self, event):
        """Pass an LLM request's event on (the labelers' observer during ``fit``)."""
        self.emit("on_request", event)

    @contextlib.contextmanager
    def step(self, step):
        """Wrap a :class:`Step`: ``on_step_begin``, the block, ``on_step_end``."""
        self.emit("on_step_begin", step)
        try:
            yield step
        finally:
            for callback in reversed(self.callbacks):
                callback.on_step_end(step)


class ProgressCallback(Callback):
    """Names the progress bars of each step, and times the trainings.

    Parameters
    ----------
    verbose : int
        The estimator's ``verbose`` (see :func:`skfreeal._progress.bars_wanted`).
    """

    def __init__(self, verbose):
        self.verbose = verbose
        self._open = []

    def on_step_begin(self, step):
        stack = contextlib.ExitStack()
        stack.enter_context(progress_stage(step.name))
        if step.kind in ("training", "final"):
            who = "the student" if step.kind == "final" else f"the {step.model}"
            stack.enter_context(progress_timer(f"training {who}", verbose=self.verbose))
        self._open.append(stack)

    def on_step_end(self, step):
        self._open.pop().close()


class LogCallback(Callback):
    """One line on the ``skfreeal`` logger for each step and each round's summary.

    Printed with no logging set-up when ``verbose`` (as scikit-learn
    prints); configured logging decides otherwise.
    """

    def __init__(self, verbose):
        self.verbose = verbose

    def _log(self, msg, *args):
        if self.verbose:
            ensure_log_handler()
            logger.info(msg, *args)

    def on_step_begin(self, step):
        if step.kind == "embedding":
            self._log("embedding %d texts for demonstration retrieval", step.n)
        elif step.kind == "writing" and step.n:
            self._log("round 0: generating %d synthetic demonstrations", step.n)
        elif step.kind == "annotating":
            self._log("round %d: annotating %d texts", step.round, step.n)
        elif step.kind == "training":
            self._log("round %d: training the %s", step.round, step.model)
        elif step.kind == "final":
            self._log("training the student on the final labels")

    def on_round_end(self, record):
        self._log(
            "round %d: %d texts annotated (%d abstained, %d labels changed), %d labelled, "
            "clean %.2f, LLM/judge agreement %.2f, %d LLM calls, %.0f s",
            record.round, record.n_annotated, record.n_abstain, record.n_changed,
            record.n_labelled, record.clean_fraction, record.judge_agreement, record.calls,
            record.seconds,
        )

    def on_fit_end(self, stop_reason, n_rounds):
        if stop_reason == "one_class":
            self._log("round %d: the new answers would leave a single label; keeping round "
                      "%d's labels and judge", n_rounds, n_rounds - 1)
        self._log("stopped after %d round(s): %s", n_rounds, stop_reason)
