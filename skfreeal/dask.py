"""Predict and embed over Dask collections of texts; grid searches that share one cache.

:func:`predict`, :func:`predict_proba` and :func:`embed` apply a fitted model
to a Dask Series (``ddf["text"]``), Bag or 1-D Array of texts, partition by
partition, and return a lazy collection of the same kind with its ``meta``
set. The model travels once per worker process, not once per partition
(see Notes of :func:`predict`). :func:`pin_cache` makes every process of a
grid search use one LLM answer cache, so that no request is paid twice.

Needs the ``dask`` extra (``pip install "skfreeal[dask]"``). ``import
skfreeal`` never imports Dask; this module imports it when a function is
called.
"""

from pathlib import Path

import numpy as np

__all__ = ["embed", "pin_cache", "predict", "predict_proba"]

_KINDS = "a Dask Series (e.g. ddf['text']), a Dask Bag or a 1-D Dask Array of strings"


def predict(model, texts):
    """Labels of a Dask collection of texts, lazily, by ``model.predict``.

    Parameters
    ----------
    model : fitted classifier
        A fitted :class:`~skfreeal.FreeALClassifier`,
        :class:`~skfreeal.RobustTextClassifier` or any classifier with
        ``predict`` on a list of texts and ``classes_``.
    texts : dask Series, Bag or 1-D Array of str
        The texts, in any number of partitions. Missing values are refused
        (drop or fill them first).

    Returns
    -------
    labels : dask Series, Bag or Array
        The same kind as ``texts``, with the same partitions: a Series
        named ``"label"`` with the index of ``texts`` (so
        ``ddf.assign(label=predict(model, ddf["text"]))`` works), a Bag of
        labels, or a 1-D Array with the chunks of ``texts``. The dtype is
        that of ``model.classes_`` (object for label names).

    Raises
    ------
    TypeError
        If ``texts`` is not a Dask collection of strings (a pandas Series,
        a list or a NumPy array: call ``model.predict(texts)``, or wrap it
        with ``dask.dataframe.from_pandas``), or ``model`` has no
        ``predict``.
    sklearn.exceptions.NotFittedError
        If ``model`` is not fitted (checked here, not on the workers).

    See Also
    --------
    predict_proba : The class probabilities.
    embed : The student's sentence embeddings.

    Notes
    -----
    **The model is unpickled once per worker.** With a ``distributed``
    client active, ``predict`` pickles the model once when it is called and
    scatters the bytes to every worker (``broadcast=True``): each worker
    process unpickles them once, at its first task, and every later task on
    that worker uses the same object, however many partitions it runs (also
    when distributed's Active Memory Manager drops a worker's copy of the
    bytes and the worker fetches them again). A worker keeps the models of
    its two latest calls. Without a client (the
    threaded or synchronous scheduler) the model is one delayed object in
    the graph, used in place. Scattering is preferred to a delayed object
    on a cluster because a delayed object travels inside the task graph,
    through the scheduler, and distributed warns about a large graph. Each
    call ships the model again: build every collection you need from one
    call rather than calling ``predict`` per partition.

    In one process, calls run one at a time (a transformers fast tokenizer
    must not be called from two threads at once, and torch already uses
    the process's cores): for throughput use worker processes with one
    thread each, e.g. ``LocalCluster(n_workers=n_cores,
    threads_per_worker=1)``; distributed's workers set
    ``OMP_NUM_THREADS=1`` themselves. Each partition is one call of
    ``predict``, batched and length-sorted inside it, so partitions of a
    few hundred texts or more keep the batches full.

    Examples
    --------
    >>> import dask.dataframe as dd  # doctest: +SKIP
    >>> from skfreeal.dask import predict  # doctest: +SKIP
    >>> ddf = dd.read_parquet("tweets/")  # doctest: +SKIP
    >>> ddf = ddf.assign(label=predict(clf, ddf["text"]))  # doctest: +SKIP
    >>> ddf.to_parquet("labelled/")  # doctest: +SKIP
    """
    kind = _collection_kind(texts, "model.predict(texts)")
    _check_model(model, "model", ("predict",))
    dtype = np.asarray(getattr(model, "classes_", np.empty(0, dtype=object))).dtype
    from ._dask_tasks import Output

    output = Output("predict", object if dtype.kind in "USO" else dtype, name="label")
    return _map(kind, texts, model, output)


def predict_proba(model, texts):
    """Class probabilities of a Dask collection of texts, lazily, by ``model.predict_proba``.

    Parameters
    ----------
    model : fitted classifier
        Has ``predict_proba`` on a list of texts and ``classes_``.
    texts : dask Series, Bag or 1-D Array of str
        The texts, in any number of partitions.

    Returns
    -------
    proba : dask DataFrame, Bag or Array
        For a Series, a DataFrame with one float64 column per class (named
        by ``model.classes_``) and the index of ``texts``; for a Bag, a Bag
        of 1-D arrays of shape ``(n_classes,)``; for an Array, a 2-D Array
        of shape ``(n_texts, n_classes)`` chunked like ``texts`` along its
        rows.

    Raises
    ------
    TypeError
        As for :func:`predict`, or ``model`` lacks ``predict_proba`` or
        ``classes_``.
    sklearn.exceptions.NotFittedError
        If ``model`` is not fitted.

    See Also
    --------
    predict : The labels; its Notes say how the model travels.

    Examples
    --------
    >>> from skfreeal.dask import predict_proba  # doctest: +SKIP
    >>> proba = predict_proba(clf, ddf["text"])  # doctest: +SKIP
    >>> proba.max(axis=1).mean().compute()  # mean confidence  # doctest: +SKIP
    """
    kind = _collection_kind(texts, "model.predict_proba(texts)")
    _check_model(model, "model", ("predict_proba", "classes_"))
    from ._dask_tasks import Output

    output = Output("predict_proba", np.float64, columns=tuple(np.asarray(model.classes_).tolist()))
    return _map(kind, texts, model, output)


def embed(model_or_embedder, texts):
    """Sentence embeddings of a Dask collection of texts, lazily.

    Parameters
    ----------
    model_or_embedder : fitted estimator
        A fitted :class:`~skfreeal.RobustTextClassifier` (its ``embed``:
        the fine-tuned encoder's mean-pooled states), a fitted
        :class:`~skfreeal.FreeALClassifier` (its student's ``embed``: only
        the student is shipped), or a fitted embedder with ``transform``
        returning a dense array (:class:`~skfreeal.slm.SentenceEmbedder`).
    texts : dask Series, Bag or 1-D Array of str
        The texts, in any number of partitions.

    Returns
    -------
    embeddings : dask DataFrame, Bag or Array
        For a Series, a DataFrame with columns ``embedding0``,
        ``embedding1``, ... and the index of ``texts``; for a Bag, a Bag of
        1-D arrays; for an Array, a 2-D Array of shape ``(n_texts,
        n_features)`` chunked like ``texts`` along its rows. The dtype is
        the model's (float32 for the built-in ones); the width is read from
        one text embedded here.

    Raises
    ------
    TypeError
        As for :func:`predict`, or ``model_or_embedder`` has none of
        ``embed``, a student with ``embed`` or ``transform``.
    sklearn.exceptions.NotFittedError
        If ``model_or_embedder`` is not fitted.

    See Also
    --------
    predict : Its Notes say how the model travels.

    Examples
    --------
    >>> from skfreeal.dask import embed  # doctest: +SKIP
    >>> vectors = embed(clf, ddf["text"])  # doctest: +SKIP
    >>> vectors.to_parquet("embeddings/")  # doctest: +SKIP
    """
    kind = _collection_kind(texts, "the model's embed(texts) or transform(texts)")
    source, method = _embedding_source(model_or_embedder)
    probe = np.asarray(getattr(source, method)(["a"]))
    if probe.ndim != 2:
        raise ValueError(
            f"model_or_embedder={type(model_or_embedder).__name__}: {method}() returned an "
            f"array of shape {probe.shape} for one text; (1, n_features) was expected."
        )
    from ._dask_tasks import Output

    output = Output(method, probe.dtype,
                    columns=tuple(f"embedding{i}" for i in range(probe.shape[1])))
    return _map(kind, texts, source, output)


def pin_cache(estimator, path=None):
    """A clone of ``estimator`` whose labelers all use one cache file, resolved here.

    A labeler's default ``cache="auto"`` is resolved where it runs:
    ``$SKFREEAL_CACHE_DIR`` or the user cache folder *of that process*, and
    a relative path from *its* working directory. Dask workers started
    elsewhere (``dask worker`` in another shell or job, another user, a
    cluster started before ``SKFREEAL_CACHE_DIR`` was set) would each write
    their own file, and a grid search would pay again for answers another
    process already has. Pin the path in the process that starts the
    search: every worker and the final refit then read and write one SQLite
    file, whose claims make a request that two fits need at once go out
    once (the other fit waits for its answer).

    Parameters
    ----------
    estimator : estimator
        A :class:`~skfreeal.FreeALClassifier`, a labeler, or any estimator
        holding them (a pipeline, a grid search). Not modified.
    path : str or path-like, default=None
        The cache file for every labeler. None: each labeler's own cache
        resolved in this process (``"auto"`` becomes
        ``<cache folder>/responses.sqlite``, a relative path becomes
        absolute).

    Returns
    -------
    pinned : estimator
        A clone whose labelers have an absolute ``cache`` path. A
        ``FreeALClassifier`` with ``labeler=None`` gets the default
        :class:`~skfreeal.labelers.LocalLabeler` with that path. A labeler
        with ``cache=None`` keeps caching off.

    Raises
    ------
    ValueError
        If ``estimator`` holds no skfreeal labeler.

    Notes
    -----
    One SQLite file serves the processes of one machine (a
    ``LocalCluster``, or workers sharing its disk). Workers on other
    machines need the file on a shared disk with working POSIX locks; SQLite
    advises against network file systems, so there each machine is better
    given its own cache (requests may then be paid once per machine).

    Labelers that are values of a parameter grid (``{"labeler": [...]}``)
    are not parameters of the estimator and are not pinned: pin each one
    (``pin_cache(labeler)``) before putting it in the grid.

    Examples
    --------
    >>> from pathlib import Path
    >>> from skfreeal import FreeALClassifier
    >>> from skfreeal.dask import pin_cache
    >>> from skfreeal.labelers import OpenAILabeler
    >>> clf = FreeALClassifier(["negative", "positive"], "Sentiment of a tweet.",
    ...                        labeler=OpenAILabeler("gpt-4o-mini", cache="answers.sqlite"))
    >>> pinned = pin_cache(clf)
    >>> Path(pinned.labeler.cache).is_absolute(), clf.labeler.cache
    (True, 'answers.sqlite')
    """
    from sklearn.base import clone

    pinned = clone(estimator)
    if not _pin_labelers(pinned, path):
        raise ValueError(
            f"estimator={type(estimator).__name__}(...) holds no skfreeal labeler: there is no "
            "LLM answer cache to pin."
        )
    return pinned


def _pin_labelers(estimator, path):
    """Set the absolute cache path on every labeler ``estimator`` holds, in place.

    Returns how many labelers it found (a ``FreeALClassifier`` without one
    counts once: it gets a ``LocalLabeler`` with the pinned path).
    """
    from ._cache_dir import get_cache_dir
    from ._freeal import FreeALClassifier
    from .labelers import BaseLabeler, LocalLabeler

    def resolved(cache):
        cache = path if path is not None else cache
        if cache == "auto":
            cache = get_cache_dir() / "responses.sqlite"
        return str(Path(cache).expanduser().resolve())

    parts = [estimator] + [v for v in estimator.get_params(deep=True).values()
                           if hasattr(v, "get_params") and not isinstance(v, type)]
    found = 0
    for part in parts:
        if isinstance(part, FreeALClassifier) and part.labeler is None:
            part.set_params(labeler=LocalLabeler(cache=resolved("auto")))
            found += 1
        elif isinstance(part, BaseLabeler):
            found += 1
            if part.cache is not None:
                part.set_params(cache=resolved(part.cache))
    return found


# -- the plumbing -------------------------------------------------------------------


def _collection_kind(texts, in_memory):
    """``"series"``, ``"bag"`` or ``"array"``; a clear error for anything else."""
    try:
        import dask
    except ImportError as exc:  # pragma: no cover - the extra is missing
        raise ImportError(
            'skfreeal.dask needs Dask: pip install "skfreeal[dask]"') from exc
    if not dask.is_dask_collection(texts):
        package, name = type(texts).__module__.split(".")[0], type(texts).__name__
        what = name if package == "builtins" else f"{package}.{name}"
        raise TypeError(
            f"texts must be {_KINDS}, got a {what}. For texts in memory call "
            f"{in_memory} directly, or make a Dask collection of them first, "
            "e.g. dask.dataframe.from_pandas(texts, npartitions=8)."
        )
    import dask.array as da
    import dask.bag as db

    if isinstance(texts, db.Bag):
        return "bag"
    if isinstance(texts, da.Array):
        if texts.ndim != 1 or texts.dtype.kind not in "UO":
            raise TypeError(
                f"texts must be {_KINDS}, got a Dask Array of shape {texts.shape} and "
                f"dtype {texts.dtype}."
            )
        return "array"
    import dask.dataframe as dd

    if isinstance(texts, dd.Series):
        if texts.dtype != object and str(texts.dtype) not in ("string", "str"):
            raise TypeError(f"texts must hold strings, got a Dask Series of dtype {texts.dtype}.")
        return "series"
    if isinstance(texts, dd.DataFrame):
        raise TypeError(
            f"texts must be one column of texts, got a Dask DataFrame with columns "
            f"{list(texts.columns)}: pass that column, e.g. ddf[{texts.columns[0]!r}]."
        )
    raise TypeError(f"texts must be {_KINDS}, got a {type(texts).__name__}.")


def _check_model(model, name, needs):
    from sklearn.utils.validation import check_is_fitted

    missing = [n for n in needs if not hasattr(model, n)]
    if missing:
        raise TypeError(
            f"{name}={type(model).__name__}(...) lacks {', '.join(missing)}: a fitted "
            f"classifier with {', '.join(needs)} is expected."
        )
    check_is_fitted(model)


def _embedding_source(obj):
    """The object and method that embed texts: ``embed``, a student's ``embed``, ``transform``.

    A FreeALClassifier whose final student learned nothing predicts with a
    pipeline of the embedder, a normaliser and its judge: its embeddings are
    the pipeline's steps before the judge.
    """
    from sklearn.pipeline import Pipeline
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(obj)
    if callable(getattr(obj, "embed", None)):
        return obj, "embed"
    student = getattr(obj, "slm_", None)
    if callable(getattr(student, "embed", None)):
        return student, "embed"
    judge = getattr(obj, "judge_", None)
    if isinstance(student, Pipeline) and judge is not None and student.steps[-1][1] is judge:
        return student[:-1], "transform"  # only that fallback: not any user's pipeline
    if callable(getattr(obj, "transform", None)):
        return obj, "transform"
    raise TypeError(
        f"model_or_embedder={type(obj).__name__}(...) cannot embed texts: it needs embed() "
        "(RobustTextClassifier), a student with embed() (FreeALClassifier) or transform() "
        "(SentenceEmbedder)."
    )


def _map(kind, texts, model, output):
    """Apply ``output`` partition by partition, with the model shipped once per worker."""
    from . import _dask_tasks as tasks

    handle = tasks.ship(model)
    if kind == "bag":
        return texts.map_partitions(tasks.bag_partition, handle, output)
    if kind == "array":
        import dask.array as da

        if output.columns is None:
            return da.map_blocks(tasks.array_block, texts, handle, output, dtype=output.dtype,
                                 meta=output.empty())
        return da.map_blocks(tasks.array_block, texts, handle, output, dtype=output.dtype,
                             chunks=(texts.chunks[0], (len(output.columns),)), new_axis=1,
                             meta=output.empty())
    meta = tasks.series_partition(texts._meta, None, output)
    return texts.map_partitions(tasks.series_partition, handle, output, meta=meta)
