"""The backend of a labeler written the short way: protected hooks on the labeler itself.

A :class:`~skfreeal.labelers.BaseLabeler` subclass may say how to send a
request with ``_model_id()`` and ``_complete(messages, params)`` (and
optionally ``_complete_batch``, ``_prices``, ``_concurrency``,
``_fit_to_context``, ``_estimate_prompt_tokens``, ``_logprob_params``,
``_annotation_params``, ``_claim_lease``) instead of building a
:class:`~skfreeal.labelers.backends.Backend`. :class:`HookBackend` is the
backend such a labeler gets: each method calls the hook. A hook that takes a
``run`` keyword is given the run in progress (the others never see it).
"""

import inspect

from .backends import Backend

__all__ = ["HookBackend"]


def _takes_run(method):
    return "run" in inspect.signature(method).parameters


class HookBackend(Backend):
    """A :class:`Backend` over the protected hooks of ``labeler`` (see the module)."""

    def __init__(self, labeler):
        self.labeler = labeler

    def model_id(self):
        return self.labeler._model_id()

    def describe(self):
        return self.labeler._describe()

    def complete(self, messages, params, *, run=None):
        complete = self.labeler._complete
        return complete(messages, params, run=run) if _takes_run(complete) else complete(
            messages, params)

    def complete_batch(self, jobs, deliver, *, run):
        batch = self.labeler._complete_batch
        if _takes_run(batch):
            return batch(jobs, deliver, run=run)
        return batch(jobs, deliver)

    def prices(self):
        return self.labeler._prices()

    def concurrency(self):
        return self.labeler._concurrency()

    def fit_to_context(self, messages, max_new_tokens):
        return self.labeler._fit_to_context(messages, max_new_tokens)

    def logprob_params(self):
        return self.labeler._logprob_params()

    def claim_lease(self):
        return self.labeler._claim_lease()

    def shows_progress(self):
        return self.labeler._progress_shown_by_backend()

    def open(self):
        self.labeler._open_backend()

    def interrupted(self):
        self.labeler._interrupted()
