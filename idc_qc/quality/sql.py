"""The SQL that returns every row an expectation found failing, for the report.

GX validates DataFrames and gives no SQL; a curator wants the query that lists all offending
rows, not only the sample in the report. The common expectation types translate directly
(the suite's ``where`` and the expectation's row condition included); others get None.
"""

from __future__ import annotations

import re


def _literal(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"


def _condition(row_condition) -> str | None:
    """A pandas row condition (``a=="x"``, ``n>=20``) as SQL."""
    if isinstance(row_condition, dict):
        row_condition = row_condition.get("pass_through_filter")
    if not row_condition:
        return None
    text = re.sub(r'"([^"]*)"', lambda m: "'" + m.group(1).replace("'", "''") + "'", str(row_condition))
    return text.replace("==", " = ").replace("!=", " <> ")


def expectation_sql(table: str, where: str | None, expectation_type: str, kwargs: dict,
                    parameters: dict[str, float], key_columns: list[str]) -> str | None:
    """``select ...`` returning all failing rows of one expectation, or None when not translatable."""

    def value(v):
        if isinstance(v, dict) and "$PARAMETER" in v:
            return parameters.get(v["$PARAMETER"])
        return v

    filters = [f for f in (where, _condition(kwargs.get("row_condition"))) if f]
    column = kwargs.get("column")
    keys = [k for k in key_columns if k != column]
    select = ", ".join(keys + ([column] if column else [])) or "*"
    failing: str | None = None
    if expectation_type == "expect_column_values_to_not_be_null":
        failing = f"{column} is null"
    elif expectation_type == "expect_column_values_to_be_in_set":
        failing = f"{column} not in ({', '.join(_literal(v) for v in kwargs.get('value_set', []))})"
    elif expectation_type == "expect_column_values_to_not_be_in_set":
        failing = f"{column} in ({', '.join(_literal(v) for v in kwargs.get('value_set', []))})"
    elif expectation_type == "expect_column_values_to_be_between":
        parts = []
        low, high = value(kwargs.get("min_value")), value(kwargs.get("max_value"))
        if low is not None:
            parts.append(f"{column} < {_literal(low)}")
        if high is not None:
            parts.append(f"{column} > {_literal(high)}")
        failing = " or ".join(parts) or None
    elif expectation_type == "expect_column_values_to_be_unique":
        where_sql = f" where {' and '.join(filters)}" if filters else ""
        return (f"select {column}, count(*) as copies from {table}{where_sql} "
                f"group by {column} having count(*) > 1 order by copies desc")
    elif expectation_type == "expect_column_pair_values_a_to_be_greater_than_b":
        a, b = kwargs.get("column_A"), kwargs.get("column_B")
        op = "<" if kwargs.get("or_equal") else "<="
        failing = f"{a} {op} {b}"
        select = ", ".join([k for k in key_columns] + [a, b])
    elif expectation_type == "expect_table_row_count_to_be_between":
        where_sql = f" where {' and '.join(filters)}" if filters else ""
        return f"select count(*) as row_count from {table}{where_sql}"
    if failing is None:
        return None
    return f"select {select} from {table} where {' and '.join([*filters, f'({failing})'])}"
