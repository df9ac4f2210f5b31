"""The ``skfreeal`` command on bad input: one-line errors, exit status 2, no output file.

These cases fail before any model loads, so they run in seconds.
"""

import json
import socket
import subprocess
import sys

import pytest
from cli_helpers import LABELS, TASK, error_lines, run_cli, write_csv


@pytest.fixture
def reviews(tmp_path):
    return write_csv(
        tmp_path / "reviews.csv", ["id", "text", "gold"],
        [[1, "Great value, works perfectly.", "positive"], [2, "Broke after a day.", "negative"]],
    )


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def label_args(input_path, out, *extra, labels=LABELS, column="text"):
    return ["label", input_path, "--text-column", column, "--labels", labels, "--task", TASK,
            "--out", out, *extra]


def assert_bad_input(proc, fragment, folder):
    lines = error_lines(proc)
    assert proc.returncode == 2, proc.stderr
    assert len(lines) == 1, proc.stderr
    assert fragment in lines[0], lines[0]
    leftovers = [p.name for p in folder.iterdir() if p.name.startswith(".") or p.name.startswith("out")]
    assert leftovers == [], leftovers


def test_help_is_fast_and_imports_no_torch():
    code = (
        "import sys; from skfreeal.cli import cli; "
        "assert 'torch' not in sys.modules and 'transformers' not in sys.modules, 'heavy import'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
    proc = run_cli("--help")
    assert proc.returncode == 0
    for command in ("label", "estimate", "predict", "demo", "batches"):
        assert command in proc.stdout


@pytest.mark.parametrize(
    "case, fragment",
    [
        ("missing file", "nothere.csv: no such file"),
        ("missing column", "no column 'review' (--text-column); the columns are 'id', 'text', 'gold'"),
        ("missing gold column", "no column 'truth' (--gold-column)"),
        ("empty file", "empty.csv: the file is empty"),
        ("header only", "header.csv: the table has no rows"),
        ("not utf-8", "latin.csv: line 3: bytes that are not valid utf-8"),
        ("empty texts", "2 row(s) with an empty 'text' (rows 2, 3); remove them or pass --skip-empty"),
        ("one label", "--labels must hold at least two label names, got ['positive']"),
        ("duplicate labels", "--labels[2]='Positive' cannot be told apart from --labels[0]"),
        ("empty label", "--labels[1] must be a non-empty str, got ''"),
        ("bad output format", "unknown table format '.xlsx'"),
        ("output folder missing", "the folder"),
        ("column clash", "already has the column(s) 'label'; pass --prefix"),
        ("openai without model", "--llm openai needs --model"),
        ("missing option", "Missing option '--task'"),
        ("bad round count", "Invalid value for '--n-rounds'"),
        ("request cap below 1", "Invalid value for '--max-requests-per-text': must be a number "
         "of LLM requests per text of at least 1 (round 0 asks every text once), or none for "
         "no cap; got '0.5'"),
        ("request cap not a number", "Invalid value for '--max-requests-per-text': must be a "
         "number"),
        ("negative rollback tolerance", "Invalid value for '--rollback-tolerance': must be a "
         "non-negative share of the texts, e.g. 0.02 (inf: measure the labels' consistency, "
         "never roll back); got '-0.1'"),
    ],
)
def test_bad_label_input_exits_2_with_one_line(tmp_path, reviews, case, fragment):
    out = tmp_path / "out.csv"
    args = label_args(reviews, out)
    if case == "missing file":
        args = label_args(tmp_path / "nothere.csv", out)
    elif case == "missing column":
        args = label_args(reviews, out, column="review")
    elif case == "missing gold column":
        args = label_args(reviews, out, "--gold-column", "truth")
    elif case == "empty file":
        (tmp_path / "empty.csv").write_bytes(b"")
        args = label_args(tmp_path / "empty.csv", out)
    elif case == "header only":
        (tmp_path / "header.csv").write_text("id,text\n")
        args = label_args(tmp_path / "header.csv", out)
    elif case == "not utf-8":
        (tmp_path / "latin.csv").write_bytes(b"text\ngood\nna\xefve but fine\n")
        args = label_args(tmp_path / "latin.csv", out)
    elif case == "empty texts":
        write_csv(tmp_path / "gaps.csv", ["text"], [["fine"], [""], ["   "], ["ok"]])
        args = label_args(tmp_path / "gaps.csv", out)
    elif case == "one label":
        args = label_args(reviews, out, labels="positive")
    elif case == "duplicate labels":
        args = label_args(reviews, out, labels="positive,negative,Positive")
    elif case == "empty label":
        args = label_args(reviews, out, labels="positive,,negative")
    elif case == "bad output format":
        args = label_args(reviews, tmp_path / "out.xlsx")
    elif case == "output folder missing":
        args = label_args(reviews, tmp_path / "no" / "out.csv")
    elif case == "column clash":
        write_csv(tmp_path / "labelled.csv", ["text", "label"], [["fine", "positive"]])
        args = label_args(tmp_path / "labelled.csv", out)
    elif case == "openai without model":
        args = label_args(reviews, out, "--llm", "openai")
    elif case == "missing option":
        args = ["label", reviews, "--text-column", "text", "--labels", LABELS, "--out", out]
    elif case == "bad round count":
        args = label_args(reviews, out, "--n-rounds", "0")
    elif case == "request cap below 1":
        args = label_args(reviews, out, "--max-requests-per-text", "0.5")
    elif case == "request cap not a number":
        args = label_args(reviews, out, "--max-requests-per-text", "nan")
    elif case == "negative rollback tolerance":
        args = label_args(reviews, out, "--rollback-tolerance", "-0.1")
    assert_bad_input(run_cli(*args), fragment, tmp_path)


def test_unreachable_endpoint_exits_2_before_any_work(tmp_path, reviews):
    url = f"http://127.0.0.1:{_free_port()}/v1"
    proc = run_cli(*label_args(reviews, tmp_path / "out.csv", "--llm", "openai", "--model", "m",
                               "--base-url", url, "--quiet"), timeout=120)
    assert_bad_input(proc, f"cannot reach the LLM endpoint {url} (--base-url)", tmp_path)


def test_estimate_rejects_bad_input_the_same_way(tmp_path):
    (tmp_path / "latin.csv").write_bytes(b"text\nna\xefve\n")
    proc = run_cli("estimate", tmp_path / "latin.csv", "--text-column", "text",
                   "--labels", LABELS, "--task", TASK)
    assert_bad_input(proc, "latin.csv: line 2: bytes that are not valid utf-8", tmp_path)


@pytest.mark.parametrize("model_content, fragment", [
    (None, "model.joblib: no such model file"),
    (b"just some text", "model.joblib: not a readable model file"),
])
def test_predict_with_a_bad_model_exits_2(tmp_path, reviews, model_content, fragment):
    model = tmp_path / "model.joblib"
    if model_content is not None:
        model.write_bytes(model_content)
    proc = run_cli("predict", model, reviews, "--text-column", "text", "--out", tmp_path / "out.csv")
    assert_bad_input(proc, fragment, tmp_path)


def test_predict_checks_the_table_before_loading_the_model(tmp_path, reviews):
    proc = run_cli("predict", tmp_path / "missing.joblib", reviews, "--text-column", "body",
                   "--out", tmp_path / "out.jsonl")
    assert_bad_input(proc, "no column 'body' (--text-column)", tmp_path)


def test_demo_passes_its_options_to_the_demo():
    proc = run_cli("demo", "--help")
    assert proc.returncode == 0, proc.stderr
    assert "--n-train" in proc.stdout
    assert run_cli("demo", "--no-such-option").returncode == 2


def _estimate_reviews_args(tmp_path):
    """``skfreeal estimate`` of 30 reviews for a hosted model, as JSON."""
    rows = [[i, f"review number {i}, {'great' if i % 2 else 'awful'} stuff", ""] for i in range(30)]
    table = write_csv(tmp_path / "many.csv", ["id", "text", "gold"], rows)
    return ["estimate", table, "--text-column", "text", "--labels", LABELS, "--task", TASK,
            "--llm", "openai", "--model", "gpt-4o-mini", "--json"]


def test_estimate_takes_the_number_of_generated_demos(tmp_path):
    args = _estimate_reviews_args(tmp_path)
    default = json.loads(run_cli(*args).stdout)
    assert default["generation_calls"] == 12  # one per five texts: 6 written, 6 checked
    none = run_cli(*args, "--n-generated-demos", "0")
    assert none.returncode == 0, none.stderr
    assert json.loads(none.stdout)["generation_calls"] == 0
    assert json.loads(none.stdout)["expected_llm_seconds"] is None  # a hosted model: not timed
    bad = run_cli(*args, "--n-generated-demos", "-1")
    assert bad.returncode == 2 and "--n-generated-demos" in bad.stderr


def test_estimate_multi_label_counts_what_a_multi_label_run_asks(tmp_path):
    from skfreeal import MultiLabelFreeALClassifier
    from skfreeal.cli._label import estimate
    from skfreeal.cli._options import build_classifier, collect

    rows = [[i, f"ticket {i}: {'charged twice' if i % 2 else 'cannot log in'}", ""]
            for i in range(30)]
    table = write_csv(tmp_path / "tickets.csv", ["id", "text", "gold"], rows)
    args = ["estimate", table, "--text-column", "text", "--labels", "billing,login,shipping",
            "--task", "Which topics does the ticket raise?", "--llm", "openai",
            "--model", "gpt-4o-mini", "--json"]
    single = json.loads(run_cli(*args).stdout)
    proc = run_cli(*args, "--multi-label")
    assert proc.returncode == 0, proc.stderr
    multi = json.loads(proc.stdout)
    # the multi-label classifier's own dry run, from the same options (no call: an endpoint)
    ctx = estimate.make_context("estimate", [str(a) for a in args[1:]] + ["--multi-label"])
    clf = build_classifier(collect(ctx.params))
    assert isinstance(clf, MultiLabelFreeALClassifier)
    texts = [row[1] for row in rows]
    assert multi.pop("endpoint")  # where 'label' would send the texts
    assert multi == {"n_rows": 30, **json.loads(json.dumps(clf.estimate(texts)))}
    # no demonstrations written by default, and a label set's prompt asks for a JSON list
    assert multi["generation_calls"] == 0 < single["generation_calls"]
    assert multi["expected_prompt_tokens"] != single["expected_prompt_tokens"]
    assert multi["calls_per_round"][0] == 30
    bad = run_cli(*args, "--label-separator", "|")  # a separator without --multi-label
    assert bad.returncode == 2 and "--label-separator is only used with --multi-label" in bad.stderr


@pytest.mark.parametrize("args, judge, fusion", [
    ([], "probe", "product"),
    (["--judge", "student", "--label-fusion", "llm"], None, "llm"),  # the paper's loop
])
def test_judge_and_label_fusion_options_reach_the_classifier(tmp_path, args, judge, fusion):
    from skfreeal.cli._label import label
    from skfreeal.cli._options import build_classifier, collect

    table = write_csv(tmp_path / "in.csv", ["text"], [["a"], ["b"]])
    ctx = label.make_context("label", [str(table), "--text-column", "text", "--labels",
                                       LABELS, "--task", TASK, "--out",
                                       str(tmp_path / "out.csv"), *args])
    clf = build_classifier(collect(ctx.params))
    assert clf.judge == judge and clf.rounds.label_fusion == fusion


@pytest.mark.parametrize("args, calibration", [
    ([], "batch"),  # the labeler's default
    (["--calibration", "contextual"], "contextual"),
    (["--calibration", "none"], None),
])
def test_calibration_option_reaches_the_labeler(tmp_path, args, calibration):
    from skfreeal.cli._label import label
    from skfreeal.cli._options import build_classifier, collect

    table = write_csv(tmp_path / "in.csv", ["text"], [["a"], ["b"]])
    ctx = label.make_context("label", [str(table), "--text-column", "text", "--labels",
                                       LABELS, "--task", TASK, "--out",
                                       str(tmp_path / "out.csv"), *args])
    assert build_classifier(collect(ctx.params)).labeler.calibration == calibration


def test_estimate_counts_contextual_calibration_requests(tmp_path):
    args = _estimate_reviews_args(tmp_path)
    batch = json.loads(run_cli(*args).stdout)
    proc = run_cli(*args, "--calibration", "contextual")
    assert proc.returncode == 0, proc.stderr
    contextual = json.loads(proc.stdout)
    # round 0 also asks the content-free inputs (three, in three prompt contexts)
    assert contextual["calls_per_round"][0] == batch["calls_per_round"][0] + 9
    bad = run_cli(*args, "--calibration", "uniform")
    assert bad.returncode == 2 and "--calibration" in bad.stderr


@pytest.mark.parametrize("args, cap, tolerance", [
    ([], 2.0, None),  # RoundPolicy's defaults
    (["--max-requests-per-text", "1.5", "--rollback-tolerance", "0.02"], 1.5, 0.02),
    (["--max-requests-per-text", "none", "--rollback-tolerance", "inf"], None, float("inf")),
])
def test_request_cap_and_rollback_options_reach_the_classifier(tmp_path, args, cap, tolerance):
    from skfreeal import RoundPolicy
    from skfreeal.cli._label import label
    from skfreeal.cli._options import build_classifier, collect

    table = write_csv(tmp_path / "in.csv", ["text"], [["a"], ["b"]])
    ctx = label.make_context("label", [str(table), "--text-column", "text", "--labels",
                                       LABELS, "--task", TASK, "--out",
                                       str(tmp_path / "out.csv"), *args])
    rounds = build_classifier(collect(ctx.params)).rounds
    assert rounds.max_requests_per_text == cap and rounds.rollback_tolerance == tolerance
    if not args:
        assert (RoundPolicy().max_requests_per_text, RoundPolicy().rollback_tolerance) == (
            cap, tolerance)


@pytest.mark.parametrize("args, path, epochs", [
    ([], None, None),  # None: the default student, the packaged MiniLM
    (["--slm", "{folder}", "--slm-epochs", "3"], "{folder}", 3),
])
def test_multi_label_builds_the_same_student_as_one_label(tmp_path, args, path, epochs):
    from skfreeal import FreeALClassifier, MultiLabelFreeALClassifier
    from skfreeal.cli._label import label
    from skfreeal.cli._options import build_classifier, collect

    table = write_csv(tmp_path / "in.csv", ["text"], [["a"], ["b"]])
    (tmp_path / "encoder").mkdir()
    args = [a.format(folder=tmp_path / "encoder") for a in args]
    built = {}
    for extra in ([], ["--multi-label"]):
        ctx = label.make_context("label", [str(table), "--text-column", "text", "--labels",
                                           LABELS, "--task", TASK, "--out",
                                           str(tmp_path / "out.csv"), *args, *extra])
        built[bool(extra)] = build_classifier(collect(ctx.params))
    assert type(built[False]) is FreeALClassifier
    assert type(built[True]) is MultiLabelFreeALClassifier
    students = [clf.slm for clf in built.values()]
    if path is None:
        assert students == [None, None]
    else:
        for slm in students:
            assert slm.model_name_or_path == path.format(folder=tmp_path / "encoder")
            assert slm.max_epochs == epochs
