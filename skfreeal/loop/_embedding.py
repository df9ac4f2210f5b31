"""The retrieval embeddings: the training texts embedded once, unit length."""

import numpy as np

from .._console import quiet_transformers
from .._progress import progress_bar

__all__ = ["EMBED_CHUNK", "embed_reusing", "embedding_function"]

# Texts embedded per transform call: the progress bar of a long embedding moves
# this often, and the result does not depend on verbose.
EMBED_CHUNK = 256


def embedding_function(embedder, texts, *, verbose):
    """Fit the retrieval embedder on ``texts``; return a function giving unit-length embeddings.

    Texts are embedded ``EMBED_CHUNK`` at a time, with a progress bar when
    there are more than one chunk of them.

    Parameters
    ----------
    embedder : transformer
        Has ``fit`` and ``transform``.
    texts : list of str
    verbose : int

    Returns
    -------
    embed : callable
        ``embed(batch) -> ndarray of shape (len(batch), dim)``, float32.
    """
    with quiet_transformers():
        embedder.fit(texts)

    def embed(batch):
        bar = None
        if len(batch) > EMBED_CHUNK:
            bar = progress_bar(len(batch), desc="embedding", unit="text", verbose=verbose)
        chunks = []
        for start in range(0, len(batch), EMBED_CHUNK):
            chunk = batch[start:start + EMBED_CHUNK]
            chunks.append(np.asarray(embedder.transform(chunk), dtype=np.float32))
            if bar is not None:
                bar.update(len(chunk))
        if bar is not None:
            bar.close()
        emb = np.concatenate(chunks) if chunks else np.zeros((0, 1), np.float32)
        norms = np.linalg.norm(emb, axis=1, keepdims=True)
        return emb / np.where(norms > 0, norms, 1.0)

    return embed


def embed_reusing(embed, batch, texts, embeddings):
    """Embeddings of ``batch``: the rows of ``embeddings`` for texts among ``texts``.

    Only the texts of ``batch`` not in ``texts`` go through ``embed`` (an
    ``eval_set`` of the training texts, as ``skfreeal label --gold-column``
    passes, costs no second embedding pass).
    """
    row_of = {text: i for i, text in enumerate(texts)}
    rows = np.array([row_of.get(text, -1) for text in batch])
    new = np.flatnonzero(rows < 0)
    out = np.empty((len(batch), embeddings.shape[1]), dtype=embeddings.dtype)
    out[rows >= 0] = embeddings[rows[rows >= 0]]
    if len(new):
        out[new] = embed([batch[i] for i in new])
    return out
