"""The requests of one run that the cache could not answer, handed out as the budget allows.

:meth:`BaseLabeler._run` answers what it can from the cache, sends each
distinct remaining request once, and raises
:class:`~skfreeal.labelers.BudgetExceededError` when the budget stopped it.
What it sends goes through one overridable method,
:meth:`BaseLabeler._complete_batch`, which takes a :class:`Jobs` queue and a
``deliver`` callback: taking a job from the queue reserves its worst-case
tokens (the queue ends where the budget would be passed), and ``deliver``
charges the answer, stores it in the cache and releases the reservation.
A backend that sends requests its own way (a Batch API, one HTTP request for
many prompts) overrides only that method and keeps the cache, the budget and
the usage record.
"""

from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait

__all__ = ["Job", "Jobs", "complete_concurrently"]


class Job:
    """One request to send: ``messages`` and ``params`` for :meth:`BaseLabeler._complete`.

    Attributes
    ----------
    messages : list of dict
        The chat messages.
    params : dict
        The sampling parameters (``temperature``, ``max_tokens``...).
    key : str
        Its cache key.
    """

    __slots__ = ("messages", "params", "key", "reserved")

    def __init__(self, messages, params, key):
        self.messages = messages
        self.params = params
        self.key = key
        self.reserved = None  # (prompt, completion) tokens held in the budget

    def __repr__(self):
        return f"Job(key={self.key[:12]!r}, n_messages={len(self.messages)})"


class Jobs:
    """An iterator of :class:`Job` in send order that ends where the budget would be passed.

    Taking a job reserves its worst case in the budget (the estimated
    prompt tokens plus ``max_tokens``); the reservation is released when
    its answer is delivered. When the next job could pass the budget the
    iterator ends and :attr:`stop` says why.

    Parameters
    ----------
    jobs : list of Job
    budget : Budget
    estimate_prompt_tokens : callable
        ``messages -> int``, an upper estimate of a request's prompt tokens.

    Attributes
    ----------
    stop : str or None
        Why the budget ended the iteration, or None.
    """

    def __init__(self, jobs, budget, estimate_prompt_tokens):
        self._jobs = list(jobs)
        self._next = iter(self._jobs)
        self._budget = budget
        self._estimate = estimate_prompt_tokens
        self.stop = None

    def __len__(self):
        """How many requests the run has to send (the budget may refuse some)."""
        return len(self._jobs)

    def __iter__(self):
        return self

    def __next__(self):
        if self.stop is not None:
            raise StopIteration
        job = next(self._next)
        worst = (self._estimate(job.messages), job.params["max_tokens"])
        self.stop = self._budget.reserve(*worst)
        if self.stop is not None:
            raise StopIteration
        job.reserved = worst
        return job

    def release(self, job):
        """Give back a job's reservation (its answer arrived, or it failed)."""
        if job.reserved is not None:
            self._budget.release(*job.reserved)
            job.reserved = None


def complete_concurrently(jobs, deliver, complete, concurrency):
    """Send ``jobs`` with ``complete`` on up to ``concurrency`` threads, in order.

    A job is taken from the queue (and so reserved in the budget) only when
    a thread is free. The first failure stops new submissions and is raised
    once the calls in flight (already paid for) are in and delivered.

    Parameters
    ----------
    jobs : Jobs
    deliver : callable
        ``deliver(job, response)``, called in the worker thread.
    complete : callable
        ``complete(messages, params) -> response``.
    concurrency : int
    """

    def send(job):
        try:
            deliver(job, complete(job.messages, job.params))
        finally:
            jobs.release(job)

    error, pending = None, set()
    with ThreadPoolExecutor(max_workers=min(concurrency, max(1, len(jobs)))) as pool:
        while True:
            while len(pending) < concurrency and error is None:
                job = next(jobs, None)
                if job is None:
                    break
                pending.add(pool.submit(send, job))
            if not pending:
                break
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                if future.exception() is not None and error is None:
                    error = future.exception()
    if error is not None:
        raise error
