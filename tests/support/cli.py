"""idc-qc as a user runs it, for the tests: one helper per way, one assertion for an error line.

``run_cli(*args)``  the console script in a subprocess (``python -m idc_qc.cli``): a real process,
                    its real exit code and streams. Start-up costs a second or two per call, so
                    keep it for what only a process shows (signals, a clean environment, the
                    installed entry point) and a few end-to-end cases per command.
``invoke(*args)``   the same entry point, ``idc_qc.cli.main`` (the one error boundary: exit codes,
                    the red ``Error:`` line), called in this process inside Click's CliRunner
                    isolation (stdin, stdout and stderr swapped, environment overrides). The same
                    result object as ``run_cli``; no start-up.
``one_error_line(result)``  asserts the exit code (2 unless told), exactly one ``Error:`` line and
                    no traceback on stderr; returns that line.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from pathlib import Path


def run_cli(*args: str, stdin: str | None = None, cwd: Path | str | None = None, timeout: int = 600,
            env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """``python -m idc_qc.cli *args`` in a subprocess, output captured as text."""
    return subprocess.run([sys.executable, "-m", "idc_qc.cli", *args], capture_output=True, text=True,
                          timeout=timeout, input=stdin, cwd=cwd, env=None if env is None else {**os.environ, **env})


def invoke(*args: str, stdin: str | None = None, cwd: Path | str | None = None,
           env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """``idc_qc.cli.main()`` with ``args`` in this process; returns what ``run_cli`` would."""
    from click.testing import CliRunner

    from idc_qc.cli import main
    from idc_qc.cli.app import _state

    code = 0
    argv, debug = sys.argv, _state["debug"]
    with CliRunner().isolation(input=stdin, env=env) as (out, err, _), \
            (contextlib.chdir(cwd) if cwd is not None else contextlib.nullcontext()):
        sys.argv = ["idc-qc", *args]
        try:
            main()
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
        finally:
            sys.argv, _state["debug"] = argv, debug
            sys.stdout.flush()
            sys.stderr.flush()
        stdout, stderr = out.getvalue().decode(), err.getvalue().decode()
    return subprocess.CompletedProcess(["idc-qc", *args], code, stdout, stderr)


def one_error_line(result: subprocess.CompletedProcess, code: int = 2) -> str:
    """The one red ``Error: ...`` line of a refused command (exit ``code``, no traceback)."""
    assert result.returncode == code, f"exit {result.returncode}, not {code}:\n{result.stdout}{result.stderr}"
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, f"{len(errors)} Error: lines, not one:\n{result.stderr}"
    assert "Traceback" not in result.stderr, result.stderr
    return errors[0]
