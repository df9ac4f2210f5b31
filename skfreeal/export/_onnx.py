"""The student as ONNX (float32, and int8 by dynamic quantization), and a predictor for it."""

import contextlib
import json
import logging
import warnings
from pathlib import Path

import numpy as np

__all__ = ["ONNX_FILES", "OnnxStudent", "write_onnx"]

#: Where the ONNX files go inside an exported folder (the Hugging Face layout).
ONNX_FILES = {"float32": "onnx/model.onnx", "int8": "onnx/model_int8.onnx"}


def write_onnx(student, folder, *, quantize=False):
    """Write the student's network as ``onnx/model.onnx`` in ``folder``.

    Inputs ``input_ids`` and ``attention_mask`` (int64, batch x length, both
    dynamic), output ``logits`` (float32, batch x labels). With
    ``quantize``, also ``onnx/model_int8.onnx``: the weights of its matrix
    products as int8 (onnxruntime's dynamic quantization).

    Parameters
    ----------
    student : RobustTextClassifier
        Fitted.
    folder : path-like
        An exported model folder (it has the tokenizer and ``config.json``).
    quantize : bool, default=False

    Returns
    -------
    paths : list of Path
    """
    import copy

    import torch

    folder = Path(folder)
    path = folder / ONNX_FILES["float32"]
    path.parent.mkdir(parents=True, exist_ok=True)
    network = copy.deepcopy(student.net_.module_).to("cpu", torch.float32).eval()
    ids = torch.tensor([[101, 2023, 2003, 102], [101, 2023, 102, 0]], dtype=torch.int64)
    dynamic = {0: "batch", 1: "length"}
    with warnings.catch_warnings(), torch.inference_mode():
        # The TorchScript exporter (no onnxscript needed) warns that it is deprecated and
        # that it traced the attention mask's shape checks; the test checks the outputs.
        warnings.simplefilter("ignore")
        torch.onnx.export(
            network, (ids, (ids != 0).long()), str(path), input_names=["input_ids", "attention_mask"],
            output_names=["logits"], opset_version=17, dynamo=False, external_data=False,
            dynamic_axes={"input_ids": dynamic, "attention_mask": dynamic, "logits": {0: "batch"}},
        )
    paths = [path]
    if quantize:
        from onnxruntime.quantization import QuantType, quantize_dynamic

        int8 = folder / ONNX_FILES["int8"]
        with _without_root_warning("Please consider to run pre-processing"):
            quantize_dynamic(str(path), str(int8), weight_type=QuantType.QInt8)
        paths.append(int8)
    return paths


@contextlib.contextmanager
def _without_root_warning(start):
    """Drop the root logger's records that begin with ``start`` (onnxruntime's advice
    to pre-process a model, which shape inference would do and which changes nothing here)."""

    def keep(record):
        return not str(record.msg).startswith(start)

    root = logging.getLogger()
    root.addFilter(keep)
    try:
        yield
    finally:
        root.removeFilter(keep)


class OnnxStudent:
    """Predict with an exported ONNX student: onnxruntime and the folder's tokenizer.

    Needs onnxruntime and tokenizers only (no torch, no transformers):
    serving without skfreeal is this class's few lines, copied. Texts are
    tokenized by ``tokenizer.json``, cut at ``config.json``'s
    ``student_max_length``, batched by similar length with padding, and
    their logits softmaxed. A student of label sets (``problem_type`` is
    ``"multi_label_classification"``) gets a sigmoid per label instead, and
    ``predict`` returns the indicator matrix of the labels whose score
    reaches ``config.json``'s ``thresholds``, at least ``min_labels`` a
    text (its best ones), as the exported classifier's ``predict`` does.

    Parameters
    ----------
    folder : path-like
        A folder written by :func:`skfreeal.export.export_student` with
        ``onnx=True``.
    int8 : bool, default=False
        Use ``onnx/model_int8.onnx`` (written with ``quantize=True``).
    batch_size : int, default=64
    n_threads : int, default=None
        onnxruntime's intra-op threads (None: its default, all cores).

    Attributes
    ----------
    classes_ : ndarray of str
        The label of each output.
    label_sets_ : MultiLabelSpace or None
        For label sets, the names with their ``thresholds`` and
        ``min_labels``; None for one label a text.
    """

    def __init__(self, folder, *, int8=False, batch_size=64, n_threads=None):
        import onnxruntime
        from tokenizers import Tokenizer

        folder = Path(folder)
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
        labels = config["id2label"]
        self.classes_ = np.asarray([labels[str(i)] for i in range(len(labels))])
        self.label_sets_ = None
        if config.get("problem_type") == "multi_label_classification":
            from ..labels import MultiLabelSpace

            self.label_sets_ = MultiLabelSpace(
                self.classes_.tolist(), min_labels=int(config["min_labels"]),
                threshold=[config["thresholds"][name] for name in self.classes_])
        self.batch_size = int(batch_size)
        # The tokenizers library alone (transformers' AutoTokenizer would read
        # config.json, whose model needs trust_remote_code): the same fast
        # tokenizer, cutting texts where the student did.
        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(int(config["student_max_length"]))
        special = json.loads((folder / "tokenizer_config.json").read_text(encoding="utf-8"))
        self.pad_id = self.tokenizer.token_to_id(special.get("pad_token") or "") or 0
        options = onnxruntime.SessionOptions()
        if n_threads is not None:
            options.intra_op_num_threads = int(n_threads)
        self.session = onnxruntime.InferenceSession(
            str(folder / ONNX_FILES["int8" if int8 else "float32"]), options,
            providers=["CPUExecutionProvider"])

    def predict_logits(self, texts):
        """Logits, shape ``(n_texts, n_labels)``, float32."""
        ids = [e.ids for e in self.tokenizer.encode_batch(list(texts))]
        order = np.argsort([-len(x) for x in ids], kind="stable")
        out = np.zeros((len(ids), len(self.classes_)), dtype=np.float32)
        for start in range(0, len(ids), self.batch_size):
            rows = order[start:start + self.batch_size]
            longest = max(len(ids[i]) for i in rows)
            batch = np.full((len(rows), longest), self.pad_id, dtype=np.int64)
            mask = np.zeros_like(batch)
            for j, i in enumerate(rows):
                batch[j, :len(ids[i])], mask[j, :len(ids[i])] = ids[i], 1
            out[rows] = self.session.run(["logits"], {"input_ids": batch,
                                                      "attention_mask": mask})[0]
        return out

    def predict_proba(self, texts):
        """Label probabilities, shape ``(n_texts, n_labels)`` (label sets: each a sigmoid)."""
        logits = self.predict_logits(texts).astype(np.float64)
        if self.label_sets_ is not None:
            return 1.0 / (1.0 + np.exp(-logits))
        logits -= logits.max(axis=1, keepdims=True)
        proba = np.exp(logits)
        return proba / proba.sum(axis=1, keepdims=True)

    def predict(self, texts):
        """The most probable label of each text; label sets: the indicator matrix (int64)."""
        if self.label_sets_ is not None:
            return self.label_sets_.from_proba(self.predict_proba(texts))[0].astype(np.int64)
        return self.classes_[np.argmax(self.predict_logits(texts), axis=1)]
