"""README, the getting-started page and CI give one and the same test command."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _readme_test_command():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"Run the tests:\s*```bash\n(.+?)\n```", readme, re.S)
    assert block, "README.md has no 'Run the tests:' bash block"
    return block.group(1).strip()


def test_docs_and_ci_run_the_readme_test_command():
    command = _readme_test_command()
    assert "pytest" in command
    docs = (ROOT / "docs" / "getting_started.rst").read_text(encoding="utf-8")
    section = docs.split("Run the tests\n-------------", 1)[1].split("\n---", 1)[0]
    shown = [line.strip() for line in section.splitlines() if "pytest" in line]
    assert shown == [command]
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert [line.strip() for line in ci.splitlines() if "pytest" in line and
            not line.lstrip().startswith("#")] == [command]
