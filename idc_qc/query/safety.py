"""The allow-list: one read-only statement, checked by DuckDB's own parser before anything runs.

This is the first of two locks. The second is the connection the query runs on
(:mod:`.run`): opened read-only, with ``enable_external_access`` off and the configuration
locked, so a statement that slips past this list still cannot write the database, read or
write another file, reach the network, or install and load an extension.
"""

from __future__ import annotations

import re

from ..errors import IdcQcError
from .transpile import NotReadOnly, QuerySyntaxError

#: What each refused statement type is called in the error (DuckDB's StatementType names).
_WHAT = {
    "INSERT": "INSERT changes a table", "UPDATE": "UPDATE changes a table", "DELETE": "DELETE changes a table",
    "CREATE": "CREATE makes a table, view, macro, secret or sequence", "DROP": "DROP removes something",
    "ALTER": "ALTER changes a table", "ATTACH": "ATTACH opens another database", "DETACH": "DETACH closes a database",
    "COPY": "COPY reads or writes files", "COPY_DATABASE": "COPY DATABASE writes a database",
    "EXPORT": "EXPORT DATABASE writes files", "LOAD": "INSTALL/LOAD adds an extension",
    "SET": "SET / RESET / USE changes a setting", "VARIABLE_SET": "SET VARIABLE changes a setting",
    "PRAGMA": "PRAGMA changes or reads settings", "CALL": "CALL runs a procedure",
    "TRANSACTION": "a transaction statement", "PREPARE": "PREPARE stores a statement",
    "EXECUTE": "EXECUTE runs a stored statement", "VACUUM": "VACUUM rewrites the database",
    "ANALYZE": "ANALYZE updates statistics", "MULTI": "this statement (e.g. a bare PIVOT) runs several statements, "
    "some of which create types; write it inside SELECT * FROM (...)", "UPDATE_EXTENSIONS": "UPDATE EXTENSIONS",
    "MERGE_INTO": "MERGE changes a table", "RELATION": "a relation statement", "LOGICAL_PLAN": "a plan statement",
}
_EXPLAIN_PREFIX = re.compile(r"^\s*explain\s+(?:analy[sz]e\s+)?(?:\([^)]*\)\s*)?", re.IGNORECASE)
_LEADING_COMMENTS = re.compile(r"^(?:\s+|--[^\n]*\n?|/\*.*?\*/)*", re.DOTALL)


def _statements(sql: str) -> list:
    import duckdb

    try:
        return duckdb.extract_statements(sql)
    except duckdb.ParserException as exc:
        raise QuerySyntaxError(f"DuckDB cannot parse the query: {str(exc).splitlines()[0]}") from None


def check_read_only(sql: str) -> str:
    """``sql`` when it is exactly one read statement (SELECT, WITH, VALUES, DESCRIBE, SUMMARIZE,
    SHOW, FROM-first, or EXPLAIN of one of these); otherwise :class:`NotReadOnly` naming what it is.
    """
    statements = _statements(sql)
    if not statements:
        raise QuerySyntaxError("no statement to run")
    kinds = [s.type.name for s in statements]
    for statement in statements:
        kind = statement.type.name
        if kind == "SELECT":
            continue
        if kind == "EXPLAIN":
            inner = _EXPLAIN_PREFIX.sub("", _LEADING_COMMENTS.sub("", statement.query), count=1)
            inner_kinds = [s.type.name for s in _statements(inner)] if inner.strip() else []
            if inner_kinds == ["SELECT"]:
                continue
            what = _WHAT.get(inner_kinds[0], inner_kinds[0]) if inner_kinds else "nothing to explain"
            raise NotReadOnly(f"refused: EXPLAIN of a statement that is not a query ({what})")
        first_word = (_LEADING_COMMENTS.sub("", statement.query).split() or [""])[0].upper()
        what = {"IMPORT": "IMPORT DATABASE reads files into the database", "CHECKPOINT": "CHECKPOINT writes the database",
                "FORCE": "FORCE INSTALL adds an extension"}.get(first_word, _WHAT.get(kind, kind))
        raise NotReadOnly(f"refused: {what}; idc-qc query runs one read-only query "
                          "(SELECT / WITH / EXPLAIN) and changes nothing")
    if len(statements) > 1:
        raise NotReadOnly(f"refused: {len(statements)} statements ({', '.join(kinds)}); idc-qc query runs one query at a time")
    return sql


class NotACondition(IdcQcError):
    """A --where that is not one SQL condition (a second statement, or no condition at all)."""


def check_condition(condition: str, *, columns_of: str, example: str) -> str:
    """``condition`` when DuckDB's parser reads it as the condition of one query; otherwise
    :class:`NotACondition`, naming --where, what it was given and an example.

    The one check for every command that puts a user's condition into its own SQL (upset, bias,
    cohort): the condition goes into ``select * from t where (...)``, which must stay exactly
    one SELECT. Words are not refused (a series description may hold 'update' or 'delete');
    a condition that breaks out of its parentheses into more of a SELECT still only reads, on
    the read-only connection each command runs it on.
    """
    import duckdb

    def refuse(why: str) -> NotACondition:
        return NotACondition(f"--where {condition!r}: {why}; give one SQL condition on the columns of "
                             f"{columns_of} (e.g. {example})")

    if not condition.strip():
        raise refuse("empty")
    try:
        statements = duckdb.extract_statements(f"select * from t where ({condition}\n)")
    except duckdb.ParserException as exc:
        raise refuse(f"not an SQL condition ({str(exc).splitlines()[0]})") from None
    if len(statements) != 1 or statements[0].type.name != "SELECT":
        raise refuse("more than one statement")
    return condition
