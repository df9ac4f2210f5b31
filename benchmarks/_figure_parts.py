"""What the figure templates share: the table type, the marker of a missing source, and
how a result's revision, command and role are quoted.

Its own module so that :mod:`benchmarks.figures` and the claims page's templates
(:mod:`benchmarks._claims_page`) use one ``Table`` class, also when
``python -m benchmarks.figures`` runs the former as ``__main__``.
"""

import math
import re
from dataclasses import dataclass

__all__ = ["Missing", "Table", "command", "revision", "role", "standard_error"]


@dataclass
class Table:
    """A template's table: a header row and rows of cell strings."""

    header: list
    rows: list


@dataclass
class Missing:
    """An optional source file (``?path`` in a block's markers) that does not exist yet."""

    path: str

    @property
    def suite(self):
        """The suite that writes it: the file name up to its first hyphen."""
        return self.path.rsplit("/", 1)[-1].split("-", 1)[0]


def revision(git):
    """A run's commit, short, and whether its tree had uncommitted changes."""
    git = git or {}
    return (git.get("commit") or "unknown")[:7] + (" with uncommitted changes"
                                                   if git.get("dirty") else "")


def standard_error(p, n):
    """The binomial standard error of an accuracy ``p`` over ``n`` texts."""
    return math.sqrt(p * (1 - p) / n)


def command(result):
    """The suite's command without the machine-local cache folder."""
    return re.sub(r" --cache-dir \S+", "", result["command"])


def role(result):
    """A suite result's role; files from before issue 40 are dev runs (no ``role`` key)."""
    return result.get("role") or "dev"
