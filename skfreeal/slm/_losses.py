"""Loss terms of robust self-training (FreeAL / SelfMix): pure tensor functions."""

import torch
import torch.nn.functional as F

__all__ = [
    "binary_cross_entropy_rows",
    "binary_mixup_loss",
    "mixup_lambda",
    "mixup_loss",
    "ramp_weight",
    "sharpen",
    "sharpen_binary",
    "soft_cross_entropy",
    "symmetric_binary_kl",
    "symmetric_kl",
]


def sharpen(proba, temperature):
    """Raise probabilities to ``1 / temperature`` and renormalise (MixMatch).

    Parameters
    ----------
    proba : Tensor of shape (n, n_classes)
    temperature : float
        In (0, 1]; smaller is sharper, 1 leaves ``proba`` unchanged.

    Returns
    -------
    sharpened : Tensor of shape (n, n_classes)
    """
    # In log space: p ** (1 / T) underflows to 0 in float32 for small T (every
    # entry of a near-uniform row, then 0 / 0), a softmax of log p / T cannot.
    return torch.softmax(proba.clamp(min=1e-12).log() / temperature, dim=1)


def soft_cross_entropy(logits, target):
    """Cross-entropy against soft targets, one value per sample."""
    return -(target * F.log_softmax(logits, dim=1)).sum(dim=1)


def symmetric_kl(target, logits):
    """``KL(target || q) + KL(q || target)`` per sample, ``q = softmax(logits)``.

    ``target`` is treated as a constant (detach it before calling if it was
    computed with gradients).

    Parameters
    ----------
    target : Tensor of shape (n, n_classes)
        Probabilities (e.g. a sharpened prediction on the original text).
    logits : Tensor of shape (n, n_classes)
        The prediction on the augmented view.

    Returns
    -------
    loss : Tensor of shape (n,)
    """
    log_q = F.log_softmax(logits, dim=1)
    log_t = target.clamp(min=1e-12).log()
    return (target * (log_t - log_q)).sum(dim=1) + (log_q.exp() * (log_q - log_t)).sum(dim=1)


def mixup_lambda(rng, alpha):
    """Draw ``lambda ~ Beta(alpha, alpha)`` and keep the larger of ``lambda, 1 - lambda``.

    Keeping the larger weight makes the mix stay closer to its first sample,
    so the mixed target remains dominated by that sample's label (DivideMix).
    """
    lam = float(rng.beta(alpha, alpha))
    return max(lam, 1.0 - lam)


def mixup_loss(mixed_logits, y_rows, y_partners, lam, n_classes):
    """Mean soft cross-entropy of mixed samples against mixed one-hot labels."""
    target = lam * F.one_hot(y_rows, n_classes).float() + (1.0 - lam) * F.one_hot(
        y_partners, n_classes
    ).float()
    return soft_cross_entropy(mixed_logits, target).mean()


def ramp_weight(epoch, warmup_epochs, rampup_epochs):
    """Weight of the mixup and consistency terms at a (1-based) epoch.

    Zero during warm-up, then rising linearly by ``1 / rampup_epochs`` per
    robust epoch up to 1 (1 at once when ``rampup_epochs`` is 0).
    """
    robust_epoch = epoch - warmup_epochs
    if robust_epoch <= 0:
        return 0.0
    if rampup_epochs <= 0:
        return 1.0
    return min(1.0, robust_epoch / rampup_epochs)



# -- multi-label (one sigmoid per label) -------------------------------------------
# Each label is its own Bernoulli; a sample's term is the mean over its labels,
# so it stays on the scale of one binary decision whatever the number of labels.


def binary_cross_entropy_rows(logits, target):
    """Binary cross-entropy per sample, the mean over its labels.

    Parameters
    ----------
    logits : Tensor of shape (n, n_labels)
    target : Tensor of shape (n, n_labels)
        Indicator rows, or soft targets in [0, 1] (mixed rows).

    Returns
    -------
    loss : Tensor of shape (n,)
    """
    return F.binary_cross_entropy_with_logits(logits, target.to(logits.dtype),
                                              reduction="none").mean(dim=1)


def sharpen_binary(logits, temperature):
    """Each label's logit sharpened as a two-class distribution: ``logits / temperature``.

    :func:`sharpen` of a label's ``(1 - p, p)`` is ``p ** (1/T) / (p ** (1/T)
    + (1 - p) ** (1/T))``, that is ``sigmoid(logit / T)``. Kept as logits:
    a sharpened probability rounds to 1 in float32 from a logit of about 8
    at T = 0.5, and its log-odds would then be infinite.
    """
    return logits / temperature


def symmetric_binary_kl(target_logits, logits):
    """Symmetric KL between per-label Bernoulli distributions, the mean over labels.

    Parameters
    ----------
    target_logits : Tensor of shape (n, n_labels)
        Logits of the target probabilities, treated as a constant (detach
        them first), e.g. :func:`sharpen_binary` of the text's logits.
    logits : Tensor of shape (n, n_labels)
        The prediction on the augmented view.

    Returns
    -------
    loss : Tensor of shape (n,)
    """
    # KL(t||q) + KL(q||t) of two Bernoullis is (t - q) * (logit t - logit q):
    # written on the logits, it has no log of a probability that rounds to 0 or 1.
    return ((torch.sigmoid(target_logits) - torch.sigmoid(logits))
            * (target_logits - logits)).mean(dim=1)


def binary_mixup_loss(mixed_logits, y_rows, y_partners, lam):
    """Mean binary cross-entropy of mixed samples against their mixed indicator rows."""
    target = lam * y_rows.float() + (1.0 - lam) * y_partners.float()
    return binary_cross_entropy_rows(mixed_logits, target).mean()
