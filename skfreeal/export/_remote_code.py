"""An exported skfreeal student, for transformers, with no skfreeal installed.

skfreeal copies this file into an exported model folder as
``modeling_skfreeal_student.py``; ``config.json`` points transformers at it
(``auto_map``, ``custom_pipelines``), so that::

    pipeline("text-classification", model=folder, trust_remote_code=True)

predicts what the student predicted. Code of its own, rather than a stock
``BertForSequenceClassification``, because the student classifies the
*mean* of its token states (padding excluded) with one linear layer, while
the stock heads classify the first token's state through a dense+tanh
pooler: no mapping of weights makes one compute the other. The pipeline
truncates texts at the student's ``student_max_length`` (as the student did when
it trained and predicted) unless told otherwise. It imports only torch and
transformers.
"""

import torch
from torch import nn
from transformers import AutoConfig, AutoModel, PretrainedConfig, PreTrainedModel
from transformers.modeling_outputs import SequenceClassifierOutput
from transformers.pipelines import TextClassificationPipeline
from transformers.pipelines.base import Pipeline


class SkfreealStudentConfig(PretrainedConfig):
    """The student's settings: its encoder's config (a dict), truncation length, dropout.

    A student of label sets has ``problem_type="multi_label_classification"``
    (the pipeline's scores are then each label's sigmoid) and two more keys:
    ``thresholds``, the score each label needs (a dict by label name), and
    ``min_labels``: a text whose scores pass fewer thresholds also gets its
    highest-scoring labels, up to that many.
    """

    model_type = "skfreeal-student"

    def __init__(self, encoder=None, student_max_length=128, classifier_dropout=0.1, **kwargs):
        self.encoder = dict(encoder or {})
        self.student_max_length = int(student_max_length)
        self.classifier_dropout = float(classifier_dropout)
        super().__init__(**kwargs)


def mean_pool(hidden_states, attention_mask):
    """Average the token states of each sequence, padding excluded."""
    mask = attention_mask.unsqueeze(-1).to(hidden_states.dtype)
    return (hidden_states * mask).sum(1) / mask.sum(1).clamp(min=1e-9)


class SkfreealStudentForSequenceClassification(PreTrainedModel):
    """Encoder, mean pooling, dropout and a linear head: skfreeal's student network."""

    config_class = SkfreealStudentConfig
    base_model_prefix = "encoder"

    def __init__(self, config):
        super().__init__(config)
        encoder_config = AutoConfig.for_model(**config.encoder)
        self.encoder = AutoModel.from_config(encoder_config)
        self.dropout = nn.Dropout(config.classifier_dropout)
        self.head = nn.Linear(encoder_config.hidden_size, config.num_labels)
        self.post_init()

    def forward(self, input_ids=None, attention_mask=None, token_type_ids=None, labels=None,
                return_dict=None, **kwargs):
        # token_type_ids: left out, as the student never saw them (all zero for one text)
        if attention_mask is None:
            attention_mask = torch.ones_like(input_ids)
        out = self.encoder(input_ids=input_ids, attention_mask=attention_mask)
        logits = self.head(self.dropout(mean_pool(out.last_hidden_state, attention_mask)))
        loss = None
        if labels is not None and self.config.problem_type == "multi_label_classification":
            loss = nn.functional.binary_cross_entropy_with_logits(logits, labels.to(logits.dtype))
        elif labels is not None:
            loss = nn.functional.cross_entropy(logits, labels)
        return SequenceClassifierOutput(loss=loss, logits=logits)


class SkfreealStudentPipeline(TextClassificationPipeline):
    """``text-classification`` that truncates as the student did (``student_max_length``)."""

    def __init__(self, *args, **kwargs):
        Pipeline.__init__(self, *args, **kwargs)  # the model is no stock architecture

    def _sanitize_parameters(self, function_to_apply=None, top_k="", **tokenizer_kwargs):
        tokenizer_kwargs.setdefault("truncation", True)
        tokenizer_kwargs.setdefault("max_length", self.model.config.student_max_length)
        return super()._sanitize_parameters(function_to_apply=function_to_apply, top_k=top_k,
                                            **tokenizer_kwargs)
