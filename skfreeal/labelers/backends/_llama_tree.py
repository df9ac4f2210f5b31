"""A label trie's branches evaluated by llama.cpp in one batch, each seeing only its ancestors.

Scoring many labels after one prompt evaluates every prefix that labels
share (``banking77``'s 77 intents: 54 prefixes). One decode call per prefix
costs a model pass each (and, on shared cores, a thread hand-off each);
here all prefixes go into one batch: each is one token at its depth, tagged
with the sequences (trie branches) it lies on, and llama.cpp's mask by
sequence and position lets a token attend to the prompt and its own
ancestors only, so each prefix's logits are those of the prefix following
the prompt alone (up to the float rounding of a larger matrix product).
"""

import contextlib

from .._label_trie import branch_batches

__all__ = ["allow_sequences", "eval_branches"]


def allow_sequences(llm, n_seqs):
    """Make ``llm``'s context hold ``n_seqs`` sequences besides the prompt's, in one KV buffer.

    ``Llama`` builds its context for one sequence and takes no parameter
    for more, so the context is built again (only when it holds fewer),
    empty: the next prompt is evaluated in full. llama.cpp reserves logits
    for as many rows as sequences, hence no more than the labels need. With
    a unified KV buffer every sequence sees the prompt's cells, and the
    prompt keeps the whole ``n_ctx``.

    Returns
    -------
    max_seqs : int
        Sequences free for branches (sequence 0 is the prompt's), at most
        llama.cpp's limit less one.
    """
    import llama_cpp
    from llama_cpp import _internals

    params = llm.context_params
    wanted = min(n_seqs + 1, int(llama_cpp.llama_max_parallel_sequences()))
    if params.n_seq_max < wanted:
        params.n_seq_max = wanted
        params.kv_unified = True
        llm._ctx.close()  # free the old KV buffer before allocating the new one
        llm._ctx = llm._stack.enter_context(contextlib.closing(
            _internals.LlamaContext(model=llm._model, params=params, verbose=llm.verbose)))
        llm.n_tokens = 0
    return params.n_seq_max - 1


def eval_branches(llm, base, reads, max_seqs, logprobs_at):
    """Next-token log-probabilities after the prompt and each prefix, in batched decodes.

    Parameters
    ----------
    llm : llama_cpp.Llama
        With the prompt's ``base`` tokens evaluated in sequence 0, its
        context made by :func:`allow_sequences` for ``max_seqs``.
    base : int
        The prompt's length: the first prefix token's position.
    reads : dict of tuple of int to tuple of int
        The tokens to read after each prefix (:func:`~skfreeal.labelers.
        _label_trie.trie_reads`).
    max_seqs : int
        Sequences a batch may use besides the prompt's.
    logprobs_at : callable
        ``logprobs_at(i)``: the log-softmax of the logits of batch row ``i``.

    Returns
    -------
    table : dict of tuple of int to dict of int to float
        For each prefix with tokens to read, the log-probability of each
        token in ``reads`` (a prefix that reads none is only evaluated, as
        context for the longer ones).
        The KV cache holds the prompt alone again on return.
    """
    import llama_cpp

    ctx, table = llm.ctx, {}
    memory = llama_cpp.llama_get_memory(ctx)
    for group in branch_batches(reads, max_seqs, llm.n_ctx() - base):
        n_seqs = max(max(seq_ids) for _, seq_ids in group)
        for seq in range(1, n_seqs + 1):
            llama_cpp.llama_memory_seq_cp(memory, 0, seq, 0, base)
        try:
            for start in range(0, len(group), llm.n_batch):
                chunk = group[start: start + llm.n_batch]
                batch = llama_cpp.llama_batch_init(len(chunk), 0, n_seqs)
                try:
                    rows = _fill(batch, chunk, base, table, reads)
                    code = llama_cpp.llama_decode(ctx, batch)
                    if code != 0:
                        raise RuntimeError(
                            f"llama_decode failed ({code}) on {len(chunk)} label-prefix tokens "
                            f"after a prompt of {base} tokens (n_ctx={llm.n_ctx()})")
                    for row, prefix in rows:
                        lp = logprobs_at(row)
                        table[prefix] = {token: float(lp[token]) for token in reads[prefix]}
                finally:
                    llama_cpp.llama_batch_free(batch)
        finally:
            for seq in range(1, n_seqs + 1):  # frees the branches' cells, keeps the prompt's
                llama_cpp.llama_memory_seq_rm(memory, seq, -1, -1)
    return table


def _fill(batch, chunk, base, done, reads):
    """Write ``chunk``'s tokens into ``batch``; the rows whose logits are wanted."""
    rows = []
    for i, (prefix, seq_ids) in enumerate(chunk):
        batch.token[i] = prefix[-1]
        batch.pos[i] = base + len(prefix) - 1
        batch.n_seq_id[i] = len(seq_ids)
        for j, seq in enumerate(seq_ids):
            batch.seq_id[i][j] = seq
        # A prefix shared with an earlier group is only context here, as is one
        # nothing is read after (a logits row costs an output-layer product).
        wanted = prefix not in done and bool(reads[prefix])
        batch.logits[i] = wanted
        if wanted:
            rows.append((i, prefix))
    batch.n_tokens = len(chunk)
    return rows
