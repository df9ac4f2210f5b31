"""``skfreeal label --llm openai`` against a local OpenAI-compatible test server.

The server labels by keyword, so every label the command writes is known in
advance: the test checks the whole row mapping (duplicates and format
conversion included), not just the shape of the output. The small model is a
tiny random BERT, so a run takes seconds.
"""

import pytest
from cli_helpers import LABELS, TASK, error_lines, run_cli
from fault_server import FaultServer, keyword_label

from skfreeal.io import read_table, write_table

pytestmark = pytest.mark.slow

WORDS = ["good", "bad", "great", "awful"]
TEXTS = [f"review {i}: the blender was {WORDS[i % 4]} overall" for i in range(12)]


@pytest.fixture
def server():
    srv = FaultServer(model="fault-model", labels=LABELS.split(","), api_key="sk-test").start()
    yield srv
    srv.stop()


def _args(server, encoder, table, out, *extra):
    return ["label", table, "--text-column", "body", "--labels", LABELS, "--task", TASK,
            "--llm", "openai", "--model", server.model, "--base-url", server.base_url,
            "--slm", encoder, "--slm-epochs", "1", "--n-demos", "2", "--seed", "0",
            "--out", out, *extra]


def test_labels_every_row_with_the_server_answers(tmp_path, server, tiny_encoder_path):
    pytest.importorskip("pyarrow")
    rows = [{"body": t, "n": i} for i, t in enumerate(TEXTS)] + [{"body": TEXTS[1], "n": 99}]
    write_table(tmp_path / "in.jsonl", ["body", "n"], rows)
    proc = run_cli(*_args(server, tiny_encoder_path, tmp_path / "in.jsonl", tmp_path / "out.parquet",
                          "--prefix", "ai_", "--quiet"),
                   env={"OPENAI_API_KEY": "sk-test"}, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert error_lines(proc) == ["skfreeal: warning: 1 row(s) repeat an earlier text; each distinct "
                                 "text is labelled once and its label copied to all its rows"]
    columns, out = read_table(tmp_path / "out.parquet")
    assert columns == ["body", "n", "ai_label", "ai_confidence", "ai_clean", "ai_round"]
    assert [r["n"] for r in out] == [r["n"] for r in rows]
    assert [r["ai_label"] for r in out] == [keyword_label(r["body"]) for r in rows]
    assert all(isinstance(r["ai_clean"], bool) and r["ai_round"] in (0, 1) for r in out)


def test_a_rejected_key_exits_2_with_one_line_and_no_output(tmp_path, tmp_path_factory, server,
                                                           tiny_encoder_path):
    write_table(tmp_path / "in.csv", ["body"], [{"body": t} for t in TEXTS])
    # An empty cache: answers cached by another test would need no call (nor key).
    cache = tmp_path_factory.mktemp("empty-cache")
    proc = run_cli(*_args(server, tiny_encoder_path, tmp_path / "in.csv", tmp_path / "out.csv", "--quiet"),
                   env={"OPENAI_API_KEY": "sk-wrong", "SKFREEAL_CACHE_DIR": str(cache)}, timeout=300)
    lines = error_lines(proc)
    assert proc.returncode == 2, proc.stderr
    assert len(lines) == 1 and lines[0].startswith("skfreeal: error: fit:"), proc.stderr
    assert "API key" in lines[0] and "sk-wrong" not in lines[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv"]
