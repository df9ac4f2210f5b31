"""The documentation builds with warnings as errors, and its examples pass as doctests.

Both Sphinx builds run in one subprocess (they share the imported package
and the parsed documents), into a temporary folder. Skipped when Sphinx or
numpydoc is not installed (the ``docs`` extra).
"""

import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("sphinx")
pytest.importorskip("numpydoc")

DOCS = Path(__file__).resolve().parent.parent / "docs"

_BUILD = """
import sys
from sphinx.cmd.build import build_main
src, out = sys.argv[1], sys.argv[2]
doctrees = out + "/doctrees"
status = build_main(["-W", "--keep-going", "-q", "-d", doctrees, "-b", "html", src, out + "/html"])
if status == 0:
    status = build_main(["-q", "-d", doctrees, "-b", "doctest", src, out + "/doctest"])
sys.exit(status)
"""


@pytest.mark.timeout(600)
def test_docs_build_without_warnings_and_doctests_pass(tmp_path):
    proc = subprocess.run([sys.executable, "-c", _BUILD, str(DOCS), str(tmp_path)],
                          capture_output=True, text=True, env={**_env(), "HF_HUB_OFFLINE": "1"})
    report = tmp_path / "doctest" / "output.txt"
    detail = report.read_text()[-4000:] if report.exists() else ""
    assert proc.returncode == 0, f"{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}\n{detail}"
    assert (tmp_path / "html" / "index.html").exists()
    assert "0 failures in tests" in report.read_text()


def _env():
    import os

    return dict(os.environ)
