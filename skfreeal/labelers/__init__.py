"""LLM labelers: the annotator half of FreeAL.

A labeler labels texts by in-context learning (:meth:`BaseLabeler.annotate`)
and writes synthetic labelled demonstrations
(:meth:`BaseLabeler.generate_demos`). :class:`OpenAILabeler` talks to any
OpenAI-compatible endpoint; :class:`LocalLabeler` runs the packaged local LLM
in-process. Both cache every answer on disk and account for tokens and cost;
``OpenAILabeler(batch=True)`` sends each pass through the provider's Batch
API at the batch price, and resumes a batch a stopped run left in flight.
:class:`FunctionLabeler` labels with any Python function that answers a
chat request. A labeler is the annotator (prompts, parsing, distributions,
calibration, demonstrations, cache, budget) over a backend
(:class:`skfreeal.labelers.backends.Backend`) that sends the requests;
:class:`RequestEvent` reports each request to whoever observes the labeler
(:meth:`BaseLabeler.observing`, :func:`observing`). A key given to a hosted
backend is held as a :class:`Secret` (:class:`SecretParamsMixin` keeps it
out of ``repr``, pickles and logs).
"""

from ._base import BaseLabeler
from ._cache import ResponseCache, cache_key
from ._events import RequestEvent, observing
from ._function import CallableBackend, FunctionLabeler
from ._llama_build import LlamaBuildError
from ._local import LocalLabeler
from ._openai import OpenAILabeler
from ._parsing import parse_generated_texts, parse_label
from ._retry import LLMCallError
from ._secrets import Secret, SecretParamsMixin
from ._usage import PRICES, BudgetExceededError, Usage

__all__ = [
    "BaseLabeler",
    "OpenAILabeler",
    "LocalLabeler",
    "FunctionLabeler",
    "CallableBackend",
    "RequestEvent",
    "observing",
    "Usage",
    "PRICES",
    "BudgetExceededError",
    "LLMCallError",
    "LlamaBuildError",
    "Secret",
    "SecretParamsMixin",
    "ResponseCache",
    "cache_key",
    "parse_label",
    "parse_generated_texts",
]
