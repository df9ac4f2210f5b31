"""skfreeal: human-free text labelling and classification by FreeAL.

An LLM annotates, a small language model learns robustly from the noisy
labels, and each refines the other's labels in rounds (Xiao et al., 2023).
Heavy libraries (torch, transformers, llama_cpp, openai) are imported only
when the class that needs them is used, so ``import skfreeal`` is fast.
"""

import importlib

__version__ = "0.1.0"

# public name -> submodule that defines it (imported on first access)
_LAZY = {
    "FreeALClassifier": "skfreeal._freeal",
    "MultiLabelFreeALClassifier": "skfreeal._multilabel",
    "RoundPolicy": "skfreeal.loop",
    "DemoPolicy": "skfreeal.loop",
    "RobustTextClassifier": "skfreeal.slm",
    "GMMNoiseFilter": "skfreeal.noise",
    "KNNRetriever": "skfreeal.demonstrations",
    "RandomQuery": "skfreeal.query",
    "UncertaintyQuery": "skfreeal.query",
    "SmallLossNoiseFilter": "skfreeal.noise",
    "gmm_clean_proba": "skfreeal.noise",
    "small_loss_clean_mask": "skfreeal.noise",
    "OpenAILabeler": "skfreeal.labelers",
    "LocalLabeler": "skfreeal.labelers",
}

__all__ = sorted(_LAZY) + ["__version__"]


def __getattr__(name):
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'skfreeal' has no attribute {name!r}")


def __dir__():
    return __all__
