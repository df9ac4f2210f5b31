"""The command group, the entry point and how failures end the process.

Exit statuses: 0 success; 2 bad input or usage (a one-line message on stderr
saying what and where, and no output file written); 130 interrupted (Ctrl-C);
1 an unexpected failure (a traceback: a bug to report).
"""

import os
import sys

import click

from .. import __version__
from .._console import readable_warnings
from ._batches import batches
from ._errors import EXIT_INTERRUPTED, CLIError, one_line
from ._label import estimate, label
from ._predict import predict

__all__ = ["cli", "main"]


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="skfreeal")
def cli():
    """Label texts with an LLM and a small robust model (FreeAL), no human needed.

    \b
    skfreeal estimate tweets.csv --text-column text --labels negative,positive \\
        --task "Classify the sentiment of a tweet."
    skfreeal label tweets.csv --text-column text --labels negative,positive \\
        --task "Classify the sentiment of a tweet." --out labelled.csv \\
        --save-model model.joblib --report report.html
    skfreeal predict model.joblib new.csv --text-column text --out predicted.csv

    Tables are CSV, TSV, JSON Lines or Parquet, chosen by file extension.
    """


@cli.command(
    add_help_option=False,
    context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
)
@click.pass_context
def demo(ctx):
    """Run the packaged end-to-end demonstration (see the README).

    Its options (--n-train, --n-test, --n-rounds, --n-demos, --seed) are passed
    on: 'skfreeal demo --help' lists them.
    """
    from .. import demo as demo_module

    # An explicit list, so the demo never parses sys.argv (which holds "demo").
    result = demo_module.main(list(ctx.args))
    if isinstance(result, int) and result:
        ctx.exit(result)


cli.add_command(label)
cli.add_command(estimate)
cli.add_command(predict)
cli.add_command(batches)


def main(argv=None, prog_name=None):
    """Run the ``skfreeal`` command line and exit with its status.

    Parameters
    ----------
    argv : list of str, default=None
        The arguments; None reads ``sys.argv[1:]``.
    prog_name : str, default=None
        The name shown in messages; None derives it from ``sys.argv[0]``.
    """
    prog = prog_name or "skfreeal"
    try:
        # Without standalone mode click returns ctx.exit()'s status (--help,
        # --version, the demo's) instead of exiting, and raises its errors here.
        with readable_warnings(f"{prog}: "):
            status = cli.main(args=argv, prog_name=prog_name, standalone_mode=False)
    except CLIError as exc:
        _fail(f"{prog}: error: {exc.format_message()}", exc.exit_code)
    except click.UsageError as exc:
        command = exc.ctx.command_path if exc.ctx is not None else prog
        hint = f" (see '{command} --help')"
        _fail(f"{command}: error: {one_line(exc.format_message())}{hint}", 2)
    except click.ClickException as exc:
        _fail(f"{prog}: error: {one_line(exc.format_message())}", 2)
    except (click.Abort, KeyboardInterrupt):
        _fail(
            f"{prog}: interrupted; LLM answers received so far are cached, "
            "so the same command resumes from them",
            EXIT_INTERRUPTED,
            now=argv is None,
        )
    sys.exit(status if isinstance(status, int) else 0)


def _fail(message, status, *, now=False):
    sys.stderr.write("\n" if _mid_line() else "")
    click.echo(message, err=True)
    if now:
        # Ctrl-C must end the command at once. Every answer is already committed
        # to the cache and no output file exists yet (they are renamed into place
        # only at the end), so nothing is lost by skipping the interpreter's
        # clean-up: collecting a loaded model's objects can take seconds, and
        # LLM calls abandoned in flight would hold a normal exit.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(status)
    sys.exit(status)


def _mid_line():
    # A progress bar may have left the cursor mid-line on a terminal.
    return sys.stderr.isatty()
