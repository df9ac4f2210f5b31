"""The HTML report: its numbers, its self-containedness, and how it renders in Chromium."""

import re
import shutil
import subprocess
from types import SimpleNamespace

import numpy as np
import pytest

pytest.importorskip("matplotlib")

from skfreeal.report import UNKNOWN, build_report, report_data, round_labels, write_report  # noqa: E402

CLASSES = np.array(["negative", "neutral", "positive"], dtype=object)
TEXTS = [f"text number {i}" for i in range(10)]
GOLD = ["negative", "negative", "neutral", "positive", "positive",
        "positive", "neutral", None, "negative", "sarcastic"]


def fitted_like(**extra):
    """An object with FreeALClassifier's fitted attributes, values chosen by hand."""
    labels = np.array([0, 0, 1, 2, 2, 2, -1, 1, 0, 2])
    slm = np.array([0, 1, 1, 2, 2, 0, 2, 1, 0, 2])

    def predict(texts):
        assert list(texts) == TEXTS
        return CLASSES[slm]

    attrs = dict(
        classes_=CLASSES,
        label_ids_=labels,
        transduction_=np.array([CLASSES[c] if c >= 0 else None for c in labels], dtype=object),
        round_labels_=np.array([[0, 1, 1, 2, 0, 2, -1, -1, 0, 2], labels]),
        confidence_=np.linspace(0.5, 1.0, 10),
        label_round_=np.array([0, 1, 0, 0, 1, 0, -1, 1, 0, 0]),
        clean_mask_=np.array([1, 0, 1, 1, 1, 0, 0, 1, 1, 1], dtype=bool),
        demos_=[("<script>alert(1)</script> & friends", "negative"), ("so-so", "neutral")],
        history_=[
            dict(round=0, n_annotated=10, n_abstain=2, n_changed=8, clean_fraction=0.7,
                 judge_agreement=0.75, calls=12, prompt_tokens=3000, completion_tokens=40,
                 cost=0.0, seconds=3.5),
            dict(round=1, n_annotated=3, n_abstain=1, n_changed=2, clean_fraction=0.78,
                 judge_agreement=0.78, calls=3, prompt_tokens=900, completion_tokens=9,
                 cost=0.0, seconds=1.25, eval_accuracy=0.625),
        ],
        usage_=dict(calls=15, prompt_tokens=3900, completion_tokens=49, cache_hits=4, cost=0.0),
        n_rounds_=2,
        predict=predict,
    )
    attrs.update(extra)
    return SimpleNamespace(**attrs)


def test_report_numbers():
    data = report_data(fitted_like(), TEXTS, gold=GOLD)
    dist = data["distribution"]
    assert dist["names"] == ["negative", "neutral", "positive", UNKNOWN]
    assert dist["before"] == [3, 2, 3, 2]
    assert dist["after"] == [3, 2, 4, 1]
    assert dist["after_clean"] == [2, 2, 3, 0]
    # rows: LLM label (+ no label), columns: small model prediction
    assert data["confusion"] == [[2, 1, 0], [0, 2, 0], [1, 0, 3], [0, 0, 1]]
    assert data["agreement"] == pytest.approx(7 / 9)
    acc = data["accuracy"]
    assert acc["n_gold"] == 9  # one gold missing; "sarcastic" counts as an error
    assert acc["rounds"] == [(0, pytest.approx(5 / 9)), (1, pytest.approx(7 / 9))]
    assert acc["slm_rounds"] == [(1, 0.625)]  # only round 1 has eval_accuracy
    assert acc["final_llm"] == pytest.approx(7 / 9)
    assert acc["final_slm"] == pytest.approx(5 / 9)
    assert any("not among the label names" in n for n in data["notes"])


def test_round_labels_follow_the_rounds():
    history = np.array([np.zeros(10, int), np.ones(10, int), np.full(10, 2)])
    rounds = round_labels(fitted_like(round_labels_=history, n_rounds_=3))
    assert [r for r, _ in rounds] == [0, 1, 2]
    assert rounds[2][1].tolist() == [2] * 10


def test_without_gold_there_is_no_accuracy():
    data = report_data(fitted_like(), TEXTS, slm_pred=CLASSES[np.zeros(10, int)])
    assert data["distribution"]["before"] == [3, 2, 3, 2]
    assert data["accuracy"] is None and data["notes"] == []


def test_texts_must_match_the_fit():
    with pytest.raises(ValueError, match="texts has 3 entries but the model was fitted on 10"):
        report_data(fitted_like(), TEXTS[:3])


def test_report_is_self_contained_and_escaped():
    page = build_report(fitted_like(), TEXTS, gold=GOLD, meta={"input": "tweets.csv"})
    assert page.startswith("<!DOCTYPE html>")
    assert not re.search(r"(src|href)\s*=\s*[\"']?(https?:|//)", page)
    assert "http://" not in page and "https://" not in page
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt; &amp; friends" in page
    images = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    assert len(images) == 4  # distribution, history, accuracy, confusion
    for section in ("Label distribution", "Rounds", "Accuracy against gold labels",
                    "LLM labels vs the small model", "Demonstration pool (2)", "LLM usage and cost"):
        assert section in page
    assert "tweets.csv" in page


def test_a_judged_fit_names_the_judges_figures_and_the_final_models_split():
    """With a judge (the default), a round's figures are the judge's, not the small model's."""
    plain = report_data(fitted_like(), TEXTS, gold=GOLD)
    assert plain["round_model"] == "small model" and plain["accuracy"]["round_model"] == (
        "small model")
    from skfreeal.loop import StudentRecord

    final = StudentRecord(seconds=9.0, collapsed=False, eval_accuracy=0.5)
    judged = fitted_like(judge_=object(), student_record_=final)
    data = report_data(judged, TEXTS, gold=GOLD)
    assert data["round_model"] == "judge"
    assert data["clean_fraction"] == pytest.approx(7 / 9)  # clean_mask_'s, on labelled texts
    page = build_report(judged, TEXTS, gold=GOLD)
    for label in ("LLM/judge agree", "judge accuracy (gold)", "SLM accuracy (gold, final)",
                  "judge after round 1"):
        assert label in page
    assert "SLM accuracy (gold)<" not in page and "small model after round" not in page
    assert "small model after round 1" in build_report(fitted_like(), TEXTS, gold=GOLD)


def test_report_without_gold_has_no_accuracy_section(tmp_path):
    path = tmp_path / "r.html"
    write_report(path, fitted_like(), TEXTS)
    page = path.read_text(encoding="utf-8")
    assert "Accuracy against gold" not in page
    assert len(re.findall(r"data:image/png;base64,", page)) == 3
    assert [p.name for p in tmp_path.iterdir()] == ["r.html"]


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (apt-get install -y chromium)")
def test_report_renders_in_headless_chromium(tmp_path):
    from matplotlib.image import imread

    page = tmp_path / "report.html"
    write_report(page, fitted_like(), TEXTS, gold=GOLD)
    shot = tmp_path / "report.png"
    cmd = [
        CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--hide-scrollbars", f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1200,2600",
        f"--screenshot={shot}", page.as_uri(),
    ]
    subprocess.run(cmd, check=True, capture_output=True, timeout=120)
    pixels = imread(shot)
    assert pixels.shape[:2] == (2600, 1200)
    rgb = pixels[..., :3].reshape(-1, 3)
    # Not a blank page: dark text, the blue bars/heat map, and lots of white.
    assert (rgb.max(axis=1) < 0.25).mean() > 0.002
    blue = (rgb[:, 2] > 0.55) & (rgb[:, 0] < 0.35)
    assert blue.mean() > 0.002
    assert (rgb.min(axis=1) > 0.95).mean() > 0.5


def test_a_rolled_back_round_is_marked_in_the_table_the_notes_and_the_plots():
    from skfreeal.report._rounds import _rolled_back, _round_tick

    clf = fitted_like()
    clf.history_[1]["rolled_back"] = True
    page = build_report(clf, TEXTS, gold=GOLD)
    assert "<td>1 (rolled back)</td>" in page and "<td class=n>0</td>" in page
    assert "Round 1 was rolled back" in page
    assert "LLM labels after round 1 (rolled back: proposed, not kept)" in page
    assert "small model after round 1 (rolled back: proposed, not kept)" in page
    assert "LLM labels after round 0<" in page  # the kept round is not marked
    assert _rolled_back(clf.history_) == {1}
    assert [_round_tick(r, {1}) for r in (0, 1)] == ["0", "1\n(rolled back)"]
    plain = build_report(fitted_like(), TEXTS, gold=GOLD)
    assert "rolled back" not in plain
