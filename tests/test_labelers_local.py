"""The protocol path against the llama.cpp OpenAI-compatible server, and LocalLabeler.

Both use the tiny SmolLM2-135M: answers are weak, so these tests check the
protocol (logprob confidences, demo generation, caching, truncation), not
accuracy; the Qwen model's accuracy is measured in benchmarks/annotation.py.
"""

import importlib.util
import pickle
import socket
import subprocess
import sys
import time
import urllib.request
import warnings

import numpy as np
import pytest
from sklearn.base import clone

from skfreeal.labelers import LocalLabeler, OpenAILabeler

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        importlib.util.find_spec("llama_cpp") is None,
        reason="llama-cpp-python is not installed (pip install 'skfreeal[smollm]')",
    ),
]

LABELS = ["negative", "positive"]
TASK = "Classify the sentiment of a product review."
DEMOS = [("Terrible, it broke after a day.", 0), ("Works great, I love it!", 1),
         ("Waste of money, very disappointed.", 0), ("Excellent quality, highly recommend.", 1)]
TEXTS = ["Absolutely fantastic, five stars!", "Awful. Returned it the next day.",
         "Best purchase this year."]


def _smollm_path():
    from skfreeal._assets import local_llm_path

    return local_llm_path("smollm2-135m")


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def llama_server(tmp_path_factory):
    """The llama-cpp-python OpenAI-compatible server with SmolLM2, on a free port."""
    port = _free_port()
    log = open(tmp_path_factory.mktemp("llama-server") / "server.log", "wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "llama_cpp.server", "--model", _smollm_path(),
         "--model_alias", "smollm", "--host", "127.0.0.1", "--port", str(port),
         "--n_threads", "1", "--n_ctx", "2048"],
        stdout=log, stderr=subprocess.STDOUT,
    )
    base_url = f"http://127.0.0.1:{port}/v1"
    deadline = time.monotonic() + 120
    while True:
        try:
            urllib.request.urlopen(base_url + "/models", timeout=1).read()
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                log.close()
                pytest.fail(f"llama_cpp.server did not start (exit code {proc.poll()})")
            time.sleep(0.2)
    yield base_url
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


def test_llama_server_protocol_path(llama_server, tmp_path):
    labeler = OpenAILabeler("smollm", base_url=llama_server, labels=LABELS, task=TASK,
                            cache=tmp_path / "c.sqlite", max_concurrency=2, timeout=120)
    ids, confidence = labeler.annotate(TEXTS, DEMOS)
    assert ids.dtype == np.int64 and set(ids) <= {-1, 0, 1}
    assert ((confidence >= 0) & (confidence <= 1)).all()
    answered = ids >= 0
    assert answered.any(), "SmolLM2 with demonstrations answers with a label name"
    # logprobs came back: a real probability, not the 1.0 of "no information"
    assert (confidence[answered] < 1.0).all() and (confidence[answered] > 0.0).all()
    assert (confidence[~answered] == 0).all()
    assert labeler.usage_.calls == 3 and labeler.usage_.prompt_tokens > 0

    again = clone(labeler)
    ids2, conf2 = again.annotate(TEXTS, DEMOS)
    assert again.usage_.calls == 0 and again.usage_.cache_hits == 3
    np.testing.assert_array_equal(ids, ids2)
    np.testing.assert_array_equal(confidence, conf2)


def test_llama_server_generate_demos(llama_server):
    # SmolLM2 cannot label zero-shot, so the label check would drop every text:
    # this test is about the protocol and the parsing, not the quality.
    labeler = OpenAILabeler("smollm", base_url=llama_server, labels=LABELS, task=TASK,
                            cache=None, timeout=120, random_state=0, filter_demos=False)
    with warnings.catch_warnings():
        # the tiny model may fall short of some label, which warns
        warnings.simplefilter("ignore", UserWarning)
        demos = labeler.generate_demos(2, TEXTS + [t for t, _ in DEMOS])
    assert 1 <= len(demos) <= 2
    texts = [text for text, _ in demos]
    assert len(set(texts)) == len(texts)
    for text, label in demos:
        assert isinstance(text, str) and len(text) >= 8 and "\n" not in text
        assert isinstance(label, int) and label in (0, 1)
    counts = np.bincount([label for _, label in demos], minlength=2)
    assert counts.max() <= 1  # never more than the balanced share


@pytest.fixture(scope="module")
def local_labeler():
    labeler = LocalLabeler("smollm2-135m", n_ctx=512, n_threads=1, labels=LABELS, task=TASK,
                           cache=None)
    labeler.annotate(["warm up"])  # loads the model once for the module
    return labeler


def test_local_labeler_in_process(local_labeler):
    labeler = local_labeler
    before = labeler.usage_.copy()
    ids, confidence = labeler.annotate(TEXTS, DEMOS)
    used = labeler.usage_ - before
    assert set(ids) <= {-1, 0, 1} and (ids >= 0).any()
    assert ((confidence > 0) & (confidence < 1))[ids >= 0].all()
    assert used.calls == 3 and used.cost == 0.0
    # the system prompt and the shared demonstrations are evaluated once
    per_prompt = used.prompt_tokens / 3
    assert used.cached_tokens >= 2 * 0.8 * per_prompt


def test_local_labeler_is_deterministic_and_keyed_by_weights(local_labeler, tmp_path):
    params = dict(local_labeler.get_params(), cache=tmp_path / "c.sqlite")
    first = LocalLabeler(**params).share_backend(local_labeler)  # one loaded model (speed)
    assert first.get_backend() is local_labeler.get_backend()
    ids, conf = first.annotate(TEXTS[:2], DEMOS)
    ids2, conf2 = local_labeler.annotate(TEXTS[:2], DEMOS)
    np.testing.assert_array_equal(ids, ids2)
    np.testing.assert_allclose(conf, conf2)
    assert first.get_backend().model_id().startswith("gguf-sha256:b179c952")


def test_local_labeler_truncates_what_does_not_fit(local_labeler):
    long_text = "This product is great. " * 400  # ~2,400 tokens, n_ctx is 512
    long_demos = [("bad " * 300, 0), ("good " * 300, 1)]
    labeler = clone(local_labeler).set_params(max_text_chars=100_000, max_demo_chars=100_000)
    labeler.share_backend(local_labeler)
    ids, confidence = labeler.annotate([long_text, "fine"], [long_demos, DEMOS])
    assert ids.shape == (2,) and set(ids) <= {-1, 0, 1}
    assert labeler.usage_.prompt_tokens <= 2 * 512


def test_local_labeler_pickles_without_the_model(local_labeler):
    restored = pickle.loads(pickle.dumps(local_labeler))
    assert hasattr(local_labeler, "llm_")
    assert not hasattr(restored, "llm_") and "backend_" not in restored.__dict__
    assert restored.get_params() == local_labeler.get_params()
    assert clone(local_labeler).get_params() == local_labeler.get_params()


def test_local_labeler_rejects_unknown_model():
    with pytest.raises(ValueError, match="must be one of .* or the path of a .gguf"):
        LocalLabeler("no-such-model", labels=LABELS, cache=None).annotate(["x"])


# Intents with long shared prefixes: the trie evaluates many branches after the prompt.
INTENTS = ["card_arrival", "card_linking", "card_payment_fee_charged",
           "card_payment_not_recognised", "cash_withdrawal_charge",
           "cash_withdrawal_not_recognised", "top_up_failed", "top_up_by_bank_transfer_charge",
           "top_up_reverted"]
INTENT_TEXTS = ["My card still has not arrived after two weeks.",
                "How do I top up by bank transfer?", "I was charged twice for one payment."]


def _sequential_label_logprobs(runner, messages, labels):
    """The trie scored one prefix at a time after the prompt (the path before batching)."""
    from skfreeal.labelers._label_trie import score_label_sequences

    runner._eval_prompt(messages)
    llm = runner.llm
    base, root = llm.n_tokens, runner._logprobs()

    def next_logprobs(prefix):
        if not prefix:
            return root
        llm.n_tokens = base
        llm.eval(list(prefix))
        return runner._logprobs()

    sequences, owners, _ = runner._label_sequences(labels)
    scores, _ = score_label_sequences(sequences, owners, len(labels), next_logprobs,
                                      runner._end_ids())
    llm.n_tokens = base
    return scores


def _softmax(scores):
    scores = np.asarray(scores, dtype=float)
    return np.exp(scores - np.logaddexp.reduce(scores))


def test_batched_trie_branches_score_as_one_prefix_at_a_time(local_labeler):
    import llama_cpp

    from skfreeal.labelers._label_trie import trie_leaves
    from skfreeal.labelers._prompts import annotation_messages, system_prompt

    runner = local_labeler.get_backend().runner()
    reads = runner._label_sequences(INTENTS)[2]
    assert len(reads) > 10 and len(trie_leaves(reads)) > 2  # many branches to batch
    system = system_prompt(INTENTS, "Classify the intent of a banking customer's message.")
    for text in INTENT_TEXTS:
        messages = annotation_messages(text, [], INTENTS, system)
        reference = _softmax(_sequential_label_logprobs(runner, messages, INTENTS))
        for max_seqs in (None, 2):  # one batch; several, sharing prefixes
            runner.max_branch_seqs = max_seqs
            try:
                answer = runner.score_labels(messages, INTENTS)
            finally:
                runner.max_branch_seqs = None
            # Equal up to llama.cpp's batch-shape rounding (a prefix scored in one call
            # or token by token differs as much); a branch that saw its siblings
            # moves these by 0.15 to 0.65.
            np.testing.assert_allclose(_softmax(answer["label_logprobs"]), reference, atol=0.06)
            assert answer["completion_tokens"] == len(reads)
            # the KV cache holds the prompt alone again: no branch sequence is left
            memory = llama_cpp.llama_get_memory(runner.llm.ctx)
            assert llama_cpp.llama_memory_seq_pos_max(memory, 0) == runner.llm.n_tokens - 1
            assert runner.llm.context_params.n_seq_max == len(trie_leaves(reads)) + 1
            assert all(llama_cpp.llama_memory_seq_pos_max(memory, seq) == -1
                       for seq in range(1, len(trie_leaves(reads)) + 1))
