"""A GGUF model loaded in-process by llama-cpp-python, decoding with KV-cache reuse.

The engine of :class:`~skfreeal.labelers.backends.LlamaCppBackend`: it
generates (greedy or sampled, with the top logprobs of each answer token)
and scores labels (:meth:`LlamaRunner.score_labels`), evaluating only the
part of each prompt not shared with the previous one.
"""

import json
import threading

import numpy as np

from .._completion import KEPT_LOGPROB_TOKENS
from .._distributions import label_surface_forms
from .._label_sets import (
    TRUTH_WORDS,
    judgement_prefix,
    judgement_reads,
    label_set_probabilities,
)
from .._label_trie import score_label_sequences, trie_leaves, trie_reads
from ._llama_tree import allow_sequences, eval_branches

__all__ = ["LlamaRunner"]


class LlamaRunner:
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
        # Most sequences a batch of label prefixes may use (None: one a branch of the trie).
        self.max_branch_seqs = None
        self.lock = threading.Lock()

    def tokens(self, messages):
        prompt = self.format(messages=messages).prompt
        # The template writes BOS itself where the model wants one.
        return self.llm.tokenize(prompt.encode("utf-8"), add_bos=False, special=True)

    def _logprobs(self, row=-1):
        """The log-softmax of the logits of batch row ``row`` (the last by default)."""
        import llama_cpp

        logits = np.ctypeslib.as_array(
            llama_cpp.llama_get_logits_ith(self.llm.ctx, row), shape=(self.n_vocab,)
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
                if top_logprobs and len(logprobs) < KEPT_LOGPROB_TOKENS:
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
        """Token sequences of each label's surface forms, and the prefixes the trie evaluates.

        Returns ``(sequences, owners, reads)``; see
        :func:`~skfreeal.labelers._label_trie.trie_reads` for ``reads``.
        """
        key = tuple(labels)
        if getattr(self, "_sequences_for", None) != key:
            sequences, owners = [], []
            for i, label in enumerate(labels):
                for form in label_surface_forms(label):
                    sequences.append(tuple(self.llm.tokenize(
                        form.encode("utf-8"), add_bos=False, special=False)))
                    owners.append(i)
            reads = trie_reads(sequences, owners, len(labels), self._end_ids())
            self._sequences = (sequences, owners, reads)
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
        :func:`~skfreeal.labelers._label_trie.score_label_sequences`), all
        of them in one batch after the prompt
        (:func:`~skfreeal.labelers.backends._llama_tree.eval_branches`).

        Returns
        -------
        response : dict
            ``text`` (the most probable label), ``label_logprobs`` (one per
            label), token counts; ``completion_tokens`` counts the label
            tokens evaluated.
        """
        with self.lock:
            sequences, owners, reads = self._label_sequences(labels)
            max_seqs = 0
            if reads:
                # One sequence a branch of the trie (a rebuilt context is empty).
                max_seqs = allow_sequences(self.llm, len(trie_leaves(reads)))
                max_seqs = min(max_seqs, self.max_branch_seqs or max_seqs)
            tokens, reused = self._eval_prompt(messages)
            root = self._logprobs()
            table = eval_branches(self.llm, len(tokens), reads, max_seqs, self._logprobs)
            table[()] = root
            scores, n_evaluated = score_label_sequences(
                sequences, owners, len(labels), table.__getitem__, self._end_ids()
            )
        return {
            "text": labels[int(np.argmax(scores))],
            "logprobs": None,
            "label_logprobs": [float(v) for v in scores],
            "prompt_tokens": len(tokens),
            "completion_tokens": n_evaluated,
            "cached_tokens": reused,
        }


    def _judgement_sequences(self, labels):
        """Each label's continuation tokens, the truth-word ids, and the prefixes to evaluate."""
        key = tuple(labels)
        if getattr(self, "_judgements_for", None) != key:
            sequences = [tuple(self.llm.tokenize(judgement_prefix(label).encode("utf-8"),
                                                 add_bos=False, special=False))
                         for label in labels]
            truth_ids = tuple(
                tuple(sorted({ids[0] for ids in (self.llm.tokenize(
                    word.encode("utf-8"), add_bos=False, special=False) for word in words)
                    if len(ids) == 1})) for words in TRUTH_WORDS)
            if not all(truth_ids):
                raise ValueError(f"The model's tokenizer writes none of {TRUTH_WORDS} as one "
                                 "token: label sets cannot be scored with it.")
            self._judgements = (sequences, truth_ids, judgement_reads(sequences, truth_ids))
            self._judgements_for = key
        return self._judgements

    def score_label_set(self, messages, labels):
        """The probability of each label, each judged on its own after the prompt.

        The prompt is evaluated once; then every label's continuation
        (``{"<label>":``, see :mod:`~skfreeal.labelers._label_sets`) in one
        batch, each seeing the prompt and itself only
        (:func:`~skfreeal.labelers.backends._llama_tree.eval_branches`), and
        the next token is read for ``true`` against ``false``.

        Returns
        -------
        response : dict
            ``text`` (a JSON list of the labels above one half),
            ``label_probs`` (one per label, in [0, 1], not summing to one),
            token counts; ``completion_tokens`` counts the continuation
            tokens evaluated.
        """
        with self.lock:
            sequences, truth_ids, reads = self._judgement_sequences(labels)
            max_seqs = allow_sequences(self.llm, len(trie_leaves(reads)))
            max_seqs = min(max_seqs, self.max_branch_seqs or max_seqs)
            tokens, reused = self._eval_prompt(messages)
            table = eval_branches(self.llm, len(tokens), reads, max_seqs, self._logprobs)
            proba = label_set_probabilities(table, sequences, truth_ids)
        return {
            "text": json.dumps([label for label, p in zip(labels, proba) if p >= 0.5],
                               ensure_ascii=False),
            "logprobs": None,
            "label_probs": [float(p) for p in proba],
            "prompt_tokens": len(tokens),
            "completion_tokens": len(reads),
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
