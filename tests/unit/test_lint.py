"""The repository passes its own lint: `ruff check` with the rules of pyproject.toml [tool.ruff].

Under a second for the whole repository. Each `# noqa` names its rule and says why (a bare
`# noqa` silences every rule); ruff's RUF100 refuses a `noqa` that silences nothing.

SQL is not linted here: sqlfluff-templater-dbt 4.4 (the templater that renders ref(), vars and
adapter.dispatch offline) pins sqlfluff 4.4, which requires click < 8.5; installing it would
downgrade the click 8.5.1 the venv runs. The dbt style rules are tests in
tests/dbt/test_project_structure.py.
"""

from __future__ import annotations

import re
import subprocess
import tokenize

import pytest

from support.data import REPO


def _ruff() -> list[str]:
    try:
        from ruff.__main__ import find_ruff_bin
    except ImportError:
        pytest.fail("ruff is not installed: it is in the `test` extra of pyproject.toml (./dev test installs it)")
    return [find_ruff_bin()]


def test_ruff_check_passes():
    done = subprocess.run([*_ruff(), "check", "--no-cache", "--output-format", "concise", str(REPO)],
                          capture_output=True, text=True, timeout=120, cwd=REPO)
    assert done.returncode == 0, f"ruff check found problems (fix them, or `ruff check --fix`):\n{done.stdout}{done.stderr}"


#: A noqa comment: the rule codes it names (group 1) and what follows them (group 2).
NOQA = re.compile(r"#\s*noqa\b(:\s*[A-Z]+\d+(?:\s*,\s*[A-Z]+\d+)*)?(.*)")


def unjustified_noqa(line: str) -> bool:
    """A noqa comment that names no rule, or names rules and gives no reason (a word after the codes)."""
    return any(not m.group(1) or not re.search(r"[A-Za-z]{3,}", m.group(2)) for m in NOQA.finditer(line))


def test_every_noqa_names_its_rules_and_a_reason():
    bare = []
    for folder in ("idc_qc", "tests", "benchmarks"):
        for path in sorted((REPO / folder).rglob("*.py")):
            if "_project" in path.parts or "noqa" not in path.read_text():
                continue
            with path.open("rb") as handle:
                for token in tokenize.tokenize(handle.readline):
                    if token.type == tokenize.COMMENT and unjustified_noqa(token.string):
                        bare.append(f"{path.relative_to(REPO)}:{token.start[0]}: {token.line.strip()}")
    assert not bare, ("a noqa must name its rule and say why, e.g. `# noqa: BLE001 - GX raises several kinds`:\n"
                      + "\n".join(bare))


@pytest.mark.parametrize(("line", "refused"), [
    ("x = 1  # noqa", True),
    ("x = 1  # noqa: E731", True),
    ("import a  # noqa: E402,F401  ", True),
    ("x = 1  # noqa: E731 - a short alias keeps the formulas readable", False),
    ("import a  # noqa: E402, F401 - after sys.path is set", False),
    ("x = 1  # no comment that matters", False),
])
def test_the_noqa_check_itself(line, refused):
    assert unjustified_noqa(line) is refused
