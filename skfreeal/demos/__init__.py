"""Demonstration pools for the LLM: selection (small loss + k-medoids) and kNN retrieval."""

from ._retrieval import knn_demo_indices
from ._selection import k_medoids, select_demo_pool

__all__ = ["k_medoids", "knn_demo_indices", "select_demo_pool"]
