"""The student as a transformers model folder that ``transformers.pipeline`` loads."""

import copy
import shutil
from pathlib import Path

__all__ = ["MODELING_FILE", "write_model_folder"]

#: The student's code, copied into the folder (see :mod:`skfreeal.export._remote_code`).
MODELING_FILE = "modeling_skfreeal_student.py"


def _auto_map():
    module = MODELING_FILE.removesuffix(".py")
    return {
        "AutoConfig": f"{module}.SkfreealStudentConfig",
        "AutoModelForSequenceClassification": f"{module}.SkfreealStudentForSequenceClassification",
    }


def write_model_folder(student, label_names, folder, label_sets=None):
    """Write ``student`` (a fitted RobustTextClassifier) to ``folder``.

    The folder holds ``config.json`` (``id2label``/``label2id`` from
    ``label_names``, the encoder's own config, the truncation length),
    ``model.safetensors``, the tokenizer (its ``model_max_length`` set to
    the student's ``max_length_``) and the network's code.

    Parameters
    ----------
    student : RobustTextClassifier
    label_names : list of str
        One per output of the head.
    folder : path-like
        Created if missing; files of the same names are replaced.
    label_sets : dict, default=None
        A multi-label student's decision rule (``thresholds``, a dict of
        label name to threshold, and ``min_labels``), stored in
        ``config.json`` beside ``problem_type="multi_label_classification"``
        (so that the pipeline applies a sigmoid); None for one label a text.

    Returns
    -------
    folder : Path
    """
    import torch

    from .._console import quiet_transformers
    from ._remote_code import SkfreealStudentConfig, SkfreealStudentForSequenceClassification

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    network = student.net_.module_
    config = SkfreealStudentConfig(
        encoder=network.encoder.config.to_dict(),
        student_max_length=student.max_length_,
        classifier_dropout=network.dropout.p,
        num_labels=len(label_names),
        id2label=dict(enumerate(label_names)),
        label2id={name: i for i, name in enumerate(label_names)},
        auto_map=_auto_map(),
        custom_pipelines={"text-classification": {
            "impl": f"{MODELING_FILE.removesuffix('.py')}.SkfreealStudentPipeline",
            "pt": ["AutoModelForSequenceClassification"], "type": "text",
        }},
        **({} if label_sets is None else
           {"problem_type": "multi_label_classification", **label_sets}),
    )
    model = SkfreealStudentForSequenceClassification(config)
    state = {k: v.detach().to("cpu", torch.float32 if v.is_floating_point() else v.dtype)
             for k, v in network.state_dict().items()}
    model.load_state_dict(state, strict=True)
    with quiet_transformers():  # no "Writing model shards" bar
        model.save_pretrained(folder)
    tokenizer = copy.deepcopy(student.tokenizer_)
    tokenizer.model_max_length = int(student.max_length_)
    tokenizer.save_pretrained(folder)
    shutil.copyfile(Path(__file__).with_name("_remote_code.py"), folder / MODELING_FILE)
    return folder
