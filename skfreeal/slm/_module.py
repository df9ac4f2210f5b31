"""The student network: a transformers encoder, mean pooling and a linear head."""

from torch import nn

__all__ = ["EncoderClassifier", "LONG_TEXT_TOKENS", "load_encoder", "mean_pool",
           "pooled_embeddings", "resolve_attention_dropout"]


#: Names transformers configurations give the dropout on attention weights.
ATTENTION_DROPOUT_KEYS = ("attention_probs_dropout_prob", "attention_dropout", "attn_pdrop")


#: Truncation length from which ``attention_dropout="auto"`` trains without
#: dropout on the attention weights. Their dropout is a pass over
#: heads x length x length values a layer and keeps PyTorch's CPU attention off
#: its fused kernel, which never stores the attention weights: without it a
#: fit on 200 news-length texts (256 tokens) of the student benchmark's dev
#: split took 1,841 CPU seconds instead of 2,424 and 1.6 GiB instead of 2.4,
#: at the same accuracy (benchmarks/results/student_dev.json). At 64 tokens
#: the weights are small: tweets keep the encoder's dropout.
LONG_TEXT_TOKENS = 128


def resolve_attention_dropout(attention_dropout, max_length):
    """The attention dropout a fit uses.

    Parameters
    ----------
    attention_dropout : float, "auto" or None
        ``"auto"``: 0 when ``max_length`` reaches :data:`LONG_TEXT_TOKENS`,
        else None (the encoder's own).
    max_length : int
        The fit's truncation length.

    Returns
    -------
    attention_dropout : float or None
    """
    if attention_dropout == "auto":
        return 0.0 if max_length >= LONG_TEXT_TOKENS else None
    return attention_dropout


def load_encoder(model_name_or_path, attention_dropout=None):
    """Load a pretrained transformers encoder (no task head) from a name or folder.

    Loaded without transformers' "Loading weights" bar, wherever the load
    happens (a fit, an embedder used alone, a model unpickled for predict).

    Parameters
    ----------
    model_name_or_path : str or path
    attention_dropout : float, default=None
        Dropout on the attention weights while training, set in the
        configuration under the name it uses (BERT's
        ``attention_probs_dropout_prob``, DistilBERT's ``attention_dropout``,
        GPT-2's ``attn_pdrop``); None keeps the encoder's own. An encoder whose
        configuration has none of these names keeps its own too.
    """
    from transformers import AutoConfig, AutoModel

    from .._console import quiet_transformers

    with quiet_transformers():
        if attention_dropout is None:
            return AutoModel.from_pretrained(model_name_or_path)
        config = AutoConfig.from_pretrained(model_name_or_path)
        for key in ATTENTION_DROPOUT_KEYS:
            if hasattr(config, key):
                setattr(config, key, float(attention_dropout))
        return AutoModel.from_pretrained(model_name_or_path, config=config)


def mean_pool(hidden_states, attention_mask):
    """Average the token states of each sequence, padding excluded.

    Parameters
    ----------
    hidden_states : Tensor of shape (batch, length, hidden)
    attention_mask : Tensor of shape (batch, length)

    Returns
    -------
    pooled : Tensor of shape (batch, hidden)
    """
    mask = attention_mask.unsqueeze(-1).to(hidden_states.dtype)
    return (hidden_states * mask).sum(1) / mask.sum(1).clamp(min=1e-9)


class EncoderClassifier(nn.Module):
    """Encoder + mean pooling + dropout + linear head, with hidden-state mixup.

    Mean pooling rather than the ``[CLS]`` state: sentence encoders such as
    all-MiniLM-L6-v2 are trained with it, so the same pooled vector serves as
    the sentence embedding (demo retrieval) and as the classifier's input.

    Parameters
    ----------
    model_name_or_path : str
        Encoder name or folder, loaded with ``AutoModel.from_pretrained``.
    n_classes : int
        Number of outputs of the head.
    dropout : float, default=0.1
        Dropout on the pooled vector before the head.
    attention_dropout : float, default=None
        Dropout on the encoder's attention weights (see :func:`load_encoder`);
        None keeps the encoder's own.
    """

    def __init__(self, model_name_or_path, n_classes, dropout=0.1, attention_dropout=None):
        super().__init__()
        self.encoder = load_encoder(model_name_or_path, attention_dropout)
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(self.encoder.config.hidden_size, n_classes)

    def encode(self, input_ids, attention_mask):
        """Mean-pooled last hidden states, shape (batch, hidden)."""
        out = self.encoder(input_ids=input_ids, attention_mask=attention_mask)
        return mean_pool(out.last_hidden_state, attention_mask)

    def classify(self, pooled):
        """Logits from pooled states."""
        return self.head(self.dropout(pooled))

    def forward(self, input_ids, attention_mask, mix_rows=None, mix_partners=None,
                mix_lambda=None):
        """Logits, and optionally the logits of mixed pooled states.

        Parameters
        ----------
        input_ids, attention_mask : LongTensor of shape (batch, length)
        mix_rows, mix_partners : LongTensor of shape (m,), default=None
            When given, also mix ``lambda * h[mix_rows] + (1 - lambda) *
            h[mix_partners]`` of the pooled states ``h`` and classify the mix.
            The encoder runs once for both outputs.
        mix_lambda : float, default=None
            The mixing weight.

        Returns
        -------
        logits : Tensor of shape (batch, n_classes)
        mixed_logits : Tensor of shape (m, n_classes)
            Only when ``mix_rows`` is given.
        """
        pooled = self.encode(input_ids, attention_mask)
        logits = self.classify(pooled)
        if mix_rows is None:
            return logits
        mixed = mix_lambda * pooled[mix_rows] + (1.0 - mix_lambda) * pooled[mix_partners]
        return logits, self.classify(mixed)


def pooled_embeddings(encoder):
    """A ``fn(input_ids, attention_mask)`` giving mean-pooled states of ``encoder``.

    ``encoder`` is a transformers model or an :class:`EncoderClassifier`.
    """
    if isinstance(encoder, EncoderClassifier):
        return encoder.encode

    def embed(input_ids, attention_mask):
        out = encoder(input_ids=input_ids, attention_mask=attention_mask)
        return mean_pool(out.last_hidden_state, attention_mask)

    return embed

