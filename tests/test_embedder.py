"""SentenceEmbedder on the tiny encoder: shapes, normalisation, order, pickling, errors."""

import pickle

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError

from skfreeal.slm import SentenceEmbedder

pytestmark = pytest.mark.usefixtures("torch_single_thread")

TEXTS = [
    "a short one", "a much longer text with many more words in it than the others", "mid size text",
]


def test_transform_shape_dtype_and_unit_norm(tiny_encoder_path):
    emb = SentenceEmbedder(tiny_encoder_path).fit()
    out = emb.transform(TEXTS)
    assert out.shape == (3, 32) == (3, emb.n_features_out_) and out.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, rtol=1e-5)
    raw = SentenceEmbedder(tiny_encoder_path, normalize=False).fit().transform(TEXTS)
    np.testing.assert_allclose(raw / np.linalg.norm(raw, axis=1, keepdims=True), out, rtol=1e-5)
    assert len(emb.get_feature_names_out()) == 32


def test_batching_does_not_change_the_result(tiny_encoder_path):
    one_by_one = SentenceEmbedder(tiny_encoder_path, batch_size=1).fit().transform(TEXTS)
    batched = SentenceEmbedder(tiny_encoder_path, batch_size=2).fit().transform(TEXTS)
    np.testing.assert_allclose(batched, one_by_one, atol=1e-5)


def test_matches_a_plain_transformers_mean_pool(tiny_encoder_path):
    import torch
    from transformers import AutoModel, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_encoder_path)
    model = AutoModel.from_pretrained(tiny_encoder_path).eval()
    batch = tok(TEXTS, padding=True, return_tensors="pt")
    with torch.no_grad():
        hidden = model(**batch).last_hidden_state
    mask = batch["attention_mask"].unsqueeze(-1).float()
    expected = ((hidden * mask).sum(1) / mask.sum(1)).numpy()
    out = SentenceEmbedder(tiny_encoder_path, normalize=False).fit().transform(TEXTS)
    np.testing.assert_allclose(out, expected, atol=1e-5)


def test_pickle_round_trip(tiny_encoder_path):
    emb = SentenceEmbedder(tiny_encoder_path).fit()
    loaded = pickle.loads(pickle.dumps(emb))
    np.testing.assert_array_equal(loaded.transform(TEXTS), emb.transform(TEXTS))


def test_errors():
    with pytest.raises(NotFittedError):
        SentenceEmbedder().transform(TEXTS)
    with pytest.raises(ValueError, match=r"'batch_size' parameter of SentenceEmbedder .* Got 0"):
        SentenceEmbedder(batch_size=0).fit()
    with pytest.raises(TypeError, match="X must be an iterable of texts, got a single str"):
        SentenceEmbedder().fit("one text")
