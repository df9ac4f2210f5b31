"""Tokenisation, dynamic padding and length-sorted batching of texts.

Texts are tokenised once, without padding; each batch is padded to its own
longest sequence. Inference visits the texts sorted by length, so a batch
holds texts of similar length and wastes little compute on padding, and
writes each result back to the text's input position.
"""

import numpy as np
import torch

__all__ = [
    "CLEAN",
    "NOISY",
    "UNLABELLED",
    "TrainingSet",
    "PadCollate",
    "auto_max_length",
    "batched_apply",
    "encoder_path",
    "load_tokenizer",
    "pad_sequences",
    "resolve_device",
    "token_chunks",
    "tokenize",
]

# Per-sample status during robust training (see TrainingSet.status).
CLEAN, NOISY, UNLABELLED = 1, 0, -1


def resolve_device(device):
    """Map ``"auto"`` to ``"cuda"`` when a GPU is visible, else ``"cpu"``."""
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return str(device)


def encoder_path(model_name_or_path):
    """The encoder to load, as a str: ``model_name_or_path``, else the packaged MiniLM."""
    from .._assets import minilm_path

    return str(model_name_or_path or minilm_path())


def load_tokenizer(model_name_or_path):
    """Load the tokenizer that goes with a transformers encoder."""
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(model_name_or_path)


def tokenize(tokenizer, texts, max_length):
    """Token ids of each text (special tokens added, truncated, unpadded).

    Parameters
    ----------
    tokenizer : transformers tokenizer
    texts : list of str
    max_length : int
        Longest sequence kept, special tokens included.

    Returns
    -------
    input_ids : list of list of int
    """
    encoded = tokenizer(
        list(texts), truncation=True, max_length=max_length, padding=False,
        return_attention_mask=False, return_token_type_ids=False,
    )
    return encoded["input_ids"]


def auto_max_length(tokenizer, texts, *, percentile=95, floor=64, cap=256):
    """A truncation length from the texts' token lengths.

    The ``percentile``-th percentile of the token lengths (special tokens
    included), at least ``floor`` and at most ``cap`` and the tokenizer's
    ``model_max_length``. Padding is per batch, so a length above every
    text's costs nothing; the cap bounds the cost of a training step, which
    grows with the longest text of the batch.

    Parameters
    ----------
    tokenizer : transformers tokenizer
    texts : list of str
    percentile : float, default=95
    floor, cap : int, default=64, 256

    Returns
    -------
    max_length : int
    """
    model_max = getattr(tokenizer, "model_max_length", None) or cap
    top = int(min(cap, model_max)) if model_max < 10**6 else int(cap)  # 1e30: no limit known
    lengths = [len(ids) for ids in tokenize(tokenizer, texts, top)]
    return int(min(top, max(floor, np.ceil(np.percentile(lengths, percentile)))))


def pad_sequences(sequences, pad_id):
    """Pad token id lists to the longest one.

    Returns
    -------
    input_ids, attention_mask : LongTensor of shape (n, longest)
    """
    lengths = np.fromiter(map(len, sequences), dtype=np.int64, count=len(sequences))
    longest = int(lengths.max())
    ids = np.full((len(sequences), longest), pad_id, dtype=np.int64)
    for row, seq in enumerate(sequences):
        ids[row, : len(seq)] = seq
    mask = (np.arange(longest) < lengths[:, None]).astype(np.int64)
    return torch.from_numpy(ids), torch.from_numpy(mask)


def token_chunks(lengths, max_tokens):
    """Split a batch's rows into micro-batches of at most ``max_tokens`` padded tokens.

    A micro-batch of ``m`` rows costs ``m * sum(longest row of each view)``:
    the tokens its padded views hold (e.g. a text and its augmented view).
    Rows are taken longest first, so rows of similar length share a
    micro-batch; a single row above the budget makes a micro-batch alone.

    Parameters
    ----------
    lengths : array-like of shape (n_rows,) or (n_rows, n_views)
        Token count of each row (in each view).
    max_tokens : int or None
        The budget; None: one micro-batch.

    Returns
    -------
    chunks : list of LongTensor
        Row indices of each micro-batch; together each row once.
    """
    lengths = np.asarray(lengths, dtype=np.int64).reshape(len(lengths), -1)
    if max_tokens is None or len(lengths) * lengths.max(axis=0).sum() <= max_tokens:
        return [torch.arange(len(lengths))]
    order = np.argsort(-lengths.sum(axis=1), kind="stable")
    chunks, start, longest = [], 0, np.zeros(lengths.shape[1], dtype=np.int64)
    for k, row in enumerate(order):
        grown = np.maximum(longest, lengths[row])
        if k > start and (k - start + 1) * grown.sum() > max_tokens:
            chunks.append(torch.from_numpy(order[start:k].copy()))
            start, grown = k, lengths[row].copy()
        longest = grown
    chunks.append(torch.from_numpy(order[start:].copy()))
    return chunks


def batched_apply(fn, sequences, *, batch_size, pad_id, device, max_tokens=None):
    """Apply ``fn(input_ids, attention_mask)`` to all sequences, fast.

    Batches are formed in order of decreasing length (dynamic padding, the
    longest batch first so that a memory error shows at once) and run under
    :func:`torch.inference_mode`; rows come back in input order. With
    ``max_tokens``, a batch also holds at most that many padded tokens (rows
    times its longest sequence; at least one row), which bounds the memory
    of a pass whatever the texts' length.

    Parameters
    ----------
    fn : callable
        Maps padded ``(input_ids, attention_mask)`` tensors on ``device`` to a
        tensor with one row per sequence.
    sequences : list of list of int
    batch_size : int
    pad_id : int
    device : str or torch.device
    max_tokens : int, default=None
        Padded tokens a batch may hold; None: ``batch_size`` rows whatever
        their length.

    Returns
    -------
    out : ndarray of shape (n_sequences, ...), float32
    """
    lengths = np.fromiter(map(len, sequences), dtype=np.int64, count=len(sequences))
    order = np.argsort(-lengths, kind="stable")
    out = None
    start = 0
    with torch.inference_mode():
        while start < len(order):
            size = batch_size
            if max_tokens is not None:  # the first row of the batch is its longest
                size = min(size, max(1, max_tokens // max(1, int(lengths[order[start]]))))
            rows = order[start : start + size]
            start += size
            ids, mask = pad_sequences([sequences[i] for i in rows], pad_id)
            result = fn(ids.to(device), mask.to(device)).float().cpu().numpy()
            if out is None:
                out = np.empty((len(sequences),) + result.shape[1:], dtype=np.float32)
            out[rows] = result
    return out


class TrainingSet(torch.utils.data.Dataset):
    """Training texts as token ids, with the state that changes every epoch.

    An item is ``((input_ids, aug_input_ids, status), y)``. ``active`` holds
    the sample indices the epoch iterates over (the labelled ones during
    warm-up, all of them in robust epochs); ``aug_ids`` the augmented views
    (None until the first robust epoch); ``status`` is :data:`CLEAN`,
    :data:`NOISY` or :data:`UNLABELLED` per sample.

    Parameters
    ----------
    texts : list of str
    input_ids : list of list of int
    y : ndarray of shape (n_samples,), dtype=int64, or (n_samples, n_labels), dtype=float32
        Class index, -1 when unlabelled; or (multi-label) indicator rows, a
        row of -1 when unlabelled.
    """

    def __init__(self, texts, input_ids, y):
        self.texts = texts
        self.input_ids = input_ids
        y = np.asarray(y)
        self.y = y.astype(np.float32) if y.ndim == 2 else y.astype(np.int64)
        labelled = np.all(self.y.reshape(len(self.y), -1) >= 0, axis=1)
        self.labelled = np.flatnonzero(labelled)
        self.status = np.where(labelled, CLEAN, UNLABELLED)
        self.aug_ids = None
        self.active = self.labelled

    def __len__(self):
        return len(self.active)

    def __getitem__(self, k):
        i = self.active[k]
        aug = None if self.aug_ids is None else self.aug_ids[i]
        return (self.input_ids[i], aug, self.status[i]), self.y[i]


class PadCollate:
    """Collate items of :class:`TrainingSet` into padded tensors.

    Parameters
    ----------
    pad_id : int
        The tokenizer's padding id.
    """

    def __init__(self, pad_id):
        self.pad_id = pad_id

    def __call__(self, items):
        xs, ys = zip(*items)
        ids, augs, status = zip(*xs)
        input_ids, attention_mask = pad_sequences(ids, self.pad_id)
        X = {
            "input_ids": input_ids,
            "attention_mask": attention_mask,
            "status": torch.as_tensor(np.asarray(status, dtype=np.int64)),
        }
        if augs[0] is not None:
            X["aug_input_ids"], X["aug_attention_mask"] = pad_sequences(augs, self.pad_id)
        # int64 class indices, or float32 indicator rows (multi-label)
        return X, torch.as_tensor(np.asarray(ys))
