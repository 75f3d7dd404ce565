"""Errors the CLI turns into one red ``Error: ...`` line (exit 1 for failed checks, 2 for the tool)."""


class IdcQcError(Exception):
    """A known, user-facing failure: bad input, a missing file, a failed build."""

    exit_code = 2


class ContractError(IdcQcError):
    """An instance metadata file does not follow docs/instance_contract.md."""


class BuildError(IdcQcError):
    """dbt reported errors or failed tests."""

    exit_code = 1
