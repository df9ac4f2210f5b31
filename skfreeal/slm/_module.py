"""The student network: a transformers encoder, mean pooling and a linear head."""

from torch import nn

__all__ = ["EncoderClassifier", "load_encoder", "mean_pool", "pooled_embeddings"]


def load_encoder(model_name_or_path):
    """Load a pretrained transformers encoder (no task head) from a name or folder.

    Loaded without transformers' "Loading weights" bar, wherever the load
    happens (a fit, an embedder used alone, a model unpickled for predict).
    """
    from transformers import AutoModel

    from .._console import quiet_transformers

    with quiet_transformers():
        return AutoModel.from_pretrained(model_name_or_path)


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
    """

    def __init__(self, model_name_or_path, n_classes, dropout=0.1):
        super().__init__()
        self.encoder = load_encoder(model_name_or_path)
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

