"""Shared test fixtures: seeds, an isolated cache folder, offline Hugging Face."""

import os
import random

import numpy as np
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@pytest.fixture(autouse=True)
def _seed():
    """Seed every generator the tests may touch, so runs repeat exactly."""
    random.seed(0)
    np.random.seed(0)
    try:
        import torch
    except ImportError:  # pragma: no cover
        return
    torch.manual_seed(0)


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    """Each test session writes its caches under a temporary folder, never ~/.cache."""
    monkeypatch.setenv("SKFREEAL_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "skfreeal-cache"))


@pytest.fixture(scope="session")
def tiny_encoder_path(tmp_path_factory):
    """Folder of a tiny randomly initialised BERT with the MiniLM tokenizer.

    Hidden size 32, 2 layers, 2 heads: a stand-in encoder that loads with
    ``AutoModel``/``AutoTokenizer.from_pretrained`` in milliseconds and trains
    on a few dozen texts in about a second. Built from a config, no download.
    """
    from tiny_encoder import build_tiny_encoder

    return build_tiny_encoder(tmp_path_factory.mktemp("tiny-encoder"))


@pytest.fixture(scope="module")
def torch_single_thread():
    """Run a test module with one torch thread, then restore the previous count.

    Tiny models gain nothing from a second thread, and on a shared 2-core
    machine an oversubscribed OpenMP pool makes them 5-10x slower.
    """
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _servers(cls):
    """A ``start(**kwargs)`` that starts a ``cls`` server; every one stops after the test."""
    servers = []

    def start(**kwargs):
        servers.append(cls(**kwargs).start())
        return servers[-1]

    yield start
    for srv in servers:
        srv.stop()


@pytest.fixture
def fault_servers():
    """Start fault servers on 127.0.0.1 (``start(**kwargs)``); all stop after the test."""
    from fault_server import FaultServer

    yield from _servers(FaultServer)


@pytest.fixture
def batch_servers():
    """Start Batch API servers on 127.0.0.1 (``start(**kwargs)``); all stop after the test."""
    from batch_server import BatchServer

    yield from _servers(BatchServer)
