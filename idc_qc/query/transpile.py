"""IDC's BigQuery SQL as DuckDB SQL over the local warehouse.

sqlglot does most of the work (backticks, ``#`` comments, ``SAFE_CAST`` -> ``TRY_CAST``,
``arr[SAFE_OFFSET(n)]`` -> ``arr[n + 1]``, ``FLOAT64`` -> ``DOUBLE``, ``* EXCEPT`` ->
``* EXCLUDE``). What it leaves, each a hard error or, worse, a silent wrong answer, is fixed
here on the parsed tree before DuckDB SQL is generated:

1. ``DECLARE name TYPE DEFAULT value;`` (and ``SET name = value;``) is BigQuery scripting:
   the variables become their values in the one query that follows.
2. ``UNNEST(arr) part WITH OFFSET index`` becomes DuckDB's ``WITH ORDINALITY``, which counts
   from 1 while the query's ``index BETWEEN 0 AND 2`` still counts from 0: a silent
   off-by-one (IDC's volume_geometry_index.sql would read the wrong direction cosines). The
   UNNEST becomes a subquery that publishes ``ordinality - 1`` under the offset's name, so
   every use of the offset (in WHERE, ORDER BY, or an outer query reading it) stays 0-based.
3. ``ARRAY_AGG(x ORDER BY key LIMIT n)`` has no DuckDB form (no LIMIT inside an aggregate):
   it becomes ``LIST_SLICE(ARRAY_AGG(x ORDER BY key), 1, n)``, the same first n elements
   (sqlglot writes BigQuery's NULL ordering, NULLS FIRST ascending, explicitly).
4. IDC's table names become local relations: ``bigquery-public-data.idc_current.dicom_all``,
   ``idc_vNN.dicom_all`` and ``dicom_metadata`` -> ``dicom_all`` (the instance input);
   ``idc_vNN.<index table>`` -> the index table of that name; ``<any project>.idc_qc.<model>``
   -> the model. An IDC table with no local counterpart is a one-line error naming it.

Anything else sqlglot cannot translate raises instead of passing through silently.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..errors import IdcQcError

#: BigQuery datasets that hold an IDC release (``idc_current``, ``idc_v25``, ...).
IDC_DATASET = re.compile(r"^idc_(current|v(\d+))(_clinical)?$", re.IGNORECASE)
#: IDC's instance-level tables: both are the instance input here (dicom_all = dicom_metadata
#: joined with auxiliary_metadata on BigQuery; locally one table holds what was given).
INSTANCE_TABLES = {"dicom_all": "dicom_all", "dicom_metadata": "dicom_all"}
#: IDC BigQuery tables with no local counterpart, and why (for the error message).
UNAVAILABLE = {
    "auxiliary_metadata": "IDC's per-instance bucket URLs, CRDC UUIDs and licences are not in the local input; "
                          "the series-level ones are in idc_index",
    "dicom_metadata_curated": "IDC's curated per-instance values are not computed locally",
    "dicom_metadata_curated_series_level": "IDC's curated series-level values are not computed locally",
    "dicom_pivot": "IDC's pivot of dicom_all is not built locally",
    "original_collections_metadata": "collection-level metadata is in collections_index",
    "analysis_results_metadata": "analysis-result metadata is in analysis_results_index",
    "version_metadata": "release dates are in version_metadata_index",
    "segmentations": "IDC's derived SEG tables are not built locally",
    "measurement_groups": "IDC's derived SR tables are not built locally",
    "qualitative_measurements": "IDC's derived SR tables are not built locally",
    "quantitative_measurements": "IDC's derived SR tables are not built locally",
}


class QuerySyntaxError(IdcQcError):
    """The SQL cannot be parsed or translated."""


class NotReadOnly(IdcQcError):
    """A statement that would change, create, attach, copy, install or load something."""


class UnknownTable(IdcQcError):
    """A table name with no local counterpart."""


@dataclass
class Transpiled:
    """The SQL that will run, and what was done to get it."""

    source: str
    dialect: str
    sql: str
    #: table as written -> local relation
    tables: dict[str, str] = field(default_factory=dict)
    #: DECLAREd variable -> the value substituted (as SQL)
    variables: dict[str, str] = field(default_factory=dict)
    #: the fixes applied, in words (``--explain`` prints them)
    fixes: list[str] = field(default_factory=list)
    #: IDC releases the query names (``idc_v20`` -> "20"; ``idc_current`` -> "current")
    releases: set[str] = field(default_factory=set)
    #: what the user should know (set when run against a warehouse: a release other than the local one)
    warnings: list[str] = field(default_factory=list)


def _statement_kind(statement) -> str:
    from sqlglot import exp

    if isinstance(statement, exp.Command):
        text = re.sub(r"/\*.*?\*/|--[^\n]*|#[^\n]*", " ", statement.sql("bigquery"), flags=re.DOTALL)
        return " ".join(text.split()[:2]).upper()
    return statement.key.upper().replace("_", " ")


def transpile(sql: str, dialect: str = "bigquery", *, local_tables: set[str] | None = None) -> Transpiled:
    """``sql`` in ``dialect`` as one DuckDB query over the local warehouse.

    Parameters
    ----------
    sql
        The query. For ``bigquery`` it may open with ``DECLARE`` / ``SET`` statements; exactly
        one query (SELECT / WITH / set operation) must follow.
    dialect
        ``duckdb`` (returned as is; the safety check still parses it) or ``bigquery``.
    local_tables
        Relations the warehouse offers (lower case); qualified names outside IDC's datasets
        are checked against them. None: not checked.

    Raises
    ------
    QuerySyntaxError, NotReadOnly, UnknownTable
    """
    if dialect == "duckdb":
        return Transpiled(source=sql, dialect=dialect, sql=sql.strip().rstrip(";").strip())
    if dialect != "bigquery":
        raise IdcQcError(f"--dialect {dialect!r}: use duckdb or bigquery")

    import logging

    import sqlglot
    from sqlglot import exp
    from sqlglot.errors import ErrorLevel, ParseError, UnsupportedError

    # sqlglot logs "falling back to parsing as a Command" for EXECUTE IMMEDIATE & co.: the
    # statement is refused below with a clearer line, so keep the log quiet.
    logging.getLogger("sqlglot").setLevel(logging.ERROR)

    try:
        statements = [s for s in sqlglot.parse(sql, read="bigquery") if s is not None]
    except ParseError as exc:
        first = str(exc).splitlines()[0]
        raise QuerySyntaxError(f"cannot parse the query as BigQuery SQL: {first}") from None

    variables: dict[str, exp.Expression] = {}
    spelled: dict[str, str] = {}
    queries = []
    for statement in statements:
        if isinstance(statement, exp.Semicolon):
            continue
        if isinstance(statement, exp.Declare):
            for item in statement.expressions:
                names = item.this if isinstance(item.this, list) else [item.this]
                default = item.args.get("default")
                kind = item.args.get("kind")
                if not isinstance(default, exp.Expression):
                    default = exp.cast(exp.null(), kind) if isinstance(kind, exp.DataType) else exp.null()
                for name in names:
                    variables[name.name.lower()] = default
                    spelled[name.name.lower()] = name.name
            continue
        if isinstance(statement, exp.Set):
            for item in statement.expressions:
                assignment = item.this
                target = assignment.this if isinstance(assignment, exp.EQ) else None
                name = target.name.lower() if isinstance(target, exp.Column) else None
                if name is None or name not in variables:
                    raise NotReadOnly("refused: SET changes a setting; only SET of a DECLAREd variable is read as part "
                                      "of a BigQuery script")
                variables[name] = assignment.expression
            continue
        if isinstance(statement, exp.Query):
            queries.append(statement)
            continue
        raise NotReadOnly(f"refused: {_statement_kind(statement)} is not a read-only query; idc-qc query runs one "
                          "SELECT (or WITH ... SELECT) and never changes, creates, exports or loads anything")
    if len(queries) != 1:
        raise QuerySyntaxError(f"expected one query (SELECT or WITH ... SELECT), found {len(queries)}")
    tree = queries[0]
    result = Transpiled(source=sql, dialect=dialect, sql="")

    # 1. DECLAREd variables -> their values
    if variables:
        for column in list(tree.find_all(exp.Column)):
            if not column.table and column.name.lower() in variables:
                column.replace(exp.paren(variables[column.name.lower()].copy()))
        result.variables = {spelled[name]: value.sql("bigquery") for name, value in variables.items()}
        result.fixes.append("DECLARE/SET variables replaced by their values: "
                            + ", ".join(f"{k} = {v}" for k, v in result.variables.items()))

    # 2. UNNEST ... WITH OFFSET (0-based) -> a subquery publishing ordinality - 1
    shifted = 0
    for number, unnest in enumerate(list(tree.find_all(exp.Unnest))):
        offset = unnest.args.get("offset")
        if not offset:
            continue
        offset_name = offset.name if isinstance(offset, exp.Identifier) else "offset"
        alias = unnest.args.get("alias")
        value_columns = list(alias.columns) if alias is not None else []
        value_name = value_columns[0].name if value_columns else "value"
        outer_alias = alias.this.name if alias is not None and alias.this else f"_idc_qc_unnest{number}"
        inner = exp.Unnest(
            expressions=[e.copy() for e in unnest.expressions],
            alias=exp.TableAlias(this=exp.to_identifier("_u"), columns=[exp.to_identifier("_v")]),
            offset=exp.to_identifier("_o"),
        )
        select = (
            exp.select(
                exp.alias_(exp.column("_v", table="_u"), value_name, quoted=False),
                exp.alias_(exp.Sub(this=exp.column("_o", table="_u"), expression=exp.Literal.number(1)),
                           offset_name, quoted=False),
            ).from_(inner)
        )
        unnest.replace(exp.Subquery(this=select, alias=exp.TableAlias(this=exp.to_identifier(outer_alias))))
        shifted += 1
    if shifted:
        result.fixes.append(f"{shifted} UNNEST ... WITH OFFSET made 0-based again (DuckDB's WITH ORDINALITY counts from 1)")

    # 3. ARRAY_AGG(x ORDER BY key LIMIT n) -> LIST_SLICE(ARRAY_AGG(x ORDER BY key), 1, n)
    sliced = 0
    for agg in list(tree.find_all(exp.ArrayAgg)):
        limit = agg.this
        if not isinstance(limit, exp.Limit):
            continue
        count = limit.expression
        agg.set("this", limit.this.copy())
        # IGNORE NULLS / RESPECT NULLS wrap the aggregate: slice the wrapped whole
        target = agg.parent if isinstance(agg.parent, (exp.IgnoreNulls, exp.RespectNulls)) else agg
        target.replace(exp.Anonymous(this="LIST_SLICE", expressions=[target.copy(), exp.Literal.number(1), count.copy()]))
        sliced += 1
    if sliced:
        result.fixes.append(f"{sliced} ARRAY_AGG(... LIMIT n) written as LIST_SLICE(ARRAY_AGG(...), 1, n)")

    # 4. table names
    ctes = {cte.alias_or_name.lower() for cte in tree.find_all(exp.CTE)}
    for table in list(tree.find_all(exp.Table)):
        name, dataset = table.name, table.db
        if not name or isinstance(table.this, exp.Func):
            continue
        key = name.lower()
        written = ".".join(part for part in (table.catalog, dataset, name) if part)
        local = None
        match = IDC_DATASET.match(dataset) if dataset else None
        if match:
            result.releases.add(match.group(2) or "current")
            if match.group(3):
                raise UnknownTable(f"IDC's clinical table {written} is not in the local warehouse (IDC's clinical "
                                   "data is not part of the index or the instance input)")
            if key in INSTANCE_TABLES:
                local = INSTANCE_TABLES[key]
            elif key in UNAVAILABLE:
                raise UnknownTable(f"IDC's table {written} has no local counterpart: {UNAVAILABLE[key]} "
                                   "(idc-qc query --tables lists what can be queried)")
            elif local_tables is None or key in local_tables:
                local = key
            else:
                raise UnknownTable(f"IDC's table {written} is not in the local warehouse "
                                   "(idc-qc query --tables lists what can be queried)")
        elif dataset:
            if local_tables is not None and key not in local_tables:
                raise UnknownTable(f"table {written} is not in the local warehouse "
                                   "(idc-qc query --tables lists what can be queried)")
            local = key
        elif key in INSTANCE_TABLES and key not in ctes:
            local = INSTANCE_TABLES[key]
        if local is None:
            continue
        result.tables[written] = local
        if not table.alias and local != key:
            # `dicom_metadata.col` must still resolve once the table is dicom_all
            table.set("alias", exp.TableAlias(this=exp.to_identifier(name)))
        table.set("this", exp.to_identifier(local))
        table.set("db", None)
        table.set("catalog", None)
    if result.tables:
        result.fixes.append("tables mapped: " + ", ".join(f"{k} -> {v}" for k, v in result.tables.items()))

    try:
        result.sql = tree.sql(dialect="duckdb", comments=False, unsupported_level=ErrorLevel.RAISE)
    except UnsupportedError as exc:
        raise QuerySyntaxError(f"cannot translate to DuckDB: {str(exc).splitlines()[0]}") from None
    return result
