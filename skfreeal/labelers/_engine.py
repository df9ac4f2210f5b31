"""One run of a labeler's requests: what the cache answers, what goes out, what comes back.

:meth:`BaseLabeler._run` builds a :class:`RequestRun` for a list of
``(messages, params)`` requests and calls :meth:`RequestRun.execute`. The run
reads the cache once, sends each distinct remaining request once (in the
order of their messages, so that consecutive prompts share long prefixes)
through the backend's :meth:`~skfreeal.labelers.backends.Backend.complete_batch`,
charges every answer to the budget, stores it in the cache, reports it to
the observers (:mod:`skfreeal.labelers._events`) and puts it at every
position that asked for it. The run's state (the budget, the cancellation
on Ctrl-C, the observers) is a :class:`RunContext` the run hands to the
backend; nothing is written on the labeler but its usage record. The
budget, the claims of a shared cache and the cancellation live in
:mod:`skfreeal.labelers._requests`.
"""

import logging

from ._cache import cache_key
from ._events import Reporter
from ._requests import BudgetStop, Job, Jobs, RunContext
from ._usage import BudgetExceededError

__all__ = ["RequestRun"]

logger = logging.getLogger("skfreeal.labelers")


class RequestRun:
    """The requests of one :meth:`BaseLabeler._run` and their answers.

    Parameters
    ----------
    labeler : BaseLabeler
    requests : list of (list of dict, dict)
        ``(messages, params)`` pairs.
    call : dict, default=None
        What the observers are told of the verb that asked: ``purpose``,
        ``zero_shot``, ``prior_given`` (see :class:`RequestEvent`).

    Attributes
    ----------
    results : list of dict or None
        The answer of each request, in request order (None: not answered).
    """

    def __init__(self, labeler, requests, call=None):
        self.labeler = labeler
        self.backend = labeler.get_backend()
        self.requests = requests
        self.cache = labeler._get_cache()
        self.budget = labeler._budget()
        call = call or {}
        reporter = Reporter(labeler._observers(), call.get("purpose") or "annotation",
                            self.backend.describe(), bool(call.get("zero_shot")),
                            bool(call.get("prior_given")))
        self.context = RunContext(self.budget, labeler._estimate_prompt_tokens, reporter,
                                  cache=self.cache, verbose=labeler.verbose)
        keys = [cache_key(self.backend.model_id(), m, p) for m, p in requests]
        found = self.cache.get_many(keys) if self.cache is not None else {}
        self.results = [found.get(key) for key in keys]
        self.todo = {}  # key -> positions that asked for it
        for i, key in enumerate(keys):
            if key in found:
                self.context.count("cache_hits")
            elif key in self.todo:
                self.context.count("cache_hits")  # the same request twice in one batch
                self.todo[key].append(i)
            else:
                self.todo[key] = [i]
        self.failures = []
        self.progress = None

    def _fill(self, key, response):
        for i in self.todo[key]:
            self.results[i] = response
        if self.progress is not None:
            self.progress.update(1)

    def answered_elsewhere(self, job, response):
        """A request another run sharing the cache answered."""
        self.context.count("cache_hits", len(self.todo[job.key]))
        self._fill(job.key, response)

    def failed(self, job, exc):
        """A request failed for good: True when it is left unanswered (``on_failure``)."""
        if self.labeler.on_failure != "abstain" or not getattr(exc, "transient", False):
            return False
        self.context.count("failed")
        self.failures.append(str(exc))
        if self.progress is not None:
            self.progress.update(1)
        return True

    def deliver(self, job, response, price_factor=1.0):
        """An answer came in: charge it, cache it, release its reservation, place it.

        ``price_factor`` scales its price (a batch answer collected by a
        synchronous run costs the batch price).
        """
        self.context.charge_answer(response, price_factor, job.started)
        self.labeler._learn_tokens_per_byte(job.messages, response["prompt_tokens"])
        if self.cache is not None:
            self.cache.put(job.key, response)
            self.jobs.answered(job)
        self.jobs.release(job)
        if self.context.cancel.is_set():  # a paid answer that came in after Ctrl-C: cached only
            return
        self._fill(job.key, response)

    def execute(self):
        """Send what the cache could not answer; return the answers in request order.

        Raises
        ------
        BudgetExceededError
            When the budget stopped the run (the answers received are cached).
        KeyboardInterrupt
            On Ctrl-C, after cancelling the calls still retrying.
        """
        labeler, backend = self.labeler, self.backend
        order = sorted(self.todo,
                       key=lambda k: [m["content"] for m in self.requests[self.todo[k][0]][0]])
        self.jobs = Jobs([Job(*self.requests[self.todo[k][0]], k) for k in order], self.budget,
                         labeler._estimate_prompt_tokens, cache=self.cache,
                         lease=backend.claim_lease(), found=self.answered_elsewhere,
                         on_failure=self.failed, cancel=self.context.cancel)
        if not backend.shows_progress():
            self.progress = labeler._progress(len(self.todo))
        stopped = None
        try:
            backend.complete_batch(self.jobs, self.deliver, run=self.context)
        except BudgetStop as exc:  # a retry could have passed the budget
            stopped = exc.reason
        except KeyboardInterrupt:
            self.context.cancel.set()  # stop the calls still retrying
            backend.interrupted()
            raise
        except BaseException:  # a failure: stop the calls still retrying
            self.context.cancel.set()
            raise
        finally:
            self.jobs.release_all()
            if self.progress is not None:
                self.progress.close()
        self._report_failures()
        self._raise_if_stopped(self.jobs.stop or stopped)
        return self.results

    def _report_failures(self):
        if self.failures:
            logger.warning(
                "%d of %d requests to %s failed all their attempts and are left unanswered "
                "(on_failure='abstain'); the first: %s",
                len(self.failures), len(self.todo), self.backend.describe(), self.failures[0],
            )

    def _raise_if_stopped(self, stop):
        if stop is None:
            return
        n_done = sum(r is not None for r in self.results)
        raise BudgetExceededError(
            f"LLM budget of {self.backend.describe()} reached: {stop}. {n_done} of "
            f"{len(self.requests)} requests are answered and cached; raise the budget and "
            "re-run to go on from there.",
            usage=self.labeler.usage_.copy(),
            n_done=n_done,
            n_total=len(self.requests),
        )
