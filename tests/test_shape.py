"""Every function in skfreeal/ and benchmarks/ stays short enough to read at once.

A function is measured with :mod:`ast` from its ``def`` line (decorators not
counted) to its last line, docstring, comments and blank lines included;
nested functions and methods count on their own as well as inside their parent.
"""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("skfreeal", "benchmarks")
MAX_LINES = 80


def _function_lengths(path):
    """Yield ``(qualified name, first line, length)`` for every function in ``path``."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))

    def visit(node, prefix):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                name = f"{prefix}{child.name}"
                if not isinstance(child, ast.ClassDef):
                    yield name, child.lineno, child.end_lineno - child.lineno + 1
                yield from visit(child, f"{name}.")
            else:
                yield from visit(child, prefix)

    yield from visit(tree, "")


def _python_files():
    for package in PACKAGES:
        yield from sorted((ROOT / package).rglob("*.py"))


def test_the_scan_sees_every_package_and_measures_def_to_end(tmp_path):
    files = list(_python_files())
    assert {f.relative_to(ROOT).parts[0] for f in files} == set(PACKAGES)
    sample = tmp_path / "sample.py"
    sample.write_text('class A:\n    def f(self):\n        """Doc."""\n\n        return 1\n'
                      "\n\ndef g():\n    def h():\n        pass\n    return h\n")
    assert list(_function_lengths(sample)) == [("A.f", 2, 4), ("g", 8, 4), ("g.h", 9, 2)]


def test_no_function_is_longer_than_80_lines():
    offenders = [
        f"{path.relative_to(ROOT)}:{line} {name} ({length} lines)"
        for path in _python_files()
        for name, line, length in _function_lengths(path)
        if length > MAX_LINES
    ]
    assert not offenders, (f"functions over {MAX_LINES} lines (def to last line): "
                           + "; ".join(offenders))
