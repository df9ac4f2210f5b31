"""How many of ``n`` items a fraction asks for, free of floating-point noise."""

import math

__all__ = ["ceil_share"]


def ceil_share(fraction, n):
    """``ceil(fraction * n)``, with the product's rounding noise removed first.

    ``0.07 * 100`` is ``7.000000000000001`` in floating point, and a plain
    ceiling turns it into 8; the product is rounded to 9 decimals before
    the ceiling, so a fraction that is exact on paper gives the exact count.

    Parameters
    ----------
    fraction : float
        Share of the items, in [0, 1].
    n : int
        Number of items.

    Returns
    -------
    count : int

    Examples
    --------
    >>> ceil_share(0.07, 100)
    7
    >>> ceil_share(0.071, 100)
    8
    """
    return int(math.ceil(round(float(fraction) * n, 9)))
