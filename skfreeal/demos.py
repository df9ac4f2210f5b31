"""Deprecated alias of :mod:`skfreeal.demonstrations` (removed in skfreeal 0.4).

The package was renamed so that it is not mistaken for the README's demo
(:mod:`skfreeal.demo`).
"""

import warnings

from .demonstrations import k_medoids, knn_demo_indices, select_demo_pool

__all__ = ["k_medoids", "knn_demo_indices", "select_demo_pool"]

warnings.warn(
    "skfreeal.demos is deprecated and will be removed in skfreeal 0.4; import from "
    "skfreeal.demonstrations instead.",
    FutureWarning,
    stacklevel=2,
)
