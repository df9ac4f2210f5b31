"""Where a run happened: the code's git revision and the machine, for result files (public:
the demo and the benchmark suites record them, and so can a user's own runs).

A figure is only as good as the code that made it: the revision says which
commit, and ``dirty`` whether the checkout differed from it. Changes to files
a run writes (results under ``benchmarks/results``, pages under ``docs``) do
not count, so a second run in the same checkout is not flagged by the first
one's outputs; untracked files under ``skfreeal/`` and ``benchmarks/`` do
count (a new module is a change of the code).
"""

import os
import platform
import subprocess
import sys
from pathlib import Path

__all__ = ["git_revision", "machine", "peak_rss_mib"]

# Everything in the checkout but what the benchmark suites write.
_OUTPUT_PATHSPECS = (":(top)", ":(top,exclude)benchmarks/results", ":(top,exclude)docs")
# Untracked files where they can change what runs (a new module of the library or of a
# suite), but not the suites' outputs, the LLM answer cache or bytecode.
_CODE_PATHSPECS = (":(top)skfreeal", ":(top)benchmarks", ":(top,exclude)benchmarks/results",
                   ":(top,exclude)benchmarks/.cache", ":(top,exclude,glob)**/__pycache__/**")


def git_revision(path=None):
    """The commit of the git checkout holding ``path`` and whether it had changes.

    Parameters
    ----------
    path : str or Path, default=None
        A folder in the checkout; None: the one holding this package.

    Returns
    -------
    revision : dict
        ``{"commit": sha or None, "dirty": bool or None}``; both None outside
        a git checkout or without git.
    """
    cwd = Path(path) if path is not None else Path(__file__).resolve().parent.parent

    def git(*args):
        return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True,
                              timeout=10, check=True).stdout.strip()

    try:
        commit = git("rev-parse", "HEAD")
        changed = git("status", "--porcelain", "--untracked-files=no", "--", *_OUTPUT_PATHSPECS)
        untracked = git("ls-files", "--others", "--exclude-standard", "--", *_CODE_PATHSPECS)
        return {"commit": commit, "dirty": bool(changed or untracked)}
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "dirty": None}


def peak_rss_mib():
    """This process's peak resident memory so far, in MiB (its children's if larger)."""
    import resource  # Unix only

    unit = 1 if sys.platform == "darwin" else 1024  # ru_maxrss: bytes on macOS, KiB elsewhere
    peak = max(resource.getrusage(who).ru_maxrss
               for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    return round(peak * unit / 2**20, 1)


def machine():
    """The machine a run used: platform, Python, CPU, cores, memory, library versions."""
    info = {"platform": platform.platform(), "python": sys.version.split()[0],
            "processor": _cpu_model(), "logical_cores": os.cpu_count(),
            "usable_cores": (len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
                             else os.cpu_count()),
            "memory_gib": _memory_gib(),
            "load_average_at_start": list(os.getloadavg()) if hasattr(os, "getloadavg")
            else None}
    try:
        import torch

        info.update(torch=torch.__version__, torch_threads=torch.get_num_threads())
    except ImportError:  # pragma: no cover
        info["torch"] = None
    from . import __version__

    info["skfreeal"] = __version__
    return info


def _cpu_model():
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:  # pragma: no cover
        pass
    return platform.processor() or None


def _memory_gib():
    try:
        return round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
    except (ValueError, OSError, AttributeError):  # pragma: no cover
        return None
