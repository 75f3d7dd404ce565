"""The ``idc-qc`` command line: thin commands over importable functions.

``app.py`` holds the Typer app and the one error boundary (``main``); each command group
has its own module that parses options, calls one importable function and shows its
typed result. Heavy imports (dbt, DuckDB, Altair) happen inside the commands so
``--help`` stays instant.
"""

from .app import app, console, main

__all__ = ["app", "console", "main"]
