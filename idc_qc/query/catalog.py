"""What a query can read: IDC's names mapped to local relations, and the warehouse's models.

A built warehouse holds tables (the marts, rpt_* models, seeds) and views; the staging
views read parquet files in place (the instance input, the index files of idc-index-data).
:func:`read_catalog` finds, from the views' own definitions, every file they read, and
defines IDC's names as temporary views over the same files:

- ``dicom_all`` (also reached as ``dicom_metadata`` and ``bigquery-public-data.idc_vNN.dicom_all``):
  the instance input, every column it has (IDC's ``dicom_all`` has ~800; the input holds what
  docs/instance_contract.md lists, and whatever else it carries), the declared multi-valued
  columns cast to ``dicom_all``'s ARRAY<STRING> and Rows/Columns to integers.
- ``idc_index``, ``collections_index``, ``prior_versions_index``, ``version_metadata_index``,
  ``analysis_results_index`` (and any other ``*_index.parquet`` beside them): IDC's index tables.
- ``volume_geometry_index``, and ``ct_index``, ``mr_index``, ``pt_index``, ``seg_index``,
  ``clinical_index`` where they sit beside it: IDC's published indices (the idc-index client's
  downloads), when the build read one (idc_qc/idc_published.py).

The file list is also what the contained connection allows (``allowed_paths``) once
external access is switched off: exactly the files the warehouse was built from.
"""

from __future__ import annotations

import glob as globlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

#: The instance input as IDC names it.
INSTANCE_RELATION = "dicom_all"
#: Grain of IDC's index tables (models/staging/idc_index/_idc_index__sources.yml).
INDEX_GRAIN = {
    "idc_index": "one row per DICOM series in the IDC release (all modalities)",
    "collections_index": "one row per IDC collection",
    "prior_versions_index": "one row per series version that existed in earlier IDC releases",
    "analysis_results_index": "one row per analysis-result collection (derived data contributed to IDC)",
    "version_metadata_index": "one row per IDC release, with its date",
}
_GLOB_CHARS = re.compile(r"[*?\[]")


@dataclass
class Relation:
    """One thing a query can read."""

    name: str
    kind: str             # "IDC instance input" | "IDC index" | "IDC published index" | "mart" | "report" | "seed" | "view" | "build record"
    grain: str
    description: str
    idc_names: list[str] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)
    #: the CREATE TEMP VIEW statement, for IDC's names (None: a relation of the database itself)
    definition: str | None = None


@dataclass
class InstanceView:
    """How dicom_all is read from the instance files: every column, with ``casts`` replacing some
    (``expr as "Name"``) and ``nulls`` added (``cast(null as T) as "Name"``)."""

    source: str
    casts: list[str] = field(default_factory=list)
    nulls: list[str] = field(default_factory=list)
    #: the attributes added as NULL (no file carries them) and the sequences read as records
    absent: list[str] = field(default_factory=list)
    nested: list[str] = field(default_factory=list)

    def definition(self) -> str:
        replace = f" replace ({', '.join(self.casts)})" if self.casts else ""
        added = "".join(f", {n}" for n in self.nulls)
        return f"create or replace temp view {INSTANCE_RELATION} as select *{replace}{added} from {self.source}"


@dataclass
class Catalog:
    relations: dict[str, Relation]
    #: files the warehouse's views read (allowed once external access is off)
    files: list[str]
    instance_files: list[str]
    index_release: int | None = None
    #: the instance input holds every attribute its instances carry (an ``idc-qc ingest`` or
    #: ``idc-qc synth`` output): a standard attribute it lacks is one no instance has, NULL in
    #: dicom_all's terms (idc_qc/instances/files.py carries_every_attribute)
    instance_input_carries_every_attribute: bool = False
    #: how dicom_all is defined (None without an instance input)
    instance_view: InstanceView | None = None

    def names(self) -> set[str]:
        return {name.lower() for name in self.relations}


def _literal(path: str) -> str:
    return "'" + path.replace("'", "''") + "'"


def parquet_relation(name: str, kind: str, grain: str, description: str, parquet: Path | str) -> Relation:
    """One of IDC's tables read from its parquet file as a temporary view (also ``idc_vNN.<name>``)."""
    return Relation(name=name, kind=kind, grain=grain, description=description, idc_names=[f"idc_vNN.{name}"],
                    definition=f"create or replace temp view {name} as select * from read_parquet({_literal(str(parquet))})")


def _parquet_paths(view_sql: str) -> list[str]:
    if "read_parquet" not in view_sql.lower():
        return []  # most views read other models, not files: no need to parse them
    import sqlglot
    from sqlglot import exp

    try:
        tree = sqlglot.parse_one(view_sql, read="duckdb")
    except Exception:  # noqa: BLE001 - a view we cannot parse reads no file we know of
        return re.findall(r"read_parquet\(\s*'([^']+)'", view_sql)
    paths: list[str] = []
    for func in tree.find_all(exp.ReadParquet, exp.Anonymous):
        if isinstance(func, exp.Anonymous) and func.name.lower() != "read_parquet":
            continue
        first = func.this if isinstance(func.this, exp.Expression) else None
        if first is None and func.expressions:
            first = func.expressions[0]
        if isinstance(first, exp.Expression):
            paths += [lit.this for lit in first.find_all(exp.Literal) if lit.is_string]
    return paths


def allowed_for(path: str) -> list[str]:
    """The paths DuckDB must be allowed to read for a view reading ``path``: exactly files, never a folder.

    A plain path is itself. A path with glob characters (``*``, ``?``, ``[``; also a file whose
    *name* holds them, which DuckDB reads as a pattern) is the pattern itself (DuckDB checks the
    pattern before listing, and lists only what matches it), every file it matches, and the file
    of that literal name if one exists. Allowing the folder instead would let a query read every
    file beside the input.
    """
    if not _GLOB_CHARS.search(path):
        return [path]
    found = [path] + sorted(globlib.glob(path, recursive=True))
    if Path(path).is_file():
        found.append(path)
    return found


def _split_grain(comment: str | None) -> tuple[str, str]:
    text = (comment or "").strip()
    match = re.search(r"Grain:\s*(.+?)\.(?:\s|$)", text)
    if not match:
        return "", text
    grain = match.group(1).strip()
    rest = (text[:match.start()] + text[match.end():]).strip()
    return grain, rest


def _kind(name: str, table_type: str) -> str:
    if name == "idc_qc_build":
        return "build record"
    if name.startswith("rpt_"):
        return "report"
    if name.startswith(("stg_", "int_")):
        return "staging" if name.startswith("stg_") else "intermediate"
    if table_type == "VIEW":
        return "view"
    return "mart"


def _yml_descriptions() -> dict[str, str]:
    """Model and seed descriptions from the dbt project's yml (for relations the database has none for)."""
    try:
        import yaml

        from ..paths import PROJECT_DIR
    except ImportError:  # pragma: no cover
        return {}
    found: dict[str, str] = {}
    for folder in ("models", "seeds"):
        for path in sorted((PROJECT_DIR / folder).rglob("*.yml")):
            try:
                document = yaml.load(path.read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)) or {}
            except (OSError, yaml.YAMLError):
                continue
            for key in ("models", "seeds"):
                for entry in document.get(key) or []:
                    if isinstance(entry, dict) and entry.get("name") and entry.get("description"):
                        found[entry["name"]] = " ".join(str(entry["description"]).split())
    return found


def read_catalog(con, *, describe: bool = False) -> Catalog:
    """The relations of an open warehouse connection, IDC's names included (not yet created).

    ``describe``: also read descriptions the database lacks from the dbt yml (for ``--tables``;
    parsing the yml costs more than a query's whole set-up).
    """
    from ..instances.schema import COLUMNS, INTEGER, STRING_ARRAY

    relations: dict[str, Relation] = {}
    rows = con.execute(
        "select table_name, 'BASE TABLE', comment from duckdb_tables() where schema_name = 'main' and not temporary "
        "union all select view_name, 'VIEW', comment from duckdb_views() where schema_name = 'main' and not internal "
        "and not temporary order by 1"
    ).fetchall()
    seeds = {"geometry_reasons", "manufacturer_aliases", "sop_classes"}
    documented = _yml_descriptions() if describe and any(not comment for _n, _t, comment in rows) else {}
    for name, table_type, comment in rows:
        comment = comment or documented.get(name)
        grain, description = _split_grain(comment)
        kind = "seed" if name in seeds else _kind(name, table_type)
        if kind == "build record":
            grain, description = "one row per build written into this database", "which build the database holds"
        relations[name] = Relation(name=name, kind=kind, grain=grain, description=description)

    files: list[str] = []
    instance_files: list[str] = []
    instance_view: InstanceView | None = None
    index_dir: Path | None = None
    published: str | None = None
    for view_name, view_sql in con.execute(
        "select view_name, sql from duckdb_views() where schema_name = 'main' and not internal"
    ).fetchall():
        paths = _parquet_paths(view_sql)
        if view_name == "stg_dicom__instances":
            instance_files = paths
        if view_name == "stg_idc_index__series" and paths:
            index_dir = Path(paths[0]).parent
        if view_name == "stg_idc_published__volume_geometry" and paths:
            published = paths[0]
        for path in paths:
            files += allowed_for(path)

    if instance_files:
        listing = "[" + ", ".join(_literal(p) for p in instance_files) + "]"
        source = f"read_parquet({listing}, union_by_name = true)"
        present = {r[0].lower(): r[0] for r in con.execute(f"describe select * from {source}").fetchall()}
        casts = []
        for column in COLUMNS:
            actual = present.get(column.name.lower())
            if actual is None:
                continue
            quoted = '"' + actual.replace('"', '""') + '"'
            # Multi-valued attributes are ARRAY<STRING> in dicom_all (a DOUBLE[] input would make
            # IDC's SAFE_CAST(x[SAFE_OFFSET(0)] AS FLOAT64) differ), Rows/Columns INT64. Single
            # values keep the input's type: dicom_all's own types vary (DiffusionBValue is FLOAT64,
            # SliceThickness a string), and an IDC export carries them as they are.
            if column.kind == STRING_ARRAY:
                casts.append(f"cast({quoted} as varchar[]) as {quoted}")
            elif column.kind == INTEGER:
                casts.append(f"try_cast({quoted} as bigint) as {quoted}")
        instance_view = InstanceView(source=source, casts=casts)
        relations[INSTANCE_RELATION] = Relation(
            name=INSTANCE_RELATION, kind="IDC instance input",
            grain="one row per instance row of the instance input",
            description=(f"the instance metadata this warehouse was built from ({len(instance_files)} file(s)): every "
                         f"column the input has ({len(present)}; IDC's dicom_all has ~800), multi-valued ones as "
                         "lists of strings as in dicom_all"),
            idc_names=["bigquery-public-data.idc_current.dicom_all", "idc_vNN.dicom_all", "dicom_metadata"],
            definition=instance_view.definition(),
        )

    if index_dir is not None and index_dir.is_dir():
        for parquet in sorted(index_dir.glob("*_index.parquet")) + sorted(index_dir.glob("idc_index.parquet")):
            name = parquet.stem
            if name in relations:
                continue
            files.append(str(parquet))
            relations[name] = parquet_relation(
                name, "IDC index", INDEX_GRAIN.get(name, ""),
                f"IDC's {name} as published in idc-index-data ({parquet.name} in {parquet.parent})", parquet)
    if published is not None:
        from ..idc_published import published_description, published_files

        for name, parquet in published_files(published).items():
            if name in relations:
                continue
            files.append(str(parquet))
            description = published_description(name)
            grain = re.search(r"one row per [^,(]+", description)
            relations[name] = parquet_relation(
                name, "IDC published index", grain.group(0).strip() if grain else "",
                f"IDC's {name} as idc-index downloads it ({parquet}): {description}", parquet)
    from ..instances.files import carries_every_attribute

    catalog = Catalog(relations=relations, files=sorted(set(files)),
                      instance_files=instance_files, instance_view=instance_view if instance_files else None,
                      instance_input_carries_every_attribute=bool(instance_files) and all(
                          carries_every_attribute(p) for p in instance_files))
    return catalog


def adapt_dicom_all(con, catalog: Catalog, unresolved: list[str], named: list[str],
                         sql: str = "") -> tuple[list[str], list[str]]:
    """On an input that carries every attribute of its instances (DICOM files read by ``idc-qc
    ingest``, or ``idc-qc synth``'s output), make dicom_all read as IDC's does for what a
    query reads: ``unresolved`` (columns no table in their scope has) and ``named`` (every name
    the query writes); returns (attributes added as NULL, sequences read as nested records).

    - An unresolved standard attribute (no file carries it) becomes a NULL column, typed as the ingest types it
      (idc_qc/ingest/dataset.py): in IDC's dicom_all an attribute an instance lacks is NULL,
      and the ingest wrote every attribute the files have.
      An absent sequence the query reads fields of (``Seq[1].Field``, as ``sql`` writes it) is a
      NULL list of records with those fields, each typed as the ingest types that attribute.
    - A named sequence (kept as JSON text by the ingest) becomes a list of records, its structure
      that of every item of the input (DuckDB's json_group_structure), so that IDC's
      ``Seq[SAFE_OFFSET(0)].Attribute`` and ``UNNEST(Seq)`` read it as they read dicom_all.

    Nothing changes for another input: a hand-made parquet's missing column says nothing about
    the files it came from."""
    relation = catalog.relations.get(INSTANCE_RELATION)
    view = catalog.instance_view
    if not catalog.instance_input_carries_every_attribute or relation is None or view is None:
        return [], []
    from ..instances.dicom_columns import JSON, column_for_keyword

    have = {c.lower(): c for c in relation.columns}
    added: dict[str, str] = {}
    nested: list[str] = []
    for name in dict.fromkeys(unresolved):
        column = column_for_keyword(name)
        if column is not None and name.lower() not in have and column.keyword not in added:
            added[column.keyword] = _absent_type(column.keyword, _fields_read(sql, column.keyword))
    for name in dict.fromkeys(named):
        column = column_for_keyword(name)
        actual = have.get(name.lower())
        if column is not None and actual is not None and column.kind == JSON and actual not in nested:
            quoted = '"' + actual.replace('"', '""') + '"'
            structure = con.execute(f"select json_group_structure({quoted}::json) from {view.source}").fetchone()[0]
            if structure and structure.startswith("["):
                structure = json.dumps(_with_fields(json.loads(structure), _fields_read(sql, actual)))
                view.casts.append(f"from_json({quoted}, {_string_literal(structure)}) as {quoted}")
                nested.append(actual)
    if not added and not nested:
        return [], []
    view.nulls += [f'cast(null as {kind}) as "{name}"' for name, kind in added.items()]
    view.absent += list(added)
    view.nested += nested
    relation.definition = view.definition()
    con.execute(relation.definition)
    relation.columns = relation.columns + list(added)
    return list(added), nested


def _fields_read(sql: str, name: str) -> dict:
    """The fields ``sql`` (DuckDB, as transpiled) reads off items of the sequence ``name``, as a
    tree: through an index (``name[1].A[1].B``) or through an UNNEST alias
    (``UNNEST(name) AS _t0(u)`` ... ``u.A``)."""
    tree: dict = {}
    index = r"(?:\[[^\]]*\])"
    chain = rf"((?:\.[A-Za-z_]\w*{index}?)+)"
    starts = [rf"(?<![\w.]){re.escape(name)}{index}"]
    for alias in re.findall(rf"UNNEST\(\s*(?:\w+\.)?{re.escape(name)}\s*\)\s+AS\s+(?:\w+\s*\(\s*(\w+)\s*\)|(\w+))",
                            sql, flags=re.IGNORECASE):
        starts.append(rf"(?<![\w.]){re.escape(alias[0] or alias[1])}")
    for start in starts:
        for found in re.findall(start + chain, sql):
            node = tree
            for part in re.findall(r"\.([A-Za-z_]\w*)", found):
                node = node.setdefault(part, {})
    return tree


def _with_fields(structure, fields: dict):
    """A json_group_structure (parsed) of a sequence with the ``fields`` a query reads that no item
    has added, typed as the ingest types them: DuckDB would refuse a field the struct lacks,
    where IDC's dicom_all has it (NULL) from other objects."""
    if not fields or not isinstance(structure, list) or not structure or not isinstance(structure[0], dict):
        return structure
    from ..instances.dicom_columns import JSON, arrow_type, column_for_keyword

    item = dict(structure[0])
    for name, sub in fields.items():
        if name in item:
            item[name] = _with_fields(item[name], sub)
            continue
        column = column_for_keyword(name)
        if sub:
            item[name] = _with_fields([{}], sub)
        elif column is not None and column.kind == JSON:
            item[name] = ["JSON"]  # a sequence none of whose fields is read: a list all the same
        elif column is None:
            item[name] = "VARCHAR"
        else:
            kind = _duckdb_type(arrow_type(column.kind, False)).upper()
            item[name] = [kind] if column.multi else kind
    return [item]


def _absent_type(keyword: str, fields: dict) -> str:
    """The DuckDB type of an absent attribute: as the ingest types it, or for a sequence whose
    fields a query reads, a list of records with those fields (unknown names as strings)."""
    from ..instances.dicom_columns import JSON, arrow_type, column_for_keyword

    column = column_for_keyword(keyword)
    if fields:
        members = ", ".join(f'"{name}" {_absent_type(name, sub)}' for name, sub in fields.items())
        return f"struct({members})[]"
    if column is not None and column.kind == JSON:
        return "json[]"  # a sequence none of whose fields is read: a list all the same
    if column is None:
        return "varchar"
    return _duckdb_type(arrow_type(column.kind, column.multi))


def _string_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _duckdb_type(arrow) -> str:
    import pyarrow as pa

    if pa.types.is_list(arrow):
        return _duckdb_type(arrow.value_type) + "[]"
    return {pa.string(): "varchar", pa.float64(): "double", pa.int64(): "bigint", pa.date32(): "date"}[arrow]


def install(con, catalog: Catalog) -> None:
    """Create IDC's names as temporary views and read every relation's columns."""
    for relation in catalog.relations.values():
        if relation.definition:
            con.execute(relation.definition)
    by_name: dict[str, list[str]] = {}
    for table, column in con.execute(
        "select table_name, column_name from duckdb_columns() where schema_name = 'main' order by table_name, column_index"
    ).fetchall():
        by_name.setdefault(table, []).append(column)
    for name, relation in catalog.relations.items():
        relation.columns = by_name.get(name, [])
    if "version_metadata_index" in catalog.relations:
        try:
            catalog.index_release = con.execute("select max(cast(idc_version as integer)) from version_metadata_index").fetchone()[0]
        except Exception:  # noqa: BLE001 - an index without release numbers: no release to compare
            catalog.index_release = None
