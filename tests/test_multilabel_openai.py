"""Multi-label FreeAL over HTTP: an OpenAI-compatible endpoint asked for label sets.

The endpoint is a :class:`FaultServer` on 127.0.0.1 whose answers are the
keyword rules' label sets of the support tickets of ``test_multilabel``:
``{"labels": [...]}`` under a schema it takes, a sentence naming the labels
otherwise. It keeps the ``response_format`` of every request it answers.
"""

import json
import pickle
import sys
from pathlib import Path

import numpy as np
import pytest
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.multiclass import OneVsRestClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MultiLabelBinarizer

from skfreeal import MultiLabelFreeALClassifier
from skfreeal.labelers import OpenAILabeler
from skfreeal.labels import MultiLabelSpace
from skfreeal.loop import DemoPolicy, RoundPolicy

sys.path.insert(0, str(Path(__file__).parent))
from conftest import _servers  # noqa: E402
from fault_server import FaultServer  # noqa: E402
from test_multilabel import NAMES, keyword_sets, make_tickets  # noqa: E402

SET_SCHEMA = {
    "type": "object",
    "properties": {"labels": {"type": "array", "items": {"type": "string", "enum": NAMES},
                              "minItems": 1, "uniqueItems": True}},
    "required": ["labels"],
    "additionalProperties": False,
}


class LabelSetServer(FaultServer):
    """Answers a ticket with its keyword label set; keeps the formats of the requests answered."""

    def __init__(self, **kwargs):
        super().__init__(labels=NAMES, **kwargs)
        self.formats = []

    def answer(self, text, structured=False):
        found = keyword_sets(text)
        if structured:
            return json.dumps({"labels": found})
        return "This ticket is about " + " and ".join(found) + "."

    def completion(self, request):
        with self._lock:
            self.formats.append(request.get("response_format"))
        return super().completion(request)


@pytest.fixture
def server():
    """Start label-set servers on 127.0.0.1 (``start(**kwargs)``); all stop after the test."""
    yield from _servers(LabelSetServer)


def make_labeler(srv, **params):
    return OpenAILabeler(srv.model, base_url=srv.base_url, cache=None, timeout=5.0,
                         retry_base_delay=0.01, retry_max_delay=0.05, **params)


def make_clf(srv, **params):
    return MultiLabelFreeALClassifier(
        NAMES, "Which topics does the support ticket raise?",
        labeler=make_labeler(srv, **params),
        slm=make_pipeline(TfidfVectorizer(ngram_range=(1, 2)),
                          OneVsRestClassifier(LogisticRegression(C=10.0, max_iter=500))),
        embedder=make_pipeline(TfidfVectorizer(), TruncatedSVD(n_components=16, random_state=0)),
        demos=DemoPolicy(n_demos=4), rounds=RoundPolicy(n_rounds=2), random_state=0)


def as_rows(sets):
    return MultiLabelBinarizer(classes=NAMES).fit_transform(sets)


def test_a_fit_asks_the_endpoint_for_label_sets_by_schema(server):
    srv = server()
    X, gold = make_tickets(40, seed=3)
    clf = make_clf(srv).fit(X)
    assert srv.formats, "the endpoint was asked"
    for sent in srv.formats:
        assert sent == {"type": "json_schema",
                        "json_schema": {"name": "labels", "schema": SET_SCHEMA, "strict": True}}
    # round 0 asked every text once; the answers are the keyword sets, read as label sets
    assert clf.history_[0].n_annotated == 40
    answered = clf.labeler_.annotate(X)[0]
    np.testing.assert_array_equal(answered, as_rows([keyword_sets(t) for t in X]))
    assert (as_rows(clf.transduction_) == as_rows(gold)).mean() > 0.9
    assert clf.predict(X[:5]).shape == (5, 3)


def test_min_labels_zero_lets_the_schema_answer_an_empty_set(server):
    srv = server()
    labeler = make_labeler(srv, labels=MultiLabelSpace(NAMES, min_labels=0),
                           task="Which topics does the support ticket raise?")
    ids, _ = labeler.annotate(["hello team, please help"])  # no keyword: the empty set
    assert ids.tolist() == [[0, 0, 0]]
    schema = srv.formats[0]["json_schema"]["schema"]["properties"]["labels"]
    assert schema["minItems"] == 0


@pytest.mark.parametrize("accepted, used", [(("json_object",), "json_object"), ((), None)])
def test_an_endpoint_refusing_the_schema_gets_a_simpler_format_once(server, accepted, used):
    srv = server(schema_formats=accepted)
    X, _ = make_tickets(40, seed=3)
    clf = make_clf(srv, max_concurrency=1).fit(X)
    refused = 2 - len(accepted)
    # the first request tries each refused format once; every later one uses what worked
    assert [(e["response_format"], e["outcome"]) for e in srv.log[:refused]] == \
        [("json_schema", "400"), ("json_object", "400")][:refused]
    assert {e["response_format"] for e in srv.log[refused:]} == {used}
    assert len(srv.formats) == len(srv.log) - refused
    if used == "json_object":  # the same set schema, in the format the endpoint takes
        assert all(sent == {"type": "json_object", "schema": SET_SCHEMA} for sent in srv.formats)
    else:  # free text: the sentence naming the labels is read into the set
        assert srv.formats == [None] * len(srv.formats)
    answered = clf.labeler_.annotate(X)[0]
    np.testing.assert_array_equal(answered, as_rows([keyword_sets(t) for t in X]))


# --- the command line -----------------------------------------------------------------------


def _cli_args(srv, table, out, *extra):
    return ["label", table, "--text-column", "body", "--labels", ",".join(NAMES),
            "--task", "Which topics does the support ticket raise?", "--multi-label",
            "--llm", "openai", "--model", srv.model, "--base-url", srv.base_url,
            "--n-demos", "2", "--seed", "0", "--out", out, *extra]


KEY = "sk-multi-label-SECRET-0123456789"


def test_joblib_dump_of_a_fitted_classifier_holds_no_key(server, tmp_path):
    import joblib

    srv = server(api_key=KEY)
    X, _ = make_tickets(30, seed=3)
    clf = make_clf(srv, api_key=KEY).fit(X)
    assert clf.labeler_.client_ is not None
    joblib.dump(clf, tmp_path / "clf.joblib")
    assert KEY.encode() not in (tmp_path / "clf.joblib").read_bytes()
    assert KEY.encode() not in pickle.dumps(clf)
    restored = joblib.load(tmp_path / "clf.joblib")
    assert restored.labeler.api_key is None and restored.labeler_.api_key is None
    np.testing.assert_array_equal(restored.predict(X), clf.predict(X))


@pytest.mark.slow
def test_label_multi_label_writes_joined_sets_saves_and_exports_the_student(
        server, tmp_path, tiny_encoder_path):
    pytest.importorskip("onnxruntime")
    import joblib
    from cli_helpers import run_cli, write_csv

    from skfreeal import MultiLabelFreeALClassifier, RobustTextClassifier
    from skfreeal.export import OnnxStudent
    from skfreeal.io import read_table

    srv = server(api_key=KEY)
    X, gold = make_tickets(30, seed=4)
    gold[0] = ["refund"]  # not a label: left out of the scores
    write_csv(tmp_path / "in.csv", ["body", "gold"], [[t, " | ".join(g)] for t, g in zip(X, gold)])
    proc = run_cli(*_cli_args(srv, tmp_path / "in.csv", tmp_path / "out.csv",
                              "--label-separator", "|", "--gold-column", "gold",
                              "--report", tmp_path / "report.html",
                              "--slm", tiny_encoder_path, "--slm-epochs", "2",
                              "--save-model", tmp_path / "clf.joblib",
                              "--export-model", tmp_path / "served", "--export-onnx"),
                   env={"OPENAI_API_KEY": KEY}, timeout=300)
    assert proc.returncode == 0, proc.stderr
    # the student is the robust transformer one, set by --slm and --slm-epochs
    assert KEY.encode() not in (tmp_path / "clf.joblib").read_bytes()
    clf = joblib.load(tmp_path / "clf.joblib")
    assert isinstance(clf, MultiLabelFreeALClassifier)
    assert isinstance(clf.slm_, RobustTextClassifier) and clf.slm_.multilabel_
    assert clf.slm_.n_epochs_ == 2 and clf.slm_.model_name_or_path == tiny_encoder_path
    np.testing.assert_array_equal(OnnxStudent(tmp_path / "served").predict(X), clf.predict(X))
    # skfreeal predict writes the saved model's label sets, joined
    again = run_cli("predict", tmp_path / "clf.joblib", tmp_path / "in.csv", "--text-column",
                    "body", "--label-separator", "|", "--prefix", "p_", "--out",
                    tmp_path / "predicted.csv", "--quiet")
    assert again.returncode == 0, again.stderr
    columns, rows = read_table(tmp_path / "predicted.csv")
    assert columns == ["body", "gold", "p_label", "p_confidence"] + [
        f"p_confidence_{name}" for name in NAMES]
    assert [r["p_label"] for r in rows] == ["|".join(s) for s in clf.label_space_.decode(
        clf.predict(X))]
    np.testing.assert_allclose([[float(r[f"p_confidence_{n}"]) for n in NAMES] for r in rows],
                               clf.predict_proba(X), atol=1e-6)
    # the keyword server answers the gold sets: the LLM's micro F1 is 1
    assert "micro F1 on 29 texts with a gold label set: LLM labels 1.000, small model" \
        in proc.stderr, proc.stderr
    columns, rows = read_table(tmp_path / "out.csv")
    assert columns == ["body", "gold", "label", "confidence", "clean", "round"] + [
        f"confidence_{name}" for name in NAMES]
    assert [r["label"] for r in rows] == ["|".join(keyword_sets(t)) for t in X]
    for r in rows:
        carried = r["label"].split("|")
        assert all((float(r[f"confidence_{n}"]) >= 0.5) == (n in carried) for n in NAMES)
    assert all(entry["response_format"] == "json_schema" for entry in srv.log)
    # the report: a row per label, each label's accuracy against the gold sets
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "<h2>Per label (training texts)</h2>" in page and "micro F1" in page
    assert "On 29 texts with a gold label set" in page


@pytest.mark.parametrize("extra, message", [
    (["--label-separator", "i"], "--label-separator 'i' appears in the label name(s)"),
    (["--label-separator", ""], "--label-separator must not be empty"),
])
def test_label_multi_label_refuses_what_it_cannot_do_by_option(tmp_path, extra, message):
    from cli_helpers import error_lines, run_cli, write_csv

    write_csv(tmp_path / "in.csv", ["body"], [["a parcel"], ["a password"]])
    srv = type("Srv", (), {"model": "m", "base_url": "http://127.0.0.1:9/v1"})
    proc = run_cli(*_cli_args(srv, tmp_path / "in.csv", tmp_path / "out.csv", "--quiet", *extra),
                   timeout=120)
    assert proc.returncode == 2 and message in error_lines(proc)[0], proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv"]


# --- round 0's written label sets over HTTP ---------------------------------------------------


class WritingServer(LabelSetServer):
    """Also writes a ticket for a generation prompt: two words of each topic asked for."""

    def answer(self, text, structured=False):
        from test_multilabel_demos import asked_sets, written_ticket

        wanted = asked_sets([{"content": text}])
        if wanted is None:
            return super().answer(text, structured)
        with self._lock:
            self.written = getattr(self, "written", 0) + 1
            return written_ticket(wanted, self.written)


@pytest.fixture
def writing_server():
    yield from _servers(WritingServer)


def test_round_0_has_the_endpoint_write_label_sets_as_free_text(writing_server):
    srv = writing_server()
    X, gold = make_tickets(40, seed=3)
    clf = make_clf(srv).set_params(demos=DemoPolicy(n_demos=4, n_generated=6)).fit(X)
    asks = [e for e in srv.log if e["response_format"] is None]
    assert srv.written >= 6 and len(asks) == srv.written  # the writing is free text
    # every answer asked for a label set is asked by schema (the written texts' checks too)
    assert all(f is None or f["type"] == "json_schema" for f in srv.formats)
    assert sum(f is not None for f in srv.formats) >= 40 + 6
    assert (as_rows(clf.transduction_) == as_rows(gold)).mean() > 0.9
