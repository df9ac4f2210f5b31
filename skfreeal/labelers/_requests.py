"""The requests of one run that the cache could not answer, handed out as the budget allows.

:meth:`BaseLabeler._run` answers what it can from the cache, sends each
distinct remaining request once, and raises
:class:`~skfreeal.labelers.BudgetExceededError` when the budget stopped it.
What it sends goes through one method of the backend,
:meth:`~skfreeal.labelers.backends.Backend.complete_batch`, which takes a :class:`Jobs` queue and a
``deliver`` callback: taking a job from the queue reserves its worst-case
tokens (the queue ends where the budget would be passed), and ``deliver``
charges the answer, stores it in the cache and releases the reservation.
A backend that sends requests its own way (a Batch API, one HTTP request for
many prompts) overrides only that method; the cache, the budget and the
usage record stay the labeler's.

Taking a job also *claims* it in a shared cache (see
:class:`~skfreeal.labelers.ResponseCache`): a request another run is sending
is put aside and its answer read from the cache when it lands, so runs that
share a cache never pay twice for one request. A :class:`RunContext` carries
what a backend's retry loop needs from the run: the cancellation flag set on
Ctrl-C and the budget that failed attempts are charged to.
"""

import queue
import threading
import time
import uuid

__all__ = ["Job", "Jobs", "RunContext", "complete_concurrently", "send_jobs"]

# Seconds between two looks at requests another run is answering.
_POLL = 0.1


class RunContext:
    """What one :meth:`BaseLabeler._run` shares with the code that sends its requests.

    Parameters
    ----------
    budget : Budget or None
        Failed attempts that may have been billed are charged to it.
    estimate_prompt_tokens : callable or None
        ``messages -> int``, for an attempt whose usage is unknown.
    reporter : Reporter or None
        Tells the observers of each answer and cache hit.
    cache : ResponseCache or None
        The run's response cache (where a Batch API run records its batches).
    verbose : int, default=0
        The labeler's ``verbose``, for a backend that draws its own progress bar.

    Attributes
    ----------
    cancel : threading.Event
        Set when the run is interrupted: no new attempt, no new job.
    """

    def __init__(self, budget=None, estimate_prompt_tokens=None, reporter=None, *,
                 cache=None, verbose=0):
        self.budget = budget
        self.estimate_prompt_tokens = estimate_prompt_tokens
        self.reporter = reporter
        self.cache = cache
        self.verbose = verbose
        self.cancel = threading.Event()

    def charge_answer(self, response, price_factor=1.0, started=None):
        """Charge an answer from the model to the budget and report it to the observers.

        ``started`` is when its request was taken for sending
        (:func:`time.perf_counter`), for the event's seconds.
        """
        if self.budget is not None:
            self.budget.charge(response["prompt_tokens"], response["completion_tokens"],
                               price_factor)
            self.budget.count("cached_tokens", response.get("cached_tokens", 0))
        if self.reporter:
            seconds = 0.0 if started is None else time.perf_counter() - started
            self.reporter.report(cached=False, prompt_tokens=int(response["prompt_tokens"]),
                                 completion_tokens=int(response["completion_tokens"]),
                                 seconds=seconds)

    def count(self, field, n=1):
        """Add ``n`` to a usage counter (``retries``, ``failed``); cache hits are reported."""
        if self.budget is not None:
            self.budget.count(field, n)
        if field == "cache_hits" and self.reporter:
            for _ in range(n):
                self.reporter.report(cached=True)

    def charge_failure(self, messages, params, usage=None, price_factor=1.0):
        """Charge a failed attempt the endpoint may have billed; why to stop retrying, or None.

        Parameters
        ----------
        messages, params
            The request.
        usage : dict or None
            ``prompt_tokens`` and ``completion_tokens`` when the endpoint
            reported them (either may be None); the request's worst case
            (estimated prompt, ``max_tokens``) stands in for what is missing.
        price_factor : float, default=1.0
            Its price as a fraction of the budget's prices.
        """
        if self.budget is None:
            return None
        usage = usage or {}
        prompt = usage.get("prompt_tokens")
        completion = usage.get("completion_tokens")
        if prompt is None:
            prompt = self.estimate_prompt_tokens(messages) if self.estimate_prompt_tokens else 0
        if completion is None:
            completion = params.get("max_tokens", 0)
        return self.budget.charge_failure(prompt, completion, price_factor)


class BudgetStop(Exception):
    """A retry could pass the budget: the run stops as if the budget refused the next call."""

    def __init__(self, reason):
        super().__init__(reason)
        self.reason = reason


class Job:
    """One request to send: ``messages`` and ``params`` for :meth:`Backend.complete`.

    Attributes
    ----------
    messages : list of dict
        The chat messages.
    params : dict
        The sampling parameters (``temperature``, ``max_tokens``...).
    key : str
        Its cache key.
    """

    __slots__ = ("messages", "params", "key", "reserved", "claimed", "started")

    def __init__(self, messages, params, key):
        self.messages = messages
        self.params = params
        self.key = key
        self.reserved = None  # (prompt, completion, price factor) held in the budget
        self.claimed = False  # holds a claim in the shared cache
        self.started = None  # when it was taken for sending (time.perf_counter)

    def __repr__(self):
        return f"Job(key={self.key[:12]!r}, n_messages={len(self.messages)})"


class Jobs:
    """An iterator of :class:`Job` in send order that ends where the budget would be passed.

    Taking a job reserves its worst case in the budget (the estimated
    prompt tokens plus ``max_tokens``) and claims it in the shared cache;
    both are released when its answer is delivered or the call fails. A
    job another run has claimed is put aside; once the rest is handed out,
    the iterator waits for those answers (``found``) or takes over a claim
    whose run is gone. When the next job could pass the budget the
    iterator ends and :attr:`stop` says why.

    Parameters
    ----------
    jobs : list of Job
    budget : Budget
    estimate_prompt_tokens : callable
        ``messages -> int``, an upper estimate of a request's prompt tokens.
    cache : ResponseCache, default=None
        Where claims are taken; None sends every job.
    lease : float, default=600.0
        Seconds a claim holds when its process cannot be checked.
    found : callable, default=None
        ``found(job, response)`` for a job another run answered.
    on_failure : callable, default=None
        ``on_failure(job, exc) -> bool``: whether a failed job may be left
        unanswered (True) instead of stopping the run.
    cancel : threading.Event, default=None
        When set, the iterator ends.
    price_factor : float, default=1.0
        The price of these requests as a fraction of the budget's prices
        (requests a synchronous run collects from an earlier batch cost the
        batch price). Reservations use it; whoever sends the jobs charges
        their answers and failures at it (:class:`~skfreeal.labelers._batch.BatchRun`
        does; the synchronous sender only ever gets queues at 1.0).

    Attributes
    ----------
    stop : str or None
        Why the budget ended the iteration, or None.
    price_factor : float
    """

    def __init__(self, jobs, budget, estimate_prompt_tokens, *, cache=None, lease=600.0,
                 found=None, on_failure=None, cancel=None, price_factor=1.0):
        self._jobs = list(jobs)
        self._next = iter(self._jobs)
        self._budget = budget
        self._estimate = estimate_prompt_tokens
        self._cache = cache
        self._lease = lease
        self._found = found
        self._on_failure = on_failure
        self._cancel = cancel or threading.Event()
        self._waiting = []
        self._owner = uuid.uuid4().hex
        self._claimed = set()
        self._lock = threading.Lock()
        self.stop = None
        self.price_factor = float(price_factor)

    def __len__(self):
        """How many requests the run has to send (the budget may refuse some)."""
        return len(self._jobs)

    def keys(self):
        """The cache keys of the jobs, in order."""
        return [job.key for job in self._jobs]

    def subset(self, keys, price_factor=None):
        """A new queue of the jobs whose key is in ``keys``, in order, with the same budget.

        Call it before taking any job from this queue; the new queue claims
        in the shared cache under its own name (:meth:`release_all` it).
        ``price_factor`` (default: this queue's) prices its requests.
        """
        keys = set(keys)
        factor = self.price_factor if price_factor is None else price_factor
        return Jobs([job for job in self._jobs if job.key in keys], self._budget,
                    self._estimate, cache=self._cache, lease=self._lease, found=self._found,
                    on_failure=self._on_failure, cancel=self._cancel, price_factor=factor)

    def __iter__(self):
        return self

    def __next__(self):
        while self.stop is None and not self._cancel.is_set():
            job = next(self._next, None)
            if job is None:
                job = self._take_over()
                if job is None:
                    break
            elif not self._claim(job):
                continue
            if self._reserve(job):
                return job
        raise StopIteration

    def ready(self):
        """The jobs this run can claim now, without waiting for other runs' claims.

        A batch run submits these first and iterates (which waits for the
        jobs other runs hold) only once its own claims are released: holding
        them while it waits could leave two runs waiting on each other.

        Returns
        -------
        jobs : list of Job
            Claimed and reserved in the budget, in order.
        """
        jobs = []
        while self.stop is None and not self._cancel.is_set():
            job = next(self._next, None)
            if job is None:
                break
            if self._claim(job) and self._reserve(job):
                jobs.append(job)
        return jobs

    def _reserve(self, job):
        """Reserve ``job``'s worst case in the budget; False (and unclaimed) when refused."""
        worst = (self._estimate(job.messages), job.params["max_tokens"], self.price_factor)
        self.stop = self._budget.reserve(*worst)
        if self.stop is not None:
            self._unclaim(job)
            return False
        job.reserved = worst
        job.started = time.perf_counter()
        return True

    def _claim(self, job):
        """Claim ``job``; False when another run answered it or is answering it."""
        if self._cache is None:
            return True
        state, value = self._cache.claim(job.key, self._owner, self._lease)
        if state == "claimed":
            job.claimed = True
            with self._lock:
                self._claimed.add(job.key)
            return True
        if state == "answered":
            self._found(job, value)
        else:
            self._waiting.append(job)
        return False

    def claim_stray(self, key):
        """Claim a request whose answer came in but that no open job of this queue waits for.

        Returns
        -------
        claimed : bool
            True when the caller may store the answer (storing it drops the
            claim); False without a cache, when the answer is stored already
            or while another live run holds the request.
        """
        if self._cache is None:
            return False
        state, _ = self._cache.claim(key, self._owner, self._lease)
        return state == "claimed"

    def _take_over(self):
        """Wait for the jobs other runs hold: None once all are answered, or one to send."""
        while self._waiting:
            still = []
            for i, job in enumerate(self._waiting):
                state, value = self._cache.claim(job.key, self._owner, self._lease)
                if state == "claimed":  # its run is gone, or gave up on it
                    job.claimed = True
                    with self._lock:
                        self._claimed.add(job.key)
                    self._waiting = still + self._waiting[i + 1:]
                    return job
                if state == "answered":
                    self._found(job, value)
                else:
                    still.append(job)
            self._waiting = still
            if self._waiting and self._cancel.wait(_POLL):
                return None
        return None

    def _unclaim(self, job):
        if job.claimed:
            job.claimed = False
            with self._lock:
                self._claimed.discard(job.key)
            self._cache.release([job.key], self._owner)

    def answered(self, job):
        """Note that ``job``'s answer is stored (storing it dropped the claim)."""
        job.claimed = False
        with self._lock:
            self._claimed.discard(job.key)

    def release(self, job):
        """Give back a job's reservation and claim (its answer arrived, or it failed)."""
        if job.reserved is not None:
            self._budget.release(*job.reserved)
            job.reserved = None
        self._unclaim(job)

    def release_all(self):
        """Drop every claim this run still holds (it stops early)."""
        with self._lock:
            keys, self._claimed = list(self._claimed), set()
        if keys and self._cache is not None:
            self._cache.release(keys, self._owner)

    def failed(self, job, exc):
        """Whether a job whose call failed may be left unanswered (else the run stops)."""
        return self._on_failure is not None and bool(self._on_failure(job, exc))


def send_jobs(jobs, deliver, complete, concurrency, run):
    """Send ``jobs`` one request at a time with ``complete(messages, params)``.

    On up to ``concurrency`` threads (:func:`complete_concurrently`), or in
    the caller's thread when that is 1 (an in-process model, Ctrl-C,
    profilers); the first failure that may not be left unanswered stops
    new requests and is raised once those in flight are delivered.
    """
    if concurrency > 1:
        complete_concurrently(jobs, deliver, complete, concurrency,
                              cancel=run.cancel if run is not None else None)
        return
    for job in jobs:
        try:
            deliver(job, complete(job.messages, job.params))
        except Exception as exc:
            if not jobs.failed(job, exc):
                raise
        finally:
            jobs.release(job)


def complete_concurrently(jobs, deliver, complete, concurrency, cancel=None):
    """Send ``jobs`` with ``complete`` on up to ``concurrency`` threads, in order.

    A job is taken from the queue (and so reserved in the budget) only when
    a thread is free. The first failure that may not be left unanswered
    (:meth:`Jobs.failed`) stops new submissions and is raised once the
    calls in flight (already paid for) are in and delivered.

    The threads are daemons and the caller's thread only waits: on Ctrl-C
    (``KeyboardInterrupt`` in the caller's thread) ``cancel`` is set, so no
    new attempt is made, and the interrupt is raised at once, without
    waiting for calls in flight (an answer that still comes in is
    delivered, since it is paid for).

    Parameters
    ----------
    jobs : Jobs
    deliver : callable
        ``deliver(job, response)``, called in the worker thread.
    complete : callable
        ``complete(messages, params) -> response``.
    concurrency : int
    cancel : threading.Event, default=None
    """
    cancel = cancel or threading.Event()
    done = queue.Queue()

    def send(job):
        error = None
        try:
            deliver(job, complete(job.messages, job.params))
        except Exception as exc:  # reported to the caller's thread, unless it may be left
            error = None if jobs.failed(job, exc) else exc
        except BaseException as exc:
            error = exc
        finally:
            jobs.release(job)
            done.put(error)

    error, running = None, 0
    try:
        while True:
            while running < concurrency and error is None and not cancel.is_set():
                job = next(jobs, None)
                if job is None:
                    break
                threading.Thread(target=send, args=(job,), daemon=True,
                                 name="skfreeal-llm-call").start()
                running += 1
            if running == 0:
                break
            try:
                failure = done.get(timeout=0.25)
            except queue.Empty:
                continue
            running -= 1
            if failure is not None and error is None:
                error = failure
    except BaseException:
        cancel.set()  # Ctrl-C: no new attempt; calls in flight are abandoned
        raise
    if error is not None:
        raise error
