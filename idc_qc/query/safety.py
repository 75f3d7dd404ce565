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
    """SQL text given to an option that takes one condition or expression, and is not one
    (a second statement, a break-out of its parentheses, a file read, a parameter)."""


#: Table functions a condition or expression may call: they read no file and no other source.
#: Every other one (read_csv, read_text, read_parquet, glob, sniff_csv, query, iceberg_scan,
#: sqlite_scan, ...) is refused by name, whatever the connection would allow.
_SAFE_TABLE_FUNCTIONS = re.compile(r"(range|generate_series|unnest|duckdb_\w+|pragma_\w+)", re.IGNORECASE)
_PLAIN_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*")
#: What the parser's tree may hold beside the one SELECT around the user's text.
_WRAPPER_KEYS = {"type", "select_list", "from_table", "where_clause", "aggregate_handling",
                 "modifiers", "cte_map", "group_expressions", "group_sets", "having", "qualify", "sample"}


_PARSER: dict = {}


def _parse_tree(sql: str) -> dict:
    """DuckDB's own parse of ``sql`` (json_serialize_sql): the statements as a tree, nothing run.

    One in-memory connection serves every check of the process (opening one costs more than
    the parse); a lock keeps two threads from sharing it at once.
    """
    import json
    import threading

    import duckdb

    if "con" not in _PARSER:
        _PARSER["lock"] = threading.Lock()
        _PARSER["con"] = duckdb.connect()
    with _PARSER["lock"]:
        return json.loads(_PARSER["con"].execute("select json_serialize_sql(?)", [sql]).fetchone()[0])


def _balanced(text: str) -> bool:
    """True when the parentheses of ``text`` (outside strings and comments) never close more
    than they opened and all close: the text cannot leave the parentheses it is put into."""
    import duckdb

    try:
        tokens = duckdb.tokenize(text)
    except Exception:  # noqa: BLE001 - text the tokenizer refuses fails the parse after this anyway
        return True
    depth = 0
    for i, (start, kind) in enumerate(tokens):
        if kind != duckdb.token_type.operator:
            continue
        end = tokens[i + 1][0] if i + 1 < len(tokens) else len(text)
        for char in text[start:end]:
            depth += char == "("
            depth -= char == ")"
            if depth < 0:
                return False
    return depth == 0


def _reads_elsewhere(tree) -> str | None:
    """What in a parsed condition would read a file, another source, or take a parameter; None if nothing."""
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(node)
            continue
        if not isinstance(node, dict):
            continue
        if node.get("type") == "TABLE_FUNCTION":
            function = node.get("function") or {}
            name = str(function.get("function_name", "")) if isinstance(function, dict) else ""
            if not _SAFE_TABLE_FUNCTIONS.fullmatch(name):
                return f"it calls the table function {name or '?'}(), which reads files or other sources"
        elif node.get("type") == "BASE_TABLE":
            name = str(node.get("table_name", ""))
            if not _PLAIN_NAME.fullmatch(name):
                return f"it reads {name!r} as a table (a file path or URL)"
        elif node.get("class") == "PARAMETER":
            return "it holds a query parameter (?, $1); write the value itself"
        stack.extend(node.values())
    return None


def _check_wrapped(text: str, wrapped: str, *, refuse, part: str) -> dict:
    """Parse ``wrapped`` (one SELECT with ``text`` inside it) and return its one SELECT node,
    or raise ``refuse(why)`` when the text is not exactly the ``part`` of that SELECT."""
    if not text.strip():
        raise refuse("empty")
    if not _balanced(text):
        raise refuse("its parentheses do not balance, so it would reach outside its own; "
                     "close every parenthesis it opens")
    tree = _parse_tree(wrapped)
    if tree.get("error"):
        message = str(tree.get("error_message") or "").splitlines()[0] if tree.get("error_message") else "?"
        raise refuse(f"not an SQL {part} ({message})")
    statements = tree.get("statements") or []
    if len(statements) != 1:
        raise refuse("more than one statement")
    node = statements[0].get("node") or {}
    extra = [k for k, v in node.items() if k not in _WRAPPER_KEYS and v not in ([], None, {}, "", False)]
    if node.get("type") != "SELECT_NODE" or extra or node.get("modifiers") or node.get("group_expressions") \
            or node.get("having") or node.get("qualify") or node.get("sample") \
            or (node.get("cte_map") or {}).get("map"):
        raise refuse(f"it adds more than a {part} to the query around it")
    return node


def check_condition(condition: str, *, columns_of: str, example: str, option: str = "--where") -> str:
    """``condition`` when DuckDB's parser reads it as exactly one condition; otherwise
    :class:`NotACondition`, naming the option, what it was given and an example.

    The one check for every option that puts a user's condition into the toolkit's own SQL
    (``--where`` of upset, bias, cohort create, export): the condition goes into
    ``select * from t where (...)``, which must stay exactly that SELECT -- its parentheses
    balance (``Modality='CT') or (1=1`` cannot widen the other filters), no second statement,
    no GROUP BY / UNION / ... added, no table function that reads files or other sources
    (read_csv, read_text, glob, ...), no file path used as a table, no query parameter. Words
    are not refused (a series description may hold 'update' or 'delete'). Subqueries on the
    warehouse's own tables are fine. What passes still runs on the contained connection
    (:func:`idc_qc.query.run.contained`), the second lock.
    """
    def refuse(why: str) -> NotACondition:
        return NotACondition(f"{option} {condition!r}: {why}; give one SQL condition on the columns of "
                             f"{columns_of} (e.g. {example})")

    node = _check_wrapped(condition, f"select * from t where ({condition}\n)", refuse=refuse, part="condition")
    select_list = node.get("select_list") or []
    if len(select_list) != 1 or select_list[0].get("class") != "STAR":
        raise refuse("it adds more than a condition to the query around it")
    why = _reads_elsewhere(node.get("where_clause"))
    if why:
        raise refuse(why)
    return condition


def check_expression(expression: str, *, columns_of: str, example: str, option: str = "--by") -> str:
    """``expression`` when DuckDB's parser reads it as exactly one value expression (``--by``
    of bias); the same rules as :func:`check_condition`, in ``select (...) from t``."""
    def refuse(why: str) -> NotACondition:
        return NotACondition(f"{option} {expression!r}: {why}; give one column or SQL expression on the columns of "
                             f"{columns_of} (e.g. {example})")

    node = _check_wrapped(expression, f"select ({expression}\n) from t", refuse=refuse, part="expression")
    select_list = node.get("select_list") or []
    if len(select_list) != 1 or node.get("where_clause") is not None:
        raise refuse("it adds more than one expression to the query around it")
    why = _reads_elsewhere(select_list)
    if why:
        raise refuse(why)
    return expression
