"""Running the real ``skfreeal`` command in a subprocess, for the CLI tests."""

import os
import subprocess
import sys

TASK = "Classify the sentiment of a product review."
LABELS = "negative,positive"


def run_cli(*args, timeout=600, env=None):
    """``python -m skfreeal ARGS`` with this interpreter; returns the CompletedProcess.

    The environment is the test's (so ``SKFREEAL_CACHE_DIR`` set by conftest
    reaches the command), plus ``env``.
    """
    full_env = dict(os.environ, **(env or {}))
    return subprocess.run(
        [sys.executable, "-m", "skfreeal", *map(str, args)],
        capture_output=True, text=True, timeout=timeout, env=full_env,
    )


def error_lines(proc):
    """Non-empty stderr lines."""
    return [line for line in proc.stderr.splitlines() if line.strip()]


def write_csv(path, header, rows):
    """A small CSV written with the csv module (quotes handled)."""
    import csv

    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
    return path
