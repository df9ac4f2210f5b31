"""SentenceEmbedder: mean-pooled, normalised embeddings of a pretrained encoder."""

import os
from numbers import Integral

import numpy as np
import torch
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_is_fitted

from .._validation import check_texts
from ._data import batched_apply, encoder_path, load_tokenizer, resolve_device, tokenize
from ._module import load_encoder, pooled_embeddings
from ._text import _TextTransformer

__all__ = ["SentenceEmbedder"]


class SentenceEmbedder(_TextTransformer):
    """Sentence embeddings from a pretrained transformers encoder.

    ``fit`` loads the encoder (nothing is learned); ``transform`` returns the
    mean-pooled last hidden states, L2-normalised by default, computed in
    length-sorted batches with dynamic padding. FreeAL uses it for kNN
    retrieval of in-context demonstrations.

    Parameters
    ----------
    model_name_or_path : str or path-like, default=None
        Encoder name or folder for ``transformers.AutoModel``. None uses the
        packaged all-MiniLM-L6-v2, offline.
    batch_size : int, default=64
        Texts per forward pass.
    max_length : int, default=128
        Texts are truncated to this many tokens.
    device : str, default="auto"
        Torch device; ``"auto"`` uses CUDA when available.
    normalize : bool, default=True
        L2-normalise each embedding (cosine similarity is then a dot product).

    Attributes
    ----------
    encoder_ : transformers.PreTrainedModel
        The encoder, in eval mode.
    tokenizer_ : transformers tokenizer
    device_ : str
        The device used.
    n_features_out_ : int
        Embedding size.

    See Also
    --------
    RobustTextClassifier.embed : The same pooling on a fine-tuned encoder.

    Examples
    --------
    >>> from skfreeal.slm import SentenceEmbedder
    >>> emb = SentenceEmbedder().fit()  # doctest: +SKIP
    >>> emb.transform(["a tweet", "another one"]).shape  # doctest: +SKIP
    (2, 384)
    """

    _parameter_constraints = {
        "model_name_or_path": [str, os.PathLike, None],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "max_length": [Interval(Integral, 2, None, closed="left")],
        "device": [str, torch.device],
        "normalize": ["boolean"],
    }

    def __init__(self, model_name_or_path=None, *, batch_size=64, max_length=128,
                 device="auto", normalize=True):
        self.model_name_or_path = model_name_or_path
        self.batch_size = batch_size
        self.max_length = max_length
        self.device = device
        self.normalize = normalize

    def _prepare(self):
        """Load the encoder and its tokenizer (what ``fit`` does)."""
        path = encoder_path(self.model_name_or_path)
        self.device_ = resolve_device(self.device)
        self.tokenizer_ = load_tokenizer(path)
        self.encoder_ = load_encoder(path).to(self.device_).eval()
        self.n_features_out_ = int(self.encoder_.config.hidden_size)

    def transform(self, X):
        """Embed texts.

        Parameters
        ----------
        X : iterable of str
            Texts, each cut to ``max_length`` tokens.

        Returns
        -------
        embeddings : ndarray of shape (n_samples, n_features_out_), float32
            Mean-pooled last hidden states, of unit length when ``normalize``.
        """
        check_is_fitted(self)
        texts = check_texts(X)
        self.encoder_.eval()
        out = batched_apply(
            pooled_embeddings(self.encoder_), tokenize(self.tokenizer_, texts, self.max_length),
            batch_size=self.batch_size, pad_id=self.tokenizer_.pad_token_id or 0,
            device=self.device_,
        )
        if self.normalize:
            norms = np.linalg.norm(out, axis=1, keepdims=True)
            out /= np.where(norms > 0, norms, 1.0)
        return out

    def get_feature_names_out(self, input_features=None):
        """Names ``embedding0`` ... of the output columns."""
        check_is_fitted(self)
        return np.asarray([f"embedding{i}" for i in range(self.n_features_out_)], dtype=object)
