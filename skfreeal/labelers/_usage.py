"""Token and cost accounting, and the budget that stops a run before it is passed."""

import dataclasses
import math
import threading

__all__ = ["Usage", "PRICES", "price_of", "BudgetExceededError", "Budget",
           "estimate_prompt_tokens"]

# USD per million (prompt, completion) tokens, public list prices of mid-2025.
# They change: pass ``price_table`` to use your own.
PRICES = {
    "gpt-4o-mini": (0.15, 0.60),
    "gpt-4o": (2.50, 10.00),
    "gpt-4.1-nano": (0.10, 0.40),
    "gpt-4.1-mini": (0.40, 1.60),
    "gpt-4.1": (2.00, 8.00),
    "gpt-3.5-turbo": (0.50, 1.50),
    "o4-mini": (1.10, 4.40),
}


class BudgetExceededError(RuntimeError):
    """The next LLM call could take the usage past ``max_tokens`` or ``max_cost``.

    Raised before that call is made. Every answer received so far is in
    the response cache, so a re-run with a larger budget resumes from there.

    Attributes
    ----------
    usage : Usage
        The labeler's usage when the run stopped.
    n_done : int
        How many of the requested texts had an answer.
    n_total : int
        How many texts were requested.
    """

    def __init__(self, message, *, usage=None, n_done=0, n_total=0):
        super().__init__(message)
        self.usage = usage
        self.n_done = n_done
        self.n_total = n_total


@dataclasses.dataclass
class Usage:
    """What a labeler has spent, cumulated over its calls.

    Attributes
    ----------
    calls : int
        Requests answered by the model (an attempt that failed is not a call;
        see ``billed_failures``).
    prompt_tokens, completion_tokens : int
        As reported by the endpoint (exact counts for the local model),
        plus those of ``billed_failures``.
    cached_tokens : int
        Prompt tokens the model did not have to process again because the
        previous prompt began the same way (its KV cache), as reported by
        the endpoint; already included in ``prompt_tokens``.
    cache_hits : int
        Requests answered from the response cache, at no cost.
    retries : int
        Failed attempts that were retried.
    billed_failures : int
        Failed attempts the endpoint may have billed all the same: an answer
        that came back unreadable (truncated, malformed, no choices) or not
        at all after the request was sent (a timeout, a dropped
        connection). Each is charged in the tokens and the cost, at the
        usage the endpoint reported when it did, else at the request's
        worst case (its estimated prompt and ``max_tokens``), so that the
        budget covers what the provider may bill.
    failed : int
        Requests that failed for good and were left unanswered (with
        ``on_failure="abstain"``; with ``"raise"`` the first one stops the
        run).
    cost : float
        Estimated cost in USD, from the price table.
    """

    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0
    cache_hits: int = 0
    retries: int = 0
    billed_failures: int = 0
    failed: int = 0
    cost: float = 0.0

    @property
    def total_tokens(self):
        """Prompt plus completion tokens."""
        return self.prompt_tokens + self.completion_tokens

    def as_dict(self):
        """The fields (and ``total_tokens``) as a plain dict.

        Examples
        --------
        >>> Usage(calls=2, prompt_tokens=10, completion_tokens=2).as_dict()["total_tokens"]
        12
        """
        return {**dataclasses.asdict(self), "total_tokens": self.total_tokens}

    def copy(self):
        """An independent copy."""
        return dataclasses.replace(self)

    def __sub__(self, other):
        """Usage since ``other`` (an earlier copy)."""
        fields = dataclasses.fields(self)
        return Usage(**{f.name: getattr(self, f.name) - getattr(other, f.name) for f in fields})


def price_of(model, price_table=None):
    """(prompt, completion) USD per million tokens for a model name, or None.

    A dated or suffixed name ("gpt-4o-mini-2024-07-18") takes the price of
    its longest listed prefix.

    Parameters
    ----------
    model : str
    price_table : dict of str to (float, float), default=None
        Replaces :data:`PRICES` when given.

    Returns
    -------
    prices : tuple of (float, float) or None

    Examples
    --------
    >>> price_of("gpt-4o-mini-2024-07-18")
    (0.15, 0.6)
    >>> price_of("my-model", {"my-model": (1.0, 2.0)})
    (1.0, 2.0)
    """
    table = PRICES if price_table is None else price_table
    matches = [name for name in table if model == name or model.startswith(name + "-")]
    if not matches:
        return None
    prompt, completion = table[max(matches, key=len)]
    return float(prompt), float(completion)


def estimate_prompt_tokens(messages, tokens_per_byte=None):
    """An upper estimate of a request's prompt tokens, for the budget, without a tokenizer.

    One token per UTF-8 byte, or, once answers have told the real ratio,
    ``tokens_per_byte`` (the largest seen) with a 25% margin; plus a few
    tokens of chat-template overhead per message.

    Examples
    --------
    >>> estimate_prompt_tokens([{"role": "user", "content": "abcd"}], tokens_per_byte=0.2)
    9
    """
    n_bytes = sum(len(m["content"].encode("utf-8")) for m in messages)
    ratio = 1.0 if tokens_per_byte is None else min(1.0, 1.25 * tokens_per_byte)
    return math.ceil(ratio * n_bytes) + 8 * len(messages)


class Budget:
    """Thread-safe usage record with a spending cap checked before each call.

    Calls in flight hold a reservation (their worst case) until they finish,
    so concurrent calls cannot jointly pass the cap.

    Parameters
    ----------
    usage : Usage
        Updated in place.
    max_tokens : int or None
    max_cost : float or None
    prices : tuple of (float, float) or None
        USD per million prompt and completion tokens; None (an unknown
        model) counts no cost, and then ``max_cost`` cannot be checked.
    what : str
        Names the model in messages.
    lock : threading.Lock, default=None
        Guards ``usage``; share one between budgets of the same usage.
    """

    def __init__(
        self, usage, *, max_tokens=None, max_cost=None, prices=None, what="the model", lock=None
    ):
        if max_cost is not None and prices is None:
            raise ValueError(
                f"max_cost={max_cost} needs a price for {what}, which is not in the price "
                "table; pass price_table={model: (usd_per_1M_prompt, usd_per_1M_completion)}."
            )
        self.usage = usage
        self.max_tokens = max_tokens
        self.max_cost = max_cost
        self.prices = prices or (0.0, 0.0)
        self._lock = lock or threading.Lock()
        self._reserved_tokens = 0
        self._reserved_cost = 0.0

    def cost(self, prompt_tokens, completion_tokens, price_factor=1.0):
        """Estimated USD of a call (``price_factor``: its price as a fraction of the budget's)."""
        return (prompt_tokens * self.prices[0]
                + completion_tokens * self.prices[1]) / 1e6 * price_factor

    def reserve(self, prompt_tokens, completion_tokens, price_factor=1.0):
        """Reserve a call's worst case, or return a reason why it would pass the budget.

        Parameters
        ----------
        prompt_tokens, completion_tokens : int
        price_factor : float, default=1.0
            Its price as a fraction of the budget's prices (a request that a
            synchronous run collects from an earlier batch costs the batch
            price); give :meth:`release` the same.

        Returns
        -------
        reason : str or None
            None when the call was reserved.
        """
        tokens = prompt_tokens + completion_tokens
        cost = self.cost(prompt_tokens, completion_tokens, price_factor)
        with self._lock:
            used_tokens = self.usage.total_tokens + self._reserved_tokens
            used_cost = self.usage.cost + self._reserved_cost
            if self.max_tokens is not None and used_tokens + tokens > self.max_tokens:
                return (
                    f"max_tokens={self.max_tokens} would be passed: {used_tokens} tokens used "
                    f"or in flight, and the next call may take up to {tokens}"
                )
            if self.max_cost is not None and used_cost + cost > self.max_cost:
                return (
                    f"max_cost={self.max_cost} USD would be passed: {used_cost:.6f} USD spent "
                    f"or in flight, and the next call may cost up to {cost:.6f}"
                )
            self._reserved_tokens += tokens
            self._reserved_cost += cost
            return None

    def release(self, prompt_tokens, completion_tokens, price_factor=1.0):
        """Drop a reservation (the call finished or failed), as :meth:`reserve` made it."""
        with self._lock:
            self._reserved_tokens -= prompt_tokens + completion_tokens
            self._reserved_cost -= self.cost(prompt_tokens, completion_tokens, price_factor)

    def charge(self, prompt_tokens, completion_tokens, price_factor=1.0):
        """Record an answered call.

        Parameters
        ----------
        prompt_tokens, completion_tokens : int
        price_factor : float, default=1.0
            Its price as a fraction of the budget's prices (a batch answer
            collected by a synchronous run is billed at the batch price).
        """
        with self._lock:
            self.usage.calls += 1
            self.usage.prompt_tokens += int(prompt_tokens)
            self.usage.completion_tokens += int(completion_tokens)
            self.usage.cost += self.cost(prompt_tokens, completion_tokens, price_factor)

    def charge_failure(self, prompt_tokens, completion_tokens, price_factor=1.0):
        """Record a failed attempt the endpoint may have billed; say whether to stop retrying.

        The request's reservation is still held and covers its retry; the
        retry is allowed only while what is spent plus every reservation
        stays within the budget, so the budget is never passed by more than
        what one call's estimate missed. ``price_factor`` is as in
        :meth:`charge`.

        Returns
        -------
        reason : str or None
            Why a retry would risk passing the budget, or None.
        """
        with self._lock:
            self.usage.billed_failures += 1
            self.usage.prompt_tokens += int(prompt_tokens)
            self.usage.completion_tokens += int(completion_tokens)
            self.usage.cost += self.cost(prompt_tokens, completion_tokens, price_factor)
            used_tokens = self.usage.total_tokens + self._reserved_tokens
            used_cost = self.usage.cost + self._reserved_cost
            if self.max_tokens is not None and used_tokens > self.max_tokens:
                return (
                    f"max_tokens={self.max_tokens} could be passed by a retry: {used_tokens} "
                    "tokens spent (unreadable answers included) or in flight"
                )
            if self.max_cost is not None and used_cost > self.max_cost + 1e-12:
                return (
                    f"max_cost={self.max_cost} USD could be passed by a retry: {used_cost:.6f} "
                    "USD spent (unreadable answers included) or in flight"
                )
            return None

    def count(self, field, n=1):
        """Add ``n`` to a counter of the usage (``cache_hits``, ``retries``, ``cached_tokens``)."""
        with self._lock:
            setattr(self.usage, field, getattr(self.usage, field) + n)
