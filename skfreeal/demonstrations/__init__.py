"""In-context demonstrations for the LLM: pool selection and per-text retrieval.

:func:`select_demo_pool` picks FreeAL's refined pool (per class, the
smallest-loss clean texts, then their k-medoids); :class:`KNNRetriever`
gives each text its nearest demonstrations of the pool.
"""

from ._retrieval import KNNRetriever, knn_demo_indices
from ._selection import k_medoids, select_demo_pool

__all__ = ["KNNRetriever", "k_medoids", "knn_demo_indices", "select_demo_pool"]
