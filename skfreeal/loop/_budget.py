"""The fit's budget of LLM requests, counted as ``usage_`` counts them."""

import numpy as np

from ._records import labeler_usage

__all__ = ["RequestBudget", "calibration_requests"]


def _requests(labeler):
    """Requests the labeler has made: answered by the model or from the cache."""
    usage = labeler_usage(labeler)
    return usage["calls"] + usage["cache_hits"]


def calibration_requests(labeler, n_texts, *, refit=False):
    """Requests ``labeler`` adds to an annotation of ``n_texts`` texts to calibrate it.

    Contextual calibration's content-free inputs
    (:meth:`~skfreeal.labelers.BaseLabeler.calibration_requests`; ``refit``:
    those of ``fit_annotate_proba``, round 0's). A labeler without the
    method (optional in the Labeler contract) adds none.
    """
    count = getattr(labeler, "calibration_requests", None)
    return 0 if count is None or not n_texts else int(count(int(n_texts), refit=refit))


class RequestBudget:
    """Requests a step may still make, from the labeler's usage since the budget began.

    A request answered from the cache counts (the method made it, and the
    benchmarks' calls per text count it too). A labeler that keeps no
    ``usage_`` is never short of budget.

    Parameters
    ----------
    labeler : labeler
    total : int or inf
        Requests allowed from now on.
    """

    def __init__(self, labeler, total):
        self.labeler, self.total = labeler, total
        self._start = _requests(labeler)

    def spent(self):
        """Requests made since the budget began."""
        return _requests(self.labeler) - self._start

    def left(self):
        """Requests still allowed (inf: no cap)."""
        return self.total if self.total == np.inf else max(0, int(self.total - self.spent()))

    def part(self, total):
        """A budget of at most ``total`` of the requests left, starting now."""
        return RequestBudget(self.labeler, min(total, self.left()))
