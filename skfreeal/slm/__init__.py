"""The student: a noise-robust transformers text classifier and its helpers.

Importing this subpackage imports torch, transformers and skorch; the
package root ``skfreeal`` loads it lazily.

Besides the estimators, the pieces the classifier's defaults are made of, for
code that reproduces them apart (the benchmarks' probe baseline and pages):
:func:`auto_max_length` (``max_length="auto"``), :func:`fit_linear_probe`
(``head_init="probe"``), and ``MIN_STEPS`` and ``STEP_TOKEN_BUDGET``, the
floor and the token budget of ``n_steps="auto"``.
"""

from ._augment import EDAAugmenter, FunctionAugmenter, eda_augment
from ._classifier import RobustTextClassifier
from ._data import auto_max_length
from ._embedder import SentenceEmbedder
from ._probe import fit_linear_probe
from ._schedule import MIN_STEPS, STEP_TOKEN_BUDGET

__all__ = [
    "EDAAugmenter",
    "FunctionAugmenter",
    "MIN_STEPS",
    "RobustTextClassifier",
    "STEP_TOKEN_BUDGET",
    "SentenceEmbedder",
    "auto_max_length",
    "eda_augment",
    "fit_linear_probe",
]
