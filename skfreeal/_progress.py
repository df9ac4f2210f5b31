"""Progress bars on stderr for the steps a user waits on.

Every bar of the library goes through :func:`progress_bar`, so that one rule
decides when bars show (``verbose``, and whether stderr is a terminal) and how
they look: a live tqdm bar with count, rate and time left on a terminal or in
a notebook; plain lines, at most one every :data:`LOG_INTERVAL` seconds, in a
file or a pipe. :func:`progress_stage` names the bars of the step in
progress (``"round 0: annotating"``), so a component's bar says which step of
the loop it belongs to without knowing the loop.
"""

import contextlib
import contextvars
import sys
import threading

__all__ = ["LOG_INTERVAL", "bars_wanted", "progress_bar", "progress_stage", "progress_timer"]

#: Seconds between two progress lines when stderr is not a terminal.
LOG_INTERVAL = 10.0

_STAGE = contextvars.ContextVar("skfreeal_progress_stage", default=None)


def _in_notebook():
    shell = sys.modules.get("IPython")
    if shell is None:
        return False
    try:
        return type(shell.get_ipython()).__name__ == "ZMQInteractiveShell"
    except Exception:  # an IPython without a running shell
        return False


def _live(stream):
    try:
        return stream.isatty() or _in_notebook()
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False


def bars_wanted(verbose):
    """Whether progress bars show at this ``verbose``.

    Parameters
    ----------
    verbose : int or bool
        0: never. 1: when they can be live (stderr is a terminal, or a
        notebook runs the code), as ``pip`` does. 2 or more: always; in a
        file or a pipe a bar becomes a plain line every
        :data:`LOG_INTERVAL` seconds.

    Returns
    -------
    wanted : bool

    Examples
    --------
    >>> bars_wanted(0), bars_wanted(2)
    (False, True)
    """
    if not verbose:
        return False
    return int(verbose) >= 2 or _live(sys.stderr)


class _LineStream:
    """A stream that writes each tqdm refresh as a line of its own (for logs and pipes)."""

    def __init__(self, stream):
        self.stream = stream
        self.last = None

    def write(self, text):
        text = text.replace("\r", "").rstrip()
        shown = text.split(" [")[0]  # the count, without the times that always change
        if text and shown != self.last:  # tqdm writes the last count again on close
            self.stream.write(text + "\n")
            self.last = shown

    def flush(self):
        self.stream.flush()


def _tqdm(**kwargs):
    """A tqdm on stderr: live on a terminal or in a notebook, else a line at a time."""
    stream = sys.stderr
    if _live(stream):
        from tqdm.auto import tqdm

        return tqdm(file=stream, dynamic_ncols=True, **kwargs)
    from tqdm import tqdm

    return tqdm(file=_LineStream(stream), mininterval=LOG_INTERVAL, **kwargs)


def progress_bar(total, *, desc, unit, verbose):
    """A progress bar on stderr, or None when ``verbose`` wants none.

    Parameters
    ----------
    total : int
        Steps to come (0: no bar).
    desc : str
        What is counted, shown when no :func:`progress_stage` names the step.
    unit : str
        The unit of a step (``"call"``, ``"text"``, ``"batch"``).
    verbose : int or bool
        See :func:`bars_wanted`.

    Returns
    -------
    bar : tqdm or None
        Call ``update(n)`` and ``close()`` on it (or use it as a context
        manager).
    """
    if not total or not bars_wanted(verbose):
        return None
    desc = _STAGE.get() or desc
    if _live(sys.stderr):
        return _tqdm(total=total, desc=desc, unit=unit)
    return _tqdm(
        total=total, desc=desc, unit=unit,
        bar_format="{desc}: {percentage:3.0f}% {n_fmt}/{total_fmt} {unit}s "
        "[{elapsed} elapsed, {remaining} left, {rate_fmt}]",
    )


@contextlib.contextmanager
def progress_timer(desc, *, verbose):
    """Show the time spent in the block, for a step that counts nothing itself.

    A bar with the elapsed time, refreshed every second on a terminal and
    every :data:`LOG_INTERVAL` seconds (as a line) in a file or a pipe, so
    that a long step without a bar of its own still shows it is alive.

    Parameters
    ----------
    desc : str
        What is being done, shown when no :func:`progress_stage` names it.
    verbose : int or bool
        See :func:`bars_wanted`.
    """
    if not bars_wanted(verbose):
        yield
        return
    live = _live(sys.stderr)
    bar = _tqdm(desc=_STAGE.get() or desc, bar_format="{desc}: {elapsed} elapsed")
    stop = threading.Event()

    def tick():
        while not stop.wait(1.0 if live else LOG_INTERVAL):
            bar.refresh()

    ticker = threading.Thread(target=tick, name="skfreeal-progress", daemon=True)
    ticker.start()
    try:
        yield
    finally:
        stop.set()
        ticker.join()
        bar.close()


@contextlib.contextmanager
def progress_stage(name):
    """Name the progress bars shown inside the block (``"round 1: annotating"``).

    Parameters
    ----------
    name : str

    Examples
    --------
    >>> with progress_stage("embedding"):
    ...     pass
    """
    token = _STAGE.set(name)
    try:
        yield
    finally:
        _STAGE.reset(token)
