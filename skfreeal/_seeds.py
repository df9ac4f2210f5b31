"""Seeds drawn from a random state, one rule for the whole library."""

import numpy as np

__all__ = ["MAX_SEED", "draw_seed"]

#: Exclusive upper bound of a drawn seed (what every library that takes an int seed accepts).
MAX_SEED = np.iinfo(np.int32).max


def draw_seed(rng, size=None):
    """A seed (or ``size`` seeds) in ``[0, MAX_SEED)`` from ``rng``.

    Parameters
    ----------
    rng : numpy.random.RandomState
    size : int, default=None

    Returns
    -------
    seed : int or ndarray of int

    Examples
    --------
    >>> int(draw_seed(np.random.RandomState(0)))
    209652396
    """
    return rng.randint(MAX_SEED, size=size)
