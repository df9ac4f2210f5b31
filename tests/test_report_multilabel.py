"""The HTML report of a multi-label fit: per-label counts, clean fractions and accuracy."""

import re
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("matplotlib")

from sklearn.preprocessing import MultiLabelBinarizer

from skfreeal.report import UNKNOWN, build_report, report_data

sys.path.insert(0, str(Path(__file__).parent))
from test_multilabel import NAMES, make_clf, make_tickets


@pytest.fixture(scope="module")
def fit():
    X, gold = make_tickets(60, seed=1)
    return make_clf().fit(X), X, gold


def test_per_label_counts_and_clean_fractions(fit):
    clf, X, _ = fit
    data = report_data(clf, X)
    assert data["confusion"] is None and data["accuracy"] is None
    assert np.shape(clf.round_labels_) == (clf.n_rounds_, len(X), len(NAMES))
    carries = clf.label_ids_ == 1
    first = np.asarray(clf.round_labels_[0]) == 1
    assert [row["label"] for row in data["per_label"]] == NAMES
    assert [row["final"] for row in data["per_label"]] == carries.sum(axis=0).tolist()
    assert [row["round0"] for row in data["per_label"]] == first.sum(axis=0).tolist()
    for k, row in enumerate(data["per_label"]):
        assert row["clean_fraction"] == pytest.approx(clf.clean_mask_[carries[:, k]].mean())
        assert row["agreement"] == pytest.approx(np.mean(clf.predict(X)[:, k] == carries[:, k]))
    # the distribution counts texts per label (a text in each of its labels' rows)
    assert data["distribution"]["names"] == NAMES + [UNKNOWN]
    assert sum(data["distribution"]["after"]) > len(X) and data["n_labelled"] == len(X)
    assert [d for _, d in data["demos"]] and all(
        set(d.split("; ")) <= set(NAMES) for _, d in data["demos"])


def test_gold_sets_give_each_labels_accuracy_and_micro_f1_per_round(fit):
    from sklearn.metrics import f1_score

    clf, X, gold = fit
    given = [g if i % 5 else None for i, g in enumerate(gold)]  # a fifth without gold
    data = report_data(clf, X, gold=given)
    acc = data["accuracy"]
    has = np.array([g is not None for g in given])
    Y = MultiLabelBinarizer(classes=NAMES).fit_transform([g or [] for g in given])[has]
    assert acc["metric"] == "micro F1" and acc["n_gold"] == has.sum()
    assert acc["final_llm"] == pytest.approx(f1_score(Y, clf.label_ids_[has], average="micro"))
    assert acc["final_slm"] == pytest.approx(f1_score(Y, clf.predict(X)[has], average="micro"))
    assert [r for r, _ in acc["rounds"]] == list(range(len(clf.round_labels_)))
    for k, row in enumerate(data["per_label"]):
        assert row["llm_accuracy"] == pytest.approx(np.mean(clf.label_ids_[has, k] == Y[:, k]))
        assert row["slm_accuracy"] == pytest.approx(np.mean(clf.predict(X)[has, k] == Y[:, k]))
    assert min(row["llm_accuracy"] for row in data["per_label"]) < 1  # the rules are noisy


def test_the_page_shows_a_row_per_label_instead_of_a_confusion_matrix(fit):
    clf, X, gold = fit
    page = build_report(clf, X, gold=gold)
    assert "<h2>Per label (training texts)</h2>" in page
    assert "confusion matrix" not in page and "micro F1" in page
    table = page.split("<h2>Per label (training texts)</h2>")[1].split("</table>")[0]
    assert all(f"<td>{name}</td>" in table for name in NAMES)
    assert "accuracy of the final labels (gold)" in table
    assert len(re.findall(r'src="data:image/png;base64,', page)) == 3  # no confusion plot
