"""Serving the student without skfreeal: a transformers folder and ONNX (issue 38).

A tiny student (``tests/tiny_encoder.py``) is fitted once; its exported folder
is loaded by ``transformers.pipeline`` and its ONNX files by onnxruntime, and
each must predict what ``predict`` does on 1,000 short texts.
"""

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError

from skfreeal import DemoPolicy, FreeALClassifier, RobustTextClassifier, RoundPolicy
from skfreeal.export import OnnxStudent, export_student
from skfreeal.labels import MultiLabelSpace
from test_freeal import RuleLabeler, make_clf, make_texts, tfidf_embedder

LABELS = ["negative", "neutral", "positive"]
WORDS = {"negative": ["awful", "bad", "broken"], "neutral": ["okay", "plain", "average"],
         "positive": ["great", "good", "lovely"]}
FILL = ["the", "phone", "was", "really", "today", "and", "my", "order", "seems", "quite"]


def short_texts(n, seed):
    """``n`` short texts of three labels, drawn deterministically from ``seed``."""
    rng = np.random.RandomState(seed)
    texts, labels = [], []
    for i in range(n):
        label = LABELS[i % 3]
        words = list(rng.choice(WORDS[label], 2)) + list(rng.choice(FILL, rng.randint(2, 12)))
        rng.shuffle(words)
        texts.append(" ".join(words))
        labels.append(label)
    return texts, labels


@pytest.fixture(scope="module")
def student(tiny_encoder_path):
    texts, labels = short_texts(90, seed=0)
    # the probe head (a logistic regression on the frozen embeddings) separates the labels
    return RobustTextClassifier(tiny_encoder_path, max_epochs=2, batch_size=16, lr=1e-3,
                                random_state=0).fit(texts, labels)


@pytest.fixture(scope="module")
def exported(student, tmp_path_factory):
    pytest.importorskip("onnxruntime")
    return export_student(student, tmp_path_factory.mktemp("student"), quantize=True)


@pytest.fixture(scope="module")
def new_texts():
    texts, _ = short_texts(1000, seed=1)
    return texts + ["great " * 300]  # longer than max_length_: cut where the student cut it


def pipeline_scores(folder, texts, names):
    """The scores ``transformers.pipeline`` gives each label of ``names``: (texts, labels)."""
    from transformers import pipeline

    pipe = pipeline("text-classification", model=str(folder), trust_remote_code=True,
                    top_k=None, device="cpu")
    columns = {str(name): j for j, name in enumerate(names)}
    proba = np.zeros((len(texts), len(columns)))
    for row, scores in zip(proba, pipe(texts, batch_size=32)):
        for score in scores:
            row[columns[score["label"]]] = score["score"]
    return proba, pipe.model.config


def test_the_folder_loads_in_a_pipeline_and_predicts_what_predict_does(student, exported,
                                                                       new_texts):
    proba, config = pipeline_scores(exported, new_texts, student.classes_)
    assert config.problem_type is None and not hasattr(config, "thresholds")
    expected = student.predict_proba(new_texts)
    assert len(set(student.predict(new_texts))) == 3  # a student that tells labels apart
    np.testing.assert_array_equal(student.classes_[proba.argmax(1)], student.predict(new_texts))
    np.testing.assert_allclose(proba, expected, atol=1e-4)


def test_onnx_and_int8_predict_what_predict_does(student, exported, new_texts):
    expected = student.predict(new_texts)
    onnx = OnnxStudent(exported)
    np.testing.assert_array_equal(onnx.classes_, student.classes_)
    np.testing.assert_array_equal(onnx.predict(new_texts), expected)
    np.testing.assert_allclose(onnx.predict_proba(new_texts), student.predict_proba(new_texts),
                               atol=1e-4)
    int8 = OnnxStudent(exported, int8=True).predict(new_texts)
    assert np.mean(int8 == expected) >= 0.98  # int8 weights: close, not identical


def test_a_freeal_classifier_exports_its_student_under_its_label_names(tiny_encoder_path,
                                                                       tmp_path):
    from transformers import pipeline

    texts, _ = make_texts(40)
    slm = RobustTextClassifier(tiny_encoder_path, max_epochs=2, batch_size=8, lr=1e-3,
                               random_state=0)
    clf = make_clf(slm=slm, n_rounds=1, judge=None).fit(texts)  # the student judges: slm_ is it
    folder = export_student(clf, tmp_path / "model")
    pipe = pipeline("text-classification", model=str(folder), trust_remote_code=True,
                    device="cpu")
    got = [answer["label"] for answer in pipe(texts)]
    assert got == clf.predict(texts).tolist()
    assert set(pipe.model.config.id2label.values()) == {"negative", "positive"}


# --- label sets: sigmoid scores and the fitted thresholds -----------------------------------


@pytest.fixture(scope="module")
def multi_label(tiny_encoder_path, tmp_path_factory):
    """A MultiLabelFreeALClassifier with the tiny robust student and a threshold per label,
    exported with ONNX; a few dozen new tickets."""
    pytest.importorskip("onnxruntime")
    from test_multilabel import make_clf as make_multi_label_clf, make_tickets

    student = RobustTextClassifier(tiny_encoder_path, max_epochs=4, warmup_epochs=2,
                                   batch_size=8, lr=3e-3, random_state=0)
    clf = make_multi_label_clf(threshold="auto").set_params(slm=student)
    clf.fit(make_tickets(60, seed=1)[0])
    folder = export_student(clf, tmp_path_factory.mktemp("label-sets"), onnx=True)
    return clf, folder, make_tickets(40, seed=5)[0]


def test_a_label_set_folder_gives_sigmoid_scores_and_the_thresholds(multi_label):
    clf, folder, texts = multi_label
    expected = clf.predict(texts)
    assert len({tuple(row) for row in expected}) > 1  # a student that tells texts apart
    proba, config = pipeline_scores(folder, texts, clf.classes_)
    assert config.problem_type == "multi_label_classification"
    assert config.id2label == dict(enumerate(clf.classes_))
    assert config.thresholds == dict(zip(clf.classes_, clf.threshold_.tolist()))
    assert config.min_labels == 1
    np.testing.assert_allclose(proba, clf.predict_proba(texts), atol=1e-4)  # sigmoids
    # the documented rule: each label whose score reaches its threshold, at least min_labels
    rule = MultiLabelSpace(list(config.thresholds), threshold=list(config.thresholds.values()),
                           min_labels=config.min_labels)
    np.testing.assert_array_equal(rule.from_proba(proba)[0], expected)


def test_a_label_set_onnx_file_predicts_the_indicator_matrix(multi_label):
    clf, folder, texts = multi_label
    onnx = OnnxStudent(folder)
    np.testing.assert_array_equal(onnx.classes_, clf.classes_)
    np.testing.assert_allclose(onnx.predict_proba(texts), clf.predict_proba(texts), atol=1e-4)
    np.testing.assert_array_equal(onnx.predict(texts), clf.predict(texts))
    logits = onnx.predict_logits(texts)  # what the file outputs: a sigmoid gives the scores
    np.testing.assert_allclose(1 / (1 + np.exp(-logits)), clf.predict_proba(texts), atol=1e-4)


def test_a_label_set_student_alone_exports_its_own_threshold(multi_label, tmp_path):
    clf, _, texts = multi_label
    student = clf.slm_
    folder = export_student(student, tmp_path / "student", onnx=True)
    onnx = OnnxStudent(folder)
    assert onnx.label_sets_.min_labels == 0 and onnx.classes_.tolist() == ["0", "1", "2"]
    np.testing.assert_array_equal(onnx.label_sets_.threshold, [student.threshold] * 3)
    np.testing.assert_array_equal(onnx.predict(texts), student.predict(texts))


def test_an_unfitted_estimator_is_refused(tmp_path):
    with pytest.raises(NotFittedError):
        export_student(RobustTextClassifier(), tmp_path / "a")
    with pytest.raises(NotFittedError):
        export_student(make_clf(), tmp_path / "b")
    with pytest.raises(TypeError, match="FreeALClassifier or RobustTextClassifier, got str"):
        export_student("model.joblib", tmp_path / "c")
    assert not any(tmp_path.iterdir())


def test_a_collapsed_student_or_another_slm_is_refused(tiny_encoder_path, tmp_path,
                                                       monkeypatch):
    from skfreeal.loop import _core

    texts, _ = make_texts(40)
    tfidf = make_clf(n_rounds=1).fit(texts)
    with pytest.raises(ValueError, match="Only a RobustTextClassifier student.*Pipeline"):
        export_student(tfidf, tmp_path / "a")
    # the final student learned nothing: the judge predicts on the embeddings instead
    monkeypatch.setattr(_core, "learned_nothing", lambda view, y, space: True)
    slm = RobustTextClassifier(tiny_encoder_path, max_epochs=1, batch_size=8,
                               head_init="random", random_state=0)
    collapsed = FreeALClassifier(["negative", "positive"], "Sentiment.", labeler=RuleLabeler(),
                                 slm=slm, embedder=tfidf_embedder(), rounds=RoundPolicy(1),
                                 demos=DemoPolicy(0), random_state=0)
    collapsed.fit(texts)
    assert collapsed.student_record_.collapsed
    with pytest.raises(ValueError, match=r"student collapsed.*slm_ is Pipeline"):
        export_student(collapsed, tmp_path / "b")
    assert not any(tmp_path.iterdir())


@pytest.mark.slow
def test_label_exports_the_model_from_the_command_line(tmp_path, tiny_encoder_path):
    pytest.importorskip("onnxruntime")
    from cli_helpers import LABELS as CLI_LABELS, TASK, run_cli
    from fault_server import FaultServer, keyword_label

    from skfreeal.io import write_table

    words = ["good", "bad", "great", "awful"]
    texts = [f"review {i}: the blender was {words[i % 4]} overall" for i in range(12)]
    write_table(tmp_path / "in.csv", ["body"], [{"body": t} for t in texts])
    server = FaultServer(model="fault-model", labels=CLI_LABELS.split(","),
                         api_key="sk-test").start()
    try:
        proc = run_cli("label", tmp_path / "in.csv", "--text-column", "body", "--labels",
                       CLI_LABELS, "--task", TASK, "--llm", "openai", "--model", server.model,
                       "--base-url", server.base_url, "--slm", tiny_encoder_path,
                       "--slm-epochs", "2", "--n-demos", "2", "--seed", "0",
                       "--out", tmp_path / "out.csv", "--save-model", tmp_path / "clf.joblib",
                       "--export-model", tmp_path / "served", "--export-onnx",
                       env={"OPENAI_API_KEY": "sk-test"}, timeout=300)
    finally:
        server.stop()
    assert proc.returncode == 0, proc.stderr
    assert f"wrote the small model to {tmp_path / 'served'}" in proc.stderr
    import joblib

    clf = joblib.load(tmp_path / "clf.joblib")
    onnx = OnnxStudent(tmp_path / "served")
    np.testing.assert_array_equal(onnx.predict(texts), clf.predict(texts))
    assert (tmp_path / "served" / "onnx" / "model_int8.onnx").is_file()
    assert {keyword_label(t) for t in texts} == set(clf.classes_)
    refused = run_cli("label", tmp_path / "in.csv", "--text-column", "body", "--labels",
                      CLI_LABELS, "--task", TASK, "--out", tmp_path / "again.csv",
                      "--export-onnx")
    assert refused.returncode == 2
    assert "--export-onnx needs --export-model DIR" in refused.stderr
