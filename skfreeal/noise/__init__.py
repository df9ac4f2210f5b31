"""Noise filters: split training samples into clean and noisy from their losses."""

from ._base import BaseNoiseFilter, check_losses
from ._gmm import GMMNoiseFilter, gmm_clean_proba, normalize_losses
from ._small_loss import SmallLossNoiseFilter, small_loss_clean_mask

__all__ = [
    "BaseNoiseFilter",
    "GMMNoiseFilter",
    "SmallLossNoiseFilter",
    "check_losses",
    "gmm_clean_proba",
    "normalize_losses",
    "small_loss_clean_mask",
]
