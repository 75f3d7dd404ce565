"""The ``idc-qc`` command line: thin commands over importable functions.

``app.py`` holds the Typer app (``from idc_qc.cli.app import app``) and the one error boundary;
each command group has its own module that parses options, calls one importable function and
shows its typed result. Heavy imports (dbt, DuckDB, Altair) happen inside the commands so
``--help`` stays instant, and :func:`main` answers an ``idc-qc ingest`` with nothing to read
before importing Typer at all (``ingest_rerun.py``).
"""

from __future__ import annotations

import sys


def main() -> None:
    """Console-script entry point."""
    args = sys.argv[1:]
    if args[:1] == ["ingest"]:
        from .ingest_rerun import answer

        try:
            code = answer(args[1:])
        except KeyboardInterrupt:  # as the full command says it (app.main), without importing it
            from ..errors import EXIT_INTERRUPTED, INTERRUPTED_LINE

            print(INTERRUPTED_LINE, file=sys.stderr)
            sys.exit(EXIT_INTERRUPTED)
        if code is not None:
            sys.exit(code)
    from .app import main as app_main

    app_main()


__all__ = ["main"]
