"""Progress bars on stderr for the steps a user waits on.

Every bar of the library goes through :func:`progress_bar`, so that one rule
decides when bars show (``verbose``, and whether stderr is a terminal) and how
they look: a live tqdm bar with count, rate and time left on a terminal or in
a notebook; plain lines, at most one every :data:`LOG_INTERVAL` seconds, in a
file or a pipe, with no cursor movement or carriage return in them.
:func:`progress_stage` names the bars of the step in progress
(``"round 0: annotating"``), so a component's bar says which step of the
loop it belongs to without knowing the loop, and shows the step as one bar
however many passes it makes.
"""

import contextlib
import contextvars
import re
import sys
import threading

__all__ = ["LOG_INTERVAL", "bars_wanted", "progress_bar", "progress_stage", "progress_timer"]

#: Seconds between two progress lines when stderr is not a terminal.
LOG_INTERVAL = 10.0

_STAGE = contextvars.ContextVar("skfreeal_progress_stage", default=None)

# Terminal control sequences (cursor up, erase line...): tqdm writes them
# to place nested bars, and a log or a pipe must not carry them.
_CONTROL = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]")


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
        text = _CONTROL.sub("", text).replace("\r", "").rstrip()
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

    # position=0: a line of a log has no place on the screen, so tqdm moves
    # no cursor for a bar opened while another is (a timer around training).
    return tqdm(file=_LineStream(stream), mininterval=LOG_INTERVAL, position=0, **kwargs)


def _new_bar(total, desc, unit):
    if _live(sys.stderr):
        return _tqdm(total=total, desc=desc, unit=unit)
    return _tqdm(
        total=total, desc=desc, unit=unit,
        bar_format="{desc}: {percentage:3.0f}% {n_fmt}/{total_fmt} {unit}s "
        "[{elapsed} elapsed, {remaining} left, {rate_fmt}]",
    )


class _Stage:
    """A step of the loop, shown as one bar: the bars opened in it add their counts to it.

    Round 0's demonstration writing makes up to a dozen passes of LLM calls
    (writing, checking, filling short labels), each with a bar of its own
    in the labeler: in the stage they show as one bar whose total grows
    with each pass. The bar closes when the stage ends and every pass is
    done. A bar counting another unit (texts embedded among LLM calls)
    stays a bar of its own.
    """

    def __init__(self, name):
        self.name = name
        self.bar = None
        self.unit = None
        self.n_open = 0
        self.ended = False
        self.lock = threading.Lock()

    def part(self, total, unit):
        """A share of the stage's bar for ``total`` more steps, or None for another unit."""
        with self.lock:
            if self.bar is None:
                self.bar, self.unit = _new_bar(total, self.name, unit), unit
            elif unit != self.unit:
                return None
            else:
                self.bar.total += total  # shown at the bar's next refresh
                widget = getattr(self.bar, "container", None)  # a notebook's bar
                if widget is not None:
                    widget.children[1].max = self.bar.total
            self.n_open += 1
        return _StagePart(self)

    def release(self):
        with self.lock:
            self.n_open -= 1
            self._close_when_done()

    def end(self):
        with self.lock:
            self.ended = True
            self._close_when_done()

    def _close_when_done(self):
        if self.ended and self.n_open == 0 and self.bar is not None:
            self.bar.close()
            self.bar = None


class _StagePart:
    """What :func:`progress_bar` gives in a stage: tqdm's ``update``, ``close``,
    ``n``, ``desc`` and ``set_description_str``, on the stage's one bar."""

    def __init__(self, stage):
        self.stage = stage
        self.n = 0  # this part's own count (a batch's bar sets its count from it)
        self.desc = stage.name
        self.closed = False

    def update(self, n=1):
        if self.closed:  # as a closed tqdm does
            return
        self.n += n
        self.stage.bar.update(n)

    def set_description_str(self, desc):
        self.desc = desc
        self.stage.bar.set_description_str(desc)

    def close(self):
        if not self.closed:
            self.closed = True
            self.stage.release()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


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
    bar : tqdm, a share of the stage's bar, or None
        Call ``update(n)`` and ``close()`` on it (or use it as a context
        manager). Inside :func:`progress_stage`, a share of the stage's
        one bar.
    """
    if not total or not bars_wanted(verbose):
        return None
    stage = _STAGE.get()
    part = stage.part(total, unit) if stage is not None else None
    if part is not None:
        return part
    return _new_bar(total, stage.name if stage is not None else desc, unit)


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
    stage = _STAGE.get()
    bar = _tqdm(desc=stage.name if stage is not None else desc,
                bar_format="{desc}: {elapsed} elapsed")
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
    """Show the progress bars opened inside the block as one bar named ``name``.

    The bars of a step that makes several passes (round 0's demonstration
    writing) add their counts to one bar (``"round 0: writing
    demonstrations: 40% 12/30 calls"``), whose total grows with each
    pass; a bar counting another unit keeps a bar of its own, with the
    same name. :func:`progress_timer` takes the name too.

    Parameters
    ----------
    name : str

    Examples
    --------
    >>> with progress_stage("embedding"):
    ...     pass
    """
    stage = _Stage(name)
    token = _STAGE.set(stage)
    try:
        yield
    finally:
        _STAGE.reset(token)
        stage.end()
