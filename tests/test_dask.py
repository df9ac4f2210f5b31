"""skfreeal.dask on a two-process LocalCluster, and grid searches on the dask backend.

One cluster (2 worker processes, one thread each) and one tiny FreeAL model
(the tiny encoder as student and embedder, an OpenAI-compatible keyword
server on 127.0.0.1 as LLM) serve the whole module. Predictions over Dask
collections must equal the in-memory ones; the model must be unpickled once
per worker, not once per partition; and a grid search on the dask backend
must send each distinct LLM request once across all its processes and give
the result of the same search in one process (its student is TF-IDF +
logistic regression, which trains to the same bits in any process).
"""

import logging
import os
import subprocess
import sys
import uuid
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("dask", reason="skfreeal.dask needs the dask extra: pip install skfreeal[dask]")
pytest.importorskip("distributed", reason="the dask extra (distributed) is not installed")
pytest.importorskip("dask.dataframe", reason="dask[dataframe] (pandas, pyarrow) is not installed")

import dask  # noqa: E402
import dask.array as da  # noqa: E402
import dask.bag as db  # noqa: E402
import dask.dataframe as dd  # noqa: E402
import pandas as pd  # noqa: E402
from sklearn.base import BaseEstimator  # noqa: E402
from sklearn.exceptions import NotFittedError  # noqa: E402
from sklearn.feature_extraction.text import TfidfVectorizer  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.model_selection import GridSearchCV, ShuffleSplit  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import FunctionTransformer  # noqa: E402

import skfreeal.dask as sd  # noqa: E402
from skfreeal import FreeALClassifier, GMMNoiseFilter, RobustTextClassifier  # noqa: E402
from skfreeal.labelers import LocalLabeler, OpenAILabeler  # noqa: E402
from skfreeal.slm import SentenceEmbedder  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
from fault_server import FaultServer, keyword_label, passenger_texts  # noqa: E402
from test_freeal import with_policies  # noqa: E402

pytestmark = pytest.mark.usefixtures("torch_single_thread")

LABELS = ["negative", "positive"]
TASK = "Classify the sentiment of an airline passenger's tweet."
make_texts = passenger_texts


def make_clf(server, encoder, cache, **params):
    """A tiny FreeAL: zero-shot round 0 (no generated demos: answers independent of order)."""
    labeler = OpenAILabeler(server.model, base_url=server.base_url, cache=cache,
                            max_concurrency=2, timeout=30.0)
    slm = RobustTextClassifier(encoder, max_epochs=3, warmup_epochs=1, rampup_epochs=1,
                               batch_size=8, lr=3e-3, device="cpu", random_state=0)
    # judge=None: the student judges and is kept whatever it learns from 40 texts, so that
    # the model embeds with its student (a probe judge would stand in for a student that
    # learned nothing).
    settings = dict(labeler=labeler, slm=slm, embedder=SentenceEmbedder(encoder, device="cpu"),
                    n_rounds=1, n_demos=2, n_generated=0, random_state=0, judge=None)
    settings.update(params)
    return FreeALClassifier(LABELS, TASK, **with_policies(settings))


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    """Two worker processes, one thread each, quiet, with a cache folder of their own."""
    from distributed import Client, LocalCluster

    env = {"SKFREEAL_CACHE_DIR": str(tmp_path_factory.mktemp("worker-cache")),
           "HF_HUB_OFFLINE": "1"}
    with LocalCluster(n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None,
                      silence_logs=logging.CRITICAL, env=env) as cluster, Client(cluster) as client:
        yield client


@pytest.fixture(scope="module")
def model(tiny_encoder_path, tmp_path_factory):
    with FaultServer() as server:
        cache = tmp_path_factory.mktemp("dask-model") / "responses.sqlite"
        return make_clf(server, tiny_encoder_path, cache).fit(make_texts(40))


@pytest.fixture(scope="module")
def texts():
    return make_texts(50, start=100)


def as_series(texts, npartitions=7):
    return dd.from_pandas(pd.Series(texts, index=np.arange(1000, 1000 + len(texts)),
                                    name="text"), npartitions=npartitions)


# -- results equal the in-memory ones ----------------------------------------------------


def test_predict_over_a_series_equals_predict_in_memory(client, model, texts):
    series = as_series(texts)
    labels = sd.predict(model, series)
    assert labels.npartitions == series.npartitions == 7
    out = labels.compute()
    np.testing.assert_array_equal(out.to_numpy(), model.predict(texts))
    assert out.name == "label" and out.dtype == labels.dtype == object
    pd.testing.assert_index_equal(out.index, series.index.compute())
    frame = series.to_frame().assign(label=labels).compute()  # aligns on the index
    assert frame["label"].tolist() == out.tolist()


def test_predict_proba_and_embed_over_a_series_match_in_memory(client, model, texts):
    proba = sd.predict_proba(model, as_series(texts))
    assert list(proba.columns) == LABELS and (proba.dtypes == np.float64).all()
    np.testing.assert_allclose(proba.compute().to_numpy(), model.predict_proba(texts),
                               rtol=1e-5, atol=1e-6)
    vectors = sd.embed(model, as_series(texts))  # a FreeALClassifier: its student's embed
    expected = model.slm_.embed(texts)
    assert list(vectors.columns) == [f"embedding{i}" for i in range(expected.shape[1])]
    assert (vectors.dtypes == np.float32).all()
    np.testing.assert_allclose(vectors.compute().to_numpy(), expected, rtol=1e-4, atol=1e-5)


def test_bag_and_array_give_collections_of_their_kind(client, model, texts, tiny_encoder_path):
    bag = db.from_sequence(texts, npartitions=4)
    assert sd.predict(model, bag).compute() == model.predict(texts).tolist()
    rows = sd.predict_proba(model, bag).compute()
    np.testing.assert_allclose(np.stack(rows), model.predict_proba(texts), rtol=1e-5, atol=1e-6)

    array = da.from_array(np.array(texts), chunks=16)  # fixed-width unicode
    labels = sd.predict(model, array)
    assert labels.chunks == array.chunks and labels.dtype == object
    np.testing.assert_array_equal(labels.compute(), model.predict(texts))
    encoder = SentenceEmbedder(tiny_encoder_path, device="cpu").fit()  # through transform()
    vectors = sd.embed(encoder, array)
    assert vectors.shape == (len(texts), encoder.n_features_out_)
    assert vectors.chunks[0] == array.chunks[0]
    np.testing.assert_allclose(vectors.compute(), encoder.transform(texts), rtol=1e-4, atol=1e-5)


# -- the model travels once per worker ---------------------------------------------------

LOADS = []  # (tag, pid) each time a CountingModel is unpickled, in this process
CALLS = []  # (tag, pid, id(model)) each time one predicts a partition, in this process


class CountingModel(BaseEstimator):
    """A fitted model that records where it is unpickled and which copy predicts."""

    def __init__(self, model, tag):
        self.model = model
        self.tag = tag
        self.classes_ = model.classes_

    def fit(self, X, y=None):
        return self

    def predict(self, texts):
        CALLS.append((self.tag, os.getpid(), id(self)))
        return self.model.predict(texts)

    def __setstate__(self, state):
        super().__setstate__(state)
        LOADS.append((self.tag, os.getpid()))


def _records():
    return LOADS, CALLS


def test_model_is_unpickled_once_per_worker_not_per_partition(client, model, texts):
    tag = uuid.uuid4().hex
    lazy = sd.predict(CountingModel(model, tag), as_series(texts, npartitions=10))
    # What made this flaky on a slow machine: distributed's Active Memory Manager
    # drops one of the two broadcast copies when no task waits for it yet (every
    # 2 s); the worker that lost it fetches it again for its first task. Run it
    # now, so that this happens every time: a refetch must not mean an unpickling.
    client.amm.run_once()
    labels = lazy.compute()
    np.testing.assert_array_equal(labels.to_numpy(), model.predict(texts))
    loads, calls = Counter(), Counter()
    copies = {}
    for worker_loads, worker_calls in client.run(_records).values():
        loads.update(pid for t, pid in worker_loads if t == tag)
        calls.update(pid for t, pid, _ in worker_calls if t == tag)
        for t, pid, copy in worker_calls:
            if t == tag:
                copies.setdefault(pid, set()).add(copy)
    assert sum(calls.values()) == 10  # one call per partition, all on the workers
    assert len(loads) == 2 and set(loads.values()) == {1}  # each worker: one unpickling
    assert max(calls.values()) > 1  # so some worker predicted several partitions with it
    assert all(len(ids) == 1 for ids in copies.values())  # and always the same object


def test_a_shipped_model_is_unpickled_once_per_process_and_the_two_latest_are_kept(model):
    import cloudpickle

    from skfreeal._dask_tasks import ShippedModel

    tags = [uuid.uuid4().hex for _ in range(3)]
    shipped = [ShippedModel(uuid.uuid4().hex, cloudpickle.dumps(CountingModel(model, tag)))
                for tag in tags]
    first = shipped[0].model()
    assert shipped[0].model() is first  # the same object for every task
    copy = cloudpickle.loads(cloudpickle.dumps(shipped[0]))  # as a refetch delivers it
    assert copy.model() is first
    shipped[1].model(), shipped[2].model()  # two later calls: the first one is let go
    assert shipped[0].model() is not first
    loads = Counter(t for t, pid in LOADS if t in tags and pid == os.getpid())
    assert loads == {tags[0]: 2, tags[1]: 1, tags[2]: 1}
    assert "payload" not in repr(shipped[0])  # no megabytes of bytes in a traceback


def test_without_a_client_scheduler_the_model_is_used_in_place(client, model, texts):
    tag = uuid.uuid4().hex
    with dask.config.set(scheduler="threads"):
        labels = sd.predict(CountingModel(model, tag), as_series(texts)).compute()
    np.testing.assert_array_equal(labels.to_numpy(), model.predict(texts))
    assert not [t for t, _ in LOADS if t == tag]  # never pickled
    assert {pid for t, pid, _ in CALLS if t == tag} == {os.getpid()}


# -- errors --------------------------------------------------------------------------------


def test_wrong_inputs_are_refused_with_what_to_do(model, texts):
    with pytest.raises(TypeError, match=r"got a pandas.Series\. For texts in memory call "
                                        r"model\.predict\(texts\)"):
        sd.predict(model, pd.Series(texts))
    with pytest.raises(TypeError, match=r"got a list\. .*model\.predict_proba\(texts\)"):
        sd.predict_proba(model, texts)
    frame = as_series(texts).to_frame()
    with pytest.raises(TypeError, match=r"columns \['text'\]: pass that column, e\.g\. "
                                        r"ddf\['text'\]"):
        sd.predict(model, frame)
    with pytest.raises(TypeError, match="must hold strings, got a Dask Series of dtype int64"):
        sd.predict(model, dd.from_pandas(pd.Series([1, 2, 3]), npartitions=1))
    with pytest.raises(TypeError, match=r"Dask Array of shape \(2, 2\)"):
        sd.embed(model, da.from_array(np.array([["a", "b"], ["c", "d"]])))
    with pytest.raises(NotFittedError):
        sd.predict(RobustTextClassifier(), as_series(texts))
    with pytest.raises(TypeError, match=r"model=CountingModel\(\.\.\.\) lacks predict_proba"):
        sd.predict_proba(CountingModel(model, "x"), as_series(texts))
    with pytest.raises(TypeError, match=r"model_or_embedder=LogisticRegression\(\.\.\.\) "
                                        r"cannot embed texts"):
        sd.embed(LogisticRegression().fit([[0], [1]], [0, 1]), as_series(texts))


def test_a_missing_text_names_its_position_and_partition(client, model):
    series = dd.from_pandas(pd.Series(["good", None, "bad"], index=[7, 8, 9]), npartitions=1)
    with pytest.raises(TypeError, match=r"texts\[1\] must be a str.*partition starting at "
                                        r"index 7\); drop or fill missing texts"):
        sd.predict(model, series).compute()


def test_importing_skfreeal_does_not_import_dask():
    code = ("import sys, skfreeal, skfreeal.dask; "
            "print(sorted(m for m in ('dask', 'distributed') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"


# -- one answer cache for every process of a grid search ---------------------------------


def test_pin_cache_resolves_every_labeler_here(tmp_path, monkeypatch):
    monkeypatch.setenv("SKFREEAL_CACHE_DIR", str(tmp_path / "here"))
    monkeypatch.chdir(tmp_path)
    auto = FreeALClassifier(LABELS, TASK, labeler=OpenAILabeler("m"))
    pinned = sd.pin_cache(auto)
    assert pinned.labeler.cache == str(tmp_path / "here" / "responses.sqlite")
    assert auto.labeler.cache == "auto"  # the given estimator is left as it was
    relative = FreeALClassifier(LABELS, TASK, labeler=OpenAILabeler("m", cache="a.sqlite"))
    assert sd.pin_cache(relative).labeler.cache == str(tmp_path / "a.sqlite")
    default = sd.pin_cache(FreeALClassifier(LABELS, TASK), path="shared.sqlite")
    assert isinstance(default.labeler, LocalLabeler)
    assert default.labeler.cache == str(tmp_path / "shared.sqlite")
    off = FreeALClassifier(LABELS, TASK, labeler=OpenAILabeler("m", cache=None))
    assert sd.pin_cache(off, path="shared.sqlite").labeler.cache is None
    nested = GridSearchCV(make_pipeline(FunctionTransformer(), auto), {})
    assert sd.pin_cache(nested).estimator[-1].labeler.cache == pinned.labeler.cache
    with pytest.raises(ValueError, match=r"estimator=GMMNoiseFilter\(\.\.\.\) holds no "
                                         "skfreeal labeler"):
        sd.pin_cache(GMMNoiseFilter())


def _cache_dir():
    from skfreeal._cache_dir import get_cache_dir

    return str(get_cache_dir())


def plain_student():
    """A TF-IDF + logistic-regression student: trains the same in any process, to the bit."""
    return make_pipeline(TfidfVectorizer(), LogisticRegression(C=10.0))


@pytest.mark.timeout(300)
def test_grid_search_on_dask_pays_each_request_once_and_equals_default_backend(
        client, tiny_encoder_path, tmp_path, monkeypatch):
    from joblib import parallel_backend

    # The workers run under another SKFREEAL_CACHE_DIR: "auto" would not find this one.
    monkeypatch.setenv("SKFREEAL_CACHE_DIR", str(tmp_path / "cache"))
    assert set(client.run(_cache_dir).values()) != {_cache_dir()}
    texts = np.array(make_texts(32), dtype=object)
    gold = np.array([keyword_label(t) for t in texts], dtype=object)
    # Two candidates (R% and the clean threshold) x 2 overlapping splits: the folds share texts.
    grid = [{"demos__top_percent": [0.2], "noise_filter__threshold": [0.7]},
            {"demos__top_percent": [0.5], "noise_filter__threshold": [0.5]}]
    cv = ShuffleSplit(n_splits=2, test_size=0.25, random_state=0)

    def search(server, **pin):
        clf = make_clf(server, tiny_encoder_path, "auto", n_rounds=2, slm=plain_student(),
                       noise_filter=GMMNoiseFilter(random_state=0))
        return GridSearchCV(sd.pin_cache(clf, **pin), grid, cv=cv).fit(texts, gold)

    with FaultServer() as on_dask, FaultServer() as alone:
        with parallel_backend("dask"):
            searched = search(on_dask)
        baseline = search(alone, path=tmp_path / "baseline.sqlite")

    # Each distinct request reached the server once, over 4 fits on 2 workers and the refit.
    sent = Counter(e["digest"] for e in on_dask.log)
    assert {e["outcome"] for e in on_dask.log} == {"ok"}
    assert len(sent) > len(texts) and max(sent.values()) == 1
    # The same requests as the search in one process, and the same result.
    assert set(sent) == {e["digest"] for e in alone.log}
    for key in ("mean_test_score", "split0_test_score", "split1_test_score"):
        np.testing.assert_array_equal(searched.cv_results_[key], baseline.cv_results_[key])
    assert searched.best_params_ == baseline.best_params_
    np.testing.assert_array_equal(searched.best_estimator_.label_ids_,
                                  baseline.best_estimator_.label_ids_)
    assert (tmp_path / "cache" / "responses.sqlite").exists()
