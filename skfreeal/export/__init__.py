"""Serve a fitted student without skfreeal: a transformers model folder and ONNX.

:func:`export_student` writes the student behind a fitted
:class:`~skfreeal.FreeALClassifier` (or a :class:`~skfreeal.RobustTextClassifier`)
as a folder that ``transformers.pipeline`` loads, and optionally as ONNX for
onnxruntime (float32, and int8); :class:`OnnxStudent` predicts with the ONNX
file. ONNX needs the ``export`` extra (``pip install skfreeal[export]``).

Examples
--------
>>> from skfreeal.export import export_student
>>> export_student(clf, "student/", onnx=True)  # doctest: +SKIP
>>> from transformers import pipeline
>>> pipe = pipeline("text-classification", model="student/",
...                 trust_remote_code=True)  # doctest: +SKIP
"""

from pathlib import Path

from ._onnx import OnnxStudent, write_onnx
from ._student import fitted_student

__all__ = ["OnnxStudent", "export_student"]


def export_student(estimator, folder, *, onnx=False, quantize=False):
    """Write the student that predicts for ``estimator`` to ``folder``, for serving.

    The folder is a transformers model: ``config.json`` (with ``id2label``
    and ``label2id``), ``model.safetensors``, the tokenizer, and the code of
    the student's network (``modeling_skfreeal_student.py``: the student
    classifies the mean of its token states, which no stock transformers
    head does, so no stock class reproduces it). Load it with::

        pipeline("text-classification", model=folder, trust_remote_code=True)

    which truncates texts as the student did and predicts what
    ``estimator.predict`` predicts, without skfreeal.

    A student of label sets (a :class:`~skfreeal.MultiLabelFreeALClassifier`'s,
    or a RobustTextClassifier fitted on an indicator matrix) is written with
    ``problem_type="multi_label_classification"``, so the pipeline's scores
    (``top_k=None`` for every label) are each label's sigmoid, and with the
    rule ``predict`` applies to them: ``thresholds`` (by label name) and
    ``min_labels`` in ``config.json``. A text carries each label whose
    score is at least its threshold; where fewer than ``min_labels`` pass,
    its ``min_labels`` highest-scoring labels are added (the classifier's
    default is 1: a text whose scores pass no threshold gets its best
    label; a bare RobustTextClassifier's is 0).

    Parameters
    ----------
    estimator : FreeALClassifier, MultiLabelFreeALClassifier or RobustTextClassifier
        Fitted.
    folder : str or path-like
        Created if missing; files of the same names are replaced.
    onnx : bool, default=False
        Also write ``onnx/model.onnx`` (run by onnxruntime, see
        :class:`OnnxStudent`). Needs the ``export`` extra. It outputs
        logits: a softmax gives one label's probabilities, a sigmoid each
        label's score of a label set (then the thresholds above).
    quantize : bool, default=False
        Also write ``onnx/model_int8.onnx``, with int8 weights (dynamic
        quantization: smaller, faster on CPU; check its agreement on your
        texts). Implies ``onnx``.

    Returns
    -------
    folder : Path

    Raises
    ------
    sklearn.exceptions.NotFittedError
        ``estimator`` is not fitted.
    ValueError
        A FreeALClassifier whose student collapsed (its judge predicts
        instead), or whose student is not a RobustTextClassifier.
    """
    from ._folder import write_model_folder

    student, names, label_sets = fitted_student(estimator)
    if onnx or quantize:
        _check_onnx_installed()
    folder = write_model_folder(student, names, folder, label_sets)
    if onnx or quantize:
        write_onnx(student, folder, quantize=quantize)
    return Path(folder)


def _check_onnx_installed():
    import importlib.util

    missing = [m for m in ("onnx", "onnxruntime") if importlib.util.find_spec(m) is None]
    if missing:
        raise ImportError(
            f"onnx=True needs {' and '.join(missing)}: pip install 'skfreeal[export]'."
        )
