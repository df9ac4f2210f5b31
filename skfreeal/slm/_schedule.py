"""How long the student trains: epochs and optimizer steps.

A fixed number of epochs is a poor default across data sizes: six epochs of
200 texts in batches of 32 are 42 optimizer steps, too few for the head and
the encoder to learn, while six epochs of 20,000 texts take hours on a CPU.
:func:`plan_epochs` turns a number of optimizer steps into whole epochs
(warm-up epochs iterate over the labelled texts only, robust ones over all),
and :func:`auto_n_steps` picks that number from the data: six epochs' worth,
at least :data:`MIN_STEPS` steps of short texts' compute, at most a budget of
tokens per fit.
"""

import math

__all__ = [
    "AUTO_EPOCHS",
    "MIN_STEPS",
    "MIN_STEPS_LENGTH",
    "STEP_TOKEN_BUDGET",
    "auto_n_steps",
    "count_steps",
    "plan_epochs",
]

#: Epochs the automatic schedule aims at when the data are large enough.
AUTO_EPOCHS = 6
#: Fewest optimizer steps of the automatic schedule (small data sets): with
#: the head started from the linear probe, 100 steps of 32 are 32 passes over
#: 100 texts, while a robust step (two views) costs two plain ones.
MIN_STEPS = 100
#: The truncation length :data:`MIN_STEPS` is counted at: the floor is a
#: floor of compute, so texts cut at ``max_length`` tokens get
#: ``MIN_STEPS * MIN_STEPS_LENGTH / max_length`` steps (25 at 256 tokens),
#: never fewer than six epochs. On the dev split (benchmarks/results/
#: student_dev.json, 200 training texts, 300 scored), six epochs (42 steps)
#: instead of 77, without attention dropout: news 0.993 -> 0.987, Yahoo!
#: Answers uncut 0.613 -> 0.620 and 0.560 -> 0.610 (two draws), in about 40%
#: of the time.
MIN_STEPS_LENGTH = 64
#: Most tokens (batch size times the truncation length, per step) the
#: automatic schedule trains on: 300 steps of 32 texts of 64 tokens. A step's
#: cost grows with the longest text of its batch, so long texts get fewer
#: steps: 75 steps of 32 texts of 256 tokens, about the compute of the 192
#: steps of six epochs of 1,000 tweets (padded to about 50 tokens).
STEP_TOKEN_BUDGET = 300 * 32 * 64


def _steps(n, batch_size):
    return -(-n // batch_size)


def plan_epochs(n_steps, *, n_labelled, n_samples, batch_size, warmup_epochs):
    """Fewest whole epochs that make at least ``n_steps`` optimizer steps.

    At least one epoch follows the warm-up: a robust student always has a
    robust epoch.

    Parameters
    ----------
    n_steps : int
    n_labelled : int
        Texts of a warm-up epoch (the labelled ones).
    n_samples : int
        Texts of a later epoch (all of them for robust training, else the
        labelled ones).
    batch_size : int
    warmup_epochs : int

    Returns
    -------
    n_epochs : int
    """
    warm = _steps(n_labelled, batch_size)
    later = _steps(n_samples, batch_size)
    return warmup_epochs + max(1, math.ceil((n_steps - warmup_epochs * warm) / later))


def count_steps(n_epochs, *, n_labelled, n_samples, batch_size, warmup_epochs):
    """Optimizer steps of ``n_epochs`` epochs (see :func:`plan_epochs`)."""
    warm = min(n_epochs, warmup_epochs)
    return warm * _steps(n_labelled, batch_size) + (n_epochs - warm) * _steps(
        n_samples, batch_size)


def auto_n_steps(n_labelled, *, batch_size, max_length):
    """The automatic number of optimizer steps.

    :data:`AUTO_EPOCHS` epochs over the labelled texts, at least
    :data:`MIN_STEPS` steps of texts of :data:`MIN_STEPS_LENGTH` tokens
    (fewer steps when ``max_length`` is longer, the same compute), at most
    :data:`STEP_TOKEN_BUDGET` tokens (``batch_size * max_length`` per step),
    and at least one epoch.

    Parameters
    ----------
    n_labelled : int
    batch_size : int
    max_length : int
        The truncation length (the longest a training text can be).

    Returns
    -------
    n_steps : int
    """
    per_epoch = _steps(n_labelled, batch_size)
    floor = -(-MIN_STEPS * MIN_STEPS_LENGTH // max(max_length, MIN_STEPS_LENGTH))
    budget = STEP_TOKEN_BUDGET // (batch_size * max_length)
    return max(per_epoch, min(max(AUTO_EPOCHS * per_epoch, floor), budget))
