"""The Typer app and its one error boundary.

Exit codes: 0 ok, 1 checks failed (data tests, quality gates), 2 the tool could not run,
130 interrupted. Every known failure is one red ``Error: ...`` line; ``--debug`` shows
the traceback instead.
"""

from __future__ import annotations

import errno
import os
import sys
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from ..errors import EXIT_INTERRUPTED, EXIT_TOOL_FAILED, INTERRUPTED_LINE, IdcQcError

console = Console(stderr=True, soft_wrap=True, highlight=False)
app = typer.Typer(
    name="idc-qc",
    help=(
        "Metadata analytics and data-quality checks for DICOM archives shaped like NCI's Imaging "
        "Data Commons (IDC).\n\nStart with `idc-qc demo`: it synthesizes instance metadata from IDC's "
        "real series index, builds every table into a DuckDB file and says where the results are."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

_state = {"debug": False}


def _version(value: bool) -> None:
    if value:
        from .. import __version__

        typer.echo(f"idc-qc {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    debug: Annotated[bool, typer.Option("--debug", help="Show full tracebacks on errors.")] = False,
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Print the version and exit.")] = False,
) -> None:
    _state["debug"] = debug
    os.environ.setdefault("DO_NOT_TRACK", "1")


def _register() -> None:
    # The order of `idc-qc --help`: the main job, then a curator's release, then analysis.
    from . import (bias, build, check, clinical, cohort, dashboard, demo, diff, export, query, release, report,
                   synth, upset)
    from . import ingest

    app.command()(demo.demo)
    app.command()(synth.synth)
    app.command()(ingest.ingest)
    app.command()(build.build)
    app.command()(check.check)
    app.command()(report.report)
    app.add_typer(release.release_app)
    app.command()(diff.diff)
    app.command()(upset.upset)
    app.command()(dashboard.dashboard)
    app.command()(query.query)
    app.add_typer(cohort.app, name="cohort")
    app.add_typer(clinical.app, name="clinical")
    app.command()(bias.bias)
    app.command()(export.export)


def reflow(text: str | None) -> str | None:
    """A docstring as help: lines of a paragraph joined, so the terminal wraps them once.

    Typer keeps a docstring's single line breaks, so a paragraph wrapped at 100 columns in the
    source came out ragged in an 80-column terminal. A paragraph with an indented, listed
    (``-``, ``*``) or ``\\b``-marked line keeps its lines (examples, lists)."""
    import inspect

    if not text:
        return text
    paragraphs = inspect.cleandoc(text).split("\n\n")
    kept = []
    for paragraph in paragraphs:
        lines = paragraph.split("\n")
        literal = paragraph.startswith("\b") or any(line[:1].isspace() or line.lstrip().startswith(("- ", "* "))
                                                    for line in lines)
        kept.append(paragraph if literal else " ".join(line.strip() for line in lines))
    return "\n\n".join(kept)


def _reflow_help(typer_app: typer.Typer) -> None:
    for command in typer_app.registered_commands:
        command.help = reflow(command.help or (command.callback.__doc__ if command.callback else None))
    for group in typer_app.registered_groups:
        group.help = reflow(group.help)
        if group.typer_instance is not None:
            info = group.typer_instance.info
            info.help = reflow(info.help if isinstance(info.help, str) else None) or info.help
            _reflow_help(group.typer_instance)


_register()
_reflow_help(app)


def describe_exception(exc: BaseException) -> tuple[str, int] | None:
    """One line and an exit code for a failure users can act on; None for a bug."""
    if isinstance(exc, IdcQcError):
        return str(exc), exc.exit_code
    if isinstance(exc, OSError):
        what = exc.strerror or str(exc) or type(exc).__name__
        where = f" {exc.filename}" if exc.filename else ""
        if exc.errno == errno.ENOSPC:
            return f"no space left on the device holding{where or ' the output'}; nothing was replaced", EXIT_TOOL_FAILED
        return f"cannot use{where}: {what}", EXIT_TOOL_FAILED
    module = type(exc).__module__ or ""
    if module.split(".")[0] in {"duckdb", "_duckdb"} and "No space left on device" in str(exc):
        import re

        where = re.search(r'file "([^"]+)"', str(exc))
        return (f"no space left on the device holding {where.group(1) if where else 'the database'}; "
                "nothing was replaced"), EXIT_TOOL_FAILED
    if module.split(".")[0] in {"duckdb", "_duckdb", "dbt", "dbt_common"}:
        lines = [line for line in str(exc).splitlines() if line.strip()]
        return f"{module.split('.')[0].lstrip('_')}: {lines[0] if lines else type(exc).__name__}", EXIT_TOOL_FAILED
    return None


def _typer_click_exception() -> type:
    """Typer 0.2x vendors click (typer._click): its usage errors are not click's own classes."""
    try:
        from typer._click.exceptions import ClickException
    except ImportError:  # a Typer that uses click itself
        import click

        return click.exceptions.ClickException
    return ClickException


def main() -> None:
    """Console-script entry point: the one error boundary."""
    import click

    # Typer (0.2x) runs its own copy of Click (typer._click): its usage errors are TyperException,
    # not click.ClickException, and its Abort is typer.Abort. Both families are caught here and
    # shown as Click shows them (usage line, "Error: ...", exit 2), never as "unexpected".
    try:
        code = app(standalone_mode=False)
    except (click.exceptions.Abort, typer.Abort, KeyboardInterrupt):
        console.print(f"[red]{INTERRUPTED_LINE}[/]")
        sys.exit(EXIT_INTERRUPTED)
    except (click.exceptions.ClickException, _typer_click_exception(), typer.TyperException) as exc:
        option = getattr(exc, "option_name", None) or ""
        if type(exc).__name__ == "NoSuchOption" and (option.startswith("-- ") or "\n" in option):
            # an SQL text that starts with a `--` comment reads as an option
            console.print("[bold red]Error:[/] the SQL starts with '--' (a comment), which reads as an option: "
                          "put -- before it (idc-qc query -- \"-- ...\") or pass it with -f FILE.sql")
            sys.exit(EXIT_TOOL_FAILED)
        if hasattr(exc, "show"):
            exc.show()
        else:  # pragma: no cover - a TyperException outside Click's family
            console.print(f"[bold red]Error:[/] {escape(exc.format_message())}")
        sys.exit(getattr(exc, "exit_code", EXIT_TOOL_FAILED))
    except Exception as exc:  # this is the boundary: every failure ends here
        if _state["debug"]:
            raise
        described = describe_exception(exc)
        if described is None:
            line = f"unexpected {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}".rstrip(": ")
            console.print(f"[bold red]Error:[/] {escape(line)} (run with --debug for the traceback)")
            sys.exit(EXIT_TOOL_FAILED)
        message, exit_code = described
        console.print(f"[bold red]Error:[/] {escape(message)}")
        sys.exit(exit_code)
    if code == EXIT_INTERRUPTED:  # Typer turns KeyboardInterrupt into Exit(130)
        console.print(f"[red]{INTERRUPTED_LINE}[/]")
    sys.exit(code if isinstance(code, int) else 0)
