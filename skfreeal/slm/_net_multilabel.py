"""The robust net for indicator-matrix targets: one sigmoid per label.

:class:`MultiLabelRobustNet` keeps :class:`~skfreeal.slm._net.RobustNet`'s
training step (passes, micro-batches, mixup pairs, ramp) and swaps its four
loss terms for their per-label binary forms; the single-label net is left
as it was.
"""

import torch

from ._losses import (
    binary_cross_entropy_rows,
    binary_mixup_loss,
    sharpen_binary,
    symmetric_binary_kl,
)
from ._net import RobustNet

__all__ = ["MultiLabelRobustNet"]


class MultiLabelRobustNet(RobustNet):
    """:class:`~skfreeal.slm._net.RobustNet` for targets of shape ``(n, n_labels)`` in {0, 1}.

    Each term is the single-label one with every label its own Bernoulli,
    averaged over the labels: binary cross-entropy for the supervised term
    (and the per-sample losses of the noise split), mixed indicator rows
    for mixup, and for the consistency of noisy and unlabelled texts the
    symmetric KL between each label's sharpened stop-gradient probability
    on the text and its probability on the augmented view. Its criterion
    must be :class:`torch.nn.BCEWithLogitsLoss` (the plain steps).
    """

    def _supervised_loss(self, logits, y, reduction="mean", ignore_index=None):
        # ignore_index: the plain steps run labelled rows only (rows of -1 never
        # reach a supervised term), so there is nothing to ignore.
        per_sample = binary_cross_entropy_rows(logits, y)
        return per_sample.sum() if reduction == "sum" else per_sample.mean()

    def _mixup_loss(self, mixed_logits, y_rows, y_partners, lam):
        return binary_mixup_loss(mixed_logits, y_rows, y_partners, lam)

    def _consistency_rows(self, logits, aug_logits, y, clean):
        per_sample = logits.new_zeros(len(y))
        if clean.any():
            per_sample[clean] = binary_cross_entropy_rows(aug_logits[clean], y[clean])
        other = ~clean
        if other.any():
            target_logits = sharpen_binary(logits[other].detach(), self.sharpen_temperature)
            per_sample[other] = symmetric_binary_kl(target_logits, aug_logits[other])
        return per_sample

    def sample_losses(self, input_ids, y):
        """Per-sample binary cross-entropy, the mean over the labels, in eval mode."""
        logits = torch.from_numpy(self.predict_logits(input_ids)).double()
        return binary_cross_entropy_rows(logits, torch.as_tensor(y)).numpy()
