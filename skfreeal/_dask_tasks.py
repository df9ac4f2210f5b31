"""What runs on the Dask workers for :mod:`skfreeal.dask`, and how the model gets there.

Each partition of texts becomes one task that calls one method of the
model (``predict``, ``predict_proba``, ``embed`` or ``transform``) and wraps
the result in the partition's own type (pandas Series or DataFrame with the
partition's index, a list for a Bag, a NumPy block for an Array).

The model is not an argument of every task: :func:`ship` turns it into one
object that each worker process unpickles once (see its docstring).
"""

import threading
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np

from ._validation import check_texts

__all__ = ["Output", "ShippedModel", "array_block", "bag_partition", "series_partition", "ship"]

# One inference at a time per process: a transformers fast tokenizer raises
# "Already borrowed" when two threads call it at once, and torch already
# spreads one call over the process's cores.
_INFERENCE_LOCK = threading.Lock()

# The models this process has unpickled, by ShippedModel token, most recent
# last: the current model and the one before it (a worker may run the tasks
# of two predict calls side by side); an older one is unpickled again if it
# is ever used again.
_MODELS = OrderedDict()
_MODELS_KEPT = 2
_MODELS_LOCK = threading.Lock()


@dataclass(frozen=True)
class ShippedModel:
    """A pickled model and a token naming it: what travels to the workers.

    Distributed may copy a scattered object to a worker more than once
    (its Active Memory Manager drops "superfluous" replicas every two
    seconds, and a worker that needs the object again fetches it again),
    and each copy it receives is unpickled on arrival. Shipping the model
    as bytes makes those copies cheap; :meth:`model` unpickles the bytes
    once per process and token, whatever distributed does with the copies.

    Parameters
    ----------
    token : str
        Unique per :func:`ship` call.
    payload : bytes
        ``cloudpickle.dumps(model)``.
    """

    token: str
    payload: bytes = field(repr=False)

    def model(self):
        """The model, unpickled the first time this process asks for this token."""
        with _MODELS_LOCK:
            found = _MODELS.get(self.token)
            if found is None:
                import cloudpickle

                found = _MODELS[self.token] = cloudpickle.loads(self.payload)
            _MODELS.move_to_end(self.token)
            while len(_MODELS) > _MODELS_KEPT:
                _MODELS.popitem(last=False)
            return found


def _model(handle):
    """The model behind a task's model argument (a ShippedModel, or the model itself)."""
    return handle.model() if isinstance(handle, ShippedModel) else handle


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
    out = output.apply(_model(model), _texts(part.tolist(), where))
    if output.columns is None:
        return pd.Series(out, index=part.index, name=output.name, dtype=output.dtype)
    return pd.DataFrame(out, index=part.index, columns=list(output.columns))


def bag_partition(part, model, output):
    """One partition of a Dask Bag of texts -> a list (labels, or 1-D arrays)."""
    out = output.apply(_model(model), _texts(list(part), "Bag partition"))
    return out.tolist() if output.columns is None else list(out)


def array_block(block, model, output):
    """One block of a 1-D Dask Array of texts -> a 1-D or 2-D NumPy block."""
    return output.apply(_model(model), _texts(block.tolist(), "Array block"))


def ship(model):
    """A handle on ``model`` that tasks take as an argument: one unpickling per worker.

    With a distributed client as the active scheduler, the model is
    pickled once here and the bytes, as a :class:`ShippedModel`, are
    scattered to every worker at once (``broadcast=True``); each worker
    process unpickles them the first time one of its tasks needs the model
    and every later task there gets that same object, however many
    partitions it runs and however often distributed moves the bytes (a
    worker that joins later, or lost its copy to the Active Memory
    Manager, fetches the bytes again but does not unpickle them again).
    Without a client (threads, or the synchronous scheduler), the model is
    one delayed object in the graph, used in place by every task, never
    copied.

    Scattering beats a delayed object on a cluster because a delayed object
    travels inside the task graph: the scheduler receives the pickled
    model, and distributed warns about a large graph. ``hash=False``: each
    call ships the model anew, under a new token.
    """
    client = _active_client()
    if client is not None:
        import cloudpickle

        shipped = ShippedModel(uuid.uuid4().hex, cloudpickle.dumps(model, protocol=5))
        return client.scatter(shipped, broadcast=True, hash=False)
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
