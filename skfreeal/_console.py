"""What skfreeal prints besides progress bars: its messages, warnings, and others' noise.

- :func:`ensure_log_handler`: ``verbose`` messages of the ``skfreeal`` logger
  reach stderr with no logging set-up (scikit-learn and skorch print; a
  library that logs needs a handler of its own for that), unless the user
  configured logging.
- :func:`readable_warnings`: a program's (the demo's, the CLI's) warnings as
  one line each, without the source line Python's default adds.
- :func:`quiet_transformers`: no "Loading weights" bars from transformers
  while skfreeal loads its own models; the user's settings come back after.
"""

import contextlib
import functools
import logging
import sys
import warnings

__all__ = ["ensure_log_handler", "quiet_transformers", "readable_warnings", "write_line"]

logger = logging.getLogger("skfreeal")


def write_line(text):
    """Write one line to stderr without tearing a progress bar that is showing."""
    from tqdm import tqdm

    tqdm.write(text, file=sys.stderr)


class _LineHandler(logging.Handler):
    """Writes each record as a line on stderr (the stream at the time of writing)."""

    def emit(self, record):
        if logger.propagate and logging.getLogger().handlers:
            return  # logging was configured after this handler was added: root prints it
        try:
            write_line(self.format(record))
        except Exception:  # never let printing break a fit
            self.handleError(record)


class _Formatter(logging.Formatter):
    def format(self, record):
        message = record.getMessage()
        if record.levelno >= logging.WARNING:
            return f"{record.levelname.lower()}: {message}"
        return message


def _own_handler(target):
    return next((h for h in target.handlers if getattr(h, "_skfreeal_own", False)), None)


def ensure_log_handler():
    """Make the ``skfreeal`` logger print its INFO messages on stderr, once.

    Nothing is changed when logging is configured: the root logger or the
    ``skfreeal`` logger has a handler, or a level of its own (the command
    line sets both). The handler added writes through tqdm, so a message
    never tears a progress bar, and steps aside if the root logger gets a
    handler later.

    Returns
    -------
    added : bool
        Whether skfreeal's handler is in place (added now or before).
    """
    if _own_handler(logger) is not None:
        return True
    if logger.handlers or logging.getLogger().handlers or logger.level != logging.NOTSET:
        return False
    handler = _LineHandler()
    handler.setFormatter(_Formatter())
    handler._skfreeal_own = True
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    return True


def _show_warning(message, category, filename, lineno, file=None, line=None, *, prefix):
    name = "warning" if category is UserWarning else category.__name__
    text = " ".join(str(message).split())
    write_line(f"{prefix}{name}: {text}")


@contextlib.contextmanager
def readable_warnings(prefix="skfreeal: "):
    """Show warnings raised inside the block as one line each on stderr.

    For programs (the demo, the command line), not for library code: it
    replaces :func:`warnings.showwarning` while the block runs. Filters
    (``-W``, ``PYTHONWARNINGS``) still decide which warnings show.

    Parameters
    ----------
    prefix : str, default="skfreeal: "
        Put before ``warning: <message>``.
    """
    previous = warnings.showwarning
    warnings.showwarning = functools.partial(_show_warning, prefix=prefix)
    try:
        yield
    finally:
        warnings.showwarning = previous


def _no_bar(factory, args, kwargs):
    from tqdm import tqdm

    return tqdm(*args, **{**kwargs, "disable": True})


@contextlib.contextmanager
def quiet_transformers():
    """No transformers progress bars ("Loading weights") inside the block.

    transformers' own switch is global (and also turns off huggingface_hub's
    bars), so where transformers offers a bar hook only the bars created in
    the block are silenced; otherwise the switch is flipped for the block
    and flipped back. A user who turned the bars off keeps them off.
    Nothing is imported unless :mod:`skfreeal.slm` (whose models load
    through transformers) is.
    """
    if "transformers" not in sys.modules:
        if "skfreeal.slm" not in sys.modules:  # no model of skfreeal's will be loaded
            yield
            return
        import transformers  # noqa: F401  (it is about to be, by skfreeal.slm)
    from transformers.utils import logging as hf_logging

    set_hook = getattr(hf_logging, "set_tqdm_hook", None)
    if set_hook is not None:
        previous = set_hook(_no_bar)
        try:
            yield
        finally:
            set_hook(previous)
        return
    enabled = hf_logging.is_progress_bar_enabled()
    if enabled:
        hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if enabled:
            hf_logging.enable_progress_bar()
