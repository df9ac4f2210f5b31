"""Backends: the services that answer a labeler's requests (see :class:`Backend`).

:class:`OpenAIBackend` talks to any OpenAI-compatible endpoint (the hosted
services, vLLM, Ollama, the llama.cpp server), Batch API included;
:class:`LlamaCppBackend` runs a GGUF model in this process;
:class:`~skfreeal.labelers.CallableBackend` calls a Python function. Each is
built by its labeler (:class:`~skfreeal.labelers.OpenAILabeler`,
:class:`~skfreeal.labelers.LocalLabeler`,
:class:`~skfreeal.labelers.FunctionLabeler`) from the labeler's parameters.
"""

from ._base import Backend
from ._llama import LlamaCppBackend
from ._openai import OpenAIBackend

__all__ = ["Backend", "LlamaCppBackend", "OpenAIBackend"]
