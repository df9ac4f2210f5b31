"""What runs on the Dask workers for :mod:`skfreeal.dask`, and how the model gets there.

Each partition of texts becomes one task that calls one method of the
model (``predict``, ``predict_proba``, ``embed`` or ``transform``) and wraps
the result in the partition's own type (pandas Series or DataFrame with the
partition's index, a list for a Bag, a NumPy block for an Array).

The model is not an argument of every task: :func:`ship` turns it into one
object that each worker process holds once (see its docstring).
"""

import threading
import uuid
from dataclasses import dataclass

import numpy as np

from ._validation import check_texts

__all__ = ["Output", "array_block", "bag_partition", "series_partition", "ship"]

# One inference at a time per process: a transformers fast tokenizer raises
# "Already borrowed" when two threads call it at once, and torch already
# spreads one call over the process's cores.
_INFERENCE_LOCK = threading.Lock()


@dataclass(frozen=True)
class Output:
    """What a task returns: the model's method and the shape of its answer.

    Parameters
    ----------
    method : str
        The model's method to call on a list of texts.
    dtype : numpy dtype
        The dtype the answer is cast to (the collection's ``meta``).
    columns : tuple or None
        Column names of a 2-D answer (class names, embedding names); None
        for one value per text (labels).
    name : str or None
        Name of a 1-D answer as a pandas Series.
    """

    method: str
    dtype: object
    columns: tuple = None
    name: str = None

    def empty(self):
        """The answer to no text."""
        shape = (0,) if self.columns is None else (0, len(self.columns))
        return np.empty(shape, dtype=self.dtype)

    def apply(self, model, texts):
        """The model's answer for ``texts`` (a list of str), cast and shape-checked."""
        if not texts:
            return self.empty()
        with _INFERENCE_LOCK:
            out = np.asarray(getattr(model, self.method)(texts), dtype=self.dtype)
        wanted = (len(texts),) if self.columns is None else (len(texts), len(self.columns))
        if out.shape != wanted:
            raise ValueError(
                f"{type(model).__name__}.{self.method} returned shape {out.shape} for "
                f"{len(texts)} texts; {wanted} was expected."
            )
        return out


def _texts(values, where):
    """The partition's texts as a list of str (none: an empty list)."""
    if len(values) == 0:
        return []
    try:
        return check_texts(values, name="texts")
    except TypeError as exc:
        raise TypeError(f"{str(exc).rstrip('.')} (position in the {where}); drop or fill "
                        "missing texts first, e.g. texts.dropna().") from None


def series_partition(part, model, output):
    """One partition of a Dask Series of texts -> a pandas Series or DataFrame."""
    import pandas as pd

    first = part.index[:1].tolist()  # a Python scalar, not np.int64(...)
    where = f"partition starting at index {first[0]!r}" if first else "partition"
    out = output.apply(model, _texts(part.tolist(), where))
    if output.columns is None:
        return pd.Series(out, index=part.index, name=output.name, dtype=output.dtype)
    return pd.DataFrame(out, index=part.index, columns=list(output.columns))


def bag_partition(part, model, output):
    """One partition of a Dask Bag of texts -> a list (labels, or 1-D arrays)."""
    out = output.apply(model, _texts(list(part), "Bag partition"))
    return out.tolist() if output.columns is None else list(out)


def array_block(block, model, output):
    """One block of a 1-D Dask Array of texts -> a 1-D or 2-D NumPy block."""
    return output.apply(model, _texts(block.tolist(), "Array block"))


def ship(model):
    """A handle on ``model`` that tasks take as an argument: one copy per worker.

    With a distributed client as the active scheduler, the model is
    scattered to every worker at once (``broadcast=True``): each worker
    process receives and unpickles it once and keeps it in memory, and the
    tasks of all its partitions get that same object; a worker that joins
    later fetches it once from a peer. Without one (threads, or the
    synchronous scheduler), the model is one delayed object in the graph,
    used in place by every task, never copied.

    Scattering beats a delayed object on a cluster because a delayed object
    travels inside the task graph: the scheduler receives the pickled
    model, and distributed warns about a large graph. ``hash=False``: hashing
    a model to name it would pickle it once more; each call ships it anew.
    """
    client = _active_client()
    if client is not None:
        return client.scatter(model, broadcast=True, hash=False)
    import dask

    return dask.delayed(model, name=f"skfreeal-model-{uuid.uuid4().hex}", traverse=False)


def _active_client():
    """The default distributed client, when it is the scheduler in force (else None)."""
    try:
        from distributed import default_client
    except ImportError:
        return None
    try:
        client = default_client()
    except ValueError:  # no client
        return None
    from dask.base import get_scheduler

    if client.asynchronous or get_scheduler() != client.get:
        return None  # e.g. inside dask.config.set(scheduler="threads")
    return client
