"""The student: a noise-robust transformers text classifier and its helpers.

Importing this subpackage imports torch, transformers and skorch; the
package root ``skfreeal`` loads it lazily.
"""

from ._augment import EDAAugmenter, FunctionAugmenter, eda_augment
from ._classifier import RobustTextClassifier
from ._embedder import SentenceEmbedder

__all__ = [
    "EDAAugmenter",
    "FunctionAugmenter",
    "RobustTextClassifier",
    "SentenceEmbedder",
    "eda_augment",
]
