"""Book-keeping of FreeAL rounds: which texts to (re-)annotate, losses, history."""

import time

import numpy as np

__all__ = [
    "RoundRecorder",
    "annotation_budget_mask",
    "choose_new_subset",
    "slm_clean_mask",
    "slm_losses",
]

_USAGE_KEYS = ("calls", "prompt_tokens", "completion_tokens", "cache_hits", "cost")


def annotation_budget_mask(mask, n_annotations, max_annotations):
    """Restrict ``mask`` to texts annotated fewer than ``max_annotations`` times."""
    return np.asarray(mask, bool) & (np.asarray(n_annotations) < max_annotations)


def choose_new_subset(proba, candidates, fraction, strategy, rng, *, n_total=None):
    """Pick the next ``fraction`` of texts for the LLM among ``candidates``.

    Parameters
    ----------
    proba : ndarray of shape (n_samples, n_classes) or None
        SLM probabilities; needed for ``strategy="uncertainty"``.
    candidates : ndarray of shape (n_samples,) of bool
        Texts that may be picked.
    fraction : float
        Fraction of ``n_total`` to pick (all candidates when 1).
    strategy : {"random", "uncertainty"}
        At random, or the smallest top-2 probability margins first.
    rng : numpy.random.RandomState
    n_total : int, default=None
        The size the fraction refers to; None: ``len(candidates)``.

    Returns
    -------
    mask : ndarray of shape (n_samples,) of bool
    """
    candidates = np.asarray(candidates, bool)
    idx = np.flatnonzero(candidates)
    n_total = candidates.size if n_total is None else n_total
    if fraction >= 1:
        return candidates.copy()
    n_pick = min(idx.size, int(np.ceil(fraction * n_total)))
    mask = np.zeros_like(candidates)
    if n_pick == 0:
        return mask
    if strategy == "uncertainty":
        if proba is None:
            raise ValueError("query_strategy='uncertainty' needs SLM probabilities.")
        top2 = np.sort(np.asarray(proba)[idx], axis=1)[:, -2:]
        margin = top2[:, -1] - top2[:, 0]
        picked = idx[np.argsort(margin, kind="stable")[:n_pick]]
    else:
        picked = rng.choice(idx, n_pick, replace=False)
    mask[picked] = True
    return mask


def slm_losses(slm, proba, y):
    """Per-sample cross-entropy of the SLM against ``y`` (NaN where ``y == -1``).

    Uses the SLM's own ``sample_losses_`` when it exposes them for these
    samples (the robust student computes them in eval mode at the end of fit);
    otherwise ``-log p(y)`` from ``proba``.
    """
    y = np.asarray(y)
    own = getattr(slm, "sample_losses_", None)
    if own is not None and len(own) == len(y):
        return np.asarray(own, dtype=np.float64)
    losses = np.full(len(y), np.nan)
    known = y >= 0
    picked = np.asarray(proba)[np.flatnonzero(known), y[known]]
    losses[known] = -np.log(np.clip(picked, 1e-12, None))
    return losses


def slm_clean_mask(slm, losses, y):
    """Clean mask of the training texts: the SLM's own, or a GMM on ``losses``."""
    y = np.asarray(y)
    own = getattr(slm, "clean_mask_", None)
    if own is not None and len(own) == len(y):
        return np.asarray(own, bool) & (y >= 0)
    from .noise import GMMNoiseFilter

    mask = np.zeros(len(y), dtype=bool)
    known = np.flatnonzero(y >= 0)
    if known.size:
        mask[known] = GMMNoiseFilter(random_state=0).fit(losses[known]).predict(losses[known])
    return mask


def _usage_dict(labeler):
    usage = getattr(labeler, "usage_", None)
    if usage is None:
        return dict.fromkeys(_USAGE_KEYS, 0)
    if hasattr(usage, "as_dict"):
        usage = usage.as_dict()
    return {k: usage.get(k, 0) for k in _USAGE_KEYS}


class RoundRecorder:
    """Times each round's LLM and SLM phases and diffs the labeler's usage."""

    def __init__(self, labeler):
        self.labeler = labeler
        self._first = _usage_dict(labeler)
        self.start()

    def start(self):
        """Mark the start of a round's LLM phase."""
        self._t0 = time.perf_counter()
        self._t_llm = self._t_slm = self._t0
        self._usage0 = _usage_dict(self.labeler)

    def llm_done(self):
        """Mark the end of the LLM phase."""
        self._t_llm = time.perf_counter()

    def slm_done(self):
        """Mark the end of the SLM phase."""
        self._t_slm = time.perf_counter()

    def record(self, *, round_, annotated, n_abstain, labels, changed, clean_mask, slm_pred):
        """One ``history_`` record for the round that just ended."""
        usage = _usage_dict(self.labeler)
        labelled = labels >= 0
        end = max(self._t_llm, self._t_slm)
        entry = {
            "round": int(round_),
            "n_annotated": int(np.sum(annotated)),
            "n_abstain": int(n_abstain),
            "n_changed": int(np.sum(changed)),
            "n_labelled": int(labelled.sum()),
            "clean_fraction": float(clean_mask[labelled].mean()) if labelled.any() else 0.0,
            "llm_slm_agreement": (
                float((slm_pred[labelled] == labels[labelled]).mean()) if labelled.any() else 0.0
            ),
        }
        entry.update({k: usage[k] - self._usage0[k] for k in _USAGE_KEYS})
        entry["llm_seconds"] = round(self._t_llm - self._t0, 3)
        entry["slm_seconds"] = round(max(self._t_slm - self._t_llm, 0.0), 3)
        entry["seconds"] = round(end - self._t0, 3)
        return entry

    def total(self):
        """The labeler's usage since this recorder was created."""
        usage = _usage_dict(self.labeler)
        return {k: usage[k] - self._first[k] for k in _USAGE_KEYS}
