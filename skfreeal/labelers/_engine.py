"""One run of a labeler's requests: what the cache answers, what goes out, what comes back.

:meth:`BaseLabeler._run` builds a :class:`RequestRun` for a list of
``(messages, params)`` requests and calls :meth:`RequestRun.execute`. The run
reads the cache once, sends each distinct remaining request once (in the
order of their messages, so that consecutive prompts share long prefixes)
through the labeler's ``_complete_batch``, charges every answer to the
budget, stores it in the cache, and puts it at every position that asked
for it. The budget, the claims of a shared cache and the cancellation on
Ctrl-C live in :mod:`skfreeal.labelers._requests`.
"""

import logging

from ._cache import cache_key
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

    Attributes
    ----------
    results : list of dict or None
        The answer of each request, in request order (None: not answered).
    """

    def __init__(self, labeler, requests):
        self.labeler = labeler
        self.requests = requests
        self.cache = labeler._get_cache()
        self.budget = labeler._budget()
        model_id = labeler._model_id()
        keys = [cache_key(model_id, m, p) for m, p in requests]
        found = self.cache.get_many(keys) if self.cache is not None else {}
        self.results = [found.get(key) for key in keys]
        self.todo = {}  # key -> positions that asked for it
        for i, key in enumerate(keys):
            if key in found:
                self.budget.count("cache_hits")
            elif key in self.todo:
                self.budget.count("cache_hits")  # the same request twice in one batch
                self.todo[key].append(i)
            else:
                self.todo[key] = [i]
        self.failures = []
        self.context = RunContext(self.budget, labeler._estimate_prompt_tokens)
        self.progress = None

    def _fill(self, key, response):
        for i in self.todo[key]:
            self.results[i] = response
        if self.progress is not None:
            self.progress.update(1)

    def answered_elsewhere(self, job, response):
        """A request another run sharing the cache answered."""
        self.budget.count("cache_hits", len(self.todo[job.key]))
        self._fill(job.key, response)

    def failed(self, job, exc):
        """A request failed for good: True when it is left unanswered (``on_failure``)."""
        if self.labeler.on_failure != "abstain" or not getattr(exc, "transient", False):
            return False
        self.budget.count("failed")
        self.failures.append(str(exc))
        if self.progress is not None:
            self.progress.update(1)
        return True

    def deliver(self, job, response, price_factor=1.0):
        """An answer came in: charge it, cache it, release its reservation, place it.

        ``price_factor`` scales its price (a batch answer collected by a
        synchronous run costs the batch price).
        """
        self.budget.charge(response["prompt_tokens"], response["completion_tokens"],
                           price_factor)
        self.budget.count("cached_tokens", response.get("cached_tokens", 0))
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
        labeler = self.labeler
        order = sorted(self.todo,
                       key=lambda k: [m["content"] for m in self.requests[self.todo[k][0]][0]])
        self.jobs = Jobs([Job(*self.requests[self.todo[k][0]], k) for k in order], self.budget,
                         labeler._estimate_prompt_tokens, cache=self.cache,
                         lease=labeler._claim_lease(), found=self.answered_elsewhere,
                         on_failure=self.failed, cancel=self.context.cancel)
        self.progress = labeler._progress(len(self.todo))
        labeler._run_context = self.context
        stopped = None
        try:
            labeler._complete_batch(self.jobs, self.deliver)
        except BudgetStop as exc:  # a retry could have passed the budget
            stopped = exc.reason
        except BaseException:  # Ctrl-C, or a failure: stop the calls still retrying
            self.context.cancel.set()
            raise
        finally:
            labeler._run_context = None
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
                len(self.failures), len(self.todo), self.labeler._describe(), self.failures[0],
            )

    def _raise_if_stopped(self, stop):
        if stop is None:
            return
        n_done = sum(r is not None for r in self.results)
        raise BudgetExceededError(
            f"LLM budget of {self.labeler._describe()} reached: {stop}. {n_done} of "
            f"{len(self.requests)} requests are answered and cached; raise the budget and "
            "re-run to go on from there.",
            usage=self.labeler.usage_.copy(),
            n_done=n_done,
            n_total=len(self.requests),
        )
