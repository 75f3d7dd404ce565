"""Every command's --help reads as prose in any terminal width (idc_qc.cli.app.reflow).

Typer keeps a docstring's single line breaks, so paragraphs wrapped at 100 columns in the
source printed ragged at 80. Each command's help must reach Click with a paragraph on one line,
except paragraphs of examples and lists, which keep their lines.
"""

from __future__ import annotations

import pytest
from typer.main import get_command
from typer.testing import CliRunner

from idc_qc.cli.app import app, reflow


def _commands(command, path: tuple[str, ...] = ()):
    yield path, command
    if hasattr(command, "commands"):  # a group (Typer 0.29 carries its own copy of Click)
        for name, sub in command.commands.items():
            yield from _commands(sub, (*path, name))


COMMANDS = list(_commands(get_command(app)))


def test_reflow_joins_prose_and_keeps_examples():
    text = "First line\nof the summary.\n\nProse wrapped\nin the source.\n\nExamples:\n\n  idc-qc a\n  idc-qc b\n\n- one\n- two"
    assert reflow(text) == ("First line of the summary.\n\nProse wrapped in the source.\n\nExamples:\n\n"
                            "  idc-qc a\n  idc-qc b\n\n- one\n- two")


@pytest.mark.parametrize("path, command", COMMANDS, ids=[" ".join(p) or "idc-qc" for p, _ in COMMANDS])
def test_help_paragraphs_are_one_line_each(path, command):
    assert len(COMMANDS) > 15
    for paragraph in (command.help or "").split("\n\n"):
        lines = paragraph.split("\n")
        literal = paragraph.startswith("\b") or any(line[:1].isspace() or line.lstrip().startswith(("- ", "* "))
                                                    for line in lines)
        assert literal or len(lines) == 1, (path, paragraph)
    result = CliRunner().invoke(app, [*path, "--help"], terminal_width=80)
    assert result.exit_code == 0, result.output
    assert "Usage: " in result.output
