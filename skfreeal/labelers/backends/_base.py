"""The backend protocol: what a labeler needs from the service that answers its requests.

A labeler is split in two. The *annotator* (:class:`~skfreeal.labelers.BaseLabeler`)
writes the prompts, reads the answers into labels and label distributions,
calibrates them and writes demonstrations; its request engine answers from the
cache, holds the budget and records the usage. The *backend* sends the
requests the cache could not answer to one model and says what they cost.
A new provider is a :class:`Backend` subclass; :class:`~skfreeal.labelers.FunctionLabeler`
shows the smallest one.

A request is ``(messages, params)``: chat messages (``{"role", "content"}``)
and sampling parameters (``temperature``, ``max_tokens``, ``seed``,
``logprobs``...). Its answer is a dict: ``text`` (str), ``logprobs`` (None,
or ``[token, logprob, [[alt, logprob], ...]]`` per generated token),
``prompt_tokens`` and ``completion_tokens`` (int), optionally
``cached_tokens`` (prompt tokens the model did not evaluate again) and
``label_logprobs`` (one score per label, for a backend that scores labels)
or ``label_probs`` (the probability of each label of a set, each on its own).
"""

__all__ = ["TOP_LOGPROBS", "Backend", "never_pickled"]

#: Alternatives per answer token asked for when logprobs are asked.
TOP_LOGPROBS = 5


def never_pickled(holds, reloaded):
    """A ``__getstate__`` that refuses to pickle a backend, saying what to pickle instead.

    Parameters
    ----------
    holds : str
        What the backend holds that must not be pickled, e.g. ``"a loaded model"``.
    reloaded : str
        What its labeler's pickle does instead, e.g. ``"which loads the model again"``.

    Returns
    -------
    __getstate__ : function
    """

    def __getstate__(self):
        name = type(self).__name__
        article = "An" if name[:1] in "AEIOU" else "A"
        raise TypeError(f"{article} {name} holds {holds}: it is never pickled; pickle its "
                        f"labeler, {reloaded}.")

    return __getstate__


class Backend:
    """Sends a labeler's requests to one model (the provider half of a labeler).

    A subclass implements :meth:`model_id` and :meth:`complete`; the other
    methods have defaults for a service with no price, no context limit and
    no answer format of its own. A backend is built by its labeler on first
    use (never passed as a parameter, never pickled): it may hold a live
    client or a loaded model. Two labelers built alike may share one
    (:meth:`~skfreeal.labelers.BaseLabeler.share_backend`).
    """

    def model_id(self):
        """What identifies the model in the cache key (never a credential): str."""
        raise NotImplementedError

    def describe(self):
        """The model for messages, e.g. ``"model 'gpt-4o-mini' at https://..."``."""
        return f"model {self.model_id()!r}"

    def complete(self, messages, params, *, run=None):
        """Send one request and return its answer dict (see the module).

        Parameters
        ----------
        messages : list of dict
        params : dict
        run : RunContext, default=None
            The run in progress: its ``cancel`` flag (Ctrl-C) stops retries,
            and ``charge_failure`` charges an attempt the service may have
            billed.
        """
        raise NotImplementedError

    def complete_batch(self, jobs, deliver, *, run):
        """Send every job of ``jobs``; hand each answer to ``deliver(job, answer)``.

        The default sends one at a time with :meth:`complete` on up to
        :meth:`concurrency` threads (in the caller's thread when that is 1).
        A service that takes many requests at once (a Batch API) overrides
        it: taking a job from ``jobs`` reserves it in the budget (the
        iterator ends where the budget would be passed), ``jobs.failed(job,
        exc)`` says whether a failed job may be left unanswered, and
        ``jobs.release(job)`` gives back its reservation either way.
        """
        from .._requests import send_jobs

        send_jobs(jobs, deliver, lambda m, p: self.complete(m, p, run=run),
                  self.concurrency(), run)

    def prices(self):
        """USD per million (prompt, completion) tokens, or None when unknown."""
        return None

    def concurrency(self):
        """Requests in flight at once."""
        return 1

    def context_size(self):
        """The model's context length in tokens, or None when not known here."""
        return None

    def count_prompt_tokens(self, messages):
        """The exact prompt tokens of a request, or None without a tokenizer at hand.

        The budget reserves this much for the request; with None the
        labeler estimates it from the bytes of the messages.
        """
        return None

    def fit_to_context(self, messages, max_new_tokens):
        """``messages`` shortened to leave ``max_new_tokens`` of the context (default: as is)."""
        return messages

    def logprob_params(self):
        """Request parameters that ask for the answer tokens' logprobs."""
        return {"logprobs": True, "top_logprobs": TOP_LOGPROBS}

    def answer_params(self, labels, params, *, constrained):
        """The parameters of an annotation request: ``params`` plus the answer format.

        ``labels`` is the label names, or the
        :class:`~skfreeal.labels.MultiLabelSpace` when the answer is a set of
        its labels. ``params`` holds ``temperature`` and ``max_tokens``;
        ``constrained`` asks for an answer that can only be a label (a label
        set), where the service can enforce one. The default adds
        :meth:`logprob_params`.
        """
        return {**params, **self.logprob_params()}

    def label_set_params(self, labels, params, *, constrained):
        """The parameters of an annotation request whose answer is a set of ``labels``.

        As :meth:`answer_params`, for a multi-label space (the prompt asks for
        a JSON list of labels): ``labels`` is the
        :class:`~skfreeal.labels.MultiLabelSpace`. The default is
        :meth:`answer_params`'s (a list schema for endpoints); a
        backend that can score each label on its own (the local model)
        overrides it, and its answer then carries ``label_probs``.
        """
        return self.answer_params(labels, params, constrained=constrained)

    def claim_lease(self):
        """Seconds a claim on a request holds in a shared cache when its process cannot be
        checked: one request with all its retries."""
        return 600.0

    def shows_progress(self):
        """True when the backend draws its own progress bar (the engine then draws none)."""
        return False

    def open(self):
        """Get ready before a run's requests go out (e.g. build a client); default: nothing."""

    def interrupted(self):
        """A run was interrupted (Ctrl-C): drop what calls in flight hold; default: nothing."""
