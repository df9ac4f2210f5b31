"""A progress bar over the student's optimizer steps (rate and time left)."""

from skorch.callbacks import Callback

from .._progress import progress_bar

__all__ = ["StepProgress"]


class StepProgress(Callback):
    """Show the training's optimizer steps as one bar for the whole fit.

    skorch's own ``ProgressBar`` draws a bar per epoch and cannot know the
    fit's length; the student plans its steps before training, so one bar
    with the rate and the time left covers every epoch. It follows the
    library's rule for bars (:func:`skfreeal._progress.bars_wanted`).

    Parameters
    ----------
    total_steps : int
        Optimizer steps of the fit.
    verbose : int
        The student's ``verbose``.
    """

    def __init__(self, total_steps, verbose):
        self.total_steps = total_steps
        self.verbose = verbose

    def on_train_begin(self, net, **kwargs):
        self.bar_ = progress_bar(self.total_steps, desc="training the student", unit="step",
                                 verbose=self.verbose)

    def on_batch_end(self, net, batch=None, training=False, **kwargs):
        if training and self.bar_ is not None:
            self.bar_.update(1)

    def on_train_end(self, net, **kwargs):
        if self.bar_ is not None:
            self.bar_.close()
        self.bar_ = None
