"""A tiny randomly initialised BERT with the MiniLM tokenizer, built offline.

Shared by the tests (the ``tiny_encoder_path`` fixture) and the scale
benchmark (``benchmarks/scale.py``), which needs a student fast enough to
predict a million rows on two cores.
"""

import os
import shutil

__all__ = ["build_tiny_encoder"]

_TOKENIZER_FILES = ("vocab.txt", "tokenizer.json", "tokenizer_config.json",
                    "special_tokens_map.json")


def build_tiny_encoder(folder):
    """Write a tiny BERT (hidden size 32, 2 layers, 2 heads) and MiniLM's tokenizer to ``folder``.

    It loads with ``AutoModel``/``AutoTokenizer.from_pretrained`` in
    milliseconds and trains on a few dozen texts in about a second. Built
    from a config with a fixed seed (the global torch generator is left as
    it was), no download.

    Parameters
    ----------
    folder : str or path-like
        Created if missing.

    Returns
    -------
    folder : str
    """
    import torch
    from transformers import BertConfig, BertModel

    from skfreeal._assets import minilm_path

    os.makedirs(folder, exist_ok=True)
    config = BertConfig(
        vocab_size=30522, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
        intermediate_size=64, max_position_embeddings=128,
    )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        BertModel(config).save_pretrained(folder)
    source = minilm_path()
    for name in _TOKENIZER_FILES:
        shutil.copy(os.path.join(source, name), folder)
    return str(folder)
