"""Augmenters: the second view of a text used by the consistency loss.

An augmenter maps a list of texts to a list of the same length with
``augment(texts, *, random_state=None)``. ``fit`` / ``transform`` make it a
scikit-learn transformer as well (stateless: ``fit`` only checks the input).
"""

import inspect
from numbers import Real

from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval

from .._validation import check_texts
from ._text import _TextTransformer

__all__ = ["EDAAugmenter", "FunctionAugmenter", "eda_augment"]


def eda_augment(text, rng, *, p_delete=0.1, p_swap=0.1):
    """Random word deletion and swap of one text (the lexicon-free part of EDA).

    Parameters
    ----------
    text : str
    rng : numpy.random.RandomState
    p_delete : float, default=0.1
        Probability that each word is deleted (one word always stays).
    p_swap : float, default=0.1
        Number of swaps of two random words, as a fraction of the word count
        (rounded, at least one when positive and the text has two words).

    Returns
    -------
    augmented : str

    Examples
    --------
    >>> import numpy as np
    >>> eda_augment("one", np.random.RandomState(0))
    'one'
    """
    words = text.split()
    if len(words) < 2:
        return text
    if p_delete > 0:
        kept = [w for w, r in zip(words, rng.random_sample(len(words))) if r >= p_delete]
        words = kept or [words[rng.randint(len(words))]]
    if p_swap > 0 and len(words) >= 2:
        for _ in range(max(1, round(p_swap * len(words)))):
            i, j = rng.choice(len(words), size=2, replace=False)
            words[i], words[j] = words[j], words[i]
    return " ".join(words)


class _BaseAugmenter(_TextTransformer):
    """``augment`` and ``transform`` on top of an ``_augment(texts, random_state)``.

    Stateless: ``fit`` checks the parameters and the texts, and ``transform``
    works unfitted.
    """

    def augment(self, texts, *, random_state=None):
        """Augmented copy of each text.

        Parameters
        ----------
        texts : iterable of str
        random_state : int, RandomState instance or None, default=None
            Overrides ``self.random_state`` for this call.

        Returns
        -------
        augmented : list of str
        """
        texts = check_texts(texts)
        self._validate_params()
        return self._augment(texts, self.random_state if random_state is None else random_state)

    def transform(self, X):
        """Augmented copies of the texts ``X``: :meth:`augment` seeded by ``random_state``.

        The transformer's name for :meth:`augment`, whose parameters and
        return value it shares.
        """
        return self.augment(X)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.requires_fit = False
        return tags


class EDAAugmenter(_BaseAugmenter):
    """Cheap offline augmentation: random word deletion and random word swap.

    These are the two operations of EDA (Wei & Zou, 2019) that need no
    lexicon. They cost microseconds per text, run offline, and change the
    surface of a tweet enough for the consistency loss while usually keeping
    its label. Back-translation, the paper's choice, has no offline model
    here.

    Parameters
    ----------
    p_delete : float, default=0.1
        Probability that each word is deleted.
    p_swap : float, default=0.1
        Number of random swaps as a fraction of the word count.
    random_state : int, RandomState instance or None, default=None
        Seed used by :meth:`transform` and by :meth:`augment` when it is not
        given one.

    See Also
    --------
    FunctionAugmenter : Use any ``list[str] -> list[str]`` callable.

    Examples
    --------
    >>> from skfreeal.slm import EDAAugmenter
    >>> EDAAugmenter(p_delete=0.0, p_swap=0.5, random_state=0).transform(["a b c d"])
    ['d b a c']
    """

    _parameter_constraints = {
        "p_delete": [Interval(Real, 0, 1, closed="left")],
        "p_swap": [Interval(Real, 0, 1, closed="both")],
        "random_state": ["random_state"],
    }

    def __init__(self, p_delete=0.1, p_swap=0.1, *, random_state=None):
        self.p_delete = p_delete
        self.p_swap = p_swap
        self.random_state = random_state

    def _augment(self, texts, random_state):
        rng = check_random_state(random_state)
        return [eda_augment(t, rng, p_delete=self.p_delete, p_swap=self.p_swap) for t in texts]


class FunctionAugmenter(_BaseAugmenter):
    """Adapt a callable ``list[str] -> list[str]`` into an augmenter.

    Parameters
    ----------
    func : callable
        Takes a list of texts and returns one augmented text for each, e.g.
        a cached LLM paraphraser or a back-translation system. When it accepts
        a ``random_state`` keyword, the augmenter's seed is passed on.
    kw_args : dict, default=None
        Extra keyword arguments for ``func``.
    random_state : int, RandomState instance or None, default=None
        Passed to ``func`` when it accepts ``random_state``.

    Examples
    --------
    >>> from skfreeal.slm import FunctionAugmenter
    >>> FunctionAugmenter(lambda texts: [t.upper() for t in texts]).transform(["hi"])
    ['HI']
    """

    _parameter_constraints = {
        "func": [callable],
        "kw_args": [dict, None],
        "random_state": ["random_state"],
    }

    def __init__(self, func, *, kw_args=None, random_state=None):
        self.func = func
        self.kw_args = kw_args
        self.random_state = random_state

    def _augment(self, texts, random_state):
        kwargs = dict(self.kw_args or {})
        if _accepts_random_state(self.func):
            kwargs["random_state"] = random_state
        out = self.func(list(texts), **kwargs)
        name = getattr(self.func, "__name__", type(self.func).__name__)
        out = check_texts(out, name=f"the output of func {name!r}")
        if len(out) != len(texts):
            raise ValueError(
                f"func {name!r} must return one text per input text: got {len(out)} "
                f"texts for {len(texts)} inputs."
            )
        return out


def _accepts_random_state(func):
    try:
        params = inspect.signature(func).parameters
    except (TypeError, ValueError):  # builtins without a signature
        return False
    return "random_state" in params or any(
        p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()
    )
