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
class Catalog:
    relations: dict[str, Relation]
    #: files the warehouse's views read (allowed once external access is off)
    files: list[str]
    instance_files: list[str]
    index_release: int | None = None

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
        replace = f" replace ({', '.join(casts)})" if casts else ""
        relations[INSTANCE_RELATION] = Relation(
            name=INSTANCE_RELATION, kind="IDC instance input",
            grain="one row per instance row of the instance input",
            description=(f"the instance metadata this warehouse was built from ({len(instance_files)} file(s)): every "
                         f"column the input has ({len(present)}; IDC's dicom_all has ~800), multi-valued ones as "
                         "lists of strings as in dicom_all"),
            idc_names=["bigquery-public-data.idc_current.dicom_all", "idc_vNN.dicom_all", "dicom_metadata"],
            definition=f"create or replace temp view {INSTANCE_RELATION} as select *{replace} from {source}",
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
    catalog = Catalog(relations=relations, files=sorted(set(files)),
                      instance_files=instance_files)
    return catalog


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
