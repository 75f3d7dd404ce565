"""Errors the CLI turns into one red ``Error: ...`` line.

Exit codes (dbt's convention): 0 ok, 1 checks failed (a data test, a quality gate),
2 the tool itself could not do what was asked (bad input, a dbt error, a locked or
unreadable database, a full disk). 130 after Ctrl-C.
"""

EXIT_OK = 0
EXIT_CHECKS_FAILED = 1
EXIT_TOOL_FAILED = 2
EXIT_INTERRUPTED = 130
#: The last line after Ctrl-C (the CLI's, and a build ended after it: workspace.sigint_releases_pauses).
INTERRUPTED_LINE = "interrupted; previous results kept"


class IdcQcError(Exception):
    """A known, user-facing failure: bad input, a missing file, a failed build."""

    exit_code = EXIT_TOOL_FAILED


class ContractError(IdcQcError):
    """An instance metadata file does not follow docs/instance_contract.md."""


class BuildError(IdcQcError):
    """dbt could not build a model (compile or runtime error): the tool failed, exit 2."""


class ChecksFailed(BuildError):
    """Every model was built but data tests failed: the checks failed, exit 1."""

    exit_code = EXIT_CHECKS_FAILED


class BuildLocked(IdcQcError):
    """Another build is writing the same database."""


class NotADatabase(IdcQcError):
    """``--db`` points at something that is not a DuckDB database file."""


class IncompleteBuild(IdcQcError):
    """The database holds a build that did not finish."""
