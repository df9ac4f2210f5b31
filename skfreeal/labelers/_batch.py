"""The Batch API path of :class:`~skfreeal.labelers.backends.OpenAIBackend` (``batch=True``).

The requests of one run that the cache cannot answer (an annotation pass, a
demonstration-writing pass) go out as one batch; :class:`BatchRun` follows
it to its end and hands each answer to the run's ``deliver``, which charges
and caches it as it does a synchronous answer. In order:

1. **Budget first.** Every request no other run holds is taken from the
   run's queue before anything is sent, which reserves its worst case in
   the budget at the batch price; when the budget cannot hold them all,
   nothing is submitted and the run raises
   :class:`~skfreeal.labelers.BudgetExceededError`. The requests another
   run (sharing the cache) holds are waited for only after this run's own
   batch ended and its claims were released, then answered from the cache
   or taken over and sent in a batch of their own, by the same steps.
2. **Resume.** A batch recorded in the response cache for the same endpoint
   and model that holds some of these requests (a run stopped half-way) is
   followed again instead of being submitted again. A recorded batch the
   endpoint does not know (HTTP 404) and cannot find by its mark stops the
   run with its record kept: it may run under another API key or project,
   and ``skfreeal batches --forget`` drops a record known to be gone.
3. **Submit.** The rest is written as JSONL (several files past 50,000
   requests or 200 MB), uploaded and submitted; the batch is recorded in the
   response cache (:meth:`ResponseCache.add_batch`) before the run waits
   for it.
4. **Follow.** The batch is read after ``batch_poll_interval`` seconds, then
   at doubling intervals up to ``batch_max_poll_interval``; a progress bar
   shows its status, the requests done and the time elapsed, and each
   change of status is logged.
5. **Collect.** The output and error files are downloaded, each answer is
   delivered (and so cached), then the record is dropped. A resumed batch
   may answer requests its stopped run asked and this run does not send
   (the same cache and fewer texts, or a budget that opens only some):
   billed all the same, they are cached and counted in this run's usage,
   unless the cache already holds them or another run asks them (then
   neither kept nor counted, and the log says how many).
6. **Failures.** A request that failed in a batch with an error a retry may
   fix (a 429 or 5xx line, a request an expired batch never ran, an
   unreadable answer, which is charged as a billed failure) goes out again
   in a new batch, up to ``max_retries`` times, and then fails as a
   synchronous call out of retries does (:class:`LLMCallError`, or an
   abstention with ``on_failure="abstain"``). An error no retry can fix (a
   400, 401, 403 or 404 line), a batch that failed validation and a batch
   cancelled at the provider stop the run; the answers that came are kept.

Ctrl-C stops the wait at once: the batch runs on at the provider, and the
same command picks it up.
"""

import collections
import logging
import shlex
import time
import uuid

from .._progress import progress_bar
from ._batch_api import BatchAPI
from ._batch_files import Result, read_results, request_line, split_requests
from ._completion import MalformedResponse, read_completion
from ._requests import BudgetStop
from ._retry import LLMCallError

__all__ = ["BATCH_LEASE", "BATCH_PRICE_FACTOR", "BatchRun"]

logger = logging.getLogger("skfreeal.labelers")

#: The price of a batch request as a fraction of the synchronous price (OpenAI's: half).
BATCH_PRICE_FACTOR = 0.5
#: Seconds a claim on a request sent in a batch holds when its process cannot be
#: checked: the 24 h completion window, and two hours to spare.
BATCH_LEASE = 26 * 3600.0

_FINAL = ("completed", "failed", "expired", "cancelled")


class _Batch:
    """A batch the run follows: its record and the provider's last word on it."""

    def __init__(self, token, keys, created, batch_id=None, *, submitted, level):
        self.token = token
        self.keys = keys
        self.created = created
        self.id = batch_id
        self.submitted = submitted  # by this run (else resumed)
        self.level = level  # the answer format its requests asked for
        self.info = None  # the batch object last read

    @property
    def status(self):
        return None if self.info is None else self.info.status

    @property
    def done(self):
        """Requests the provider has finished (answered or failed)."""
        counts = getattr(self.info, "request_counts", None)
        return 0 if counts is None else (counts.completed or 0) + (counts.failed or 0)


class BatchRun:
    """Send a run's jobs through the Batch API and deliver their answers (see the module).

    Parameters
    ----------
    backend : OpenAIBackend
        Sends the files and batches API calls (with its client, which
        :meth:`~OpenAIBackend.open` built) and says how a request is written.
    jobs : Jobs
        The run's queue (:class:`~skfreeal.labelers._requests.Jobs`).
    deliver : callable
        ``deliver(job, response, price_factor)``: charges, caches and places
        an answer; each is charged at ``jobs.price_factor``.
    run : RunContext
        The run's state: its cancellation flag, its budget and observers,
        its response cache (where batches are recorded) and ``verbose``.
    submit : bool, default=True
        False: only follow the recorded batches that hold some of the jobs
        (a synchronous run collecting what an earlier batch run paid for);
        the jobs they do not answer are left in :attr:`left`.

    Attributes
    ----------
    left : set of str
        With ``submit=False``, the keys of the jobs no recorded batch
        answered (not in one, or failed there).
    """

    def __init__(self, backend, jobs, deliver, run, *, submit=True):
        self.submit = submit
        self.left = set()
        self.backend = backend
        self.jobs = jobs
        self.deliver = deliver
        self.run = run
        self.cache = run.cache
        self.api = BatchAPI(backend, run.cancel)
        self.where = {"endpoint": backend.endpoint(), "model": backend.model_id()}
        self.open = {}  # key -> the job still waiting for its answer
        self.tries = collections.Counter()  # key -> batches it failed in
        self.error = None  # the failure that stops the run
        self.budget_stop = None  # why the budget forbids another batch
        self.n_unasked = 0  # answers kept for requests no open job waited for
        self.n_unasked_skipped = 0  # such answers already stored, or another run's

    def execute(self):
        """Resume, submit and follow batches until every job is answered or failed for good.

        Raises
        ------
        LLMCallError
            A request failed for good (see the module), once every answer
            that came is delivered.
        BudgetStop
            Unreadable answers, charged, leave no room for another batch.
        KeyboardInterrupt
            On Ctrl-C, at once; the batch stays recorded.
        """
        # First the requests no other run holds; then, this run's claims released, the
        # ones other runs held (answered by them by then, or taken over): waiting for
        # those while holding claims could leave two runs waiting on each other.
        for take in (self.jobs.ready, lambda: list(self.jobs)):
            self.open = {job.key: job for job in take()}  # reserves them all in the budget
            try:
                if not self._complete_open():
                    return
            finally:
                for job in self.open.values():
                    self.jobs.release(job)
            if self.error is not None or self.budget_stop is not None:
                break
        if self.budget_stop is not None:
            raise BudgetStop(self.budget_stop)
        if self.error is not None:
            raise self.error

    def _complete_open(self):
        """Resume, then submit and follow batches of the open jobs; False when not submitted."""
        self._resume()
        if not self.submit:
            if not self.run.cancel.is_set():
                self.left.update(self.open)
            return True
        if self.open and self.jobs.stop is not None:
            logger.info("The batch of %d requests to %s is not submitted: %s.",
                        len(self.open), self.backend.describe(), self.jobs.stop)
            return False
        while (self.open and self.error is None and self.budget_stop is None
               and not self.run.cancel.is_set()):
            self._follow(self._submit(list(self.open.values())))
        return True

    # -- resuming -------------------------------------------------------------------

    def _resume(self):
        """Follow the recorded batches that hold some of the open requests."""
        if self.cache is None:
            return
        batches = []
        for record in self.cache.pending_batches(**self.where):
            if self.open.keys().isdisjoint(record["keys"]):
                continue  # another pass's batch
            batch = _Batch(record["token"], record["keys"], record["created"],
                           record["batch_id"], submitted=False, level=self._level())
            if batch.id is None and not self._recover(batch):
                continue
            logger.info("Resuming batch %s of %d requests to %s, submitted %s ago (recorded "
                        "in %s).", batch.id, len(batch.keys), self.backend.describe(),
                        _duration(time.time() - batch.created), self.cache.path)
            batches.append(batch)
        if batches:
            self._follow(batches)

    def _find_by_mark(self, batch):
        """The batch carrying ``batch``'s token, adopted (its id noted); None when none does."""
        try:
            found = self.api.find(batch.token, batch.created)
        except LLMCallError as exc:
            if exc.status_code not in (404, 405, 501):  # e.g. a rejected key: keep the record
                raise
            return None  # an endpoint that cannot list batches
        if found is not None:
            batch.id, batch.info = found.id, found
            self.cache.set_batch_id(batch.token, found.id)
        return found

    def _recover(self, batch):
        """Find a batch whose run stopped before it knew the id; False when there is none."""
        if self._find_by_mark(batch) is None:
            logger.warning("A batch of %d requests to %s was being submitted when its run "
                           "stopped, and the endpoint lists no batch with its mark: its "
                           "requests are submitted again. (Had that run used another API key "
                           "or project, a batch it created runs there too.)", len(batch.keys),
                           self.backend.describe())
            self.cache.drop_batch(batch.token)
            return False
        return True

    # -- submitting -----------------------------------------------------------------

    def _submit(self, jobs):
        """Upload and create the batches of ``jobs`` (one per file), each recorded first."""
        lines = [request_line(job.key, self.backend.request_body(job.messages, job.params))
                 for job in jobs]
        batches = []
        for part in split_requests(lines):
            content = b"".join(lines[i] for i in part)
            batch = _Batch(uuid.uuid4().hex, [jobs[i].key for i in part], time.time(),
                           submitted=True, level=self._level())
            file_id = self.api.upload(content, f"skfreeal-{batch.token[:12]}.jsonl")
            if self.cache is not None:
                self.cache.add_batch(batch.token, input_file_id=file_id, keys=batch.keys,
                                     **self.where)
            batch.info = self.api.create(file_id, batch.token, batch.created)
            batch.id = batch.info.id
            if self.cache is not None:
                self.cache.set_batch_id(batch.token, batch.id)
                where = f"recorded in {self.cache.path}: a stopped run resumes it"
            else:
                where = "recorded nowhere (cache=None): a stopped run submits it again"
            logger.info("Submitted batch %s of %d requests (%.1f MB) to %s; %s.", batch.id,
                        len(part), len(content) / 1e6, self.backend.describe(), where)
            batches.append(batch)
        return batches

    def _level(self):
        return self.backend.format_level

    # -- following ------------------------------------------------------------------

    def _follow(self, batches):
        """Wait for ``batches`` to end (reading them at growing intervals), then collect them."""
        backend = self.backend
        bar = progress_bar(sum(len(b.keys) for b in batches), unit="request",
                           desc=f"LLM calls ({backend.describe()})", verbose=self.run.verbose)
        base = bar.desc if bar is not None else ""
        delay = float(backend.batch_poll_interval)
        cap = max(float(backend.batch_max_poll_interval), delay)
        try:
            for batch in batches:
                if batch.info is None:  # resumed: where is it now?
                    self._poll(batch)
            while True:
                _show(bar, base, batches)
                if all(b.status in _FINAL for b in batches):
                    break
                if self.run.cancel.wait(delay):
                    return
                delay = min(2 * delay, cap)
                for batch in batches:
                    if batch.status not in _FINAL:
                        self._poll(batch)
        finally:
            if bar is not None:
                bar.close()
        for batch in batches:
            self._collect(batch)

    def _poll(self, batch):
        """Read a batch's status; log a change."""
        try:
            info = self.api.retrieve(batch.id)
        except LLMCallError as exc:
            if exc.status_code != 404 or batch.submitted:
                raise
            info = self._unknown(batch)
        if info.status != batch.status and info.status not in _FINAL:
            counts = info.request_counts
            logger.info("Batch %s: %s (%d of %d requests done).", batch.id, info.status,
                        (counts.completed or 0) + (counts.failed or 0) if counts else 0,
                        len(batch.keys))
        batch.info = info

    def _unknown(self, batch):
        """The batch a recorded id the endpoint says it does not know (HTTP 404) stands for.

        Looked for by its mark; when the endpoint has no batch with it, the
        run stops and the record stays: the batch may run and be billed
        under another API key or project, and submitting its requests again
        would pay for them twice.
        """
        found = self._find_by_mark(batch)
        if found is not None:
            return found
        raise LLMCallError(
            f"Batch {batch.id} is unknown to {self.backend.describe()} (HTTP 404). If the "
            f"server lost it (e.g. it restarted), forget it with {self._forget_command(batch)} "
            "and run this again. Else it may run, and be billed, under another API key or "
            f"project: use that key. Its {len(batch.keys)} requests were not submitted again "
            f"(recorded {_duration(time.time() - batch.created)} ago in {self.cache.path}).",
            status_code=404,
        )

    def _forget_command(self, batch):
        """The ``skfreeal batches --forget`` command that drops ``batch``'s record."""
        from .._cache_dir import get_cache_dir

        where = ("" if self.cache.path == get_cache_dir() / "responses.sqlite"
                 else f" --cache {shlex.quote(str(self.cache.path))}")
        return f"`skfreeal batches --forget {batch.token}{where}`"

    # -- collecting -----------------------------------------------------------------

    def _collect(self, batch):
        """Deliver a finished batch's answers, drop its record, settle its failures."""
        mine = set(batch.keys)
        failures, n_answers = {}, 0
        unasked_before, skipped_before = self.n_unasked, self.n_unasked_skipped
        for file_id in (batch.info.output_file_id, batch.info.error_file_id):
            if not file_id:
                continue
            for result in read_results(self.api.download(file_id)):
                if result.custom_id in mine:
                    n_answers += self._take(result, failures)
        for key in batch.keys:
            if key in self.open and key not in failures:
                failures[key] = self._not_run(batch, key)
        if self.cache is not None:
            self.cache.drop_batch(batch.token)  # its answers are cached
        elapsed = (batch.info.completed_at or batch.info.expired_at or batch.info.failed_at
                   or batch.info.cancelled_at or time.time()) - batch.created
        logger.info("Batch %s %s after %s: %d answers, %d requests failed or not run.",
                    batch.id, batch.status, _duration(elapsed), n_answers, len(failures))
        if self.n_unasked > unasked_before:
            logger.info("%d of them answer requests that the run which submitted the batch "
                        "asked and this run did not send (it asks fewer texts, or its budget "
                        "stopped first): paid for, they are cached and counted in this run's "
                        "usage.", self.n_unasked - unasked_before)
        if self.n_unasked_skipped > skipped_before:
            logger.info("%d more answers of batch %s were not kept: the cache already holds "
                        "them, or another run is asking them.",
                        self.n_unasked_skipped - skipped_before, batch.id)
        self._settle(batch, failures)

    def _take(self, result, failures):
        """Deliver or keep an answer (True); False when not kept or a failure (noted in
        ``failures``)."""
        key = result.custom_id
        job = self.open.get(key)
        if not result.ok:
            if job is not None:
                failures[key] = result
            return False
        try:
            response = read_completion(result.body)
        except MalformedResponse as exc:
            if job is not None:  # billed all the same
                stop = self.run.charge_failure(job.messages, job.params, exc.usage or {},
                                               self.jobs.price_factor)
                self.budget_stop = self.budget_stop or stop
                failures[key] = result._replace(status=None, message=str(exc),
                                                code="unreadable_answer")
            return False
        if job is None:  # asked by a run that stopped, and paid for: keep it
            return self._keep_unasked(key, response)
        del self.open[key]
        self.deliver(job, self.backend.with_usage(response, job.messages, job.params, self.run),
                     self.jobs.price_factor)
        return True

    def _keep_unasked(self, key, response):
        """Cache and charge an answer no open job of this run waits for.

        A stopped run asked for it (this run asks fewer texts, or the budget
        let it open only some of its requests) and the provider billed it
        when the batch ran, so this run stores it and counts it in its usage
        at ``jobs.price_factor``, once: only when it can claim the request
        in the shared cache, so not when the cache already holds the answer
        (another run collected it) nor while another live run holds the
        request (that run delivers it). An answer that reports no tokens
        counts as a call of 0 tokens.

        Returns
        -------
        kept : bool
            Whether this run stored and counted it.
        """
        if self.cache is None or not self.jobs.claim_stray(key):
            self.n_unasked_skipped += 1
            return False
        response["prompt_tokens"] = response["prompt_tokens"] or 0
        response["completion_tokens"] = response["completion_tokens"] or 0
        self.cache.put(key, response)  # and drops the claim
        self.run.charge_answer(response, self.jobs.price_factor)
        self.n_unasked += 1
        return True

    def _not_run(self, batch, key):
        """The failure of a request a finished batch has no line for."""
        status = batch.status
        if status == "failed":
            errors = getattr(getattr(batch.info, "errors", None), "data", None) or []
            why = errors[0].message if errors and errors[0].message else "no reason given"
            return Result(key, None, None, f"the batch failed validation: {why}", "batch_failed")
        if status == "cancelled":
            return Result(key, None, None, "the batch was cancelled at the provider",
                          "batch_cancelled")
        if status == "expired":
            return Result(key, None, None, "not run before the batch expired", "batch_expired")
        return Result(key, None, None, "no line in the batch's output or error file", None)

    def _settle(self, batch, failures):
        """Keep for the next batch what may succeed there; fail the rest as a call would."""
        again = []
        for key, result in failures.items():
            job = self.open.get(key)
            if job is None:
                continue
            if "response_format" in job.params and self.backend.format_refused(
                    result.status, result.message, batch.level):
                again.append(key)  # the simpler format is not a retry
                continue
            self.tries[key] += 1
            if result.transient and self.tries[key] <= self.backend.max_retries:
                again.append(key)
                self.run.count("retries")
                continue
            del self.open[key]
            exc = self._call_error(batch, result)
            goes_on = self.jobs.failed(job, exc)
            self.jobs.release(job)
            if not goes_on and self.error is None:
                self.error = exc
        if again and self.error is None and self.budget_stop is None:
            kinds = collections.Counter(_kind(failures[key]) for key in again)
            logger.info("%d requests of batch %s go out again in a new batch: %s (the first: "
                        "%s).", len(again), batch.id,
                        ", ".join(f"{n} {kind}" for kind, n in sorted(kinds.items())),
                        self._failure(failures[again[0]]))

    def _call_error(self, batch, result):
        """The LLMCallError of a request that failed for good in ``batch``."""
        tries = self.tries[result.custom_id]
        after = f" after {tries} batch(es)" if result.transient else ""
        return LLMCallError(
            f"The LLM call to {self.backend.describe()} failed in batch {batch.id}{after}: "
            f"{self._failure(result)}.",
            status_code=result.status, transient=result.transient,
        )

    def _failure(self, result):
        """A one-line, credential-free account of a failed line."""
        head = _kind(result)
        text = f"{head} ({result.message[:300]})" if result.message else head
        return self.backend.scrub(text)


def _kind(result):
    """What kind of failure a line is: ``"HTTP 500"``, ``"batch_expired"``..."""
    return f"HTTP {result.status}" if result.status else (result.code or "no response")


def _show(bar, base, batches):
    """The bar: the batches' status in its description, the requests done as its count."""
    if bar is None:
        return
    statuses = collections.Counter(b.status or "submitted" for b in batches)
    status = (next(iter(statuses)) if len(statuses) == 1
              else ", ".join(f"{n} {s}" for s, n in statuses.items()))
    done = sum(b.done for b in batches)
    if done > bar.n:
        bar.update(done - bar.n)
    text = f"{base}, batch {status}"
    if text != bar.desc:
        bar.set_description_str(text)  # and shown at once: a change of status is news


def _duration(seconds):
    """``"42 s"``, ``"3 min 2 s"`` or ``"5 h 3 min"``."""
    seconds = int(max(0, round(seconds)))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60} min"
