"""The in-process backend: a GGUF model (packaged or a file) run by llama-cpp-python."""

import functools
import os
from pathlib import Path

from ..._assets import LOCAL_LLMS, local_llm_path, sha256_of
from .._label_sets import SCORE_LABEL_SET
from .._llama_build import check_llama_build
from ._base import Backend, never_pickled

__all__ = ["LlamaCppBackend"]

# Chat-template tokens per message, for the cheap length check before tokenising.
_TURN_OVERHEAD = 6


@functools.lru_cache(maxsize=8)
def _file_sha256(path, size, mtime):
    return sha256_of(path)


@functools.lru_cache(maxsize=8)
def _packaged_path(name, cache_root):
    # Assembling/checking a model reads the whole file: once per process.
    return local_llm_path(name)


def _model_file(model):
    """(path, sha256) of a packaged model name or a .gguf path."""
    if model in LOCAL_LLMS:
        path = _packaged_path(model, os.environ.get("SKFREEAL_CACHE_DIR"))
        return path, LOCAL_LLMS[model]["sha256"]
    path = Path(model).expanduser()
    if not path.is_file():
        raise ValueError(
            f"model must be one of {sorted(LOCAL_LLMS)} or the path of a .gguf file, got "
            f"{model!r} (no such file)."
        )
    stat = path.stat()
    return str(path), _file_sha256(str(path), stat.st_size, stat.st_mtime)


def _available_cores():
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


class LlamaCppBackend(Backend):
    """Answers requests with a GGUF model loaded in this process (one request at a time).

    Built by :class:`~skfreeal.labelers.LocalLabeler` from its parameters
    of the same names (see there). The model is loaded on first use; the
    cache key names it by the sha256 of its weights, so a renamed file
    keeps its answers and a new file does not. With ``constrained`` answers
    no text is generated: each label's token sequence is scored.

    Parameters
    ----------
    model : str or path-like, default="qwen2.5-coder-0.5b"
    n_ctx : int, default=2048
    n_threads : int, default=None
        None: every core available to the process.
    n_batch : int, default=512
    """

    def __init__(self, model="qwen2.5-coder-0.5b", *, n_ctx=2048, n_threads=None, n_batch=512):
        self.model = model
        self.n_ctx = n_ctx
        self.n_threads = n_threads
        self.n_batch = n_batch
        self._runner = None
        self._sha = None

    __getstate__ = never_pickled("a loaded model", "which loads the model again")

    def runner(self):
        """The loaded model (a :class:`~skfreeal.labelers.backends._llama_runner.LlamaRunner`),
        loaded on first use."""
        if self._runner is None:
            path, sha = _model_file(str(self.model))
            try:
                import llama_cpp  # noqa: F401
            except ImportError as exc:
                raise ImportError(
                    "LocalLabeler needs llama-cpp-python: pip install 'skfreeal[local]'"
                ) from exc
            check_llama_build(path)  # a build that would crash this process is refused
            from ._llama_runner import LlamaRunner

            self._runner = LlamaRunner(path, n_ctx=self.n_ctx,
                                       n_threads=self.n_threads or _available_cores(),
                                       n_batch=self.n_batch)
            self._sha = sha
        return self._runner

    def model_id(self):
        if self._sha is None:
            self._sha = _model_file(str(self.model))[1]
        # The weights' hash: a renamed file keeps its answers, a new file does not.
        return f"gguf-sha256:{self._sha}"

    def describe(self):
        return f"local model {Path(str(self.model)).name!r}"

    def prices(self):
        return (0.0, 0.0)

    def context_size(self):
        return self.n_ctx

    def count_prompt_tokens(self, messages):
        return len(self.runner().tokens(messages))

    def fit_to_context(self, messages, max_new_tokens):
        runner = self.runner()
        room = self.n_ctx - max_new_tokens
        # Cheap bound first: a token is at least one byte for these tokenisers.
        n_bytes = sum(len(m["content"].encode("utf-8")) for m in messages)
        if n_bytes + _TURN_OVERHEAD * len(messages) <= room:
            return messages
        messages = list(messages)
        # Drop demonstrations (a user/assistant pair after the system message) first.
        while len(messages) > 2 and len(runner.tokens(messages)) > room:
            del messages[1:3]
        over = len(runner.tokens(messages)) - room
        if over > 0:
            text = messages[-1]["content"]
            keep = runner.llm.tokenize(text.encode("utf-8"), add_bos=False, special=False)
            keep = keep[: max(1, len(keep) - over - 1)]
            cut = runner.llm.detokenize(keep).decode("utf-8", "ignore") + "…"
            messages[-1] = {**messages[-1], "content": cut}
        return messages

    def answer_params(self, labels, params, *, constrained):
        if not constrained:
            return super().answer_params(labels, params, constrained=constrained)
        # No text is generated: the labels' own token sequences are scored.
        return {"score_labels": list(labels), "max_tokens": params["max_tokens"]}

    def label_set_params(self, labels, params, *, constrained):
        if not constrained:
            return super().label_set_params(labels, params, constrained=constrained)
        # Each label judged on its own: its "true"/"false" after the shared prompt.
        names = [str(name) for name in getattr(labels, "names", labels)]  # a space, or names
        return {SCORE_LABEL_SET: names, "max_tokens": params["max_tokens"]}

    def complete(self, messages, params, *, run=None):
        if SCORE_LABEL_SET in params:
            return self.runner().score_label_set(messages, params[SCORE_LABEL_SET])
        if "score_labels" in params:
            return self.runner().score_labels(messages, params["score_labels"])
        return self.runner().complete(
            messages,
            max_tokens=params["max_tokens"],
            temperature=params["temperature"],
            seed=params.get("seed"),
            top_logprobs=params.get("top_logprobs", 0),
        )

    def open(self):
        self.runner()
